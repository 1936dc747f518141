"""The debugger (firmware/mpwasi/debugger.py) driven by scripted sessions over examples/debugme.wasm:
commands in, transcript out. Each session runs in this CPython; test_micropython_transcripts runs
them all again under the MicroPython unix port and requires the same transcripts, word for word.

debugme: main calls fib(N) (recursive), scale(fib, 3), prints both and a message copied into a
static buffer, and with a second argument D prints scale / D through checked_div (D = 0 traps).
"""
import os
import re
import signal
import struct
import subprocess
import sys
import time

import pytest

from conftest import FIRMWARE, REPO
from mp.runner import run_micropython

from mpwasi import debugger
from mpwasi.debugger import Debugger

DEBUGME = os.path.join(REPO, "examples", "debugme.wasm")


def session(commands, args=("4",)):
    return Debugger(DEBUGME, args=list(args)).script(commands)


def funcs():
    """name -> Function of a fresh debugme instance (for offsets the transcripts must show)."""
    d = Debugger(DEBUGME)
    return dict((f.name, f) for f in d.inst.funcs if f.name), d


def message_address():
    """The static buffer main copies the message into: the address main passes to puts()."""
    dis = Debugger(DEBUGME).script(["disasm main"]).splitlines()
    for i in range(len(dis)):
        if re.search(r"call \d+ <puts>$", dis[i]):
            m = re.search(r"i32.const (\d+)$", dis[i - 1])
            assert m, dis[i - 1]
            return int(m.group(1))
    raise AssertionError("main does not call puts")


def outputs(transcript, command):
    """The output of each `command` in a transcript, in order."""
    parts = transcript.split("(wdb) " + command + "\n")[1:]
    return [p.split("(wdb) ", 1)[0] for p in parts]


def lines_after(transcript, command):
    """The output of the first `command` in a transcript."""
    part = transcript.split("(wdb) " + command + "\n", 1)[1]
    return part.split("(wdb) ", 1)[0]


# ---------------------------------------------------------------------------------- sessions
# (name, args, commands) -- run under both interpreters
SESSIONS = {
    "break_step_into_recursion": (("5",), ["break fib", "run", "locals", "step 8", "step", "step",
                                           "bt", "locals", "delete", "finish", "stack",
                                           "quit"]),
    "set_local_changes_result": (("4",), ["break scale", "run", "locals", "set local 1 10",
                                          "finish", "continue", "quit"]),
    "break_on_trap": (("6", "0"), ["run", "bt", "locals", "stack", "step", "continue", "quit"]),
    "wasi_break": (("4",), ["break wasi:fd_write", "run", "bt 2", "delete", "continue", "quit"]),
    "hit_counts": (("4",), ["break fib =3", "run", "locals", "delete", "break fib %4", "continue",
                            "locals", "info", "delete 2", "continue", "quit"]),
    "next_over_recursive_call": (("5",), ["break fib", "run", "delete", "step 8", "next", "bt",
                                          "stack", "quit"]),
    "inspect": (("4",), ["break scale", "run", "globals", "disasm", "disasm scale", "mem g0 i32",
                         "up", "locals", "disasm", "frame 0", "quit"]),
    "call_and_errors": (("4",), ["call fib 10", "call scale -2 21", "bt", "frobnicate",
                                 "break nosuch", "break 0x1", "mem 0xffffffff 4", "set local 0 1",
                                 "finish", "call fib", "step", "finish", "set local 99 1",
                                 "continue", "continue", "quit"]),
}


def run_session(name):
    args, commands = SESSIONS[name]
    return session(commands, args)


