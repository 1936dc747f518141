"""Escape attempts against the WASI capability sandbox, on every backend: CPython over a host
directory (with symlinks pointing out), MicroPython over a littlefs image, and MicroPython over a host
directory (VfsPosix, with the same symlinks). The guest's preopen is `sandbox/`; `outside/canary.txt`
sits next to it. Each attempt calls WASI functions directly through examples/wasi_probe.wasm and must
get the errno (or trap) listed; afterwards the outside tree must be exactly as it was, and on CPython
an audit hook proves no file outside the sandbox was opened, listed, renamed, created or removed."""
import os
import sys

import wasi_support
from wasi_support import example, snapshot
from mp import wasi_probe

from mpwasi import wasi, wasi_abi
from mpwasi.wasi_abi import (EPERM, EBADF, EEXIST, EINVAL, ENAMETOOLONG, ENOENT, ENOTDIR, ELOOP,
                              ENOTCAPABLE, ENOTSUP)

OOB = "trap: out of bounds memory access"
DIR = wasi_abi.RIGHTS_DIR  # what a preopen holds
ALL = wasi_abi.RIGHTS_DIR | wasi_abi.RIGHTS_FILE  # what it passes on
CANARY = b"canary: secret outside the sandbox\n"
INSIDE = b"inside the sandbox\n"
LOOKUP = 1  # follow symlinks
O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8


def open_(path, oflags=0, dirfd=3, lookup=LOOKUP, rights=None, inheriting=ALL, save=None):
    if rights is None:
        rights = DIR if oflags & O_DIRECTORY else ALL
    step = {"call": "path_open",
            "args": [dirfd, lookup, "s:" + path, oflags, rights, inheriting, 0, "@out"]}
    if save:
        step["save"] = save
    return step


def call(name, *args, **extra):
    step = {"call": name, "args": list(args)}
    step.update(extra)
    return step


