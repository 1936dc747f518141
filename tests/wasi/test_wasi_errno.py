"""WASI errno paths: bad fd, closed fd, wrong rights, directory vs file, non-empty directory, missing
paths, links and file times, unsupported calls. Every case runs through examples/wasi_probe.wasm on CPython (a host
directory) and on MicroPython (a littlefs image); the cases marked `same` must also give wasmtime's
answer (the others are documented choices where mpwasi differs, see firmware/mpwasi/wasi.py)."""
import pytest

import wasi_support
from wasi_support import example, run_probe_wasmtime
from mp import wasi_probe

from mpwasi import wasi, wasi_abi

W = wasi_abi
DIR = W.RIGHTS_DIR
ALL = W.RIGHTS_DIR | W.RIGHTS_FILE
O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8

TREE = {"file.txt": b"0123456789", "dir": None, "dir/inner.txt": b"inner", "empty": None}


def op(path, oflags=0, rights=None, dirfd=3, save="f"):
    if rights is None:
        rights = DIR if oflags & O_DIRECTORY else ALL
    return {"call": "path_open", "args": [dirfd, 1, "s:" + path, oflags, rights, ALL, 0, "@out"],
            "save": save}


def c(name, *args, **extra):
    step = {"call": name, "args": list(args)}
    step.update(extra)
    return step


