"""WASI preview1 (`wasi_snapshot_preview1`) for mpwasi: host functions over a context holding the
arguments, the environment, the standard streams and the preopened directories, plus `run()`, which
runs a WASI command module and returns its exit status.

All 46 preview1 functions are importable. Real: args_*, environ_*, clock_res_get, clock_time_get,
random_get, fd_advise/allocate/close/datasync/fdstat_get/fdstat_set_flags/fdstat_set_rights/
filestat_get/filestat_set_size/filestat_set_times/pread/prestat_get/prestat_dir_name/pwrite/read/
readdir/renumber/seek/sync/tell/write, path_create_directory/filestat_get/filestat_set_times/link/
open/readlink/remove_directory/rename/symlink/unlink_file, poll_oneoff (clocks; stdin and files),
proc_exit, sched_yield. sock_* answer ENOTSOCK (EBADF for a bad fd): there are no sockets.
proc_raise answers ENOSYS. Where the file system has no links (littlefs) path_link and path_symlink
answer ENOTSUP, and file times can only be set to now (ENOTSUP for a given time).

Capabilities: a path is resolved only inside the directory fd it is relative to (each directory fd
is its own root): absolute paths and `..` past that root answer EPERM (as wasmtime). Symlinks are
resolved inside that root too (wasi_hostfs.py): a link whose target is absolute or climbs out,
directly or through a chain, answers EPERM when followed, a loop ELOOP; making a link with an
absolute target answers EPERM (as wasmtime; a relative one may be made, it is never followed out).
Rights are the ones asked for at path_open, cut to the directory's inheritable rights, and every
call checks the right it needs: reading or writing without the right answers EBADF (as POSIX for a
wrong access mode), any other missing right ENOTCAPABLE.
Host functions take raw bit patterns (HostFunc raw=True) and read and write the guest memory in place
with struct; a pointer or length outside the memory traps with "out of bounds memory access".
"""
from struct import pack_into, unpack_from  # (paged.install() rebinds these)
import sys

from . import compat
from .errors import Exit, LinkError, Trap
from .runtime import (HostFunc, Instance, Module, load_image, release, reserve_memory, prefetch_pages,
                      drop_prefetched)
from .wasi_abi import (
    CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME, CLOCK_REALTIME, CLOCK_THREAD_CPUTIME, EBADF, EINVAL,
    EISDIR, ENAMETOOLONG, ENOSYS, ENOTCAPABLE, ENOTSOCK, ESPIPE, ESUCCESS, FDFLAG_APPEND, FT_CHAR,
    FT_DIR, FT_FILE, Fd, RIGHTS_DIR, RIGHTS_FILE, RIGHTS_STDIO, R_FD_DATASYNC, R_FD_READ,
    R_FD_SEEK, R_FD_SYNC, R_FD_TELL, R_FD_WRITE, WasiErrno, from_host_errno, signed64)

TRAP_STATUS = 134  # exit status of a run that trapped (as wasmtime's command line: 128 + SIGABRT)

_OOB = "out of bounds memory access"

# The 46 functions, one "name/params/kind" a word (a single string costs a board far less heap
# than a table of tuples): params "i" i32, "I" i64; kind c: a Wasi method, f: in wasi_files.py, l: in
# wasi_links.py (each loaded only when a module imports one), n: ENOSYS, s: socket (no sockets:
# ENOTSOCK), x: proc_exit.
_FUNCTIONS = (
    "args_get/ii/c args_sizes_get/ii/c environ_get/ii/c environ_sizes_get/ii/c "
    "clock_res_get/ii/c clock_time_get/iIi/c fd_advise/iIIi/f fd_allocate/iII/f fd_close/i/c "
    "fd_datasync/i/c fd_fdstat_get/ii/c fd_fdstat_set_flags/ii/f fd_fdstat_set_rights/iII/f "
    "fd_filestat_get/ii/f fd_filestat_set_size/iI/f fd_filestat_set_times/iIIi/l "
    "fd_pread/iiiIi/f fd_prestat_get/ii/c fd_prestat_dir_name/iii/c fd_pwrite/iiiIi/f "
    "fd_read/iiii/c fd_readdir/iiiIi/f fd_renumber/ii/f fd_seek/iIii/c fd_sync/i/c "
    "fd_tell/ii/c fd_write/iiii/c path_create_directory/iii/f path_filestat_get/iiiii/f "
    "path_filestat_set_times/iiiiIIi/l path_link/iiiiiii/l path_open/iiiiiIIii/f "
    "path_readlink/iiiiii/l path_remove_directory/iii/f path_rename/iiiiii/f "
    "path_symlink/iiiii/l path_unlink_file/iii/f poll_oneoff/iiii/f proc_exit/i/x "
    "proc_raise/i/n sched_yield//c random_get/ii/c sock_accept/iii/s sock_recv/iiiiii/s "
    "sock_send/iiiii/s sock_shutdown/ii/s "
)