def test_break_by_name_and_step_into_recursive_call():
    fs, _ = funcs()
    fib = fs["fib"]
    t = run_session("break_step_into_recursion")
    assert "breakpoint 1  fib @ 0x%x" % fib.start in t
    assert "breakpoint 1, hit 1\nfib @ 0x%x (func %d): block" % (fib.start, fib.idx) in t
    assert lines_after(t, "locals") == "l0  param i32 = 5\n"
    # nine instructions into fib(5) is its first recursive call ...
    assert re.search(r"\(wdb\) step 8\nfib @ 0x[0-9a-f]+ \(func %d\): call %d <fib>\n"
                     % (fib.idx, fib.idx), t)
    # ... and one more step enters it: the breakpoint is also there (hit 2)
    assert "(wdb) step\nbreakpoint 1, hit 2\nfib @ 0x%x (func %d): block\n" % (fib.start, fib.idx) in t
    bt = t.split("(wdb) bt\n")[1].split("(wdb)")[0].splitlines()
    assert bt[0].startswith("*#0  fib @ 0x%x" % (fib.start + 2))
    assert bt[1].startswith(" #1  fib @ ") and bt[2].startswith(" #2  main @ ")
    assert bt[-1].startswith(" #%d  _start" % (len(bt) - 1))
    # the inner frame's local is n - 1; finish (breakpoint deleted) returns fib(4) = 3 to fib(5)
    assert t.split("(wdb) locals\n")[2].startswith("l0  param i32 = 4\n")
    assert "(wdb) finish\nfib returned 3\nfib @ " in t
    assert lines_after(t, "stack") == "[0] 3  <- top\n"


def test_set_local_changes_the_result():
    t = run_session("set_local_changes_result")
    assert lines_after(t, "locals") == "l0  param i32 = 3\nl1  param i32 = 3\n"
    assert "(wdb) set local 1 10\nl1 = 10 (0xa)\n" in t
    assert "(wdb) finish\nscale returned 30 (0x1e)\nmain @ " in t
    assert "fib(4) = 3\nscale(3, 3) = 30\nhello, debugger\nprogram exited with status 0\n" in t
    # without the change the program prints 9
    plain = session(["run", "quit"])
    assert "scale(3, 3) = 9\n" in plain


def test_inspect_memory():
    addr = message_address()
    t = session(["break scale", "run", "mem 0x%x str" % addr, "mem 0x%x 20" % addr,
                 "mem 0x%x i32 2" % addr, "mem 0x%x u8" % addr, "mem %d i64" % addr, "quit"])
    assert '(wdb) mem 0x%x str\n0x%08x: "hello, debugger"\n' % (addr, addr) in t
    dump = lines_after(t, "mem 0x%x 20" % addr).splitlines()
    assert dump[0] == ("0x%08x: 68 65 6c 6c 6f 2c 20 64 65 62 75 67 67 65 72 00  hello, debugger."
                       % addr)
    assert dump[1] == "0x%08x: 00 00 00 00%s  ...." % (addr + 16, " " * 36)
    # "hell" and "o, d" as little-endian i32
    assert lines_after(t, "mem 0x%x i32 2" % addr) == (
        "0x%08x: 1819043176 (0x6c6c6568)\n0x%08x: 1679830127 (0x64202c6f)\n" % (addr, addr + 4))
    assert lines_after(t, "mem 0x%x u8" % addr) == "0x%08x: 104 (0x68)\n" % addr
    v = struct.unpack("<q", b"hello, d")[0]
    assert lines_after(t, "mem %d i64" % addr) == "0x%08x: %d (0x%x)\n" % (addr, v, v)


def test_break_on_trap_shows_where_and_why():
    fs, _ = funcs()
    t = run_session("break_on_trap")
    assert "hello, debugger\ntrap: integer divide by zero\nchecked_div @ 0x" in t
    bt = lines_after(t, "bt").splitlines()
    assert bt[0].startswith("*#0  checked_div @ ") and bt[1].startswith(" #1  main @ ")
    assert lines_after(t, "locals") == "l0  param i32 = 24 (0x18)\nl1  param i32 = 0\n"
    assert lines_after(t, "step").startswith("error: stopped at a trap")
    after = lines_after(t, "continue")
    assert after.startswith("trap: integer divide by zero\nwasm backtrace:\n  0: func[%d] checked_div"
                            % fs["checked_div"].idx)
    assert after.endswith("program exited with status 134\n")


