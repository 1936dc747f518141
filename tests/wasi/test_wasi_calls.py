"""What the real WASI calls write back: descriptors and preopens, clocks, poll_oneoff, random bytes,
directory reading with small buffers and cookies, sizes, append mode, renumbering; and run()'s
exit statuses, trap report and module loading without custom sections. Probe cases run on CPython
and, where the file system matters, on MicroPython over littlefs too."""
import io
import os
import struct
import time

import pytest

import wasi_support
from conftest import in_ci
from wasi_support import example
from wasmgen import uleb
from mp import wasi_probe

import mpwasi
from mpwasi import wasi, wasi_abi

W = wasi_abi
ALL = W.RIGHTS_DIR | W.RIGHTS_FILE
OUT = wasi_probe.OUT
SUBS = 0x2000
EVENTS = 0x3000
TREE = {"a.txt": b"alpha", "b.txt": b"bravo!", "dir": None, "dir/c.txt": b"c",
        "long-name-" + "x" * 40 + ".txt": b"long"}


def c(name, *args, **extra):
    step = {"call": name, "args": list(args)}
    step.update(extra)
    return step


def op(path, oflags=0, rights=ALL, fdflags=0, save="f"):
    return {"call": "path_open", "args": [3, 1, "s:" + path, oflags, rights, ALL, fdflags, "@out"],
            "save": save}


def host_root(tmp_path):
    return wasi_support.make_host_tree(tmp_path / "root", TREE)


def probe_cpython(tmp_path, steps, **wasi_kw):
    """Runs steps in one context over a fresh host tree: (outcomes, reads, peeks, instance)."""
    root = host_root(tmp_path)
    ctx = wasi.Wasi(wasi_kw.pop("args", ["probe"]), wasi_kw.pop("env", None), [(root, "/sb")],
                    **wasi_kw)
    inst = wasi_probe.new_instance(open(example("wasi_probe"), "rb").read(), ctx)
    outcomes, reads, saved = wasi_probe.run_steps(inst, steps)
    return outcomes, reads, saved["peeks"], inst


def lfs_tree():
    return wasi_support.lfs_tree(TREE)


def both_backends(tmp_path, micropython_available, steps):
    """[(outcomes, reads, peeks)] on CPython and (if installed) MicroPython/littlefs."""
    outcomes, reads, peeks, inst = probe_cpython(tmp_path / "cpy", steps)
    runs = [(outcomes, reads, peeks)]
    if micropython_available:
        (tmp_path / "mp").mkdir()
        r = wasi_support.run_mp_probe(tmp_path / "mp", lfs_tree(), [{"name": "x", "steps": steps}])
        a = r["attempts"][0]
        runs.append((a["outcomes"], a["reads"], a["peeks"]))
    return runs


@pytest.fixture
def mp_available():
    """Whether the MicroPython half of a both-backends test runs (missing under CI=true: fail)."""
    if wasi_support.micropython_binary() is None:
        if in_ci():
            pytest.fail("micropython is not installed (CI=true: that is an error)")
        return False
    return True


def test_args_and_environ_sizes_and_strings(tmp_path):
    steps = [c("args_sizes_get", OUT, OUT + 4, peek=8),
             c("args_get", 0x400, 0x500, peek_at=[0x500, 16]),
             c("environ_sizes_get", OUT, OUT + 4, peek=8),
             c("environ_get", 0x400, 0x500, peek_at=[0x500, 8])]
    outcomes, reads, peeks, inst = probe_cpython(tmp_path, steps, args=["prog", "a b", ""],
                                                 env={"K": "v", "E": ""})
    assert outcomes == [0, 0, 0, 0]
    assert struct.unpack("<II", bytes.fromhex(peeks[0])) == (3, 5 + 4 + 1)
    assert bytes.fromhex(peeks[1])[:10] == b"prog\0a b\0\0"
    assert struct.unpack("<II", bytes.fromhex(peeks[2])) == (2, 4 + 3)
    assert bytes.fromhex(peeks[3])[:7] == b"K=v\0E=\0"


