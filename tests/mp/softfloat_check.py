"""Differential check of mpwasi.softfloat against the host's hardware doubles.

Runs unchanged under CPython (imported by tests/engine/test_softfloat.py) and under the MicroPython unix
port, whose floats are C doubles: ``micropython tests/mp/softfloat_check.py [count] [seed]`` prints one
line per checked operation and ``FAIL ...`` lines, and exits with status 1 if anything disagreed.

Operands are drawn from a seeded generator that favours the hard cases: signed zeros, subnormal and
normal boundaries, max finite, infinities, NaNs with payloads (quiet and signalling), integers near
2**53, halfway patterns, and second operands whose exponent is tied to the first one (cancellation,
alignment past the precision, products and quotients that under- or overflow).
"""

import math
import struct
import sys

if __name__ == "__main__":
    _here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    sys.path.insert(0, _here + "/../../firmware")

from mpwasi import softfloat as sf  # noqa: E402

INF_F = float("inf")
NAN_F = float("nan")
CHUNK = 500


class Fmt:
    """Constants of one binary format, and conversions between its bits and host doubles."""

    def __init__(self, ew, mw, code, name):
        self.ew = ew
        self.mw = mw
        self.width = 1 + ew + mw
        self.sign = 1 << (ew + mw)
        self.mag = self.sign - 1
        self.emax = (1 << ew) - 1
        self.inf = self.emax << mw
        self.quiet = 1 << (mw - 1)
        self.cnan = self.inf | self.quiet
        self.frac = (1 << mw) - 1
        self.bias = self.emax >> 1
        self.prec = mw + 1
        self.code = code          # struct code of the format: "d" or "f"
        self.icode = "Q" if code == "d" else "I"
        self.name = name

    def is_nan(self, a):
        return (a & self.mag) > self.inf

    def floats(self, bits):
        """Host doubles holding the (exact) values of the bit patterns."""
        out = []
        for i in range(0, len(bits), CHUNK):
            part = bits[i:i + CHUNK]
            n = len(part)
            out.extend(struct.unpack("<%d%s" % (n, self.code), struct.pack("<%d%s" % (n, self.icode), *part)))
        return out

    def bits(self, x):
        """The bits of the double x rounded to this format (the host rounds); None for a NaN."""
        if x != x:
            return None
        try:
            return struct.unpack("<" + self.icode, struct.pack("<" + self.code, x))[0]
        except OverflowError:  # CPython refuses to pack an f32 that rounds to infinity
            return self.inf | (self.sign if x < 0 else 0)

    def value(self, a):
        """Exact value of a finite bit pattern as (numerator int, power of two exponent)."""
        e = (a >> self.mw) & self.emax
        m = a & self.frac
        if e:
            m |= 1 << self.mw
        else:
            e = 1
        if a & self.sign:
            m = -m
        return m, e - self.bias - self.mw


F64 = Fmt(11, 52, "d", "f64")
F32 = Fmt(8, 23, "f", "f32")


def make_rng(seed):
    """Return bits(n) -> random int of n bits, seeded, on CPython and on MicroPython."""
    import random
    if hasattr(random, "Random"):
        return random.Random(seed).getrandbits
    random.seed(seed)
    gb = random.getrandbits

    def bits(n):
        x = 0
        while n > 30:
            x = (x << 30) | gb(30)
            n -= 30
        if n:
            x = (x << n) | gb(n)
        return x
    return bits


def edge_values(f):
    """Bit patterns of the values where IEEE arithmetic has its corners, both signs."""
    one = f.bias << f.mw
    hid = 1 << f.mw
    pos = [
        0, 1, 2, 3, f.frac, f.frac - 1, hid, hid + 1, hid + f.frac, 2 * hid,
        f.inf - 1, f.inf - 2, f.inf - hid, one, one + 1, one - 1, one - hid, one + hid,
        one - hid + f.quiet, one + f.quiet, one + f.quiet + (f.quiet >> 1), (one + hid) + (f.quiet >> 1),
        (f.bias + f.mw) << f.mw, ((f.bias + f.mw) << f.mw) + 1, ((f.bias + f.mw) << f.mw) - 1,
        (f.bias + f.mw + 1) << f.mw, ((f.bias + f.mw - 1) << f.mw) + f.quiet + 1,
        ((f.bias + f.mw) << f.mw) + f.frac, ((f.bias + f.mw + 1) << f.mw) + 1,   # 2**P - 1, 2**P + 2
        f.inf, f.cnan, f.inf | 1, f.inf | (f.quiet >> 1), f.cnan | 5, f.inf | f.frac,
    ]
    for k in (31, 32, 63, 64):   # integer conversion boundaries
        e = (f.bias + k) << f.mw
        pos.extend((e, e - 1, e + 1, (f.bias + k - 1) << f.mw))
    return pos + [f.sign | x for x in pos]