def test_delete_trap_lets_the_trap_end_the_program():
    t = session(["delete trap", "run", "quit"], ("6", "0"))
    assert "checked_div @" not in t.split("wasm backtrace")[0]
    assert "program exited with status 134" in t


def test_break_on_wasi_call_shows_its_arguments():
    t = run_session("wasi_break")
    out = lines_after(t, "run")
    assert re.match(r"breakpoint 1, hit 1: wasi:fd_write\(1, \d+, \d+, \d+\)\n"
                    r"__wasi_fd_write @ 0x[0-9a-f]+ \(func \d+\): call \d+ <wasi:fd_write>\n", out)
    # stopped in libc's write path, called from printf; bt 2 shows the innermost two frames
    bt = lines_after(t, "bt 2").splitlines()
    assert len(bt) == 2 and bt[0].startswith("*#0  __wasi_fd_write @ ")
    assert t.endswith("fib(4) = 3\nscale(3, 3) = 9\nhello, debugger\nprogram exited with status 0\n"
                      "(wdb) quit\n")


def test_hit_count_conditions():
    t = run_session("hit_counts")
    # fib(4) -> fib(3) -> fib(2): the third call has n = 2
    assert "breakpoint 1, hit 3\n" in t
    assert t.split("(wdb) locals\n")[1].startswith("l0  param i32 = 2\n")
    # a new breakpoint counts from 0: its 4th hit is fib's 7th call overall, fib(4)'s fib(2)
    assert "breakpoint 2, hit 4\n" in t
    assert t.split("(wdb) locals\n")[2].startswith("l0  param i32 = 2\n")
    assert "2  fib @ 0x" in lines_after(t, "info") and "every 4 hits" in lines_after(t, "info")
    assert "program exited with status 0" in t


def test_next_steps_over_a_recursive_call_at_the_same_depth():
    fs, _ = funcs()
    t = run_session("next_over_recursive_call")
    # the inner calls pass through the return address too; next stops only in this frame
    assert re.search(r"\(wdb\) next\nfib @ 0x[0-9a-f]+ \(func %d\): local.get 0\n" % fs["fib"].idx, t)
    bt = lines_after(t, "bt").splitlines()
    assert bt[0].startswith("*#0  fib @") and bt[1].startswith(" #1  main @")
    assert lines_after(t, "stack") == "[0] 3  <- top\n"  # fib(4)


def test_inspect_globals_frames_and_disasm():
    fs, _ = funcs()
    t = run_session("inspect")
    assert re.match(r"g0  __stack_pointer mut i32 = \d+ \(0x[0-9a-f]+\)\n", lines_after(t, "globals"))
    dis = lines_after(t, "disasm").splitlines()
    assert dis[0] == "scale (func %d):" % fs["scale"].idx
    assert dis[1] == "=>*0x%x: local.get 1" % fs["scale"].start
    assert dis[-1].endswith(": end")
    assert lines_after(t, "disasm scale").splitlines()[3].endswith(": i32.mul")
    assert lines_after(t, "up").startswith("#1  main @ ")
    # main's locals: argc, argv and the ones clang kept
    assert lines_after(t, "up").count("\n") == 1
    main_locals = t.split("(wdb) locals\n")[1].split("(wdb)")[0]
    assert main_locals.startswith("l0  param i32 = 2\nl1  param i32 = ")
    main_dis = t.split("(wdb) disasm\n")[2].split("(wdb)")[0]
    assert main_dis.startswith("main (func %d):" % fs["main"].idx)
    assert re.search(r"=> 0x[0-9a-f]+: call %d <scale>" % fs["scale"].idx, main_dis)


