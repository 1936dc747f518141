"""Validation of a decoded module, as the WebAssembly 2.0 spec defines it.

While it type-checks each function body it builds the function's side table: for every `if`,
`else`, `br`, `br_if` and each `br_table` target, in code order, four ints
[target pc, target side-table offset, values kept, values dropped below them], so the
interpreter never searches the code for a matching `end`.
Malformed instruction encodings found on the way raise DecodeError; type errors ValidationError.
"""

from array import array

from .binary import (Reader, I32, I64, F32, F64, FUNCREF, EXTERNREF, VALTYPES, REFTYPES,
                     MAX_PAGES, skip_instr)
from .errors import DecodeError, ValidationError

UNKNOWN = 0
_EMPTY_SIDE = array("H")

# numeric opcodes -> (operand types, result type)
NUM_SIG = {}


def _sig(lo, hi, ins, out):
    for op in range(lo, hi + 1):
        NUM_SIG[op] = (ins, out)


_sig(0x45, 0x45, (I32,), I32)
_sig(0x46, 0x4F, (I32, I32), I32)
_sig(0x50, 0x50, (I64,), I32)
_sig(0x51, 0x5A, (I64, I64), I32)
_sig(0x5B, 0x60, (F32, F32), I32)
_sig(0x61, 0x66, (F64, F64), I32)
_sig(0x67, 0x69, (I32,), I32)
_sig(0x6A, 0x78, (I32, I32), I32)
_sig(0x79, 0x7B, (I64,), I64)
_sig(0x7C, 0x8A, (I64, I64), I64)
_sig(0x8B, 0x91, (F32,), F32)
_sig(0x92, 0x98, (F32, F32), F32)
_sig(0x99, 0x9F, (F64,), F64)
_sig(0xA0, 0xA6, (F64, F64), F64)
_CONV = (
    (0xA7, I64, I32), (0xA8, F32, I32), (0xA9, F32, I32), (0xAA, F64, I32), (0xAB, F64, I32),
    (0xAC, I32, I64), (0xAD, I32, I64), (0xAE, F32, I64), (0xAF, F32, I64), (0xB0, F64, I64),
    (0xB1, F64, I64), (0xB2, I32, F32), (0xB3, I32, F32), (0xB4, I64, F32), (0xB5, I64, F32),
    (0xB6, F64, F32), (0xB7, I32, F64), (0xB8, I32, F64), (0xB9, I64, F64), (0xBA, I64, F64),
    (0xBB, F32, F64), (0xBC, F32, I32), (0xBD, F64, I64), (0xBE, I32, F32), (0xBF, I64, F64),
    (0xC0, I32, I32), (0xC1, I32, I32), (0xC2, I64, I64), (0xC3, I64, I64), (0xC4, I64, I64),
)
for _op, _i, _o in _CONV:
    NUM_SIG[_op] = ((_i,), _o)
SAT_SIG = ((F32, I32), (F32, I32), (F64, I32), (F64, I32), (F32, I64), (F32, I64), (F64, I64),
           (F64, I64))

# memory access opcodes -> (value type, natural alignment exponent, is store)
MEM_OPS = {
    0x28: (I32, 2, 0), 0x29: (I64, 3, 0), 0x2A: (F32, 2, 0), 0x2B: (F64, 3, 0),
    0x2C: (I32, 0, 0), 0x2D: (I32, 0, 0), 0x2E: (I32, 1, 0), 0x2F: (I32, 1, 0),
    0x30: (I64, 0, 0), 0x31: (I64, 0, 0), 0x32: (I64, 1, 0), 0x33: (I64, 1, 0),
    0x34: (I64, 2, 0), 0x35: (I64, 2, 0),
    0x36: (I32, 2, 1), 0x37: (I64, 3, 1), 0x38: (F32, 2, 1), 0x39: (F64, 3, 1),
    0x3A: (I32, 0, 1), 0x3B: (I32, 1, 1), 0x3C: (I64, 0, 1), 0x3D: (I64, 1, 1), 0x3E: (I64, 2, 1),
}


