"""The `wiring` imports (firmware/mpwasi/wiring.py), pins as capabilities, the Arduino lifecycle and
the examples built on them: the call-by-call transcript of tests/mp/wiring_session.py under CPython,
and the same transcript, word for word, under the MicroPython unix port; then the command line
(`python3 -m mpwasi`, `micropython -m mpwasi`) with --pin, --pin-input, --trace-pins and --loops."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import FIRMWARE, REPO, TESTS
from mp.runner import run_micropython

from mp import wiring_session

EXAMPLES = os.path.join(REPO, "examples")
ENV = dict(os.environ, PYTHONPATH=FIRMWARE)
MP_PATH = (FIRMWARE, TESTS)


@pytest.fixture(scope="module")
def transcript():
    return wiring_session.session()


def after(lines, label):
    for line in lines:
        if line.startswith(label + " -> "):
            return line[len(label) + 4:]
    raise AssertionError("no line for %r" % label)


def test_pin_calls_check_their_arguments(transcript):
    t = transcript
    assert after(t, "pinMode(2, OUTPUT)") == "None"
    assert after(t, "pinMode(2, 3)") == ("trap: pinMode: pin 2: mode 3 is not INPUT (0), OUTPUT (1) "
                                         "or INPUT_PULLUP (2)")
    assert after(t, "pinMode(2, -1)").startswith("trap: pinMode: pin 2: mode -1 is not")
    assert after(t, "pinMode(-1, OUTPUT)") == "trap: pinMode: there is no pin -1"
    assert after(t, "digitalWrite(2, 7)") == "None"  # any non-zero value is HIGH, as Arduino
    assert after(t, "analogWrite(9, 255)") == "None"
    assert after(t, "analogWrite(9, 256)") == "trap: analogWrite: pin 9: value 256 is outside 0..255"
    assert after(t, "analogWrite(9, -1)") == "trap: analogWrite: pin 9: value -1 is outside 0..255"
    assert after(t, "print(65530, 10)") == "trap: out of bounds memory access"
    assert after(t, "print(-1, 1)") == "trap: out of bounds memory access"
    assert "stdout: b'hello, pins\\n'" in t
    assert after(t, "stopWdt()") == "None"
    assert after(t, "getPinLED()") == "2"


def test_an_ungranted_pin_traps_naming_the_pin_and_the_flag(transcript):
    for call, pin in (("digitalWrite(5, 1)", 5), ("digitalRead(8)", 8), ("analogRead(27)", 27),
                      ("analogWrite(10, 1)", 10), ("pinMode(7, OUTPUT)", 7),
                      ("default: pinMode(2, OUTPUT)", 2), ("default: analogRead(0)", 0)):
        name = call.split("(")[0].split(" ")[-1]
        assert after(transcript, call) == (
            "trap: %s: pin %d is not granted to this module: grant it with --pin %d "
            "(pins=[%d] from Python)" % (name, pin, pin, pin))


def test_the_simulated_bank_reads_the_inputs_the_host_set(transcript):
    t = transcript
    assert after(t, "digitalRead(3) (input 1)") == "1"
    assert after(t, "digitalRead(3) (input set to 0)") == "0"
    assert after(t, "digitalRead(4) (nothing set)") == "0"
    assert after(t, "digitalRead(4) (pull-up)") == "1"
    assert after(t, "analogRead(4) (pull-up)") == "1023"
    assert after(t, "analogRead(26) (input 700)") == "700"
    assert after(t, "digitalRead(26) (input 700)") == "1"
    assert after(t, "analogRead(3) (input 1)") == "1023"
    assert after(t, "digitalRead(2) (an output)") == "0"   # reads back the level it drives
    assert after(t, "analogRead(9) (pwm 128)") == "513"


def test_the_trace_shows_each_change_once(transcript):
    i = transcript.index("trace:")
    assert transcript[i + 1:i + 7] == ["pin 2 mode OUTPUT", "pin 2 = 1", "pin 2 = 0",
                                       "pin 4 mode INPUT_PULLUP", "pin 9 pwm 128", "pin 9 pwm 255"]
    assert "no trace: ''" in transcript


def test_on_a_board_pins_go_to_machine_pin_pwm_and_adc(transcript):
    board = [x[len("board: "):] for x in transcript if x.startswith("board: ")]
    assert board[:3] == ["digitalRead(3) -> 1", "analogRead(26) -> 704",
                         "pinMode(40, OUTPUT) -> trap: pinMode: pin 40: ValueError: invalid pin"]
    assert board[3:] == ["Pin(2, OUT)", "Pin(2).value(1)", "Pin(3, IN, PULL_UP)", "Pin(3, IN, None)",
                         "Pin(26)", "ADC(Pin(26))", "Pin(9)", "PWM(Pin(9))", "PWM(9).freq(1000)",
                         "PWM(9).duty_u16(32896)", "PWM(9).duty_u16(65535)", "PWM(9).deinit()",
                         "Pin(9)", "Pin(9).value(0)"]


def test_time_imports(transcript):
    assert "delay(30): millis +ok, micros +ok" in transcript
    assert after(transcript, "delay(0)") == "None"
    assert "millis after 2**32 ms wraps: ok" in transcript


def test_host_side_values_are_checked(transcript):
    assert "parse_pins(['x']): not a pin number: 'x'" in transcript
    assert "parse_inputs(['3=1024']): pin 3: input value 1024 is outside 0..1023" in transcript
    assert "parse_inputs: [(3, 1), (26, 700)]" in transcript


def test_the_lifecycle_runs_initialize_setup_once_then_loop_n_times(transcript):
    t = transcript
    assert "loops=0: status 0, stdout 'init\\nsetup\\n', trace 'pin 2 mode OUTPUT\\n'" in t
    assert "loops=3: status 0, stdout 'init\\nsetup\\nloop\\nloop\\nloop\\n', trace 'pin 2 mode " \
           "OUTPUT\\npin 2 = 1\\npin 2 = 0\\npin 2 = 1\\n'" in t
    assert "loop only: status 0, stdout 'loop\\nloop\\n'" in t
    i = t.index("ungranted: status 134, stdout 'init\\n'")
    assert t[i + 1].startswith("trap: pinMode: pin 2 is not granted")
    assert t[i + 3].startswith("  0: func[") and t[i + 3].split()[2] == "setup"
    i = t.index("trap in loop: status 134, stdout 'init\\nsetup\\nloop\\nloop\\n'")
    assert t[i + 1] == "trap: unreachable" and " loop @ " in t[i + 3]
    assert "_start exits 0: status 0, stdout 'init\\nsetup\\nloop\\n'" in t
    assert "_start exits 3: status 3, stdout 'init\\n'" in t


def test_a_wasi_command_that_exports_loop_stays_a_command(transcript):
    assert "_start exported and loop: status 5, []" in transcript
    assert "_start not exported and loop: status 134, ['trap: unreachable']" in transcript


def test_link_errors_for_what_wiring_does_not_provide(transcript):
    assert "unknown import: LinkError: unknown import wiring.blinkLED" in transcript
    assert "wrong type: LinkError: incompatible import type for wiring.pinMode" in transcript
    assert any(x.startswith("nothing to run: LinkError: module has no _start") for x in transcript)


def test_the_same_transcript_under_micropython(micropython, transcript):
    r = run_micropython([os.path.join(TESTS, "mp", "wiring_session.py")], path=MP_PATH, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == transcript


# ------------------------------------------------------------------------------ the command line

def cli(args, timeout=60):
    return subprocess.run([sys.executable, "-m", "mpwasi"] + args, capture_output=True, text=True,
                          env=ENV, timeout=timeout, cwd=REPO)


def example(name):
    return os.path.join(EXAMPLES, name + ".wasm")


@pytest.mark.parametrize("name", ["blink", "blink_wat"])
def test_blink_with_pin_2_traced(name):
    r = cli(["--pin", "2", "--trace-pins", "--loops", "2", example(name)])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("blink") and "LED on pin 2\n" in r.stdout
    assert r.stderr == "pin 2 mode OUTPUT\npin 2 = 1\npin 2 = 0\npin 2 = 1\npin 2 = 0\n"


def test_blink_without_the_pin_is_refused_with_how_to_grant_it():
    r = cli(["--loops", "1", example("blink")])
    assert r.returncode == 134
    assert r.stderr.startswith("trap: pinMode: pin 2 is not granted to this module: grant it with "
                               "--pin 2 (pins=[2] from Python)\nwasm backtrace:\n")


def test_button_lights_the_led_while_the_input_is_low():
    r = cli(["--pin", "2,3", "--pin-input", "3=0", "--trace-pins", "--loops", "2", example("button")])
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("pressed\n")
    assert r.stderr == "pin 2 mode OUTPUT\npin 3 mode INPUT_PULLUP\npin 2 = 1\n"
    r = cli(["--pin", "2", "--pin", "3", "--trace-pins", "--loops", "2", example("button")])
    assert "pressed" not in r.stdout and r.stderr.endswith("pin 2 = 0\n")  # pull-up: not pressed


def test_fade_steps_the_pwm_duty():
    r = cli(["--pin", "9", "--trace-pins", "--loops", "4", example("fade")])
    assert r.returncode == 0, r.stderr
    assert r.stderr == "pin 9 mode OUTPUT\npin 9 pwm 0\npin 9 pwm 5\npin 9 pwm 10\npin 9 pwm 15\n"


def test_loops_zero_runs_only_setup_and_bad_flags_are_usage_errors():
    r = cli(["--pin", "2", "--trace-pins", "--loops", "0", example("blink")])
    assert r.returncode == 0 and r.stderr == "pin 2 mode OUTPUT\n"
    for bad, message in ((["--loops", "-1"], "--loops cannot be negative"),
                         (["--loops", "x"], "--loops needs a number, not x"),
                         (["--pin", "two"], "--pin needs pin numbers"),
                         (["--pin-input", "3"], "--pin-input needs PIN=VALUE"),
                         (["--pin-input", "3=2000"], "--pin-input needs PIN=VALUE")):
        r = cli(bad + [example("blink")])
        assert r.returncode == 2 and message in r.stderr, r.stderr


def test_ctrl_c_stops_the_loop_with_status_130():
    p = subprocess.Popen([sys.executable, "-m", "mpwasi", "--pin", "2", "--trace-pins", example("blink")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, cwd=REPO)
    os.set_blocking(p.stderr.fileno(), False)
    deadline = time.monotonic() + 120
    err = b""
    while b"pin 2 = 1\n" not in err and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)  # the app is running (a Ctrl-C before would stop the interpreter's start)
        err += p.stderr.read() or b""
    while p.poll() is None and time.monotonic() < deadline:
        p.send_signal(signal.SIGINT)
        time.sleep(0.5)
    out, rest = p.communicate(timeout=30)
    err = (err + (rest or b"")).decode()
    assert p.returncode == 130, err
    assert "pin 2 = 1\n" in err and "mpwasi: stopped by Ctrl-C after " in err


def test_micropython_command_line_runs_the_examples(micropython):
    r = run_micropython(["-m", "mpwasi", "--pin", "2,3", "--pin-input", "3=0", "--trace-pins",
                         "--loops", "3", example("button")], path=(FIRMWARE,), timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("pressed\n")
    assert r.stderr == "pin 2 mode OUTPUT\npin 3 mode INPUT_PULLUP\npin 2 = 1\n"
    r = run_micropython(["-m", "mpwasi", "--loops", "1", example("fade")], path=(FIRMWARE,), timeout=120)
    assert r.returncode == 134 and "trap: pinMode: pin 9 is not granted" in r.stderr


def test_wasi_and_wiring_together_in_a_reactor(micropython):
    # uptime.c: wasi-libc's _initialize, printf through fd_write, the pins through wiring
    want = r"uptime: setup at \d+ ms\nloop 1: pin 2 = 1, under a minute\nloop 2: pin 2 = 0, under a minute\n"
    r = cli(["--pin", "2", "--trace-pins", "--loops", "2", example("uptime")])
    assert r.returncode == 0 and re.fullmatch(want, r.stdout), r.stdout + r.stderr
    assert r.stderr == "pin 2 mode OUTPUT\npin 2 = 1\npin 2 = 0\n"
    r = run_micropython(["-m", "mpwasi", "--pin", "2", "--loops", "2", example("uptime")],
                        path=(FIRMWARE,), timeout=120)
    assert r.returncode == 0 and re.fullmatch(want, r.stdout), r.stdout + r.stderr


def test_mpwasi_run_from_python_takes_pins_and_loops():
    import io
    import mpwasi
    out = io.BytesIO()
    err = wiring_session.Lines()
    status = mpwasi.run(example("blink"), pins=[2], loops=1, trace_pins=True, stdout=out, stderr=err)
    assert status == 0 and out.getvalue() == b"blink: LED on pin 2\n"
    assert err.text == "pin 2 mode OUTPUT\npin 2 = 1\npin 2 = 0\n"
