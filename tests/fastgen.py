"""Random, valid WebAssembly functions for differential tests of the fast tier (CPython only).

`random_module(seed)` -> module bytes exporting `main(i32, i32, i64, f64) -> i32` and a helper it
calls (two results: i32, f64), over one page of memory. The code mixes integer and f64 arithmetic,
locals set and teed while their old values are still on the stack, loads and stores, blocks with
results, br_if out of nested blocks, bounded loops, if/else, select, br_table and calls, so that the
compiler's folding of the operand stack, its control flow and its float domain are all exercised.
Some operations can trap (i32.div_s, i32.rem_s): then both tiers must trap with the same reason.
"""
import random
import struct

from wasmgen import ModuleBuilder, uleb, sleb

I32, I64, F64 = "i32", "i64", "f64"
# main's locals: params 0 i32, 1 i32, 2 i64, 3 f64; then 4..6 i32, 7..8 i64, 9..10 f64
LOCALS = {I32: [0, 1, 4, 5, 6], I64: [2, 7, 8], F64: [3, 9, 10]}
COUNTERS = (5, 6)   # loop counters: read anywhere, written only by the loops
HELPER_LOCALS = {I32: [0], I64: [1], F64: [2]}

BIN32 = [0x6A, 0x6B, 0x6C, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,
         0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F]
BIN64 = [0x7C, 0x7D, 0x7E, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A]
CMP64 = [0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A]
# (no f64.copysign: it would show the sign of a NaN made by 0 * inf, which the spec leaves open)
BINF = [0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5]
CMPF = [0x61, 0x62, 0x63, 0x64, 0x65, 0x66]
F64_SPECIAL = [0.0, -0.0, 1.0, -1.5, 1e300, -1e-300, float("inf"), float("-inf"), float("nan"), 3.25]


def f64_bytes(x):
    return list(struct.pack("<d", x))


