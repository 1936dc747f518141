"""IEEE 754 binary32/binary64 arithmetic on Python integers (the board's f64 path).

ESP32 and RP2040 MicroPython builds have single-precision floats, so WebAssembly's f64 (and an exact
f32) is computed here with integer arithmetic only. Every function takes and returns bit patterns:
non-negative ints holding the IEEE bits (f64 ``1.0`` is ``0x3FF0000000000000``), i32/i64 operands and
results are unsigned patterns in ``[0, 2**32)`` / ``[0, 2**64)``.

Semantics are the WebAssembly spec's: round to nearest, ties to even; subnormals; signed zeros; a NaN
operand gives a quiet NaN with the first NaN operand's payload (and sign); a NaN made from non-NaN
operands is the positive canonical NaN. ``neg``/``abs``/``copysign`` only touch the sign bit.

Both formats are built by one factory (``_family``) whose constants are closure variables, so the f32
and f64 functions share their code while staying free of global look-ups on the hot path.
"""

try:
    from math import sqrt as _fsqrt
except ImportError:  # pragma: no cover - every MicroPython build with floats has math
    _fsqrt = None

_BITLEN_LOW = b"\x00\x01\x02\x02\x03\x03\x03\x03\x04\x04\x04\x04\x04\x04\x04\x04"


def _bitlen_portable(x):
    """Number of bits of the non-negative int x (0 for 0), without int.bit_length."""
    n = 0
    while x >> 64:
        x >>= 64
        n += 64
    if x >> 32:
        x >>= 32
        n += 32
    if x >> 16:
        x >>= 16
        n += 16
    if x >> 8:
        x >>= 8
        n += 8
    if x >> 4:
        x >>= 4
        n += 4
    return n + _BITLEN_LOW[x]


# CPython has a C bit_length; MicroPython does not (the portable helper is used there).
_bitlen = getattr(int, "bit_length", None) or _bitlen_portable