# (name, steps, expected outcomes, needs symlinks)
ATTEMPTS = [
    ("open absolute path", [open_("/etc/passwd")], [EPERM]),
    ("open absolute path of the canary", [open_("/outside/canary.txt")], [EPERM]),
    ("open ../ to the canary", [open_("../outside/canary.txt")], [EPERM]),
    ("open through a subdirectory and up twice", [open_("sub/../../outside/canary.txt")], [EPERM]),
    ("open ./../", [open_("./../outside/canary.txt")], [EPERM]),
    ("open with empty components", [open_("sub//..//..//outside/canary.txt")], [EPERM]),
    ("open the parent directory", [open_("..", O_DIRECTORY)], [EPERM]),
    ("open with fifty ..", [open_("sub/" + "../" * 50 + "outside/canary.txt")], [EPERM]),
    ("open with a NUL byte", [open_("inside.txt\0../outside/canary.txt")], [EINVAL]),
    ("open an over-long path", [open_("a/" * 600 + "x")], [ENAMETOOLONG]),
    ("open an over-long component", [open_("x" * 300)], [ENAMETOOLONG]),
    ("open with backslashes", [open_("..\\outside\\canary.txt")], [ENOENT]),
    ("create a file outside", [open_("../outside/new.txt", O_CREAT)], [EPERM]),
    ("truncate the canary", [open_("../outside/canary.txt", O_TRUNC)], [EPERM]),
    ("unlink the canary", [call("path_unlink_file", 3, "s:../outside/canary.txt")], [EPERM]),
    ("unlink by absolute path", [call("path_unlink_file", 3, "s:/outside/canary.txt")], [EPERM]),
    ("rename the canary in", [call("path_rename", 3, "s:../outside/canary.txt", 3,
                                   "s:stolen.txt")], [EPERM]),
    ("rename a file over the canary", [call("path_rename", 3, "s:inside.txt", 3,
                                            "s:../outside/canary.txt")], [EPERM]),
    ("rename a directory out", [call("path_rename", 3, "s:sub", 3, "s:../outside/sub")], [EPERM]),
    ("make a directory outside", [call("path_create_directory", 3, "s:../outside/newdir")],
     [EPERM]),
    ("remove a directory outside", [call("path_remove_directory", 3, "s:../outside/emptydir")],
     [EPERM]),
    ("remove the parent", [call("path_remove_directory", 3, "s:..")], [EPERM]),
    ("stat the canary", [call("path_filestat_get", 3, LOOKUP, "s:../outside/canary.txt", "@out")],
     [EPERM]),
    ("list the parent", [open_("..", O_DIRECTORY, save="d"),
                         call("fd_readdir", "$d", wasi_probe.BUF, 4096, 0, "@out", read=True)],
     [EPERM, EBADF]),
    ("a subdirectory fd is its own root", [open_("sub", O_DIRECTORY, save="d"),
                                           open_("../inside.txt", dirfd="$d")], [0, EPERM]),
    ("escape from a subdirectory fd", [open_("sub", O_DIRECTORY, save="d"),
                                       open_("../../outside/canary.txt", dirfd="$d")], [0, EPERM]),
    ("a file fd as a directory", [open_("inside.txt", save="f"),
                                  open_("../outside/canary.txt", dirfd="$f")], [0, ENOTDIR]),
    ("stdin as a directory", [open_("../outside/canary.txt", dirfd=0)], [ENOTDIR]),
    ("an unopened fd as a directory", [open_("inside.txt", dirfd=42)], [EBADF]),
    ("a closed preopen", [call("fd_close", 3), open_("inside.txt")], [0, EBADF]),
    ("write to a read-only fd", [open_("inside.txt", rights=wasi_abi.R_FD_READ, save="f"),
                                 call("fd_write", "$f", "iov:overwritten", "@out")], [0, EBADF]),
    ("read from a write-only fd", [open_("inside.txt", rights=wasi_abi.R_FD_WRITE, save="f"),
                                   call("fd_read", "$f", "riov:64", "@out", read=True)],
     [0, EBADF]),
    ("path_open without the right", [call("fd_fdstat_set_rights", 3,
                                          DIR & ~wasi_abi.R_PATH_OPEN, ALL),
                                     open_("inside.txt")], [0, ENOTCAPABLE]),
    ("rights cannot grow back", [call("fd_fdstat_set_rights", 3, wasi_abi.R_PATH_OPEN, ALL),
                                 call("fd_fdstat_set_rights", 3, DIR, ALL)], [0, ENOTCAPABLE]),
    ("create without the right", [call("fd_fdstat_set_rights", 3,
                                       DIR & ~wasi_abi.R_PATH_CREATE_FILE, ALL),
                                  open_("created.txt", O_CREAT)], [0, ENOTCAPABLE]),
    ("inherited rights are a ceiling",
     [open_("sub", O_DIRECTORY, inheriting=wasi_abi.R_FD_READ, save="d"),
      open_("deep.txt", dirfd="$d", save="f"),
      call("fd_write", "$f", "iov:overwritten", "@out")], [0, 0, EBADF]),
    ("a path pointer past memory", [call("path_open", 3, 1, 0x1FFF0, 100, 0, ALL, ALL, 0,
                                         "@out")], [OOB]),
    ("a path length of 4 GB", [call("path_open", 3, 1, 0x1000, 0xFFFFFFFF, 0, ALL, ALL, 0,
                                    "@out")], [OOB]),
    ("an iovec array past memory", [call("fd_write", 1, 0x1FFFC, 1, "@out")], [OOB]),
    ("an iovec buffer past memory", [open_("inside.txt", save="f"),
                                     call("fd_read", "$f", "riov:131072", "@out")], [0, OOB]),
    ("a result pointer past memory creates nothing",
     [call("path_open", 3, 1, "s:created.txt", O_CREAT, ALL, ALL, 0, 0x1FFFE)], [OOB]),
    ("list the sandbox root", [open_(".", O_DIRECTORY, save="d"),
                               call("fd_readdir", "$d", wasi_probe.BUF, 4096, 0, "@out",
                                    read=True)], [0, 0]),
]
NOW = 2 | 8  # fstflags ATIM_NOW | MTIM_NOW


def symlink(target, name, dirfd=3):
    return call("path_symlink", "s:" + target, dirfd, "s:" + name)


def hardlink(old, new, lookup=0):
    return call("path_link", 3, lookup, "s:" + old, 3, "s:" + new)


