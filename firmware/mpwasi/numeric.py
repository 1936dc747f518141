"""Integer and float semantics of WebAssembly, on bit patterns.

Every value is a non-negative int holding its bits (i32 < 2**32, f64 as its IEEE bits...).
Float operations take the native path (host doubles through struct) when the host float is a
64-bit double, and the integer softfloat (softfloat.py) when it is single precision or when
softfloat is forced (force_softfloat(), or MPWASI_SOFTFLOAT=1 on CPython).

UN[op] and BIN[op] are the operation tables the interpreter dispatches numeric opcodes through
(0x45..0xC4 and, at 0xE0 + n, the 0xFC-prefixed saturating truncations). They are mutated in
place when the float path changes, so holders of the lists see the change.
"""

import math
import struct

from .errors import Trap

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
_pack = struct.pack
_unpack = struct.unpack

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


# ---------------------------------------------------------------- native floats

def d(a):
    return _unpack("<d", _pack("<Q", a))[0]


def q(x):
    return _unpack("<Q", _pack("<d", x))[0]


def f(a):
    return _unpack("<f", _pack("<I", a))[0]


def fbits(x):
    """A double rounded to the nearest single (ties to even), as f32 bits."""
    try:
        return _unpack("<I", _pack("<f", x))[0]
    except OverflowError:
        return 0xFF800000 if x < 0 else 0x7F800000


def _is_nan64(a):
    return (a & 0x7FFFFFFFFFFFFFFF) > 0x7FF0000000000000


def _is_nan32(a):
    return (a & 0x7FFFFFFF) > 0x7F800000


def _q32(a):
    return a | 0x00400000


def _q64(a):
    return a | 0x0008000000000000


# f32 arithmetic: exact in double, then one rounding to single (correct for + - * / sqrt)

def nf32_add(a, b):
    return fbits(f(a) + f(b))


def nf32_sub(a, b):
    return fbits(f(a) - f(b))


def nf32_mul(a, b):
    return fbits(f(a) * f(b))


def nf32_div(a, b):
    return fbits(_fdiv(f(a), f(b)))


def _fdiv(x, y):
    if y == 0.0:
        if x != x or x == 0.0:
            return math.nan
        neg = (math.copysign(1.0, x) < 0) != (math.copysign(1.0, y) < 0)
        return -math.inf if neg else math.inf
    return x / y


def _sqrt(x):
    if x != x:
        return x
    if x < 0.0:
        return math.nan
    if x == 0.0 or x == math.inf:
        return x
    return math.sqrt(x)


def _fix_nan32(r, a, b):
    # arithmetic result NaN: a propagated input NaN keeps its payload (quieted); else canonical
    if _is_nan32(r):
        if _is_nan32(a):
            return _q32(a)
        if _is_nan32(b):
            return _q32(b)
        return F32_CANON
    return r


def _fix_nan64(r, a, b):
    if _is_nan64(r):
        if _is_nan64(a):
            return _q64(a)
        if _is_nan64(b):
            return _q64(b)
        return F64_CANON
    return r


def _wrap32(op):
    def g(a, b):
        return _fix_nan32(op(a, b), a, b)
    return g


def _wrap64(op):
    def g(a, b):
        return _fix_nan64(op(a, b), a, b)
    return g


def nf32_sqrt(a):
    return _fix_nan32(fbits(_sqrt(f(a))), a, a)


def nf64_add(a, b):
    return _fix_nan64(q(d(a) + d(b)), a, b)


def nf64_sub(a, b):
    return _fix_nan64(q(d(a) - d(b)), a, b)


def nf64_mul(a, b):
    return _fix_nan64(q(d(a) * d(b)), a, b)


def nf64_div(a, b):
    return _fix_nan64(q(_fdiv(d(a), d(b))), a, b)


def nf64_sqrt(a):
    return _fix_nan64(q(_sqrt(d(a))), a, a)


def _minmax(is_nan, quiet, fl, sign_bit, want_min):
    def g(a, b):
        if is_nan(a):
            return quiet(a)
        if is_nan(b):
            return quiet(b)
        x = fl(a)
        y = fl(b)
        if x == y:
            # equal values have equal bits, except ±0: min prefers -0, max +0
            return (a | b) if want_min else (a & b)
        if want_min:
            return a if x < y else b
        return a if x > y else b
    return g


def _round_fn(fl, tob, is_nan, quiet, sign_bit, limit, mode):
    def g(a):
        if is_nan(a):
            return quiet(a)
        x = fl(a)
        if x == 0.0 or x == math.inf or x == -math.inf or abs(x) >= limit:
            return a
        if mode == 0:
            r = float(math.ceil(x))
        elif mode == 1:
            r = float(math.floor(x))
        elif mode == 2:
            r = float(math.trunc(x))
        else:
            fl_ = math.floor(x)
            diff = x - fl_
            if diff > 0.5 or (diff == 0.5 and fl_ % 2 == 1):
                fl_ += 1
            r = float(fl_)
        if r == 0.0:
            return sign_bit if a & sign_bit else 0
        return tob(r)
    return g


