"""The viper tier's code generator: a wasm function whose values are all i32 -> `@micropython.viper`.

Used ahead of time (`mpwasi compile --board B`, host_tools/aot.py) and, on the unix port, by tests
that exec the source directly. Control flow, the operand stack and the stack slots are the fast
tier's (fastgen.Gen, which this subclasses); what differs is how values are held:

- An i32 is a viper `int` (a machine word) holding the value *sign-extended* ("canonical"). On a
  32-bit architecture (armv6m, xtensawin, rv32imc) that is the word itself and the wrap is free; on
  a 64-bit one (x64, the unix port) add/sub/mul/shl are followed by `x << 32 >> 32`. Signed
  compares and shifts use the canonical value as is; unsigned ones go through `uint(...)` (a
  sign-extended word compares as unsigned in the same order as its low 32 bits).
- Literal ints in viper must be MicroPython small ints (31-bit, whatever the target), so larger
  constants are hoisted into locals at function entry (`k0 = int(-2147483648)`).
- Memory is read and written through `ptr8/ptr16/ptr32(B + address)`, B being the address of the
  memory's bytearray (`int(ptr8(MEM.data))`), after a bounds check against `ML`, its length:
  `uint(a) <= uint(ML - (offset + size))`. It is exact because the function runs only when
  ML >= the largest offset + size it uses (checked at entry; memory never shrinks), and falls
  back to the interpreter otherwise. On architectures that fault on (or silently misread)
  unaligned words (`strict`: Cortex-M0+, Xtensa, RISC-V) an unaligned 16/32-bit access goes
  bytewise (a helper); x64 reads any address.
- Calls: `V<i>(args..., d)` between viper functions (d: the wasm call depth); past VLIM nested
  calls, or when memory is too small, the function runs in the interpreter (DEEPV), so wasm
  recursion never becomes unbounded C recursion. Calls to anything else (imports, functions left
  to the fast tier, call_indirect) go through small Python shims that turn the canonical values
  into the engine's bit patterns. The engine reaches a viper function through its adapter
  `f<i>(bits..., d)`, which also records the function in a trap's backtrace.
- What a viper int cannot hold (i64, f32, f64, references, multi-value results) makes the whole
  function fall back (Unsupported): it then stays in the fast tier's native code or the
  interpreter. Rare i32 operations (div/rem, rotates, clz/ctz/popcnt, memory.grow) call the
  engine's own numeric functions through a helper (VN/VU), which also raises their traps.
"""

from .fastgen import Gen, Unsupported, REFRESH, FuncInfo
from .opcodes import skip as _skip
from .leb import uleb as _uleb, sleb


I32 = 0x7F

# op -> viper template over canonical operands; kind "c" (a condition) or "v"/"r" (a value; "r":
# the result needs the 64-bit wrap, its operands may be unwrapped)
_VNUM = {
    0x45: (1, "({0} == 0)", "c"),
    0x46: (2, "({0} == {1})", "c"), 0x47: (2, "({0} != {1})", "c"),
    0x48: (2, "({0} < {1})", "c"), 0x49: (2, "(uint({0}) < uint({1}))", "c"),
    0x4A: (2, "({0} > {1})", "c"), 0x4B: (2, "(uint({0}) > uint({1}))", "c"),
    0x4C: (2, "({0} <= {1})", "c"), 0x4D: (2, "(uint({0}) <= uint({1}))", "c"),
    0x4E: (2, "({0} >= {1})", "c"), 0x4F: (2, "(uint({0}) >= uint({1}))", "c"),
    0x6A: (2, "({0} + {1})", "r"), 0x6B: (2, "({0} - {1})", "r"), 0x6C: (2, "({0} * {1})", "r"),
    0x71: (2, "({0} & {1})", "v"), 0x72: (2, "({0} | {1})", "v"), 0x73: (2, "({0} ^ {1})", "v"),
    0xC0: (1, "((({0} & 255) ^ 128) - 128)", "v"),
    0xC1: (1, "((({0} & 65535) ^ 32768) - 32768)", "v"),
}
# through the engine's numeric functions (they also trap): binary / unary
_VBIN = (0x6D, 0x6E, 0x6F, 0x70, 0x77, 0x78)
_VUN = (0x67, 0x68, 0x69)

