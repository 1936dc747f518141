"""A board program's standard streams behave as a local program's (`mpwasi run` on the virtual
board): piped stdin reaches it in full and its end is the program's end of file; in a terminal,
Ctrl-D at the start of a line is end of file; its stderr, a trap's message and backtrace go to the
host's stderr, and the host's stdout carries its stdout byte for byte."""
import os
from repo_paths import REPO_ROOT
import subprocess
import sys

import pytest

from host_tools.virtual_board import SimProcess
from test_mpremote_compat import Terminal
from test_run import wat

REPO = REPO_ROOT
EXAMPLES = os.path.join(REPO, "examples")
CLI = [sys.executable, "-m", "host_tools.cli"]
BOARD = "rpi_pico2"

# copies stdin to stdout until fd_read says end of file, then writes "EOF\n" to stderr
COPY = r"""
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 32) "EOF\n")
  (func (export "_start")
    (loop $more
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 4096))
      (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (if (i32.load (i32.const 8)) (then
        (i32.store (i32.const 16) (i32.const 1024))
        (i32.store (i32.const 20) (i32.load (i32.const 8)))
        (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
        (br $more))))
    (i32.store (i32.const 16) (i32.const 32))
    (i32.store (i32.const 20) (i32.const 4))
    (drop (call $fd_write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 24)))))
"""

# writes bytes a console would mangle to stdout, and a line to stderr, in between
OUT_AND_ERR = r"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "one\r\ntwo\rthree\n\1e\04\03 end")
  (data (i32.const 128) "to stderr\n")
  (func $w (param i32 i32 i32)
    (i32.store (i32.const 0) (local.get 1))
    (i32.store (i32.const 4) (local.get 2))
    (drop (call $fd_write (local.get 0) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (call $w (i32.const 1) (i32.const 64) (i32.const 9))
    (call $w (i32.const 2) (i32.const 128) (i32.const 10))
    (call $w (i32.const 1) (i32.const 73) (i32.const 13))))
"""
OUT_BYTES = b"one\r\ntwo\rthree\n\x1e\x04\x03 end"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimProcess(BOARD, data_dir=tmp_path_factory.mktemp("vb")) as s:
        r = subprocess.run(CLI + ["install", "--port", s.port], capture_output=True, env=s.env, timeout=300)
        assert r.returncode == 0, r.stderr      # (so that no run below says it installed the engine)
        yield s


def run(sim, *args, input=b"", timeout=300):
    return subprocess.run(CLI + ["run", "--port", sim.port] + list(args), input=input, capture_output=True,
                          env=sim.env, timeout=timeout)


def test_piped_stdin_reaches_the_program_in_full_then_its_end_of_file(sim, tmp_path):
    copy = wat(tmp_path, "copy", COPY)
    data = bytes(range(256)) * 24 + b"last line without a newline"
    r = run(sim, copy, input=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data
    assert r.stderr == b"EOF\n"


def test_echo_hi_into_cat(sim):
    r = run(sim, os.path.join(EXAMPLES, "cat.wasm"), input=b"hi\n")
    assert (r.returncode, r.stdout) == (0, b"hi\n"), r.stderr


def test_empty_stdin_is_an_immediate_end_of_file(sim, tmp_path):
    copy = wat(tmp_path, "copy", COPY)
    r = subprocess.run(CLI + ["run", "--port", sim.port, copy], stdin=subprocess.DEVNULL, capture_output=True,
                       env=sim.env, timeout=300)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"EOF\n")


def test_stdout_is_byte_for_byte_and_stderr_goes_to_stderr(sim, tmp_path):
    module = wat(tmp_path, "outerr", OUT_AND_ERR)
    r = run(sim, module)
    assert r.returncode == 0, r.stderr
    assert r.stdout == OUT_BYTES
    assert r.stderr == b"to stderr\n"


def test_a_trap_and_its_backtrace_go_to_stderr(sim):
    r = run(sim, os.path.join(EXAMPLES, "trap.wasm"))
    assert r.returncode == 134
    assert r.stdout == b"about to trap\n"
    assert b"trap: unreachable" in r.stderr and b"wasm backtrace:" in r.stderr and b"innermost" in r.stderr


def test_ctrl_d_at_the_start_of_a_line_ends_the_programs_input_in_a_terminal(sim, tmp_path):
    copy = wat(tmp_path, "copy", COPY)
    t = Terminal(CLI + ["run", "--port", sim.port, copy], env=sim.env)
    try:
        t.write(b"typed line\n")
        assert t.read_until(b"typed line", limit=120, count=2), t.out   # the terminal's echo, the copy
        t.write(b"\x04")
        assert t.read_until(b"EOF", limit=60), t.out
        assert t.wait() == 0
    finally:
        t.close()