def test_call_exports_and_clear_errors():
    t = run_session("call_and_errors")
    assert lines_after(t, "call fib 10") == "fib(10) = 55 (0x37)\n"
    assert lines_after(t, "call scale -2 21") == "scale(-2, 21) = -42 (0xffffffd6)\n"
    assert lines_after(t, "bt").startswith("error: the program is not stopped")
    assert lines_after(t, "frobnicate") == "error: unknown command 'frobnicate' (try help)\n"
    assert lines_after(t, "break nosuch") == "error: no function named 'nosuch'\n"
    assert lines_after(t, "break 0x1") == "error: 0x1 is not in a function body\n"
    assert lines_after(t, "mem 0xffffffff 4").startswith("error: 0xffffffff..0x100000003 is outside")
    assert lines_after(t, "set local 0 1").startswith("error: the program is not stopped")
    assert outputs(t, "finish")[0].startswith("error: the program is not stopped")
    assert lines_after(t, "call fib") == "error: fib takes 1 arguments\n"
    # step before the start stops at _start's first instruction
    assert re.match(r"_start\.command_export @ 0x[0-9a-f]+ \(func \d+\): ", lines_after(t, "step"))
    assert outputs(t, "finish")[1] == "the outermost frame: finish runs to the end\n" \
        "fib(4) = 3\nscale(3, 3) = 9\nhello, debugger\nprogram exited with status 0\n"
    assert lines_after(t, "set local 99 1").startswith("error: the program is not stopped")
    assert outputs(t, "continue") == ["error: the program has exited (`run` starts it again)\n"] * 2


def test_run_again_after_exit_and_help():
    t = session(["run", "break scale", "run", "locals", "continue", "help", "quit"])
    assert "restarting debugme.wasm\nbreakpoint 1, hit 1\nscale @" in t
    assert t.count("program exited with status 0") == 2
    assert "step [N]" in lines_after(t, "help") and "mem ADDR" in lines_after(t, "help")


def test_break_by_index_and_offset():
    fs, d = funcs()
    fib = fs["fib"]
    t = session(["break %d" % fib.idx, "break 0x%x" % (fib.start + 3), "run", "continue", "quit"])
    assert "breakpoint 1  fib @ 0x%x" % fib.start in t
    # an offset inside an instruction means that instruction
    assert "breakpoint 2  fib @ 0x%x" % (fib.start + 2) in t
    assert "breakpoint 2, hit 1\nfib @ 0x%x (func %d): local.get 0" % (fib.start + 2, fib.idx) in t


def test_quit_while_stopped_ends_the_session():
    d = Debugger(DEBUGME, args=["4"])
    t = d.script(["break fib", "run", "quit"])
    assert t.endswith("(wdb) quit\n")
    assert d.exit_code is None
    # the interpreter is left without a hook or a patched byte
    from mpwasi import interp
    assert interp.debug_hook is None
    from mpwasi import wasi
    assert bytes(d.code) == bytes(wasi.read_module(DEBUGME))


def test_a_run_without_the_debugger_is_unaffected_after_a_session():
    import mpwasi
    from mpwasi import interp
    slice_before = interp.SLICE  # the tier's (auto: a short slice), or UNLIMITED
    session(["break fib", "run", "continue", "quit"])
    assert interp.debug_hook is None and interp.SLICE == slice_before
    import io
    out = io.BytesIO()
    assert mpwasi.run(DEBUGME, args=["7"], stdout=out) == 0
    assert out.getvalue() == b"fib(7) = 13\nscale(13, 3) = 39\nhello, debugger\n"


