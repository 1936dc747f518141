"""The host-double float path: WebAssembly f32/f64 operations computed with the host's floats.

Imported by numeric.py only where the host float is a 64-bit double and softfloat is not forced,
so a board with single-precision floats never loads it. Every function takes and returns bit
patterns; NaN results are fixed up to the spec's rules (payload propagation, canonical NaN).
"""

import math
import struct

from .errors import Trap

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
F32_CANON = 0x7FC00000
F64_CANON = 0x7FF8000000000000
_pack = struct.pack
_unpack = struct.unpack


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
    MQ = memoryview(_BUF).cast("Q")
    MD = memoryview(_BUF).cast("d")
    _MI = memoryview(_BUF).cast("I")
    _MF = memoryview(_BUF).cast("f")

    def d(a):
        MQ[0] = a
        return MD[0]

    def q(x):
        MD[0] = x
        return MQ[0]

    def f(a):
        _MI[0] = a
        return _MF[0]

    def fbits(x):
        _MF[0] = x
        return _MI[0]

    def nf64_add(a, b):
        MQ[0] = a
        x = MD[0]
        MQ[0] = b
        MD[0] = x + MD[0]
        r = MQ[0]
        if (r & 0x7FF0000000000000) == 0x7FF0000000000000 and r & 0xFFFFFFFFFFFFF:
            return _fix_nan64(r, a, b)
        return r

    def nf64_sub(a, b):
        MQ[0] = a
        x = MD[0]
        MQ[0] = b
        MD[0] = x - MD[0]
        r = MQ[0]
        if (r & 0x7FF0000000000000) == 0x7FF0000000000000 and r & 0xFFFFFFFFFFFFF:
            return _fix_nan64(r, a, b)
        return r

    def nf64_mul(a, b):
        MQ[0] = a
        x = MD[0]
        MQ[0] = b
        MD[0] = x * MD[0]
        r = MQ[0]
        if (r & 0x7FF0000000000000) == 0x7FF0000000000000 and r & 0xFFFFFFFFFFFFF:
            return _fix_nan64(r, a, b)
        return r

    def _f64_lt(a, b):
        MQ[0] = a
        x = MD[0]
        MQ[0] = b
        return 1 if x < MD[0] else 0

    def _f64_gt(a, b):
        MQ[0] = a
        x = MD[0]
        MQ[0] = b
        return 1 if x > MD[0] else 0

    def _f64_le(a, b):
        MQ[0] = a
        x = MD[0]
        MQ[0] = b
        return 1 if x <= MD[0] else 0

    def _f64_ge(a, b):
        MQ[0] = a
        x = MD[0]
        MQ[0] = b
        return 1 if x >= MD[0] else 0

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


def build_native():
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
    # the sign operations work on the bits alone (softfloat's are the same)
    t["f32_neg"] = lambda a: a ^ 0x80000000
    t["f32_abs"] = lambda a: a & 0x7FFFFFFF
    t["f32_copysign"] = lambda a, b: (a & 0x7FFFFFFF) | (b & 0x80000000)
    t["f64_neg"] = lambda a: a ^ 0x8000000000000000
    t["f64_abs"] = lambda a: a & 0x7FFFFFFFFFFFFFFF
    t["f64_copysign"] = lambda a, b: (a & 0x7FFFFFFFFFFFFFFF) | (b & 0x8000000000000000)
    return t
