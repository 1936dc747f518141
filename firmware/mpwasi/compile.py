"""The fast tier: a validated wasm function becomes Python source, compiled with exec().

Per function (lazily, the first time it runs in tier "fast", or once it is hot in tier "auto"):
structured control flow maps onto `while True:` (loops, and blocks that branches target) with
break/continue, and a label variable `_j` for branches that cross several loops; locals are Python
locals `l0, l1, ...`; the operand stack becomes expressions, folded until a statement needs them, or
slot variables `s0, s1, ...` (one per stack height) at control-flow joins. Values are the
interpreter's bit-pattern ints; float operations call the same `numeric` functions.

A compiled function is `f<idx>(l0, ..., d)`: its wasm arguments and its call depth d. It returns
None, one value or a tuple (multi-value). Past NEST nested Python frames (MicroPython's C stack holds
only a few hundred) the callee runs in the interpreter instead, whose calls do not nest, so 10,000-deep
wasm recursion works; `Limits.max_call_depth` traps exactly where the interpreter traps.

Installation: a compiled function's `Function.host` holds a `Fast` object (attribute `fast` True),
so the interpreter reaches it through its host-call path at no cost to its own calls. Traps carry the
compiled frames (function index, name, body offset) in `Trap.frames`.

Fuel (`Limits(fuel=...)`) is counted by the interpreter only: a call tree with a fuel limit runs in
the interpreter (compiled functions are bypassed), so fuel stays exact.
"""

import sys

from .errors import Trap, Exit, WasmError, RecursionError
from . import numeric
from . import interp
from .fuse import skip as _fuse_skip
from .binary import I32, I64, F32, F64
from .validate import NUM_SIG

MICROPYTHON = sys.implementation.name == "micropython"

if MICROPYTHON:
    _BOARD = sys.platform not in ("linux", "darwin", "windows", "win32")
    NEST = 12 if _BOARD else 40
else:
    NEST = 200
# how deeply generated code may nest: (loops, indentation) for MicroPython and CPython (at most 20
# statically nested loop/try blocks and 100 levels of indentation)
NESTING = {True: (1000, 1000), False: (18, 95)}

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


class Unsupported(Exception):
    """The function cannot be compiled (it then runs in the interpreter)."""


# ---------------------------------------------------------------- reading the body

# the interpreter's LEB128 readers (a block type index in validated code is non-negative)
_uleb = interp.uleb


def _blocktype(code, pc, types):
    """-> (params, results, pc after)"""
    b = code[pc]
    if b == 0x40:
        return (), (), pc + 1
    if b in (0x7F, 0x7E, 0x7D, 0x7C, 0x70, 0x6F):
        return (), (b,), pc + 1
    idx, pc = _uleb(code, pc)
    p, r = types[idx]
    return p, r, pc


# pc after the immediates of an opcode (shared with the fusion pass)
_skip = _fuse_skip


# functions whose source is longer than this use the struct path for 4-byte accesses (the word
# view's code is longer: MicroPython's compiler overflows on very large functions)
U32_MAX = 16000
# a line after each call and memory.grow: where the memory's word view is read again (or nothing)
REFRESH = "#refresh-u32"


class _Construct:
    """One block/loop/if of the body, found by the pre-pass."""

    def __init__(self, kind, pc):
        self.kind = kind        # 0 block, 1 loop, 2 if
        self.pc = pc            # the opcode
        self.end = -1           # pc of its `end` opcode
        self.els = -1           # pc of its `else` opcode
        self.targeted = False   # some branch targets its label


def _prepass(code, start, end):
    """{opcode pc: _Construct}, {else/end pc: _Construct}; marks branch targets."""
    at = {}
    close = {}
    stack = []
    pc = start
    while pc < end:
        op = code[pc]
        pc += 1
        if op in (0x02, 0x03, 0x04):
            c = _Construct(op - 2, pc - 1)
            at[pc - 1] = c
            stack.append(c)
        elif op == 0x05:
            stack[-1].els = pc - 1
            close[pc - 1] = stack[-1]
        elif op == 0x0B:
            if stack:
                c = stack.pop()
                c.end = pc - 1
                close[pc - 1] = c
        elif op == 0x0C or op == 0x0D:
            dpt, _ = _uleb(code, pc)
            if dpt < len(stack):
                stack[-1 - dpt].targeted = True
        elif op == 0x0E:
            n, p = _uleb(code, pc)
            for _ in range(n + 1):
                dpt, p = _uleb(code, p)
                if dpt < len(stack):
                    stack[-1 - dpt].targeted = True
        pc = _skip(code, pc, op)
    return at, close


# ---------------------------------------------------------------- numeric templates

_I32 = 4294967295
_I64 = 18446744073709551615
_S32 = 2147483648
_S64 = 9223372036854775808

# op -> (arity, template or None (call N_xx), kind): kind "v" value, "c" condition, "t" may trap
_NUM = {
    0x45: (1, "({0} == 0)", "c"),
    0x46: (2, "({0} == {1})", "c"), 0x47: (2, "({0} != {1})", "c"),
    0x48: (2, "(({0} ^ %d) < ({1} ^ %d))" % (_S32, _S32), "c"), 0x49: (2, "({0} < {1})", "c"),
    0x4A: (2, "(({0} ^ %d) > ({1} ^ %d))" % (_S32, _S32), "c"), 0x4B: (2, "({0} > {1})", "c"),
    0x4C: (2, "(({0} ^ %d) <= ({1} ^ %d))" % (_S32, _S32), "c"), 0x4D: (2, "({0} <= {1})", "c"),
    0x4E: (2, "(({0} ^ %d) >= ({1} ^ %d))" % (_S32, _S32), "c"), 0x4F: (2, "({0} >= {1})", "c"),
    0x50: (1, "({0} == 0)", "c"),
    0x51: (2, "({0} == {1})", "c"), 0x52: (2, "({0} != {1})", "c"),
    0x53: (2, "(({0} ^ %d) < ({1} ^ %d))" % (_S64, _S64), "c"), 0x54: (2, "({0} < {1})", "c"),
    0x55: (2, "(({0} ^ %d) > ({1} ^ %d))" % (_S64, _S64), "c"), 0x56: (2, "({0} > {1})", "c"),
    0x57: (2, "(({0} ^ %d) <= ({1} ^ %d))" % (_S64, _S64), "c"), 0x58: (2, "({0} <= {1})", "c"),
    0x59: (2, "(({0} ^ %d) >= ({1} ^ %d))" % (_S64, _S64), "c"), 0x5A: (2, "({0} >= {1})", "c"),
    0x6A: (2, "(({0} + {1}) & %d)" % _I32, "v"), 0x6B: (2, "(({0} - {1}) & %d)" % _I32, "v"),
    0x6C: (2, "(({0} * {1}) & %d)" % _I32, "v"),
    0x71: (2, "({0} & {1})", "v"), 0x72: (2, "({0} | {1})", "v"), 0x73: (2, "({0} ^ {1})", "v"),
    0x74: (2, "(({0} << ({1} & 31)) & %d)" % _I32, "v"),
    0x75: (2, "((({0} ^ %d) - %d) >> ({1} & 31) & %d)" % (_S32, _S32, _I32), "v"),
    0x76: (2, "({0} >> ({1} & 31))", "v"),
    0x7C: (2, "(({0} + {1}) & %d)" % _I64, "v"), 0x7D: (2, "(({0} - {1}) & %d)" % _I64, "v"),
    0x7E: (2, "(({0} * {1}) & %d)" % _I64, "v"),
    0x83: (2, "({0} & {1})", "v"), 0x84: (2, "({0} | {1})", "v"), 0x85: (2, "({0} ^ {1})", "v"),
    0x86: (2, "(({0} << ({1} & 63)) & %d)" % _I64, "v"),
    0x87: (2, "((({0} ^ %d) - %d) >> ({1} & 63) & %d)" % (_S64, _S64, _I64), "v"),
    0x88: (2, "({0} >> ({1} & 63))", "v"),
    0x8B: (1, "({0} & 2147483647)", "v"), 0x8C: (1, "({0} ^ 2147483648)", "v"),
    0x98: (2, "(({0} & 2147483647) | ({1} & 2147483648))", "v"),
    0x99: (1, "({0} & 9223372036854775807)", "v"), 0x9A: (1, "({0} ^ 9223372036854775808)", "v"),
    0xA6: (2, "(({0} & 9223372036854775807) | ({1} & 9223372036854775808))", "v"),
    0xA7: (1, "({0} & %d)" % _I32, "v"),
    0xAC: (1, "((({0} ^ %d) - %d) & %d)" % (_S32, _S32, _I64), "v"),
    0xAD: (1, "{0}", "v"),
    0xBC: (1, "{0}", "v"), 0xBD: (1, "{0}", "v"), 0xBE: (1, "{0}", "v"), 0xBF: (1, "{0}", "v"),
    0xC0: (1, "(((({0} & 255) ^ 128) - 128) & %d)" % _I32, "v"),
    0xC1: (1, "(((({0} & 65535) ^ 32768) - 32768) & %d)" % _I32, "v"),
    0xC2: (1, "(((({0} & 255) ^ 128) - 128) & %d)" % _I64, "v"),
    0xC3: (1, "(((({0} & 65535) ^ 32768) - 32768) & %d)" % _I64, "v"),
    0xC4: (1, "(((({0} & %d) ^ %d) - %d) & %d)" % (_I32, _S32, _S32, _I64), "v"),
}
_TRAPPING = (0x6D, 0x6E, 0x6F, 0x70, 0x7F, 0x80, 0x81, 0x82, 0xA8, 0xA9, 0xAA, 0xAB, 0xAE, 0xAF,
             0xB0, 0xB1)

