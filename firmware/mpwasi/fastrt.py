"""The fast tier at run time: the namespace compiled functions run in, tiers, ahead-of-time modules.

Functions are compiled lazily (the first time they run in tier "fast", or once they are hot in tier
"auto") by the generator, fastgen.py, which this module imports only then: an instance whose
functions all come from an ahead-of-time .mpy (host_tools/aot.py; find_aot/use_aot) never loads it.
The stable public name of this API is `mpwasi.compile` (find_aot, use_aot, report, set_tier).

A compiled function is `f<idx>(l0, ..., d)` (see fastgen). Past NEST nested Python frames
(MicroPython's C stack holds only a few hundred) the callee runs in the interpreter instead, whose
calls do not nest, so 10,000-deep wasm recursion works; `Limits.max_call_depth` traps exactly where
the interpreter traps.

Installation: a compiled function's `Function.host` holds a `Fast` object (attribute `fast` True),
so the interpreter reaches it through its host-call path at no cost to its own calls. Traps carry the
compiled frames (function index, name, body offset) in `Trap.frames`.

Fuel (`Limits(fuel=...)`) is counted by the interpreter only: a call tree with a fuel limit runs in
the interpreter (compiled functions are bypassed), so fuel stays exact.
"""

import sys

from .errors import Trap, Exit, WasmError, RecursionError
from . import numeric
from . import interp
from . import memops

MICROPYTHON = sys.implementation.name == "micropython"

if MICROPYTHON:
    _BOARD = sys.platform not in ("linux", "darwin", "windows", "win32")
    NEST = 12 if _BOARD else 40
else:
    NEST = 200

M32 = 0xFFFFFFFF

try:
    import struct as _struct
    _MEMERR = (IndexError, ValueError, OverflowError, getattr(_struct, "error", ValueError))
except ImportError:  # pragma: no cover
    _MEMERR = (IndexError, ValueError, OverflowError)

_UNLIMITED_DEPTH = 1 << 30


def _frame(F):
    return (F.idx, F.name, F.start + F.base)  # (base: a function fused into a buffer of its own)


def _tb(e, F):
    e.fast = True
    if len(e.frames) < 64:
        e.frames.append(_frame(F))


def _results(r, nres):
    """interp result list -> the compiled calling convention"""
    if nres == 0:
        return None
    if nres == 1:
        return r[0]
    return tuple(r)


def _as_list(r, nres):
    """the compiled calling convention -> a result list"""
    if nres == 0:
        return []
    if nres == 1:
        return [r]
    return list(r)


def _float_helpers(ns):
    import math
    import struct
    if hasattr(struct, "Struct"):
        sd = struct.Struct("<d")
        sq = struct.Struct("<Q")
        ud, pd, uq, pq = sd.unpack, sd.pack, sq.unpack, sq.pack

        def bq(b):
            return ud(pq(b))[0]

        def qb(x):
            return uq(pd(x))[0]
    else:
        up = struct.unpack
        pk = struct.pack

        def bq(b):
            return up("<d", pk("<Q", b))[0]

        def qb(x):
            return up("<Q", pk("<d", x))[0]
    ns["BQ"] = bq
    ns["QB"] = qb
    nan = bq(numeric.F64_CANON)
    inf = bq(0x7FF0000000000000)
    sqrt = math.sqrt
    copysign = math.copysign

    def fsqrt(x):
        if x > 0.0:
            return sqrt(x)
        if x == 0.0 or x != x:
            return x + x    # +-0 stays, a NaN comes back quiet
        return nan

    def fdiv0(a, b):
        # b is +-0.0
        if a != a:
            return a + a
        if a == 0.0:
            return nan
        return inf if (copysign(1.0, a) > 0) == (copysign(1.0, b) > 0) else -inf

    ns["FSQRT"] = fsqrt
    ns["FDIV0"] = fdiv0
    ns["FABS"] = math.fabs
    ns["COPYSIGN"] = copysign


