"""`mpwasi run` / `mpwasi debug` of Arduino-style apps on the virtual board through the host command:
the pins granted with --pin reach the board's runner, --trace-pins lines come back on stderr,
--pin-input sets the simulated bank's inputs, --loops ends the run, an ungranted pin is refused
with a message that says how to grant it, and the debugger stops inside loop."""
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO
from host_tools.virtual_board import SimProcess

EXAMPLES = os.path.join(REPO, "examples")
CLI = [sys.executable, "-m", "host_tools.cli"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimProcess("rpi_pico", data_dir=tmp_path_factory.mktemp("vb")) as s:
        yield s


def mpwasi(sim, args, stdin="", timeout=300):
    return subprocess.run(CLI + [args[0], "--port", sim.port] + args[1:], input=stdin,
                          capture_output=True, text=True, env=sim.env, timeout=timeout, cwd=REPO)


def test_blink_on_the_virtual_board_with_pin_2_traced(sim):
    r = mpwasi(sim, ["run", os.path.join(EXAMPLES, "blink.wasm"), "--pin", "2", "--trace-pins",
                     "--loops", "2"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "blink: LED on pin 2\n"
    assert r.stderr.endswith("pin 2 mode OUTPUT\npin 2 = 1\npin 2 = 0\npin 2 = 1\npin 2 = 0\n"), r.stderr


def test_an_ungranted_pin_is_refused_on_the_board(sim):
    r = mpwasi(sim, ["run", os.path.join(EXAMPLES, "blink_wat.wasm"), "--loops", "1"])
    assert r.returncode == 134
    assert "trap: pinMode: pin 2 is not granted to this module: grant it with --pin 2" in r.stderr
    assert "pin 2 mode" not in r.stderr


def test_pin_inputs_reach_the_simulated_bank(sim):
    r = mpwasi(sim, ["run", os.path.join(EXAMPLES, "button.wasm"), "--pin", "2,3", "--pin-input", "3=0",
                     "--trace-pins", "--loops", "3"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.endswith("pressed\n")
    assert r.stderr.endswith("pin 2 mode OUTPUT\npin 3 mode INPUT_PULLUP\npin 2 = 1\n"), r.stderr


def test_bad_pin_flags_are_usage_errors_before_the_board(sim):
    for bad in (["--pin", "x"], ["--pin-input", "3=5000"], ["--loops", "-2"]):
        r = mpwasi(sim, ["run", os.path.join(EXAMPLES, "blink.wasm")] + bad)
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1 and ("pin" in r.stderr or "--loops" in r.stderr), r.stderr


def test_the_debugger_stops_inside_loop_on_the_virtual_board(sim):
    r = mpwasi(sim, ["debug", os.path.join(EXAMPLES, "blink.wasm"), "--pin", "2", "--loops", "2"],
               stdin="break loop\nrun\nbt\ncontinue\ncontinue\nquit\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"breakpoint 1, hit 1\nloop @ 0x[0-9a-f]+ \(func 5\): ", r.stdout), r.stdout
    assert "*#0  loop @ " in r.stdout and "breakpoint 1, hit 2\n" in r.stdout
    assert "program exited with status 0" in r.stdout


def test_wasi_and_wiring_together_on_the_virtual_board(sim):
    # a wasi-libc reactor (_initialize) using printf and the pins: its linear memory is allocated
    # before the imports are linked, so the block the runner held free for it is still whole
    r = mpwasi(sim, ["run", os.path.join(EXAMPLES, "uptime.wasm"), "--pin", "2", "--trace-pins",
                     "--loops", "2"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.fullmatch(r"uptime: setup at \d+ ms\nloop 1: pin 2 = 1, under a minute\n"
                        r"loop 2: pin 2 = 0, under a minute\n", r.stdout), r.stdout
    assert r.stderr.endswith("pin 2 mode OUTPUT\npin 2 = 1\npin 2 = 0\n"), r.stderr