# add/sub/mul and shl mask their result: their operands may be another add/sub/mul's value
# before its mask (`raw`), the same modulo 2**32 (2**64); i32.wrap_i64 likewise
_RAW_IN = (0x6A, 0x6B, 0x74, 0x7C, 0x7D, 0x86)
_RAW_OUT = {0x6A: "({0} + {1})", 0x6B: "({0} - {1})", 0x6C: "({0} * {1})",
            0x7C: "({0} + {1})", 0x7D: "({0} - {1})", 0x7E: "({0} * {1})"}

# loads: op -> (struct format or None for one byte, sign-extension template or None)
_LOADS = {
    0x28: ("<I", None), 0x29: ("<Q", None), 0x2A: ("<I", None), 0x2B: ("<Q", None),
    0x2C: (None, "(((v ^ 128) - 128) & %d)" % _I32), 0x2D: (None, None),
    0x2E: ("<H", "(((v ^ 32768) - 32768) & %d)" % _I32), 0x2F: ("<H", None),
    0x30: (None, "(((v ^ 128) - 128) & %d)" % _I64), 0x31: (None, None),
    0x32: ("<H", "(((v ^ 32768) - 32768) & %d)" % _I64), 0x33: ("<H", None),
    0x34: ("<I", "(((v ^ %d) - %d) & %d)" % (_S32, _S32, _I64)), 0x35: ("<I", None),
}
# stores: op -> (struct format or None for one byte, value mask)
_STORES = {
    0x36: ("<I", None), 0x37: ("<Q", None), 0x38: ("<I", None), 0x39: ("<Q", None),
    0x3A: (None, 255), 0x3B: ("<H", 65535), 0x3C: (None, 255), 0x3D: ("<H", 65535),
    0x3E: ("<I", _I32),
}
_FMT_NAMES = {"<I": "32", "<Q": "64", "<H": "16", "<d": "D"}


# ---------------------------------------------------------------- the code generator

# f64 operations done on Python floats (when the host float is a double): op -> template
_FNUM = {
    0x61: "({0} == {1})", 0x62: "({0} != {1})", 0x63: "({0} < {1})", 0x64: "({0} > {1})",
    0x65: "({0} <= {1})", 0x66: "({0} >= {1})",
    0x99: "FABS({0})", 0x9A: "(-{0})", 0x9F: "FSQRT({0})",
    0xA0: "({0} + {1})", 0xA1: "({0} - {1})", 0xA2: "({0} * {1})",
    0xA3: "({0} / {1} if {1} else FDIV0({0}, {1}))", 0xA6: "COPYSIGN({0}, {1})",
    0xB7: "float((({0} ^ %d) - %d))" % (_S32, _S32), 0xB8: "float({0})",
}
if not MICROPYTHON:
    # CPython's int -> float rounds to nearest even; MicroPython's big ints may not
    _FNUM[0xB9] = "float((({0} ^ %d) - %d))" % (_S64, _S64)
    _FNUM[0xBA] = "float({0})"


class _E:
    """An operand-stack entry: a Python expression, the variables it reads, a boolean form."""

    def __init__(self, expr, refs=(), cond=None, eff=False, depth=0, ty=0):
        self.expr = expr
        self.ty = ty            # F64 when the value is a Python float (else bits)
        self.raw = None         # (add/sub/mul) the expression before its final mask
        self.refs = refs        # tuple of variable names
        self.cond = cond        # expression true iff the value is non-zero, or None
        self.eff = eff          # may trap or reads memory/globals: evaluate in order
        self.depth = depth


class _Frame:
    def __init__(self, kind, c, height, nparams, nres, ind, label):
        self.kind = kind        # 0 block, 1 loop, 2 if, 3 function
        self.c = c              # _Construct (None for the function)
        self.height = height    # stack height below its params
        self.nparams = nparams
        self.nres = nres
        self.ind = ind          # indentation of the construct's own statement
        self.loop = False       # a Python `while True:`
        self.label = label
        self.escapes = []       # frames outside it that `_j` may name when its loop ends
        self.entry = None       # (if) the stack at entry
        self.has_else = False


class FuncInfo:
    """What the generator needs to know about a module (from a ModuleData)."""

    def __init__(self, m):
        self.types = m.types
        self.functypes = [m.types[t] for t in m.funcs]
        self.globals = m.globals
        self.nimp = m.n_imported_funcs
        self.codes = m.codes


def _const_expr(v):
    return str(v)


