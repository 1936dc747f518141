"""The file-system half of WASI preview1 (path_*, fd_readdir, fd_filestat_*, fd_pread/pwrite,
fd_allocate/advise/renumber, fd_fdstat_set_*) and poll_oneoff, as functions of a wasi.Wasi context.

wasi.py imports this module only when a guest imports one of these functions, so a program that
only prints (hello world) does not pay for it in a board's heap. See wasi.py for the rules (errnos,
capabilities, rights).
"""
from struct import pack_into, unpack_from  # (paged.install() rebinds these)

from . import compat
from . import wasi_fs
from .wasi_abi import (
    CLOCK_THREAD_CPUTIME, EBADF, EBUSY, EEXIST, EFBIG, EILSEQ, EINVAL, EISDIR, ELOOP, EMFILE,
    ENAMETOOLONG, ENOENT, ENOTCAPABLE, ENOTDIR, ENOTEMPTY, ENOTSUP, EPERM, ESPIPE, ESUCCESS,
    FDFLAG_APPEND, FDFLAG_DSYNC, FDFLAG_NONBLOCK, FDFLAG_RSYNC, FDFLAG_SYNC, FT_CHAR, FT_DIR,
    FT_FILE, FT_SYMLINK, FT_UNKNOWN, Fd, LOOKUP_SYMLINK_FOLLOW, MAX_FDS, O_CREAT, O_DIRECTORY,
    O_EXCL, O_TRUNC, RIGHTS_DIR, RIGHTS_FILE, R_FD_ADVISE, R_FD_ALLOCATE, R_FD_FDSTAT_SET_FLAGS,
    R_FD_FILESTAT_GET, R_FD_FILESTAT_SET_SIZE, R_FD_READ, R_FD_READDIR, R_FD_SEEK, R_FD_WRITE,
    R_PATH_CREATE_DIRECTORY, R_PATH_CREATE_FILE, R_PATH_FILESTAT_GET, R_PATH_FILESTAT_SET_SIZE,
    R_PATH_OPEN, R_PATH_REMOVE_DIRECTORY, R_PATH_RENAME_SOURCE, R_PATH_RENAME_TARGET,
    R_PATH_UNLINK_FILE, R_POLL_FD_READWRITE, WasiErrno)

PATH_MAX = 1024  # longest path accepted from the guest (ENAMETOOLONG past it)
NAME_MAX = 255  # longest path component
# A path that would leave its directory answers EPERM, as the reference runtime (wasmtime) does, so a
# C program prints the same message under both; ENOTCAPABLE stays for missing rights.
ESCAPE = EPERM


def dir_entry(ctx, fd, right):
    entry = ctx.fds.get(fd)
    if entry is None:
        raise WasiErrno(EBADF)
    if entry.kind != FT_DIR:
        raise WasiErrno(ENOTDIR)
    if right and not entry.rights & right:
        raise WasiErrno(ENOTCAPABLE)
    return entry

def _file_entry(ctx, fd, right):
    entry = ctx.entry(fd, right)
    if entry.kind == FT_DIR:
        raise WasiErrno(EISDIR)
    if entry.handle is None:
        raise WasiErrno(EBADF)
    return entry

def _add_fd(ctx, entry):
    fd = 3
    while fd in ctx.fds:
        fd += 1
    if fd >= MAX_FDS:
        raise WasiErrno(EMFILE)
    ctx.fds[fd] = entry
    return fd

# --- args and environment -----------------------------------------------------------------


def _name_bytes(name):
    """A directory entry's name as bytes; on CPython a name that is not UTF-8 comes back with the
    host's bytes (os.fsencode undoes the surrogate escapes)."""
    if not isinstance(name, str):
        return name
    try:
        return name.encode("utf-8")
    except UnicodeError:
        import os

        return os.fsencode(name)


def guest_text(ctx, ptr, length):
    """A path the guest passed, as text: NUL bytes answer EINVAL, bad UTF-8 EILSEQ, more than
    PATH_MAX bytes ENAMETOOLONG."""
    m = ctx.mem(ptr, length)
    if length > PATH_MAX:
        raise WasiErrno(ENAMETOOLONG)
    raw = bytes(m[ptr:ptr + length])
    if b"\0" in raw:
        raise WasiErrno(EINVAL)
    try:
        return raw.decode("utf-8")
    except UnicodeError:
        raise WasiErrno(EILSEQ)