def _isqrt_newton(n):
    """floor(sqrt(n)) for an int n > 0: a float first guess (above the root), then Newton from above.

    The guess only needs to be >= the root, so a single-precision float is good enough.
    """
    b = _bitlen(n)
    s = 0
    if b > 48:
        s = (b - 47) & ~1
    top = n >> s
    x = (int(_fsqrt(top) * 1.001) + 2) << (s >> 1)
    while True:
        y = (x + n // x) >> 1
        if y >= x:
            return x
        x = y


try:
    from math import isqrt as _isqrt
except ImportError:
    _isqrt = _isqrt_newton


def _trap(reason):
    # Imported when needed: the error classes live in errors.py (re-exported by runtime.py).
    try:
        from .errors import Trap
    except ImportError:
        from .runtime import Trap
    raise Trap(reason)


def _family(EW, MW):
    """Build the operations of the binary format with EW exponent bits and MW fraction bits."""
    SIGN = 1 << (EW + MW)
    MAG = SIGN - 1
    EMAX = (1 << EW) - 1          # exponent field of inf/NaN
    INF = EMAX << MW
    QUIET = 1 << (MW - 1)
    CNAN = INF | QUIET            # canonical NaN
    FRAC = (1 << MW) - 1
    HID = 1 << MW                 # the implicit leading bit
    BIAS = EMAX >> 1
    P = MW + 1                    # precision in bits
    EOFF = BIAS + MW              # value = sig * 2**(max(field, 1) - EOFF)
    LMIN = 1 - EOFF               # weight (exponent) of the subnormal ulp
    ONE = BIAS << MW
    BIG = BIAS + MW               # field from which every value is an integer

    def pack(s, m, e):
        """Round sig m > 0 times 2**e to the format (nearest, ties to even), with sign bit s."""
        n = _bitlen(m)
        lsb = e + n - P
        if lsb < LMIN:
            lsb = LMIN
        sh = lsb - e
        if sh > 0:
            if sh > n:
                return s  # below half of the smallest subnormal
            q = m >> sh
            h = 1 << (sh - 1)
            r = m & (h + h - 1)
            if r > h or (r == h and q & 1):
                q += 1
        else:
            q = m << -sh
        q += (lsb - LMIN) << MW   # a carry out of the significand bumps the exponent
        if q >= INF:
            return s | INF
        return s | q

    def nan2(a, b):
        if (a & MAG) > INF:
            return a | QUIET
        return b | QUIET

    def make_add(FLIP):
        # FLIP = SIGN turns the addition into a subtraction (b's sign is flipped where it is read).
        def add(a, b):
            ea = (a >> MW) & EMAX
            eb = (b >> MW) & EMAX
            if ea == EMAX or eb == EMAX:
                if (a & MAG) > INF or (b & MAG) > INF:
                    return nan2(a, b)
                b ^= FLIP
                if ea != EMAX:
                    return b
                if eb == EMAX and (a ^ b) & SIGN:
                    return CNAN  # inf - inf
                return a
            ma = a & FRAC
            if ea:
                ma |= HID
            else:
                ea = 1
            mb = b & FRAC
            if eb:
                mb |= HID
            else:
                eb = 1
            if a & SIGN:
                ma = -ma
            if (b ^ FLIP) & SIGN:
                mb = -mb
            d = ea - eb
            if d >= 0:
                if d > P + 2:
                    return a  # b is far below half an ulp of a
                m = (ma << d) + mb
                e = eb
            else:
                if d < -P - 2:
                    return b ^ FLIP
                m = ma + (mb << -d)
                e = ea
            if m > 0:
                return pack(0, m, e - EOFF)
            if m < 0:
                return pack(SIGN, -m, e - EOFF)
            return a & (b ^ FLIP) & SIGN  # exact zero: -0 only for (-0) + (-0)
        return add

    def unpack_norm(a, e):
        """Significand of the finite non-zero a (exponent field e) scaled to P bits, and its exponent."""
        m = a & FRAC
        if e:
            return m | HID, e - EOFF
        k = P - _bitlen(m)
        return m << k, LMIN - k

    def mul(a, b):
        s = (a ^ b) & SIGN
        ea = (a >> MW) & EMAX
        eb = (b >> MW) & EMAX
        if ea == EMAX or eb == EMAX:
            if (a & MAG) > INF or (b & MAG) > INF:
                return nan2(a, b)
            if not (a & MAG) or not (b & MAG):
                return CNAN  # 0 * inf
            return s | INF
        ma = a & FRAC
        if ea:
            ma |= HID
        elif ma:
            ea = 1
        else:
            return s
        mb = b & FRAC
        if eb:
            mb |= HID
        elif mb:
            eb = 1
        else:
            return s
        return pack(s, ma * mb, ea + eb - EOFF - EOFF)

    def div(a, b):
        s = (a ^ b) & SIGN
        ea = (a >> MW) & EMAX
        eb = (b >> MW) & EMAX
        if ea == EMAX or eb == EMAX:
            if (a & MAG) > INF or (b & MAG) > INF:
                return nan2(a, b)
            if ea == eb:
                return CNAN  # inf / inf
            if ea == EMAX:
                return s | INF
            return s  # x / inf
        if not (b & MAG):
            if not (a & MAG):
                return CNAN  # 0 / 0
            return s | INF
        if not (a & MAG):
            return s
        ma, xa = unpack_norm(a, ea)
        mb, xb = unpack_norm(b, eb)
        q, r = divmod(ma << (P + 2), mb)   # q has P+2 or P+3 bits
        if r:
            q |= 1  # sticky bit, below the rounding position
        return pack(s, q, xa - xb - P - 2)

    def sqrt(a):
        if not (a & MAG):
            return a  # sqrt(-0) = -0
        if (a & MAG) > INF:
            return a | QUIET
        if a & SIGN:
            return CNAN
        if a == INF:
            return a
        m, e = unpack_norm(a, a >> MW)
        sh = P + 4 + ((e - P - 4) & 1)     # even exponent, 2P+4 or 2P+5 bit radicand
        n = m << sh
        r = _isqrt(n)
        if r * r != n:
            r |= 1  # sticky
        return pack(0, r, (e - sh) >> 1)

    def make_rint(kind):
        # kind: 0 trunc, 1 floor, 2 ceil, 3 nearest (ties to even)
        def rint(a):
            e = (a >> MW) & EMAX
            if e >= BIG:
                if (a & MAG) > INF:
                    return a | QUIET
                return a  # already integral, or inf
            s = a & SIGN
            if e < BIAS:  # |a| < 1
                if not (a & MAG):
                    return a
                if kind == 1:
                    return (SIGN | ONE) if s else 0
                if kind == 2:
                    return SIGN if s else ONE
                if kind == 3 and e == BIAS - 1 and a & FRAC:
                    return s | ONE  # 0.5 < |a| < 1
                return s
            f = BIG - e   # number of fraction bits, 1..MW
            frac = a & ((1 << f) - 1)
            if not frac:
                return a
            t = a - frac
            if kind == 0:
                return t
            if kind == 1:
                up = s
            elif kind == 2:
                up = not s
            else:
                h = 1 << (f - 1)
                up = frac > h or (frac == h and (t >> f) & 1)
            if up:
                t += 1 << f  # magnitude up; a carry moves into the exponent
            return t
        return rint

    def fmin(a, b):
        if (a & MAG) > INF or (b & MAG) > INF:
            return nan2(a, b)
        ka = SIGN - a if a & SIGN else a
        kb = SIGN - b if b & SIGN else b
        if ka < kb:
            return a
        if kb < ka:
            return b
        return a | b  # equal, or -0 and +0: -0

    def fmax(a, b):
        if (a & MAG) > INF or (b & MAG) > INF:
            return nan2(a, b)
        ka = SIGN - a if a & SIGN else a
        kb = SIGN - b if b & SIGN else b
        if ka > kb:
            return a
        if kb > ka:
            return b
        return a & b

    def copysign(a, b):
        return (a & MAG) | (b & SIGN)

    def neg(a):
        return a ^ SIGN

    def fabs(a):
        return a & MAG

    def eq(a, b):
        if a == b:
            return 0 if (a & MAG) > INF else 1
        return 0 if (a | b) & MAG else 1  # +0 == -0

    def ne(a, b):
        return 1 - eq(a, b)

    def lt(a, b):
        if (a & MAG) > INF or (b & MAG) > INF:
            return 0
        ka = SIGN - a if a & SIGN else a
        kb = SIGN - b if b & SIGN else b
        return 1 if ka < kb else 0

    def le(a, b):
        if (a & MAG) > INF or (b & MAG) > INF:
            return 0
        ka = SIGN - a if a & SIGN else a
        kb = SIGN - b if b & SIGN else b
        return 1 if ka <= kb else 0

    def gt(a, b):
        return lt(b, a)

    def ge(a, b):
        return le(b, a)

    def make_convert(width, signed):
        """Conversion of a width-bit integer pattern (two's complement if signed) to this format."""
        top = 1 << (width - 1)
        wrap = 1 << width

        def convert(a):
            if not a:
                return 0
            if signed and a >= top:
                return pack(SIGN, wrap - a, 0)
            return pack(0, a, 0)
        return convert

    def make_trunc(width, signed, sat):
        lo = -(1 << (width - 1)) if signed else 0
        hi = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
        mask = (1 << width) - 1
        elim = BIAS + width + 1   # fields at or above this are >= 2**(width+1): out of any range

        def trunc(a):
            if (a & MAG) > INF:
                if sat:
                    return 0
                _trap("invalid conversion to integer")
            e = (a >> MW) & EMAX
            if e >= elim:
                t = 1 << (width + 1)
            elif e < BIAS:
                return 0  # |a| < 1
            elif e >= EOFF:
                t = ((a & FRAC) | HID) << (e - EOFF)
            else:
                t = ((a & FRAC) | HID) >> (EOFF - e)
            if a & SIGN:
                t = -t
            if t < lo:
                if not sat:
                    _trap("integer overflow")
                t = lo
            elif t > hi:
                if not sat:
                    _trap("integer overflow")
                t = hi
            return t & mask
        return trunc

    return {
        "add": make_add(0), "sub": make_add(SIGN), "mul": mul, "div": div,
        "min": fmin, "max": fmax, "copysign": copysign,
        "sqrt": sqrt, "trunc": make_rint(0), "floor": make_rint(1), "ceil": make_rint(2),
        "nearest": make_rint(3), "neg": neg, "abs": fabs,
        "eq": eq, "ne": ne, "lt": lt, "gt": gt, "le": le, "ge": ge,
        "pack": pack, "make_convert": make_convert, "make_trunc": make_trunc,
    }


_OPS = ("add", "sub", "mul", "div", "min", "max", "copysign", "sqrt", "ceil", "floor", "trunc", "nearest",
        "neg", "abs", "eq", "ne", "lt", "gt", "le", "ge")


def _export():
    """Define the contract's module-level names: f64_add ... f32_ge, the conversions, the truncations."""
    g = globals()
    for fam, fname in ((_F32, "f32"), (_F64, "f64")):
        for op in _OPS:
            g[fname + "_" + op] = fam[op]
        for width in (32, 64):
            for signed in (True, False):
                sfx = "_s" if signed else "_u"
                g["%s_convert_i%d%s" % (fname, width, sfx)] = fam["make_convert"](width, signed)
                g["i%d_trunc_%s%s" % (width, fname, sfx)] = fam["make_trunc"](width, signed, False)
                g["i%d_trunc_sat_%s%s" % (width, fname, sfx)] = fam["make_trunc"](width, signed, True)


_F64 = _family(11, 52)
_F32 = _family(8, 23)
_pack64 = _F64["pack"]
_pack32 = _F32["pack"]
_export()


def f64_promote_f32(a):
    """f32 -> f64, exact; a NaN keeps its payload in the top fraction bits and becomes quiet."""
    s = (a & 0x80000000) << 32
    e = (a >> 23) & 0xFF
    m = a & 0x7FFFFF
    if e == 0xFF:
        if m:
            return s | 0x7FF8000000000000 | (m << 29)
        return s | 0x7FF0000000000000
    if not e:
        if not m:
            return s
        return _pack64(s, m, -149)
    return s | ((e + 896) << 52) | (m << 29)


def f32_demote_f64(a):
    """f64 -> f32, correctly rounded; NaNs keep the top payload bits and become quiet."""
    s = (a >> 32) & 0x80000000
    e = (a >> 52) & 0x7FF
    m = a & 0xFFFFFFFFFFFFF
    if e == 0x7FF:
        if m:
            return s | 0x7FC00000 | (m >> 29)
        return s | 0x7F800000
    if e:
        return _pack32(s, m | 0x10000000000000, e - 1075)
    if m:
        return _pack32(s, m, -1074)
    return s
