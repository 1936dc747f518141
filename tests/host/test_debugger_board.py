"""`mpwasi debug app.wasm -- args` end to end on the virtual board: the module is pushed, the
debugger's prompt runs on the board (MicroPython unix port behind a pty) and each command line is
read on the host and sent over the serial REPL. Ctrl-C on the host stops the running program on
the board at the prompt, which can then inspect it."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO
from host_tools.virtual_board import SimProcess

DEBUGME = os.path.join(REPO, "examples", "debugme.wasm")
CLI = [sys.executable, "-m", "host_tools.cli"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimProcess("rpi_pico", data_dir=tmp_path_factory.mktemp("vb")) as s:
        yield s


def debug(sim, args, commands, timeout=300):
    r = subprocess.run(CLI + ["debug", "--port", sim.port, DEBUGME, "--"] + list(args),
                       input="".join(c + "\n" for c in commands), capture_output=True, text=True,
                       env=sim.env, timeout=timeout, cwd=REPO)
    return r


def test_session_on_the_virtual_board(sim):
    r = debug(sim, ["4"], ["break fib", "run", "locals", "step 8", "step", "bt 3", "locals",
                           "mem g0 i32", "break scale", "delete 1", "continue", "locals",
                           "set local 1 10", "finish", "continue", "quit"])
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "mpwasi debugger: debugme.wasm" in out
    # break on a function by name
    assert re.search(r"breakpoint 1, hit 1\nfib @ 0x[0-9a-f]+ \(func \d+\): block\n", out), out
    # step into the recursive call: two fib frames, the inner one's n is 3
    assert re.search(r"\(wdb\) fib @ 0x[0-9a-f]+ \(func \d+\): call \d+ <fib>\n", out), out
    assert re.search(r"\*#0  fib @ 0x[0-9a-f]+ \(func \d+\)\n #1  fib @ 0x[0-9a-f]+ \(func \d+\)\n"
                     r" #2  main @ ", out), out
    assert "l0  param i32 = 4\n" in out and "l0  param i32 = 3\n" in out
    # memory: the word at the stack pointer
    assert re.search(r"\(wdb\) 0x[0-9a-f]{8}: -?\d+", out), out
    # modify a local and see the changed result
    assert "l0  param i32 = 3\nl1  param i32 = 3\n" in out
    assert "l1 = 10 (0xa)\n" in out
    assert "scale returned 30 (0x1e)\n" in out
    assert "fib(4) = 3\nscale(3, 3) = 30\nhello, debugger\nprogram exited with status 0\n" in out


def test_break_on_a_trap_on_the_virtual_board(sim):
    r = debug(sim, ["6", "0"], ["run", "bt 2", "locals", "continue", "quit"])
    out = r.stdout
    assert "trap: integer divide by zero\nchecked_div @ 0x" in out, out + r.stderr
    assert re.search(r"\*#0  checked_div @ 0x[0-9a-f]+ \(func \d+\)\n #1  main @ ", out), out
    assert "l0  param i32 = 24 (0x18)\nl1  param i32 = 0\n" in out
    assert "program exited with status 134" in out
    # the session's status: the program's (quit after it ended)
    assert r.returncode == 134, out + r.stderr


def test_ctrl_c_on_the_host_stops_the_program_on_the_board(sim):
    p = subprocess.Popen(CLI + ["debug", "--port", sim.port, DEBUGME, "--", "40"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=sim.env, cwd=REPO)
    try:
        os.set_blocking(p.stdout.fileno(), False)
        out = b""
        deadline = time.monotonic() + 120
        while b"(wdb) " not in out and time.monotonic() < deadline:
            time.sleep(0.2)
            out += p.stdout.read() or b""
        p.stdin.write(b"run\n")
        p.stdin.flush()
        while b"interrupted" not in out and time.monotonic() < deadline:
            time.sleep(1.0)
            p.send_signal(signal.SIGINT)
            time.sleep(0.5)
            out += p.stdout.read() or b""
        p.stdin.write(b"bt 2\nlocals\nquit\n")
        p.stdin.flush()
        rest, err = p.communicate(timeout=120)
        text = (out + rest).decode()
        assert "interrupted\nfib @ 0x" in text, text + err.decode()
        after = text.split("interrupted\n", 1)[1]
        assert re.search(r"\*#0  fib @ 0x[0-9a-f]+ \(func \d+\)\n #1  fib @ ", after), after
        assert "l0  param i32 = " in after
        assert p.returncode == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_local_option_runs_the_prompt_in_this_process():
    r = subprocess.run(CLI + ["debug", "--local", DEBUGME, "--", "4"], input="break scale\nrun\nfinish\nquit\n",
                       capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "scale returned 9\nmain @ " in r.stdout
