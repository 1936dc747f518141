"""What the viper tier's generated code (vipergen.py) calls at run time, put into the namespace of
an ahead-of-time module built with viper functions (fastrt.State does it when the module says
VIPER). Values arrive as canonical i32s (sign-extended ints) and leave as ints the viper code
turns back into machine words with int() (which truncates to the word).
"""

import sys

from .errors import Trap, RecursionError
from . import numeric

M32 = 0xFFFFFFFF

if sys.implementation.name == "micropython":
    _BOARD = sys.platform not in ("linux", "darwin", "windows", "win32")
    # viper-to-viper calls nest on the C stack (a viper frame is smaller than a bytecode one)
    VNEST = 24 if _BOARD else 100
else:
    VNEST = 100


def install(ns, state):
    inst = state.inst
    funcs = inst.funcs
    mem = inst.memory
    maxd = state.maxd
    ns["VLIM"] = VNEST if VNEST < maxd else maxd

    def deepv(idx, d, *args):
        r = state.run_interp(funcs[idx], [a & M32 for a in args], d)
        return 0 if r is None else r
    ns["DEEPV"] = deepv

    def ic(idx, d, *args):
        # a call of a function left to the interpreter (not in the ahead-of-time module)
        return state.run_interp(funcs[idx], list(args), d)
    ns["IC"] = ic

    def vn(op, a, b):
        return numeric.fn(op)(a & M32, b & M32)
    ns["VN"] = vn

    def vu(op, a):
        return numeric.fn(op)(a & M32)
    ns["VU"] = vu

    def gset(g, v):
        g.bits = v & M32
    ns["GSET"] = gset

    def vgrow(n):
        return mem.grow(n & M32)
    ns["VGROW"] = vgrow

    # what viper code raises past the end of memory (one instance: raising it needs no call);
    # the adapter replaces it by a fresh Trap
    ns["OOBX"] = oobx = Trap("out of bounds memory access")
    # a memory that became paged (runtime.Memory.paged) while viper code ran: it has no address
    ns["PAGEDX"] = Trap("out of memory: linear memory became paged under viper code "
                        "(run with Limits(paged=False) or without the viper .mpy)")

    # an unaligned 16/32-bit access on architectures that fault on them (bounds checked): bytewise
    def lu(op, a):
        d = mem.data
        a &= M32
        v = d[a] | d[a + 1] << 8
        if op == 0x28:
            return v | d[a + 2] << 16 | d[a + 3] << 24
        return v - 0x10000 if op == 0x2E and v & 0x8000 else v
    ns["LU"] = lu

    def su(op, a, v):
        d = mem.data
        a &= M32
        for i in range(4 if op == 0x36 else 2):
            d[a + i] = (v >> (8 * i)) & 255
    ns["SU"] = su

    lim = ns["LIM"]

    def vadapt(V, idx, nres):
        F = funcs[idx]
        frame = (idx, F.name, F.start)

        def adapter(*a):
            # entered from Python code (the engine, a shim, another tier): past the fast tier's
            # nesting limit the interpreter takes over, as for fast-tier code
            if a[-1] > lim:
                r = state.run_interp(F, a[:-1], a[-1])
                return r if nres else None
            try:
                r = V(*a)
            except Trap as e:
                if e is oobx:
                    e = Trap("out of bounds memory access")
                e.fast = True
                if len(e.frames) < 64:
                    e.frames.append(frame)
                raise e
            except RecursionError:
                raise Trap("call stack exhausted", [frame])
            return r & M32 if nres else None
        return adapter
    ns["VADAPT"] = vadapt


# ---------------------------------------------------------------- the viper tier at run time
# (tier "viper": the unix port compiles each new instance's i32 functions to viper when it is
# created, exec'ing the source; the others go to the fast tier. A board gets the same code ahead
# of time in a .mpy instead: host_tools/aot.py.)

STRICT = False      # generate the strict-alignment code (as for armv6m) even where not needed
TOTALS = {"viper": 0, "fallback": 0}
REASONS = {}


def word_bits():
    return 64 if sys.maxsize > 0xFFFFFFFF else 32


def _to_fast(ns, idx, nres):
    """V<idx> for a function whose viper code did not compile: its fast-tier code, called with
    canonical ints (the result canonical too)."""
    name = "f%d" % idx

    def v(*a):
        r = ns[name](*([x & M32 for x in a[:-1]] + [a[-1]]))
        if not nres:
            return None
        return r - 0x100000000 if r & 0x80000000 else r
    return v


def on_instance(st, fast_host):
    """Tier "viper" for a new instance (fastrt's instance hook calls it with the instance's
    fastrt.State and fastrt.Fast, so this module never imports fastrt)."""
    from . import vipergen
    inst = st.inst
    install(st.ns, st)
    if st.info is None:
        st.info = vipergen.FuncInfo(inst.module.decoded)
    imported = False
    for imp in inst.module.decoded.imports:
        if imp[2] == 2:
            imported = True
    out, shims, why = vipergen.module_functions(st.info, st.code, word_bits(), STRICT, imported)
    src = "import micropython\n" + shims + "\n" + "\n".join([out[i] for i in sorted(out)])
    ns = st.ns
    funcs = inst.funcs
    try:
        exec(src, ns)
    except (SyntaxError, MemoryError):  # (a ViperTypeError is a SyntaxError): one by one
        for i in sorted(out):
            try:
                exec("import micropython\n" + out[i], ns)
            except (SyntaxError, MemoryError) as e:
                why[i] = "%s: %s" % (type(e).__name__, e)
                ns["V%d" % i] = _to_fast(ns, i, funcs[i].nres)
        for i in why:
            if i in out:
                del out[i]
    for idx in out:
        F = funcs[idx]
        ns["f%d" % idx] = ns["VADAPT"](ns["V%d" % idx], idx, F.nres)
        st.done.add(idx)
        st.compiled += 1
        F.host = fast_host(st, F)
        st.cache[F] = ns["f%d" % idx]
    st.viper = sorted(out)
    st.viper_fallbacks = why
    TOTALS["viper"] += len(out)
    TOTALS["fallback"] += len(why)
    for i in why:
        r = why[i]
        REASONS[r] = REASONS.get(r, 0) + 1
    st.install_all()
