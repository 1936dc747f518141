"""The debugger over modules without `_start`: an Arduino-style app (examples/blink.wasm: setup once,
then loop, the pins granted as in a run) stops at breakpoints inside setup and loop and at Ctrl-C
before its next loop; a library module is debugged through `call EXPORT ARGS`, where breakpoints stop
and a trap stops with its backtrace (also from a stopped program's prompt, whose stop comes back
after the call). Each session is a script; the same transcript must come out of MicroPython."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import FIRMWARE, REPO
from mp.runner import run_micropython
from wasmgen import ModuleBuilder

from mpwasi.debugger import Debugger

BLINK = os.path.join(REPO, "examples", "blink.wasm")
DEBUGME = os.path.join(REPO, "examples", "debugme.wasm")


def library_module():
    """add(a, b); twice(x) = add(x, x); div(a, b) = a / b (traps on b = 0); no _start, no memory."""
    m = ModuleBuilder()
    t2 = m.type(["i32", "i32"], ["i32"])
    t1 = m.type(["i32"], ["i32"])
    add = m.func(t2, [], [0x20, 0, 0x20, 1, 0x6A, 0x0B], "add")
    twice = m.func(t1, [], [0x20, 0, 0x20, 0, 0x10, add, 0x0B], "twice")
    div = m.func(t2, [], [0x20, 0, 0x20, 1, 0x6D, 0x0B], "div")
    m.export("add", 0, add)
    m.export("twice", 0, twice)
    m.export("div", 0, div)
    return m.bytes()


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    path = tmp_path_factory.mktemp("lib") / "lib.wasm"
    path.write_bytes(library_module())
    return str(path)


def sessions(library):
    # name -> (module, Debugger keywords, commands)
    return {
        "app_break_in_setup_and_loop": (BLINK, {"pins": [2], "trace_pins": True, "loops": 2},
                                        ["break setup", "break loop", "run", "bt", "continue", "bt",
                                         "locals", "continue", "continue", "quit"]),
        "app_step_into_setup": (BLINK, {"pins": [2], "loops": 1}, ["step", "bt", "quit"]),
        "app_ungranted_pin_stops_at_the_trap": (BLINK, {"loops": 1}, ["run", "bt", "continue",
                                                                      "quit"]),
        "call_stops_at_breakpoints": (library, {}, ["run", "break add", "call twice 21", "bt",
                                                    "locals", "continue", "info", "quit"]),
        "call_stops_at_a_trap": (library, {}, ["call div 7 0", "bt", "locals", "continue",
                                               "call div 7 2", "quit"]),
        "call_from_a_stopped_program": (DEBUGME, {"args": ["4"]},
                                        ["break scale", "run", "break fib", "call fib 2", "bt",
                                         "delete 2", "continue", "bt", "continue", "quit"]),
    }


def run_session(module, kw, commands):
    kw = dict(kw)
    args = kw.pop("args", ())
    return Debugger(module, args=args, **kw).script(commands)


def after(t, command, n=0):
    return t.split("(wdb) " + command + "\n")[n + 1].split("(wdb) ", 1)[0]


def test_breakpoints_stop_inside_setup_and_loop(library):
    t = run_session(*sessions(library)["app_break_in_setup_and_loop"])
    assert re.search(r"\(wdb\) run\nbreakpoint 1, hit 1\nsetup @ 0x[0-9a-f]+ \(func 4\): ", t), t
    assert after(t, "bt").startswith("*#0  setup @ ")
    assert re.match(r"blink: LED on pin 2\npin 2 mode OUTPUT\nbreakpoint 2, hit 1\nloop @ 0x[0-9a-f]+ "
                    r"\(func 5\): ", after(t, "continue")), t
    assert after(t, "bt", 1).startswith("*#0  loop @ ") and after(t, "bt", 1).count("\n") == 1
    assert after(t, "continue", 1).startswith("pin 2 = 1\npin 2 = 0\nbreakpoint 2, hit 2\nloop @ ")
    assert after(t, "continue", 2) == "pin 2 = 1\npin 2 = 0\nprogram exited with status 0\n"


def test_step_before_an_app_starts_stops_in_setup(library):
    t = run_session(*sessions(library)["app_step_into_setup"])
    assert re.match(r"setup @ 0x[0-9a-f]+ \(func 4\): ", after(t, "step")), t


def test_an_ungranted_pin_stops_the_app_at_the_trap(library):
    t = run_session(*sessions(library)["app_ungranted_pin_stops_at_the_trap"])
    assert "trap: pinMode: pin 2 is not granted to this module: grant it with --pin 2" in after(t, "run")
    assert after(t, "bt").startswith("*#0  setup @ ")
    assert after(t, "continue").endswith("program exited with status 134\n")


def test_a_module_without_start_is_debugged_through_call(library):
    t = run_session(*sessions(library)["call_stops_at_breakpoints"])
    assert after(t, "run").startswith("error: the module has no _start function and no loop")
    assert re.match(r"breakpoint 1, hit 1\nadd @ 0x[0-9a-f]+ \(func 0\): local.get 0\n$",
                    after(t, "call twice 21")), t
    bt = after(t, "bt").splitlines()
    assert bt[0].startswith("*#0  add @ ") and bt[1].startswith(" #1  twice @ ") and len(bt) == 2
    assert after(t, "locals") == "l0  param i32 = 21 (0x15)\nl1  param i32 = 21 (0x15)\n"
    assert after(t, "continue") == "twice(21) = 42 (0x2a)\n"
    assert "hits 1" in after(t, "info")


def test_a_trap_inside_call_stops_with_its_backtrace(library):
    t = run_session(*sessions(library)["call_stops_at_a_trap"])
    assert re.match(r"trap: integer divide by zero\ndiv @ 0x[0-9a-f]+ \(func 2\): i32.div_s\n$",
                    after(t, "call div 7 0")), t
    assert after(t, "bt").startswith("*#0  div @ ")
    assert after(t, "locals") == "l0  param i32 = 7\nl1  param i32 = 0\n"
    assert re.match(r"trap: integer divide by zero\nwasm backtrace:\n  0: func\[2\] div @ 0x[0-9a-f]+\n$",
                    after(t, "continue")), t
    assert after(t, "call div 7 2") == "div(7, 2) = 3\n"


def test_call_from_a_stopped_program_comes_back_to_its_stop(library):
    t = run_session(*sessions(library)["call_from_a_stopped_program"])
    assert re.match(r"breakpoint 2, hit 1\nfib @ 0x[0-9a-f]+ \(func \d+\): block\n$", after(t, "call fib 2"))
    assert after(t, "bt").startswith("*#0  fib @ ")
    assert " main @ " not in after(t, "bt")       # the call's own frames only
    assert after(t, "continue") == "fib(2) = 1\n"
    outer = after(t, "bt", 1).splitlines()
    assert outer[0].startswith("*#0  scale @ ") and outer[1].startswith(" #1  main @ ")
    assert after(t, "continue", 1).endswith("scale(3, 3) = 9\nhello, debugger\n"
                                           "program exited with status 0\n")


@pytest.mark.parametrize("name", ["app_break_in_setup_and_loop", "app_ungranted_pin_stops_at_the_trap",
                                  "call_stops_at_breakpoints", "call_stops_at_a_trap",
                                  "call_from_a_stopped_program"])
def test_micropython_transcripts(micropython, library, name):
    module, kw, commands = sessions(library)[name]
    kw = dict(kw)
    args = kw.pop("args", ())
    code = ("from mpwasi.debugger import Debugger\nimport sys\n"
            "sys.stdout.write(Debugger(%r, args=%r, **%r).script(%r))\n" % (module, list(args), kw,
                                                                             commands))
    r = run_micropython(["-c", code], path=(FIRMWARE,), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == run_session(module, sessions(library)[name][1], commands)


def test_debug_command_line_takes_the_pin_flags():
    env = dict(os.environ, PYTHONPATH=FIRMWARE)
    r = subprocess.run([sys.executable, "-m", "mpwasi", "--debug", "--pin", "2", "--trace-pins",
                        "--loops", "1", BLINK], input="break loop\nrun\nbt\ncontinue\n",
                       capture_output=True, text=True, env=env, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"breakpoint 1, hit 1\nloop @ 0x[0-9a-f]+ \(func 5\): ", r.stdout), r.stdout
    assert "pin 2 = 0" in r.stderr and "program exited with status 0" in r.stdout


def test_ctrl_c_stops_an_app_before_its_next_loop():
    env = dict(os.environ, PYTHONPATH=FIRMWARE)
    p = subprocess.Popen([sys.executable, "-m", "mpwasi", "--debug", "--pin", "2", BLINK],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env, cwd=REPO)
    os.set_blocking(p.stdout.fileno(), False)
    out = b""
    deadline = time.monotonic() + 120
    p.stdin.write(b"run\n")
    p.stdin.flush()
    while b"blink: LED on pin 2" not in out and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)  # the app is running (a Ctrl-C before would stop the interpreter's start)
        out += p.stdout.read() or b""
    while b"interrupted" not in out and time.monotonic() < deadline:
        p.send_signal(signal.SIGINT)
        time.sleep(1.2)
        out += p.stdout.read() or b""
    p.stdin.write(b"bt\nquit\n")
    p.stdin.flush()
    rest, _ = p.communicate(timeout=60)
    text = (out + rest).decode()
    assert "interrupted\nloop @ " in text, text
    assert "*#0  loop @ " in text.split("interrupted\n", 1)[1]