# loads: op -> (bytes, pointer type, sign-extension template or None)
_VLOADS = {0x28: (4, "ptr32", None), 0x2C: (1, "ptr8", "(({0} ^ 128) - 128)"),
           0x2D: (1, "ptr8", None), 0x2E: (2, "ptr16", "(({0} ^ 32768) - 32768)"),
           0x2F: (2, "ptr16", None)}
_VSTORES = {0x36: (4, "ptr32"), 0x3A: (1, "ptr8"), 0x3B: (2, "ptr16")}

SMALL = 1 << 30     # viper literals must be in [-SMALL, SMALL)
MAX_OFFSET = 1 << 30

# architectures whose viper code may not read a word at an unaligned address
STRICT_ARCHS = ("armv6", "armv6m", "xtensa", "xtensawin", "rv32imc", "rv32imac")
WIDE_ARCHS = ("x64", "aarch64", "rv64imc")


def _name(x):
    """True if x is a variable name (a local, a slot)."""
    if not x or x[0].isdigit():
        return False
    for c in x:
        if not (c.isalpha() or c.isdigit() or c == "_"):
            return False
    return True


def arch_bits(arch):
    """(word bits, strict alignment) of an mpy-cross architecture name."""
    return (64 if arch in WIDE_ARCHS else 32), arch in STRICT_ARCHS


def eligible(info, idx):
    """None if function idx's signature and locals are all i32 (at most one result), else why not."""
    params, results = info.functypes[idx]
    lt = info.codes[idx - info.nimp][0]
    if len(results) > 1:
        return "multi-value result"
    for t in list(params) + list(results) + list(lt):
        if t != I32:
            return "a non-i32 param, result or local"
    return None