def test_fdstat_of_stdio_preopen_and_files(tmp_path):
    steps = [c("fd_fdstat_get", 1, "@out", peek=24), c("fd_fdstat_get", 3, "@out", peek=24),
             op("a.txt", rights=W.R_FD_READ | W.R_FD_SEEK),
             c("fd_fdstat_get", "$f", "@out", peek=24),
             c("fd_prestat_get", 3, "@out", peek=8),
             c("fd_prestat_dir_name", 3, 0x600, 3, peek_at=[0x600, 3])]
    outcomes, reads, peeks, inst = probe_cpython(tmp_path, steps)
    assert outcomes == [0, 0, 0, 0, 0, 0]
    kind, flags, base, inh = struct.unpack("<BxHxxxxQQ", bytes.fromhex(peeks[0]))
    assert kind == W.FT_CHAR and base & W.R_FD_WRITE and not base & W.R_FD_SEEK
    kind, flags, base, inh = struct.unpack("<BxHxxxxQQ", bytes.fromhex(peeks[1]))
    assert kind == W.FT_DIR and base & W.R_PATH_OPEN and inh & W.R_FD_READ
    kind, flags, base, inh = struct.unpack("<BxHxxxxQQ", bytes.fromhex(peeks[2]))
    assert kind == W.FT_FILE and base == W.R_FD_READ | W.R_FD_SEEK and inh == 0
    assert struct.unpack("<BxxxI", bytes.fromhex(peeks[3])) == (0, 3)
    assert bytes.fromhex(peeks[4]) == b"/sb"


def test_clocks_realtime_monotonic_and_resolution(tmp_path):
    steps = [c("clock_time_get", 0, 0, "@out", peek=8), c("clock_res_get", 1, "@out", peek=8)]
    steps += [c("clock_time_get", 1, 0, "@out", peek=8) for _ in range(50)]
    before = time.time_ns()
    outcomes, reads, peeks, inst = probe_cpython(tmp_path, steps)
    after = time.time_ns()
    assert set(outcomes) == {0}
    real = struct.unpack("<Q", bytes.fromhex(peeks[0]))[0]
    assert before <= real <= after
    assert struct.unpack("<Q", bytes.fromhex(peeks[1]))[0] > 0
    mono = [struct.unpack("<Q", bytes.fromhex(p))[0] for p in peeks[2:]]
    assert mono == sorted(mono)


def test_clocks_and_poll_sleep_on_micropython(tmp_path, micropython):
    sub = subscription(7, 1, 30 * 1000 * 1000).hex()
    steps = [c("clock_time_get", 1, 0, "@out", peek=8),
             c("poll_oneoff", SUBS, EVENTS, 1, "@out", poke=[SUBS, sub], peek_at=[EVENTS, 32]),
             c("clock_time_get", 1, 0, "@out", peek=8),
             c("clock_time_get", 0, 0, "@out", peek=8)]
    before = time.time_ns()
    result = wasi_support.run_mp_probe(tmp_path, lfs_tree(), [{"name": "clock", "steps": steps}])
    after = time.time_ns()
    a = result["attempts"][0]
    assert a["outcomes"] == [0, 0, 0, 0]
    t0, t1, real = [struct.unpack("<Q", bytes.fromhex(a["peeks"][i]))[0] for i in (0, 2, 3)]
    assert struct.unpack_from("<QHB", bytes.fromhex(a["peeks"][1])) == (7, 0, 0)
    assert t1 - t0 >= 30 * 1000 * 1000
    assert before - 10 ** 9 <= real <= after + 10 ** 9  # seconds since 1970, whatever the epoch