def draw(f, rb, edges, rel=None):
    """One operand: random bits, an edge value, a structured pattern, or one tied to rel."""
    k = rb(4)
    if k < 3:
        return rb(f.width)
    if k < 6:
        return edges[rb(16) % len(edges)]
    if rel is not None and k >= 11:
        ea = (rel >> f.mw) & f.emax
        c = rb(3)
        d = (rb(8) % (2 * f.prec + 9)) - f.prec - 4
        if c == 0:
            e = ea + d                                            # alignment and cancellation
        elif c < 3:
            e = ea + rb(3) - 3
        elif c == 3:
            e = f.bias - ea + (rb(8) % (f.mw + 30)) - f.mw - 10   # products near underflow
        elif c == 4:
            e = f.emax + f.bias - ea + rb(3) - 4                  # products near overflow
        elif c == 5:
            e = ea + f.bias + (rb(8) % (f.mw + 20)) - 10          # quotients near underflow
        else:
            e = ea + f.bias - f.emax + rb(3) - 4                  # quotients near overflow
        if e < 0:
            e = rb(2)
        if e > f.emax:
            e = f.emax - rb(1)
        m = rel & f.frac
        c = rb(2)
        if c == 0:
            m = (m + rb(4) - 8) & f.frac
        elif c == 1:
            m = rb(f.mw)
        elif c == 2:
            m ^= 1 << (rb(8) % f.mw)
        return ((rel & f.sign) ^ (rb(1) << (f.width - 1))) | (e << f.mw) | m
    # structured: exponent near an interesting field value, mantissa with few significant bits
    c = rb(3)
    if c == 0:
        e = rb(2)
    elif c == 1:
        e = f.emax - 1 - rb(2)
    elif c < 5:
        e = f.bias - 2 + rb(8) % (f.mw + 14)
    else:
        e = rb(f.ew)
    c = rb(2)
    if c == 0:
        m = rb(f.mw)
    elif c == 1:
        j = rb(8) % f.mw
        m = (rb(j) << (f.mw - j)) if j else 0
    elif c == 2:
        j = 1 + rb(8) % (f.mw - 1)
        m = (rb(j) << (f.mw - j)) | (1 << (f.mw - j - 1))   # a halfway pattern
    else:
        j = rb(8) % f.mw
        m = (rb(j) << (f.mw - j)) | ((1 << (f.mw - j)) - 1)
    return (rb(1) << (f.width - 1)) | (e << f.mw) | m


def batches(f, n, seed, related=True):
    """Yield (xs, ys, fx, fy) chunks, n operand pairs in all: bit patterns and their host doubles.

    Chunks keep the memory small enough for the MicroPython unix port's default heap.
    """
    rb = make_rng(seed)
    edges = edge_values(f)
    left = n
    while left > 0:
        k = CHUNK if left > CHUNK else left
        left -= k
        xs = []
        ys = []
        for _ in range(k):
            a = draw(f, rb, edges)
            xs.append(a)
            ys.append(draw(f, rb, edges, a if related else None))
        yield xs, ys, f.floats(xs), f.floats(ys)


def nan_result(f, a, b=None):
    """The NaN the contract asks for: first NaN operand made quiet, else the canonical NaN."""
    if f.is_nan(a):
        return a | f.quiet
    if b is not None and f.is_nan(b):
        return b | f.quiet
    return f.cnan