class Gen:
    """Generates the Python source of one function."""

    def __init__(self, info, idx, code, mp=MICROPYTHON, fdom=None):
        self.info = info
        # f64 values as Python floats: only where the host float is an IEEE double
        self.fdom = (numeric.HOST_DOUBLE and not numeric.SOFT) if fdom is None else fdom
        self.consts = {}
        self.max_loops, self.max_indent = NESTING[bool(mp)]
        self.decorator = None   # e.g. "@micropython.native" (ahead-of-time modules)
        self.module_consts = False  # f64 constants are defined by the caller (not before the def)
        self.idx = idx
        self.code = code
        self.mp = mp
        lt, start, end = info.codes[idx - info.nimp]
        self.start = start
        self.end = end
        params, results = info.functypes[idx]
        self.nparams = len(params)
        self.nres = len(results)
        self.local_types = list(params) + list(lt)
        self.results = results
        self.lines = []
        self.st = []
        self.frames = []
        self.used = set()       # names the function needs from the namespace
        self.uses_w4 = False    # 4-byte (i32) accesses through the memory's word view
        self.uses_w8 = False    # 8-byte (f64 as float) accesses through its double view
        self.u32 = mp           # whether to use them (MicroPython; a large function's code
                                # stays shorter)
        self.uses_j = False
        self.uses_d1 = False
        self.labels = 0
        self.uses_mem = False

    # ---- output
    def emit(self, ind, text):
        if ind > self.max_indent:
            raise Unsupported("nesting too deep for this Python")
        self.lines.append("    " * ind + text)

    def struct_access(self, fmt, load):
        """A memory access through struct: a template for the address (and the value)."""
        if self.mp:  # the functions bound to locals at function entry
            self.used.add("UF" if load else "PI")
            return ("_uf('%s', D, %%s)[0]" if load else "_pi('%s', D, %%s, %%s)") % fmt
        nm = ("U" if load else "P") + _FMT_NAMES[fmt]
        self.used.add(nm)
        return nm + ("(D, %s)[0]" if load else "(D, %s, %s)")

    def refresh_text(self):
        t = []
        if self.uses_w4:
            t.append("W4 = MEM.u32; L4 = MEM.lim")
        if self.uses_w8:
            t.append("W8 = MEM.f64; L8 = MEM.lim8")
        return "; ".join(t)

    def view(self, fmt):
        """(view name, alignment mask, shift, limit name) of the memory's word view for a 4- or
        8-byte access of struct format fmt (runtime.Memory.u32 / .f64), or None: struct it is."""
        if not self.u32:
            return None
        if fmt == "<I":
            self.uses_w4 = True
            return ("W4", 3, 2, "L4")
        if fmt == "<d":
            self.uses_w8 = True
            return ("W8", 7, 3, "L8")
        return None

    def header_last(self):
        return bool(self.lines) and self.lines[-1].endswith(":")

    # ---- stack
    def push(self, expr, refs=(), cond=None, eff=False, depth=0, ty=0):
        if expr.isdigit() or (expr[0] == "K" and expr[1] == "F"):
            refs = ()
            depth = 0
        if depth > 12 or len(expr) > 400:
            # keep expressions small: materialize into the slot variable
            h = len(self.st)
            self.st.append(_E(expr, refs, cond, eff, depth, ty))
            self.materialize(h)
            return
        self.st.append(_E(expr, refs, cond, eff, depth, ty))

    def push_var(self, name, ty=0):
        self.st.append(_E(name, (name,), None, False, 0, ty))

    def pop(self):
        return self.st.pop()

    def materialize(self, h):
        e = self.st[h]
        name = "s%d" % h
        if e.expr == name:
            return
        self.flush_refs(name, h)
        self.emit(self.ind, "%s = %s" % (name, e.expr))
        self.st[h] = _E(name, (name,), None, False, 0, e.ty)

    def flush_refs(self, name, skip=-1):
        st = self.st
        for j in range(len(st)):
            if j != skip and name in st[j].refs:
                self.materialize(j)

    def flush_eff(self):
        st = self.st
        for j in range(len(st)):
            if st[j].eff:
                self.materialize(j)

    def flush_all(self):
        for j in range(len(self.st)):
            self.materialize(j)

    def assign(self, name, expr):
        self.flush_eff()
        self.flush_refs(name)
        self.emit(self.ind, "%s = %s" % (name, expr))

    def stmt(self, text):
        self.flush_eff()
        self.emit(self.ind, text)

    def cond_of(self, e):
        return e.cond if e.cond is not None else e.expr

    # ---- operands of a new entry
    def combine(self, es):
        refs = ()
        eff = False
        depth = 0
        for e in es:
            refs = refs + e.refs
            eff = eff or e.eff
            if e.depth > depth:
                depth = e.depth
        return refs, eff, depth + 1

    # ---- labels and branches
    def innermost_loop(self, below=None):
        """The innermost frame that is a Python loop (strictly inside `below` if given)."""
        for i in range(len(self.frames) - 1, -1, -1):
            f = self.frames[i]
            if f is below:
                return None
            if f.loop:
                return f
        return None

    def flows_to_end(self, pos, target):
        """True if control after the opcode at pos-1 reaches target's `end` without executing
        an instruction (only ends, and elses that jump to their end, in between)."""
        code = self.code
        tend = target.c.end
        close = self.close
        while True:
            if pos == tend:
                return True
            op = code[pos]
            if op == 0x0B:
                pos += 1
            elif op == 0x05:
                pos = close[pos].end
            else:
                return False

    def copy_to(self, target, keep):
        """Assignments of the top `keep` values into target's label slots (a list of lines)."""
        if keep == 0:
            return []
        n = len(self.st)
        dst = []
        src = []
        for i in range(keep):
            name = "s%d" % (target.height + i)
            e = self.st[n - keep + i]
            if e.expr != name:
                dst.append(name)
                src.append(e.expr)
        if not dst:
            return []
        return ["%s = %s" % (", ".join(dst), ", ".join(src))]

    def branch_lines(self, depth):
        """Statements that branch to label `depth` (values are on the stack)."""
        target = self.frames[-1 - depth]
        if target.kind == 3:
            return [self.return_text()]
        keep = target.nparams if target.kind == 1 else target.nres
        lines = self.copy_to(target, keep)
        inner = self.innermost_loop()
        if inner is target:
            lines.append("continue" if target.kind == 1 else "break")
            return lines
        # a Python loop lies between: leave it
        if target.kind != 1 and self.flows_to_end(inner.c.end + 1, target):
            lines.append("break")
            return lines
        self.uses_j = True
        lines.append("_j = %d" % target.label)
        lines.append("break")
        if target not in inner.escapes:
            inner.escapes.append(target)
        return lines

    def fty(self, t):
        return F64 if t == F64 and self.fdom else 0

    def return_text(self):
        n = self.nres
        if n == 0:
            return "return"
        vals = [self.operand(e) for e in self.st[len(self.st) - n:]]
        if n == 1:
            return "return " + vals[0]
        return "return (%s)" % ", ".join(vals)

    def after_loop(self, f):
        """Dispatch `_j` after the Python loop of frame f ended (at the parent's indentation)."""
        if not f.escapes:
            return
        outer = self.innermost_loop()
        rest = []
        for t in f.escapes:
            if t is outer:
                self.emit(self.ind, "if _j == %d:" % t.label)
                self.emit(self.ind + 1, "_j = 0")
                self.emit(self.ind + 1, "continue" if t.kind == 1 else "break")
            else:
                rest.append(t)
        if rest:
            if outer is None:
                raise Unsupported("internal: branch target not found")
            self.emit(self.ind, "if _j:")
            self.emit(self.ind + 1, "break")
            for t in rest:
                if t not in outer.escapes:
                    outer.escapes.append(t)

    # ---- the body
    def generate(self):
        code = self.code
        info = self.info
        self.at, self.close = _prepass(code, self.start, self.end)
        # Python loop nesting: loops and targeted blocks/ifs become `while True:`
        self.check_nesting()
        ft = _Frame(3, None, 0, 0, self.nres, 1, 0)
        self.frames.append(ft)
        self.ind = 2
        self.unreachable = False
        pc = self.start
        end = self.end
        types = info.types
        while pc < end:
            op = code[pc]
            pc += 1
            if self.unreachable:
                if op in (0x02, 0x03, 0x04):
                    pc = self.at[pc - 1].end + 1
                    continue
                if op != 0x05 and op != 0x0B:
                    pc = _skip(code, pc, op)
                    continue
            if op < 0x45 or op >= 0xC5:
                pc = self.instr(op, pc, types)
                continue
            # numeric
            self.numeric(op)
        return self.finish()

    def check_nesting(self):
        """Loops that branches target, and targeted blocks/ifs, become Python loops."""
        deepest = 0
        stack = []
        for pc in sorted(self.at):
            c = self.at[pc]
            while stack and stack[-1].end < pc:
                stack.pop()
            stack.append(c)
            n = 0
            for s in stack:
                if s.targeted:
                    n += 1
            if n > deepest:
                deepest = n
        if deepest > self.max_loops:
            raise Unsupported("more than %d nested loops" % self.max_loops)

    def operand(self, e):
        """An operand's expression as bits (f64 floats are converted)."""
        if e.ty == F64:
            self.used.add("QB")
            return "QB(%s)" % e.expr
        return e.expr

    def simple(self, e):
        """e as a variable or constant (materialized if it is an expression)."""
        if e.refs == (e.expr,) or not e.refs:
            return e
        self.st.append(e)
        self.materialize(len(self.st) - 1)
        return self.pop()

    def numeric(self, op):
        ins, out = NUM_SIG[op]
        if self.fdom and op in _FNUM:
            return self.float_op(op, len(ins))
        t = _NUM.get(op)
        if t is not None:
            arity, tpl, kind = t
            if arity == 2:
                b = self.pop()
                a = self.pop()
                refs, eff, depth = self.combine((a, b))
                if op in _RAW_IN:
                    ops = (a.raw or a.expr, b.raw or b.expr)
                else:
                    ops = (self.operand(a), self.operand(b))
            else:
                a = self.pop()
                refs, eff, depth = self.combine((a,))
                if op in (0x45, 0x50) and a.cond is not None:
                    self.push("(0 if %s else 1)" % a.cond, refs, "(not %s)" % a.cond, eff, depth)
                    return
                ops = (a.raw or a.expr,) if op == 0xA7 else (self.operand(a),)
            text = tpl.format(*ops)
            if arity == 2 and ops[1].isdigit():  # a constant shift count: its mask folds
                for m in (31, 63):
                    text = text.replace("(%s & %d)" % (ops[1], m), str(int(ops[1]) & m))
            if not eff and ops[0].isdigit() and ops[-1].isdigit() and (out == I32 or out == I64):
                # constant operands fold at compile time
                self.push(str(int(eval(text)) & (M64 if out == I64 else M32)))
                return
            if kind == "c":
                self.push("(1 if %s else 0)" % text, refs, text, eff, depth)
            else:
                self.result(text, refs, None, eff, depth, out)
                raw = _RAW_OUT.get(op)
                if raw is not None and self.st[-1].expr == text:
                    # the value before its final mask, for a consumer that masks anyway
                    self.st[-1].raw = raw.format(*ops)
            return
        name = "N_%02X" % op
        self.used.add(name)
        trap = op in _TRAPPING
        if numeric.BIN[op] is not None:
            b = self.pop()
            a = self.pop()
            refs, eff, depth = self.combine((a, b))
            if trap and op in (0x6E, 0x70, 0x80, 0x82) and b.expr.isdigit() and int(b.expr):
                text = "(%s %s %s)" % (a.expr, "//" if op in (0x6E, 0x80) else "%", b.expr)
                self.push(text, refs, None, eff, depth)
                return
            text = "%s(%s, %s)" % (name, self.operand(a), self.operand(b))
            self.result(text, refs, None, eff or trap, depth, out)
        else:
            a = self.pop()
            refs, eff, depth = self.combine((a,))
            self.result("%s(%s)" % (name, self.operand(a)), refs, None, eff or trap, depth, out)

    def result(self, text, refs, cond, eff, depth, ty):
        """Push a bits-valued result of type ty (an f64 becomes a float)."""
        if ty == F64 and self.fdom:
            self.used.add("BQ")
            self.push("BQ(%s)" % text, refs, None, eff, depth + 1, F64)
        else:
            self.push(text, refs, cond, eff, depth)

    def float_op(self, op, arity):
        """f64 operations on Python floats."""
        tpl = _FNUM[op]
        if arity == 2:
            b = self.pop()
            if op == 0xA3:
                b = self.simple(b)      # (at its own height: it is read twice)
                self.used.add("FDIV0")
            a = self.pop()
            refs, eff, depth = self.combine((a, b))
            text = tpl.format(a.expr, b.expr)
        else:
            a = self.pop()
            refs, eff, depth = self.combine((a,))
            text = tpl.format(a.expr)
        for nm in ("FABS", "FSQRT", "COPYSIGN"):
            if nm in text:
                self.used.add(nm)
        if 0x61 <= op <= 0x66:
            self.push("(1 if %s else 0)" % text, refs, text, eff, depth)
        else:
            self.push(text, refs, None, eff, depth, F64)

    def mem_ea(self, pc):
        pc = _uleb(self.code, pc)[1]      # alignment
        off, pc = _uleb(self.code, pc)
        return off, pc

    def instr(self, op, pc, types):
        code = self.code
        if op == 0x20:  # local.get
            x, pc = _uleb(code, pc)
            self.push_var("l%d" % x, self.fty(self.local_types[x]))
        elif op == 0x21 or op == 0x22:  # local.set / tee
            x, pc = _uleb(code, pc)
            e = self.pop()
            name = "l%d" % x
            if e.expr != name:
                self.assign(name, e.expr)
            if op == 0x22:
                self.push_var(name, e.ty)
        elif op == 0x41 or op == 0x42:
            v, pc = interp.sleb(code, pc, 32 if op == 0x41 else 64)
            self.push(_const_expr(v))
        elif op == 0x43:
            v = code[pc] | code[pc + 1] << 8 | code[pc + 2] << 16 | code[pc + 3] << 24
            self.push(_const_expr(v))
            pc += 4
        elif op == 0x44:
            v = 0
            for i in range(8):
                v |= code[pc + i] << (8 * i)
            if self.fdom:
                name = "KF%x" % v
                self.consts[name] = v
                self.push(name, (), None, False, 0, F64)
            else:
                self.push(_const_expr(v))
            pc += 8
        elif 0x28 <= op <= 0x35:
            off, pc = self.mem_ea(pc)
            a = self.pop()
            refs, eff, depth = self.combine((a,))
            ea = "%s + %d" % (a.expr, off) if off else a.expr
            fmt, sx = _LOADS[op]
            ty = 0
            if op == 0x2B and self.fdom:
                fmt = "<d"
                ty = F64
            if fmt is None:
                text = "D[%s]" % ea
            else:
                slow = self.struct_access(fmt, True)
                view = self.view(fmt)
                if view is not None:
                    # aligned and in bounds: an item of the memory's word view (runtime.Memory)
                    w, mask, shift, lim = view
                    text = "(%s[_e >> %d] if not (_e := %s) & %d and _e <= %s else %s)" % (
                        w, shift, ea, mask, lim, slow % "_e")
                else:
                    text = slow % ea
            self.uses_mem = True
            if sx is not None:
                # sign-extend: materialize the raw value first
                h = len(self.st)
                self.st.append(_E(text, refs, None, True, depth))
                self.materialize(h)
                v = self.pop()
                self.push(sx.replace("v", v.expr), v.refs, None, False, 1)
            else:
                self.push(text, refs, None, True, depth, ty)
        elif 0x36 <= op <= 0x3E:
            off, pc = self.mem_ea(pc)
            v = self.pop()
            a = self.pop()
            if a.eff and v.eff:
                self.st.append(a)
                self.materialize(len(self.st) - 1)
                a = self.pop()
            ea = "%s + %d" % (a.expr, off) if off else a.expr
            fmt, mask = _STORES[op]
            if op == 0x39 and self.fdom:
                fmt = "<d"
            val = v.expr if mask is None else "%s & %d" % (v.expr, mask)
            self.uses_mem = True
            if fmt is None:
                self.stmt("D[%s] = %s" % (ea, val))
                return pc
            slow = self.struct_access(fmt, False)
            view = self.view(fmt)
            if view is not None:
                w, mask, shift, lim = view
                # (its own name for the address: a load in the value sets _e)
                self.stmt("_s = %s" % ea)
                self.emit(self.ind, "if not _s & %d and _s <= %s:" % (mask, lim))
                self.emit(self.ind + 1, "%s[_s >> %d] = %s" % (w, shift, val))
                self.emit(self.ind, "else:")
                self.emit(self.ind + 1, slow % ("_s", val))
            else:
                self.stmt(slow % (ea, val))
        elif op == 0x0D:  # br_if
            d, pc = _uleb(code, pc)
            c = self.pop()
            self.flush_eff()
            target = self.frames[-1 - d]
            keep = target.nparams if target.kind == 1 else target.nres
            cond = self.cond_of(c)
            # the values stay on the stack when the branch is not taken: materialize them
            if keep:
                for j in range(len(self.st) - keep, len(self.st)):
                    self.materialize(j)
            lines = self.branch_lines(d)
            if len(lines) == 1:
                self.emit(self.ind, "if %s: %s" % (cond, lines[0]))
            else:
                self.emit(self.ind, "if %s:" % cond)
                for ln in lines:
                    self.emit(self.ind + 1, ln)
        elif op == 0x0C:  # br
            d, pc = _uleb(code, pc)
            self.flush_eff()
            for ln in self.branch_lines(d):
                self.emit(self.ind, ln)
            self.unreachable = True
        elif op == 0x02 or op == 0x03:
            c = self.at[pc - 1]
            bp, br, pc = _blocktype(code, pc, types)
            self.flush_all()
            f = _Frame(op - 2, c, len(self.st) - len(bp), len(bp), len(br), self.ind,
                       self.new_label())
            f.rtypes = br
            if c.targeted:
                f.loop = True
                self.emit(self.ind, "while True:")
                self.ind += 1
            self.frames.append(f)
        elif op == 0x04:
            c = self.at[pc - 1]
            bp, br, pc = _blocktype(code, pc, types)
            e = self.pop()
            self.flush_all()
            f = _Frame(2, c, len(self.st) - len(bp), len(bp), len(br), self.ind, self.new_label())
            f.rtypes = br
            if c.targeted:
                f.loop = True
                self.emit(self.ind, "while True:")
                self.ind += 1
            f.ifind = self.ind
            self.emit(self.ind, "if %s:" % self.cond_of(e))
            self.ind += 1
            f.entry = list(self.st)
            self.frames.append(f)
        elif op == 0x05:  # else
            f = self.frames[-1]
            if not self.unreachable:
                self.flush_all()
            if self.header_last():
                self.emit(self.ind, "pass")
            self.ind = f.ifind
            self.emit(self.ind, "else:")
            self.ind += 1
            self.st = list(f.entry)
            f.has_else = True
            self.unreachable = False
        elif op == 0x0B:  # end
            pc = self.end_frame(pc)
        elif op == 0x0F:  # return
            self.flush_eff()
            self.emit(self.ind, self.return_text())
            self.unreachable = True
        elif op == 0x10:  # call
            x, pc = _uleb(code, pc)
            self.call("f%d" % x, self.info.functypes[x])
        elif op == 0x11:  # call_indirect
            y, pc = _uleb(code, pc)
            t, pc = _uleb(code, pc)
            i = self.pop()
            self.flush_eff()
            self.used.add("CI")
            self.used.add("TB%d" % t)
            self.used.add("TY%d" % y)
            fn = "CI(TB%d, %s, TY%d)" % (t, i.expr, y)
            self.call(fn, types[y])
        elif op == 0x1A:  # drop
            e = self.pop()
            if e.eff:
                self.stmt(e.expr)
        elif op == 0x1B or op == 0x1C:  # select
            if op == 0x1C:
                n, pc = _uleb(code, pc)
                pc += n
            if self.st[-1].eff or self.st[-2].eff or self.st[-3].eff:
                # Python evaluates one arm only, after the condition: wasm evaluates all three
                # in order, so effects (traps, memory reads) happen first, into slots
                n = len(self.st)
                for j in (n - 3, n - 2, n - 1):
                    if self.st[j].eff:
                        self.materialize(j)
            c = self.pop()
            b = self.pop()
            a = self.pop()
            refs, eff, depth = self.combine((a, b, c))
            self.push("(%s if %s else %s)" % (a.expr, self.cond_of(c), b.expr), refs, None, eff,
                      depth, a.ty)
        elif op == 0x23:  # global.get
            x, pc = _uleb(code, pc)
            self.used.add("G%d" % x)
            gt, mut = self.info.globals[x]
            self.result("G%d.bits" % x, (), None, bool(mut), 0, gt)
        elif op == 0x24:  # global.set
            x, pc = _uleb(code, pc)
            self.used.add("G%d" % x)
            e = self.pop()
            self.stmt("G%d.bits = %s" % (x, self.operand(e)))
        elif op == 0x3F:  # memory.size
            pc += 1
            self.used.add("MEM")
            self.push("MEM.pages", (), None, True)
        elif op == 0x40:  # memory.grow
            pc += 1
            self.used.add("MEM")
            e = self.pop()
            self.flush_eff()
            h = len(self.st)
            self.flush_refs("s%d" % h)
            self.emit(self.ind, "s%d = MEM.grow(%s) & %d" % (h, e.expr, M32))
            self.emit(self.ind, REFRESH)
            self.push_var("s%d" % h)
        elif op == 0x25:  # table.get
            x, pc = _uleb(code, pc)
            i = self.pop()
            self.used.add("TB%d" % x)
            self.used.add("TGET")
            self.push("TGET(TB%d, %s)" % (x, i.expr), i.refs, None, True, i.depth + 1)
        elif op == 0x26:  # table.set
            x, pc = _uleb(code, pc)
            v = self.pop()
            i = self.pop()
            self.used.add("TB%d" % x)
            self.used.add("TSET")
            self.stmt("TSET(TB%d, %s, %s)" % (x, i.expr, v.expr))
        elif op == 0x0E:  # br_table
            pc = self.br_table(pc)
        elif op == 0x00:
            self.flush_eff()
            self.used.add("Trap")
            self.emit(self.ind, "raise Trap('unreachable')")
            self.unreachable = True
        elif op == 0x01:
            pass
        elif op == 0xD0:  # ref.null
            pc += 1
            self.push("None")
        elif op == 0xD1:  # ref.is_null
            e = self.pop()
            text = "(%s is None)" % e.expr
            self.push("(1 if %s else 0)" % text, e.refs, text, e.eff, e.depth + 1)
        elif op == 0xD2:  # ref.func
            x, pc = _uleb(code, pc)
            self.used.add("FN%d" % x)
            self.push("FN%d" % x)
        elif op == 0xFC:
            pc = self.prefixed(pc)
        else:
            raise Unsupported("opcode 0x%02x" % op)
        return pc

    def new_label(self):
        self.labels += 1
        return self.labels

    def call(self, fn, ftype):
        params, results = ftype
        n = len(params)
        args = [self.operand(self.pop()) for _ in range(n)]
        args.reverse()
        self.flush_eff()
        self.uses_d1 = True
        text = "%s(%s)" % (fn, ", ".join(args + ["d1"]))
        if fn.startswith("f"):
            self.used.add(fn)
        h = len(self.st)
        nr = len(results)
        if nr == 0:
            self.emit(self.ind, text)
            self.emit(self.ind, REFRESH)
            return
        names = ["s%d" % (h + i) for i in range(nr)]
        for nm in names:
            self.flush_refs(nm)
        self.emit(self.ind, "%s = %s" % (", ".join(names), text))
        self.emit(self.ind, REFRESH)
        for i in range(nr):
            if self.fty(results[i]):
                self.used.add("BQ")
                self.emit(self.ind, "%s = BQ(%s)" % (names[i], names[i]))
            self.push_var(names[i], self.fty(results[i]))

    def end_frame(self, pc):
        f = self.frames[-1]
        if f.kind == 3:
            if not self.unreachable:
                self.flush_eff()
                self.emit(self.ind, self.return_text())
            self.frames.pop()
            self.unreachable = False
            return pc
        if not self.unreachable:
            self.flush_all()
        if self.header_last():
            self.emit(self.ind, "pass")
        if f.loop:
            # falling off the end of the body leaves the Python loop
            self.emit(f.ind + 1, "break")
        self.ind = f.ind
        self.frames.pop()
        del self.st[f.height:]
        for i in range(f.nres):
            self.push_var("s%d" % (f.height + i), self.fty(f.rtypes[i]))
        self.unreachable = False
        if f.loop:
            self.after_loop(f)
        return pc

    def br_table(self, pc):
        code = self.code
        n, pc = _uleb(code, pc)
        labels = []
        for _ in range(n + 1):
            d, pc = _uleb(code, pc)
            labels.append(d)
        i = self.pop()
        self.flush_eff()
        dflt = labels[-1]
        target = self.frames[-1 - dflt]
        keep = target.nparams if target.kind == 1 else target.nres
        if keep:
            for j in range(len(self.st) - keep, len(self.st)):
                self.materialize(j)
        self.emit(self.ind, "_t = %s" % i.expr)
        groups = []
        order = []
        for k in range(n):
            d = labels[k]
            if d == dflt:
                continue
            if d not in order:
                order.append(d)
                groups.append([])
            groups[order.index(d)].append(k)
        first = True
        for gi in range(len(order)):
            ks = groups[gi]
            if len(ks) == 1:
                cond = "_t == %d" % ks[0]
            elif ks == list(range(ks[0], ks[-1] + 1)):
                cond = "%d <= _t <= %d" % (ks[0], ks[-1])
            else:
                cond = "_t in (%s)" % ", ".join([str(k) for k in ks])
            self.emit(self.ind, ("if %s:" if first else "elif %s:") % cond)
            first = False
            for ln in self.branch_lines(order[gi]):
                self.emit(self.ind + 1, ln)
        if not first:
            self.emit(self.ind, "else:")
            for ln in self.branch_lines(dflt):
                self.emit(self.ind + 1, ln)
        else:
            for ln in self.branch_lines(dflt):
                self.emit(self.ind, ln)
        self.unreachable = True
        return pc

    def prefixed(self, pc):
        code = self.code
        sub, pc = _uleb(code, pc)
        if sub <= 7:
            name = "N_%02X" % (0xE0 + sub)
            self.used.add(name)
            a = self.pop()
            self.push("%s(%s)" % (name, self.operand(a)), a.refs, None, a.eff, a.depth + 1)
            return pc
        if sub == 8:
            seg, pc = _uleb(code, pc)
            pc += 1
            args = self.pops(3)
            self.bulk_stmt("MINIT(%d, %s)" % (seg, args))
        elif sub == 9:
            seg, pc = _uleb(code, pc)
            self.bulk_stmt("DDROP(%d)" % seg)
        elif sub == 10:
            pc += 2
            self.bulk_stmt("MCOPY(%s)" % self.pops(3))
        elif sub == 11:
            pc += 1
            self.bulk_stmt("MFILL(%s)" % self.pops(3))
        elif sub == 12:
            seg, pc = _uleb(code, pc)
            t, pc = _uleb(code, pc)
            self.bulk_stmt("TINIT(%d, %d, %s)" % (seg, t, self.pops(3)))
        elif sub == 13:
            seg, pc = _uleb(code, pc)
            self.bulk_stmt("EDROP(%d)" % seg)
        elif sub == 14:
            t1, pc = _uleb(code, pc)
            t2, pc = _uleb(code, pc)
            self.bulk_stmt("TCOPY(%d, %d, %s)" % (t1, t2, self.pops(3)))
        elif sub == 15:
            t, pc = _uleb(code, pc)
            args = self.pops(2)
            self.flush_eff()
            h = len(self.st)
            self.flush_refs("s%d" % h)
            self.used.add("TGROW")
            self.emit(self.ind, "s%d = TGROW(%d, %s)" % (h, t, args))
            self.push_var("s%d" % h)
        elif sub == 16:
            t, pc = _uleb(code, pc)
            self.used.add("TB%d" % t)
            self.push("len(TB%d.elems)" % t, (), None, True)
        elif sub == 17:
            t, pc = _uleb(code, pc)
            self.bulk_stmt("TFILL(%d, %s)" % (t, self.pops(3)))
        else:
            raise Unsupported("opcode 0xfc %d" % sub)
        return pc

    def pops(self, n):
        args = [self.pop().expr for _ in range(n)]
        args.reverse()
        return ", ".join(args)

    def bulk_stmt(self, text):
        self.used.add(text[:text.index("(")])
        self.stmt(text)

    def finish(self):
        idx = self.idx
        params = ["l%d" % i for i in range(self.nparams)]
        head = ["def f%d(%s):" % (idx, ", ".join(params + ["d"]))]
        if self.decorator:
            head.insert(0, self.decorator)
        head.append("    if d > LIM:")
        head.append("        return DEEP(FN%d, (%s), d)" % (
            idx, "".join([p + ", " for p in params])))
        for i in range(self.nparams):
            if self.fty(self.local_types[i]):
                self.used.add("BQ")
                head.append("    l%d = BQ(l%d)" % (i, i))
        for i in range(self.nparams, len(self.local_types)):
            t = self.local_types[i]
            head.append("    l%d = %s" % (i, "None" if t in (0x70, 0x6F) else (
                "0.0" if self.fty(t) else "0")))
        if self.uses_mem:
            head.append("    D = MEM.data")
            self.used.add("MEM")
            if self.uses_w4 or self.uses_w8:
                head.append("    " + self.refresh_text())
            # MicroPython reads a local faster than a global (the struct functions, per access)
            if "UF" in self.used:
                head.append("    _uf = UF")
            if "PI" in self.used:
                head.append("    _pi = PI")
        if self.uses_d1:
            head.append("    d1 = d + 1")
        if self.uses_j:
            head.append("    _j = 0")
        head.append("    try:")
        tail = [
            "    except Trap as e:",
            "        TB(e, %d)" % idx,
            "        raise e",
            "    except MEMERR:",
            "        raise OOB(%d)" % idx,
            "    except RecursionError:",
            "        raise DEPTH(%d)" % idx,
        ]
        self.used.add("FN%d" % idx)
        pre = []
        if self.uses_w4 or self.uses_w8:  # the views may have moved after a call or memory.grow
            self.lines = [ln.replace(REFRESH, self.refresh_text()) for ln in self.lines]
        else:
            self.lines = [ln for ln in self.lines if not ln.endswith(REFRESH)]
        if self.module_consts:
            return "\n".join(head + self.lines + tail) + "\n"
        for name in sorted(self.consts):
            self.used.add("BQ")
            pre.append("%s = BQ(%d)" % (name, self.consts[name]))
        return "\n".join(pre + head + self.lines + tail) + "\n"


