"""The CPython backend of the WASI file system: a host directory through the `os` module, confined
to its preopen with directory fds and O_NOFOLLOW (see HostFS). Loaded only on CPython, so a board
never pays for it; wasi_fs.py has the shared pieces and the MicroPython backend.
"""
import os

from . import compat
from .wasi_abi import FT_DIR, FT_FILE, FT_SYMLINK, FT_UNKNOWN
from .wasi_fs import Escape, Stat, extend_with_zeros, filetype_of_mode, join

_ERR = compat.host_errno_numbers()
MAX_SYMLINKS = 40  # links followed in one path before ELOOP (as Linux)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | _O_DIRECTORY | os.O_NOFOLLOW | _O_CLOEXEC


class HostFS:
    """A host directory on CPython.

    confine() resolves a guest path inside its preopen the way the kernel would, but by hand: each
    symlink on the way is read and its target resolved from the link's own directory, and a target
    that is absolute, or climbs with `..` past the preopen's root (directly or through a chain of
    links), raises Escape; more than MAX_SYMLINKS links answer ELOOP. What it returns is a host path
    none of whose directories is a link. Every operation then walks that path again from the preopen's
    root, a directory at a time with O_NOFOLLOW | O_DIRECTORY on the directory fd of the one before,
    and acts on the last name relative to its parent's fd, never following a link there: a directory
    swapped for a symlink between the check and the use makes the walk fail (ELOOP or ENOTDIR)
    instead of leading out. So the check and the use are the same walk, and nothing outside the
    preopen is reached even while the guest (or anyone) changes the tree under it."""

    links = True  # hard links and symlinks exist

    def __init__(self):
        self._roots = []

    def root(self, host_path):
        real = os.path.realpath(host_path)
        if not os.path.isdir(real):
            raise OSError(_ERR["ENOTDIR"], "not a directory: " + host_path)
        if real not in self._roots:
            self._roots.append(real)
        return real

    def _inside(self, root, real):
        return real == root or real.startswith(root if root.endswith("/") else root + "/")

    def confine(self, root, parts, follow_last):
        """root + parts (names, `..` among them) as a host path, links resolved inside root (the
        last one only when follow_last); raises Escape for a way out, OSError ELOOP for a loop,
        ENOENT / ENOTDIR where a directory on the way is missing or is not one."""
        todo = list(parts)
        todo.reverse()
        done = []
        hops = 0
        broken = None  # errno of a missing or non-directory component that more names follow
        while todo:
            name = todo.pop()
            if name == "." or name == "":
                continue
            if name == "..":
                if not done:
                    raise Escape()
                done.pop()
                continue
            done.append(name)
            if broken is not None or (not todo and not follow_last):
                continue
            here = join(root, "/".join(done))
            try:
                mode = os.lstat(here).st_mode
            except OSError as e:
                if todo:
                    broken = e.errno
                continue
            kind = mode & 0xF000
            if kind == 0xA000:
                hops += 1
                if hops > MAX_SYMLINKS:
                    raise OSError(_ERR["ELOOP"], "too many levels of symbolic links")
                target = os.readlink(here)
                if target.startswith("/"):
                    raise Escape()
                done.pop()
                names = target.split("/")
                names.reverse()
                todo.extend(names)
            elif kind != 0x4000 and todo:
                broken = _ERR["ENOTDIR"]
        if broken is not None:
            raise OSError(broken, "no such directory")
        return join(root, "/".join(done)) if done else root

    def _root_of(self, path):
        best = None
        for r in self._roots:
            if self._inside(r, path) and (best is None or len(r) < len(best)):
                best = r
        if best is None:
            raise OSError(_ERR["EPERM"], "outside every preopen: " + path)
        return best

    def _walk(self, path):
        """(directory fd of path's parent, path's last name): opened from the outermost preopen
        holding path, one directory at a time, never following a link. The caller closes it."""
        root = self._root_of(path)
        fd = os.open(root, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
        rest = path[len(root):].strip("/")
        if not rest:
            return fd, "."
        names = rest.split("/")
        try:
            for name in names[:-1]:
                sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = sub
        except BaseException:
            os.close(fd)
            raise
        return fd, names[-1]

    def _stat_of(self, st):
        return Stat(filetype_of_mode(st.st_mode), st.st_size, st.st_ino, st.st_dev, st.st_nlink,
                    st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)

    def stat(self, path, follow=True):
        """The path's own status (None if it does not exist): confine() has already resolved the
        links the guest asked to follow, so the last name is never followed here."""
        fd, name = self._walk_or_none(path)
        if fd is None:
            return None
        try:
            return self._stat_of(os.stat(name, dir_fd=fd, follow_symlinks=False))
        except FileNotFoundError:
            return None
        finally:
            os.close(fd)

    def _walk_or_none(self, path):
        try:
            return self._walk(path)
        except FileNotFoundError:
            return None, None

    def fstat(self, f, path):
        return self._stat_of(os.fstat(f.fileno()))

    def listdir(self, path):
        fd, name = self._walk(path)
        try:
            dfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
        finally:
            os.close(fd)
        out = []
        try:
            with os.scandir(dfd) as it:
                for e in it:
                    if e.is_symlink():
                        ft = FT_SYMLINK
                    elif e.is_dir(follow_symlinks=False):
                        ft = FT_DIR
                    elif e.is_file(follow_symlinks=False):
                        ft = FT_FILE
                    else:
                        ft = FT_UNKNOWN
                    out.append((e.name, ft, e.inode()))
        finally:
            os.close(dfd)
        return out

    def open(self, path, readable, writable, create, excl, trunc, follow):
        if writable:
            flags = os.O_RDWR if readable else os.O_WRONLY
        else:
            flags = os.O_RDONLY
        if create:
            flags |= os.O_CREAT
        if excl:
            flags |= os.O_EXCL
        if trunc:
            flags |= os.O_TRUNC
        flags |= os.O_NOFOLLOW | _O_CLOEXEC  # confine() followed what the guest asked to
        fd, name = self._walk(path)
        try:
            handle = os.open(name, flags, 0o644, dir_fd=fd)
        finally:
            os.close(fd)
        mode = ("r+b" if readable else "wb") if writable else "rb"
        return os.fdopen(handle, mode, buffering=0)

    def set_size(self, f, path, size):
        if size > compat.file_size(f):
            extend_with_zeros(f, size)
        else:
            f.truncate(size)
        return f

    def sync(self, f):
        f.flush()
        os.fsync(f.fileno())

    def _at(self, path, fn):
        fd, name = self._walk(path)
        try:
            return fn(name, fd)
        finally:
            os.close(fd)

    def _at2(self, old, new, fn):
        fd, name = self._walk(old)
        try:
            fd2, name2 = self._walk(new)
            try:
                return fn(name, fd, name2, fd2)
            finally:
                os.close(fd2)
        finally:
            os.close(fd)

    def mkdir(self, path):
        self._at(path, lambda name, fd: os.mkdir(name, dir_fd=fd))

    def rmdir(self, path):
        self._at(path, lambda name, fd: os.rmdir(name, dir_fd=fd))

    def unlink(self, path):
        self._at(path, lambda name, fd: os.unlink(name, dir_fd=fd))

    def rename(self, old, new):
        self._at2(old, new, lambda a, fa, b, fb: os.rename(a, b, src_dir_fd=fa, dst_dir_fd=fb))

    def link(self, old, new):
        """A hard link new -> old's inode; a symlink at old is linked itself, not followed."""
        self._at2(old, new, lambda a, fa, b, fb: os.link(a, b, src_dir_fd=fa, dst_dir_fd=fb,
                                                         follow_symlinks=False))

    def symlink(self, target, path):
        self._at(path, lambda name, fd: os.symlink(target, name, dir_fd=fd))

    def readlink(self, path):
        return os.fsencode(self._at(path, lambda name, fd: os.readlink(name, dir_fd=fd)))

    def set_times(self, path, f, atim, mtim, now):
        """Sets the access and modification times (ns; None keeps one) of the open file f, or else
        of path itself (a link is not followed)."""
        if f is not None and hasattr(f, "fileno"):
            st = os.fstat(f.fileno())
            target = f.fileno()
            os.utime(target, ns=(st.st_atime_ns if atim is None else atim,
                                 st.st_mtime_ns if mtim is None else mtim))
            return

        def touch(name, fd):
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            os.utime(name, ns=(st.st_atime_ns if atim is None else atim,
                               st.st_mtime_ns if mtim is None else mtim),
                     dir_fd=fd, follow_symlinks=False)

        self._at(path, touch)