def signatures():
    """[(name, params)] of all 46 preview1 functions ("i" i32, "I" i64 per parameter)."""
    return [tuple(word.split("/")[:2]) for word in _FUNCTIONS.split()]


def _binary(stream):
    return getattr(stream, "buffer", stream)


class Wasi:
    """A WASI context: `imports()` gives the `wasi_snapshot_preview1` functions bound to it.

    args: the whole argv (argv[0] included); env: dict or list of "K=V"; dirs: list of
    (host_path, guest_name) preopened as fds 3, 4, ... (or a dict {guest: host}, or "HOST::GUEST"
    strings; see wasi_fs.preopen_list); stdin/stdout/stderr: binary streams
    (default: the process's)."""

    def __init__(self, args=(), env=None, dirs=None, stdin=None, stdout=None, stderr=None, fs=None):
        self.args = [_to_bytes(a) for a in args]
        if env is None:
            env = ()
        elif isinstance(env, dict):
            env = [k + "=" + v for k, v in env.items()]
        self.env = [_to_bytes(e) for e in env]
        self.fs = fs
        self.memory = None
        self._cpu_start = compat.monotonic_ns()
        self.fds = {
            0: Fd(FT_CHAR, RIGHTS_STDIO & ~R_FD_WRITE, 0,
                  handle=_binary(stdin if stdin is not None else sys.stdin)),
            1: Fd(FT_CHAR, RIGHTS_STDIO & ~R_FD_READ, 0,
                  handle=_binary(stdout if stdout is not None else sys.stdout)),
            2: Fd(FT_CHAR, RIGHTS_STDIO & ~R_FD_READ, 0,
                  handle=_binary(stderr if stderr is not None else sys.stderr)),
        }
        if dirs:
            from .wasi_fs import preopen_list

            if fs is None:
                self.fs = _default_fs()
            fd = 3
            for host, guest in preopen_list(dirs):
                root = self.fs.root(host)
                self.fds[fd] = Fd(FT_DIR, RIGHTS_DIR, RIGHTS_DIR | RIGHTS_FILE, path=root,
                                  preopen=_to_bytes(guest))
                fd += 1

    # --- binding to an instance ---------------------------------------------------------------
    def bind(self, instance):
        """Called by Instance() before the start function: finds the exported memory."""
        self.memory = instance.exports.get("memory")

    def imports(self, module=None):
        """{"wasi_snapshot_preview1": {name: HostFunc}}: all 46 preview1 functions, or with a
        Module only those it imports (each HostFunc costs heap on a board)."""
        wanted = None
        if module is not None:
            wanted = [imp[1] for imp in module.imports if imp[0] == "wasi_snapshot_preview1"]
        table = {}
        for word in _FUNCTIONS.split():
            name, params, kind = word.split("/")
            if wanted is not None and name not in wanted:
                continue
            types = tuple("i64" if c == "I" else "i32" for c in params)
            results = ("i32",)
            if kind == "x":
                fn, results = self.proc_exit, ()
            elif kind == "n":
                fn = _enosys
            elif kind == "s":
                fn = self._guarded(self._no_socket)
            elif kind == "f":
                from . import wasi_files

                fn = self._guarded(getattr(wasi_files, name), self)
            elif kind == "l":
                from . import wasi_links

                fn = self._guarded(getattr(wasi_links, name), self)
            else:
                fn = self._guarded(getattr(self, name))
            host = HostFunc(types, results, fn, raw=True, name=name)
            host.owner = self
            table[name] = host
        return {"wasi_snapshot_preview1": table}

    def _guarded(self, method, ctx=None):
        if ctx is not None:
            function = method

            def method(*args):
                return function(ctx, *args)

        def call(*args):
            try:
                return method(*args)
            except WasiErrno as e:
                return e.errno
            except OSError as e:
                return from_host_errno(e.args[0] if e.args else None)

        return call

    def close(self):
        """Closes the files the guest left open and flushes the output streams."""
        for fd, entry in list(self.fds.items()):
            if fd > 2 and entry.handle is not None:
                try:
                    entry.handle.close()
                except OSError:
                    pass
        self.fds = {}
        _flush(sys.stdout)
        _flush(sys.stderr)

    # --- memory access ------------------------------------------------------------------------
    def mem(self, ptr, n):
        """The memory bytearray, after checking that [ptr, ptr+n) lies inside it."""
        memory = self.memory
        if memory is None:
            raise Trap(_OOB)
        data = memory.data
        if ptr + n > len(data):
            raise Trap(_OOB)
        return data

    def put32(self, ptr, value):
        pack_into("<I", self.mem(ptr, 4), ptr, value)

    def put64(self, ptr, value):
        pack_into("<Q", self.mem(ptr, 8), ptr, value)

    def iovecs(self, iovs, count):
        m = self.mem(iovs, 8 * count)
        out = []
        for i in range(count):
            buf, n = unpack_from("<II", m, iovs + 8 * i)
            self.mem(buf, n)
            out.append((buf, n))
        return out

    # --- descriptors --------------------------------------------------------------------------
    def entry(self, fd, right=0):
        entry = self.fds.get(fd)
        if entry is None:
            raise WasiErrno(EBADF)
        if right and not entry.rights & right:
            raise WasiErrno(ENOTCAPABLE)
        return entry

    def io_entry(self, fd, right):
        """A descriptor to read or write: one opened without that access answers EBADF (as POSIX
        and the reference runtime do), a directory EISDIR (read) or EBADF (write)."""
        entry = self.fds.get(fd)
        if entry is None:
            raise WasiErrno(EBADF)
        if entry.kind == FT_DIR:
            raise WasiErrno(EISDIR if right == R_FD_READ else EBADF)
        if not entry.rights & right:
            raise WasiErrno(EBADF)
        return entry

    def _strings_get(self, items, ptrs, buf):
        total = 0
        for s in items:
            total += len(s) + 1
        self.mem(ptrs, 4 * len(items))
        m = self.mem(buf, total)
        for i, s in enumerate(items):
            pack_into("<I", m, ptrs + 4 * i, buf)
            n = len(s)
            m[buf:buf + n] = s
            m[buf + n] = 0
            buf += n + 1
        return ESUCCESS

    def _sizes_get(self, items, count_ptr, size_ptr):
        total = 0
        for s in items:
            total += len(s) + 1
        self.put32(count_ptr, len(items))
        self.put32(size_ptr, total)
        return ESUCCESS

    def args_get(self, argv, argv_buf):
        return self._strings_get(self.args, argv, argv_buf)

    def args_sizes_get(self, argc_ptr, size_ptr):
        return self._sizes_get(self.args, argc_ptr, size_ptr)

    def environ_get(self, environ, environ_buf):
        return self._strings_get(self.env, environ, environ_buf)

    def environ_sizes_get(self, count_ptr, size_ptr):
        return self._sizes_get(self.env, count_ptr, size_ptr)

    # --- clocks, randomness, scheduling ---------------------------------------------------------
    def now(self, clock_id):
        if clock_id == CLOCK_REALTIME:
            return compat.realtime_ns()
        if clock_id == CLOCK_MONOTONIC:
            return compat.monotonic_ns()
        if clock_id == CLOCK_PROCESS_CPUTIME or clock_id == CLOCK_THREAD_CPUTIME:
            # No CPU-time clock on a board: the time since this context was made stands in.
            return compat.monotonic_ns() - self._cpu_start
        raise WasiErrno(EINVAL)

    def clock_res_get(self, clock_id, out):
        if clock_id > CLOCK_THREAD_CPUTIME:
            raise WasiErrno(EINVAL)
        self.put64(out, 1000)  # microsecond clocks on both hosts
        return ESUCCESS

    def clock_time_get(self, clock_id, precision, out):
        self.mem(out, 8)
        self.put64(out, self.now(clock_id))
        return ESUCCESS

    def random_get(self, buf, length):
        m = self.mem(buf, length)
        while length > 0:
            n = min(length, 256)
            m[buf:buf + n] = compat.random_bytes(n)
            buf += n
            length -= n
        return ESUCCESS

    def _no_socket(self, fd, *rest):
        """sock_*: there are no sockets, so a valid fd is not one (ENOTSOCK)."""
        return ENOTSOCK if fd in self.fds else EBADF

    def sched_yield(self):
        return ESUCCESS

    def proc_exit(self, code):
        raise Exit(code)

    # --- descriptors: reading and writing --------------------------------------------------------
    def fd_write(self, fd, iovs, count, out):
        entry = self.io_entry(fd, R_FD_WRITE)
        vecs = self.iovecs(iovs, count)
        self.mem(out, 4)
        f = entry.handle
        if entry.flags & FDFLAG_APPEND and entry.kind == FT_FILE:
            f.seek(0, 2)
        written = self.write_vecs(f, vecs)
        if entry.kind == FT_CHAR:
            _flush(f)
        self.put32(out, written)
        return ESUCCESS

    def write_vecs(self, f, vecs):
        m = self.memory.data
        written = 0
        for buf, n in vecs:
            if n:
                w = f.write(memoryview(m)[buf:buf + n] if type(m) is bytearray else m[buf:buf + n])
                written += n if w is None else w
        return written

    def fd_read(self, fd, iovs, count, out):
        entry = self.io_entry(fd, R_FD_READ)
        vecs = self.iovecs(iovs, count)
        self.mem(out, 4)
        if entry.kind == FT_CHAR:
            total = self._read_stream(entry.handle, vecs)
        else:
            total = self.read_vecs(entry.handle, vecs)
        self.put32(out, total)
        return ESUCCESS

    def read_vecs(self, f, vecs):
        m = self.memory.data
        total = 0
        for buf, n in vecs:
            if not n:
                continue
            got = (f.readinto(memoryview(m)[buf:buf + n]) if type(m) is bytearray
                   else m.readinto(f.readinto, buf, n)) or 0
            total += got
            if got < n:
                break
        return total

    def _read_stream(self, stream, vecs):
        """Reads from a standard stream: returns what is there (a line at a time on a terminal)
        rather than waiting for the whole buffer to fill."""
        m = self.memory.data
        for buf, n in vecs:
            if not n:
                continue
            if not compat.MICROPYTHON:
                reader = getattr(stream, "readinto1", None) or stream.readinto
                return (reader(memoryview(m)[buf:buf + n]) if type(m) is bytearray
                        else m.readinto(reader, buf, n)) or 0
            got = 0
            while got < n:
                b = stream.read(1)
                if not b:
                    break
                m[buf + got] = b[0]
                got += 1
                if b[0] == 10:
                    break
            return got
        return 0

    def fd_seek(self, fd, offset, whence, out):
        entry = self.entry(fd)
        offset = signed64(offset)
        if entry.kind == FT_CHAR:
            raise WasiErrno(ESPIPE)
        if entry.kind == FT_DIR:
            raise WasiErrno(EBADF)
        right = R_FD_TELL if (offset == 0 and whence == 1) else R_FD_SEEK
        if not entry.rights & (right | R_FD_SEEK):
            raise WasiErrno(ENOTCAPABLE)
        self.mem(out, 8)
        f = entry.handle
        if whence == 0:
            target = offset
        elif whence == 1:
            target = f.tell() + offset
        elif whence == 2:
            target = compat.file_size(f) + offset
        else:
            raise WasiErrno(EINVAL)
        if target < 0 or target >= (1 << 63):
            raise WasiErrno(EINVAL)
        f.seek(target)
        self.put64(out, target)
        return ESUCCESS

    def fd_tell(self, fd, out):
        entry = self.entry(fd, R_FD_TELL)
        if entry.kind == FT_CHAR:
            raise WasiErrno(ESPIPE)
        if entry.kind == FT_DIR:
            raise WasiErrno(EBADF)
        self.put64(out, entry.handle.tell())
        return ESUCCESS

    def fd_close(self, fd):
        entry = self.entry(fd)
        del self.fds[fd]
        if fd > 2 and entry.handle is not None:
            entry.handle.close()
        return ESUCCESS

    def fd_sync(self, fd):
        return self._sync(fd, R_FD_SYNC)

    def fd_datasync(self, fd):
        return self._sync(fd, R_FD_DATASYNC)

    def _sync(self, fd, right):
        entry = self.entry(fd, right)
        if entry.kind == FT_FILE:
            self.fs.sync(entry.handle)
        elif entry.kind == FT_CHAR:
            _flush(entry.handle)
        return ESUCCESS

    # --- descriptors: status ------------------------------------------------------------------
    def fd_fdstat_get(self, fd, out):
        entry = self.entry(fd)
        pack_into("<BxHxxxxQQ", self.mem(out, 24), out, entry.kind, entry.flags,
                         entry.rights, entry.inheriting)
        return ESUCCESS

    def fd_prestat_get(self, fd, out):
        entry = self.fds.get(fd)
        if entry is None or entry.preopen is None:
            raise WasiErrno(EBADF)
        pack_into("<BxxxI", self.mem(out, 8), out, 0, len(entry.preopen))
        return ESUCCESS

    def fd_prestat_dir_name(self, fd, ptr, length):
        entry = self.fds.get(fd)
        if entry is None or entry.preopen is None:
            raise WasiErrno(EBADF)
        name = entry.preopen
        if length < len(name):
            raise WasiErrno(ENAMETOOLONG)
        m = self.mem(ptr, length)
        m[ptr:ptr + len(name)] = name
        return ESUCCESS

    # --- paths ----------------------------------------------------------------------------------
    # --- poll_oneoff ----------------------------------------------------------------------------

