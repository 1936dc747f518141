"""Heap bytes the interpreter allocates per executed wasm instruction on a 32-bit MicroPython.

    python3 bench/alloc32.py [--only fib,sieve] [--json]

On a 32-bit board MicroPython's small ints are 31-bit: an int at or above 2^30 (or below -2^30)
is a heap object, and so is the result of every operation with one. The unix port is 64-bit and
never shows this, so this runs the engine on the real 32-bit MicroPython (the webassembly port,
npm package @micropython/micropython-webassembly-pyscript, under node; 4-byte words, 31-bit
small ints). Each kernel runs twice, at two sizes, with automatic collection off; the
difference of gc.mem_alloc() between the two runs over the difference of executed wasm
instructions is the marginal cost per instruction (decoding, instantiation and WASI set-up
cancel out). The instruction counts come from wasmtime's fuel (one unit per executed operator;
block, loop, end, else, nop, drop and return cost none there), counted on CPython.

Columns: `interp` is the interpreter as a board runs it (unfused: a Pico never had the heap for
fusion), `fused` every function fused at its first call.

Needs node and the npm package (MP32_DIR, default /tmp/mp32; `npm install
@micropython/micropython-webassembly-pyscript` there) and wasmtime (pip).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# kernel, two sizes (the difference is what is measured)
KERNELS = [("fib", 10, 14), ("sieve", 2000, 6000), ("crc32", 1000, 3000),
           ("matmul", 6, 10), ("quicksort", 200, 600)]

_MJS = r"""
import {loadMicroPython} from "%(pkg)s";
import fs from "fs";
const [,, root, script, ...files] = process.argv;
const mp = await loadMicroPython({heapsize: 64 * 1024 * 1024,
    stdout: d => process.stdout.write(d + "\n"), stderr: d => process.stderr.write(d + "\n"),
    linebuffer: true});
mp.FS.mkdir("/lib"); mp.FS.mkdir("/lib/mpwasi");
for (const f of fs.readdirSync(root + "/firmware/mpwasi"))
    if (f.endsWith(".py")) mp.FS.writeFile("/lib/mpwasi/" + f, fs.readFileSync(root + "/firmware/mpwasi/" + f));
for (const f of files) mp.FS.writeFile("/" + f.split("/").pop(), fs.readFileSync(f));
try { mp.runPython(fs.readFileSync(script, "utf8")); } catch (e) { console.log("ERROR " + e.message); process.exit(1); }
"""

# runs inside the 32-bit MicroPython
_PY = r"""
import gc, mpwasi
from mpwasi import runtime
class Null:
    def write(self, b):
        return len(b)
    def flush(self):
        pass
def one(k, n):
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    st = mpwasi.run("/%%s.wasm" %% k, args=[str(n)], stdout=Null())
    b = gc.mem_alloc()
    gc.enable()
    gc.collect()
    return b - a, st
for mode in ("interp", "fused"):
    runtime.HEAT = 1 if mode == "fused" else 40
    for k, n in %(runs)r:
        d, st = one(k, n)
        print("RESULT", mode, k, n, d, st)
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


def measure(kernels, mp32_dir):
    pkg = os.path.join(mp32_dir, "node_modules", "@micropython",
                       "micropython-webassembly-pyscript", "micropython.mjs")
    if not os.path.exists(pkg):
        sys.exit("alloc32: %s not found (npm install @micropython/micropython-webassembly-pyscript "
                 "in %s, or set MP32_DIR)" % (pkg, mp32_dir))
    runs = []
    for k, n1, n2 in kernels:
        runs += [(k, n1), (k, n2)]
    files = sorted(set(os.path.join(HERE, "programs", k + ".wasm") for k, _, _ in kernels))
    with tempfile.TemporaryDirectory() as tmp:
        mjs = os.path.join(tmp, "run.mjs")
        py = os.path.join(tmp, "alloc.py")
        with open(mjs, "w") as f:
            f.write(_MJS % {"pkg": pkg})
        with open(py, "w") as f:
            f.write(_PY % {"runs": runs})
        p = subprocess.run(["node", mjs, ROOT, py] + files, capture_output=True, text=True,
                           timeout=1800)
    got = {}
    for line in p.stdout.splitlines():
        w = line.split()
        if w and w[0] == "RESULT":
            if w[5] != "0":
                sys.exit("alloc32: %s %s exited with %s on MicroPython" % (w[2], w[3], w[5]))
            got[(w[1], w[2], int(w[3]))] = int(w[4])
    if p.returncode or len(got) != 2 * len(runs):
        sys.exit("alloc32: the 32-bit MicroPython run failed:\n" + p.stdout[-2000:] + p.stderr[-2000:])
    rows = []
    for k, n1, n2 in kernels:
        path = os.path.join(HERE, "programs", k + ".wasm")
        di = count(path, n2) - count(path, n1)
        row = {"kernel": k, "sizes": [n1, n2], "instructions": di}
        for mode in ("interp", "fused"):
            row[mode] = (got[(mode, k, n2)] - got[(mode, k, n1)]) / di
        rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="kernels, comma-separated")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    kernels = KERNELS
    if a.only:
        want = a.only.split(",")
        kernels = [k for k in KERNELS if k[0] in want]
        if not kernels:
            sys.exit("alloc32: no kernel named %s (have: %s)" % (a.only, ", ".join(k[0] for k in KERNELS)))
    rows = measure(kernels, os.environ.get("MP32_DIR", "/tmp/mp32"))
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    print("heap bytes per executed wasm instruction, 32-bit MicroPython")
    print("| kernel | sizes | instructions | interp | fused |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d, %d | %d | %.2f | %.2f |" % (r["kernel"], r["sizes"][0], r["sizes"][1],
                                                   r["instructions"], r["interp"], r["fused"]))


if __name__ == "__main__":
    main()