def subscription(userdata, clock_id, timeout_ns, absolute=False):
    return struct.pack("<QB7xI4xQQH6x", userdata, 0, clock_id, timeout_ns, 0, 1 if absolute else 0)


def fd_subscription(userdata, kind, fd):
    return struct.pack("<QB7xI28x", userdata, kind, fd)


def poll(ctx_inst, subs):
    """Writes the subscriptions, calls poll_oneoff: (errno, [(userdata, error, type, nbytes)])."""
    mem = ctx_inst.exports["memory"]
    data = b"".join(subs)
    mem.data[SUBS:SUBS + len(data)] = data
    rc = ctx_inst.exports["poll_oneoff"](SUBS, EVENTS, len(subs), OUT)
    n = struct.unpack_from("<I", mem.data, OUT)[0]
    events = [struct.unpack_from("<QHBxxxxxQ", mem.data, EVENTS + 32 * i) for i in range(n)]
    return rc, events


def new_probe(tmp_path, **kw):
    root = host_root(tmp_path)
    ctx = wasi.Wasi(["probe"], None, [(root, ".")], **kw)
    return wasi_probe.new_instance(open(example("wasi_probe"), "rb").read(), ctx), ctx


def mono_ns(inst):
    inst.exports["clock_time_get"](1, 0, OUT)
    return struct.unpack_from("<Q", inst.exports["memory"].data, OUT)[0]


def test_poll_sleeps_at_least_the_relative_timeout(tmp_path):
    inst, ctx = new_probe(tmp_path)
    t0 = mono_ns(inst)
    rc, events = poll(inst, [subscription(42, 1, 30 * 1000 * 1000)])
    assert rc == 0 and events == [(42, 0, 0, 0)]
    assert mono_ns(inst) - t0 >= 30 * 1000 * 1000


def test_poll_absolute_deadline_and_only_expired_clocks_reported(tmp_path):
    inst, ctx = new_probe(tmp_path)
    t0 = mono_ns(inst)
    rc, events = poll(inst, [subscription(1, 1, t0 + 20 * 1000 * 1000, absolute=True),
                             subscription(2, 1, 10 ** 12)])
    assert rc == 0 and events == [(1, 0, 0, 0)]
    assert mono_ns(inst) - t0 >= 20 * 1000 * 1000


def test_poll_bad_clock_reports_einval_without_sleeping(tmp_path):
    inst, ctx = new_probe(tmp_path)
    rc, events = poll(inst, [subscription(5, 9, 10 ** 12)])
    assert rc == 0 and events == [(5, W.EINVAL, 0, 0)]


def test_poll_writable_stdout_and_readable_file_return_at_once(tmp_path):
    inst, ctx = new_probe(tmp_path)
    assert inst.exports["path_open"](3, 1, 0, 0, 0, 0, 0, 0, OUT) != 0  # empty path: ENOENT
    mem = inst.exports["memory"]
    mem.data[0x1000:0x1005] = b"a.txt"
    assert inst.exports["path_open"](3, 1, 0x1000, 5, 0, ALL, ALL, 0, OUT) == 0
    fd = struct.unpack_from("<I", mem.data, OUT)[0]
    rc, events = poll(inst, [subscription(9, 1, 10 ** 12), fd_subscription(1, 2, 1),
                             fd_subscription(2, 1, fd), fd_subscription(3, 1, 77)])
    assert rc == 0
    assert sorted(events) == [(1, 0, 2, 0), (2, 0, 1, 5), (3, W.EBADF, 1, 0)]


def test_poll_stdin_pipe_readiness(tmp_path):
    r, w = os.pipe()
    with os.fdopen(r, "rb", buffering=0) as stdin:
        inst, ctx = new_probe(tmp_path, stdin=stdin)
        rc, events = poll(inst, [fd_subscription(1, 1, 0), subscription(2, 1, 20 * 1000 * 1000)])
        assert rc == 0 and events == [(2, 0, 0, 0)]  # nothing to read: the clock fires
        os.write(w, b"x")
        rc, events = poll(inst, [fd_subscription(1, 1, 0), subscription(2, 1, 10 ** 12)])
        assert rc == 0 and events == [(1, 0, 1, 1)]
    os.close(w)