def function_source(info, idx, code, mp=MICROPYTHON):
    """The Python source of defined function `idx` (a module-wide index) and the names it uses."""
    g = Gen(info, idx, code, mp)
    src = g.generate()
    if (g.uses_w4 or g.uses_w8) and len(src) > U32_MAX:
        g = Gen(info, idx, code, mp)  # a large function: the shorter struct path for memory
        g.u32 = False
        src = g.generate()
    return src, g.used


# ---------------------------------------------------------------- running compiled code

try:
    import struct as _struct
    _MEMERR = (IndexError, ValueError, OverflowError, getattr(_struct, "error", ValueError))
except ImportError:  # pragma: no cover
    _MEMERR = (IndexError, ValueError, OverflowError)

_UNLIMITED_DEPTH = 1 << 30


def _frame(F):
    return (F.idx, F.name, F.start)


def _tb(e, F):
    e.fast = True
    if len(e.frames) < 64:
        e.frames.append(_frame(F))


def _results(r, nres):
    """interp result list -> the compiled calling convention"""
    if nres == 0:
        return None
    if nres == 1:
        return r[0]
    return tuple(r)


def _as_list(r, nres):
    """the compiled calling convention -> a result list"""
    if nres == 0:
        return []
    if nres == 1:
        return [r]
    return list(r)


