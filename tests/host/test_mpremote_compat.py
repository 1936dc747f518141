"""The virtual board speaks the serial protocol of a board: the real ``mpremote`` works on it unchanged.

Each test runs ``python -m mpremote connect <port> ...`` as a user would (which soft-resets the board
and uses raw-paste mode for every command).
"""

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from host_tools.virtual_board import SimProcess


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimProcess("rpi_pico", data_dir=tmp_path_factory.mktemp("vb")) as s:
        yield s


def mpremote(port, *args, check=True, timeout=60):
    r = subprocess.run([sys.executable, "-m", "mpremote", "connect", port] + list(args),
                       capture_output=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("mpremote %s failed (%d): %s %s" % (args, r.returncode, r.stdout, r.stderr))
    return r


def test_exec_prints_output(sim):
    assert mpremote(sim.port, "exec", "print('hello from', 6 * 7)").stdout.strip() == b"hello from 42"


def test_eval_returns_value(sim):
    assert mpremote(sim.port, "eval", "[1, 2] * 2").stdout.strip() == b"[1, 2, 1, 2]"


def test_exec_error_is_reported_with_board_traceback(sim):
    r = mpremote(sim.port, "exec", "1/0", check=False)
    assert r.returncode != 0
    assert b"ZeroDivisionError" in r.stdout + r.stderr


def test_mkdir_cp_both_ways_ls_rm(sim, tmp_path):
    data = os.urandom(20000) + b"\n\r\n\x00\x03\x04 end"
    src = tmp_path / "blob.bin"
    src.write_bytes(data)
    mpremote(sim.port, "mkdir", ":d1")
    mpremote(sim.port, "cp", str(src), ":d1/blob.bin")
    listing = mpremote(sim.port, "ls", ":d1").stdout
    assert b"blob.bin" in listing and str(len(data)).encode() in listing
    back = tmp_path / "back.bin"
    mpremote(sim.port, "cp", ":d1/blob.bin", str(back))
    assert back.read_bytes() == data
    mpremote(sim.port, "rm", ":d1/blob.bin")
    assert b"blob.bin" not in mpremote(sim.port, "ls", ":d1").stdout
    mpremote(sim.port, "rmdir", ":d1")
    assert b"d1" not in mpremote(sim.port, "ls", ":").stdout


def test_run_local_script(sim, tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import sys\nprint('ran', sys.implementation.name)\n")
    assert mpremote(sim.port, "run", str(script)).stdout.strip() == b"ran micropython"


def test_soft_reset_clears_ram_keeps_files(sim):
    mpremote(sim.port, "exec", "open('keep.txt', 'w').write('kept')")
    # resume: no soft reset before exec, so the variable set here would survive without one
    mpremote(sim.port, "exec", "marker = 123", "+", "resume", "exec", "print(marker)")
    r = mpremote(sim.port, "soft-reset", "+", "resume", "exec", "print('marker' in globals())")
    assert r.stdout.strip().endswith(b"False")
    assert mpremote(sim.port, "exec", "print(open('keep.txt').read())").stdout.strip() == b"kept"


class Terminal:
    """A command run on a pseudo-terminal (as in a user's terminal), with read-until."""

    def __init__(self, argv, env=None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            if env:
                os.environ.update(env)
            os.execv(argv[0], argv)
        self.out = b""

    def read_until(self, token, limit=30.0, count=1):
        """True once ``token`` has been seen ``count`` times in everything read so far."""
        end = time.monotonic() + limit
        while self.out.count(token) < count and time.monotonic() < end:
            r, _, _ = select.select([self.fd], [], [], 0.5)
            if r:
                try:
                    self.out += os.read(self.fd, 4096)
                except OSError:
                    break
        return self.out.count(token) >= count

    def write(self, b):
        os.write(self.fd, b)

    def wait(self):
        """The exit status, or None if it was killed by a signal."""
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        return os.WEXITSTATUS(status) if os.WIFEXITED(status) else None

    def close(self):
        if self.pid is not None:
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
        os.close(self.fd)


def test_repl_in_a_terminal(sim):
    """`mpremote repl` needs a terminal: run it on a pty, type an expression, leave with Ctrl-]."""
    t = Terminal([sys.executable, "-m", "mpremote", "connect", sim.port, "repl"])
    try:
        assert t.read_until(b"Ctrl-]"), t.out
        t.write(b"\r")
        assert t.read_until(b">>> "), t.out
        t.write(b"6 * 7\r")
        assert t.read_until(b"42"), t.out
        t.write(b"\x1d")
        assert t.wait() == 0
    finally:
        t.close()