def _bulk_names(ns, inst):
    # the bulk memory and table instructions of compiled code (memops, bound to the instance)
    def minit(seg, dst, src, n):
        memops.memory_init(inst, seg, dst, src, n)

    def ddrop(seg):
        memops.data_drop(inst, seg)

    def mcopy(dst, src, n):
        memops.memory_copy(inst, dst, src, n)

    def mfill(dst, v, n):
        memops.memory_fill(inst, dst, v, n)

    def tinit(seg, t, dst, src, n):
        memops.table_init(inst, seg, t, dst, src, n)

    def edrop(seg):
        memops.elem_drop(inst, seg)

    def tcopy(t1, t2, dst, src, n):
        memops.table_copy(inst, t1, t2, dst, src, n)

    def tgrow(t, v, n):
        return memops.table_grow(inst, t, v, n)

    def tfill(t, dst, v, n):
        memops.table_fill(inst, t, dst, v, n)

    ns["MINIT"] = minit
    ns["DDROP"] = ddrop
    ns["MCOPY"] = mcopy
    ns["MFILL"] = mfill
    ns["TINIT"] = tinit
    ns["EDROP"] = edrop
    ns["TCOPY"] = tcopy
    ns["TGROW"] = tgrow
    ns["TFILL"] = tfill


class Fast:
    """Function.host of a function in the fast tier (compiled now, or when it first runs)."""
    fast = True

    def __init__(self, state, F):
        self.state = state
        self.F = F

    def call_bits(self, args):
        """An outermost call (Function.call_bits): depth 0."""
        st = self.state
        F = self.F
        if st.limits.fuel is not None:
            return interp.execute(F, list(args), st.limits)
        try:
            r = st.ns["f%d" % F.idx](*(list(args) + [0]))
        except MemoryError:
            raise Trap("out of memory", [_frame(F)])
        return _as_list(r, F.nres)

    def call_fast(self, args, budget, nfr):
        """A call from the interpreter (its host-call path) at depth budget.base + frames + 1."""
        r = self.state.ns["f%d" % self.F.idx](*(list(args) + [budget.base + (nfr >> 2) + 1]))
        return _as_list(r, self.F.nres)