def _float_helpers(ns):
    import math
    import struct
    if hasattr(struct, "Struct"):
        sd = struct.Struct("<d")
        sq = struct.Struct("<Q")
        ud, pd, uq, pq = sd.unpack, sd.pack, sq.unpack, sq.pack

        def bq(b):
            return ud(pq(b))[0]

        def qb(x):
            return uq(pd(x))[0]
    else:
        up = struct.unpack
        pk = struct.pack

        def bq(b):
            return up("<d", pk("<Q", b))[0]

        def qb(x):
            return up("<Q", pk("<d", x))[0]
    ns["BQ"] = bq
    ns["QB"] = qb
    nan = bq(numeric.F64_CANON)
    inf = bq(0x7FF0000000000000)
    sqrt = math.sqrt
    copysign = math.copysign

    def fsqrt(x):
        if x > 0.0:
            return sqrt(x)
        if x == 0.0 or x != x:
            return x + x    # +-0 stays, a NaN comes back quiet
        return nan

    def fdiv0(a, b):
        # b is +-0.0
        if a != a:
            return a + a
        if a == 0.0:
            return nan
        return inf if (copysign(1.0, a) > 0) == (copysign(1.0, b) > 0) else -inf

    ns["FSQRT"] = fsqrt
    ns["FDIV0"] = fdiv0
    ns["FABS"] = math.fabs
    ns["COPYSIGN"] = copysign