# Links the guest makes, on every backend. Outcomes: one list for all, or {"host": CPython over a
# host directory, "mp": MicroPython (littlefs and VfsPosix: no links to make, so ENOTSUP, and the
# names stay missing)}.
GUEST_LINK_ATTEMPTS = [
    ("make an absolute symlink", [symlink("/etc/passwd", "evil1")], [EPERM]),
    ("make an absolute symlink to the canary", [symlink("/outside/canary.txt", "evil2"),
                                                open_("evil2")], [EPERM, ENOENT]),
    ("make a symlink out and follow it",
     [symlink("../outside/canary.txt", "evil3"), open_("evil3"),
      call("path_filestat_get", 3, LOOKUP, "s:evil3", "@out"), open_("evil3", O_TRUNC),
      call("path_filestat_set_times", 3, LOOKUP, "s:evil3", 0, 0, NOW)],
     {"host": [0, EPERM, EPERM, EPERM, EPERM], "mp": [ENOTSUP, ENOENT, ENOENT, ENOENT, ENOENT]}),
    ("make a symlink to the parent and walk through it",
     [symlink("..", "up"), open_("up/outside/canary.txt"),
      call("path_create_directory", 3, "s:up/outside/newdir"),
      call("path_unlink_file", 3, "s:up/outside/canary.txt"),
      call("path_rename", 3, "s:inside.txt", 3, "s:up/outside/canary.txt")],
     {"host": [0, EPERM, EPERM, EPERM, EPERM], "mp": [ENOTSUP, ENOENT, ENOENT, ENOENT, ENOENT]}),
    ("a chain of symlinks out", [symlink("sub/hop", "a1"), symlink("../../outside", "sub/hop"),
                                 open_("a1/canary.txt"), open_("a1", O_DIRECTORY)],
     {"host": [0, 0, EPERM, EPERM], "mp": [ENOTSUP, ENOTSUP, ENOENT, ENOENT]}),
    ("a chain that stays inside", [symlink("sub", "a2"), symlink("../inside.txt", "sub/b"),
                                   open_("a2/b", save="f"),
                                   call("fd_read", "$f", "riov:64", "@out", read=True)],
     {"host": [0, 0, 0, 0], "mp": [ENOTSUP, ENOTSUP, ENOENT, EBADF]}),
    ("a symlink loop", [symlink("loopb", "loopa"), symlink("loopa", "loopb"), open_("loopa"),
                        call("path_filestat_get", 3, LOOKUP, "s:loopa/x", "@out")],
     {"host": [0, 0, ELOOP, ELOOP], "mp": [ENOTSUP, ENOTSUP, ENOENT, ENOENT]}),
    ("a symlink through itself", [symlink("self/x", "self"), open_("self")],
     {"host": [0, ELOOP], "mp": [ENOTSUP, ENOENT]}),
    ("a hard link to the canary", [hardlink("../outside/canary.txt", "evil4")], [EPERM]),
    ("a hard link by absolute path", [hardlink("/outside/canary.txt", "evil5")], [EPERM]),
    ("a hard link placed outside", [hardlink("inside.txt", "../outside/stolen.txt")], [EPERM]),
    ("a hard link following links", [hardlink("inside.txt", "evil6", lookup=LOOKUP)], [EINVAL]),
    ("a hard link over an existing name", [hardlink("inside.txt", "sub/deep.txt")],
     {"host": [EEXIST], "mp": [ENOTSUP]}),
    ("a hard link of a guest symlink out", [symlink("../outside/canary.txt", "evil7"),
                                            hardlink("evil7", "evil8"), open_("evil8")],
     {"host": [0, 0, EPERM], "mp": [ENOTSUP, ENOTSUP, ENOENT]}),
    ("set the canary's times", [call("path_filestat_set_times", 3, LOOKUP,
                                     "s:../outside/canary.txt", 0, 0, NOW)], [EPERM]),
    ("set times by absolute path", [call("path_filestat_set_times", 3, 0, "s:/outside/canary.txt",
                                         5, 5, 5)], [EPERM]),
    ("read the link of an outside path", [call("path_readlink", 3, "s:../outside/canary.txt",
                                               wasi_probe.BUF, 64, "@out")], [EPERM]),
    ("a symlink name outside", [symlink("inside.txt", "../outside/evil")], [EPERM]),
]
LINK_ATTEMPTS = [
    ("follow a directory link out", [open_("lo/canary.txt")], [EPERM]),
    ("follow an absolute file link", [open_("labs")], [EPERM]),
    ("follow a relative file link", [open_("lrel")], [EPERM]),
    ("create through a dangling link", [open_("ldang", O_CREAT)], [EPERM]),
    ("truncate through a link", [open_("lrel", O_TRUNC)], [EPERM]),
    ("stat through a link", [call("path_filestat_get", 3, LOOKUP, "s:lrel", "@out")], [EPERM]),
    ("list through a directory link", [open_("lo", O_DIRECTORY)], [EPERM]),
    ("unlink through a directory link", [call("path_unlink_file", 3, "s:lo/canary.txt")], [EPERM]),
    ("rename through a directory link", [call("path_rename", 3, "s:inside.txt", 3,
                                              "s:lo/canary.txt")], [EPERM]),
    ("mkdir through a directory link", [call("path_create_directory", 3, "s:lo/newdir")], [EPERM]),
    ("rmdir through a directory link", [call("path_remove_directory", 3, "s:lo/emptydir")],
     [EPERM]),
    ("a subdirectory fd through a link", [open_("sub", O_DIRECTORY, save="d"),
                                          open_("back/canary.txt", dirfd="$d")], [0, EPERM]),
    ("set times through a link out", [call("path_filestat_set_times", 3, LOOKUP, "s:lrel", 0, 0,
                                           NOW)], [EPERM]),
    ("read an absolute link", [call("path_readlink", 3, "s:labs", wasi_probe.BUF, 64, "@out")],
     [EPERM]),
    ("follow a chain of host links out", [open_("chain1")], [EPERM]),
    ("a host link into a sibling directory", [open_("lother/other.txt")], [EPERM]),
]
# MicroPython cannot resolve links, so on VfsPosix it refuses every link (EPERM) where CPython
# follows one that stays inside or, not following, answers ELOOP or acts on the link itself.
LINK_CPYTHON_ONLY = [
    ("open a link without following", [open_("labs", lookup=0)], {"host": [ELOOP], "mp": [EPERM]}),
    ("follow a link that stays inside", [open_("lin", save="f"),
                                         call("fd_read", "$f", "riov:64", "@out", read=True)],
     {"host": [0, 0], "mp": [EPERM, EBADF]}),
    ("follow a host link loop", [open_("hloop1")], {"host": [ELOOP], "mp": [EPERM]}),
    ("set a link's own times, not its target's",
     [call("path_filestat_set_times", 3, 0, "s:lrel", 5, 5, 5)], {"host": [0], "mp": [EPERM]}),
    ("hard link a host link that leads out",
     [hardlink("lrel", "hl"), open_("hl"),
      call("path_readlink", 3, "s:hl", wasi_probe.BUF, 64, "@out")],
     {"host": [0, EPERM, 0], "mp": [EPERM, ENOENT, ENOENT]}),
]