class State:
    """The fast tier of one instance: the namespace its compiled functions share."""

    def __init__(self, inst, aot=None):
        self.inst = inst
        self.limits = inst.limits
        self.info = None            # (fastgen.FuncInfo, made when a function is first compiled)
        self.code = inst.module.data
        self.fallbacks = {}         # function index -> reason it runs in the interpreter
        self.compiled = 0
        self.done = set()           # function indices compiled (or fallen back)
        self.cache = {}             # Function -> Python callable (call_indirect)
        self.aot = aot
        maxd = self.limits.max_call_depth
        self.maxd = maxd if maxd is not None else _UNLIMITED_DEPTH
        self.ns = self.namespace()
        if aot is not None:
            aot._init()
            for idx in aot.FUNCS:
                self.done.add(idx)
                self.compiled += 1
                F = inst.funcs[idx]
                if F.host is None:
                    F.host = Fast(self, F)

    # ---- the namespace
    def namespace(self):
        inst = self.inst
        # an ahead-of-time module: its globals are the namespace
        ns = {} if self.aot is None else self.aot.__dict__
        ns["LIM"] = NEST if NEST < self.maxd else self.maxd
        ns["Trap"] = Trap
        ns["RecursionError"] = RecursionError
        ns["MEMERR"] = _MEMERR
        ns["MEM"] = inst.memory
        memops.bind_accessors(ns, inst.memory is not None and inst.memory.paged)
        for op in list(range(0x45, 0xC5)) + list(range(0xE0, 0xE8)):
            ns["N_%02X" % op] = numeric.lazy(op)
        for i in range(len(inst.globals)):
            ns["G%d" % i] = inst.globals[i]
        for i in range(len(inst.tables)):
            ns["TB%d" % i] = inst.tables[i]
        for i in range(len(inst.types)):
            ns["TY%d" % i] = inst.types[i]
        funcs = inst.funcs
        for i in range(len(funcs)):
            F = funcs[i]
            ns["FN%d" % i] = F
            if F.inst is inst and F.host is None and F.code is not None:
                if self.aot is None or i not in self.aot.FUNCS:
                    ns["f%d" % i] = self._stub(i)
            else:
                ns["f%d" % i] = self._foreign(F)
        self._helpers(ns)
        if getattr(self.aot, "VIPER", False):
            from . import viperrt
            viperrt.install(ns, self)
        return ns

    def _stub(self, idx):
        def stub(*a):
            return self.ensure(idx)(*a)
        return stub

    def _foreign(self, F):
        """A callable for an imported function: a host function, or another instance's."""
        nres = F.nres
        state = self
        if F.host is not None and not F.host.fast:
            h = F.host
            name = F.name or F.idx

            def host(*a):
                try:
                    r = h.call_bits(list(a[:-1]))
                except (WasmError, Exit, KeyboardInterrupt):
                    raise
                except MemoryError:
                    raise Trap("out of memory in host function")
                except Exception as e:
                    raise Trap("host function %s failed: %s: %s" % (name, type(e).__name__, e))
                if nres == 0:
                    return None
                if nres == 1:
                    return r[0]
                return tuple(r)
            return host

        def other(*a):
            h = F.host
            if h is not None and h.fast and h.state.limits.fuel is None:
                return h.state.ns["f%d" % F.idx](*a)
            return state.run_interp(F, a[:-1], a[-1])
        return other

    def callable_of(self, F):
        c = self.cache.get(F)
        if c is None:
            if F.inst is self.inst and F.code is not None:
                c = self.ns["f%d" % F.idx]
            else:
                c = self._foreign(F)
            self.cache[F] = c
        return c

    def run_interp(self, F, args, d):
        """Run F at wasm depth d in the interpreter (which then calls no compiled code)."""
        if d > self.maxd:
            raise Trap("call stack exhausted")
        b = interp.Budget(self.limits)
        b.max_depth = self.maxd - d
        b.base = d
        b.nofast = True
        return _results(interp.execute(F, list(args), None, b), F.nres)

    def _helpers(self, ns):
        inst = self.inst
        state = self
        funcs = inst.funcs

        def deep(F, args, d):
            return state.run_interp(F, args, d)
        ns["DEEP"] = deep
        _float_helpers(ns)

        def tb(e, idx):
            _tb(e, funcs[idx])
        ns["TB"] = tb

        def oob(idx):
            return Trap("out of bounds memory access", [_frame(funcs[idx])])
        ns["OOB"] = oob

        def depth(idx):
            return Trap("call stack exhausted", [_frame(funcs[idx])])
        ns["DEPTH"] = depth

        cache = self.cache

        def ci(tab, i, ft):
            el = tab.elems
            if i >= len(el):
                raise Trap("undefined element")
            f = el[i]
            if f is None:
                raise Trap("uninitialized element")
            if f.ftype != ft:
                raise Trap("indirect call type mismatch")
            c = cache.get(f)
            if c is None:
                c = state.callable_of(f)
            return c
        ns["CI"] = ci

        def tget(tab, i):
            el = tab.elems
            if i >= len(el):
                raise Trap("out of bounds table access")
            return el[i]
        ns["TGET"] = tget

        def tset(tab, i, v):
            el = tab.elems
            if i >= len(el):
                raise Trap("out of bounds table access")
            el[i] = v
        ns["TSET"] = tset

        _bulk_names(ns, inst)

    # ---- compiling
    def source(self, idx):
        from .fastgen import FuncInfo, function_source
        if self.info is None:
            self.info = FuncInfo(self.inst.module.decoded)
        return function_source(self.info, idx, self.code)[0]

    def ensure(self, idx):
        """Compile function idx (once); -> its Python callable (compiled or interpreted)."""
        ns = self.ns
        if idx in self.done:
            return ns["f%d" % idx]
        self.done.add(idx)
        F = self.inst.funcs[idx]
        from .fastgen import Unsupported
        try:
            src = self.source(idx)
            exec(compile(src, "<wasm f%d>" % idx, "exec"), ns)
            self.compiled += 1
        except Unsupported as e:
            self._fallback(idx, str(e))
        except (SyntaxError, MemoryError, RecursionError) as e:
            self._fallback(idx, "%s: %s" % (type(e).__name__, e))
        fn = ns["f%d" % idx]
        self.cache[F] = fn
        return fn

    def _fallback(self, idx, reason):
        self.fallbacks[idx] = reason
        F = self.inst.funcs[idx]
        if isinstance(F.host, Fast):
            F.host = None
        state = self

        def interpreted(*a):
            return state.run_interp(F, a[:-1], a[-1])
        self.ns["f%d" % idx] = interpreted

    def install(self, idx):
        """Put function idx in the fast tier (compiled when it first runs)."""
        F = self.inst.funcs[idx]
        if F.host is None and idx not in self.fallbacks:
            F.host = Fast(self, F)

    def install_all(self):
        for F in self.inst.funcs:
            if F.inst is self.inst and F.code is not None:
                self.install(F.idx)

    def compile_all(self):
        for F in self.inst.funcs:
            if F.inst is self.inst and F.code is not None:
                self.install(F.idx)
                self.ensure(F.idx)