def read_blocktype(r, types):
    """-> (params, results) of a block type."""
    b = r.byte()
    if b == 0x40:
        return (), ()
    if b in VALTYPES:
        return (), (b,)
    r.pos -= 1
    idx = r.s33()
    if idx < 0:
        raise DecodeError("malformed value type")
    if idx >= len(types):
        raise ValidationError("unknown type")
    return types[idx]


def scan_body(m, start, end):
    """Check that a body is well formed (decodes), without type checking."""
    r = Reader(m.data, start, end)
    depth = 1
    while True:
        op = r.byte()
        if op == 0x0B:
            depth -= 1
            if depth == 0:
                if r.pos != end:
                    raise DecodeError("section size mismatch")
                return
        elif op in (0x02, 0x03, 0x04):
            depth += 1
        elif op == 0xFC:
            p = r.pos
            sub = r.u32()
            if (sub == 8 or sub == 9) and m.data_count is None and m.datas:
                raise DecodeError("data count section required")
            r.pos = p
        skip_instr(r, op)


def scan_all(m):
    for lt, start, end in m.codes:
        scan_body(m, start, end)


class Ctx:
    def __init__(self, m):
        self.m = m
        self.types = m.types
        self.funcs = m.funcs
        self.tables = m.tables
        self.mems = m.mems
        self.globals = m.globals
        self.refs = set()


def validate(m):
    """Validate ModuleData m; fills m.side_tables. Raises ValidationError / DecodeError."""
    try:
        _validate(m)
    except ValidationError:
        # a module that is both invalid and malformed is malformed: decoding comes first
        scan_all(m)
        raise


def _limits_ok(lo, hi, bound, what):
    if lo > bound or (hi is not None and hi > bound):
        if what == "memory":
            raise ValidationError("memory size must be at most 65536 pages (4GiB)")
        raise ValidationError("table size must be at most 2^32-1")
    if hi is not None and lo > hi:
        raise ValidationError("size minimum must not be greater than maximum")


def _validate(m):
    c = Ctx(m)
    ntypes = len(m.types)
    for (mod, nm, kind, desc) in m.imports:
        if kind == 0:
            if desc >= ntypes:
                raise ValidationError("unknown type")
        elif kind == 1:
            _limits_ok(desc[1], desc[2], 0xFFFFFFFF, "table")
        elif kind == 2:
            _limits_ok(desc[0], desc[1], MAX_PAGES, "memory")
    for ti in m.funcs:
        if ti >= ntypes:
            raise ValidationError("unknown type")
    for t in m.tables:
        _limits_ok(t[1], t[2], 0xFFFFFFFF, "table")
    for mm in m.mems:
        _limits_ok(mm[0], mm[1], MAX_PAGES, "memory")
    if len(m.mems) > 1:
        raise ValidationError("multiple memories")
    # C.refs: functions referenced outside function bodies
    for e in m.elems:
        for (op, v) in e[4]:
            if op == 0xD2:
                c.refs.add(v)
    for (nm, kind, idx) in m.exports:
        if kind == 0:
            c.refs.add(idx)
    for (op, v) in m.global_inits:
        if op == 0xD2:
            c.refs.add(v)
    ng_imp = m.n_imported_globals
    for i in range(len(m.global_inits)):
        t, mut = m.globals[ng_imp + i]
        check_const(c, m.global_inits[i], t, ng_imp)
    names = set()
    for (nm, kind, idx) in m.exports:
        if nm in names:
            raise ValidationError("duplicate export name")
        names.add(nm)
        if kind == 0 and idx >= len(m.funcs):
            raise ValidationError("unknown function")
        if kind == 1 and idx >= len(m.tables):
            raise ValidationError("unknown table")
        if kind == 2 and idx >= len(m.mems):
            raise ValidationError("unknown memory")
        if kind == 3 and idx >= len(m.globals):
            raise ValidationError("unknown global")
    if m.start is not None:
        if m.start >= len(m.funcs):
            raise ValidationError("unknown function")
        if m.types[m.funcs[m.start]] != ((), ()):
            raise ValidationError("start function")
    for (mode, table, offset, rt, items) in m.elems:
        if mode == 0:
            if table >= len(m.tables):
                raise ValidationError("unknown table")
            check_const(c, offset, I32, ng_imp)
            if m.tables[table][0] != rt:
                raise ValidationError("type mismatch")
        for it in items:
            check_const(c, it, rt, ng_imp)
    for (mode, mem, offset, s, e) in m.datas:
        if mode == 0:
            if mem >= len(m.mems):
                raise ValidationError("unknown memory %d" % mem)
            check_const(c, offset, I32, ng_imp)
    m.side_tables = []
    nimp = m.n_imported_funcs
    stack = []
    for i in range(len(m.codes)):
        m.side_tables.append(validate_func(c, m.funcs[nimp + i], m.codes[i], stack))


