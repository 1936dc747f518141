"""File-system backends for the WASI layer: the one WASI code in wasi.py works over either.

HostFS (CPython, in wasi_hostfs.py, which builds on this module): a host directory through `os`,
every path resolved inside its preopen by hand and used through directory fds with O_NOFOLLOW.

VfsFS (MicroPython): the VFS (`os` of MicroPython): littlefs on a board's flash, a littlefs image on
the desktop, or VfsPosix on the unix port. littlefs has no links (link/symlink answer ENOTSUP); on a
VfsPosix mount any symlink on the path is refused (MicroPython cannot read links, so following one
could leave the preopen). That check is by name and the use by path: unlike HostFS it cannot stop a
directory being swapped for a link in between (MicroPython has no directory fds). That matters only
on the unix port over a host folder; littlefs has no links at all.

Both take host paths that wasi_files.py built from a preopen root plus checked components, and return
plain data; errors are OSError with the host's errno, which wasi.py translates.
"""
import os

from . import compat
from .wasi_abi import FT_BLOCK, FT_CHAR, FT_DIR, FT_FILE, FT_SOCKET, FT_SYMLINK, FT_UNKNOWN

_ERR = compat.host_errno_numbers()


def preopen_list(dirs):
    """Normalise the preopens a caller may give: [(host, guest), ...], a dict {guest: host}
    (as `--dir GUEST=HOST`), or strings "HOST" / "HOST::GUEST"."""
    if not dirs:
        return []
    if isinstance(dirs, dict):
        return [(dirs[g], g) for g in dirs]
    if isinstance(dirs, str):
        dirs = [dirs]
    out = []
    for d in dirs:
        if isinstance(d, str):
            if "::" in d:
                i = d.index("::")
                out.append((d[:i], d[i + 2:]))
            else:
                out.append((d, d))
        else:
            out.append((d[0], d[1]))
    return out


def filetype_of_mode(mode):
    kind = mode & 0xF000
    if kind == 0x4000:
        return FT_DIR
    if kind == 0x8000:
        return FT_FILE
    if kind == 0xA000:
        return FT_SYMLINK
    if kind == 0x2000:
        return FT_CHAR
    if kind == 0x6000:
        return FT_BLOCK
    if kind == 0xC000:
        return FT_SOCKET
    return FT_UNKNOWN


def join(base, name):
    if base.endswith("/"):
        return base + name
    return base + "/" + name


def synthetic_ino(path):
    """A stable non-zero inode number for file systems that have none (littlefs)."""
    return (hash(path) & 0x3FFFFFFF) | 1


class Escape(Exception):
    """A path would leave its preopen (through a symlink)."""


class Stat:
    """What fd_filestat_get / path_filestat_get report."""

    def __init__(self, filetype, size, ino, dev, nlink, atim, mtim, ctim):
        self.filetype = filetype
        self.size = size
        self.ino = ino
        self.dev = dev
        self.nlink = nlink
        self.atim = atim
        self.mtim = mtim
        self.ctim = ctim


def extend_with_zeros(f, size):
    """Grows an open file to `size` bytes with zeros (keeps the position)."""
    pos = f.tell()
    end = compat.file_size(f)
    if size > end:
        f.seek(end)
        zeros = bytes(min(512, size - end))
        while end < size:
            n = min(len(zeros), size - end)
            f.write(zeros if n == len(zeros) else zeros[:n])
            end += n
    f.seek(pos)