# ---------------------------------------------------------------- tiers

TIER = "interp"
HOT = 8             # samples (every interp.SLICE loop iterations or calls) before compiling
AUTO_SLICE = 64
_saved_slice = []


def state_of(inst):
    st = getattr(inst, "fast_state", None)
    if st is None:
        st = State(inst)
        inst.fast_state = st
    return st


def _on_instance(inst):
    if AOT:
        mod = AOT.get(module_hash(inst.module.data))
        if mod is not None and getattr(inst, "fast_state", None) is None:
            inst.fast_state = State(inst, mod)
    if TIER == "fast":
        state_of(inst).install_all()


# ---------------------------------------------------------------- ahead-of-time modules

AOT_FORMAT = 1
AOT = {}            # module hash -> loaded ahead-of-time module


def module_hash(data):
    """The hex SHA-256 of a module's bytes (what an ahead-of-time module is keyed by)."""
    import hashlib
    h = hashlib.sha256(data).digest()
    return "".join(["%02x" % b for b in h])


def aot_name(stem, digest, board=None):
    """The file name (without .mpy) of the ahead-of-time module of `stem`.wasm: `<stem>_<hash16>`
    (the name on the board), `<stem>_<hash16>_<board>` as `mpwasi compile --board` writes it."""
    return "%s_%s" % (stem, digest[:16]) + ("_" + board if board else "")


def use_aot(mod):
    """Register a loaded ahead-of-time module: instances of the module with its hash use it."""
    if getattr(mod, "FORMAT", None) != AOT_FORMAT:
        raise ValueError("not an mpwasi ahead-of-time module (format %r, want %d)" % (
            getattr(mod, "FORMAT", None), AOT_FORMAT))
    if mod.FDOM and not (numeric.HOST_DOUBLE and not numeric.SOFT):
        raise ValueError("this ahead-of-time module needs double-precision floats")
    AOT[mod.HASH] = mod
    from . import runtime
    runtime.instance_hook = _on_instance


def load_aot(directory, name):
    """Import the ahead-of-time module `name` from `directory`, as a fresh module object."""
    sys.path.insert(0, directory)
    try:
        mod = __import__(name)
    finally:
        sys.path.pop(0)
        if name in sys.modules:
            del sys.modules[name]  # the next import makes a new module (its globals are per instance)
    return mod