def _enosys(*args):
    return ENOSYS


def _default_fs():
    """The file-system backend of this interpreter: the VFS on MicroPython, the host's os on
    CPython (each module is loaded only where it is used)."""
    if compat.MICROPYTHON:
        from .wasi_fs import VfsFS

        return VfsFS()
    from .wasi_hostfs import HostFS

    return HostFS()


def _flush(stream):
    flush = getattr(stream, "flush", None)
    if flush is not None:
        try:
            flush()
        except (OSError, ValueError):
            pass


def _to_bytes(s):
    return s.encode("utf-8") if isinstance(s, str) else bytes(s)


# --- running a command ---------------------------------------------------------------------------
def read_module(path):
    """A module file's bytes without its custom sections (except "name", kept for backtraces): a
    2 MB module with debug sections loads in little more than its code needs. Two passes over the
    file: sizes first, then one buffer of exactly that size filled in place."""
    from .sections import file_sections
    with open(path, "rb") as f:
        header = f.read(8)
        if len(header) != 8:
            return header  # let the decoder report the truncation
        # (offset, length) of each kept section, id byte included
        keep = [(sec[1], sec[2]) for sec in file_sections(f) if sec[0] != 0 or sec[3] == b"name"]
        total = 8
        for _, length in keep:
            total += length
        data = bytearray(total)
        data[:8] = header
        at = 8
        for start, length in keep:
            f.seek(start)
            view = memoryview(data)[at:at + length]
            got = f.readinto(view)
            at += got or 0
            if got != length:
                return bytes(data[:at])  # truncated file: the decoder reports it
        return data