def attempts(items):
    return [{"name": name, "steps": steps} for name, steps, expected in items]


def expected(items, backend="host"):
    return {name: outcomes[backend] if isinstance(outcomes, dict) else outcomes
            for name, steps, outcomes in items}


def make_tree(tmp_path, links):
    sandbox = tmp_path / "sandbox"
    outside = tmp_path / "outside"
    (sandbox / "sub").mkdir(parents=True)
    (outside / "emptydir").mkdir(parents=True)
    (sandbox / "inside.txt").write_bytes(INSIDE)
    (sandbox / "sub" / "deep.txt").write_bytes(b"deep\n")
    (outside / "canary.txt").write_bytes(CANARY)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "other.txt").write_bytes(b"the other preopen\n")
    if links:
        os.symlink("../outside", sandbox / "lo")
        os.symlink(str(outside / "canary.txt"), sandbox / "labs")
        os.symlink("../outside/canary.txt", sandbox / "lrel")
        os.symlink("../outside/new.txt", sandbox / "ldang")
        os.symlink("inside.txt", sandbox / "lin")
        os.symlink("../../outside", sandbox / "sub" / "back")
        os.symlink("chain2", sandbox / "chain1")
        os.symlink("sub/chain3", sandbox / "chain2")
        os.symlink("../lo/canary.txt", sandbox / "sub" / "chain3")
        os.symlink("hloop2", sandbox / "hloop1")
        os.symlink("hloop1", sandbox / "hloop2")
        os.symlink("../other", sandbox / "lother")
    return str(sandbox), str(outside)