def resolve(ctx, dir_entry, ptr, length, follow, slash_follows=False):
    """A guest path relative to a directory fd -> (host path, trailing slash).

    Each directory fd is the root of what it reaches: absolute paths, `..` past it and symlinks
    leading out answer ESCAPE (EPERM); empty components and `.` are skipped; components longer than
    NAME_MAX answer ENAMETOOLONG. The file system resolves `..` and links (the last component's
    only when `follow`, or when the path ends in a slash and `slash_follows`, as POSIX resolves
    "link/"); the host path it gives equals dir_entry.path when the path names the directory
    itself."""
    text = guest_text(ctx, ptr, length)
    if not text:
        raise WasiErrno(ENOENT)
    if text[0] == "/":
        raise WasiErrno(ESCAPE)
    parts = []
    for name in text.split("/"):
        if name == "" or name == ".":
            continue
        if len(name) > NAME_MAX:
            raise WasiErrno(ENAMETOOLONG)
        parts.append(name)
    trailing = text[-1] == "/" or text.endswith("/.") or text == "."
    if trailing and slash_follows:
        follow = True
    try:
        path = ctx.fs.confine(dir_entry.path, parts, follow)
    except wasi_fs.Escape:
        raise WasiErrno(ESCAPE)
    return path, trailing


def _positioned(ctx, fd, right, iovs, count, offset, out):
    """fd_pread/fd_pwrite's checks: (entry, iovecs, saved position) of a seekable file."""
    entry = ctx.io_entry(fd, right)
    if entry.kind != FT_FILE:
        raise WasiErrno(ESPIPE)
    if not entry.rights & R_FD_SEEK:
        raise WasiErrno(ENOTCAPABLE)
    if offset >= (1 << 63):
        raise WasiErrno(EINVAL)
    vecs = ctx.iovecs(iovs, count)
    ctx.mem(out, 4)
    return entry, vecs, entry.handle.tell()


def fd_pwrite(ctx, fd, iovs, count, offset, out):
    entry, vecs, pos = _positioned(ctx, fd, R_FD_WRITE, iovs, count, offset, out)
    f = entry.handle
    if offset > compat.file_size(f):
        entry.handle = f = ctx.fs.set_size(f, entry.path, offset)
    f.seek(offset)
    written = ctx.write_vecs(f, vecs)
    f.seek(pos)
    ctx.put32(out, written)
    return ESUCCESS


def fd_pread(ctx, fd, iovs, count, offset, out):
    entry, vecs, pos = _positioned(ctx, fd, R_FD_READ, iovs, count, offset, out)
    f = entry.handle
    f.seek(offset)
    total = ctx.read_vecs(f, vecs)
    f.seek(pos)
    ctx.put32(out, total)
    return ESUCCESS


def fd_renumber(ctx, fd, to):
    entry = ctx.entry(fd)
    target = ctx.entry(to)
    if fd == to:
        return ESUCCESS
    if to > 2 and target.handle is not None:
        target.handle.close()
    ctx.fds[to] = entry
    del ctx.fds[fd]
    return ESUCCESS


def fd_advise(ctx, fd, offset, length, advice):
    entry = ctx.entry(fd, R_FD_ADVISE)
    if entry.kind == FT_DIR:
        raise WasiErrno(EBADF)
    if advice > 5:
        raise WasiErrno(EINVAL)
    if entry.kind != FT_FILE:
        raise WasiErrno(ESPIPE)
    return ESUCCESS  # advice only: nothing to do


def fd_allocate(ctx, fd, offset, length):
    entry = _file_entry(ctx, fd, R_FD_ALLOCATE)
    if entry.kind != FT_FILE:
        raise WasiErrno(ESPIPE)
    if length == 0:
        raise WasiErrno(EINVAL)
    end = offset + length
    if end >= (1 << 63):
        raise WasiErrno(EFBIG)
    if end > compat.file_size(entry.handle):
        entry.handle = ctx.fs.set_size(entry.handle, entry.path, end)
    return ESUCCESS


def fd_fdstat_set_flags(ctx, fd, flags):
    entry = ctx.entry(fd, R_FD_FDSTAT_SET_FLAGS)
    if flags & ~(FDFLAG_APPEND | FDFLAG_NONBLOCK):
        raise WasiErrno(ENOTSUP)
    entry.flags = flags
    return ESUCCESS


def fd_fdstat_set_rights(ctx, fd, rights, inheriting):
    entry = ctx.entry(fd)
    if rights & ~entry.rights or inheriting & ~entry.inheriting:
        raise WasiErrno(ENOTCAPABLE)  # rights can only be dropped
    entry.rights = rights
    entry.inheriting = inheriting
    return ESUCCESS


