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
from mpwasi.wasi_abi import (EPERM, EBADF, EINVAL, ENAMETOOLONG, ENOENT, ENOTDIR, ELOOP,
                              ENOTCAPABLE, ENOSYS)

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
    ("make a symlink out", [call("path_symlink", "s:../outside/canary.txt", 3, "s:evil")],
     [ENOSYS]),
    ("make a hard link to the canary", [call("path_link", 3, 0, "s:../outside/canary.txt", 3,
                                             "s:evil")], [ENOSYS]),
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
]
# MicroPython cannot resolve links, so on VfsPosix it refuses every link (EPERM) where CPython
# follows one that stays inside or, not following, answers ELOOP.
LINK_CPYTHON_ONLY = [
    ("open a link without following", [open_("labs", lookup=0)], [ELOOP]),
    ("follow a link that stays inside", [open_("lin", save="f"),
                                         call("fd_read", "$f", "riov:64", "@out", read=True)],
     [0, 0]),
]


def attempts(items):
    return [{"name": name, "steps": steps} for name, steps, expected in items]


def expected(items):
    return {name: outcomes for name, steps, outcomes in items}


def make_tree(tmp_path, links):
    sandbox = tmp_path / "sandbox"
    outside = tmp_path / "outside"
    (sandbox / "sub").mkdir(parents=True)
    (outside / "emptydir").mkdir(parents=True)
    (sandbox / "inside.txt").write_bytes(INSIDE)
    (sandbox / "sub" / "deep.txt").write_bytes(b"deep\n")
    (outside / "canary.txt").write_bytes(CANARY)
    if links:
        os.symlink("../outside", sandbox / "lo")
        os.symlink(str(outside / "canary.txt"), sandbox / "labs")
        os.symlink("../outside/canary.txt", sandbox / "lrel")
        os.symlink("../outside/new.txt", sandbox / "ldang")
        os.symlink("inside.txt", sandbox / "lin")
        os.symlink("../../outside", sandbox / "sub" / "back")
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


def test_escapes_on_cpython_host_directory(tmp_path):
    sandbox, outside = make_tree(tmp_path, links=True)
    before = snapshot(outside)
    items = ATTEMPTS + LINK_ATTEMPTS + LINK_CPYTHON_ONLY
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
    touched = [(e, p) for e, p in _audit["events"]
               if os.path.realpath(p).startswith(os.path.realpath(outside))]
    assert touched == []
    assert any(os.path.realpath(p).startswith(os.path.realpath(sandbox))
               for e, p in _audit["events"])  # the hook did see the sandbox's own files
    assert not os.path.exists(os.path.join(outside, "new.txt"))
    assert not os.path.exists(os.path.join(sandbox, "created.txt"))
    assert open(os.path.join(sandbox, "inside.txt"), "rb").read() == INSIDE


MP_TREE = {"sandbox": None, "sandbox/sub": None, "sandbox/inside.txt": INSIDE.hex(),
           "sandbox/sub/deep.txt": b"deep\n".hex(), "outside": None, "outside/emptydir": None,
           "outside/canary.txt": CANARY.hex()}


def run_mp_probe(tmp_path, items, posix_root=None):
    return wasi_support.run_mp_probe(tmp_path, MP_TREE, attempts(items), posix_root=posix_root)


def test_escapes_on_micropython_littlefs(tmp_path, micropython):
    result = run_mp_probe(tmp_path, ATTEMPTS)
    tree = result["tree"]
    outside = {k: v for k, v in tree.items() if k.startswith("outside")}
    check_results(result["attempts"], expected(ATTEMPTS),
                  {"outside": None, "outside/emptydir": None, "outside/canary.txt": CANARY.hex()},
                  outside)
    assert "sandbox/created.txt" not in tree
    assert tree["sandbox/inside.txt"] == INSIDE.hex()


def test_escapes_on_micropython_host_directory_with_symlinks(tmp_path, micropython):
    host = tmp_path / "host"
    host.mkdir()
    sandbox, outside = make_tree(host, links=True)
    before = snapshot(outside)
    refused = [(name, steps, [EPERM if o == ELOOP else o for o in outcomes])
               for name, steps, outcomes in LINK_CPYTHON_ONLY[:1]]
    refused.append((LINK_CPYTHON_ONLY[1][0], LINK_CPYTHON_ONLY[1][1], [EPERM, EBADF]))
    items = ATTEMPTS + LINK_ATTEMPTS + refused
    result = run_mp_probe(tmp_path, items, posix_root=str(host))
    check_results(result["attempts"], expected(items), before, snapshot(outside))
    assert not os.path.exists(os.path.join(outside, "new.txt"))