def _cmp(fl, kind):
    if kind == 0:
        return lambda a, b: 1 if fl(a) == fl(b) else 0
    if kind == 1:
        return lambda a, b: 1 if fl(a) != fl(b) else 0
    if kind == 2:
        return lambda a, b: 1 if fl(a) < fl(b) else 0
    if kind == 3:
        return lambda a, b: 1 if fl(a) > fl(b) else 0
    if kind == 4:
        return lambda a, b: 1 if fl(a) <= fl(b) else 0
    return lambda a, b: 1 if fl(a) >= fl(b) else 0


def _trunc(fl, is_nan, lo, hi, signed, bits, sat):
    # valid iff lo < x < hi (exclusive bounds as floats, exact values)
    mask = (1 << bits) - 1
    smin = -(1 << (bits - 1)) if signed else 0
    smax = (1 << (bits - 1)) - 1 if signed else mask

    def g(a):
        if is_nan(a):
            if sat:
                return 0
            raise Trap("invalid conversion to integer")
        x = fl(a)
        if not (lo < x < hi):
            if sat:
                return (smin if x < 0 else smax) & mask
            raise Trap("integer overflow")
        return int(x) & mask
    return g


def _round_int_sig(v, sig):
    """Round a non-negative int to `sig` significant bits, ties to even (exact float input)."""
    n = len(bin(v)) - 2
    if n <= sig:
        return v
    sh = n - sig
    q_ = v >> sh
    rem = v - (q_ << sh)
    half = 1 << (sh - 1)
    if rem > half or (rem == half and q_ & 1):
        q_ += 1
    return q_ << sh


def _conv(signed, bits_in, to32):
    sbit = 1 << (bits_in - 1)

    def g(a):
        v = a
        if signed and v & sbit:
            v -= 1 << bits_in
        neg = v < 0
        m = -v if neg else v
        if to32:
            m = _round_int_sig(m, 24)
            x = float(m)
            return fbits(-x if neg else x)
        m = _round_int_sig(m, 53)
        x = float(m)
        return q(-x if neg else x)
    return g


def nf32_demote(a):
    if _is_nan64(a):
        # quiet NaN keeping the top payload bits
        return ((a >> 32) & 0x80000000) | 0x7FC00000 | ((a >> 29) & 0x003FFFFF)
    return fbits(d(a))


def nf64_promote(a):
    if _is_nan32(a):
        return ((a & 0x80000000) << 32) | 0x7FF8000000000000 | ((a & 0x003FFFFF) << 29)
    return q(f(a))


# ---- faster bit <-> float conversions: one 8-byte buffer seen as both an int and a float
# (memoryview.cast on CPython, uctypes on MicroPython); struct above stays the reference.
_BUF = bytearray(8)
try:
    _MQ = memoryview(_BUF).cast("Q")
    _MD = memoryview(_BUF).cast("d")
    _MI = memoryview(_BUF).cast("I")
    _MF = memoryview(_BUF).cast("f")

    def d(a):
        _MQ[0] = a
        return _MD[0]

    def q(x):
        _MD[0] = x
        return _MQ[0]

    def f(a):
        _MI[0] = a
        return _MF[0]

    def fbits(x):
        _MF[0] = x
        return _MI[0]

    def nf64_add(a, b):
        _MQ[0] = a
        x = _MD[0]
        _MQ[0] = b
        _MD[0] = x + _MD[0]
        r = _MQ[0]
        if (r & 0x7FF0000000000000) == 0x7FF0000000000000 and r & 0xFFFFFFFFFFFFF:
            return _fix_nan64(r, a, b)
        return r

    def nf64_sub(a, b):
        _MQ[0] = a
        x = _MD[0]
        _MQ[0] = b
        _MD[0] = x - _MD[0]
        r = _MQ[0]
        if (r & 0x7FF0000000000000) == 0x7FF0000000000000 and r & 0xFFFFFFFFFFFFF:
            return _fix_nan64(r, a, b)
        return r

    def nf64_mul(a, b):
        _MQ[0] = a
        x = _MD[0]
        _MQ[0] = b
        _MD[0] = x * _MD[0]
        r = _MQ[0]
        if (r & 0x7FF0000000000000) == 0x7FF0000000000000 and r & 0xFFFFFFFFFFFFF:
            return _fix_nan64(r, a, b)
        return r

    def _f64_lt(a, b):
        _MQ[0] = a
        x = _MD[0]
        _MQ[0] = b
        return 1 if x < _MD[0] else 0

    def _f64_gt(a, b):
        _MQ[0] = a
        x = _MD[0]
        _MQ[0] = b
        return 1 if x > _MD[0] else 0

    def _f64_le(a, b):
        _MQ[0] = a
        x = _MD[0]
        _MQ[0] = b
        return 1 if x <= _MD[0] else 0

    def _f64_ge(a, b):
        _MQ[0] = a
        x = _MD[0]
        _MQ[0] = b
        return 1 if x >= _MD[0] else 0

    _FAST_CMP = {"f64_lt": _f64_lt, "f64_gt": _f64_gt, "f64_le": _f64_le, "f64_ge": _f64_ge}