def check_const(c, expr, want, nglobals):
    op, v = expr
    if op == 0x41:
        t = I32
    elif op == 0x42:
        t = I64
    elif op == 0x43:
        t = F32
    elif op == 0x44:
        t = F64
    elif op == 0xD0:
        t = v
    elif op == 0xD2:
        if v >= len(c.funcs):
            raise ValidationError("unknown function %d" % v)
        t = FUNCREF
    elif op == 0x23:
        if v >= nglobals:
            raise ValidationError("unknown global %d" % v)
        t, mut = c.globals[v]
        if mut:
            raise ValidationError("constant expression required")
    elif op == 0x0B:
        raise ValidationError("type mismatch")
    elif op == -1:
        raise ValidationError("type mismatch")
    else:
        raise ValidationError("constant expression required")
    if t != want:
        raise ValidationError("type mismatch")


class Frame:
    def __init__(self, kind, params, results, height, pc, stp):
        self.kind = kind          # 0 block/function, 1 loop, 2 if, 3 else
        self.params = params
        self.results = results
        self.height = height
        self.unreachable = False
        self.fixups = []          # side-table entry offsets whose target is this frame's end
        self.if_entry = -1
        self.pc = pc              # loop: pc of the `loop` opcode (branch target)
        self.stp = stp            # loop: side-table offset at the loop


class SideBuf:
    """The side table being built: its size is counted first, so it is allocated once, exactly
    (a board's fragmented heap may have no room for a growing one), 16-bit when values fit."""

    def __init__(self, data, start, end):
        n = count_side(data, start, end)
        if n == 0:
            self.a = _EMPTY_SIDE
        elif len(data) < 65536 and n < 65536:
            self.a = array("H", bytes(2 * n))
        else:
            self.a = array("i", bytes(4 * n))
        self.n = 0

    def extend(self, t):
        a = self.a
        n = self.n
        a[n] = t[0]
        a[n + 1] = t[1]
        a[n + 2] = t[2]
        a[n + 3] = t[3]
        self.n = n + 4

    def __len__(self):
        return self.n

    def __setitem__(self, i, v):
        self.a[i] = v

    def __getitem__(self, i):
        return self.a[i]


def count_side(data, start, end):
    """How many side-table ints a body needs: 4 per if/else/br/br_if; a br_table 4 for its header
    and 4 per label depth up to its deepest."""
    r = Reader(data, start, end)
    n = 0
    while r.pos < end:
        op = r.byte()
        if op == 0x04 or op == 0x05 or op == 0x0C or op == 0x0D:
            n += 4
        elif op == 0x0E:
            k = r.u32()
            if k > end - r.pos:
                raise DecodeError("unexpected end")
            top = 0
            for _ in range(k + 1):
                d = r.u32()
                if d > top:
                    top = d
            if top > end - start:  # deeper than any body can nest: "unknown label" later
                top = 0
            n += 4 * (top + 2)
            continue
        skip_instr(r, op)
    return n


def _err(msg="type mismatch"):
    raise ValidationError(msg)


def _pop(frames, stack, expect):
    f = frames[-1]
    if len(stack) == f.height:
        if f.unreachable:
            return UNKNOWN
        _err()
    t = stack.pop()
    if expect != UNKNOWN and t != expect and t != UNKNOWN:
        _err()
    return t


def _pop_vals(frames, stack, ts):
    for i in range(len(ts) - 1, -1, -1):
        _pop(frames, stack, ts[i])


def _label_types(f):
    return f.params if f.kind == 1 else f.results


def _set_unreachable(frames, stack):
    f = frames[-1]
    del stack[f.height:]
    f.unreachable = True