class Gen:
    def __init__(self, rng, locals_, helper=None):
        self.r = rng
        self.locals = locals_
        self.writable = {}
        for t in locals_:
            self.writable[t] = [x for x in locals_[t] if not (locals_ is LOCALS and x in COUNTERS)]
        self.helper = helper
        self.labels = []    # enclosing labels, innermost last: "b" (block, if) or "l" (loop)

    # ---- expressions: a list of code bytes leaving one value of type t
    def expr(self, t, d=0):
        r = self.r
        k = r.random()
        if d > 4 or k < 0.25:
            return self.leaf(t)
        if t == I32:
            c = r.randrange(12)
            if c < 4:
                return self.expr(I32, d + 1) + self.expr(I32, d + 1) + [r.choice(BIN32)]
            if c == 4:
                return self.expr(I64, d + 1) + self.expr(I64, d + 1) + [r.choice(CMP64)]
            if c == 5:
                return self.expr(F64, d + 1) + self.expr(F64, d + 1) + [r.choice(CMPF)]
            if c == 6:
                return self.addr(d) + [0x28, 0x02, 0x00] if r.random() < 0.5 else \
                    self.addr(d) + [r.choice([0x2C, 0x2D, 0x2E, 0x2F]), 0x00, 0x00]
            if c == 7:
                return self.expr(I32, d + 1) + [0x45]
            if c == 8:
                return self.expr(I32, d + 1) + self.expr(I32, d + 1) + self.expr(I32, d + 1) + [0x1B]
            if c == 9:
                return self.expr(I64, d + 1) + [0xA7]
            if c == 10:
                x = r.choice(self.writable[I32])
                return self.expr(I32, d + 1) + [0x22] + uleb(x)
            # possibly trapping: signed division
            return self.expr(I32, d + 1) + self.expr(I32, d + 1) + [r.choice([0x6D, 0x6F, 0x6E, 0x70])]
        if t == I64:
            c = r.randrange(7)
            if c < 3:
                return self.expr(I64, d + 1) + self.expr(I64, d + 1) + [r.choice(BIN64)]
            if c == 3:
                return self.expr(I32, d + 1) + [r.choice([0xAC, 0xAD])]
            if c == 4:
                return self.addr(d) + [0x29, 0x03, 0x08]
            if c == 5:
                return self.expr(F64, d + 1) + [0xFC, 0x06]   # i64.trunc_sat_f64_s
            x = r.choice(self.writable[I64])
            return self.expr(I64, d + 1) + [0x22] + uleb(x)
        c = r.randrange(8)
        if c < 3:
            return self.expr(F64, d + 1) + self.expr(F64, d + 1) + [r.choice(BINF)]
        if c == 3:
            return self.expr(F64, d + 1) + [r.choice([0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F])]
        if c == 4:
            return self.expr(I32, d + 1) + [r.choice([0xB7, 0xB8])]
        if c == 5:
            return self.addr(d) + [0x2B, 0x03, 0x10]
        if c == 6:
            return self.expr(I64, d + 1) + [r.choice([0xB9, 0xBA, 0xBF])]
        if c == 7 and r.random() < 0.5:
            return self.expr(F64, d + 1) + [0xBD, 0x42, 0, 0x85, 0xBF]   # bits round trip
        x = r.choice(self.writable[F64])
        return self.expr(F64, d + 1) + [0x22] + uleb(x)

    def leaf(self, t):
        r = self.r
        if r.random() < 0.5:
            return [0x20] + uleb(r.choice(self.locals[t]))
        if t == I32:
            return [0x41] + sleb(r.choice([0, 1, -1, 7, 255, -2147483648, r.randrange(-1000, 1000)]))
        if t == I64:
            return [0x42] + sleb(r.choice([0, 1, -1, 1 << 40, -(1 << 63), r.randrange(-10 ** 6, 10 ** 6)]))
        return [0x44] + f64_bytes(r.choice(F64_SPECIAL + [r.uniform(-100, 100)]))

    def addr(self, d):
        # an in-bounds address: (e & 1023)
        return self.expr(I32, d + 1) + [0x41] + sleb(1023) + [0x71]

    # ---- statements: code with no net stack effect
    def stmts(self, n, d=0):
        out = []
        for _ in range(n):
            out += self.stmt(d)
        return out

    def stmt(self, d, c=None):
        r = self.r
        if c is None:
            c = r.randrange(12 if d < 3 else 4)
        if (self.locals is HELPER_LOCALS or self.locals is HELPER32) and c in (5, 7, 8, 10, 11):
            c = 0   # those use main's locals
        if c == 0 or c == 1:
            t = r.choice([I32, I64, F64])
            return self.expr(t) + [0x21] + uleb(r.choice(self.writable[t]))
        if c == 2:
            t = r.choice([I32, I64])
            op = {I32: 0x36, I64: 0x37}[t]
            return self.addr(0) + self.expr(t) + [op, 0x00, r.randrange(0, 16)]
        if c == 3:
            return self.expr(I32) + [0x1A]
        if c == 4:     # block with br_if out of it (or out of an enclosing block, never to a loop)
            self.labels.append("b")
            blocks = [i for i in range(len(self.labels)) if self.labels[-1 - i] == "b"]
            body = self.stmts(2, d + 1) + self.expr(I32) + [0x0D] + uleb(r.choice(blocks)) + \
                self.stmts(2, d + 1)
            self.labels.pop()
            return [0x02, 0x40] + body + [0x0B]
        if c == 5:     # a bounded loop on local 6 (a fresh counter each time: saved in local 5)
            self.labels.append("l")
            n = r.randrange(1, 6)
            body = self.stmts(2, d + 1)
            self.labels.pop()
            return ([0x20, 6, 0x21, 5, 0x41, n, 0x21, 6, 0x03, 0x40] + body +
                    [0x20, 6, 0x41, 1, 0x6B, 0x22, 6, 0x0D, 0x00, 0x0B, 0x20, 5, 0x21, 6])
        if c == 6:     # if / else
            self.labels.append("b")
            a = self.stmts(2, d + 1)
            b = self.stmts(1, d + 1)
            self.labels.pop()
            return self.expr(I32) + [0x04, 0x40] + a + [0x05] + b + [0x0B]
        if c == 7:     # block with a result and a br_if carrying a value
            body = self.expr(I32) + self.expr(I32) + [0x0D, 0x00] + [0x1A] + self.expr(I32)
            return [0x02, 0x7F] + body + [0x0B, 0x21, 4]
        if c == 8 and self.helper is not None:   # call the helper: (i32, f64)
            return (self.expr(I32) + self.expr(I64) + [0x10] + uleb(self.helper) +
                    [0x21, 9, 0x21, 4])
        if c == 9:     # br_table over three nested blocks
            sel = self.expr(I32)
            inner = [0x02, 0x40] + sel + [0x0E, 3, 0, 1, 2, 1, 0x0B]
            self.labels += ["b", "b"]
            mid = [0x02, 0x40] + inner + self.stmts(1, d + 1) + [0x0B]
            self.labels.pop()
            outer = [0x02, 0x40] + mid + self.stmts(1, d + 1) + [0x0B]
            self.labels.pop()
            return outer
        if c == 10:    # select on f64 into a local
            return self.expr(F64) + self.expr(F64) + self.expr(I32) + [0x1B, 0x21, 10]
        # the old value of a local on the stack while the local is reassigned
        x = r.choice(self.writable[I32])
        return ([0x20] + uleb(x) + self.expr(I32) + [0x21] + uleb(x) + [0x20] + uleb(x) + [0x6A, 0x21] +
                uleb(r.choice(self.writable[I32])))


