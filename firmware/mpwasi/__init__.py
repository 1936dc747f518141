"""mpwasi: a WebAssembly 2.0 interpreter with WASI preview1, for MicroPython boards and CPython.

    import mpwasi
    inst = mpwasi.Instance(mpwasi.Module(open("add.wasm", "rb").read()))
    inst.exports["add"](1, 2)

mpwasi.run("app.wasm", args=[...], env={...}, dirs=[(host_path, guest_name)]) runs a WASI command
and returns its exit status; mpwasi.run("blink.wasm", pins=[2], loops=10) an Arduino-style app
(setup/loop over the `wiring` imports, mpwasi.wiring), its pins granted.
"""

__version__ = "0.1.0"

from .errors import WasmError, DecodeError, ValidationError, LinkError, Trap, Exit
from .runtime import (Module, Instance, Function, HostFunc, Memory, Table, Global, Limits)
from . import numeric


def run(path, args=(), env=None, dirs=None, limits=None, **kw):
    """Run a WASI command module (a path or its bytes); return its exit status.

    aot=True (default): an ahead-of-time compiled `<stem>_<hash16>.mpy` next to the module
    (host_tools/aot.py) whose hash matches is used for the fast tier."""
    if kw.pop("aot", True) and isinstance(path, str) and _aot_beside(path):
        from .fastrt import find_aot
        find_aot(path)
    from . import wasi
    return wasi.run(path, args=args, env=env, dirs=dirs, limits=limits, **kw)


def _aot_beside(path):
    import os
    i = path.rfind("/")
    stem = path[i + 1:]
    stem = stem[:-5] if stem.endswith(".wasm") else stem
    try:
        names = os.listdir(path[:i] if i > 0 else ("/" if i == 0 else "."))
    except OSError:
        return False
    for n in names:
        if n.startswith(stem + "_") and n.endswith(".mpy"):
            return True
    return False


def set_tier(name):
    """Execution tier: "interp" (the interpreter), "fast" (every function compiled to Python before
    it first runs), "auto" (functions compiled once they are hot). See mpwasi.compile."""
    from . import fastrt
    fastrt.set_tier(name)


def debug(path, args=(), env=None, dirs=None, **kw):
    """The interactive debugger prompt over a module (see mpwasi.debugger); pins=, loops=,
    trace_pins=, pin_inputs= as for run()."""
    from . import debugger as _d
    return _d.debug(path, args=args, env=env, dirs=dirs, **kw)


def _default_tier():
    # CPython (a desktop): hot functions are compiled to Python ("auto"); MicroPython (a board):
    # the interpreter, whose heap use is known. MPWASI_TIER=interp|fast|auto overrides.
    import sys
    try:
        import os
        want = os.getenv("MPWASI_TIER")
    except (ImportError, AttributeError):
        want = None
    if want in ("interp", "fast", "auto"):
        set_tier(want)
    elif sys.implementation.name != "micropython":
        set_tier("auto")


_default_tier()
