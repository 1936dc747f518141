"""What running under the debugger costs: a CPU-bound module with no breakpoint set, run plainly and
under mpwasi.debugger (the `run` command), on CPython and on the MicroPython unix port.

    python3 bench/debug_overhead.py [--quick] [--repeat N]      # the table, both interpreters
    python3 bench/debug_overhead.py --worker MODE PROGRAM SIZE   # one run (also under micropython)

Under the debugger the functions run over a patchable bytearray of the module and the interpreter
hands the debugger a fuel slice every debugger.SLICE loop iterations or calls (to look for Ctrl-C);
the target is at most 1.5x the plain time. "sliced" is the plain run with the debugger's fuel slice
(interp.SLICE = debugger.SLICE) and no debugger: the second ratio is the cost of the debugger's
hook and patchable code alone. "plain after"
repeats the plain run after the debugger was used, to show that having had a debugger costs nothing
afterwards. The run times exclude loading (decode, validate, instantiate), which the debugger does
the same way. Each figure is the best of --repeat runs, each in a fresh process (MicroPython's speed
depends on the state of its heap, so runs in one process disturb each other), plain and debugged
interleaved; CPython's figure is CPU time, MicroPython's wall time (with gc.threshold(100000)).
"""
import sys

PROGRAMS = (("fib", "18", "22"), ("sieve", "20000", "200000"), ("crc32", "4000", "40000"))


def _clock():
    """CPU time on CPython (other processes on a shared machine count less), ticks on MicroPython."""
    try:
        from time import ticks_us, ticks_diff
        return ticks_us, lambda t0: ticks_diff(ticks_us(), t0) / 1e6
    except ImportError:
        from time import process_time
        return process_time, lambda t0: process_time() - t0


class _Sink:
    def write(self, b):
        return len(b)

    def flush(self):
        pass


def _plain(path, size, slice_=None):
    import mpwasi
    from mpwasi import wasi, interp
    if hasattr(mpwasi, "set_tier"):
        mpwasi.set_tier("interp")  # the debugger runs in the interpreter: compare like with like
    if slice_ is not None:
        interp.SLICE = slice_
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


def worker(mode, name, size):
    if sys.implementation.name == "micropython":
        # collect every 100 KB allocated, as a board's small heap does: with the unix port's large
        # heap and no collection, allocation walks fresh memory and run times vary up to 3-4x with
        # unrelated things (the fuel slice among them)
        import gc
        gc.threshold(100000)
    repo = __file__.rsplit("/", 2)[0] if __file__.count("/") >= 2 else ".."
    path = repo + "/bench/programs/" + name + ".wasm"
    if mode == "plain":
        t = _plain(path, size)
    elif mode == "sliced":
        from mpwasi import debugger
        t = _plain(path, size, debugger.SLICE)
    elif mode == "debug":
        t = _debugged(path, size)
    else:  # "after": a plain run after a debugger session in the same process
        _debugged(path, size)
        t = _plain(path, size)
    print("OVERHEAD %s=%f" % (mode, t))


def main(argv):
    import os
    import re
    import subprocess

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import benchlib

    quick = "--quick" in argv
    repeat = 5
    if "--repeat" in argv:
        repeat = int(argv[argv.index("--repeat") + 1])
    me = os.path.abspath(__file__)
    runtimes = [("CPython", [sys.executable])]
    mp = benchlib.find_micropython()
    if mp:
        runtimes.append(("MicroPython", mp + ["-X", "heapsize=8M"]))
    env = dict(os.environ)
    env["PYTHONPATH"] = benchlib.FIRMWARE
    env["MICROPYPATH"] = ":".join([".frozen", benchlib.FIRMWARE])
    rows = []
    worst = 0.0
    for label, cmd in runtimes:
        for name, small, big in PROGRAMS:
            size = small if quick else big
            times = {"plain": [], "sliced": [], "debug": [], "after": []}
            error = None
            for _ in range(repeat):
                for mode in ("plain", "sliced", "debug", "after"):
                    p = subprocess.run(cmd + [me, "--worker", mode, name, size], capture_output=True,
                                       text=True, env=env, cwd=benchlib.REPO)
                    m = re.search(r"OVERHEAD \w+=([0-9.]+)", p.stdout)
                    if p.returncode != 0 or not m:
                        error = (p.stdout + p.stderr).strip()[-80:]
                        break
                    times[mode].append(float(m.group(1)))
            if error:
                rows.append([label + " " + name, size, "error", error, "", "", "", ""])
                continue
            plain, sliced, dbg, after = [min(times[k]) for k in ("plain", "sliced", "debug", "after")]
            r = dbg / plain
            worst = max(worst, r)
            rows.append([label + " " + name, size, benchlib.fmt_ms(plain), benchlib.fmt_ms(dbg),
                         benchlib.fmt_ratio(r), benchlib.fmt_ms(sliced),
                         benchlib.fmt_ratio(dbg / sliced), benchlib.fmt_ms(after)])
    benchlib.print_table(["interpreter program", "size", "plain ms", "debugger ms", "ratio",
                          "sliced ms", "ratio", "plain after ms"], rows)
    print("worst ratio %.2f (target <= 1.5)" % worst)
    return 0 if worst <= 1.5 else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(main(sys.argv[1:]))