class VGen(Gen):
    """The viper source of one function (a subclass of the fast tier's generator)."""

    def __init__(self, info, idx, code, bits=64, strict=False, viper=(), grows=True):
        Gen.__init__(self, info, idx, code, True, False)
        self.max_loops, self.max_indent = 18, 95
        self.bits = bits
        self.strict = strict
        self.viper = viper          # indices of functions compiled to viper (direct calls)
        self.grows = grows          # memory may move after a call (memory.grow somewhere)
        self.kconst = {}            # big constant -> local name
        self.kmax = 0               # the largest offset + size of a memory access
        self.shims = set()          # "c<i>" / "ci<t>_<y>" shims the function calls
        self.why = eligible(info, idx)
        if self.why:
            raise Unsupported(self.why)

    # ---- values
    def sx(self, text):
        """text (low 32 bits right) -> the canonical (sign-extended) value."""
        if self.bits == 64:
            return "(%s << 32 >> 32)" % text
        return text

    def const(self, v):
        """A canonical constant (v signed)."""
        if -SMALL <= v < SMALL:
            return str(v) if v >= 0 else "(%d)" % v
        name = self.kconst.get(v)
        if name is None:
            name = "k%d" % len(self.kconst)
            self.kconst[v] = name
        return name

    def numeric(self, op):
        t = _VNUM.get(op)
        if t is not None:
            arity, tpl, kind = t
            if arity == 2:
                b = self.pop()
                a = self.pop()
                refs, eff, depth = self.combine((a, b))
                if kind == "r":
                    ops = (a.raw or a.expr, b.raw or b.expr)
                else:
                    ops = (a.expr, b.expr)
            else:
                a = self.pop()
                refs, eff, depth = self.combine((a,))
                if op == 0x45 and a.cond is not None:
                    self.push("(0 if %s else 1)" % a.cond, refs, "(not %s)" % a.cond, eff, depth)
                    return
                ops = (a.expr,)
            text = tpl.format(*ops)
            if kind == "c":
                self.push("(1 if %s else 0)" % text, refs, text, eff, depth)
            elif kind == "r":
                self.push(self.sx(text), refs, None, eff, depth)
                if self.bits == 64:
                    self.st[-1].raw = text
                k = self.const_of(b)
                if op == 0x6A and k is not None and 0 <= k < 0x100000:
                    self.st[-1].addk = (a.expr, k)  # an address x + K: K joins the offset
            else:
                self.push(text, refs, None, eff, depth)
            return
        if op in (0x74, 0x75, 0x76):
            return self.shift(op)
        if op in _VBIN:
            b = self.pop()
            a = self.pop()
            refs, eff, depth = self.combine((a, b))
            k = self.const_of(b)
            if k is not None and k > 0 and k & (k - 1) == 0 and op in (0x6E, 0x70):
                n = 0
                while (1 << n) != k:
                    n += 1
                if op == 0x70:  # rem_u by a power of two
                    self.push("(%s & %s)" % (a.expr, self.const(k - 1)), refs, None, eff, depth)
                    return
                self.push_shr_u(a.expr, str(n), refs, eff, depth)
                return
            self.used.add("VN")
            self.push(self.sx("int(VN(%d, %s, %s))" % (op, a.expr, b.expr)), refs, None, True,
                      depth + 1)
            return
        if op in _VUN:
            a = self.pop()
            self.used.add("VU")
            self.push("int(VU(%d, %s))" % (op, a.expr), a.refs, None, a.eff, a.depth + 1)
            return
        raise Unsupported("opcode 0x%02x (not i32)" % op)

    def const_of(self, e):
        x = e.expr
        if x.isdigit():
            return int(x)
        if x.startswith("(-") and x[2:-1].isdigit():
            return -int(x[2:-1])
        for v in self.kconst:
            if self.kconst[v] == x:
                return v
        return None

    def shift(self, op):
        b = self.pop()
        a = self.pop()
        refs, eff, depth = self.combine((a, b))
        k = self.const_of(b)
        cnt = str(k & 31) if k is not None else "(%s & 31)" % b.expr
        if op == 0x74:
            text = "(%s << %s)" % (a.raw or a.expr, cnt)
            self.push(self.sx(text), refs, None, eff, depth)
            if self.bits == 64:
                self.st[-1].raw = text
        elif op == 0x75:
            self.push("(%s >> %s)" % (a.expr, cnt), refs, None, eff, depth)
        else:
            self.push_shr_u(a.expr, cnt, refs, eff, depth, k is not None and k & 31)

    def push_shr_u(self, a, cnt, refs, eff, depth, nonzero=None):
        if nonzero is None:
            nonzero = cnt.isdigit() and int(cnt) > 0
        if self.bits == 64:
            text = "((%s & %s) >> %s)" % (a, self.const(0xFFFFFFFF), cnt)
            if not nonzero:
                text = self.sx(text)
        else:
            text = "int(uint(%s) >> %s)" % (a, cnt if cnt.isdigit() else "uint(%s)" % cnt)
        self.push(text, refs, None, eff, depth)

    # ---- memory
    def access(self, pc, size):
        """-> (offset, pc after); notes the largest offset + size."""
        off, pc = self.mem_ea(pc)
        if off + size > MAX_OFFSET:
            raise Unsupported("memory offset %d" % off)
        if off + size > self.kmax:
            self.kmax = off + size
        self.uses_mem = True
        return off, pc

    def at_addr(self, var, off):
        return "B + %s + %d" % (var, off) if off else "B + (%s)" % var

    def address(self, a, off, size, var):
        """(checked address, its assignment or None, static offset) of an access at a + off. For
        a = x + K (x a variable) the checked address is the sum itself, x + K: as a machine word
        it is the wasm address on a 32-bit architecture, and on a 64-bit one it is the address
        when in [0, 2**32) and negative (the slow path: it traps) otherwise."""
        ak = getattr(a, "addk", None)
        if ak is not None and _name(ak[0]):
            return "%s + %d" % ak, None, off
        if _name(a.expr):
            return a.expr, None, off
        return var, a.expr, off

    def check(self, e, k, size):
        """The bounds check of an access of `size` bytes at e + k (a statement): past the end,
        raise the namespace's out-of-bounds trap (no call: the code stays small)."""
        self.used.add("OOBX")
        self.emit(self.ind, "if uint(%s) > uint(ML - %d): raise OOBX" % (e, k + size))

    def load(self, op, pc):
        size, ptr, sx = _VLOADS[op]
        off, pc = self.access(pc, size)
        a = self.pop()
        self.flush_eff()            # earlier effects (traps) first
        e, assign, k = self.address(a, off, size, "_e")
        h = len(self.st)
        name = "s%d" % h
        self.flush_refs(name)
        if assign is not None:
            self.emit(self.ind, "_e = %s" % assign)
        self.check(e, k, size)
        word = "%s(%s)[0]" % (ptr, self.at_addr(e, k))
        if self.strict and size > 1:
            # an unaligned word faults (or is misread) on these architectures: bytewise
            ek = "%s + %d" % (e, k) if k else e
            self.used.add("LU")
            self.emit(self.ind, "if (%s) & %d:" % (ek, size - 1))
            self.emit(self.ind + 1, "%s = int(LU(%d, %s))" % (name, op, ek))
            self.emit(self.ind, "else:")
            self.emit(self.ind + 1, "%s = %s" % (name, word))
            word = name
        if size == 4:
            word = self.sx(word)
        elif sx is not None:
            word = sx.format(word)
        if word != name:
            self.emit(self.ind, "%s = %s" % (name, word))
        self.push_var(name)
        return pc

    def store(self, op, pc):
        size, ptr = _VSTORES[op]
        off, pc = self.access(pc, size)
        v = self.pop()
        a = self.pop()
        self.flush_eff()
        self.flush_refs("_s")
        e, assign, k = self.address(a, off, size, "_s")
        if assign is not None:
            self.emit(self.ind, "_s = %s" % assign)
        val = v.raw or v.expr
        if v.eff or not (_name(val) or self.const_of(v) is not None):
            self.emit(self.ind, "_v = %s" % val)
            val = "_v"
        self.check(e, k, size)
        put = "%s(%s)[0] = %s" % (ptr, self.at_addr(e, k), val)
        if self.strict and size > 1:
            ek = "%s + %d" % (e, k) if k else e
            self.used.add("SU")
            self.emit(self.ind, "if (%s) & %d:" % (ek, size - 1))
            self.emit(self.ind + 1, "SU(%d, %s, %s)" % (op, ek, val))
            self.emit(self.ind, "else:")
            self.emit(self.ind + 1, put)
        else:
            self.emit(self.ind, put)
        return pc

    def store64(self, pc):
        """i64.store of an i64 constant: its two halves as i32 stores."""
        if self.st[-1].ty != "K64":
            raise Unsupported("opcode 0x37 (not i32)")
        off, pc = self.access(pc, 8)
        v = int(self.pop().expr)
        a = self.pop()
        self.flush_eff()
        self.flush_refs("_s")
        e, assign, k = self.address(a, off, 8, "_s")
        if assign is not None:
            self.emit(self.ind, "_s = %s" % assign)
        self.check(e, k, 8)
        halves = []
        for i in (0, 4):
            h = (v >> (8 * i)) & 0xFFFFFFFF
            halves.append((i, self.const(h - 0x100000000 if h >= 0x80000000 else h)))
        ind = self.ind
        if self.strict:
            ek = "%s + %d" % (e, k) if k else e
            self.used.add("SU")
            self.emit(self.ind, "if (%s) & 3:" % ek)
            for i, h in halves:
                self.emit(ind + 1, "SU(54, %s + %d, %s)" % (ek, i, h))
            self.emit(self.ind, "else:")
            ind += 1
        for i, h in halves:
            self.emit(ind, "ptr32(%s)[0] = %s" % (self.at_addr(e, k + i), h))
        return pc

    # ---- instructions
    def instr(self, op, pc, types):
        code = self.code
        if op == 0x41:
            v, pc = sleb(code, pc, 32)
            if v >= 0x80000000:     # (the interpreter's reader gives the bit pattern)
                v -= 0x100000000
            self.push(self.const(v), ())
            return pc
        if op == 0x42:
            # an i64 constant: only as the value of an i64.store (a memset compiled to 8-byte
            # stores); anything else that would use it is not i32 code
            v, pc = sleb(code, pc, 64)
            self.push(str(v & 0xFFFFFFFFFFFFFFFF), ())
            self.st[-1].ty = "K64"
            return pc
        if op == 0x37:
            return self.store64(pc)
        if op in _VLOADS:
            return self.load(op, pc)
        if op in _VSTORES:
            return self.store(op, pc)
        if op == 0x10:
            x, pc = _uleb(code, pc)
            self.vcall(x)
            return pc
        if op == 0x11:
            y, pc = _uleb(code, pc)
            t, pc = _uleb(code, pc)
            self.vcall_indirect(y, t, types[y])
            return pc
        if op == 0x23 or op == 0x24:
            x, pc = _uleb(code, pc)
            gt, mut = self.info.globals[x]
            if gt != I32:
                raise Unsupported("a non-i32 global")
            if op == 0x23:
                self.used.add("G%d" % x)
                self.push(self.sx("int(G%d.bits)" % x), (), None, bool(mut), 1)
            else:
                e = self.pop()
                self.used.add("GSET")
                self.used.add("G%d" % x)
                self.stmt("GSET(G%d, %s)" % (x, e.expr))
            return pc
        if op == 0x3F:
            pc += 1
            self.used.add("MEM")
            self.push("int(MEM.pages)", (), None, True, 1)
            return pc
        if op == 0x40:
            pc += 1
            e = self.pop()
            self.flush_eff()
            h = len(self.st)
            self.flush_refs("s%d" % h)
            self.used.add("VGROW")
            self.emit(self.ind, "s%d = int(VGROW(%s))" % (h, e.expr))
            self.emit(self.ind, REFRESH)
            self.push_var("s%d" % h)
            return pc
        if op == 0x1C:
            n, p = _uleb(code, pc)
            if n != 1 or code[p] != I32:
                raise Unsupported("select of a non-i32 type")
            return Gen.instr(self, op, pc, types)
        if op == 0x43 or op == 0x44 or 0x28 <= op <= 0x3E or op >= 0xD0 \
                or op in (0x25, 0x26):
            raise Unsupported("opcode 0x%02x (not i32)" % op)
        if op in (0x02, 0x03, 0x04):
            b = code[pc]
            if b in (0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F):
                raise Unsupported("a non-i32 block type")
            if b != 0x40 and b != I32:
                idx, _ = _uleb(code, pc)
                p, r = types[idx]
                for t in list(p) + list(r):
                    if t != I32:
                        raise Unsupported("a non-i32 block type")
        return Gen.instr(self, op, pc, types)

    def call_args(self, params, results):
        for t in list(params) + list(results):
            if t != I32:
                raise Unsupported("a call with a non-i32 signature")
        if len(results) > 1:
            raise Unsupported("a call with several results")
        n = len(params)
        args = [self.pop().expr for _ in range(n)]
        args.reverse()
        self.flush_eff()
        self.uses_d1 = True
        return args

    def emit_call(self, text, nres, wrap):
        if nres == 0:
            self.emit(self.ind, text)
            self.emit(self.ind, REFRESH)
            return
        h = len(self.st)
        name = "s%d" % h
        self.flush_refs(name)
        val = "int(%s)" % text
        self.emit(self.ind, "%s = %s" % (name, self.sx(val) if wrap else val))
        self.emit(self.ind, REFRESH)
        self.push_var(name)

    def vcall(self, x):
        params, results = self.info.functypes[x]
        args = self.call_args(params, results)
        if x in self.viper:
            fn = "V%d" % x
            wrap = False
        else:
            fn = "c%d" % x
            self.shims.add(x)
            wrap = True
        self.used.add(fn)
        self.emit_call("%s(%s)" % (fn, ", ".join(args + ["d1"])), len(results), wrap)

    def vcall_indirect(self, y, t, ftype):
        params, results = ftype
        i = self.pop()
        args = self.call_args(params, results)
        fn = "ci%d_%d" % (t, y)
        self.shims.add((t, y, len(params)))
        self.used.add(fn)
        self.emit_call("%s(%s)" % (fn, ", ".join([i.expr] + args + ["d1"])), len(results), True)

    def emit(self, ind, text):
        # br_table's `_t in (...)`: viper has no `in` on ints; ranges of consecutive labels
        for pre in ("if _t in (", "elif _t in ("):
            if text.startswith(pre):
                ks = [int(k) for k in text[len(pre):-2].split(", ")]
                runs = []
                for k in ks:
                    if runs and runs[-1][1] == k - 1:
                        runs[-1][1] = k
                    else:
                        runs.append([k, k])
                if len(runs) > 8:
                    raise Unsupported("br_table with scattered labels")
                conds = []
                for lo, hi in runs:
                    conds.append("_t == %d" % lo if lo == hi else "(_t >= %d and _t <= %d)" % (lo, hi))
                text = pre[:-6] + " or ".join(conds) + ":"
        if " <= _t <= " in text:
            i = text.index(" <= _t <= ")
            j = text.rindex(" ", 0, i)
            lo = text[j + 1:i]
            hi = text[i + 10:text.index(":", i)]
            text = text[:j + 1] + "_t >= %s and _t <= %s:" % (lo, hi)
        Gen.emit(self, ind, text)

    def prefixed(self, pc):
        raise Unsupported("opcode 0xfc")

    # ---- the function
    def finish(self):
        idx = self.idx
        params = ["l%d" % i for i in range(self.nparams)]
        sig = ", ".join(["%s: int" % p for p in params] + ["d: int"])
        ret = " -> int" if self.nres else ""
        deep = "DEEPV(%d, d%s)" % (idx, "".join([", " + p for p in params]))
        deep = ("return " + self.sx("int(%s)" % deep)) if self.nres else deep + "\n        return"
        head = ["@micropython.viper", "def V%d(%s)%s:" % (idx, sig, ret)]
        if self.bits == 64:
            for p in params:
                head.append("    %s = %s << 32 >> 32" % (p, p))
        self.used.add("DEEPV")
        if self.uses_mem:
            self.used.add("MEM")
            # (a paged memory, runtime.Memory.paged, has no address: the interpreter takes it)
            head.append("    ML = 0 if MEM.paged else int(len(MEM.data))")
            head.append("    if d > int(VLIM) or ML < %d:" % max(self.kmax, 1))
            head.append("        " + deep)
            head.append("    B = int(ptr8(MEM.data))")
            head.append("    _e = 0")
        else:
            head.append("    if d > int(VLIM):")
            head.append("        " + deep)
        for i in range(self.nparams, len(self.local_types)):
            head.append("    l%d = 0" % i)
        # every slot and temporary an int before its first use (viper types a local by its first
        # assignment; unreachable code may read one that is never assigned)
        body = "\n".join(self.lines)
        temps = [t for t in ("_s", "_v", "_t") if t + " = " in body]
        h = 0
        while ("s%d" % h) in body:
            temps.append("s%d" % h)
            h += 1
        if temps:
            head.append("    %s = 0" % " = ".join(temps))
        for v in sorted(self.kconst):
            head.append("    %s = int(%d)" % (self.kconst[v], v))
        if self.uses_d1:
            head.append("    d1 = d + 1")
        if self.uses_j:
            head.append("    _j = 0")
        # the limits `ML - K` of the function's accesses, in locals (read again with B and ML)
        body = "\n".join(self.lines)
        ks = []
        i = body.find("ML - ")
        while i >= 0:
            j = i + 5
            while body[j].isdigit():
                j += 1
            k = int(body[i + 5:j])
            if k not in ks:
                ks.append(k)
            i = body.find("ML - ", j)
        ks.sort()
        lims = "; ".join(["m%d = ML - %d" % (k, k) for k in ks])
        if lims:
            head.insert(head.index("    _e = 0"), "    " + lims)
            self.lines = [ln.replace("ML - ", "m") if "ML - " in ln else ln for ln in self.lines]
        refresh = "if MEM.paged: raise PAGEDX\n" + \
            "B = int(ptr8(MEM.data)); ML = int(len(MEM.data))" + ("; " + lims if lims else "")
        if self.uses_mem and self.grows:
            self.used.add("PAGEDX")
            lines = []
            for ln in self.lines:
                if ln.endswith(REFRESH):
                    ind = ln[:len(ln) - len(ln.lstrip())]
                    lines += [ind + r for r in refresh.split("\n")]
                else:
                    lines.append(ln)
        else:
            lines = [ln for ln in self.lines if not ln.endswith(REFRESH)]
        # the body ran inside the fast tier's `try:` (indentation 2): one level less here
        lines = [ln[4:] for ln in lines]
        return "\n".join(head + lines) + "\n"