class Fast:
    """Function.host of a function in the fast tier (compiled now, or when it first runs)."""
    fast = True

    def __init__(self, state, F):
        self.state = state
        self.F = F

    def call_bits(self, args):
        """An outermost call (Function.call_bits): depth 0."""
        st = self.state
        F = self.F
        if st.limits.fuel is not None:
            return interp.execute(F, list(args), st.limits)
        try:
            r = st.ns["f%d" % F.idx](*(list(args) + [0]))
        except MemoryError:
            raise Trap("out of memory", [_frame(F)])
        return _as_list(r, F.nres)

    def call_fast(self, args, budget, nfr):
        """A call from the interpreter (its host-call path) at depth budget.base + frames + 1."""
        r = self.state.ns["f%d" % self.F.idx](*(list(args) + [budget.base + (nfr >> 2) + 1]))
        return _as_list(r, self.F.nres)


class State:
    """The fast tier of one instance: the namespace its compiled functions share."""

    def __init__(self, inst, aot=None):
        self.inst = inst
        self.limits = inst.limits
        m = inst.module._m
        self.info = FuncInfo(m)
        self.code = inst.module.data
        self.fallbacks = {}         # function index -> reason it runs in the interpreter
        self.compiled = 0
        self.done = set()           # function indices compiled (or fallen back)
        self.cache = {}             # Function -> Python callable (call_indirect)
        self.aot = aot
        maxd = self.limits.max_call_depth
        self.maxd = maxd if maxd is not None else _UNLIMITED_DEPTH
        self.ns = self.namespace()
        if aot is not None:
            aot._init()
            for idx in aot.FUNCS:
                self.done.add(idx)
                self.compiled += 1
                F = inst.funcs[idx]
                if F.host is None:
                    F.host = Fast(self, F)

    # ---- the namespace
    def namespace(self):
        inst = self.inst
        # an ahead-of-time module: its globals are the namespace
        ns = {} if self.aot is None else self.aot.__dict__
        ns["LIM"] = NEST if NEST < self.maxd else self.maxd
        ns["Trap"] = Trap
        ns["RecursionError"] = RecursionError
        ns["MEMERR"] = _MEMERR
        ns["MEM"] = inst.memory
        import struct
        ns["UF"] = struct.unpack_from
        ns["PI"] = struct.pack_into
        if hasattr(struct, "Struct"):
            for fmt in _FMT_NAMES:
                s = struct.Struct(fmt)
                ns["U" + _FMT_NAMES[fmt]] = s.unpack_from
                ns["P" + _FMT_NAMES[fmt]] = s.pack_into
        for op in range(0x45, 0xC5):
            fn = numeric.BIN[op] if numeric.BIN[op] is not None else numeric.UN[op]
            if fn is not None:
                ns["N_%02X" % op] = fn
        for x in range(8):
            ns["N_%02X" % (0xE0 + x)] = numeric.UN[0xE0 + x]
        for i in range(len(inst.globals)):
            ns["G%d" % i] = inst.globals[i]
        for i in range(len(inst.tables)):
            ns["TB%d" % i] = inst.tables[i]
        for i in range(len(inst.types)):
            ns["TY%d" % i] = inst.types[i]
        funcs = inst.funcs
        for i in range(len(funcs)):
            F = funcs[i]
            ns["FN%d" % i] = F
            if F.inst is inst and F.host is None and F.code is not None:
                if self.aot is None or i not in self.aot.FUNCS:
                    ns["f%d" % i] = self._stub(i)
            else:
                ns["f%d" % i] = self._foreign(F)
        self._helpers(ns)
        return ns

    def _stub(self, idx):
        def stub(*a):
            return self.ensure(idx)(*a)
        return stub

    def _foreign(self, F):
        """A callable for an imported function: a host function, or another instance's."""
        nres = F.nres
        state = self
        if F.host is not None and not F.host.fast:
            h = F.host
            name = F.name or F.idx

            def host(*a):
                try:
                    r = h.call_bits(list(a[:-1]))
                except (WasmError, Exit, KeyboardInterrupt):
                    raise
                except MemoryError:
                    raise Trap("out of memory in host function")
                except Exception as e:
                    raise Trap("host function %s failed: %s: %s" % (name, type(e).__name__, e))
                if nres == 0:
                    return None
                if nres == 1:
                    return r[0]
                return tuple(r)
            return host

        def other(*a):
            h = F.host
            if h is not None and h.fast and h.state.limits.fuel is None:
                return h.state.ns["f%d" % F.idx](*a)
            return state.run_interp(F, a[:-1], a[-1])
        return other

    def callable_of(self, F):
        c = self.cache.get(F)
        if c is None:
            if F.inst is self.inst and F.code is not None:
                c = self.ns["f%d" % F.idx]
            else:
                c = self._foreign(F)
            self.cache[F] = c
        return c

    def run_interp(self, F, args, d):
        """Run F at wasm depth d in the interpreter (which then calls no compiled code)."""
        if d > self.maxd:
            raise Trap("call stack exhausted")
        b = interp.Budget(self.limits)
        b.max_depth = self.maxd - d
        b.base = d
        b.nofast = True
        return _results(interp.execute(F, list(args), None, b), F.nres)

    def _helpers(self, ns):
        inst = self.inst
        state = self
        funcs = inst.funcs

        def deep(F, args, d):
            return state.run_interp(F, args, d)
        ns["DEEP"] = deep
        _float_helpers(ns)

        def tb(e, idx):
            _tb(e, funcs[idx])
        ns["TB"] = tb

        def oob(idx):
            return Trap("out of bounds memory access", [_frame(funcs[idx])])
        ns["OOB"] = oob

        def depth(idx):
            return Trap("call stack exhausted", [_frame(funcs[idx])])
        ns["DEPTH"] = depth

        cache = self.cache

        def ci(tab, i, ft):
            el = tab.elems
            if i >= len(el):
                raise Trap("undefined element")
            f = el[i]
            if f is None:
                raise Trap("uninitialized element")
            if f.ftype != ft:
                raise Trap("indirect call type mismatch")
            c = cache.get(f)
            if c is None:
                c = state.callable_of(f)
            return c
        ns["CI"] = ci

        def tget(tab, i):
            el = tab.elems
            if i >= len(el):
                raise Trap("out of bounds table access")
            return el[i]
        ns["TGET"] = tget

        def tset(tab, i, v):
            el = tab.elems
            if i >= len(el):
                raise Trap("out of bounds table access")
            el[i] = v
        ns["TSET"] = tset

        def minit(seg, dst, src, n):
            d = inst.datas[seg]
            data = inst.memory.data
            ln = 0 if d is None else d[1] - d[0]
            if src + n > ln or dst + n > len(data):
                raise Trap("out of bounds memory access")
            if n:
                data[dst:dst + n] = inst.module.data[d[0] + src:d[0] + src + n]
        ns["MINIT"] = minit

        def ddrop(seg):
            inst.datas[seg] = None
        ns["DDROP"] = ddrop

        def mcopy(dst, src, n):
            data = inst.memory.data
            if src + n > len(data) or dst + n > len(data):
                raise Trap("out of bounds memory access")
            if n:
                data[dst:dst + n] = data[src:src + n]
        ns["MCOPY"] = mcopy

        def mfill(dst, v, n):
            data = inst.memory.data
            if dst + n > len(data):
                raise Trap("out of bounds memory access")
            if n:
                data[dst:dst + n] = bytes((v & 0xFF,)) * n
        ns["MFILL"] = mfill

        def tinit(seg, t, dst, src, n):
            items = inst.elems[seg]
            if items is None:
                items = ()
            tab = inst.tables[t].elems
            if src + n > len(items) or dst + n > len(tab):
                raise Trap("out of bounds table access")
            tab[dst:dst + n] = items[src:src + n]
        ns["TINIT"] = tinit

        def edrop(seg):
            inst.elems[seg] = None
        ns["EDROP"] = edrop

        def tcopy(t1, t2, dst, src, n):
            a = inst.tables[t1].elems
            b = inst.tables[t2].elems
            if src + n > len(b) or dst + n > len(a):
                raise Trap("out of bounds table access")
            a[dst:dst + n] = b[src:src + n]
        ns["TCOPY"] = tcopy

        def tgrow(t, v, n):
            return inst.tables[t].grow(n, v) & M32
        ns["TGROW"] = tgrow

        def tfill(t, dst, v, n):
            tab = inst.tables[t].elems
            if dst + n > len(tab):
                raise Trap("out of bounds table access")
            for i in range(dst, dst + n):
                tab[i] = v
        ns["TFILL"] = tfill

    # ---- compiling
    def source(self, idx):
        return function_source(self.info, idx, self.code)[0]

    def ensure(self, idx):
        """Compile function idx (once); -> its Python callable (compiled or interpreted)."""
        ns = self.ns
        if idx in self.done:
            return ns["f%d" % idx]
        self.done.add(idx)
        F = self.inst.funcs[idx]
        try:
            src = self.source(idx)
            exec(compile(src, "<wasm f%d>" % idx, "exec"), ns)
            self.compiled += 1
        except Unsupported as e:
            self._fallback(idx, str(e))
        except (SyntaxError, MemoryError, RecursionError) as e:
            self._fallback(idx, "%s: %s" % (type(e).__name__, e))
        fn = ns["f%d" % idx]
        self.cache[F] = fn
        return fn

    def _fallback(self, idx, reason):
        self.fallbacks[idx] = reason
        F = self.inst.funcs[idx]
        if isinstance(F.host, Fast):
            F.host = None
        state = self

        def interpreted(*a):
            return state.run_interp(F, a[:-1], a[-1])
        self.ns["f%d" % idx] = interpreted

    def install(self, idx):
        """Put function idx in the fast tier (compiled when it first runs)."""
        F = self.inst.funcs[idx]
        if F.host is None and idx not in self.fallbacks:
            F.host = Fast(self, F)

    def install_all(self):
        for F in self.inst.funcs:
            if F.inst is self.inst and F.code is not None:
                self.install(F.idx)

    def compile_all(self):
        for F in self.inst.funcs:
            if F.inst is self.inst and F.code is not None:
                self.install(F.idx)
                self.ensure(F.idx)


