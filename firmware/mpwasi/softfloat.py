"""IEEE 754 binary32/binary64 arithmetic on Python integers (the board's f64 path).

ESP32 and RP2040 MicroPython builds have single-precision floats, so WebAssembly's f64 (and an exact
f32) is computed here with integer arithmetic only. Every function takes and returns bit patterns:
non-negative ints holding the IEEE bits (f64 ``1.0`` is ``0x3FF0000000000000``), i32/i64 operands and
results are unsigned patterns in ``[0, 2**32)`` / ``[0, 2**64)``.

Semantics are the WebAssembly spec's: round to nearest, ties to even; subnormals; signed zeros; a NaN
operand gives a quiet NaN with the first NaN operand's payload (and sign); a NaN made from non-NaN
operands is the positive canonical NaN. ``neg``/``abs``/``copysign`` only touch the sign bit.

Names (docs/internals.md): ``f64_add sub mul div min max copysign`` (a, b), ``f64_sqrt ceil floor trunc
nearest neg abs`` (a), ``f64_eq ne lt gt le ge`` (a, b) -> 0/1, the same with ``f32_``;
``f32_demote_f64``, ``f64_promote_f32``, ``fN_convert_iM_s/u``, ``iM_trunc_fN_s/u`` (raising Trap
"integer overflow" / "invalid conversion to integer") and ``iM_trunc_sat_fN_s/u``.

Both formats are built by one factory (``_family``) whose constants are closure variables, so the f32
and f64 functions share their code while staying free of global look-ups on the hot path; ``_export``
binds the module-level names. On a board every f64 pattern is a heap-allocated big int, so the code
counts big-int operations: comparisons and table look-ups are used wherever they can replace one.
"""

from .errors import Trap

try:
    from math import sqrt as _fsqrt
except ImportError:  # pragma: no cover - every MicroPython build with floats has math
    _fsqrt = None

# Powers of two as one table: bit lengths and rounding thresholds come from comparisons against it.
# On MicroPython every arithmetic operation on an int past the small-int range (2**30 on 32-bit
# boards) allocates, and the garbage collector's sweeps then dominate the run time; comparisons and
# tuple look-ups allocate nothing. Sizes: significands here stay below 2**120.
_NPOW = 120
_POW2 = tuple(1 << k for k in range(_NPOW))


def _bitlen_table(m):
    """Number of bits of 0 < m < 2**119, by binary search over _POW2 (no allocation)."""
    lo = 0
    hi = _NPOW - 1   # _POW2[lo] <= m < _POW2[hi]
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if m >= _POW2[mid]:
            lo = mid
        else:
            hi = mid
    return hi


# CPython has a C bit_length; MicroPython does not (the table search is used there).
_bitlen = getattr(int, "bit_length", None) or _bitlen_table


def _float_bits():
    x = 2.0 ** 52
    return 53 if (x + 1.0) - x == 1.0 else 24


_FLOAT_BITS = _float_bits()      # the host float's precision: 53, or 24 on a single-float board


