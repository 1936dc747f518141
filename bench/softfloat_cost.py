"""The cost of exact f64 through integer softfloat, against the host's native doubles.

    python3 bench/softfloat_cost.py [--quick] [--repeat N] [--json]

Runs the float kernels (bench/programs/nbody.wasm and mandelbrot.wasm, f64 throughout)
under mpwasi twice in the same run -- native floats, then with the softfloat path forced
(mpwasi.numeric.force_softfloat(), the switch a single-precision board uses) -- on CPython
and on MicroPython, checks that both print the same bits, and prints the time ratio
softfloat/native. This is the slowdown an ESP32 or RP2040 (single-precision MicroPython
float) pays for bit-exact f64.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

# program, quick size, full size
KERNELS = [("nbody", 40, 200), ("mandelbrot", 20, 40)]
MP_HEAP = "32M"
CLOCK = "cpu"  # CPU time of the process (less disturbed by a busy machine); the JSON has both


def measure(cmd, env, repeat, timeout):
    results = []
    for _ in range(repeat):
        m = benchlib.run_driver(cmd, timeout, env=env)
        results.append(m)
        if not m.ok:
            break
    return benchlib.best(results, "run", CLOCK)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one run each")
    ap.add_argument("--repeat", type=int, help="runs per cell, best kept (default 1 with"
                    " --quick, else 3)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    timeout = 300 if args.quick else 1800

    interpreters = [("CPython", [sys.executable], None)]
    mp = benchlib.find_micropython()
    if mp:
        interpreters.append(("MicroPython", mp + ["-X", "heapsize=" + MP_HEAP],
                             benchlib.micropython_env()))
    rows = []
    doc = {}
    bad = False
    for label, prefix, env in interpreters:
        for program, quick_size, full_size in KERNELS:
            size = quick_size if args.quick else full_size
            base = prefix + [benchlib.DRIVER, "mpwasi", program, str(size)]
            sys.stderr.write("  %s %s %d ...\n" % (label, program, size))
            native = measure(base, env, repeat, timeout)
            soft = measure(base + ["--softfloat"], env, repeat, timeout)
            same = native.ok and soft.ok and native.stdout == soft.stdout
            r = benchlib.ratio(soft.time("run", CLOCK), native.time("run", CLOCK))
            if not (native.ok and soft.ok and same):
                bad = True
            rows.append([label, program, str(size),
                         benchlib.fmt_ms(native.time("run", CLOCK)) if native.ok else "FAIL",
                         benchlib.fmt_ms(soft.time("run", CLOCK)) if soft.ok else "FAIL",
                         benchlib.fmt_ratio(r),
                         "same" if same else ("MISMATCH" if native.ok and soft.ok else "-")])
            doc["%s/%s" % (label, program)] = {
                "size": size, "native": native.to_json(), "softfloat": soft.to_json(),
                "ratio": r, "same_output": same,
                "outputs": {"native": native.stdout, "softfloat": soft.stdout}}
            for name, m in (("native", native), ("softfloat", soft)):
                if not m.ok:
                    sys.stderr.write("    %s %s %s: %s\n" % (label, program, name, m.error))
    if args.json:
        json.dump(doc, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\nmpwasi f64 kernels: native floats vs forced softfloat (CPU times in"
                         " ms, the _start call)\n\n")
        benchlib.print_table(["interpreter", "program", "size", "native", "softfloat",
                              "soft/native", "output"], rows)
        sys.stdout.write("\n%s\n" % benchlib.machine_note())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