# a board loads an ahead-of-time .mpy only if it takes at most 1/AOT_SHARE of the free heap (its
# code lives in the heap): the program keeps the rest, and runs in the interpreter otherwise
AOT_SHARE = 3


def _fits(path):
    try:
        import gc
        free = gc.mem_free()
    except (ImportError, AttributeError):
        return True  # (CPython: no fixed heap)
    import os
    try:
        size = os.stat(path)[6]
    except OSError:
        return False
    if size * AOT_SHARE <= free:
        return True
    gc.collect()
    return size * AOT_SHARE <= gc.mem_free()


def find_aot(path):
    """If `<stem>_<hash16>.mpy` for the module file at `path` sits next to it (else one of the
    `<stem>_<hash16>_<board>.mpy` that `mpwasi compile` writes), load and register it: the first
    that loads here. -> the module, or None."""
    i = path.rfind("/")
    directory = path[:i] if i > 0 else ("/" if i == 0 else ".")
    stem = path[i + 1:]
    if stem.endswith(".wasm"):
        stem = stem[:-5]
    with open(path, "rb") as f:
        digest = module_hash(f.read())
    name = aot_name(stem, digest)
    import os
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return None
    for n in [name + ".mpy"] + [n for n in names if n.startswith(name + "_") and n.endswith(".mpy")]:
        if n not in names or not _fits(directory + "/" + n):
            continue
        try:
            mod = load_aot(directory, n[:-4])
        except (ImportError, ValueError, SyntaxError, MemoryError):
            # e.g. a .mpy built for another architecture or MicroPython version: run without it
            continue
        if getattr(mod, "HASH", None) != digest:
            continue
        try:
            use_aot(mod)
        except ValueError:  # built for other floats than this engine computes with
            continue
        return mod
    return None


def _on_viper_instance(inst):
    from . import viperrt
    viperrt.on_instance(state_of(inst), Fast)


def _on_hot(F):
    """interp.tier_hook: F ran a loop or was called when a fuel slice ran out."""
    if interp.debug_hook is not None or F.host is not None or F.code is None:
        return
    n = getattr(F, "hot", 0) + 1
    F.hot = n
    if n >= HOT:
        st = state_of(F.inst)
        st.install(F.idx)
        st.ensure(F.idx)


def set_tier(name):
    """"interp": the interpreter only; "fast": every function compiled before it first runs;
    "auto": functions compiled once they are hot. Applies to instances created afterwards
    (and, for "auto", to functions of existing instances that become hot)."""
    global TIER
    from . import runtime
    if name not in ("interp", "fast", "auto", "viper", "viper-strict"):
        raise ValueError("tier must be 'interp', 'fast', 'auto' or 'viper', not %r" % (name,))
    if name.startswith("viper"):
        # i32 functions compiled to @micropython.viper as each instance is created, the others
        # to the fast tier (MicroPython with the native emitter only; mpwasi/viperrt.py);
        # "viper-strict": the code for architectures that fault on unaligned words
        if not MICROPYTHON:
            raise ValueError("the viper tier needs MicroPython")
        from . import viperrt
        viperrt.STRICT = name == "viper-strict"
        TIER = name
        runtime.instance_hook = _on_viper_instance
        interp.tier_hook = None
        return
    TIER = name
    runtime.instance_hook = _on_instance if name == "fast" else None
    if name == "auto":
        if not _saved_slice:
            _saved_slice.append(interp.SLICE)
        interp.SLICE = AUTO_SLICE
        interp.tier_hook = _on_hot
    else:
        interp.tier_hook = None
        if _saved_slice:
            interp.SLICE = _saved_slice.pop()


def get_tier():
    return TIER


def report(inst):
    """(number of compiled functions, {function index: why it runs in the interpreter})"""
    st = getattr(inst, "fast_state", None)
    if st is None:
        return 0, {}
    return st.compiled, dict(st.fallbacks)