def _div(x, y):
    try:
        return x / y
    except ZeroDivisionError:
        if x != x or x == 0:
            return NAN_F
        return math.copysign(INF_F, x) * math.copysign(1.0, y)


def _fmin(x, y):
    if x != x or y != y:
        return NAN_F
    if x == y:
        return x if math.copysign(1.0, x) < 0 else y
    return x if x < y else y


def _fmax(x, y):
    if x != x or y != y:
        return NAN_F
    if x == y:
        return y if math.copysign(1.0, x) < 0 else x
    return x if x > y else y


BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": _div,
    "min": _fmin,
    "max": _fmax,
}

COMPARE = {
    "eq": lambda x, y: x == y,
    "ne": lambda x, y: x != y,
    "lt": lambda x, y: x < y,
    "gt": lambda x, y: x > y,
    "le": lambda x, y: x <= y,
    "ge": lambda x, y: x >= y,
}


def _sqrt(x):
    if x != x:
        return x
    try:
        return math.sqrt(x)
    except ValueError:
        return NAN_F


def _integral(fn):
    def r(x):
        if x != x or x in (INF_F, -INF_F) or abs(x) >= 4503599627370496.0:
            return x
        return math.copysign(float(fn(x)), x)   # keeps the sign of a zero result
    return r


UNARY = {
    "sqrt": _sqrt,
    "ceil": _integral(math.ceil),
    "floor": _integral(math.floor),
    "trunc": _integral(math.trunc),
    "nearest": _integral(round),   # round() on a float is ties-to-even on both interpreters
    "neg": lambda x: -x,
    "abs": abs,
}


def _hx(v):
    if v is None or isinstance(v, str):
        return str(v)
    return hex(v)


class Report:
    """Failures (the first few in full) and how many operand sets each operation was checked with."""

    def __init__(self, limit=20):
        self.failures = []
        self.limit = limit
        self.counts = {}

    def fail(self, what, args, got, want):
        if len(self.failures) < self.limit:
            self.failures.append("%s(%s) = %s, expected %s" % (what, ", ".join(_hx(a) for a in args), _hx(got), _hx(want)))
        else:
            self.failures.append(None)

    def count(self, what, k):
        self.counts[what] = self.counts.get(what, 0) + k

    def total(self):
        return sum(self.counts.values())

    def lines(self):
        out = [x for x in self.failures if x is not None]
        extra = len(self.failures) - len(out)
        if extra:
            out.append("... and %d more" % extra)
        return out


def edge_pairs(f):
    """Every pair of edge values, as (xs, ys, fx, fy) chunks of one row each."""
    edges = edge_values(f)
    fe = f.floats(edges)
    for i in range(len(edges)):
        yield [edges[i]] * len(edges), edges, [fe[i]] * len(edges), fe


def check_binary(f, names, n, seed, rep, edges=True):
    """Binary arithmetic and comparisons against the host's doubles (f32: double then rounded).

    n random pairs, plus (if edges) every pair of edge values.
    """
    chunks = batches(f, n, seed)
    if edges:
        chunks = _chain(edge_pairs(f), chunks)
    for xs, ys, fx, fy in chunks:
        for name in names:
            ref = BINARY.get(name)
            cmp = COMPARE.get(name)
            fn = getattr(sf, f.name + "_" + name)
            for i in range(len(xs)):
                a = xs[i]
                b = ys[i]
                got = fn(a, b)
                if cmp is not None:
                    want = 1 if cmp(fx[i], fy[i]) else 0
                else:
                    want = f.bits(ref(fx[i], fy[i]))
                    if want is None:
                        want = nan_result(f, a, b)
                if got != want:
                    rep.fail(f.name + "_" + name, (a, b), got, want)
            rep.count(f.name + "_" + name, len(xs))


def _chain(first, rest):
    for x in first:
        yield x
    for x in rest:
        yield x