def _branch_entry(frames, stack, side, depth):
    # one side-table entry for a branch to label `depth`
    f = frames[-1 - depth]
    keep = len(_label_types(f))
    drop = len(stack) - f.height - keep
    if drop < 0:
        drop = 0
    pos = len(side)
    if f.kind == 1:
        side.extend((f.pc, f.stp, keep, drop))
    else:
        side.extend((0, 0, keep, drop))
        f.fixups.append(pos)


def _check_label(frames, depth):
    if depth >= len(frames):
        _err("unknown label")
    return frames[-1 - depth]


def _mem_check(nmems):
    if nmems == 0:
        _err("unknown memory 0")


def validate_func(c, type_idx, code, stack=None, side=None):
    """Type-check one body; returns its side table. stack: a scratch list reused across
    functions (fewer allocations, less fragmentation of a board's heap)."""
    m = c.m
    params, results = c.types[type_idx]
    lt, start, end = code
    local_types = bytes(params) + lt
    nlocals = len(local_types)
    r = Reader(m.data, start, end)
    if stack is None:
        stack = []
    del stack[:]
    side = SideBuf(c.m.data, start, end)
    frames = [Frame(0, (), results, 0, end - 1, 0)]
    frames[0].is_func = True
    nglobals = len(c.globals)
    ntables = len(c.tables)
    nmems = len(c.mems)
    nfuncs = len(c.funcs)
    types = c.types

    while True:
        op_pc = r.pos
        op = r.byte()
        if op == 0x0B:  # end
            f = frames[-1]
            _pop_vals(frames, stack, f.results)
            if len(stack) != f.height:
                _err()
            if f.kind == 2 and f.params != f.results:
                # an `if` without `else` must have matching params and results
                _err()
            frames.pop()
            # branches to the function's label land on its final `end`, which returns
            pc_after = r.pos if frames else op_pc
            for pos in f.fixups:
                side[pos] = pc_after
                side[pos + 1] = len(side)
            if f.if_entry >= 0:
                side[f.if_entry] = pc_after
                side[f.if_entry + 1] = len(side)
            if not frames:
                if r.pos != end:
                    raise DecodeError("section size mismatch")
                break
            stack.extend(f.results)
            continue
        if 0x45 <= op <= 0xC4:
            ins, out = NUM_SIG[op]
            if len(ins) == 2:
                _pop(frames, stack, ins[1])
            _pop(frames, stack, ins[0])
            stack.append(out)
            continue
        if op == 0x20 or op == 0x21 or op == 0x22:
            x = r.u32()
            if x >= nlocals:
                _err("unknown local")
            t = local_types[x]
            if op == 0x20:
                stack.append(t)
            elif op == 0x21:
                _pop(frames, stack, t)
            else:
                _pop(frames, stack, t)
                stack.append(t)
            continue
        if op in MEM_OPS:
            t, natural, store = MEM_OPS[op]
            align = r.u32()
            r.u32()
            _mem_check(nmems)
            if align > natural:
                _err("alignment must not be larger than natural")
            if store:
                _pop(frames, stack, t)
                _pop(frames, stack, I32)
            else:
                _pop(frames, stack, I32)
                stack.append(t)
            continue
        if op == 0x41:
            r.s32()
            stack.append(I32)
            continue
        if op == 0x42:
            r.s64()
            stack.append(I64)
            continue
        if op == 0x43:
            r.bytes(4)
            stack.append(F32)
            continue
        if op == 0x44:
            r.bytes(8)
            stack.append(F64)
            continue
        if op == 0x02 or op == 0x03 or op == 0x04:
            bp, br_ = read_blocktype(r, types)
            if op == 0x04:
                _pop(frames, stack, I32)
            _pop_vals(frames, stack, bp)
            f = Frame(op - 2, bp, br_, len(stack), op_pc, len(side))
            if op == 0x04:
                f.if_entry = len(side)
                side.extend((0, 0, 0, 0))
            frames.append(f)
            stack.extend(bp)
            continue
        if op == 0x05:  # else
            f = frames[-1]
            if f.kind != 2:
                _err("else without if")
            _pop_vals(frames, stack, f.results)
            if len(stack) != f.height:
                _err()
            pos = len(side)
            side.extend((0, 0, len(f.results), 0))
            f.fixups.append(pos)
            side[f.if_entry] = r.pos
            side[f.if_entry + 1] = len(side)
            f.if_entry = -1
            f.kind = 3
            f.unreachable = False
            stack.extend(f.params)
            continue
        if op == 0x0C:  # br
            d = r.u32()
            f = _check_label(frames, d)
            _pop_vals(frames, stack, _label_types(f))
            stack.extend(_label_types(f))
            _branch_entry(frames, stack, side, d)
            _set_unreachable(frames, stack)
            continue
        if op == 0x0D:  # br_if
            d = r.u32()
            f = _check_label(frames, d)
            _pop(frames, stack, I32)
            lts = _label_types(f)
            _pop_vals(frames, stack, lts)
            stack.extend(lts)
            _branch_entry(frames, stack, side, d)
            continue
        if op == 0x0E:  # br_table
            n = r.u32()
            if n > end - r.pos:
                raise DecodeError("unexpected end")
            labels = array("I")
            for _ in range(n + 1):
                labels.append(r.u32())
            _pop(frames, stack, I32)
            dflt = _check_label(frames, labels[-1])
            arity = len(_label_types(dflt))
            for d in labels:
                f = _check_label(frames, d)
                lts = _label_types(f)
                if len(lts) != arity:
                    _err("type mismatch")
                # check the operands against this label without consuming them
                popped = []
                for i in range(len(lts) - 1, -1, -1):
                    popped.append(_pop(frames, stack, lts[i]))
                popped.reverse()
                stack.extend(popped)
            # one header, then one entry per depth 0..deepest label (not one per label: a
            # switch with thousands of cases costs a few entries); the interpreter reads the
            # label's depth from the code. Header: [depths, 1 if every label is one byte, 0, 0]
            top = 0
            single = 1
            for d in labels:
                if d > top:
                    top = d
                if d > 0x7F:
                    single = 0
            side.extend((top + 1, single, 0, 0))
            used = {}
            for d in labels:
                used[d] = 1
            for d in range(top + 1):
                if d in used:
                    _branch_entry(frames, stack, side, d)
                else:
                    side.extend((0, 0, 0, 0))
            _set_unreachable(frames, stack)
            continue
        if op == 0x0F:  # return
            _pop_vals(frames, stack, results)
            _set_unreachable(frames, stack)
            continue
        if op == 0x10:  # call
            x = r.u32()
            if x >= nfuncs:
                _err("unknown function")
            fp, fr = types[c.funcs[x]]
            _pop_vals(frames, stack, fp)
            stack.extend(fr)
            continue
        if op == 0x11:  # call_indirect
            y = r.u32()
            x = r.u32()
            if x >= ntables:
                _err("unknown table")
            if y >= len(types):
                _err("unknown type")
            if c.tables[x][0] != FUNCREF:
                _err("type mismatch")
            _pop(frames, stack, I32)
            fp, fr = types[y]
            _pop_vals(frames, stack, fp)
            stack.extend(fr)
            continue
        if op == 0x00:  # unreachable
            _set_unreachable(frames, stack)
            continue
        if op == 0x01:
            continue
        if op == 0x1A:  # drop
            _pop(frames, stack, UNKNOWN)
            continue
        if op == 0x1B:  # select
            _pop(frames, stack, I32)
            t1 = _pop(frames, stack, UNKNOWN)
            t2 = _pop(frames, stack, UNKNOWN)
            if t1 in REFTYPES or t2 in REFTYPES:
                _err()
            if t1 != UNKNOWN and t2 != UNKNOWN and t1 != t2:
                _err()
            stack.append(t1 if t1 != UNKNOWN else t2)
            continue
        if op == 0x1C:
            n = r.u32()
            if n > end - r.pos:
                raise DecodeError("unexpected end")
            ts = []
            for _ in range(n):
                vt = r.byte()
                if vt not in VALTYPES:
                    raise DecodeError("malformed value type")
                ts.append(vt)
            if n != 1:
                _err("invalid result arity")
            _pop(frames, stack, I32)
            _pop(frames, stack, ts[0])
            _pop(frames, stack, ts[0])
            stack.append(ts[0])
            continue
        if op == 0x23 or op == 0x24:
            x = r.u32()
            if x >= nglobals:
                _err("unknown global")
            t, mut = c.globals[x]
            if op == 0x23:
                stack.append(t)
            else:
                if not mut:
                    _err("global is immutable")
                _pop(frames, stack, t)
            continue
        if op == 0x25 or op == 0x26:
            x = r.u32()
            if x >= ntables:
                _err("unknown table")
            t = c.tables[x][0]
            if op == 0x25:
                _pop(frames, stack, I32)
                stack.append(t)
            else:
                _pop(frames, stack, t)
                _pop(frames, stack, I32)
            continue
        if op == 0x3F or op == 0x40:
            if r.byte() != 0:
                raise DecodeError("zero byte expected")
            _mem_check(nmems)
            if op == 0x40:
                _pop(frames, stack, I32)
            stack.append(I32)
            continue
        if op == 0xD0:
            t = r.byte()
            if t not in REFTYPES:
                raise DecodeError("malformed reference type")
            stack.append(t)
            continue
        if op == 0xD1:
            t = _pop(frames, stack, UNKNOWN)
            if t != UNKNOWN and t not in REFTYPES:
                _err()
            stack.append(I32)
            continue
        if op == 0xD2:
            x = r.u32()
            if x >= nfuncs:
                _err("unknown function %d" % x)
            if x not in c.refs:
                _err("undeclared function reference")
            stack.append(FUNCREF)
            continue
        if op == 0xFC:
            sub = r.u32()
            if sub <= 7:
                ti, to = SAT_SIG[sub]
                _pop(frames, stack, ti)
                stack.append(to)
                continue
            if sub == 8:  # memory.init
                x = r.u32()
                if r.byte() != 0:
                    raise DecodeError("zero byte expected")
                if m.data_count is None and m.datas:
                    raise DecodeError("data count section required")
                _mem_check(nmems)
                if x >= (m.data_count or 0):
                    _err("unknown data segment %d" % x)
                _pop(frames, stack, I32)
                _pop(frames, stack, I32)
                _pop(frames, stack, I32)
                continue
            if sub == 9:  # data.drop
                x = r.u32()
                if m.data_count is None and m.datas:
                    raise DecodeError("data count section required")
                if x >= (m.data_count or 0):
                    _err("unknown data segment %d" % x)
                continue
            if sub == 10 or sub == 11:  # memory.copy / memory.fill
                if r.byte() != 0:
                    raise DecodeError("zero byte expected")
                if sub == 10 and r.byte() != 0:
                    raise DecodeError("zero byte expected")
                _mem_check(nmems)
                _pop(frames, stack, I32)
                _pop(frames, stack, I32)
                _pop(frames, stack, I32)
                continue
            if sub == 12:  # table.init elem table
                y = r.u32()
                x = r.u32()
                if x >= ntables:
                    _err("unknown table")
                if y >= len(m.elems):
                    _err("unknown elem segment %d" % y)
                if m.elems[y][3] != c.tables[x][0]:
                    _err()
                _pop(frames, stack, I32)
                _pop(frames, stack, I32)
                _pop(frames, stack, I32)
                continue
            if sub == 13:  # elem.drop
                x = r.u32()
                if x >= len(m.elems):
                    _err("unknown elem segment %d" % x)
                continue
            if sub == 14:  # table.copy dst src
                x = r.u32()
                y = r.u32()
                if x >= ntables or y >= ntables:
                    _err("unknown table")
                if c.tables[x][0] != c.tables[y][0]:
                    _err()
                _pop(frames, stack, I32)
                _pop(frames, stack, I32)
                _pop(frames, stack, I32)
                continue
            if sub == 15 or sub == 16 or sub == 17:
                x = r.u32()
                if x >= ntables:
                    _err("unknown table")
                t = c.tables[x][0]
                if sub == 15:  # table.grow
                    _pop(frames, stack, I32)
                    _pop(frames, stack, t)
                    stack.append(I32)
                elif sub == 16:
                    stack.append(I32)
                else:  # table.fill
                    _pop(frames, stack, I32)
                    _pop(frames, stack, t)
                    _pop(frames, stack, I32)
                continue
            raise DecodeError("illegal opcode")
        raise DecodeError("illegal opcode")
    return side.a