def random_module(seed):
    r = random.Random(seed)
    m = ModuleBuilder()
    t_main = m.type([I32, I32, I64, F64], [I32])
    t_help = m.type([I32, I64], [I32, F64])
    m.mem(1)
    # helper: (i32 a, i64 b) -> (i32, f64); local 2 f64
    hg = Gen(r, HELPER_LOCALS)
    hbody = hg.stmts(3) + hg.expr(I32) + hg.expr(F64) + [0x0B]
    helper = m.func(t_help, [(1, F64)], hbody, "helper")
    g = Gen(r, LOCALS, helper)
    body = g.stmts(r.randrange(4, 12))
    # the result: every local and some memory folded into one i32
    res = [0x41, 0]
    for x in LOCALS[I32]:
        res += [0x20, x, 0x73]
    for x in LOCALS[I64]:
        res += [0x20, x, 0xA7, 0x73]
    for x in LOCALS[F64]:
        # (not the bits: a NaN made from non-NaN operands may be either canonical NaN)
        res += [0x20, x, 0xFC, 0x02, 0x73, 0x20, x, 0x20, x, 0x62, 0x73]
    for a in (0, 8, 100, 512):
        res += [0x41] + sleb(a) + [0x28, 0x02, 0x00, 0x73]
    main = m.func(t_main, [(3, I32), (2, I64), (2, F64)], body + res + [0x0B], "main")
    m.export("main", 0, main)
    m.export("memory", 2, 0)
    return m.bytes()


def random_args(r):
    return [r.getrandbits(32), r.getrandbits(32), r.getrandbits(64),
            struct.unpack("<Q", struct.pack("<d", r.choice(F64_SPECIAL + [r.uniform(-1e6, 1e6)])))[0]]


# ---------------------------------------------------------------- i32-only programs (the viper tier)

LOCALS32 = {I32: [0, 1, 2, 3, 4, 5, 6]}     # main32: params 0-3, locals 4-6 (5, 6: loop counters)
HELPER32 = {I32: [0, 1, 2]}                 # helper32: params 0-1, local 2
UN32 = [0x45, 0x67, 0x68, 0x69, 0xC0, 0xC1]


