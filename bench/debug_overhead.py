"""What running under the debugger costs: a CPU-bound module with no breakpoint set, run plainly and
under mpwasi.debugger (the `run` command), on CPython and on the MicroPython unix port.

    python3 bench/debug_overhead.py [--quick] [--repeat N]      # the table, both interpreters
    python3 bench/debug_overhead.py --worker PROGRAM SIZE N      # one measurement (also under micropython)

Under the debugger the functions run over a bytearray copy of the code and the interpreter hands
the debugger a fuel slice every debugger.SLICE loop iterations or calls (to look for Ctrl-C); the
target is at most 1.5x the plain time. "plain after" repeats the plain run after the debugger was
used, to show that having had a debugger costs nothing afterwards. The run times exclude loading
(decode, validate, instantiate), which the debugger does the same way.
"""
import sys

PROGRAMS = (("fib", "18", "22"), ("sieve", "20000", "200000"), ("crc32", "4000", "40000"))


def _clock():
    try:
        from time import ticks_us, ticks_diff
        return ticks_us, lambda t0: ticks_diff(ticks_us(), t0) / 1e6
    except ImportError:
        from time import perf_counter
        return perf_counter, lambda t0: perf_counter() - t0


class _Sink:
    def write(self, b):
        return len(b)

    def flush(self):
        pass


def _plain(path, size):
    import mpwasi
    from mpwasi import wasi
    now, since = _clock()
    w = wasi.Wasi([path, size], stdout=_Sink(), stderr=_Sink())
    inst = mpwasi.Instance(mpwasi.Module(wasi.read_module(path)), w.imports())
    t0 = now()
    try:
        inst.exports["_start"]()
    except mpwasi.Exit:
        pass
    return since(t0)


def _debugged(path, size):
    from mpwasi import debugger
    now, since = _clock()
    d = debugger.Debugger(path, args=[size], stdout=_Sink(), stderr=_Sink())
    t0 = now()
    transcript = d.script(["run", "quit"])
    t = since(t0)
    if "exited with status 0" not in transcript:
        raise SystemExit("the debugged run failed:\n" + transcript)
    return t


def worker(name, size, repeat):
    repo = __file__.rsplit("/", 2)[0] if __file__.count("/") >= 2 else ".."
    path = repo + "/bench/programs/" + name + ".wasm"
    plain = min([_plain(path, size) for _ in range(repeat)])
    dbg = min([_debugged(path, size) for _ in range(repeat)])
    after = min([_plain(path, size) for _ in range(repeat)])
    print("OVERHEAD plain=%f debug=%f after=%f" % (plain, dbg, after))


def main(argv):
    import os
    import re
    import subprocess

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import benchlib

    quick = "--quick" in argv
    repeat = 3
    if "--repeat" in argv:
        repeat = int(argv[argv.index("--repeat") + 1])
    me = os.path.abspath(__file__)
    runtimes = [("CPython", [sys.executable])]
    mp = benchlib.find_micropython()
    if mp:
        runtimes.append(("MicroPython", mp + ["-X", "heapsize=64M"]))
    env = dict(os.environ)
    env["PYTHONPATH"] = benchlib.FIRMWARE
    env["MICROPYPATH"] = ":".join([".frozen", benchlib.FIRMWARE])
    rows = []
    worst = 0.0
    for label, cmd in runtimes:
        for name, small, big in PROGRAMS:
            size = small if quick else big
            p = subprocess.run(cmd + [me, "--worker", name, size, str(repeat)], capture_output=True,
                               text=True, env=env, cwd=benchlib.REPO)
            m = re.search(r"OVERHEAD plain=([0-9.]+) debug=([0-9.]+) after=([0-9.]+)", p.stdout)
            if p.returncode != 0 or not m:
                rows.append([label + " " + name, size, "error", (p.stdout + p.stderr)[-80:], "", ""])
                continue
            plain, dbg, after = [float(x) for x in m.groups()]
            r = dbg / plain
            worst = max(worst, r)
            rows.append([label + " " + name, size, benchlib.fmt_ms(plain), benchlib.fmt_ms(dbg),
                         benchlib.fmt_ratio(r), benchlib.fmt_ms(after)])
    benchlib.print_table(["interpreter program", "size", "plain ms", "debugger ms", "ratio",
                          "plain after ms"], rows)
    print("worst ratio %.2f (target <= 1.5)" % worst)
    return 0 if worst <= 1.5 else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(main(sys.argv[1:]))
