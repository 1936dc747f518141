"""Heap use of the engine under MicroPython with a Pico's heap, and instantiation times.

    python3 bench/heap.py [--quick] [--heap 190K] [--json]

Under `micropython -X heapsize=190K` (what a Raspberry Pi Pico leaves for a program, with
room to spare for the user's own code) it measures, through bench/heap_probe.py:
  - the engine's import cost (mpwasi, then mpwasi.wasi),
  - decode + validate + instantiate of a 64 KB module (bench/programs/module64k.wasm, a
    WASI program; with its declared 2-page memory and with Limits(memory_bytes=16 KiB)),
  - the same for the largest module of the spec suite's main set,
  - running a C hello world (bench/programs/hello.wasm; one page, and capped to 16 KiB).
For each: the heap in use afterwards (gc.mem_alloc after gc.collect, measured on a large heap
so that it is known even where 190K is too small), whether the step fits in 190K, and the
smallest heap it succeeds with (found by bisection over -X heapsize, 2 KB steps).
The engine is measured imported from its .py sources (MicroPython compiles them at import,
which needs extra heap) and from .mpy files made by mpy-cross (how a board would hold it).
--quick: the .mpy engine only.

It also times decode + validate + instantiate of the ~100 KB module (bench/programs/
bigmodule.wasm) and of the 64 KB module on CPython and on MicroPython (best of 3).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

PROBE = os.path.join(benchlib.BENCH, "heap_probe.py")
BIG_HEAP_KB = 65536
CAP = 16384
_HEAP_LINE = re.compile(r"^HEAP (\w+)=(-?\d+)\s*$", re.M)


def spec_dir():
    d = os.environ.get("MPWASI_SPEC_DIR")
    return os.path.abspath(d) if d else os.path.normpath(os.path.join(benchlib.REPO, "..", "shared",
                                                                       "spec"))


def largest_spec_module():
    """The largest .wasm that a `module` command of the main set (not simd_*) loads, or None."""
    root = os.path.join(spec_dir(), "json")
    if not os.path.isdir(root):
        return None
    best = None
    for name in sorted(os.listdir(root)):
        if name.startswith("simd"):
            continue
        path = os.path.join(root, name, name + ".json")
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            doc = json.load(f)
        for cmd in doc.get("commands", []):
            fn = cmd.get("filename", "")
            if cmd.get("type") == "module" and fn.endswith(".wasm"):
                p = os.path.join(root, name, fn)
                size = os.path.getsize(p)
                if best is None or size > best[0]:
                    best = (size, p)
    return best[1] if best else None


def steps():
    """(label, probe arguments, the stage that ends the step)"""
    m64 = benchlib.program("module64k")
    hello = benchlib.program("hello")
    out = [
        ("engine import: mpwasi", ["import"], "import"),
        ("engine import: + mpwasi.wasi", ["import", "wasi"], "import_wasi"),
        ("64 KB module, declared memory (2 pages)", ["load", m64, "none"], "instance"),
        ("64 KB module, memory capped to 16 KiB", ["load", m64, str(CAP)], "instance"),
    ]
    big = largest_spec_module()
    if big:
        out.append(("largest spec module %s (%d B)" % (os.path.basename(big), os.path.getsize(big)),
                    ["load", big, "none"], "instance"))
    out += [
        ("C hello world run (1 page)", ["run", hello, "none"], "after_run"),
        ("C hello world run, capped to 16 KiB", ["run", hello, str(CAP)], "after_run"),
    ]
    return out


class Probe:
    def __init__(self, mp, engine_path):
        self.mp = mp
        self.engine_path = engine_path
        self.cache = {}

    def run(self, heap_kb, args):
        key = (heap_kb, tuple(args))
        if key not in self.cache:
            cmd = self.mp + ["-X", "heapsize=%dK" % heap_kb, PROBE]
            if self.engine_path:
                cmd += ["--path", self.engine_path]
            try:
                p = subprocess.run(cmd + args, capture_output=True, text=True, timeout=300,
                                   cwd=benchlib.REPO)
                figures = {k: int(v) for k, v in _HEAP_LINE.findall(p.stdout)}
                ok = p.returncode == 0 and "free" in figures
                tail = (p.stderr.strip() or p.stdout.strip()).splitlines()[-1:] or [""]
            except subprocess.TimeoutExpired:
                figures, ok, tail = {}, False, ["timeout"]
            self.cache[key] = (ok, figures, tail[0])
        return self.cache[key]

    def min_heap(self, args, upper_kb):
        """Smallest heap (KB, 2 KB steps) with which the probe succeeds, below upper_kb (known ok)."""
        lo, hi = 8, upper_kb  # lo: assumed to fail
        while hi - lo > 2:
            mid = (lo + hi) // 2
            if self.run(mid, args)[0]:
                hi = mid
            else:
                lo = mid
        return hi


def compile_mpy(tmp):
    """firmware/mpwasi/*.py -> tmp/mpwasi/*.mpy with mpy-cross; the dir, or (None, why)."""
    exe = shutil.which("mpy-cross")
    if not exe:
        return None, "mpy-cross not installed"
    src = os.path.join(benchlib.FIRMWARE, "mpwasi")
    dst = os.path.join(tmp, "mpwasi")
    os.makedirs(dst)
    for name in sorted(os.listdir(src)):
        if name.endswith(".py"):
            p = subprocess.run([exe, "-o", os.path.join(dst, name[:-3] + ".mpy"),
                                os.path.join(src, name)], capture_output=True, text=True)
            if p.returncode != 0:
                return None, "mpy-cross failed on %s: %s" % (name, p.stderr.strip()[-200:])
    return tmp, ""


def heap_table(mp, variants, heap_kb, bisect, log):
    rows = []
    doc = []
    for variant, engine_path in variants:
        probe = Probe(mp, engine_path)
        for label, args, stage in steps():
            log("  heap: %s (%s) ..." % (label, variant))
            ok_big, figures, why = probe.run(BIG_HEAP_KB, args)
            base = figures.get("import", 0) if stage not in ("import", "import_wasi") else 0
            total = figures.get(stage)
            fits = probe.run(heap_kb, args)[0] if ok_big else False
            minimum = None
            if ok_big and bisect:
                minimum = probe.min_heap(args, heap_kb if fits else BIG_HEAP_KB)
            rows.append([label, variant,
                         "%.1f" % (total / 1024.0) if ok_big and total is not None else "FAIL",
                         "%.1f" % ((total - base) / 1024.0) if ok_big and total is not None else "-",
                         ("yes" if fits else "no") if ok_big else "-",
                         str(minimum) if minimum else "-"])
            doc.append({"step": label, "engine": variant, "ok": ok_big, "error": None if ok_big else why,
                        "in_use_bytes": total, "step_bytes": None if total is None else total - base,
                        "figures": figures, "fits": fits, "min_heap_kb": minimum})
            if not ok_big:
                log("    failed: %s" % why)
    return rows, doc


def instantiation_times(mp, repeat, log):
    rows = []
    doc = {}
    interps = [("CPython", [sys.executable], None)]
    if mp:
        interps.append(("MicroPython", mp + ["-X", "heapsize=32M"], benchlib.micropython_env()))
    for program in ("bigmodule", "module64k"):
        size = os.path.getsize(benchlib.program(program))
        for label, prefix, env in interps:
            log("  instantiate: %s on %s ..." % (program, label))
            results = []
            for _ in range(repeat):
                m = benchlib.run_driver(prefix + [benchlib.DRIVER, "mpwasi", program, "1"], 600,
                                        env=env)
                results.append(m)
                if not m.ok:
                    break
            m = benchlib.best(results, "load", "cpu")
            rows.append(["%s.wasm (%d B)" % (program, size), label,
                         benchlib.fmt_ms(m.time("load", "cpu")) if m.ok else "FAIL: " + m.error])
            doc["%s/%s" % (program, label)] = m.to_json()
    return rows, doc


def parse_kb(text):
    t = text.strip().upper()
    try:
        if t.endswith("K"):
            return int(t[:-1])
        if t.endswith("M"):
            return int(t[:-1]) * 1024
        return max(int(t) // 1024, 1)
    except ValueError:
        raise argparse.ArgumentTypeError("a heap size like 190K or 2M: %r" % text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the .mpy engine only, one timing run")
    ap.add_argument("--heap", type=parse_kb, default=190, help="the board heap (default 190K)")
    ap.add_argument("--no-bisect", action="store_true", help="skip the smallest-heap search")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)

    def log(msg):
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()

    mp = benchlib.find_micropython()
    doc = {"heap_kb": args.heap}
    out = sys.stdout
    tmp = tempfile.mkdtemp(prefix="mpwasi-heap-")
    try:
        variants = []
        notes = []
        if mp:
            mpy_dir, why = compile_mpy(tmp)
            if not args.quick:
                variants.append((".py", None))
            if mpy_dir:
                variants.append((".mpy", mpy_dir))
            else:
                notes.append(".mpy engine not measured: " + why)
                if args.quick:
                    variants.append((".py", None))
            rows, doc["heap"] = heap_table(mp, variants, args.heap, not args.no_bisect, log)
        else:
            rows = []
            notes.append("micropython is not installed: no heap figures")
        times, doc["instantiate_ms"] = instantiation_times(mp, 1 if args.quick else 3, log)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        json.dump(doc, out, indent=1, sort_keys=True)
        out.write("\n")
        return 0
    if rows:
        out.write("\nMicroPython heap (KB). 'in use': gc.mem_alloc() after the step, engine included;"
                  " 'step': without the engine's import; 'fits %dK': the step succeeds under"
                  " -X heapsize=%dK; 'min heap': the smallest -X heapsize it succeeds with.\n\n"
                  % (args.heap, args.heap))
        benchlib.print_table(["step", "engine", "in use", "step", "fits %dK" % args.heap,
                              "min heap"], rows, out)
    out.write("\nDecode + validate + instantiate (CPU ms, best of %d)\n\n" % (1 if args.quick else 3))
    benchlib.print_table(["module", "interpreter", "time"], times, out)
    out.write("\n%s\n" % benchlib.machine_note())
    for n in notes:
        out.write("\n" + n + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