def fd_filestat_get(ctx, fd, out):
    entry = ctx.entry(fd, R_FD_FILESTAT_GET)
    ctx.mem(out, 64)
    if entry.kind == FT_CHAR:
        st = wasi_fs.Stat(FT_CHAR, 0, 0, 0, 1, 0, 0, 0)
    elif entry.kind == FT_DIR:
        st = ctx.fs.stat(entry.path)
        if st is None:
            raise WasiErrno(ENOENT)
    else:
        st = ctx.fs.fstat(entry.handle, entry.path)
    _put_filestat(ctx, out, st)
    return ESUCCESS


def _put_filestat(ctx, out, st):
    pack_into("<QQBxxxxxxxQQQQQ", ctx.mem(out, 64), out, st.dev, st.ino, st.filetype,
                     st.nlink, st.size, st.atim, st.mtim, st.ctim)


def fd_filestat_set_size(ctx, fd, size):
    entry = _file_entry(ctx, fd, R_FD_FILESTAT_SET_SIZE)
    if entry.kind != FT_FILE:
        raise WasiErrno(EINVAL)
    if size >= (1 << 63):
        raise WasiErrno(EFBIG)
    entry.handle = ctx.fs.set_size(entry.handle, entry.path, size)
    return ESUCCESS


def fd_readdir(ctx, fd, buf, length, cookie, out):
    entry = ctx.entry(fd)
    if entry.kind != FT_DIR:
        raise WasiErrno(ENOTDIR)
    if not entry.rights & R_FD_READDIR:
        raise WasiErrno(ENOTCAPABLE)
    m = ctx.mem(buf, length)
    ctx.mem(out, 4)
    if cookie == 0 or entry.listing is None:
        here = ctx.fs.stat(entry.path)
        entries = [(".", FT_DIR, here.ino if here else 1), ("..", FT_DIR, 1)]
        entries.extend(ctx.fs.listdir(entry.path))
        entry.listing = entries
    entries = entry.listing
    used = 0
    header = bytearray(24)
    index = cookie
    while index < len(entries) and used < length:
        name, kind, ino = entries[index]
        name = _name_bytes(name)
        index += 1
        pack_into("<QQIBxxx", header, 0, index, ino, len(name), kind)
        n = min(24, length - used)
        m[buf + used:buf + used + n] = header[:n] if n < 24 else header
        used += n
        n = min(len(name), length - used)
        m[buf + used:buf + used + n] = name[:n] if n < len(name) else name
        used += n
    if index >= len(entries):
        entry.listing = None
    ctx.put32(out, used)
    return ESUCCESS


def path_open(ctx, dirfd, dirflags, path, path_len, oflags, rights, inheriting, fdflags,
              out):
    d = dir_entry(ctx, dirfd, R_PATH_OPEN)
    need = 0
    if oflags & O_CREAT:
        need |= R_PATH_CREATE_FILE
    if oflags & O_TRUNC:
        need |= R_PATH_FILESTAT_SET_SIZE
    if need & ~d.rights:
        raise WasiErrno(ENOTCAPABLE)
    if oflags & O_CREAT and oflags & O_DIRECTORY:
        raise WasiErrno(EINVAL)
    if fdflags & (FDFLAG_DSYNC | FDFLAG_RSYNC | FDFLAG_SYNC):
        raise WasiErrno(ENOTSUP)  # as wasmtime: no synchronous-write modes
    follow = dirflags & LOOKUP_SYMLINK_FOLLOW
    if oflags & O_CREAT and oflags & O_EXCL:
        follow = 0  # as POSIX: an exclusive create never goes through a link (EEXIST)
    host, trailing = resolve(ctx, d, path, path_len, follow, True)
    ctx.mem(out, 4)
    rights &= d.inheriting
    inheriting &= d.inheriting
    st = ctx.fs.stat(host, follow)
    if st is not None and oflags & O_CREAT and oflags & O_EXCL:
        raise WasiErrno(EEXIST)
    if st is not None and st.filetype == FT_SYMLINK:
        raise WasiErrno(ELOOP)  # not following: a link cannot be opened
    if st is not None and st.filetype == FT_DIR:
        if rights & R_FD_WRITE or oflags & O_TRUNC:
            raise WasiErrno(EISDIR)
        entry = Fd(FT_DIR, rights & RIGHTS_DIR, inheriting, path=host)
    else:
        if oflags & O_DIRECTORY or trailing:
            raise WasiErrno(ENOTDIR if st is not None else ENOENT)
        if st is None and not oflags & O_CREAT:
            raise WasiErrno(ENOENT)
        writable = rights & (R_FD_WRITE | R_FD_ALLOCATE | R_FD_FILESTAT_SET_SIZE) != 0
        readable = rights & R_FD_READ != 0
        if oflags & O_TRUNC and not writable:
            writable = True  # truncating needs a writable host file; rights still apply
        f = ctx.fs.open(host, readable, writable, oflags & O_CREAT, oflags & O_EXCL,
                         oflags & O_TRUNC, follow)
        kind = FT_FILE if st is None else st.filetype
        if kind == FT_UNKNOWN:
            kind = FT_FILE
        entry = Fd(kind, rights & RIGHTS_FILE, 0, path=host, handle=f)
        entry.flags = fdflags & (FDFLAG_APPEND | FDFLAG_NONBLOCK)
    try:
        fd = _add_fd(ctx, entry)
    except WasiErrno:
        if entry.handle is not None:
            entry.handle.close()
        raise
    ctx.put32(out, fd)
    return ESUCCESS