def test_poll_stdin_on_micropython(tmp_path, micropython):
    subs = (fd_subscription(1, 1, 0) + subscription(2, 1, 10 ** 12)).hex()
    steps = [c("poll_oneoff", SUBS, EVENTS, 2, "@out", poke=[SUBS, subs], peek_at=[EVENTS, 32]),
             c("fd_read", 0, "riov:100", "@out", read=True)]
    result = wasi_support.run_mp_probe(tmp_path, lfs_tree(), [{"name": "stdin", "steps": steps}],
                                       stdin=b"typed\n")
    a = result["attempts"][0]
    assert a["outcomes"] == [0, 0]
    assert struct.unpack_from("<QHB", bytes.fromhex(a["peeks"][0])) == (1, 0, 1)
    assert a["reads"] == ["typed\n"]


def test_readdir_of_a_name_that_is_not_utf8(tmp_path):
    inst, ctx = new_probe(tmp_path)
    root = ctx.fds[3].path
    with open(os.path.join(os.fsencode(root), b"caf\xe9"), "wb") as f:
        f.write(b"x")
    mem = inst.exports["memory"]
    mem.data[0x1000:0x1001] = b"."
    assert inst.exports["path_open"](3, 1, 0x1000, 1, 2, W.RIGHTS_DIR, ALL, 0, OUT) == 0
    fd = struct.unpack_from("<I", mem.data, OUT)[0]
    assert inst.exports["fd_readdir"](fd, 0x4000, 4096, 0, OUT) == 0
    used = struct.unpack_from("<I", mem.data, OUT)[0]
    assert b"caf\xe9" in bytes(mem.data[0x4000:0x4000 + used])


def test_random_get_fills_and_differs(tmp_path):
    inst, ctx = new_probe(tmp_path)
    mem = inst.exports["memory"]
    assert inst.exports["random_get"](0x4000, 600) == 0
    first = bytes(mem.data[0x4000:0x4000 + 600])
    assert inst.exports["random_get"](0x4000, 600) == 0
    assert bytes(mem.data[0x4000:0x4000 + 600]) != first
    assert first.count(0) < 100


def parse_dirents(buf):
    out = []
    at = 0
    while at + 24 <= len(buf):
        d_next, ino, namlen, kind = struct.unpack_from("<QQIB", buf, at)
        name = buf[at + 24:at + 24 + namlen]
        if len(name) < namlen:
            break
        out.append((d_next, name.decode(), kind, ino))
        at += 24 + namlen
    return out, at


@pytest.mark.parametrize("buf_len", [4096, 40, 24])
def test_readdir_small_buffers_and_cookies(tmp_path, buf_len):
    expected = sorted([".", ".."] + [p for p in TREE if "/" not in p])
    # CPython: drive it directly, following cookies
    inst, ctx = new_probe(tmp_path)
    mem = inst.exports["memory"]
    mem.data[0x1000:0x1001] = b"."
    assert inst.exports["path_open"](3, 1, 0x1000, 1, 2, W.RIGHTS_DIR, ALL, 0, OUT) == 0
    fd = struct.unpack_from("<I", mem.data, OUT)[0]
    names, kinds = [], {}
    cookie = 0
    for _ in range(100):
        assert inst.exports["fd_readdir"](fd, 0x4000, buf_len, cookie, OUT) == 0
        used = struct.unpack_from("<I", mem.data, OUT)[0]
        assert used <= buf_len
        entries, parsed = parse_dirents(bytes(mem.data[0x4000:0x4000 + used]))
        if not entries:
            # a buffer too small for the next whole entry comes back full
            assert used == 0 or used == buf_len
            if used == 0:
                break
            buf_len *= 2
            continue
        for d_next, name, kind, ino in entries:
            names.append(name)
            kinds[name] = kind
            assert ino != 0
            cookie = d_next
        if used < buf_len:
            break
    assert sorted(names) == expected
    assert kinds["dir"] == W.FT_DIR and kinds["a.txt"] == W.FT_FILE


