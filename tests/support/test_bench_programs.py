"""Differential tests of the benchmark programs (bench/programs/*.wasm): each program, at a small
size, prints the same output under mpwasi as under wasmtime (the reference runtime) -- on CPython,
on MicroPython, with the fast tier when the engine has one, and with softfloat forced for the float
kernels. The hand-written Python kernels (bench/python_kernels.py) and the native gcc builds are
checked against the same reference, so bench/run.py compares like with like.

mpwasi runs through bench/driver.py in a subprocess (the same path bench/run.py times), so a crash
of the engine fails one test instead of the session. Nothing here depends on speed.
"""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO
from mp.runner import find_micropython

BENCH = os.path.join(REPO, "bench")
PROGRAMS = os.path.join(BENCH, "programs")
DRIVER = os.path.join(BENCH, "driver.py")
FIRMWARE = os.path.join(REPO, "firmware")

import driver  # noqa: E402
import python_kernels  # noqa: E402

# program -> a small size (seconds under the interpreter on either Python)
SMALL = {
    "fib": 12,
    "sieve": 500,
    "matmul": 6,
    "crc32": 300,
    "mandelbrot": 6,
    "nbody": 5,
    "quicksort": 100,
    "bigmodule": 1,
    "module64k": 1,
    "hello": None,
}
FLOAT_PROGRAMS = ["mandelbrot", "nbody"]
TIMEOUT = 1800  # a safety net against a hung engine only


def wasm(name):
    return os.path.join(PROGRAMS, name + ".wasm")


def wasm_argv(name):
    size = SMALL[name]
    return [name] + ([] if size is None else [str(size)])


_reference = {}


def reference_output(name):
    """What wasmtime prints for the program at its small size (the reference)."""
    if name not in _reference:
        pytest.importorskip("wasmtime", reason="wasmtime (the reference runtime) is not installed: "
                            "pip install wasmtime")
        status, _load, _run, text = driver._run_wasmtime(wasm(name), wasm_argv(name))
        assert status == 0, "%s exited %d under wasmtime" % (name, status)
        assert text.strip(), "%s printed nothing under wasmtime" % name
        _reference[name] = text
    return _reference[name]


def driver_command(interp, name, extra=()):
    size = SMALL[name]
    return interp + [DRIVER, "mpwasi", name, "0" if size is None else str(size)] + list(extra)


def run_driver(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, cwd=REPO, env=env)
    assert p.returncode == 0, "driver failed (exit %d):\n%s\n%s" % (p.returncode, p.stdout[-3000:],
                                                                      p.stderr[-3000:])
    assert "BENCH " in p.stderr and "status=0" in p.stderr, p.stderr[-2000:]
    return p.stdout


def engine_has(*attrs, interp=None, env=None):
    """Whether `import mpwasi` works under the interpreter and has all these attributes."""
    code = ("import sys\nsys.path.insert(0, %r)\nimport mpwasi\nprint(%s)\n"
            % (FIRMWARE, " and ".join("hasattr(mpwasi, %r)" % a for a in attrs) or "True"))
    p = subprocess.run((interp or [sys.executable]) + ["-c", code], capture_output=True, text=True,
                       timeout=120, env=env)
    return p.returncode == 0 and p.stdout.strip() == "True"


def has_wasmtime():
    try:
        import wasmtime  # noqa: F401
    except ImportError:
        return False
    return True


def mp_env():
    env = dict(os.environ)
    env["MICROPYPATH"] = ":".join([".frozen", FIRMWARE, BENCH])
    return env


# --------------------------------------------------------------------------- the yardsticks

@pytest.mark.parametrize("name", sorted(python_kernels.KERNELS))
def test_python_kernel_prints_what_the_wasm_program_prints(name):
    assert name in SMALL, "every kernel needs a small size here"
    assert python_kernels.KERNELS[name](SMALL[name]) == reference_output(name)