def path_create_directory(ctx, dirfd, path, path_len):
    d = dir_entry(ctx, dirfd, R_PATH_CREATE_DIRECTORY)
    host, trailing = resolve(ctx, d, path, path_len, False)
    if host == d.path or ctx.fs.stat(host, False) is not None:
        raise WasiErrno(EEXIST)
    ctx.fs.mkdir(host)
    return ESUCCESS


def path_remove_directory(ctx, dirfd, path, path_len):
    d = dir_entry(ctx, dirfd, R_PATH_REMOVE_DIRECTORY)
    host, trailing = resolve(ctx, d, path, path_len, False)
    if host == d.path:
        raise WasiErrno(EINVAL)  # the directory fd itself (as rmdir("."))
    st = ctx.fs.stat(host, False)
    if st is None:
        raise WasiErrno(ENOENT)
    if st.filetype == FT_SYMLINK and trailing:
        resolve(ctx, d, path, path_len, True)  # a link out answers EPERM, a loop ELOOP
        raise WasiErrno(EINVAL)  # "link/": as wasmtime, the link's target is not removed
    if st.filetype != FT_DIR:
        raise WasiErrno(ENOTDIR)
    if ctx.fs.listdir(host):
        raise WasiErrno(ENOTEMPTY)
    ctx.fs.rmdir(host)
    return ESUCCESS


def path_unlink_file(ctx, dirfd, path, path_len):
    d = dir_entry(ctx, dirfd, R_PATH_UNLINK_FILE)
    host, trailing = resolve(ctx, d, path, path_len, False, True)
    if host == d.path:
        raise WasiErrno(EISDIR)
    st = ctx.fs.stat(host, False)
    if st is None:
        raise WasiErrno(ENOENT)
    if st.filetype == FT_DIR:
        raise WasiErrno(EISDIR)
    if trailing:
        raise WasiErrno(ENOTDIR)
    ctx.fs.unlink(host)
    return ESUCCESS


def path_rename(ctx, fd, old, old_len, new_fd, new, new_len):
    d_old = dir_entry(ctx, fd, R_PATH_RENAME_SOURCE)
    d_new = dir_entry(ctx, new_fd, R_PATH_RENAME_TARGET)
    src, src_slash = resolve(ctx, d_old, old, old_len, False)
    dst, dst_slash = resolve(ctx, d_new, new, new_len, False)
    if src == d_old.path or dst == d_new.path:
        raise WasiErrno(EBUSY)
    st = ctx.fs.stat(src, False)
    if st is None:
        raise WasiErrno(ENOENT)
    target = ctx.fs.stat(dst, False)
    if st.filetype == FT_DIR:
        if dst == src:
            return ESUCCESS
        if dst.startswith(src + "/"):
            raise WasiErrno(EINVAL)  # into itself
        if target is not None:
            if target.filetype != FT_DIR:
                raise WasiErrno(ENOTDIR)
            if ctx.fs.listdir(dst):
                raise WasiErrno(ENOTEMPTY)
            ctx.fs.rmdir(dst)
    else:
        if src_slash or dst_slash:
            raise WasiErrno(ENOTDIR)
        if target is not None:
            if target.filetype == FT_DIR:
                raise WasiErrno(EISDIR)
            if dst == src:
                return ESUCCESS
            ctx.fs.unlink(dst)
    ctx.fs.rename(src, dst)
    return ESUCCESS