@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_micropython_transcripts(micropython, name):
    args, commands = SESSIONS[name]
    code = ("from mpwasi.debugger import Debugger\n"
            "d = Debugger(%r, args=%r)\n"
            "import sys\nsys.stdout.write(d.script(%r))\n" % (DEBUGME, list(args), commands))
    r = run_micropython(["-c", code], path=(FIRMWARE,), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == run_session(name)


def _interrupt_session(cmd, env):
    """Starts fib(40) under the prompt, Ctrl-C until it stops, inspects, quits."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env, cwd=REPO)
    os.set_blocking(p.stdout.fileno(), False)
    out = b""
    deadline = time.monotonic() + 120
    # the first prompt: the debugger is loaded (a Ctrl-C before would stop the interpreter's start)
    while b"(wdb) " not in out and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
        out += p.stdout.read() or b""
    p.stdin.write(b"run\n")
    p.stdin.flush()
    while b"interrupted" not in out and time.monotonic() < deadline:
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        time.sleep(0.2)
        out += p.stdout.read() or b""
    p.stdin.write(b"bt\nlocals\nquit\n")
    p.stdin.flush()
    rest, _ = p.communicate(timeout=60)
    return (out + rest).decode(), p.returncode


def test_ctrl_c_stops_the_running_program_at_the_prompt():
    env = dict(os.environ, PYTHONPATH=FIRMWARE)
    text, rc = _interrupt_session([sys.executable, "-m", "mpwasi", "--debug", DEBUGME, "40"], env)
    assert "interrupted\n" in text, text
    after = text.split("interrupted\n", 1)[1]
    assert re.match(r"fib @ 0x[0-9a-f]+ \(func \d+\): ", after), after
    bt = after.split("(wdb) ")[1]
    assert bt.startswith("*#0  fib @") and " main @ " in bt
    assert "l0  param i32 = " in after
    assert rc == 0


def test_debug_option_of_the_command_line():
    env = dict(os.environ, PYTHONPATH=FIRMWARE)
    r = subprocess.run([sys.executable, "-m", "mpwasi", "--debug", DEBUGME, "4"], env=env,
                       input="break scale\nrun\nset local 0 5\ncontinue\n", capture_output=True,
                       text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0
    assert "scale(3, 3) = 15\n" in r.stdout and "program exited with status 0" in r.stdout
    r = subprocess.run([sys.executable, "-m", "mpwasi", "--debug", "/nonexistent.wasm"], env=env,
                       input="", capture_output=True, text=True, timeout=60, cwd=REPO)
    assert r.returncode == 1 and "nonexistent.wasm" in r.stdout + r.stderr


def test_command_api_answers_one_command_at_a_time():
    d = Debugger(DEBUGME, args=["4"])
    text, action = d.command("break fib 2")
    assert text.startswith("breakpoint 1  fib @ 0x") and text.endswith("from hit 2") and action is None
    assert d.command("run") == (None, "run")
    assert d.command("continue") == (None, "continue")
    assert d.command("step 3") == (None, "step") and d.repeat == 2
    text, _ = d.command("globals")
    assert text.startswith("g0  __stack_pointer mut i32 = ")
    assert d.command("set global 0 4096") == ("g0 = 4096 (0x1000)", None)
    assert d.inst.globals[0].value == 4096
    for bad, message in (("break fd_write", "fd_write is an imported function: use break wasi:fd_write"),
                         ("break wasi:sock_accept", "the module does not import 'sock_accept'"),
                         ("break 999", "no function 999 (the module has %d)" % len(d.inst.funcs)),
                         ("break fib x", "not a number: x"), ("step 0", "the count must be at least 1"),
                         ("set local 0", "set local N VALUE | set global N VALUE"),
                         ("mem", "mem ADDR [LEN] | mem ADDR i32|i64|f32|f64|u8|str [COUNT]"),
                         ("disasm nosuch", "no function named 'nosuch'")):
        with pytest.raises(debugger.DebugError) as e:
            d.command(bad)
        assert str(e.value) == message


@pytest.mark.parametrize("tier", ["fast", "auto"])
def test_the_debugger_keeps_its_instance_in_the_interpreter_whatever_the_tier(tier):
    import mpwasi
    from mpwasi import compile as fast_tier
    before = fast_tier.get_tier()
    mpwasi.set_tier(tier)
    try:
        t = Debugger(DEBUGME, args=["22"]).script(["break scale", "run", "set local 1 10",
                                                    "continue", "quit"])
    finally:
        mpwasi.set_tier(before)
    assert "breakpoint 1, hit 1\nscale @ " in t
    assert "scale(17711, 3) = 177110\n" in t


def test_overhead_bench_worker_runs_each_mode_under_both_interpreters(micropython):
    bench = os.path.join(REPO, "bench", "debug_overhead.py")
    env = dict(os.environ, PYTHONPATH=FIRMWARE)
    for mode in ("plain", "sliced", "debug", "after"):
        r = subprocess.run([sys.executable, bench, "--worker", mode, "fib", "10"], capture_output=True,
                           text=True, env=env, timeout=120)
        assert re.match(r"OVERHEAD %s=[0-9.]+\n$" % mode, r.stdout), r.stdout + r.stderr
        r = run_micropython([bench, "--worker", mode, "fib", "10"], path=(FIRMWARE,), timeout=120)
        assert re.match(r"OVERHEAD %s=[0-9.]+\n$" % mode, r.stdout), r.stdout + r.stderr


LOOP_FIRST_WAT = """
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; its body starts with `loop`: the loop branches back to the function's first instruction
  (func $count (param $n i32) (result i32) (local $i i32)
    (loop $again
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i))
  (func $twice (param $n i32) (result i32)
    (i32.add (call $count (local.get $n)) (call $count (local.get $n))))
  (func (export "_start")
    (drop (call $count (i32.const 5)))
    (drop (call $twice (i32.const 3)))
    (drop (call $count (i32.const 4)))))
