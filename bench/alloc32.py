"""Heap bytes the interpreter allocates per executed wasm instruction on a 32-bit MicroPython.

    python3 bench/alloc32.py [--only fib,sieve] [--json]

On a 32-bit board MicroPython's small ints are 31-bit: an int at or above 2^30 (or below -2^30)
is a heap object, and so is the result of every operation with one. The unix port is 64-bit and
never shows this, so this runs the engine on the real 32-bit MicroPython (bench/mp32.py: the webassembly
port under node; 4-byte words, 31-bit small ints), the engine as .mpy files as a board holds it.
Each kernel runs at two sizes (after a warm-up run), with automatic collection off; the
difference of gc.mem_alloc() between the two runs over the difference of executed wasm
instructions is the marginal cost per instruction (decoding, instantiation and WASI set-up
cancel out). The instruction counts come from wasmtime's fuel (one unit per executed operator;
block, loop, end, else, nop, drop and return cost none there), counted on CPython.

Columns: `unfused` is the interpreter on the module's own bytes (runtime.FUSE off), `fused`
every function fused at its first call (runtime.HEAT = 1).

Needs node and npm (bench/mp32.py installs the port on first use) and wasmtime (pip).
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(HERE)
# kernel, two sizes (the difference is what is measured)
KERNELS = [("fib", 10, 14), ("sieve", 2000, 6000), ("crc32", 1000, 3000),
           ("matmul", 6, 10), ("quicksort", 200, 600)]

# runs inside the 32-bit MicroPython (bench/mp32.py), one piece per measurement: the port collects
# garbage only between pieces, and automatic collection is off within one
_HEAD = r"""
import gc, mpwasi
from mpwasi import runtime
class Null:
    def write(self, b):
        return len(b)
    def flush(self):
        pass
def one(k, n):
    gc.disable()
    a = gc.mem_alloc()
    st = mpwasi.run("/%s.wasm" % k, args=[str(n)], stdout=Null())
    b = gc.mem_alloc()
    gc.enable()
    return b - a, st
"""
_ONE = r"""
#mp32:collect
runtime.FUSE = %(fuse)r
runtime.HEAT = %(heat)d
d, st = one(%(k)r, %(n)d)
print("RESULT", %(mode)r, %(k)r, %(n)d, d, st)
"""


def count(path, n):
    """Executed wasm instructions of the WASI program `path` with argument n (wasmtime fuel)."""
    import wasmtime
    cfg = wasmtime.Config()
    cfg.consume_fuel = True
    eng = wasmtime.Engine(cfg)
    store = wasmtime.Store(eng)
    w = wasmtime.WasiConfig()
    w.argv = ["k", str(n)]
    store.set_wasi(w)
    full = 10 ** 15
    store.set_fuel(full)
    linker = wasmtime.Linker(eng)
    linker.define_wasi()
    inst = linker.instantiate(store, wasmtime.Module.from_file(eng, path))
    try:
        inst.exports(store)["_start"](store)
    except wasmtime.ExitTrap:
        pass
    return full - store.get_fuel()


MODES = (("unfused", False, 40), ("fused", True, 1))


def measure(kernels, engine_dir=None):
    import mp32
    runs = []
    for k, n1, n2 in kernels:
        runs += [(k, n1), (k, n1), (k, n2)]  # (the first run: a warm-up)
    script = _HEAD
    for mode, fuse, heat in MODES:
        for k, n in runs:
            script += _ONE % {"fuse": fuse, "heat": heat, "k": k, "n": n, "mode": mode}
    files = mp32.engine_files("mpy", engine_dir or mp32.ENGINE)
    for k, _, _ in kernels:
        files["/%s.wasm" % k] = os.path.join(HERE, "programs", k + ".wasm")
    p = mp32.run(script, files, heap=8 * 1024 * 1024, engine="none")
    got = {}
    for line in p.stdout.splitlines():
        w = line.split()
        if w and w[0] == "RESULT":
            if w[5] != "0":
                sys.exit("alloc32: %s %s exited with %s on MicroPython" % (w[2], w[3], w[5]))
            got[(w[1], w[2], int(w[3]))] = int(w[4])
    if p.rc or len(got) != 2 * len(runs) * 2 // 3:
        sys.exit("alloc32: the 32-bit MicroPython run failed:\n" + p.stdout[-2000:] + p.stderr[-2000:])
    rows = []
    for k, n1, n2 in kernels:
        path = os.path.join(HERE, "programs", k + ".wasm")
        di = count(path, n2) - count(path, n1)
        row = {"kernel": k, "sizes": [n1, n2], "instructions": di}
        for mode, _, _ in MODES:
            row[mode] = (got[(mode, k, n2)] - got[(mode, k, n1)]) / di
        rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="kernels, comma-separated")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--engine", help="the engine's directory (default: this checkout's "
                    "firmware/mpwasi), e.g. another checkout's to compare")
    a = ap.parse_args()
    kernels = KERNELS
    if a.only:
        want = a.only.split(",")
        kernels = [k for k in KERNELS if k[0] in want]
        if not kernels:
            sys.exit("alloc32: no kernel named %s (have: %s)" % (a.only, ", ".join(k[0] for k in KERNELS)))
    rows = measure(kernels, a.engine)
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    print("heap bytes per executed wasm instruction, 32-bit MicroPython")
    print("| kernel | sizes | instructions | unfused | fused |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d, %d | %d | %.2f | %.2f |" % (r["kernel"], r["sizes"][0], r["sizes"][1],
                                                   r["instructions"], r["unfused"], r["fused"]))


if __name__ == "__main__":
    main()