class Gen32(Gen):
    """Like Gen, with every value an i32 (what the viper tier compiles): also clz/ctz/popcnt,
    sign extensions, 8/16-bit loads and stores at any alignment, a global, calls of an i32 helper,
    memory.grow by 0 (the memory's address read again) and the odd out-of-bounds access."""

    def __init__(self, rng, locals_, helper=None):
        Gen.__init__(self, rng, locals_, helper)
        self.writable = {I32: [x for x in locals_[I32] if locals_ is not LOCALS32 or x < 5]}
        self.main = locals_ is LOCALS32

    def expr(self, t, d=0):
        r = self.r
        if d > 4 or r.random() < 0.25:
            return self.leaf(I32)
        c = r.randrange(12)
        if c < 4:
            return self.expr(I32, d + 1) + self.expr(I32, d + 1) + [r.choice(BIN32)]
        if c == 4:
            return self.expr(I32, d + 1) + [r.choice(UN32)]
        if c == 5 and self.helper is not None:
            return self.expr(I32, d + 1) + self.expr(I32, d + 1) + [0x10] + uleb(self.helper)
        if c == 6:
            op = r.choice([0x28, 0x2C, 0x2D, 0x2E, 0x2F])
            return self.addr(d) + [op, 0x00, r.choice([0, 1, 3, 17])]
        if c == 7:
            return [0x23, 0]
        if c == 8:
            return self.expr(I32, d + 1) + self.expr(I32, d + 1) + self.expr(I32, d + 1) + [0x1B]
        if c == 9:
            return [0x41, 0, 0x40, 0]   # memory.grow 0: the old size, and the memory may move
        if c == 10:
            x = r.choice(self.writable[I32])
            return self.expr(I32, d + 1) + [0x22] + uleb(x)
        return self.expr(I32, d + 1) + self.expr(I32, d + 1) + [r.choice([0x6D, 0x6F, 0x6E, 0x70])]

    def addr(self, d):
        if self.r.random() < 0.02:   # anywhere: usually out of bounds
            return self.expr(I32, d + 1)
        return Gen.addr(self, d)

    def stmt(self, d, c=None):
        r = self.r
        c = r.randrange(12 if d < 3 else 4)
        if not self.main and c in (5, 7, 11):
            c = 0
        if c <= 1 or c == 10:
            return self.expr(I32) + [0x21] + uleb(r.choice(self.writable[I32]))
        if c == 2:
            op = r.choice([0x36, 0x3A, 0x3B])
            return self.addr(0) + self.expr(I32) + [op, 0x00, r.randrange(0, 16)]
        if c == 8:
            return self.expr(I32) + [0x24, 0]
        return Gen.stmt(self, d, c)


def random_i32_module(seed):
    """Module bytes exporting main32(i32, i32, i32, i32) -> i32 (and its memory), all i32 code."""
    r = random.Random(seed)
    m = ModuleBuilder()
    t_main = m.type([I32, I32, I32, I32], [I32])
    t_help = m.type([I32, I32], [I32])
    m.mem(1)
    m.glob(I32, True, [0x41] + sleb(r.randrange(-5, 5)))
    hg = Gen32(r, HELPER32)
    helper = m.func(t_help, [(1, I32)], hg.stmts(3) + hg.expr(I32) + [0x0B], "helper32")
    g = Gen32(r, LOCALS32, helper)
    body = g.stmts(r.randrange(4, 12))
    res = [0x41, 0]
    for x in LOCALS32[I32]:
        res += [0x20, x, 0x73]
    res += [0x23, 0, 0x73]
    for a in (0, 8, 100, 512, 1021):
        res += [0x41] + sleb(a) + [0x28, 0x02, 0x00, 0x73]
    main = m.func(t_main, [(3, I32)], body + res + [0x0B], "main32")
    m.export("main32", 0, main)
    m.export("memory", 2, 0)
    return m.bytes()


def random_i32_args(r):
    return [r.getrandbits(32) for _ in range(4)]