# ---------------------------------------------------------------- tiers

TIER = "interp"
HOT = 8             # samples (every interp.SLICE loop iterations or calls) before compiling
AUTO_SLICE = 64
_saved_slice = []


def state_of(inst):
    st = getattr(inst, "fast_state", None)
    if st is None:
        st = State(inst)
        inst.fast_state = st
    return st


def _on_instance(inst):
    if AOT:
        mod = AOT.get(module_hash(inst.module.data))
        if mod is not None and getattr(inst, "fast_state", None) is None:
            inst.fast_state = State(inst, mod)
    if TIER == "fast":
        state_of(inst).install_all()


# ---------------------------------------------------------------- ahead-of-time modules

AOT_FORMAT = 1
AOT = {}            # module hash -> loaded ahead-of-time module


def module_hash(data):
    """The hex SHA-256 of a module's bytes (what an ahead-of-time module is keyed by)."""
    import hashlib
    h = hashlib.sha256(data).digest()
    return "".join(["%02x" % b for b in h])


def aot_name(stem, digest):
    """The file name (without .mpy) of the ahead-of-time module of `stem`.wasm."""
    return "%s_%s" % (stem, digest[:16])


def use_aot(mod):
    """Register a loaded ahead-of-time module: instances of the module with its hash use it."""
    if getattr(mod, "FORMAT", None) != AOT_FORMAT:
        raise ValueError("not an mpwasi ahead-of-time module (format %r, want %d)" % (
            getattr(mod, "FORMAT", None), AOT_FORMAT))
    if mod.FDOM and not (numeric.HOST_DOUBLE and not numeric.SOFT):
        raise ValueError("this ahead-of-time module needs double-precision floats")
    AOT[mod.HASH] = mod
    from . import runtime
    runtime.instance_hook = _on_instance