def check_unary(f, names, n, seed, rep):
    for xs, ys, fx, fy in batches(f, n, seed, related=False):
        xs = xs + ys
        fx = fx + fy
        for name in names:
            ref = UNARY[name]
            fn = getattr(sf, f.name + "_" + name)
            for i in range(len(xs)):
                a = xs[i]
                got = fn(a)
                if name == "neg":
                    want = a ^ f.sign       # sign bit only, NaNs included
                elif name == "abs":
                    want = a & f.mag
                else:
                    want = f.bits(ref(fx[i]))
                    if want is None:
                        want = nan_result(f, a)
                if got != want:
                    rep.fail(f.name + "_" + name, (a,), got, want)
            rep.count(f.name + "_" + name, len(xs))


def check_copysign(f, n, seed, rep):
    fn = getattr(sf, f.name + "_copysign")
    for xs, ys, fx, fy in batches(f, n, seed, related=False):
        for i in range(len(xs)):
            got = fn(xs[i], ys[i])
            if f.is_nan(xs[i]):
                want = (xs[i] & f.mag) | (ys[i] & f.sign)
            else:
                want = f.bits(math.copysign(fx[i], fy[i]))
            if got != want:
                rep.fail(f.name + "_copysign", (xs[i], ys[i]), got, want)
        rep.count(f.name + "_copysign", len(xs))


def check_promote_demote(n, seed, rep):
    for xs, ys, fx, fy in batches(F32, n, seed, related=False):
        for i in range(len(xs)):
            a = xs[i]
            got = sf.f64_promote_f32(a)
            if F32.is_nan(a):
                want = ((a & 0x80000000) << 32) | 0x7FF8000000000000 | ((a & 0x7FFFFF) << 29)
            else:
                want = F64.bits(fx[i])
            if got != want:
                rep.fail("f64_promote_f32", (a,), got, want)
        rep.count("f64_promote_f32", len(xs))
    rb = make_rng(seed + 2)
    for xs, ys, fx, fy in batches(F64, n, seed + 1, related=False):
        # ys: doubles in the f32 range, on and next to f32 halfway points, and in the f32 subnormals
        for i in range(len(ys)):
            e = 1023 - 150 + rb(8) % 280
            ys[i] = (rb(1) << 63) | (e << 52) | (rb(24) << 28) | ((1 << 28) if rb(1) else rb(28))
        xs = xs + ys
        fx = fx + F64.floats(ys)
        for i in range(len(xs)):
            a = xs[i]
            got = sf.f32_demote_f64(a)
            if F64.is_nan(a):
                want = ((a >> 32) & 0x80000000) | 0x7FC00000 | ((a & 0xFFFFFFFFFFFFF) >> 29)
            else:
                want = F32.bits(fx[i])
            if got != want:
                rep.fail("f32_demote_f64", (a,), got, want)
        rep.count("f32_demote_f64", len(xs))


def nearest_from_int(f, v):
    """Bits of the integer v rounded to format f (ties to even), by searching the neighbours of a guess."""
    if v == 0:
        return 0
    s = f.sign if v < 0 else 0
    t = -v if v < 0 else v
    g = f.bits(float(t))     # close to the answer (float() of a big int may be off on MicroPython)
    best = None
    for c in range(max(g - 3, f.bias << f.mw), min(g + 4, f.inf)):   # candidates >= 1.0, finite
        cm, ce = f.value(c)
        dist = abs((t << f.mw) - (cm << (ce + f.mw)))   # |t - value| * 2**mw, exact
        if best is None or dist < best[0] or (dist == best[0] and not (c & 1)):
            best = (dist, c)
    return s | best[1]


def check_int_to_float(n, seed, rep):
    rb = make_rng(seed)
    for _ in range(n):
        width = 32 if rb(1) else 64
        k = rb(3)
        if k < 2:
            a = rb(width)
        elif k < 5:   # few significant bits then a pattern: exact, halfway and just-off-halfway cases
            top = 1 + rb(8) % width
            a = rb(top) | (1 << (top - 1))
            sh = rb(8) % 40
            a = (a << sh) | ((1 << (sh - 1)) if sh and rb(1) else 0) | (rb(1) if sh > 1 else 0)
            a &= (1 << width) - 1
        else:
            base = (1 << (width - 1)) if rb(1) else (1 << rb(6) % width)
            a = (base + rb(4) - 8) & ((1 << width) - 1)
        for f in (F32, F64):
            for signed in (False, True):
                v = a - (1 << width) if signed and a >> (width - 1) else a
                name = "%s_convert_i%d_%s" % (f.name, width, "s" if signed else "u")
                got = getattr(sf, name)(a)
                want = nearest_from_int(f, v)
                if got != want:
                    rep.fail(name, (a,), got, want)
                rep.count(name, 1)