# name: (steps, expected, same as wasmtime)
CASES = {
    # bad fd
    "write to an unopened fd": ([c("fd_write", 99, "iov:x", "@out")], [W.EBADF], True),
    "read from an unopened fd": ([c("fd_read", 99, "riov:4", "@out")], [W.EBADF], True),
    "seek an unopened fd": ([c("fd_seek", 99, 0, 0, "@out")], [W.EBADF], True),
    "tell an unopened fd": ([c("fd_tell", 99, "@out")], [W.EBADF], True),
    "close an unopened fd": ([c("fd_close", 99)], [W.EBADF], True),
    "fdstat of an unopened fd": ([c("fd_fdstat_get", 99, "@out")], [W.EBADF], True),
    "filestat of an unopened fd": ([c("fd_filestat_get", 99, "@out")], [W.EBADF], True),
    "readdir of an unopened fd": ([c("fd_readdir", 99, 0x10000, 64, 0, "@out")], [W.EBADF], True),
    "prestat of an unopened fd": ([c("fd_prestat_get", 99, "@out")], [W.EBADF], True),
    "sync an unopened fd": ([c("fd_sync", 99)], [W.EBADF], True),
    "datasync an unopened fd": ([c("fd_datasync", 99)], [W.EBADF], True),
    "open under an unopened fd": ([op("file.txt", dirfd=99)], [W.EBADF], True),
    "renumber an unopened fd": ([c("fd_renumber", 99, 1)], [W.EBADF], True),
    "pread an unopened fd": ([c("fd_pread", 99, "riov:4", 0, "@out")], [W.EBADF], True),
    "pwrite an unopened fd": ([c("fd_pwrite", 99, "iov:x", 0, "@out")], [W.EBADF], True),
    "socket call on an unopened fd": ([c("sock_shutdown", 99, 0)], [W.EBADF], True),
    # closed fd
    "read a closed file": ([op("file.txt"), c("fd_close", "$f"), c("fd_read", "$f", "riov:4",
                                                                     "@out")],
                           [0, 0, W.EBADF], True),
    "close twice": ([op("file.txt"), c("fd_close", "$f"), c("fd_close", "$f")],
                    [0, 0, W.EBADF], True),
    "write to closed stdout": ([c("fd_close", 1), c("fd_write", 1, "iov:x", "@out")],
                               [0, W.EBADF], True),
    "open under a closed preopen": ([c("fd_close", 3), op("file.txt")], [0, W.EBADF], True),
    # wrong rights
    "write a read-only fd": ([op("file.txt", rights=W.R_FD_READ),
                              c("fd_write", "$f", "iov:x", "@out")], [0, W.EBADF], True),
    "read a write-only fd": ([op("file.txt", rights=W.R_FD_WRITE),
                              c("fd_read", "$f", "riov:4", "@out")], [0, W.EBADF], True),
    "pwrite a read-only fd": ([op("file.txt", rights=W.R_FD_READ | W.R_FD_SEEK),
                               c("fd_pwrite", "$f", "iov:x", 0, "@out")], [0, W.EBADF], True),
    "seek without the right": ([op("file.txt", rights=W.R_FD_READ),
                                c("fd_seek", "$f", 1, 0, "@out")], [0, W.ENOTCAPABLE], False),
    "tell without the right": ([op("file.txt", rights=W.R_FD_READ),
                                c("fd_tell", "$f", "@out")], [0, W.ENOTCAPABLE], False),
    "truncate a read-only fd": ([op("file.txt", rights=W.R_FD_READ),
                                 c("fd_filestat_set_size", "$f", 2)], [0, W.ENOTCAPABLE], False),
    "readdir without the right": ([op("dir", O_DIRECTORY, rights=W.R_PATH_OPEN),
                                   c("fd_readdir", "$f", 0x10000, 64, 0, "@out")],
                                  [0, W.ENOTCAPABLE], False),
    "mkdir without the right": ([c("fd_fdstat_set_rights", 3, DIR & ~W.R_PATH_CREATE_DIRECTORY,
                                   ALL), c("path_create_directory", 3, "s:new")],
                                [0, W.ENOTCAPABLE], False),
    "unlink without the right": ([c("fd_fdstat_set_rights", 3, DIR & ~W.R_PATH_UNLINK_FILE, ALL),
                                  c("path_unlink_file", 3, "s:file.txt")],
                                 [0, W.ENOTCAPABLE], False),
    "rights cannot be added": ([c("fd_fdstat_set_rights", 1, ALL, 0)], [W.ENOTCAPABLE], False),
    # directory vs file
    "read a directory": ([op("dir", O_DIRECTORY), c("fd_read", "$f", "riov:4", "@out")],
                         [0, W.EISDIR], False),  # POSIX read(2); wasmtime says EBADF
    "write a directory": ([c("fd_write", 3, "iov:x", "@out")], [W.EBADF], True),
    "open a file as a directory": ([op("file.txt", O_DIRECTORY)], [W.ENOTDIR], True),
    "open a file with a trailing slash": ([op("file.txt/")], [W.ENOTDIR], True),
    "open a directory for writing": ([op("dir")], [W.EISDIR], True),
    "rmdir a file": ([c("path_remove_directory", 3, "s:file.txt")], [W.ENOTDIR], True),
    "unlink a directory": ([c("path_unlink_file", 3, "s:dir")], [W.EISDIR], True),
    "mkdir over a file": ([c("path_create_directory", 3, "s:file.txt")], [W.EEXIST], True),
    "rename a directory over a file": ([c("path_rename", 3, "s:empty", 3, "s:file.txt")],
                                       [W.ENOTDIR], True),
    "rename a file over a directory": ([c("path_rename", 3, "s:file.txt", 3, "s:empty")],
                                       [W.EISDIR], True),
    "readdir a file": ([op("file.txt"), c("fd_readdir", "$f", 0x10000, 64, 0, "@out")],
                       [0, W.ENOTDIR], False),
    "create a directory with path_open": ([op("newdir", O_CREAT | O_DIRECTORY)], [W.EINVAL],
                                          True),
    "seek a directory": ([c("fd_seek", 3, 0, 0, "@out")], [W.EBADF], True),
    # non-empty directory
    "rmdir a non-empty directory": ([c("path_remove_directory", 3, "s:dir")], [W.ENOTEMPTY],
                                    True),
    "rename over a non-empty directory": ([c("path_rename", 3, "s:empty", 3, "s:dir")],
                                          [W.ENOTEMPTY], True),
    "rename a directory into itself": ([c("path_rename", 3, "s:dir", 3, "s:dir/sub")],
                                       [W.EINVAL], True),
    "rmdir an empty directory": ([c("path_remove_directory", 3, "s:empty")], [0], True),
    "rmdir the directory fd itself": ([c("path_remove_directory", 3, "s:.")], [W.EINVAL], True),
    # missing paths and existing ones
    "open a missing file": ([op("nope.txt")], [W.ENOENT], True),
    "unlink a missing file": ([c("path_unlink_file", 3, "s:nope.txt")], [W.ENOENT], True),
    "rmdir a missing directory": ([c("path_remove_directory", 3, "s:nope")], [W.ENOENT], True),
    "rename a missing file": ([c("path_rename", 3, "s:nope", 3, "s:other")], [W.ENOENT], True),
    "stat a missing file": ([c("path_filestat_get", 3, 1, "s:nope", "@out")], [W.ENOENT], True),
    "mkdir in a missing parent": ([c("path_create_directory", 3, "s:nope/sub")], [W.ENOENT],
                                  True),
    "exclusive create of an existing file": ([op("file.txt", O_CREAT | O_EXCL)], [W.EEXIST],
                                             True),
    "empty path": ([op("")], [W.ENOENT], True),
    # seeking, polling, names
    "seek before the start": ([op("file.txt"), c("fd_seek", "$f", -1, 0, "@out")],
                              [0, W.EINVAL], True),
    "seek with a bad whence": ([op("file.txt"), c("fd_seek", "$f", 0, 9, "@out")],
                               [0, W.EINVAL], False),
    "seek stdout": ([c("fd_seek", 1, 0, 0, "@out")], [W.ESPIPE], True),
    "pread stdin": ([c("fd_pread", 0, "riov:4", 0, "@out")], [W.ESPIPE], True),
    "poll nothing": ([c("poll_oneoff", 0x2000, 0x3000, 0, "@out")], [W.EINVAL], True),
    "preopen name into a short buffer": ([c("fd_prestat_dir_name", 3, 0x10000, 0)],
                                         [W.ENAMETOOLONG], True),
    "unknown clock": ([c("clock_time_get", 9, 0, "@out")], [W.EINVAL], False),
    "socket call on a file": ([c("sock_shutdown", 3, 0)], [W.ENOTSOCK], True),
    # links and times: on littlefs (the fourth entry) there are no links, and a file's time can only
    # be set to now
    "path_symlink": ([c("path_symlink", "s:file.txt", 3, "s:link")], [0], True, [W.ENOTSUP]),
    "path_symlink to an absolute path": ([c("path_symlink", "s:/etc", 3, "s:link")], [W.EPERM],
                                         True),
    "path_symlink over a file": ([c("path_symlink", "s:x", 3, "s:file.txt")], [W.EEXIST], True,
                                 [W.ENOTSUP]),
    "path_link": ([c("path_link", 3, 0, "s:file.txt", 3, "s:link")], [0], True, [W.ENOTSUP]),
    "path_link following links": ([c("path_link", 3, 1, "s:file.txt", 3, "s:link")], [W.EINVAL],
                                  True),
    "path_link to a directory": ([c("path_link", 3, 0, "s:dir", 3, "s:link")], [W.EPERM], True,
                                 [W.ENOTSUP]),
    "path_readlink of a file": ([c("path_readlink", 3, "s:file.txt", 0x10000, 64, "@out")],
                                [W.EINVAL], True),
    "path_readlink of nothing": ([c("path_readlink", 3, "s:missing", 0x10000, 64, "@out")],
                                 [W.ENOENT], True),
    "fd_filestat_set_times with nothing to set": ([c("fd_filestat_set_times", 3, 0, 0, 0)], [0],
                                                  True),
    "fd_filestat_set_times on stdout": ([c("fd_filestat_set_times", 1, 0, 0, 10)], [W.EBADF],
                                        True),
    "fd_filestat_set_times with MTIM and MTIM_NOW": (
        [op("file.txt"), c("fd_filestat_set_times", "$f", 0, 5, 12)], [0, W.EINVAL], True),
    "path_filestat_set_times with ATIM and ATIM_NOW": (
        [c("path_filestat_set_times", 3, 0, "s:file.txt", 5, 0, 3)], [W.EINVAL], True),
    "path_filestat_set_times to a given time": (
        [c("path_filestat_set_times", 3, 0, "s:file.txt", 5, 7, 5)], [0], True, [W.ENOTSUP]),
    "path_filestat_set_times to now": (
        [c("path_filestat_set_times", 3, 0, "s:file.txt", 0, 0, 10)], [0], True),
    "path_filestat_set_times of nothing": (
        [c("path_filestat_set_times", 3, 0, "s:missing", 0, 0, 10)], [W.ENOENT], True),
    "open with O_SYNC": ([{"call": "path_open", "args": [3, 1, "s:file.txt", 0, ALL, ALL, 16,
                                                         "@out"]}], [W.ENOTSUP], True),
    "proc_raise": ([c("proc_raise", 6)], [W.ENOSYS], False),
}