def _isqrt_newton(n):
    """floor(sqrt(n)) for 0 < n < 2**119, from a float first guess and Newton steps from above.

    The guess (made >= the root) is right to about _FLOAT_BITS - 6 bits; each step doubles that, so
    the steps stop once the root's bits are covered and x is the root or one above; a check fixes it.
    """
    b = _bitlen(n)
    good = _FLOAT_BITS - 6
    s = b - 2 * _FLOAT_BITS + 6     # keep 2*precision - 6 bits for the float: in range, fully used
    s = (s + 1) & ~1 if s > 0 else 0
    x = (int(_fsqrt(n >> s)) + 4) << (s >> 1)
    need = (b >> 1) + 2
    while good < need:
        x = (x + n // x) >> 1
        good += good
    while x * x > n:   # x is never below the root: step down (once, unless the float misled us)
        x = (x + n // x) >> 1
    return x


try:
    from math import isqrt as _isqrt
except ImportError:
    _isqrt = _isqrt_newton


def _trap(reason):
    raise Trap(reason)


def _family(EW, MW):
    """Build the operations of the binary format with EW exponent bits and MW fraction bits.

    Inside, a sign is 0 or 1; a finite value is sig * 2**exp with exp = max(field, 1) - EOFF.
    """
    SIGN = 1 << (EW + MW)
    EMAX = (1 << EW) - 1          # exponent field of inf/NaN
    INF = EMAX << MW
    NINF = SIGN | INF
    QUIET = 1 << (MW - 1)
    CNAN = INF | QUIET            # canonical NaN
    FRAC = (1 << MW) - 1
    HID = 1 << MW                 # the implicit leading bit
    BIAS = EMAX >> 1
    P = MW + 1                    # precision in bits
    EOFF = BIAS + MW
    LMIN = 1 - EOFF               # exponent of the subnormal ulp
    ONE = BIAS << MW
    NONE = SIGN | ONE             # -1.0
    BIG = BIAS + MW               # field from which every value is an integer
    SIGNS = (0, SIGN)             # signed zeros
    INFS = (INF, NINF)
    POW2 = _POW2
    CARRY = POW2[P]
    bitlen = _bitlen

    def pack(s, m, e, n):
        """Round m * 2**e (m > 0, exactly n bits) to nearest-even; sign s (0/1); -> bits."""
        lsb = e + n - P
        if lsb < LMIN:
            lsb = LMIN
        sh = lsb - e
        if sh > 0:
            if sh > n:
                return SIGNS[s]   # below half of the smallest subnormal
            q = m >> sh
            r = m - (q << sh)
            h = POW2[sh - 1]
            if r > h or (r == h and q & 1):
                q += 1
                if q == CARRY:
                    q = HID
                    lsb += 1
        elif sh:
            q = m << -sh
        else:
            q = m
        E = lsb - LMIN            # exponent field - 1 for a normal q (which carries its leading bit)
        if E >= EMAX - 1:
            return INFS[s]
        return ((E + (s << EW)) << MW) + q

    def nan2(a, b):
        if INF < a < SIGN or a > NINF:
            return a | QUIET
        return b | QUIET

    def make_add(FLIP):
        # FLIP = 1 makes it a subtraction: b's sign is flipped where it is read.
        def add(a, b):
            ha = a >> MW
            hb = b >> MW
            ea = ha & EMAX
            eb = hb & EMAX
            sa = ha >> EW
            sb = (hb >> EW) ^ FLIP
            if ea == EMAX or eb == EMAX:
                if INF < a < SIGN or a > NINF or INF < b < SIGN or b > NINF:
                    return nan2(a, b)
                if ea != EMAX:
                    return INFS[sb]
                if eb == EMAX and sa != sb:
                    return CNAN  # inf - inf
                return a
            fa = a & FRAC
            fb = b & FRAC
            x = a
            if ea < eb or (ea == eb and fa < fb):   # x: the operand of larger magnitude
                ea, eb = eb, ea   # (swaps of two or three names allocate no tuple on MicroPython)
                fa, fb = fb, fa
                sa, sb, x = sb, sa, b
            if not ea:   # both subnormal: exact
                if sa == sb:
                    return SIGNS[sa] + fa + fb  # a carry into the exponent gives the smallest normal
                fa -= fb
                return SIGNS[sa] + fa if fa else 0   # x - x = +0
            ma = fa + HID
            if eb:
                mb = fb + HID
            else:
                mb = fb
                eb = 1
            d = ea - eb
            if d > P + 2:   # the smaller one is below an eighth of x's ulp
                if (x >= SIGN) != sa:
                    return x ^ SIGN   # x is b of a subtraction
                return x
            if sa == sb:
                m = ((ma << d) if d else ma) + mb
                n = P + d
                if m >= POW2[n]:
                    n += 1
                return pack(sa, m, eb - EOFF, n)
            m = ((ma << d) if d else ma) - mb
            if not m:
                return 0   # x - x = +0
            n = P + d
            if m < POW2[n - 1]:
                n = bitlen(m)
            return pack(sa, m, eb - EOFF, n)
        return add

    def mul(a, b):
        ha = a >> MW
        hb = b >> MW
        ea = ha & EMAX
        eb = hb & EMAX
        s = (ha ^ hb) >> EW
        if ea == EMAX or eb == EMAX:
            if INF < a < SIGN or a > NINF or INF < b < SIGN or b > NINF:
                return nan2(a, b)
            if a == 0 or a == SIGN or b == 0 or b == SIGN:
                return CNAN  # 0 * inf
            return INFS[s]
        fa = a & FRAC
        fb = b & FRAC
        if ea and eb:
            m = (fa + HID) * (fb + HID)
            n = P + P - 1
            if m >= POW2[n]:
                n += 1
            return pack(s, m, ea + eb - EOFF - EOFF, n)
        if ea:
            fa += HID
        elif fa:
            ea = 1
        else:
            return SIGNS[s]
        if eb:
            fb += HID
        elif fb:
            eb = 1
        else:
            return SIGNS[s]
        m = fa * fb
        return pack(s, m, ea + eb - EOFF - EOFF, bitlen(m))

    def unpack_norm(a, e):
        """Significand of the finite non-zero a (exponent field e) scaled to P bits, and its exponent."""
        m = a & FRAC
        if e:
            return m + HID, e - EOFF
        k = P - bitlen(m)
        return m << k, LMIN - k

    def div(a, b):
        ha = a >> MW
        hb = b >> MW
        ea = ha & EMAX
        eb = hb & EMAX
        s = (ha ^ hb) >> EW
        if ea == EMAX or eb == EMAX:
            if INF < a < SIGN or a > NINF or INF < b < SIGN or b > NINF:
                return nan2(a, b)
            if ea == eb:
                return CNAN  # inf / inf
            if ea == EMAX:
                return INFS[s]
            return SIGNS[s]  # x / inf
        if b == 0 or b == SIGN:
            if a == 0 or a == SIGN:
                return CNAN  # 0 / 0
            return INFS[s]
        if a == 0 or a == SIGN:
            return SIGNS[s]
        if ea and eb:
            ma = (a & FRAC) + HID
            mb = (b & FRAC) + HID
            xa = ea
            xb = eb
        else:
            ma, xa = unpack_norm(a, ea)
            mb, xb = unpack_norm(b, eb)
        num = ma << (P + 2)
        q = num // mb        # P+2 or P+3 bits
        if q * mb != num:
            q |= 1  # sticky bit, below the rounding position
        return pack(s, q, xa - xb - P - 2, P + 2 if q < POW2[P + 2] else P + 3)

    def sqrt(a):
        if a == 0 or a == SIGN:
            return a  # sqrt(-0) = -0
        if INF < a < SIGN or a > NINF:
            return a | QUIET
        if a > SIGN:
            return CNAN
        if a == INF:
            return a
        e = a >> MW
        if e:
            m = (a & FRAC) + HID
            e -= EOFF
        else:
            m, e = unpack_norm(a, e)
        sh = P + 4 + ((e - P - 4) & 1)     # even exponent; radicand of 2P+4 or 2P+5 bits
        n = m << sh
        r = _isqrt(n)                      # P+2 or P+3 bits: sh - 2
        if r * r != n:
            r |= 1  # sticky
        return pack(0, r, (e - sh) >> 1, sh - 2)

    def make_rint(kind):
        # kind: 0 trunc, 1 floor, 2 ceil, 3 nearest (ties to even)
        def rint(a):
            e = (a >> MW) & EMAX
            if e >= BIG:
                if INF < a < SIGN or a > NINF:
                    return a | QUIET
                return a  # already integral, or inf
            if e < BIAS:  # |a| < 1
                if a == 0 or a == SIGN:
                    return a
                s = a > SIGN
                if kind == 1:
                    return NONE if s else 0
                if kind == 2:
                    return SIGN if s else ONE
                if kind == 3 and e == BIAS - 1 and a & FRAC:
                    return NONE if s else ONE  # 0.5 < |a| < 1
                return SIGNS[s]
            f = BIG - e   # number of fraction bits, 1..MW
            frac = a & (POW2[f] - 1)
            if not frac:
                return a
            t = a - frac
            if kind == 0:
                return t
            if kind == 1:
                up = a > SIGN
            elif kind == 2:
                up = a < SIGN
            else:
                h = POW2[f - 1]
                up = frac > h or (frac == h and (t >> f) & 1)
            if up:
                t += POW2[f]  # magnitude up; a carry moves into the exponent
            return t
        return rint

    # Comparisons, min, max, abs, copysign: by comparing bit patterns, never by arithmetic on them.
    def fmin(a, b):
        if INF < a < SIGN or a > NINF or INF < b < SIGN or b > NINF:
            return nan2(a, b)
        if a < SIGN:
            if b < SIGN:
                return a if a <= b else b
            return b   # b negative or -0
        if b < SIGN:
            return a
        return a if a >= b else b   # both negative: the larger pattern is the smaller number

    def fmax(a, b):
        if INF < a < SIGN or a > NINF or INF < b < SIGN or b > NINF:
            return nan2(a, b)
        if a < SIGN:
            if b < SIGN:
                return a if a >= b else b
            return a
        if b < SIGN:
            return b
        return a if a <= b else b

    def copysign(a, b):
        if (a >= SIGN) == (b >= SIGN):
            return a
        return a ^ SIGN

    def neg(a):
        return a ^ SIGN

    def fabs(a):
        return a - SIGN if a >= SIGN else a

    def eq(a, b):
        if a == b:
            return 0 if INF < a < SIGN or a > NINF else 1
        return 1 if (a == 0 or a == SIGN) and (b == 0 or b == SIGN) else 0

    def ne(a, b):
        return 1 - eq(a, b)

    def lt(a, b):
        if a < SIGN:
            return 1 if b < SIGN and a < b <= INF else 0
        if b < SIGN:
            return 1 if a <= NINF and b <= INF and (a != SIGN or b) else 0
        return 1 if b < a <= NINF else 0

    def le(a, b):
        if a < SIGN:
            if b < SIGN:
                return 1 if a <= b <= INF else 0
            return 1 if a == 0 and b == SIGN else 0
        if b < SIGN:
            return 1 if a <= NINF and b <= INF else 0
        return 1 if b <= a <= NINF else 0

    def gt(a, b):
        return lt(b, a)

    def ge(a, b):
        return le(b, a)

    # The conversions are made per width and signedness; their parameters are default arguments
    # (shared ints from POW2, no closure cells of their own) to keep each function small in RAM.
    def make_convert(width, signed):
        """Conversion of a width-bit integer pattern (two's complement if signed) to this format."""
        def convert(a, top=POW2[width - 1] if signed else POW2[width], wrap=POW2[width]):
            if not a:
                return 0
            if a >= top:   # negative (never for unsigned: top is 2**width)
                a = wrap - a
                return pack(1, a, 0, bitlen(a))
            return pack(0, a, 0, bitlen(a))
        return convert

    def make_trunc(width, signed, sat):
        """iN.trunc[_sat]_fM_s/u: toward zero; out of range traps (or saturates), NaN traps (or 0)."""
        def trunc(a, lo=POW2[width - 1] if signed else 0, hi=POW2[width - 1] if signed else POW2[width],
                  wrap=POW2[width], elim=BIAS + width + 1, sat=sat):
            # lo: largest magnitude allowed for a negative result; hi: smallest magnitude too large
            # for a positive one; elim: exponent fields from which |a| >= 2**(width+1)
            if INF < a < SIGN or a > NINF:
                if sat:
                    return 0
                _trap("invalid conversion to integer")
            h = a >> MW
            e = h & EMAX
            if e < BIAS:
                return 0  # |a| < 1
            if e >= elim:
                t = wrap + wrap
            elif e >= EOFF:
                t = ((a & FRAC) + HID) << (e - EOFF)
            else:
                t = ((a & FRAC) + HID) >> (EOFF - e)
            if h > EMAX:   # negative
                if t > lo:
                    if not sat:
                        _trap("integer overflow")
                    t = lo
                return (wrap - t) if t else 0
            if t >= hi:
                if not sat:
                    _trap("integer overflow")
                return hi - 1
            return t
        return trunc

    return {
        "add": make_add(0), "sub": make_add(1), "mul": mul, "div": div,
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
    h = a >> 23
    e = h & 0xFF
    m = a & 0x7FFFFF
    if e == 0xFF:
        top = 0xFFF if h > 0xFF else 0x7FF
        if m:
            return (top << 52) | 0x8000000000000 | (m << 29)
        return top << 52
    if e:   # rebias; a sign bit moves from bit 8 of h to bit 11
        return ((h + (896 if h < 0x100 else 2688)) << 52) + (m << 29)
    if m:
        return _pack64(h >> 8, m, -149, _bitlen(m))
    return 0x8000000000000000 if h else 0


def f32_demote_f64(a):
    """f64 -> f32, correctly rounded; NaNs keep the top payload bits and become quiet."""
    h = a >> 52
    e = h & 0x7FF
    m = a & 0xFFFFFFFFFFFFF
    s = h >> 11
    if e == 0x7FF:
        if m:
            return ((s << 31) | 0x7FC00000) | (m >> 29)
        return 0xFF800000 if s else 0x7F800000
    if e:
        return _pack32(s, m + 0x10000000000000, e - 1075, 53)
    if m:
        return _pack32(s, m, -1074, _bitlen(m))
    return 0x80000000 if s else 0