def load_aot(directory, name):
    """Import the ahead-of-time module `name` from `directory`, as a fresh module object."""
    sys.path.insert(0, directory)
    try:
        mod = __import__(name)
    finally:
        sys.path.pop(0)
        if name in sys.modules:
            del sys.modules[name]  # the next import makes a new module (its globals are per instance)
    return mod


def find_aot(path):
    """If `<stem>_<hash16>.mpy` for the module file at `path` sits next to it, load and register it.
    -> the module, or None."""
    i = path.rfind("/")
    directory = path[:i] if i > 0 else ("/" if i == 0 else ".")
    stem = path[i + 1:]
    if stem.endswith(".wasm"):
        stem = stem[:-5]
    with open(path, "rb") as f:
        digest = module_hash(f.read())
    name = aot_name(stem, digest)
    import os
    try:
        os.stat(directory + "/" + name + ".mpy")
    except OSError:
        return None
    try:
        mod = load_aot(directory, name)
    except (ImportError, ValueError, SyntaxError, MemoryError):
        # e.g. a .mpy built for another architecture or MicroPython version: run without it
        return None
    if getattr(mod, "HASH", None) != digest:
        return None
    try:
        use_aot(mod)
    except ValueError:  # built for other floats than this engine computes with
        return None
    return mod


def _on_hot(F):
    """interp.tier_hook: F ran a loop or was called when a fuel slice ran out."""
    if interp.debug_hook is not None or F.host is not None or F.code is None:
        return
    n = getattr(F, "hot", 0) + 1
    F.hot = n
    if n >= HOT:
        st = state_of(F.inst)
        st.install(F.idx)
        st.ensure(F.idx)


def set_tier(name):
    """"interp": the interpreter only; "fast": every function compiled before it first runs;
    "auto": functions compiled once they are hot. Applies to instances created afterwards
    (and, for "auto", to functions of existing instances that become hot)."""
    global TIER
    from . import runtime
    if name not in ("interp", "fast", "auto"):
        raise ValueError("tier must be 'interp', 'fast' or 'auto', not %r" % (name,))
    TIER = name
    runtime.instance_hook = _on_instance if name == "fast" else None
    if name == "auto":
        if not _saved_slice:
            _saved_slice.append(interp.SLICE)
        interp.SLICE = AUTO_SLICE
        interp.tier_hook = _on_hot
    else:
        interp.tier_hook = None
        if _saved_slice:
            interp.SLICE = _saved_slice.pop()


def get_tier():
    return TIER


def report(inst):
    """(number of compiled functions, {function index: why it runs in the interpreter})"""
    st = getattr(inst, "fast_state", None)
    if st is None:
        return 0, {}
    return st.compiled, dict(st.fallbacks)
