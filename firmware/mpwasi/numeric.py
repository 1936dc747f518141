"""Integer and float semantics of WebAssembly, on bit patterns.

Every value is a non-negative int holding its bits (i32 < 2**32, f64 as its IEEE bits...).
Float operations take the native path (nativefloat.py, host doubles) when the host float is a
64-bit double, and the integer softfloat (softfloat.py) when it is single precision or when
softfloat is forced (force_softfloat(), or MPWASI_SOFTFLOAT=1 on CPython).

UN[op] and BIN[op] are the operation tables the interpreter dispatches numeric opcodes through
(0x45..0xC4 and, at 0xE0 + n, the 0xFC-prefixed saturating truncations). They are mutated in
place when the float path changes, so holders of the lists see the change. On MicroPython the
float entries start as stubs that load the float code (floats()) at the first float operation
executed, so a program without one keeps nativefloat/softfloat out of the heap.
"""

import sys as _sys

from .errors import Trap

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


# ---------------------------------------------------------------- integers

def s32(a):
    return a - 0x100000000 if a & 0x80000000 else a


def s64(a):
    return a - 0x10000000000000000 if a & 0x8000000000000000 else a


def clz(x, bits):
    if x == 0:
        return bits
    return bits - (len(bin(x)) - 2)


def ctz(x, bits):
    if x == 0:
        return bits
    n = 0
    while not x & 0xFFFF:
        x >>= 16
        n += 16
    while not x & 1:
        x >>= 1
        n += 1
    return n


def popcnt(x):
    return bin(x).count("1")