def test_readdir_on_littlefs_lists_entries(tmp_path, micropython):
    steps = [op(".", 2, rights=W.RIGHTS_DIR, save="d"),
             c("fd_readdir", "$d", wasi_probe.BUF, 4096, 0, "@out", read=True)]
    result = wasi_support.run_mp_probe(tmp_path, lfs_tree(), [{"name": "ls", "steps": steps}])
    a = result["attempts"][0]
    assert a["outcomes"] == [0, 0]
    listing = a["reads"][0]
    for name in [p for p in TREE if "/" not in p] + [".", ".."]:
        assert name in listing


def test_sizes_append_allocate_truncate_renumber_on_both_backends(tmp_path, mp_available):
    steps = [
        op("a.txt", fdflags=W.FDFLAG_APPEND),
        c("fd_seek", "$f", 0, 0, "@out"),
        c("fd_write", "$f", "iov:+more", "@out"),  # appends despite the seek
        c("fd_filestat_get", "$f", "@out", peek=64),
        c("fd_allocate", "$f", 0, 20),
        c("fd_filestat_get", "$f", "@out", peek=64),
        c("fd_filestat_set_size", "$f", 3),
        c("path_filestat_get", 3, 1, "s:a.txt", "@out", peek=64),
        c("fd_fdstat_set_flags", "$f", 0),
        c("fd_pwrite", "$f", "iov:Z", 1, "@out"),
        c("fd_pread", "$f", "riov:10", 0, "@out", read=True),
        op("b.txt", save="g"),
        c("fd_renumber", "$f", "$g"),
        c("fd_read", "$g", "riov:10", "@out", read=True),
        c("fd_read", "$f", "riov:10", "@out"),
        c("path_filestat_get", 3, 1, "s:dir", "@out", peek=64),
    ]
    for outcomes, reads, peeks in both_backends(tmp_path, mp_available, steps):
        assert outcomes == [0] * 14 + [W.EBADF, 0]
        sizes = [struct.unpack_from("<QQBxxxxxxxQQ", bytes.fromhex(p))[4] for p in peeks]
        kinds = [struct.unpack_from("<QQB", bytes.fromhex(p))[2] for p in peeks]
        assert sizes[:3] == [len(b"alpha+more"), 20, 3]
        assert kinds == [W.FT_FILE, W.FT_FILE, W.FT_FILE, W.FT_DIR]
        assert reads[0] == "aZp"
        assert reads[1] == ""  # the renumbered fd kept its position (the end)


def test_run_returns_exit_status_and_reports_traps(tmp_path):
    out, err = io.BytesIO(), io.BytesIO()
    assert wasi.run(example("exit_code"), ["5"], stdout=out, stderr=err) == 5
    assert out.getvalue() == b"exiting with 5\n"
    out, err = io.BytesIO(), io.BytesIO()
    assert wasi.run(example("hello"), stdout=out, stderr=err) == 0
    out, err = io.BytesIO(), io.BytesIO()
    status = wasi.run(example("trap"), stdout=out, stderr=err)
    assert status == wasi.TRAP_STATUS == 134
    lines = err.getvalue().decode().splitlines()
    assert lines[0] == "trap: unreachable"
    assert lines[1] == "wasm backtrace:"
    assert "innermost" in lines[2] and "middle" in lines[3] and "outer" in lines[4]
    assert mpwasi.run(open(example("hello"), "rb").read(), stdout=io.BytesIO()) == 0


