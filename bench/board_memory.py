"""Board memory and load time per board profile, on the unix port and on a real 32-bit MicroPython.

    python3 bench/board_memory.py [--json] [--board rpi_pico,esp32] [--only unix|mp32]

For each board profile and each program (examples/hello.wasm; bench/programs/hello_default.wasm and
bench/programs/fib.wasm: C programs built with wasm-ld's defaults, two 64 KiB pages of memory, the
second with printf), bench/board_probe.py runs the program
through mpwasi.run with the engine as .mpy files (mpy-cross bytecode, as a board holds it) and
reports:
  import      heap kept by `import mpwasi`; +wasi: and `import mpwasi.wasi`
  resident    engine + WASI + module heap at the program's first output, less its linear memory
  engine after  (32-bit rows) the heap the engine and WASI keep once the program has run and its
              module, instance and memory are dropped: the engine modules the run loaded
  memory      bytes the linear memory holds then
  free blk    the largest free heap block just before the linear memory is allocated
  load ms     mpwasi.run() until the program is about to start (unix rows: the median of 5 runs),
              with the load image the host tools push beside the module (rows without a suffix),
              or decoded and validated on the board (rows ".../validate": no image)
  ok          the program ran to its end (exit status 0) within the profile's heap
On the unix port the heap is the virtual board's (twice the profile's: 64-bit objects take about
twice a 32-bit board's room) and floats are soft (MPWASI_SOFTFLOAT=1), as on the virtual board. On
the 32-bit port (bench/mp32.py) the heap starts at the profile's size but grows on demand: "ok"
there also needs the heap not to have grown past the profile's size.
Row "unix/big": the unix port with an 8 MB heap, for the load time a board's heap does not limit.
A Pico's time is about 70x the unix port's (/work/shared/board-costs.md): "Pico ms" is that estimate.
Figures measured before issue 18's work (BEFORE) are printed beside each.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)
import mp32  # noqa: E402
from host_tools import load_image, profiles  # noqa: E402

PROBE = os.path.join(HERE, "board_probe.py")
PROGRAMS = {"hello": os.path.join(REPO, "examples", "hello.wasm"),
            "hello_default": os.path.join(REPO, "bench", "programs", "hello_default.wasm"),
            "fib": os.path.join(REPO, "bench", "programs", "fib.wasm")}
PICO_PER_UNIX = 70
WORD_SCALE = 2
BIG_HEAP = 8 * 1024 * 1024  # the unix port's load time, unconstrained by a board's heap
LOAD_RUNS = 5

# runtime/board/program -> figures measured on this machine before the issue 18 work (main at c124530)
BEFORE = {
    'mp32/esp32/fib': {'import': 85504, 'import_wasi': 105248, 'resident': 161808, 'memory_bytes': 131072, 'free_block': 83872, 'load_us': 771000, 'ok': False},
    'mp32/esp32/hello': {'import': 85504, 'import_wasi': 105248, 'resident': 123296, 'memory_bytes': 65536, 'free_block': 60000, 'load_us': 142000, 'ok': False},
    'mp32/rpi_pico/fib': {'import': 85504, 'import_wasi': 105248, 'resident': 161776, 'memory_bytes': 131072, 'free_block': 123104, 'load_us': 748000, 'ok': False},
    'mp32/rpi_pico/hello': {'import': 85504, 'import_wasi': 105248, 'resident': 123296, 'memory_bytes': 65536, 'free_block': 79584, 'load_us': 261000, 'ok': True},
    'unix/big/fib': {'import': 138784, 'import_wasi': 165312, 'resident': 284480, 'memory_bytes': 131072, 'free_block': 7553184, 'load_us': 91936, 'ok': True},
    'unix/big/hello': {'import': 138752, 'import_wasi': 165280, 'resident': 205760, 'memory_bytes': 65536, 'free_block': 7949600, 'load_us': 20997, 'ok': True},
    'unix/esp32/fib': {'import': 138784, 'import_wasi': 165312, 'ok': False},
    'unix/esp32/hello': {'import': 138752, 'import_wasi': 165280, 'free_block': 2560, 'ok': False},
    'unix/rpi_pico/fib': {'import': 138784, 'import_wasi': 165312, 'free_block': 128832, 'ok': False},
    'unix/rpi_pico/hello': {'import': 138752, 'import_wasi': 165280, 'resident': 200928, 'memory_bytes': 65536, 'free_block': 132640, 'load_us': 12912, 'ok': True},
}

_LINE = re.compile(r"^PROBE (\w+)=(\S*)\s*$", re.M)
_MAXFREE = re.compile(r"max free sz: (\d+)")


def parse(text, word):
    out = {}
    for k, v in _LINE.findall(text):
        try:
            out[k] = int(v)
        except ValueError:
            out[k] = v
    m = text.find("PROBE-MEMINFO\n")
    if m >= 0:
        mf = _MAXFREE.search(text, m)
        if mf:
            out["free_block"] = int(mf.group(1)) * 4 * word
    return out


def engine_dir(td):
    d = os.path.join(td, "lib", "mpwasi")
    os.makedirs(d)
    for fs_path, host in mp32.engine_files("mpy").items():
        os.symlink(host, os.path.join(d, fs_path.rsplit("/", 1)[1]))
    return os.path.join(td, "lib")


def place(td, prog, image):
    """The program copied into td, with its load image beside it (what `mpwasi push` puts on a
    board) when `image`."""
    with open(PROGRAMS[prog], "rb") as f:
        data = f.read()
    path = os.path.join(td, "%s-%s.wasm" % (prog, "img" if image else "val"))
    with open(path, "wb") as f:
        f.write(data)
    if image:
        with open(path + load_image.IMAGE_SUFFIX, "wb") as f:
            f.write(load_image.make_image(data))
    return path


def run_unix(board, prog, lib, path):
    heap = BIG_HEAP if board == "big" else profiles.load_profile(board).heap_bytes * WORD_SCALE
    env = dict(os.environ, MPWASI_SOFTFLOAT="1")
    p = subprocess.run(["micropython", "-X", "heapsize=%d" % heap, PROBE, "--path", lib, path],
                       capture_output=True, text=True, env=env, timeout=600)
    r = parse(p.stdout, 8)
    r["ok"] = r.get("status") == 0
    if not r["ok"]:
        r["error"] = (p.stderr.strip().splitlines() or [""])[-1]
    return r


# The 32-bit port collects garbage only between runPython calls, so the run is cut into pieces
# (#mp32:collect) at the points measured; the pieces do what mpwasi.run does, in its order.
MP32_SCRIPT = """
import gc, sys, time
sys.path.insert(0, "/lib")
HEAP = %(heap)d
gc.collect()
base = gc.mem_alloc()
#mp32:collect
import mpwasi
#mp32:collect
print("PROBE import=%%d" %% (gc.mem_alloc() - base))
from mpwasi import wasi, runtime
#mp32:collect
print("PROBE import_wasi=%%d" %% (gc.mem_alloc() - base))
def board_free():
    return HEAP - gc.mem_alloc()