def check_results(results, want, outside_before, outside_after):
    assert len(results) == len(want)
    for r in results:
        assert r["outcomes"] == want[r["name"]], r["name"]
        for data in r["reads"]:
            assert "canary" not in data, r["name"]
    listing = [r for r in results if r["name"] == "list the sandbox root"]
    for r in listing:
        assert "inside.txt" in r["reads"][0] and "outside" not in r["reads"][0]
    assert outside_after == outside_before


_audit = {"on": False, "root": None, "events": []}
_PATH_EVENTS = {"open": 1, "os.rename": 2, "os.remove": 1, "os.rmdir": 1, "os.mkdir": 1,
                "os.scandir": 1, "os.listdir": 1, "os.truncate": 1, "os.symlink": 2, "os.link": 2,
                "os.chmod": 1, "os.utime": 1}


def _hook(event, args):
    if not _audit["on"] or event not in _PATH_EVENTS:
        return
    for path in args[:_PATH_EVENTS[event]]:
        if isinstance(path, (str, bytes)):
            _audit["events"].append((event, os.fsdecode(path)))


def test_more_than_thirty_escape_attempts_per_backend():
    assert len(ATTEMPTS) >= 30
    assert len(ATTEMPTS) + len(LINK_ATTEMPTS) + len(LINK_CPYTHON_ONLY) >= 50
    assert len(GUEST_LINK_ATTEMPTS) >= 15


def canary_status(outside):
    """What a write, a hard link or a time change would alter in the canary's inode."""
    st = os.stat(os.path.join(outside, "canary.txt"))
    return st.st_ino, st.st_nlink, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def test_escapes_on_cpython_host_directory(tmp_path):
    sandbox, outside = make_tree(tmp_path, links=True)
    before = snapshot(outside)
    other_before = snapshot(str(tmp_path / "other"))
    canary_before = canary_status(outside)
    items = ATTEMPTS + GUEST_LINK_ATTEMPTS + LINK_ATTEMPTS + LINK_CPYTHON_ONLY
    wasm = open(example("wasi_probe"), "rb").read()
    if _hook not in _audit.setdefault("installed", []):
        sys.addaudithook(_hook)
        _audit["installed"].append(_hook)
    _audit["events"] = []
    _audit["on"] = True
    try:
        results = wasi_probe.run_attempts(
            wasm, lambda: wasi.Wasi(["probe"], None, [(sandbox, ".")]), attempts(items))
    finally:
        _audit["on"] = False
    check_results(results, expected(items), before, snapshot(outside))
    assert canary_status(outside) == canary_before
    assert snapshot(str(tmp_path / "other")) == other_before
    touched = [(e, p) for e, p in _audit["events"]
               if os.path.realpath(p).startswith(os.path.realpath(outside))
               or os.path.realpath(p).startswith(os.path.realpath(str(tmp_path / "other")))]
    assert touched == []
    assert any(os.path.realpath(p).startswith(os.path.realpath(sandbox))
               for e, p in _audit["events"])  # the hook did see the sandbox's own files
    assert not os.path.exists(os.path.join(outside, "new.txt"))
    assert not os.path.exists(os.path.join(sandbox, "created.txt"))
    assert open(os.path.join(sandbox, "inside.txt"), "rb").read() == INSIDE



def test_link_attempts_answer_as_wasmtime(tmp_path):
    """Every link attempt (guest-made and host-made links, chains, loops, times, readlink) gets the
    errno wasmtime gives on the same tree, and wasmtime leaves the outside alone too."""
    sandbox, outside = make_tree(tmp_path, links=True)
    before = snapshot(outside)
    items = GUEST_LINK_ATTEMPTS + LINK_ATTEMPTS + LINK_CPYTHON_ONLY
    results = wasi_support.run_probe_wasmtime(attempts(items), sandbox)
    want = expected(items)
    assert {r["name"]: r["outcomes"] for r in results} == want
    assert snapshot(outside) == before