def i32_div_s(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    a = s32(a)
    b = s32(b)
    if a == -0x80000000 and b == -1:
        raise Trap("integer overflow")
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q & M32


def i32_div_u(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    return a // b


def i32_rem_s(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    a = s32(a)
    b = s32(b)
    r = abs(a) % abs(b)
    if a < 0:
        r = -r
    return r & M32


def i32_rem_u(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    return a % b


def i64_div_s(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    a = s64(a)
    b = s64(b)
    if a == -0x8000000000000000 and b == -1:
        raise Trap("integer overflow")
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q & M64


def i64_div_u(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    return a // b


def i64_rem_s(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    a = s64(a)
    b = s64(b)
    r = abs(a) % abs(b)
    if a < 0:
        r = -r
    return r & M64


def i64_rem_u(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    return a % b


def i32_rotl(a, b):
    k = b & 31
    return ((a << k) | (a >> (32 - k))) & M32


def i32_rotr(a, b):
    k = b & 31
    return ((a >> k) | (a << (32 - k))) & M32


def i64_rotl(a, b):
    k = b & 63
    return ((a << k) | (a >> (64 - k))) & M64


def i64_rotr(a, b):
    k = b & 63
    return ((a >> k) | (a << (64 - k))) & M64


def i32_shr_s(a, b):
    return (s32(a) >> (b & 31)) & M32


def i64_shr_s(a, b):
    return (s64(a) >> (b & 63)) & M64


def _sext(bits_in, mask_out):
    sign = 1 << (bits_in - 1)
    low = (1 << bits_in) - 1

    def f(a):
        a &= low
        if a & sign:
            a -= 1 << bits_in
        return a & mask_out
    return f


def _sign_ops(t):
    t["f32_neg"] = lambda a: a ^ 0x80000000
    t["f32_abs"] = lambda a: a & 0x7FFFFFFF
    t["f32_copysign"] = lambda a, b: (a & 0x7FFFFFFF) | (b & 0x80000000)
    t["f64_neg"] = lambda a: a ^ 0x8000000000000000
    t["f64_abs"] = lambda a: a & 0x7FFFFFFFFFFFFFFF
    t["f64_copysign"] = lambda a, b: (a & 0x7FFFFFFFFFFFFFFF) | (b & 0x8000000000000000)


# opcode -> name of the float function (unary or binary)
_FLOAT_OPS = {
    0x5B: "f32_eq", 0x5C: "f32_ne", 0x5D: "f32_lt", 0x5E: "f32_gt", 0x5F: "f32_le", 0x60: "f32_ge",
    0x61: "f64_eq", 0x62: "f64_ne", 0x63: "f64_lt", 0x64: "f64_gt", 0x65: "f64_le", 0x66: "f64_ge",
    0x8B: "f32_abs", 0x8C: "f32_neg", 0x8D: "f32_ceil", 0x8E: "f32_floor", 0x8F: "f32_trunc",
    0x90: "f32_nearest", 0x91: "f32_sqrt", 0x92: "f32_add", 0x93: "f32_sub", 0x94: "f32_mul",
    0x95: "f32_div", 0x96: "f32_min", 0x97: "f32_max", 0x98: "f32_copysign",
    0x99: "f64_abs", 0x9A: "f64_neg", 0x9B: "f64_ceil", 0x9C: "f64_floor", 0x9D: "f64_trunc",
    0x9E: "f64_nearest", 0x9F: "f64_sqrt", 0xA0: "f64_add", 0xA1: "f64_sub", 0xA2: "f64_mul",
    0xA3: "f64_div", 0xA4: "f64_min", 0xA5: "f64_max", 0xA6: "f64_copysign",
    0xA8: "i32_trunc_f32_s", 0xA9: "i32_trunc_f32_u", 0xAA: "i32_trunc_f64_s",
    0xAB: "i32_trunc_f64_u", 0xAE: "i64_trunc_f32_s", 0xAF: "i64_trunc_f32_u",
    0xB0: "i64_trunc_f64_s", 0xB1: "i64_trunc_f64_u",
    0xB2: "f32_convert_i32_s", 0xB3: "f32_convert_i32_u", 0xB4: "f32_convert_i64_s",
    0xB5: "f32_convert_i64_u", 0xB6: "f32_demote_f64", 0xB7: "f64_convert_i32_s",
    0xB8: "f64_convert_i32_u", 0xB9: "f64_convert_i64_s", 0xBA: "f64_convert_i64_u",
    0xBB: "f64_promote_f32",
    0xE0: "i32_trunc_sat_f32_s", 0xE1: "i32_trunc_sat_f32_u", 0xE2: "i32_trunc_sat_f64_s",
    0xE3: "i32_trunc_sat_f64_u", 0xE4: "i64_trunc_sat_f32_s", 0xE5: "i64_trunc_sat_f32_u",
    0xE6: "i64_trunc_sat_f64_s", 0xE7: "i64_trunc_sat_f64_u",
}

_BINARY_FLOAT = ("add", "sub", "mul", "div", "min", "max", "copysign", "eq", "ne", "lt", "gt",
                 "le", "ge")

UN = [None] * 256
BIN = [None] * 256


def _int_tables():
    M = M32
    L = M64
    b = BIN
    u = UN
    u[0x45] = lambda a: 1 if a == 0 else 0
    b[0x46] = lambda a, c: 1 if a == c else 0
    b[0x47] = lambda a, c: 1 if a != c else 0
    b[0x48] = lambda a, c: 1 if s32(a) < s32(c) else 0
    b[0x49] = lambda a, c: 1 if a < c else 0
    b[0x4A] = lambda a, c: 1 if s32(a) > s32(c) else 0
    b[0x4B] = lambda a, c: 1 if a > c else 0
    b[0x4C] = lambda a, c: 1 if s32(a) <= s32(c) else 0
    b[0x4D] = lambda a, c: 1 if a <= c else 0
    b[0x4E] = lambda a, c: 1 if s32(a) >= s32(c) else 0
    b[0x4F] = lambda a, c: 1 if a >= c else 0
    u[0x50] = u[0x45]
    b[0x51] = b[0x46]
    b[0x52] = b[0x47]
    b[0x53] = lambda a, c: 1 if s64(a) < s64(c) else 0
    b[0x54] = b[0x49]
    b[0x55] = lambda a, c: 1 if s64(a) > s64(c) else 0
    b[0x56] = b[0x4B]
    b[0x57] = lambda a, c: 1 if s64(a) <= s64(c) else 0
    b[0x58] = b[0x4D]
    b[0x59] = lambda a, c: 1 if s64(a) >= s64(c) else 0
    b[0x5A] = b[0x4F]
    u[0x67] = lambda a: clz(a, 32)
    u[0x68] = lambda a: ctz(a, 32)
    u[0x69] = popcnt
    b[0x6A] = lambda a, c: (a + c) & M
    b[0x6B] = lambda a, c: (a - c) & M
    b[0x6C] = lambda a, c: (a * c) & M
    b[0x6D] = i32_div_s
    b[0x6E] = i32_div_u
    b[0x6F] = i32_rem_s
    b[0x70] = i32_rem_u
    b[0x71] = lambda a, c: a & c
    b[0x72] = lambda a, c: a | c
    b[0x73] = lambda a, c: a ^ c
    b[0x74] = lambda a, c: (a << (c & 31)) & M
    b[0x75] = i32_shr_s
    b[0x76] = lambda a, c: a >> (c & 31)
    b[0x77] = i32_rotl
    b[0x78] = i32_rotr
    u[0x79] = lambda a: clz(a, 64)
    u[0x7A] = lambda a: ctz(a, 64)
    u[0x7B] = popcnt
    b[0x7C] = lambda a, c: (a + c) & L
    b[0x7D] = lambda a, c: (a - c) & L
    b[0x7E] = lambda a, c: (a * c) & L
    b[0x7F] = i64_div_s
    b[0x80] = i64_div_u
    b[0x81] = i64_rem_s
    b[0x82] = i64_rem_u
    b[0x83] = b[0x71]
    b[0x84] = b[0x72]
    b[0x85] = b[0x73]
    b[0x86] = lambda a, c: (a << (c & 63)) & L
    b[0x87] = i64_shr_s
    b[0x88] = lambda a, c: a >> (c & 63)
    b[0x89] = i64_rotl
    b[0x8A] = i64_rotr
    u[0xA7] = lambda a: a & M
    u[0xAC] = _sext(32, L)
    u[0xAD] = lambda a: a
    u[0xBC] = lambda a: a
    u[0xBD] = lambda a: a
    u[0xBE] = lambda a: a
    u[0xBF] = lambda a: a
    u[0xC0] = _sext(8, M)
    u[0xC1] = _sext(16, M)
    u[0xC2] = _sext(8, L)
    u[0xC3] = _sext(16, L)
    u[0xC4] = _sext(32, L)


def _install(t):
    _sign_ops(t)
    for op in _FLOAT_OPS:
        nm = _FLOAT_OPS[op]
        if nm[4:] in _BINARY_FLOAT:
            BIN[op] = t[nm]
        else:
            UN[op] = t[nm]


# (nativefloat's int/double views of one 8-byte buffer once native floats are installed, for the
# interpreter's inline f64 arithmetic; None without them)
FVIEWS = None
# counts the installs of float code (holders of copies of UN/BIN compare it to copy them again)
GEN = 0


def _stub(op, binary):
    # a float entry before the float code is loaded: loads it, then does the operation
    if binary:
        def f(a, b):
            floats()
            return BIN[op](a, b)
    else:
        def f(a):
            floats()
            return UN[op](a)
    return f


def _stubs():
    for op in _FLOAT_OPS:
        if _FLOAT_OPS[op][4:] in _BINARY_FLOAT:
            BIN[op] = _stub(op, True)
        else:
            UN[op] = _stub(op, False)


_loaded = []


def floats():
    """Install the float operations SOFT names (MicroPython does it at the first float operation a
    program executes: a program that executes none never loads nativefloat/softfloat)."""
    if not _loaded:
        force_softfloat(SOFT)


def force_softfloat(on=True):
    """Compute every float operation with the integer softfloat (exact on any host)."""
    global SOFT, FVIEWS, GEN
    if not _loaded:
        _loaded.append(1)
    GEN += 1
    if on:
        from . import softfloat
        t = {}
        for op in _FLOAT_OPS:
            nm = _FLOAT_OPS[op]
            t[nm] = getattr(softfloat, nm)
        for nm in ("f32_neg", "f32_abs", "f32_copysign", "f64_neg", "f64_abs", "f64_copysign"):
            t[nm] = getattr(softfloat, nm)
        _install(t)
        SOFT = True
        FVIEWS = None
    else:
        from . import nativefloat
        _install(nativefloat.build_native())
        SOFT = False
        FVIEWS = getattr(nativefloat, "MQ", None) and (nativefloat.MQ, nativefloat.MD)


def is_softfloat():
    return SOFT


_int_tables()


def _env_soft():
    try:
        import os
        return os.getenv("MPWASI_SOFTFLOAT") not in (None, "", "0")
    except Exception:
        return False


SOFT = not (HOST_DOUBLE and not _env_soft())
_stubs()
if _sys.implementation.name != "micropython":
    floats()  # (a desktop has the room; the interpreter's inline f64 path wants the views at once)