runtime._free = board_free
t0 = time.ticks_us()
data = wasi.read_module("/app.wasm")
module = mpwasi.Module(data, runtime.load_image("/app.wasm", data) if %(image)r else None)
data = None
runtime.release("validate", "binary", "opcodes")
t1 = time.ticks_us()
#mp32:collect
import micropython
print("PROBE total_free_before_memory=%%d" %% (HEAP - gc.mem_alloc()))
print("PROBE-MEMINFO")
micropython.mem_info()
print("PROBE-MEMINFO-END")
w = wasi.Wasi(["app.wasm"])
t2 = time.ticks_us()
inst = mpwasi.Instance(module, w.imports(module))
module = None
print("PROBE load_us=%%d" %% (time.ticks_diff(t1, t0) + time.ticks_diff(time.ticks_us(), t2)))
#mp32:collect
m = inst.memory
held = m.resident() if hasattr(m, "resident") else len(m.data)
print("PROBE resident=%%d" %% (gc.mem_alloc() - base - held))
print("PROBE memory_bytes=%%d" %% held)
print("PROBE heap_total=%%d" %% (gc.mem_alloc() - base))
try:
    inst.exports["_start"]()
    status = 0
except wasi.Exit as e:
    status = e.code
w.close()
print("PROBE status=%%d" %% status)
inst = m = w = None
#mp32:collect
print("PROBE engine=%%d" %% (gc.mem_alloc() - base))
print("PROBE modules=%%s" %% ",".join(sorted(k[7:] for k in sys.modules if k.startswith("mpwasi."))))
"""


def run_mp32(board, prog, image):
    heap = profiles.load_profile(board).heap_bytes
    files = {"/app.wasm": PROGRAMS[prog]}
    if image:
        with open(PROGRAMS[prog], "rb") as f:
            files["/app.wasm" + load_image.IMAGE_SUFFIX] = load_image.make_image(f.read())
    r = mp32.run(MP32_SCRIPT % {"heap": heap, "image": image}, files=files, heap=heap, engine="mpy")
    out = parse(r.stdout, 4)
    # the engine, the module and the linear memory (at the program's start) within the board's heap
    out["grew"] = out.get("heap_total", 0) > heap
    out["ok"] = out.get("status") == 0 and not out["grew"]
    if out.get("status") != 0:
        out["error"] = (r.stderr.strip().splitlines() or [""])[-1]
    return out


def measure(boards, only):
    rows = {}
    with tempfile.TemporaryDirectory() as td:
        lib = engine_dir(td)
        for rt in ("unix", "mp32"):
            if only and rt != only:
                continue
            for board in boards + (["big"] if rt == "unix" else []):
                for prog in PROGRAMS:
                    for image in (True, False):
                        key = "%s/%s/%s%s" % (rt, board, prog, "" if image else "/validate")
                        if rt == "unix":
                            path = place(td, prog, image)
                            rows[key] = r = run_unix(board, prog, lib, path)
                            # the load time: the median of LOAD_RUNS runs (this machine is shared)
                            times = [r.get("load_us")] + [run_unix(board, prog, lib, path).get("load_us")
                                                          for _ in range(LOAD_RUNS - 1)]
                            if None not in times:
                                r["load_us"] = sorted(times)[len(times) // 2]
                        else:
                            rows[key] = run_mp32(board, prog, image)
    return rows


def kb(v):
    return "-" if v is None or v == "" else "%.1f" % (v / 1024.0)


def ms(v):
    return "-" if v is None or v == "" else "%.1f" % (v / 1000.0)


def table(rows):
    print("| runtime / board / program | import KB | +wasi KB | resident KB | engine after KB | memory KB"
          " | free blk KB | load ms | Pico ms (est.) | ok |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key, r in rows.items():
        b = BEFORE.get(key.replace("/validate", ""), {})

        def cell(k, f):
            now = f(r.get(k))
            return now if k not in b else "%s (%s)" % (now, f(b.get(k)))
        pico = r.get("load_us") * PICO_PER_UNIX if key.startswith("unix") and r.get("load_us") else None
        bpico = b.get("load_us") * PICO_PER_UNIX if key.startswith("unix") and b.get("load_us") else None
        ok = ("yes" if r.get("ok") else "no") + ("" if "ok" not in b else " (%s)" % ("yes" if b["ok"] else "no"))
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            key, cell("import", kb), cell("import_wasi", kb), cell("resident", kb), kb(r.get("engine")),
            cell("memory_bytes", kb),
            cell("free_block", kb), cell("load_us", ms),
            ms(pico) + ("" if bpico is None else " (%s)" % ms(bpico)), ok))
    print("(before the issue 18 work in parentheses; resident excludes the linear memory)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--board", default="rpi_pico,esp32")
    ap.add_argument("--only", choices=("unix", "mp32"))
    a = ap.parse_args(argv)
    rows = measure(a.board.split(","), a.only)
    if a.json:
        print(json.dumps(rows, indent=1, sort_keys=True))
    else:
        table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