class VfsFS:
    """MicroPython's VFS: littlefs (boards, desktop images) or VfsPosix (unix port host folders)."""

    links = False  # no hard links or symlinks to make (see link/symlink below)

    def __init__(self):
        self._posix_roots = {}

    def root(self, host_path):
        path = host_path
        if not path.startswith("/"):
            cwd = os.getcwd()
            path = join(cwd, path) if path not in ("", ".") else cwd
        parts = []
        for name in path.split("/"):
            if name == "..":
                if parts:
                    parts.pop()
            elif name and name != ".":
                parts.append(name)
        path = "/" + "/".join(parts)
        st = self.stat(path)
        if st is None or st.filetype != FT_DIR:
            raise OSError(_ERR["ENOTDIR"], "not a directory: " + host_path)
        self._posix_roots[path] = self._on_posix(path)
        return path

    def _on_posix(self, path):
        """Whether `path` lives on a VfsPosix mount (where symlinks exist)."""
        try:
            import vfs

            mounts = vfs.mount()
        except Exception:
            return True
        best = None
        best_len = -1
        for mounted, point in mounts:
            p = point.rstrip("/")
            if (path == p or path.startswith(p + "/") or p == "") and len(p) > best_len:
                best, best_len = mounted, len(p)
        return best is None or type(best).__name__ == "VfsPosix"

    def confine(self, root, parts, follow_last):
        """root + parts (`..` resolved by name: littlefs has no links); on a VfsPosix mount any
        symlink on the way raises Escape (MicroPython cannot read links, so it cannot resolve them
        inside the preopen)."""
        names = []
        for name in parts:
            if name == "..":
                if not names:
                    raise Escape()
                names.pop()
            elif name and name != ".":
                names.append(name)
        path = root
        if not self._posix_roots.get(root, True):
            for name in names:
                path = join(path, name)
            return path
        exists = True
        for name in names:
            parent = path
            path = join(path, name)
            if exists:
                kind = None
                for entry in os.ilistdir(parent):
                    if entry[0] == name:
                        kind = entry[1]
                        break
                if kind is None:
                    exists = False
                elif kind == 0xA000:
                    raise Escape()
        return path

    def stat(self, path, follow=True):
        try:
            st = os.stat(path)
        except OSError as e:
            if e.args and e.args[0] == _ERR["ENOENT"]:
                return None
            raise
        return Stat(filetype_of_mode(st[0]), st[6], st[1] or synthetic_ino(path), st[2],
                    st[3] or 1, compat.epoch_s_to_ns(st[7]), compat.epoch_s_to_ns(st[8]),
                    compat.epoch_s_to_ns(st[9]))

    def fstat(self, f, path):
        st = self.stat(path)
        if st is None:
            st = Stat(FT_FILE, 0, synthetic_ino(path), 0, 1, 0, 0, 0)
        st.size = compat.file_size(f)
        return st

    def listdir(self, path):
        out = []
        for entry in os.ilistdir(path):
            name = entry[0]
            out.append((name, filetype_of_mode(entry[1]),
                        (len(entry) > 2 and entry[2]) or synthetic_ino(join(path, name))))
        return out

    def open(self, path, readable, writable, create, excl, trunc, follow):
        exists = self.stat(path) is not None
        if exists and excl:
            raise OSError(_ERR["EEXIST"], path)
        if not exists and not create:
            raise OSError(_ERR["ENOENT"], path)
        if trunc or not exists:
            if not writable:
                open(path, "wb").close()
                return open(path, "rb")
            return open(path, "w+b")
        return open(path, "r+b" if writable else "rb")

    def set_size(self, f, path, size):
        """littlefs files cannot be truncated in place: shrinking copies the kept part to a
        temporary file next to it and renames it over the original."""
        if size >= compat.file_size(f):
            extend_with_zeros(f, size)
            return f
        pos = f.tell()
        tmp = path + ".mpwasi-truncate"
        buf = bytearray(256)
        f.seek(0)
        with open(tmp, "wb") as out:
            left = size
            while left > 0:
                n = f.readinto(buf)
                if not n:
                    break
                n = min(n, left)
                out.write(buf if n == len(buf) else memoryview(buf)[:n])
                left -= n
        f.close()
        os.rename(tmp, path)
        f = open(path, "r+b")
        f.seek(pos)
        return f

    def sync(self, f):
        f.flush()

    def mkdir(self, path):
        os.mkdir(path)

    def rmdir(self, path):
        os.rmdir(path)

    def unlink(self, path):
        os.remove(path)

    def rename(self, old, new):
        os.rename(old, new)

    # littlefs has neither hard links nor symlinks, and MicroPython's VfsPosix cannot make them.
    def link(self, old, new):
        raise OSError(_ERR["EOPNOTSUPP"], "no hard links on this file system")

    def symlink(self, target, path):
        raise OSError(_ERR["EOPNOTSUPP"], "no symbolic links on this file system")

    def readlink(self, path):
        if self.stat(path) is None:
            raise OSError(_ERR["ENOENT"], path)
        raise OSError(_ERR["EINVAL"], "not a symbolic link")

    def set_times(self, path, f, atim, mtim, now):
        """littlefs2 (mounted with mtime=True) stamps a file with the current time when a handle
        opened for writing is closed, and offers no way to store any other time: so "now" is what
        it can set (and only for files), anything else answers ENOTSUP, as does a VfsPosix mount
        (MicroPython has no utime)."""
        st = self.stat(path)
        if st is None:
            raise OSError(_ERR["ENOENT"], path)
        if not now or st.filetype != FT_FILE or self._on_posix(path):
            raise OSError(_ERR["EOPNOTSUPP"], "this file system cannot set that time")
        open(path, "ab").close()
        if not self.stat(path).mtim:
            raise OSError(_ERR["EOPNOTSUPP"], "this file system keeps no times")
