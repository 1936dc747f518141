"""The board column: each board kernel (bench/programs/board/*.wasm, libc-free, exporting run(n))
through mpwasi's viper tier (`mpwasi compile --board unix`: the .mpy for x86-64) against the same
kernel hand-written with @micropython.viper (bench/viper_kernels.py), on the MicroPython unix
port, in the same run; every result is checked against wasmtime's.

    python3 bench/board.py [--repeat 3] [--json] [kernel ...]

Columns: the time of run(n) (best of --repeat) in mpwasi's viper tier, in the hand-written viper
kernel, their ratio, how many of the module's functions are viper code (the rest stay native
Python code), the .mpy size for x64 and the module's code section size.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import benchlib  # noqa: E402

BOARD = os.path.join(benchlib.PROGRAMS, "board")
# kernel -> n (sized so each run takes tens of milliseconds on the unix port)
SIZES = {"fib": 24, "sieve": 100, "crc32": 60, "matmul": 64, "quicksort": 4096}

_SCRIPT = r"""
import sys, time
sys.path.insert(0, %(firmware)r)
sys.path.insert(0, %(bench)r)
import mpwasi
from mpwasi import compile as fast
import viper_kernels
k, n, rep = %(kernel)r, %(n)d, %(repeat)d
mod = fast.load_aot(%(mpydir)r, %(mpyname)r)
fast.use_aot(mod)
inst = mpwasi.Instance(mpwasi.Module(open(%(wasm)r, "rb").read()))
run = inst.exports["run"]
def best(f):
    t = None
    r = None
    for _ in range(rep):
        t0 = time.ticks_us()
        r = f(n)
        dt = time.ticks_diff(time.ticks_us(), t0)
        t = dt if t is None or dt < t else t
    return r, t
r1, t1 = best(lambda n: run(n) & 0xFFFFFFFF)
r2, t2 = best(viper_kernels.KERNELS[k])
compiled, fallbacks = fast.report(inst)
print("RESULT", r1, t1, r2, t2, len(mod.VFUNCS) if hasattr(mod, "VFUNCS") else -1, len(mod.FUNCS))
"""


def wasmtime_result(path, n):
    try:
        import wasmtime
    except ImportError:
        return None
    store = wasmtime.Store()
    inst = wasmtime.Instance(store, wasmtime.Module.from_file(store.engine, path), [])
    return inst.exports(store)["run"](store, n) & 0xFFFFFFFF


def code_section_size(data):
    """Bytes of the module's code section (id 10)."""
    sys.path.insert(0, benchlib.FIRMWARE)
    from mpwasi.interp import uleb
    pos = 8
    while pos < len(data):
        sid = data[pos]
        size, pos = uleb(data, pos + 1)
        if sid == 10:
            return size
        pos += size
    return 0


def measure(kernel, repeat, mp, tmp):
    sys.path.insert(0, os.path.dirname(HERE))
    from host_tools import aot
    wasm = os.path.join(BOARD, kernel + ".wasm")
    n = SIZES[kernel]
    mpy, fallback = aot.build(wasm, board="unix", out_dir=tmp)
    name = os.path.basename(mpy)[:-4]
    script = os.path.join(tmp, "board_%s.py" % kernel)
    with open(script, "w") as f:
        f.write(_SCRIPT % {"firmware": benchlib.FIRMWARE, "bench": HERE, "kernel": kernel, "n": n,
                           "repeat": repeat, "mpydir": tmp, "mpyname": name, "wasm": wasm})
    p = subprocess.run(mp + [script], capture_output=True, text=True, timeout=600)
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if p.returncode != 0 or not line:
        return {"kernel": kernel, "n": n, "error": (p.stderr or p.stdout).strip()[-400:]}
    r1, t1, r2, t2, nv, nf = [int(x) for x in line[0].split()[1:]]
    with open(wasm, "rb") as f:
        data = f.read()
    return {"kernel": kernel, "n": n, "mpwasi_viper_us": t1, "hand_viper_us": t2,
            "ratio": t1 / t2 if t2 else None, "result": r1, "hand_result": r2,
            "wasmtime_result": wasmtime_result(wasm, n), "viper_functions": nv,
            "functions": nf, "fallbacks": len(fallback), "mpy_bytes": os.path.getsize(mpy),
            "code_bytes": code_section_size(data)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kernels", nargs="*", default=list(SIZES))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    mp = benchlib.find_micropython()
    if mp is None:
        print("board.py: the MicroPython unix port (micropython) is not installed", file=sys.stderr)
        return 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in args.kernels:
            rows.append(measure(k, args.repeat, mp, tmp))
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    table = []
    bad = 0
    for r in rows:
        if "error" in r:
            table.append([r["kernel"], str(r["n"]), "error: " + r["error"].splitlines()[-1]] +
                         [""] * 6)
            bad += 1
            continue
        same = r["result"] == r["hand_result"] and r["wasmtime_result"] in (None, r["result"])
        if not same:
            bad += 1
        table.append([r["kernel"], str(r["n"]), benchlib.fmt_ms(r["mpwasi_viper_us"] / 1e6),
                      benchlib.fmt_ms(r["hand_viper_us"] / 1e6), benchlib.fmt_ratio(r["ratio"]),
                      "yes" if same else "NO (%s %s %s)" % (r["result"], r["hand_result"],
                                                            r["wasmtime_result"]),
                      "%d/%d" % (r["viper_functions"], r["functions"]),
                      str(r["mpy_bytes"]), str(r["code_bytes"])])
    benchlib.print_table(["kernel", "n", "mpwasi viper ms", "hand viper ms", "ratio",
                          "= wasmtime", "viper fns", ".mpy x64 B", "code B"], table)
    print("(MicroPython unix port; %s)" % benchlib.machine_note())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