MP_TREE = {"sandbox": None, "sandbox/sub": None, "sandbox/inside.txt": INSIDE.hex(),
           "sandbox/sub/deep.txt": b"deep\n".hex(), "outside": None, "outside/emptydir": None,
           "outside/canary.txt": CANARY.hex()}


def run_mp_probe(tmp_path, items, posix_root=None):
    return wasi_support.run_mp_probe(tmp_path, MP_TREE, attempts(items), posix_root=posix_root)


def test_escapes_on_micropython_littlefs(tmp_path, micropython):
    items = ATTEMPTS + GUEST_LINK_ATTEMPTS
    result = run_mp_probe(tmp_path, items)
    tree = result["tree"]
    outside = {k: v for k, v in tree.items() if k.startswith("outside")}
    check_results(result["attempts"], expected(items, "mp"),
                  {"outside": None, "outside/emptydir": None, "outside/canary.txt": CANARY.hex()},
                  outside)
    assert "sandbox/created.txt" not in tree
    assert tree["sandbox/inside.txt"] == INSIDE.hex()


def test_escapes_on_micropython_host_directory_with_symlinks(tmp_path, micropython):
    host = tmp_path / "host"
    host.mkdir()
    sandbox, outside = make_tree(host, links=True)
    before = snapshot(outside)
    canary_before = canary_status(outside)
    items = ATTEMPTS + GUEST_LINK_ATTEMPTS + LINK_ATTEMPTS + LINK_CPYTHON_ONLY
    result = run_mp_probe(tmp_path, items, posix_root=str(host))
    check_results(result["attempts"], expected(items, "mp"), before, snapshot(outside))
    assert canary_status(outside) == canary_before
    assert not os.path.exists(os.path.join(outside, "new.txt"))


# --- races between the check and the use (CPython: the host has links and threads) -------------
def swap_in_link(sandbox):
    """Replaces sandbox/sub with a symlink to ../outside (the real directory kept as sub.real)."""
    os.rename(os.path.join(sandbox, "sub"), os.path.join(sandbox, "sub.real"))
    os.symlink("../outside", os.path.join(sandbox, "sub"))


def swap_back(sandbox):
    os.unlink(os.path.join(sandbox, "sub"))
    os.rename(os.path.join(sandbox, "sub.real"), os.path.join(sandbox, "sub"))


def test_a_directory_swapped_for_a_link_after_the_check_leads_nowhere(tmp_path):
    """The host backend's own contract: a path confine() checked is used through directory fds
    opened one at a time without following links, so a directory on it that became a symlink
    out since makes every operation fail (ELOOP or ENOTDIR) instead of reaching the canary."""
    import errno
    import pytest
    from mpwasi.wasi_hostfs import HostFS

    sandbox, outside = make_tree(tmp_path, links=False)
    before = snapshot(outside)
    canary_before = canary_status(outside)
    fs = HostFS()
    root = fs.root(sandbox)
    canary = fs.confine(root, ["sub", "canary.txt"], True)  # checked while sub is a directory
    empty = fs.confine(root, ["sub", "emptydir"], True)
    inside = fs.confine(root, ["inside.txt"], True)
    assert canary == os.path.join(root, "sub", "canary.txt")
    swap_in_link(sandbox)
    uses = [
        lambda: fs.open(canary, True, True, False, False, True, False),
        lambda: fs.open(canary, True, False, False, False, False, True),
        lambda: fs.stat(canary),
        lambda: fs.unlink(canary),
        lambda: fs.rename(canary, inside),
        lambda: fs.rename(inside, canary),
        lambda: fs.link(canary, os.path.join(root, "stolen")),
        lambda: fs.link(inside, canary),
        lambda: fs.symlink("x", canary),
        lambda: fs.readlink(canary),
        lambda: fs.set_times(canary, None, 5, 5, False),
        lambda: fs.mkdir(os.path.join(root, "sub", "newdir")),
        lambda: fs.rmdir(empty),
        lambda: fs.listdir(os.path.join(root, "sub")),
    ]
    for use in uses:
        with pytest.raises(OSError) as info:
            use()
        assert info.value.errno in (errno.ELOOP, errno.ENOTDIR)
    swap_back(sandbox)
    assert snapshot(outside) == before and canary_status(outside) == canary_before
    assert open(os.path.join(sandbox, "inside.txt"), "rb").read() == INSIDE