except (AttributeError, TypeError, ValueError, NotImplementedError):
    _FAST_CMP = {}
    try:
        import uctypes
        _S = uctypes.struct(uctypes.addressof(_BUF), {"q": uctypes.UINT64 | 0,
                                                      "d": uctypes.FLOAT64 | 0,
                                                      "i": uctypes.UINT32 | 0,
                                                      "f": uctypes.FLOAT32 | 0},
                            uctypes.LITTLE_ENDIAN)

        def d(a):
            _S.q = a
            return _S.d

        def q(x):
            _S.d = x
            return _S.q

        def f(a):
            _S.i = a
            return _S.f

        def fbits(x):
            _S.f = x
            return _S.i
    except (ImportError, AttributeError):
        pass


def _build_native():
    t = {}
    t["f32_add"] = _wrap32(nf32_add)
    t["f32_sub"] = _wrap32(nf32_sub)
    t["f32_mul"] = _wrap32(nf32_mul)
    t["f32_div"] = _wrap32(nf32_div)
    t["f32_sqrt"] = nf32_sqrt
    t["f64_add"] = nf64_add
    t["f64_sub"] = nf64_sub
    t["f64_mul"] = nf64_mul
    t["f64_div"] = nf64_div
    t["f64_sqrt"] = nf64_sqrt
    t["f32_min"] = _minmax(_is_nan32, _q32, f, 0x80000000, True)
    t["f32_max"] = _minmax(_is_nan32, _q32, f, 0x80000000, False)
    t["f64_min"] = _minmax(_is_nan64, _q64, d, 0x8000000000000000, True)
    t["f64_max"] = _minmax(_is_nan64, _q64, d, 0x8000000000000000, False)
    names = ("ceil", "floor", "trunc", "nearest")
    for i in range(4):
        t["f32_" + names[i]] = _round_fn(f, fbits, _is_nan32, _q32, 0x80000000, 8388608.0, i)
        t["f64_" + names[i]] = _round_fn(d, q, _is_nan64, _q64, 0x8000000000000000,
                                         4503599627370496.0, i)
    cn = ("eq", "ne", "lt", "gt", "le", "ge")
    for i in range(6):
        t["f32_" + cn[i]] = _cmp(f, i)
        t["f64_" + cn[i]] = _FAST_CMP.get("f64_" + cn[i]) or _cmp(d, i)
    for fb, fl, isn in (("f32", f, _is_nan32), ("f64", d, _is_nan64)):
        for bits in (32, 64):
            for signed in (True, False):
                if signed:
                    # exclusive bounds, exact as doubles: x > -2**31 - 1, x > -2**63 - 2048
                    lo = -2147483649.0 if bits == 32 else -9223372036854777856.0
                    hi = float(1 << (bits - 1))
                else:
                    lo = -1.0
                    hi = float(1 << bits)
                nm = "i%d_trunc_%s_%s" % (bits, fb, "s" if signed else "u")
                t[nm] = _trunc(fl, isn, lo, hi, signed, bits, False)
                nm = "i%d_trunc_sat_%s_%s" % (bits, fb, "s" if signed else "u")
                t[nm] = _trunc(fl, isn, lo, hi, signed, bits, True)
    t["f32_convert_i32_s"] = _conv(True, 32, True)
    t["f32_convert_i32_u"] = _conv(False, 32, True)
    t["f32_convert_i64_s"] = _conv(True, 64, True)
    t["f32_convert_i64_u"] = _conv(False, 64, True)
    t["f64_convert_i32_s"] = _conv(True, 32, False)
    t["f64_convert_i32_u"] = _conv(False, 32, False)
    t["f64_convert_i64_s"] = _conv(True, 64, False)
    t["f64_convert_i64_u"] = _conv(False, 64, False)
    t["f32_demote_f64"] = nf32_demote
    t["f64_promote_f32"] = nf64_promote
    return t


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


def force_softfloat(on=True):
    """Compute every float operation with the integer softfloat (exact on any host)."""
    global SOFT
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
    else:
        _install(_build_native())
        SOFT = False


def is_softfloat():
    return SOFT


_int_tables()


def _env_soft():
    try:
        import os
        return os.getenv("MPWASI_SOFTFLOAT") not in (None, "", "0")
    except Exception:
        return False


if HOST_DOUBLE and not _env_soft():
    _install(_build_native())
else:
    force_softfloat()