def print_trap(trap, stream=None):
    """Prints a trap's reason and its wasm backtrace (innermost frame first)."""
    out = stream if stream is not None else sys.stderr
    out.write("trap: %s\n" % (getattr(trap, "reason", None) or trap))
    frames = getattr(trap, "frames", None) or ()
    if frames:
        out.write("wasm backtrace:\n")
        for i, frame in enumerate(frames):
            index, name, offset = frame[0], frame[1], frame[2]
            label = name if name else "<unnamed>"
            where = "" if offset is None else " @ 0x%x" % offset
            out.write("  %d: func[%d] %s%s\n" % (i, index, label, where))


def host_imports(module, ctx, pins=None, trace_pins=False, pin_inputs=None, stdout=None,
                 stderr=None):
    """The imports of a module run with the WASI context ctx: the preview1 functions it imports,
    and when it imports "wiring" that module's functions (wiring.py, loaded only then) with the
    pins granted, the trace switch and the simulated bank's inputs."""
    imports = ctx.imports(module)
    for imp in module.imports:
        if imp[0] == "wiring":
            from . import wiring

            out = ctx.fds.get(1)
            hw = wiring.Wiring(pins, trace_pins, pin_inputs,
                               out.handle if out is not None else None,
                               stderr if stderr is not None else sys.stderr)
            imports.update(hw.imports(module))
            break
    return imports


