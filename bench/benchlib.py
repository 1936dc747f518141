"""Shared helpers of the bench/ scripts (CPython only): where things are, how to start the
MicroPython unix port, running bench/driver.py under an interpreter and reading its
measurement line, and formatting times and ratios for the tables."""
import os
import re
import subprocess
import sys

from host_tools.virtual_board import find_micropython  # noqa: F401  (the one that knows)

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
FIRMWARE = os.path.join(REPO, "firmware")
PROGRAMS = os.path.join(BENCH, "programs")
DRIVER = os.path.join(BENCH, "driver.py")

_BENCH_LINE = re.compile(r"^BENCH load=([0-9.]+) run=([0-9.]+) status=(-?\d+)"
                         r" cpu_load=(-?[0-9.]+) cpu_run=(-?[0-9.]+)"
                         r" compile=([0-9.]+) cpu_compile=(-?[0-9.]+)\s*$", re.M)
_FAST_LINE = re.compile(r"^FAST compiled=(\d+) fallbacks=(\d+)\s*$", re.M)
_FALLBACK_LINE = re.compile(r"^FALLBACK (\S+) (.*)$", re.M)
CLOCKS = ("cpu", "wall")


def program(name):
    """Path of a benchmark program's .wasm (bench/programs/NAME.wasm)."""
    return os.path.join(PROGRAMS, name + ".wasm")


def micropython_env():
    """Environment for MicroPython: the engine of this checkout on its sys.path."""
    env = dict(os.environ)
    env["MICROPYPATH"] = ":".join([".frozen", FIRMWARE, BENCH])
    return env


class Measurement:
    """One run of bench/driver.py (or of a native binary): output, times, or an error.
    load/run are wall-clock seconds, cpu_load/cpu_run CPU seconds (None when unknown)."""

    def __init__(self, stdout="", load=None, run=None, status=None, error=None, cpu_load=None,
                 cpu_run=None, compile=None, cpu_compile=None):
        self.stdout = stdout
        self.load = load
        self.run = run
        self.cpu_load = cpu_load
        self.cpu_run = cpu_run
        self.compile = compile
        self.cpu_compile = cpu_compile
        self.compiled = None    # fast tier: functions compiled
        self.fallbacks = {}     # fast tier: function name -> why it stays in the interpreter
        self.status = status
        self.error = error

    @property
    def ok(self):
        return self.error is None

    def time(self, kind, clock):
        """The time of `kind` ("load" or "run") by `clock` ("cpu" or "wall"), or None."""
        if not self.ok:
            return None
        return getattr(self, ("cpu_" if clock == "cpu" else "") + kind)

    def to_json(self):
        doc = {"load": self.load, "run": self.run, "cpu_load": self.cpu_load,
               "cpu_run": self.cpu_run, "status": self.status, "error": self.error}
        if self.compiled is not None:
            doc.update(compile=self.compile, cpu_compile=self.cpu_compile, compiled=self.compiled,
                       fallbacks=self.fallbacks)
        return doc


def run_driver(cmd, timeout, env=None):
    """Run a driver command line; parse its BENCH line into a Measurement."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)
    except subprocess.TimeoutExpired:
        return Measurement(error="timeout after %ds" % timeout)
    found = _BENCH_LINE.findall(p.stderr)
    if p.returncode != 0 or not found:
        # MicroPython prints an uncaught exception's traceback on stdout, CPython on stderr
        lines = p.stderr.strip().splitlines() or p.stdout.strip().splitlines() or ["(no output)"]
        return Measurement(stdout=p.stdout, error="exit %d: %s" % (p.returncode, lines[-1][:160]))
    load, run, status, cpu_load, cpu_run, comp, cpu_comp = found[-1]

    def cpu(v):
        return float(v) if float(v) >= 0 else None

    m = Measurement(stdout=p.stdout, load=float(load), run=float(run), status=int(status),
                    cpu_load=cpu(cpu_load), cpu_run=cpu(cpu_run), compile=float(comp),
                    cpu_compile=cpu(cpu_comp))
    fast = _FAST_LINE.findall(p.stderr)
    if fast:
        m.compiled = int(fast[-1][0])
        m.fallbacks = {name: why.strip() for name, why in _FALLBACK_LINE.findall(p.stderr)}
    if m.status != 0:
        m.error = "program exit status %d" % m.status
    return m


def best(measurements, kind, clock):
    """The fastest of repeated measurements (by `kind` and `clock`), or the first failure."""
    for m in measurements:
        if not m.ok:
            return m
    inf = float("inf")
    return min(measurements, key=lambda m: inf if m.time(kind, clock) is None
               else m.time(kind, clock))


def fmt_ms(seconds):
    """A time in milliseconds, three significant digits or so."""
    if seconds is None:
        return "-"
    ms = seconds * 1000.0
    if ms >= 100:
        return "%.0f" % ms
    if ms >= 10:
        return "%.1f" % ms
    if ms >= 1:
        return "%.2f" % ms
    return "%.3f" % ms


def fmt_ratio(r):
    if r is None:
        return "-"
    if r >= 100:
        return "%.0f" % r
    if r >= 10:
        return "%.1f" % r
    if r >= 1:
        return "%.2f" % r
    return "%.3f" % r


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def geomean(values):
    values = [v for v in values if v is not None and v > 0]
    if not values:
        return None
    product = 1.0
    for v in values:
        product *= v
    return product ** (1.0 / len(values))


def print_table(headers, rows, out=sys.stdout):
    """Plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    def line(cells):
        parts = [cells[0].ljust(widths[0])]
        parts += [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  ".join(parts).rstrip()
    out.write(line(headers) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in rows:
        out.write(line(row) + "\n")


def machine_note():
    """One line on the machine: CPUs and load, since wall-clock times on a busy machine are noisy."""
    cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return "%d CPUs" % cpus
    note = "%d CPUs, load average %.1f" % (cpus, load)
    if load > cpus * 0.5:
        note += " (busy: wall-clock times are noisy; CPU times less so)"
    return note
