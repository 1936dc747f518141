"""`mpwasi boards`, `mpwasi repl` and `mpwasi sim` (foreground) against the virtual board."""

import json
import os
from repo_paths import REPO_ROOT
import select
import signal
import subprocess
import sys
import time

import pytest

from host_tools.virtual_board import SimProcess
from test_mpremote_compat import Terminal
from test_run import finish, wat

CLI = [sys.executable, "-m", "host_tools.cli"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimProcess("rpi_pico", data_dir=tmp_path_factory.mktemp("vb")) as s:
        yield s


def test_boards_lists_the_running_virtual_board(sim):
    r = subprocess.run(CLI + ["boards", "--json"], capture_output=True, text=True, env=sim.env, timeout=120)
    assert r.returncode == 0, r.stderr
    recs = [b for b in json.loads(r.stdout) if b["virtual"]]
    assert len(recs) == 1
    b = recs[0]
    assert b["port"] == sim.port and b["profile"] == "rpi_pico"
    assert b["micropython"].startswith("v1.") and b["heap"] > 400000
    assert b["float_bits"] == 64 and "engine" in b
    r = subprocess.run(CLI + ["boards"], capture_output=True, text=True, env=sim.env, timeout=120)
    assert sim.port in r.stdout and "MicroPython v1." in r.stdout


def test_boards_without_a_running_virtual_board_says_it_starts_on_demand(tmp_path):
    env = dict(os.environ, MPWASI_DATA_DIR=str(tmp_path))
    r = subprocess.run(CLI + ["boards", "--json"], capture_output=True, text=True, env=env, timeout=120)
    recs = [b for b in json.loads(r.stdout) if b["virtual"]]
    assert recs and recs[0]["port"] is None and "on demand" in recs[0]["state"]


def test_repl_shows_banner_runs_code_and_leaves_with_ctrl_bracket(sim):
    t = Terminal(CLI + ["repl", "--port", sim.port], env=sim.env)
    try:
        assert t.read_until(b"leave with Ctrl-]"), t.out
        assert t.read_until(b"rpi_pico profile"), t.out      # Ctrl-B on connect shows the banner
        assert t.read_until(b">>> "), t.out
        t.write(b"print('in', 'repl')\r")
        assert t.read_until(b"in repl"), t.out
        t.write(b"\x1d")
        assert t.wait() == 0
    finally:
        t.close()


def test_sim_in_the_foreground_prints_its_port_and_stops_on_ctrl_c(tmp_path):
    env = dict(os.environ, MPWASI_DATA_DIR=str(tmp_path))
    p = subprocess.Popen(CLI + ["sim", "--flash", str(tmp_path / "fg.lfs2")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        ready, _, _ = select.select([p.stdout], [], [], 60)
        assert ready
        port = p.stdout.readline().decode().strip()
        assert port.startswith("/dev/") and os.path.exists(port)
        r = subprocess.run(CLI + ["ls", "--port", port, "--json"], capture_output=True, text=True, env=env,
                           timeout=120)
        assert r.returncode == 0 and json.loads(r.stdout) == []
        p.send_signal(signal.SIGINT)
        assert p.wait(30) == 0
        assert "Ctrl-C stops it" in p.stderr.read().decode()
    finally:
        finish(p)


def test_readme_first_command_runs_hello_on_an_implicit_virtual_board(tmp_path):
    """`mpwasi run examples/hello.wasm` with no board: a background virtual board is started (and
    reused by the next command), the engine installed, the module run."""
    env = dict(os.environ, MPWASI_DATA_DIR=str(tmp_path))
    hello = os.path.join(REPO_ROOT, "examples", "hello.wasm")
    try:
        r = subprocess.run(CLI + ["run", "--virtual", hello], capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "Hello, world!\n"
        assert "using the virtual board (rpi_pico profile)" in r.stderr and "installed mpwasi" in r.stderr
        r = subprocess.run(CLI + ["run", "--virtual", hello], capture_output=True, text=True, env=env, timeout=300)
        assert r.stdout == "Hello, world!\n" and "installed" not in r.stderr
    finally:
        subprocess.run(CLI + ["sim", "--stop"], env=env, capture_output=True, timeout=60)


ECHO_LINES = r"""
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $more
      (i32.store (i32.const 0) (i32.const 64))
      (i32.store (i32.const 4) (i32.const 1024))
      (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (if (i32.eqz (i32.load (i32.const 8))) (then (return)))
      (i32.store (i32.const 16) (i32.const 64))
      (i32.store (i32.const 20) (i32.load (i32.const 8)))
      (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
      (br $more))))
"""


def test_run_in_a_terminal_sends_typed_lines_to_the_program(sim, tmp_path):
    """A module echoing its stdin: what is typed in the terminal reaches it on the board."""
    echo = wat(tmp_path, "echo", ECHO_LINES)
    t = Terminal(CLI + ["run", "--port", sim.port, echo], env=sim.env)
    try:
        t.write(b"ping from the host\n")
        # the terminal's echo, then the module's output
        assert t.read_until(b"ping from the host", limit=120, count=2), t.out
        t.write(b"\x03")                                    # the terminal's Ctrl-C
        assert t.wait() == 130
        assert t.read_until(b"interrupted"), t.out
    finally:
        t.close()