def is_app(instance):
    """Whether an instance is an Arduino-style app (run by wiring.run_app): it exports a `loop`
    function, and no `_start`, or also `setup` or imports from "wiring" (the TinyGo apps of
    embedded-wasm-apps export `_start` too, an initialiser). A WASI command that happens to export
    a `loop` stays a command."""
    ex = instance.exports
    if not hasattr(ex.get("loop"), "call_bits"):
        return False
    if not hasattr(ex.get("_start"), "call_bits") or hasattr(ex.get("setup"), "call_bits"):
        return True
    for imp in instance.module.imports:
        if imp[0] == "wiring":
            return True
    return False


def run(path_or_bytes, args=(), env=None, dirs=None, limits=None, stdin=None, stdout=None,
        stderr=None, argv0=None, pins=None, loops=None, trace_pins=False, pin_inputs=None,
        image=None):
    """Runs a WASI command: decode, validate, instantiate with the WASI imports, call `_start`;
    or an Arduino-style app (is_app; wiring.run_app): setup once, then loop `loops`
    times (None: until Ctrl-C or a trap). pins, trace_pins, pin_inputs: the `wiring` imports'
    granted pins, trace switch and simulated inputs (see wiring.py).

    args are the guest's arguments after argv[0] (argv0: default the module file's name).
    Returns the exit status: 0 when `_start` returns (or the loops are done), n for proc_exit(n),
    TRAP_STATUS (134) after a trap (printed with its backtrace to stderr), 130 when Ctrl-C stops
    an app's loop. Decode, validation and link errors propagate.
    A module given by path with a load image beside it that matches its bytes (`mpwasi push` /
    `mpwasi run` put one there) is not decoded or validated again; image=False (or MPWASI_IMAGE=0)
    validates in full anyway."""
    decoded = None
    if isinstance(path_or_bytes, str):
        compat.collect()
        prefetch_pages()  # (a board: pages for a paged memory, before loading cuts up the heap)
        data = read_module(path_or_bytes)
        if argv0 is None:
            argv0 = path_or_bytes.rsplit("/", 1)[-1]
        decoded = load_image(path_or_bytes, data, image)
    else:
        data = path_or_bytes
    # On a small heap, decoding leaves it too fragmented for the linear memory's one large block:
    # hold a block that size while decoding, and give it back just before instantiating.
    reserve = reserve_memory(data, limits) if compat.MICROPYTHON and decoded is None else None
    try:
        module = Module(data, decoded)
    except BaseException:
        drop_prefetched()
        raise
    decoded = data = None
    release("validate", "binary", "opcodes")
    wasi = Wasi([argv0 or "main.wasm"] + list(args), env, dirs, stdin, stdout, stderr)
    try:
        try:
            imports = host_imports(module, wasi, pins, trace_pins, pin_inputs, stdout, stderr)
            reserve = None
            compat.collect()
            instance = Instance(module, imports, limits)
            drop_prefetched()  # (a dense memory took none)
            module = None
            start = instance.exports.get("_start")
            if is_app(instance):
                from . import wiring

                return wiring.run_app(instance, loops, stderr)
            if start is None:
                raise LinkError("module has no _start export (not a WASI command) and no "
                                "loop export (not an Arduino-style app)")
            start()
            return 0
        except Exit as e:
            return e.code
    except Trap as trap:
        _flush(wasi.fds.get(1).handle if wasi.fds.get(1) else None)
        err = stderr if stderr is not None else sys.stderr
        print_trap(trap, _text_stream(err))
        return TRAP_STATUS
    finally:
        drop_prefetched()
        wasi.close()


class _TextToBinary:
    def __init__(self, stream):
        self.stream = stream

    def write(self, s):
        self.stream.write(s.encode("utf-8"))


def _text_stream(stream):
    """A stream print_trap can write str to: binary streams get a small encoding wrapper."""
    try:
        stream.write("")
        return stream
    except TypeError:
        return _TextToBinary(stream)