def test_a_guest_directory_fd_whose_directory_is_swapped_for_a_link(tmp_path):
    """The guest opens sub/ as a directory fd; the host then replaces sub with a symlink out. What
    the guest does through that fd afterwards reaches nothing outside."""
    sandbox, outside = make_tree(tmp_path, links=False)
    before = snapshot(outside)
    canary_before = canary_status(outside)
    ctx = wasi.Wasi(["probe"], None, [(sandbox, ".")])
    inst = wasi_probe.new_instance(open(example("wasi_probe"), "rb").read(), ctx)
    outcomes, reads, saved = wasi_probe.run_steps(inst, [open_("sub", O_DIRECTORY, save="d")])
    assert outcomes == [0]
    d = saved["d"]
    swap_in_link(sandbox)
    outcomes, reads, saved = wasi_probe.run_steps(inst, [
        open_("canary.txt", O_TRUNC, dirfd=d),
        open_("canary.txt", dirfd=d, save="f"),
        call("path_unlink_file", d, "s:canary.txt"),
        call("path_filestat_set_times", d, 0, "s:canary.txt", 5, 5, 5),
        call("path_link", 3, 0, "s:inside.txt", d, "s:stolen"),
        call("path_create_directory", d, "s:newdir"),
        call("fd_readdir", d, wasi_probe.BUF, 4096, 0, "@out", read=True),
    ])
    assert all(o in (ELOOP, ENOTDIR) for o in outcomes) and len(outcomes) == 7, outcomes
    ctx.close()
    swap_back(sandbox)
    assert snapshot(outside) == before and canary_status(outside) == canary_before


def test_guest_racing_a_host_that_flips_a_directory_and_a_link_out(tmp_path):
    """A host thread keeps swapping sub/ and a symlink to ../outside while the guest creates,
    truncates, writes, re-times, unlinks, links and renames sub/canary.txt, 3000 times:
    whatever each call answers, the canary outside is never touched. (With the parent opened by
    path, following links, instead of the O_NOFOLLOW walk, this run truncates the canary.)"""
    import threading

    sandbox, outside = make_tree(tmp_path, links=False)
    (tmp_path / "sandbox" / "sub" / "canary.txt").write_bytes(b"decoy inside\n")
    before = snapshot(outside)
    canary_before = canary_status(outside)
    stop = []

    def flip():
        while not stop:
            swap_in_link(sandbox)
            swap_back(sandbox)

    ctx = wasi.Wasi(["probe"], None, [(sandbox, ".")])
    inst = wasi_probe.new_instance(open(example("wasi_probe"), "rb").read(), ctx)
    steps = [open_("sub/canary.txt", O_CREAT | O_TRUNC, save="f"),
             call("fd_write", "$f", "iov:overwritten", "@out"),
             call("fd_close", "$f"),
             call("path_filestat_set_times", 3, 0, "s:sub/canary.txt", 5, 5, 5),
             call("path_unlink_file", 3, "s:sub/canary.txt"),
             call("path_link", 3, 0, "s:inside.txt", 3, "s:sub/canary.txt"),
             call("path_rename", 3, "s:sub/canary.txt", 3, "s:sub/moved.txt"),
             call("path_unlink_file", 3, "s:sub/moved.txt")]
    thread = threading.Thread(target=flip)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as CPython will: many more interleavings
    thread.start()
    seen = set()
    try:
        for _ in range(3000):
            outcomes, reads, saved = wasi_probe.run_steps(inst, steps)
            seen.update(outcomes)
    finally:
        stop.append(True)
        thread.join()
        sys.setswitchinterval(interval)
    ctx.close()
    if os.path.islink(os.path.join(sandbox, "sub")):
        swap_back(sandbox)
    assert snapshot(outside) == before and canary_status(outside) == canary_before
    assert 0 in seen and (EPERM in seen or ENOTDIR in seen or ELOOP in seen)  # both states met
