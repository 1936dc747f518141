"""The engine cases of tests/engine_cases.py under CPython (one test each) and under MicroPython,
plus KeyboardInterrupt: Ctrl-C stops a running call promptly and leaves the engine usable."""

import os
import signal
import subprocess
import sys
import time

import pytest

import engine_cases
from mp.runner import REPO, micropython_command, run_micropython


@pytest.mark.parametrize("name", [n for n, f in engine_cases.all_cases()])
def test_engine_case_cpython(name):
    dict(engine_cases.all_cases())[name]()


def test_engine_cases_micropython(micropython):
    r = run_micropython(["tests/engine_cases.py"], heapsize="64M", timeout=300)
    assert "engine cases: 0 failed" in r.stdout, r.stdout + r.stderr
    assert r.stdout.count(" ok\n") == len(engine_cases.all_cases())


def test_recursion_10000_deep_on_micropython_default_stack(micropython):
    # the unix port's default heap and C stack; no -X options
    code = ("import sys; sys.path.insert(0, 'tests'); sys.path.insert(0, 'firmware');"
            "import engine_cases, mpwasi;"
            "i = mpwasi.Instance(engine_cases.counter_module());"
            "print(i.exports['count'](10000))")
    r = subprocess.run(micropython_command(["-c", code], heapsize=None), cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "10000", r.stdout + r.stderr


SPIN_SCRIPT = """
import sys
sys.path.insert(0, 'tests'); sys.path.insert(0, 'firmware')
import engine_cases, mpwasi
from wasmgen import ModuleBuilder
m = ModuleBuilder()
t = m.type([], [])
m.func(t, [], engine_cases.SPIN_BODY)
m.export('spin', 0, 0)
inst = mpwasi.Instance(mpwasi.Module(m.bytes()))
print('spinning'); sys.stdout.flush() if hasattr(sys.stdout, 'flush') else None
try:
    inst.exports['spin']()
except KeyboardInterrupt:
    print('interrupted')
print(mpwasi.Instance(engine_cases.counter_module()).exports['count'](123))
"""


def _interrupt(cmd):
    p = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert line.strip() == "spinning", line + p.stderr.read()
        time.sleep(0.3)
        t0 = time.time()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        return out, err, time.time() - t0
    finally:
        if p.poll() is None:
            p.kill()


def test_keyboard_interrupt_stops_a_call_cpython(tmp_path):
    script = tmp_path / "spin.py"
    script.write_text(SPIN_SCRIPT)
    out, err, dt = _interrupt([sys.executable, "-u", str(script)])
    assert out.split() == ["interrupted", "123"], out + err


def test_keyboard_interrupt_stops_a_call_micropython(micropython, tmp_path):
    script = tmp_path / "spin.py"
    script.write_text(SPIN_SCRIPT)
    out, err, dt = _interrupt(micropython_command([str(script)], heapsize="16M"))
    assert out.split() == ["interrupted", "123"], out + err


@pytest.mark.parametrize("tier", ["interp", "fast", "auto"])
def test_command_line_tier_option_gives_the_same_output(tier):
    fib = os.path.join(REPO, "bench", "programs", "fib.wasm")
    r = subprocess.run([sys.executable, "-m", "mpwasi", "--tier", tier, fib, "20"], cwd=REPO,
                       env=dict(os.environ, PYTHONPATH=os.path.join(REPO, "firmware")),
                       capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stdout) == (0, "fib(20) = 6765\n"), r.stderr


def test_command_line_rejects_an_unknown_tier():
    r = subprocess.run([sys.executable, "-m", "mpwasi", "--tier", "warp", "x.wasm"], cwd=REPO,
                       env=dict(os.environ, PYTHONPATH=os.path.join(REPO, "firmware")),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--tier" in r.stderr