def path_filestat_get(ctx, dirfd, flags, path, path_len, out):
    d = dir_entry(ctx, dirfd, R_PATH_FILESTAT_GET)
    host, trailing = resolve(ctx, d, path, path_len, flags & LOOKUP_SYMLINK_FOLLOW, True)
    ctx.mem(out, 64)
    st = ctx.fs.stat(host, flags & LOOKUP_SYMLINK_FOLLOW)
    if st is None:
        raise WasiErrno(ENOENT)
    if trailing and st.filetype != FT_DIR:
        raise WasiErrno(ENOTDIR)
    _put_filestat(ctx, out, st)
    return ESUCCESS


def poll_oneoff(ctx, subs, events, count, out):
    if count == 0:
        raise WasiErrno(EINVAL)
    m = ctx.mem(subs, 48 * count)
    ctx.mem(events, 32 * count)
    ctx.mem(out, 4)
    now = compat.monotonic_ns()
    deadline = None
    clocks = []  # (userdata, deadline or None (bad clock))
    fds = []  # (userdata, type, fd)
    for i in range(count):
        base = subs + 48 * i
        userdata, tag = unpack_from("<QB", m, base)
        if tag == 0:
            clock_id, timeout, precision, flags = unpack_from("<I4xQQH", m, base + 16)
            if clock_id > CLOCK_THREAD_CPUTIME:
                clocks.append((userdata, None))
                continue
            if flags & 1:  # absolute time on that clock
                when = now + (timeout - ctx.now(clock_id))
            else:
                when = now + timeout
            clocks.append((userdata, when))
            if deadline is None or when < deadline:
                deadline = when
        else:
            fds.append((userdata, tag, unpack_from("<I", m, base + 16)[0]))
    ready = _poll_fds(ctx, fds, deadline)
    bad_clock = False
    for userdata, when in clocks:
        if when is None:
            bad_clock = True
    if not ready and not bad_clock and deadline is not None:
        compat.sleep_ns(deadline - compat.monotonic_ns())
    now = compat.monotonic_ns()
    for userdata, when in clocks:
        if when is None:
            ready.append((userdata, EINVAL, 0, 0))
        elif when <= now:
            ready.append((userdata, ESUCCESS, 0, 0))
    m = ctx.mem(events, 32 * len(ready))
    at = events
    for userdata, error, kind, nbytes in ready:
        pack_into("<QHBxxxxxQHxxxxxx", m, at, userdata, error, kind, nbytes, 0)
        at += 32
    ctx.put32(out, len(ready))
    return ESUCCESS


def _poll_fds(ctx, fds, deadline):
    """Events of the fd subscriptions that are ready now, waiting up to the deadline for stdin
    when stdin is all that could become ready."""
    ready = []
    waiting_stdin = None
    for userdata, tag, fd in fds:
        entry = ctx.fds.get(fd)
        if tag not in (1, 2):
            ready.append((userdata, EINVAL, tag, 0))
        elif entry is None:
            ready.append((userdata, EBADF, tag, 0))
        elif not entry.rights & (R_POLL_FD_READWRITE | R_FD_READ | R_FD_WRITE):
            ready.append((userdata, ENOTCAPABLE, tag, 0))
        elif entry.kind == FT_FILE:
            n = 0
            if tag == 1:
                f = entry.handle
                n = max(0, compat.file_size(f) - f.tell())
            ready.append((userdata, ESUCCESS, tag, n))
        elif entry.kind == FT_CHAR and tag == 1:
            waiting_stdin = (userdata, entry.handle)
        else:
            ready.append((userdata, ESUCCESS if entry.kind == FT_CHAR else EBADF, tag, 0))
    if waiting_stdin is not None:
        timeout = 0
        if not ready:
            timeout = None if deadline is None else max(0, deadline - compat.monotonic_ns())
        if _stream_readable(waiting_stdin[1], timeout):
            ready.append((waiting_stdin[0], ESUCCESS, 1, 1))
    return ready

def _stream_readable(stream, timeout_ns):
    """Whether a stream has input within timeout_ns (None: wait for it). A stream the host cannot
    poll counts as readable."""
    try:
        if compat.MICROPYTHON:
            import select

            poller = select.poll()
            poller.register(stream, select.POLLIN)
            ms = -1 if timeout_ns is None else timeout_ns // 1000000
            return bool(poller.poll(ms))
        import select

        fileno = stream.fileno()
        r, _, _ = select.select([fileno], [], [], None if timeout_ns is None else timeout_ns / 1e9)
        return bool(r)
    except (AttributeError, OSError, ValueError, TypeError):
        return True
