"""The links-and-times part of WASI preview1: fd_filestat_set_times, path_filestat_set_times,
path_link, path_symlink and path_readlink, as functions of a wasi.Wasi context. wasi.py loads this
module only when a guest imports one of them (most programs do not), so a board pays for it only
then. Paths are resolved by wasi_files.resolve, with the same rules (see wasi.py).
"""
from . import compat
from .wasi_abi import (
    EBADF, EEXIST, EINVAL, ENOENT, ENOTCAPABLE, ENOTDIR, ENOTSUP, EPERM, ESUCCESS, FST_ATIM,
    FST_ATIM_NOW, FST_MTIM, FST_MTIM_NOW, FT_CHAR, FT_DIR, LOOKUP_SYMLINK_FOLLOW,
    R_FD_FILESTAT_SET_TIMES, R_PATH_FILESTAT_SET_TIMES, R_PATH_LINK_SOURCE, R_PATH_LINK_TARGET,
    R_PATH_READLINK, R_PATH_SYMLINK, WasiErrno)
from .wasi_files import ESCAPE, dir_entry, guest_text, resolve


def _times(atim, mtim, flags):
    """The (atim, mtim, now) fstflags ask for: ns or None (keep), and whether they are all "now".
    A time given both as a value and as now, or an unknown flag, answers EINVAL."""
    if flags & ~(FST_ATIM | FST_ATIM_NOW | FST_MTIM | FST_MTIM_NOW):
        raise WasiErrno(EINVAL)
    if flags & FST_ATIM and flags & FST_ATIM_NOW or flags & FST_MTIM and flags & FST_MTIM_NOW:
        raise WasiErrno(EINVAL)
    now = compat.realtime_ns() if flags & (FST_ATIM_NOW | FST_MTIM_NOW) else None
    a = atim if flags & FST_ATIM else (now if flags & FST_ATIM_NOW else None)
    m = mtim if flags & FST_MTIM else (now if flags & FST_MTIM_NOW else None)
    return a, m, bool(flags & FST_MTIM_NOW) and not flags & (FST_ATIM | FST_MTIM)


def fd_filestat_set_times(ctx, fd, atim, mtim, flags):
    a, m, now = _times(atim, mtim, flags)
    entry = ctx.fds.get(fd)
    if entry is None or entry.kind == FT_CHAR:
        raise WasiErrno(EBADF)  # as wasmtime for the standard streams
    if not entry.rights & R_FD_FILESTAT_SET_TIMES:
        raise WasiErrno(ENOTCAPABLE)
    if a is not None or m is not None:
        ctx.fs.set_times(entry.path, entry.handle, a, m, now)
    return ESUCCESS


def path_filestat_set_times(ctx, dirfd, flags, path, path_len, atim, mtim, fstflags):
    d = dir_entry(ctx, dirfd, R_PATH_FILESTAT_SET_TIMES)
    a, m, now = _times(atim, mtim, fstflags)
    host, trailing = resolve(ctx, d, path, path_len, flags & LOOKUP_SYMLINK_FOLLOW, True)
    if a is None and m is None:
        return ESUCCESS  # nothing to set (as utimensat with both omitted)
    if trailing:
        st = ctx.fs.stat(host, False)
        if st is not None and st.filetype != FT_DIR:
            raise WasiErrno(ENOTDIR)
    ctx.fs.set_times(host, None, a, m, now)
    return ESUCCESS


def path_link(ctx, old_fd, old_flags, old, old_len, new_fd, new, new_len):
    d_old = dir_entry(ctx, old_fd, R_PATH_LINK_SOURCE)
    d_new = dir_entry(ctx, new_fd, R_PATH_LINK_TARGET)
    if old_flags & LOOKUP_SYMLINK_FOLLOW:
        raise WasiErrno(EINVAL)  # as wasmtime: a link is made to the name, never through it
    src, src_slash = resolve(ctx, d_old, old, old_len, False)
    dst, dst_slash = resolve(ctx, d_new, new, new_len, False)
    if not ctx.fs.links:
        raise WasiErrno(ENOTSUP)
    st = ctx.fs.stat(src, False)
    if st is None:
        raise WasiErrno(ENOENT)
    if ctx.fs.stat(dst, False) is not None:
        raise WasiErrno(EEXIST)
    if st.filetype == FT_DIR:
        raise WasiErrno(EPERM)  # no hard links to directories
    if src_slash:
        raise WasiErrno(ENOTDIR)
    if dst_slash:
        raise WasiErrno(ENOENT)
    ctx.fs.link(src, dst)
    return ESUCCESS


def path_symlink(ctx, old, old_len, fd, new, new_len):
    d = dir_entry(ctx, fd, R_PATH_SYMLINK)
    target = guest_text(ctx, old, old_len)
    dst, slash = resolve(ctx, d, new, new_len, False)
    if target.startswith("/"):
        raise WasiErrno(ESCAPE)  # as wasmtime: an absolute link could only lead out
    if not target:
        raise WasiErrno(ENOENT)
    if not ctx.fs.links:
        raise WasiErrno(ENOTSUP)
    st = ctx.fs.stat(dst, False)
    if st is not None:
        raise WasiErrno(ENOTDIR if slash and st.filetype != FT_DIR else EEXIST)
    if slash:
        raise WasiErrno(ENOENT)
    ctx.fs.symlink(target, dst)
    return ESUCCESS


def path_readlink(ctx, fd, path, path_len, buf, buf_len, out):
    d = dir_entry(ctx, fd, R_PATH_READLINK)
    host, slash = resolve(ctx, d, path, path_len, False, True)
    m = ctx.mem(buf, buf_len)
    ctx.mem(out, 4)
    if slash:
        st = ctx.fs.stat(host, False)
        if st is not None and st.filetype != FT_DIR:
            raise WasiErrno(ENOTDIR)
    target = ctx.fs.readlink(host)
    if target.startswith(b"/"):
        raise WasiErrno(ESCAPE)  # as wasmtime: an absolute target is not shown
    n = min(len(target), buf_len)
    m[buf:buf + n] = target[:n]
    ctx.put32(out, n)
    return ESUCCESS