def test_run_of_a_module_without_start_is_a_link_error():
    with pytest.raises(mpwasi.LinkError):
        wasi.run(example("wasi_probe"), stdout=io.BytesIO())


def leb(n):
    return bytes(uleb(n))


def with_big_custom_section(path, size):
    """hello.wasm with a `size`-byte custom section (as debug info would be) after its code."""
    data = open(example("hello"), "rb").read()
    name = b".debug_info"
    payload = leb(len(name)) + name + bytes(size)
    big = data + b"\x00" + leb(len(payload)) + payload
    with open(path, "wb") as f:
        f.write(big)
    return len(big)


def test_read_module_drops_custom_sections_but_the_name_section(tmp_path):
    path = str(tmp_path / "big.wasm")
    total = with_big_custom_section(path, 2 * 1024 * 1024)
    data = wasi.read_module(path)
    assert total > 2 * 1024 * 1024 and len(data) < 8000
    assert b"\x04name" in data and b".debug_info" not in data
    out = io.BytesIO()
    assert wasi.run(path, stdout=out) == 0 and out.getvalue() == b"Hello, world!\n"


def test_two_megabyte_module_runs_on_a_small_micropython_heap(tmp_path, micropython):
    path = str(tmp_path / "big.wasm")
    with_big_custom_section(path, 2 * 1024 * 1024)
    proc, result = wasi_support.run_mp_session(
        tmp_path, {"mode": "run", "wasm": path, "args": [], "dirs": []}, heapsize="1M")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"Hello, world!\n"


def test_all_46_preview1_functions_link_with_the_reference_types(tmp_path):
    """wasi_probe.wasm imports every preview1 function with the types of wasi.signatures(); wasmtime
    linking it proves the types are the reference's, mpwasi linking it proves all 46 exist."""
    import wasmtime

    names = wasi.Wasi().imports()["wasi_snapshot_preview1"]
    assert len(names) == 46 == len(wasi.signatures())
    module = mpwasi.Module(open(example("wasi_probe"), "rb").read())
    assert sorted(n for m, n, k in module.imports) == sorted(names)
    mpwasi.Instance(module, wasi.Wasi().imports())
    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker.instantiate(store, wasmtime.Module.from_file(engine, example("wasi_probe")))


END = 0x20000  # the probe's memory: 2 pages


@pytest.mark.parametrize("name, args", [
    ("args_get", (END - 2, 0x100)),
    ("args_get", (0x100, END - 2)),
    ("args_sizes_get", (END - 2, 0x100)),
    ("environ_sizes_get", (0x100, END)),
    ("clock_res_get", (1, END - 4)),
    ("clock_time_get", (0, 0, END - 7)),
    ("random_get", (END - 10, 11)),
    ("random_get", (0xFFFFFFFF, 1)),
    ("fd_fdstat_get", (1, END - 23)),
    ("fd_filestat_get", (1, END - 63)),
    ("fd_prestat_get", (3, END - 7)),
    ("fd_prestat_dir_name", (3, END - 1, 2)),
    ("fd_write", (1, END - 4, 1, 0x100)),
    ("fd_write", (1, 0x100, 0x20000000, 0x100)),
    ("fd_read", (0, 0x100, 1, END)),
    ("fd_readdir", (3, END - 10, 100, 0, 0x100)),
    ("path_filestat_get", (3, 0, END - 1, 5, 0x100)),
    ("path_create_directory", (3, 0xFFFFFFF0, 0x20)),
    ("poll_oneoff", (END - 40, 0x100, 1, 0x200)),
    ("poll_oneoff", (0x400, END - 16, 1, 0x200)),
])
def test_out_of_bounds_pointers_trap(tmp_path, name, args):
    inst, ctx = new_probe(tmp_path, stdin=io.BytesIO(b"abc"))
    with pytest.raises(mpwasi.Trap) as info:
        inst.exports[name](*args)
    assert info.value.reason == "out of bounds memory access"
