"""The fast tier's code generator: a validated wasm function becomes Python source.

Loaded only when a function is compiled on the board/host (fastrt.State.ensure) or ahead of time
(host_tools/aot.py); running an ahead-of-time .mpy never imports it. The run-time side (the
namespace the generated code runs in, tiers, ahead-of-time modules) is fastrt.py.

Per function: structured control flow maps onto `while True:` (loops, and blocks that branches
target) with break/continue, and a label variable `_j` for branches that cross several loops; locals
are Python locals `l0, l1, ...`; the operand stack becomes expressions, folded until a statement
needs them, or slot variables `s0, s1, ...` (one per stack height) at control-flow joins. Values are
the interpreter's bit-pattern ints; float operations call the same `numeric` functions.

A generated function is `f<idx>(l0, ..., d)`: its wasm arguments and its call depth d. It returns
None, one value or a tuple (multi-value). The names it uses from its namespace (N_xx numeric
functions, MEM, U32/P32 ..., MINIT ..., TB, OOB, DEEP, LIM, FN<i>, f<i>, G<i>, TB<i>, TY<i>) are
defined by fastrt.State.namespace; memory accessors by memops.bind_accessors.
"""

import sys

from . import numeric
from .leb import uleb, sleb
from .opcodes import skip
from .binary import I32, I64, F32, F64
from .validate import NUM_SIG
from .memops import FMT_NAMES

MICROPYTHON = sys.implementation.name == "micropython"
# how deeply generated code may nest: (loops, indentation) for MicroPython and CPython (at most 20
# statically nested loop/try blocks and 100 levels of indentation)
NESTING = {True: (1000, 1000), False: (18, 95)}

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


class Unsupported(Exception):
    """The function cannot be compiled (it then runs in the interpreter)."""


# ---------------------------------------------------------------- reading the body


def _blocktype(code, pc, types):
    """-> (params, results, pc after)"""
    b = code[pc]
    if b == 0x40:
        return (), (), pc + 1
    if b in (0x7F, 0x7E, 0x7D, 0x7C, 0x70, 0x6F):
        return (), (b,), pc + 1
    idx, pc = uleb(code, pc)
    p, r = types[idx]
    return p, r, pc


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
            dpt, _ = uleb(code, pc)
            if dpt < len(stack):
                stack[-1 - dpt].targeted = True
        elif op == 0x0E:
            n, p = uleb(code, pc)
            for _ in range(n + 1):
                dpt, p = uleb(code, p)
                if dpt < len(stack):
                    stack[-1 - dpt].targeted = True
        pc = skip(code, pc, op)
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
        nm = ("U" if load else "P") + FMT_NAMES[fmt]
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
                    pc = skip(code, pc, op)
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
        if numeric.is_binary(op):
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
        pc = uleb(self.code, pc)[1]      # alignment
        off, pc = uleb(self.code, pc)
        return off, pc

    def instr(self, op, pc, types):
        code = self.code
        if op == 0x20:  # local.get
            x, pc = uleb(code, pc)
            self.push_var("l%d" % x, self.fty(self.local_types[x]))
        elif op == 0x21 or op == 0x22:  # local.set / tee
            x, pc = uleb(code, pc)
            e = self.pop()
            name = "l%d" % x
            if e.expr != name:
                self.assign(name, e.expr)
            if op == 0x22:
                self.push_var(name, e.ty)
        elif op == 0x41 or op == 0x42:
            v, pc = sleb(code, pc, 32 if op == 0x41 else 64)
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
            d, pc = uleb(code, pc)
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
            d, pc = uleb(code, pc)
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
            x, pc = uleb(code, pc)
            self.call("f%d" % x, self.info.functypes[x])
        elif op == 0x11:  # call_indirect
            y, pc = uleb(code, pc)
            t, pc = uleb(code, pc)
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
                n, pc = uleb(code, pc)
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
            x, pc = uleb(code, pc)
            self.used.add("G%d" % x)
            gt, mut = self.info.globals[x]
            self.result("G%d.bits" % x, (), None, bool(mut), 0, gt)
        elif op == 0x24:  # global.set
            x, pc = uleb(code, pc)
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
            x, pc = uleb(code, pc)
            i = self.pop()
            self.used.add("TB%d" % x)
            self.used.add("TGET")
            self.push("TGET(TB%d, %s)" % (x, i.expr), i.refs, None, True, i.depth + 1)
        elif op == 0x26:  # table.set
            x, pc = uleb(code, pc)
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
            x, pc = uleb(code, pc)
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
        n, pc = uleb(code, pc)
        labels = []
        for _ in range(n + 1):
            d, pc = uleb(code, pc)
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
        sub, pc = uleb(code, pc)
        if sub <= 7:
            name = "N_%02X" % (0xE0 + sub)
            self.used.add(name)
            a = self.pop()
            self.push("%s(%s)" % (name, self.operand(a)), a.refs, None, a.eff, a.depth + 1)
            return pc
        if sub == 8:
            seg, pc = uleb(code, pc)
            pc += 1
            args = self.pops(3)
            self.bulk_stmt("MINIT(%d, %s)" % (seg, args))
        elif sub == 9:
            seg, pc = uleb(code, pc)
            self.bulk_stmt("DDROP(%d)" % seg)
        elif sub == 10:
            pc += 2
            self.bulk_stmt("MCOPY(%s)" % self.pops(3))
        elif sub == 11:
            pc += 1
            self.bulk_stmt("MFILL(%s)" % self.pops(3))
        elif sub == 12:
            seg, pc = uleb(code, pc)
            t, pc = uleb(code, pc)
            self.bulk_stmt("TINIT(%d, %d, %s)" % (seg, t, self.pops(3)))
        elif sub == 13:
            seg, pc = uleb(code, pc)
            self.bulk_stmt("EDROP(%d)" % seg)
        elif sub == 14:
            t1, pc = uleb(code, pc)
            t2, pc = uleb(code, pc)
            self.bulk_stmt("TCOPY(%d, %d, %s)" % (t1, t2, self.pops(3)))
        elif sub == 15:
            t, pc = uleb(code, pc)
            args = self.pops(2)
            self.flush_eff()
            h = len(self.st)
            self.flush_refs("s%d" % h)
            self.used.add("TGROW")
            self.emit(self.ind, "s%d = TGROW(%d, %s)" % (h, t, args))
            self.push_var("s%d" % h)
        elif sub == 16:
            t, pc = uleb(code, pc)
            self.used.add("TB%d" % t)
            self.push("len(TB%d.elems)" % t, (), None, True)
        elif sub == 17:
            t, pc = uleb(code, pc)
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