def shim(key):
    """A call from viper code to a non-viper function: canonical ints -> bit patterns."""
    if isinstance(key, tuple):
        t, y, n = key
        ps = "".join([", a%d" % i for i in range(n)])
        ms = "".join(["a%d & 4294967295, " % i for i in range(n)])
        return "def ci%d_%d(i%s, d):\n    return CI(TB%d, i & 4294967295, TY%d)(%sd)\n" % (
            t, y, ps, t, y, ms)
    return None


def call_shim(x, n, interp=False):
    """c<x>: a call of function x (not viper code) with canonical ints; interp: x is left to the
    interpreter (not in the module), else it is f<x> (native code, or an import)."""
    ps = "".join(["a%d, " % i for i in range(n)])
    ms = "".join(["a%d & 4294967295, " % i for i in range(n)])
    if interp:
        return "def c%d(%sd):\n    return IC(%d, d, %s)\n" % (x, ps, x, ms[:-2])
    return "def c%d(%sd):\n    return f%d(%sd)\n" % (x, ps, x, ms)


def grows_memory(info, code):
    """True if some function of the module may grow the memory (memory.grow)."""
    for lt, start, end in info.codes:
        pc = start
        while pc < end:
            op = code[pc]
            pc += 1
            if op == 0x40:
                return True
            pc = _skip(code, pc, op)
    return False


def module_functions(info, code, bits, strict, imported_memory=False, interp_rest=False):
    """Generate every function that viper can take (interp_rest: the others, but not imports,
    are left to the interpreter, not compiled at all).
    -> ({function index: viper source}, shims source, {function index: why not})"""
    grows = imported_memory or grows_memory(info, code)
    cand = set()
    why = {}
    for i in range(len(info.codes)):
        idx = info.nimp + i
        r = eligible(info, idx)
        if r:
            why[idx] = r
        else:
            cand.add(idx)
    while True:
        out = {}
        shims = set()
        failed = False
        for idx in sorted(cand):
            try:
                g = VGen(info, idx, code, bits, strict, cand, grows)
                out[idx] = g.generate()
                shims |= g.shims
            except Unsupported as e:
                why[idx] = str(e)
                cand.discard(idx)
                failed = True
        if not failed:
            break
    parts = []
    for s in sorted([k for k in shims if not isinstance(k, tuple)]):
        parts.append(call_shim(s, len(info.functypes[s][0]), interp_rest and s >= info.nimp))
    for k in sorted([k for k in shims if isinstance(k, tuple)]):
        parts.append(shim(k))
    return out, "\n".join(parts), why