def attempts(names):
    return [{"name": n, "steps": CASES[n][0]} for n in names]


def make_host_tree(root):
    return wasi_support.make_host_tree(root, TREE)


def check(results, names, littlefs=False):
    assert [r["name"] for r in results] == list(names)
    for r in results:
        case = CASES[r["name"]]
        want = case[3] if littlefs and len(case) > 3 else case[1]
        assert r["outcomes"] == want, r["name"]


def test_errno_cases_on_cpython(tmp_path):
    names = sorted(CASES)
    wasm = open(example("wasi_probe"), "rb").read()
    roots = []

    def make_wasi():
        root = make_host_tree(tmp_path / ("case%d" % len(roots)))
        roots.append(root)
        return wasi.Wasi(["probe"], None, [(root, ".")])

    check(wasi_probe.run_attempts(wasm, make_wasi, attempts(names)), names)


def test_errno_cases_on_micropython_littlefs(tmp_path, micropython):
    names = sorted(CASES)
    tree = wasi_support.lfs_tree(TREE)
    # One littlefs image for all cases: keep the ones that change the tree last.
    changing = ["rmdir an empty directory"]
    names = [n for n in names if n not in changing] + changing
    result = wasi_support.run_mp_probe(tmp_path, tree, attempts(names))
    check(result["attempts"], names, littlefs=True)


@pytest.mark.parametrize("name", sorted(n for n in CASES if CASES[n][2]))
def test_errno_matches_wasmtime(name, tmp_path):
    root = make_host_tree(tmp_path / "root")
    result = run_probe_wasmtime(attempts([name]), root)
    assert result[0]["outcomes"] == CASES[name][1]