def test_python_kernels_print_the_same_under_micropython():
    mp = find_micropython()
    if mp is None:
        pytest.skip("the micropython unix port is not installed")
    for name in sorted(python_kernels.KERNELS):
        p = subprocess.run(mp + [os.path.join(BENCH, "python_kernels.py"), name, str(SMALL[name])],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
        assert p.stdout == reference_output(name), name


@pytest.mark.parametrize("name", sorted(SMALL))
def test_native_build_prints_what_wasmtime_prints(name, tmp_path):
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no gcc: the native column of bench/run.py is not run either")
    exe = str(tmp_path / name)
    subprocess.run([gcc, "-O2", "-o", exe, os.path.join(PROGRAMS, name + ".c"), "-lm"], check=True)
    size = SMALL[name]
    p = subprocess.run([exe] + ([] if size is None else [str(size)]), capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0
    assert p.stdout == reference_output(name)


def test_generated_modules_match_their_generator():
    """bench/programs/bigmodule.c and module64k.c are what gen_bigmodule.py makes (build.sh's sizes)."""
    import gen_bigmodule

    for fname, funcs, words in (("bigmodule.c", 272, 4096), ("module64k.c", 120, 2200)):
        with open(os.path.join(PROGRAMS, fname)) as f:
            assert f.read() == gen_bigmodule.generate(funcs, words), fname
    with open(os.path.join(BENCH, "build.sh")) as f:
        build = f.read()
    assert "gen_bigmodule.py\" 272 4096 > bigmodule.c" in build
    assert "gen_bigmodule.py\" 120 2200 > module64k.c" in build


def test_instantiation_module_is_about_100_kb_and_the_heap_module_about_64_kb():
    assert 95 * 1024 <= os.path.getsize(wasm("bigmodule")) <= 110 * 1024
    assert 60 * 1024 <= os.path.getsize(wasm("module64k")) <= 68 * 1024


# --------------------------------------------------------------------------- mpwasi vs wasmtime

@pytest.mark.parametrize("name", sorted(SMALL))
def test_mpwasi_on_cpython_prints_what_wasmtime_prints(name):
    expected = reference_output(name)
    assert run_driver(driver_command([sys.executable], name)) == expected


@pytest.mark.parametrize("name", sorted(SMALL))
def test_mpwasi_on_micropython_prints_what_wasmtime_prints(name):
    expected = reference_output(name)
    mp = find_micropython()
    if mp is None:
        pytest.skip("the micropython unix port is not installed")
    assert run_driver(driver_command(mp + ["-X", "heapsize=32M"], name), env=mp_env()) == expected


@pytest.mark.parametrize("fuse", ["always", "0"])
@pytest.mark.parametrize("name", sorted(SMALL))
def test_mpwasi_with_every_function_fused_or_none_prints_what_wasmtime_prints(name, fuse):
    # the default fuses a function once hot, under its running frames; these run every function
    # in superinstructions from its first call, and none (a board short of heap)
    expected = reference_output(name)
    env = dict(os.environ, MPWASI_FUSE=fuse)
    assert run_driver(driver_command([sys.executable], name), env=env) == expected


@pytest.mark.parametrize("name", ["sieve", "nbody", "quicksort", "crc32"])
def test_mpwasi_on_micropython_with_every_function_fused_prints_what_wasmtime_prints(name):
    expected = reference_output(name)
    mp = find_micropython()
    if mp is None:
        pytest.skip("the micropython unix port is not installed")
    env = dict(mp_env(), MPWASI_FUSE="always")
    assert run_driver(driver_command(mp + ["-X", "heapsize=32M"], name), env=env) == expected


@pytest.mark.parametrize("name", FLOAT_PROGRAMS)
def test_mpwasi_with_softfloat_forced_prints_what_wasmtime_prints(name):
    expected = reference_output(name)
    assert run_driver(driver_command([sys.executable], name, ["--softfloat"])) == expected


@pytest.mark.parametrize("name", sorted(SMALL))
def test_mpwasi_fast_tier_prints_what_wasmtime_prints(name):
    expected = reference_output(name)
    if not engine_has("set_tier"):
        pytest.skip("the engine has no fast tier yet (mpwasi.set_tier)")
    assert run_driver(driver_command([sys.executable], name, ["--tier", "fast"])) == expected


# --------------------------------------------------------------------------- the bench tools
# These run the tools at their smallest settings and check what they report (outputs compared,
# ratios computed, heap figures present), never how fast anything was.

def run_tool(args, timeout=600):
    p = subprocess.run([sys.executable] + args, capture_output=True, text=True, timeout=timeout,
                       cwd=REPO)
    return p


def test_run_py_compares_every_runtime_and_reports_ratios():
    import json

    pytest.importorskip("wasmtime", reason="wasmtime is not installed")
    pytest.importorskip("pywasm", reason="pywasm is not installed")
    p = run_tool([os.path.join(BENCH, "run.py"), "--quick", "--only", "fib,instantiate",
                  "--runtimes", "mpwasi,pywasm,wasmtime,python", "--json"])
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    doc = json.loads(p.stdout)
    assert doc["runtimes"] == ["mpwasi", "pywasm", "wasmtime", "python"]
    fib = doc["benchmarks"]["fib"]
    assert fib["reference"] == "wasmtime" and fib["mismatch"] == []
    assert set(fib["outputs"]) == {"mpwasi", "pywasm", "wasmtime", "python"}
    assert len(set(fib["outputs"].values())) == 1
    for r in fib["results"].values():
        assert r["error"] is None and r["run"] > 0
    inst = doc["benchmarks"]["instantiate"]
    assert inst["timed"] == "load" and "python" not in inst["results"]
    assert inst["results"]["mpwasi"]["load"] > 0
    for label in ("mpwasi/pywasm", "mpwasi/wasmtime", "mpwasi/python"):
        assert doc["ratios"][label]["fib"] > 0
    assert doc["ratios"]["mpwasi/python"]["instantiate"] is None


def test_run_py_refuses_unknown_names():
    p = run_tool([os.path.join(BENCH, "run.py"), "--only", "nosuch"])
    assert p.returncode == 2 and "unknown benchmark" in p.stderr
    p = run_tool([os.path.join(BENCH, "run.py"), "--runtimes", "nosuch"])
    assert p.returncode == 2 and "unknown runtime" in p.stderr


def test_driver_refuses_a_missing_program_with_a_message():
    p = run_tool([DRIVER, "mpwasi", "nosuch", "1"])
    assert p.returncode != 0 and "no benchmark program 'nosuch'" in p.stderr


def test_softfloat_cost_runs_both_paths_and_they_agree():
    import json

    p = run_tool([os.path.join(BENCH, "softfloat_cost.py"), "--quick", "--json"])
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    doc = json.loads(p.stdout)
    assert "CPython/nbody" in doc and "CPython/mandelbrot" in doc
    for key, entry in doc.items():
        name = key.split("/")[1]
        assert entry["same_output"], key
        if has_wasmtime():
            _status, _load, _run, expected = driver._run_wasmtime(wasm(name),
                                                                 [name, str(entry["size"])])
            assert entry["outputs"]["softfloat"] == expected, key
        assert entry["ratio"] > 0


def test_heap_probe_measures_the_engine_import_under_micropython():
    mp = find_micropython()
    if mp is None:
        pytest.skip("the micropython unix port is not installed")
    p = subprocess.run(mp + ["-X", "heapsize=4M", os.path.join(BENCH, "heap_probe.py"), "import",
                             "wasi"], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert p.returncode == 0, p.stdout + p.stderr
    figures = dict(line[5:].split("=") for line in p.stdout.splitlines() if line.startswith("HEAP "))
    assert 0 < int(figures["import"]) < int(figures["import_wasi"])
    assert int(figures["free"]) > 0


def test_heap_probe_reports_running_out_of_heap_as_a_failure():
    mp = find_micropython()
    if mp is None:
        pytest.skip("the micropython unix port is not installed")
    p = subprocess.run(mp + ["-X", "heapsize=32K", os.path.join(BENCH, "heap_probe.py"), "load",
                             wasm("module64k"), "none"], capture_output=True, text=True, timeout=300,
                       cwd=REPO)
    assert p.returncode == 1
    assert "HEAP free=" not in p.stdout


def test_run_py_reports_the_fast_tier_compile_time_and_coverage():
    import json

    if not engine_has("set_tier"):
        pytest.skip("the engine has no fast tier yet (mpwasi.set_tier)")
    pytest.importorskip("wasmtime", reason="wasmtime is not installed")
    p = run_tool([os.path.join(BENCH, "run.py"), "--quick", "--only", "fib",
                  "--runtimes", "mpwasi-fast,wasmtime", "--json"])
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    fast = json.loads(p.stdout)["benchmarks"]["fib"]["results"]["mpwasi-fast"]
    assert fast["error"] is None
    assert fast["compiled"] > 0 and fast["cpu_compile"] > 0
    assert isinstance(fast["fallbacks"], dict)
    for why in fast["fallbacks"].values():
        assert why  # every function left to the interpreter says why