"""


@pytest.fixture(scope="module")
def loop_first(tmp_path_factory):
    # the text format through wasmtime's wat2wasm (a test dependency), which keeps the $names in
    # the name section as wabt's --debug-names does
    import wasmtime
    d = tmp_path_factory.mktemp("loopfirst")
    (d / "loopfirst.wasm").write_bytes(wasmtime.wat2wasm(LOOP_FIRST_WAT))
    return str(d / "loopfirst.wasm")


def test_function_breakpoint_counts_calls_not_turns_of_a_loop_at_its_start(loop_first, micropython):
    d = Debugger(loop_first)
    start = [f for f in d.inst.funcs if f.name == "count"][0].start
    # breakpoint 2, on the loop's first instruction, counts every turn (and never stops)
    commands = ["break count", "break 0x%x =1000" % (start + 2), "run", "locals", "continue", "bt 2",
                "finish", "continue", "continue", "locals", "continue", "info", "quit"]
    t = d.script(commands)
    # 15 turns of the loop in 4 calls: the function's breakpoint stops at the 4 calls
    assert t.count("breakpoint 1, hit") == 4 and "breakpoint 1, hit 4\n" in t
    assert "1  count @ 0x%x  hits 4\n" % start in lines_after(t, "info")
    assert "2  count @ 0x%x  hits 15  only hit 1000\n" % (start + 2) in lines_after(t, "info")
    assert "count returned 3\ntwice @ " in t
    assert outputs(t, "locals") == ["l0  param i32 = 5\nl1  i32 = 0\n", "l0  param i32 = 4\nl1  i32 = 0\n"]
    r = run_micropython(["-c", "from mpwasi.debugger import Debugger\nimport sys\n"
                         "sys.stdout.write(Debugger(%r).script(%r))\n" % (loop_first, commands)],
                        path=(FIRMWARE,), timeout=120)
    assert r.stdout == t, r.stdout + r.stderr


def test_function_breakpoint_set_inside_the_function_ignores_its_own_loop(loop_first):
    d = Debugger(loop_first)
    start = [f for f in d.inst.funcs if f.name == "count"][0].start
    t = d.script(["break 0x%x" % (start + 2), "run", "delete", "break count", "continue", "continue",
                  "continue", "continue", "info", "quit"])
    # stopped inside count(5): its remaining turns are not calls; count(3), count(3), count(4) are
    assert "2  count @ 0x%x  hits 3\n" % start in lines_after(t, "info")
    assert t.count("breakpoint 2, hit") == 3
