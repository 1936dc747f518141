"""Integer and float semantics of WebAssembly, on bit patterns.

Every value is a non-negative int holding its bits (i32 < 2**32, f64 as its IEEE bits...).
Float operations take the native path (nativefloat.py, host doubles) when the host float is a
64-bit double, and the integer softfloat (softfloat.py) when it is single precision or when
softfloat is forced (force_softfloat(), or MPWASI_SOFTFLOAT=1 on CPython).

fn(op) is the function of numeric opcode op (0x45..0xC4 and, at 0xE0 + n, the 0xFC-prefixed
saturating truncations); is_binary(op) whether it takes two operands. The integer operations
(intops.py) and the float code are loaded when fn first needs them: a board running a program
that executes none of them keeps them out of the heap. When the float path changes
(force_softfloat) GEN counts up, so holders of the functions fn gave know to ask again.
"""

import sys as _sys

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

F32_CANON = 0x7FC00000
F64_CANON = 0x7FF8000000000000


def _detect_double():
    # a host double keeps 2**52 + 1 - 2**52 == 1; a single float loses it
    x = 2.0 ** 52
    return (x + 1.0) - x == 1.0 and 1.0 / 3.0 != 0.3333333432674408


HOST_DOUBLE = _detect_double()
SOFT = False


def s32(a):
    return a - 0x100000000 if a & 0x80000000 else a


def s64(a):
    return a - 0x10000000000000000 if a & 0x8000000000000000 else a


# (nativefloat's int/double views of one 8-byte buffer once native floats are installed, for the
# interpreter's inline f64 arithmetic; None without them)
FVIEWS = None
# counts the changes of the float path (holders of the functions fn gave compare it to ask again)
GEN = 0
_INT = []     # [intops.table()] once loaded
_FLOAT = []   # [{opcode: float function}] of the float path SOFT names, once loaded


def is_binary(op):
    """Whether numeric opcode op (as fn takes it) has two operands."""
    # i32 comparisons; i64 and float comparisons; i32, i64, f32, f64 arithmetic
    return (0x46 <= op <= 0x4F or 0x51 <= op <= 0x66 or 0x6A <= op <= 0x78 or 0x7C <= op <= 0x8A
            or 0x92 <= op <= 0x98 or 0xA0 <= op <= 0xA6)


def fn(op):
    """The function of numeric opcode op (bits in, bits out); None for an opcode that is not a
    numeric one."""
    if not _INT:
        from . import intops
        _INT.append(intops.table())
    f = _INT[0].get(op)
    if f is None:
        if not _FLOAT:
            floats()
        f = _FLOAT[0].get(op)
    return f


def lazy(op):
    """fn(op), except for a float op before the float code is loaded: a function that loads it at
    its first call (compiled code binds every op's function; a program without floats never
    loads them)."""
    if _FLOAT:
        return fn(op)
    from . import floatops
    if op not in floatops.NAMES:
        return fn(op)
    if is_binary(op):
        return lambda a, b: fn(op)(a, b)
    return lambda a: fn(op)(a)


def floats():
    """Loads the float operations SOFT names (MicroPython does it at the first float operation a
    program executes: a program that executes none never loads nativefloat/softfloat)."""
    if not _FLOAT:
        force_softfloat(SOFT)


def force_softfloat(on=True):
    """Compute every float operation with the integer softfloat (exact on any host)."""
    global SOFT, FVIEWS, GEN
    from . import floatops
    if _FLOAT:
        GEN += 1  # (a change of the float path; their first load changes no entry)
    if on:
        from . import softfloat
        t = {}
        for op in floatops.NAMES:
            t[op] = getattr(softfloat, floatops.NAMES[op])
        SOFT = True
        FVIEWS = None
    else:
        from . import nativefloat
        named = nativefloat.build_native()
        t = {}
        for op in floatops.NAMES:
            t[op] = named[floatops.NAMES[op]]
        SOFT = False
        FVIEWS = getattr(nativefloat, "MQ", None) and (nativefloat.MQ, nativefloat.MD)
    del _FLOAT[:]
    _FLOAT.append(t)


def is_softfloat():
    return SOFT


def _env_soft():
    try:
        import os
        return os.getenv("MPWASI_SOFTFLOAT") not in (None, "", "0")
    except Exception:
        return False


SOFT = not (HOST_DOUBLE and not _env_soft())
if _sys.implementation.name != "micropython":
    floats()  # (a desktop has the room; the interpreter's inline f64 path wants the views at once)