def _call_trapping(fn, a):
    """(result, None), or (None, reason) if fn raised the engine's Trap; other errors as text."""
    try:
        return fn(a), None
    except Exception as e:
        if type(e).__name__ != "Trap":
            return None, "%s: %s" % (type(e).__name__, e)
        return None, str(e)


def _trunc_expect(x, width, signed, sat):
    """(value, trap reason) that iN.trunc[_sat]_fM_{s,u} must give for the double x."""
    lo = -(1 << (width - 1)) if signed else 0
    hi = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
    if x != x:
        return (0, None) if sat else (None, "invalid conversion to integer")
    if x == INF_F or x == -INF_F:
        t = hi + 1 if x > 0 else lo - 1
    else:
        t = int(x)    # exact, rounds toward zero
    if t < lo or t > hi:
        if not sat:
            return None, "integer overflow"
        t = lo if t < lo else hi
    return t & ((1 << width) - 1), None


def trunc_boundaries(f):
    """Bit patterns at and next to the edges of the i32/u32/i64/u64 ranges, and around 0 and 1."""
    out = []
    for width in (32, 64):
        for edge in (1 << (width - 1), 1 << width, (1 << (width - 1)) + 1, 1, 0):
            for v in (edge, -edge):
                g = f.bits(float(v))
                out.extend((g, g + 1, g - 1 if g & f.mag else g))
    half = (f.bias - 1) << f.mw
    out.extend((half, half | f.sign, half - 1, (half - 1) | f.sign))
    return out


def check_truncations(n, seed, rep):
    for f in (F32, F64):
        rb = make_rng(seed + 3)
        first = True
        for xs, ys, fx, fy in batches(f, n, seed, related=False):
            for i in range(len(ys)):   # values inside and around the integer ranges
                e = f.bias - 2 + rb(7) % 70
                ys[i] = (rb(1) << (f.width - 1)) | (e << f.mw) | rb(f.mw)
            if first:
                ys = ys + trunc_boundaries(f)
                first = False
            xs = xs + ys
            fx = f.floats(xs)
            for width in (32, 64):
                for signed in (True, False):
                    for sat in (False, True):
                        name = "i%d_trunc_%s%s_%s" % (width, "sat_" if sat else "", f.name, "s" if signed else "u")
                        fn = getattr(sf, name)
                        for i in range(len(xs)):
                            want, reason = _trunc_expect(fx[i], width, signed, sat)
                            got, why = _call_trapping(fn, xs[i])
                            if got != want or why != reason:
                                rep.fail(name, (xs[i],), got if why is None else why,
                                         want if reason is None else reason)
                        rep.count(name, len(xs))


BINARY_NAMES = ("add", "sub", "mul", "div", "min", "max", "eq", "ne", "lt", "gt", "le", "ge")
UNARY_NAMES = ("sqrt", "ceil", "floor", "trunc", "nearest", "neg", "abs")


def run_all(n, seed, out=print):
    """Check every operation with about n operands each; return (report lines, Report)."""
    rep = Report()
    for f in (F64, F32):
        check_binary(f, BINARY_NAMES, n, seed, rep)
        check_unary(f, UNARY_NAMES, n // 2, seed + 1, rep)
        check_copysign(f, n // 4, seed + 2, rep)
        out("%s: %d checks so far" % (f.name, rep.total()))
    check_promote_demote(n // 2, seed + 3, rep)
    check_int_to_float(n // 2, seed + 4, rep)
    check_truncations(n // 4, seed + 5, rep)
    out("conversions: %d checks in all, %d operations" % (rep.total(), len(rep.counts)))
    return rep.lines(), rep


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    bad = run_all(count, seed)[0]
    for line in bad:
        print("FAIL " + line)
    print("OK" if not bad else "FAILED")
    sys.exit(1 if bad else 0)
