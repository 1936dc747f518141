"""Superinstructions: a copy of a module's code where frequent instruction sequences are fused.

The interpreter spends most of its time dispatching and moving values through the operand
stack. For a validated module this pass writes a copy of the module's bytes in which frequent
straight-line sequences become one instruction of the interpreter's own (opcodes 0xC5-0xCF and
0xD3-0xFB, which wasm 2.0 leaves unused), e.g.

    local.get x; i32.const k; i32.add; local.set z    ->  z = x + k (wrapped), one dispatch

Every fused instruction starts where its sequence started and ends where it ended, so every
offset (branch targets in the side table, function starts and ends) means the same in the copy
as in the module: the interpreter runs either. No sequence holds a control instruction except a
final br_if (and leading `block`s, which do nothing when entered and are never branched into),
so no branch lands inside one. Forms with an `adv` byte absorb longer sequences (multi-byte
LEB128 immediates, leading blocks); the others are preceded by a skip where the sequence is
longer than the form. Constants and memory offsets live in a pool (the instance's `consts`,
indexed by one byte), shared by the module's functions.

Layouts (p: the sequence start; the interpreter continues at p + 1 + adv; BOP: a binary
numeric opcode; a trailing sink `local.set z` / `br_if l` / `local.tee z` keeps its two
original bytes after the form):

    0xC5 LOP k o adv     CONST K; LOP (a load from a fixed address)
    0xC6 k adv           CONST K (a long one)
    0xC7 BOP SOP o       BOP; SOP (a store of the result with offset O)
    0xC8 BOP SOP o adv   the same, longer
    0xC9 BOP LOP o       LOP; BOP (the loaded value is the second operand)
    0xCA BOP LOP o adv   the same, longer
    0xCB BOP LOP x o adv local.get x; LOP; BOP
    0xCC k z adv         CONST K; local.set z
    0xCD BOP LOP x o SOP o2 adv'   local.get x; LOP; BOP; SOP (continue at p + 4 + adv')
    0xCE LOP x y o adv   local.get x; local.get y; LOP
    0xCF LOP x y k o adv local.get x; local.get y; i32.const K; i32.add; LOP
    0xD3 n               skip: continue at p + 1 + n
    0xD4 x y adv         local.get x; local.get y
    0xD5 x z adv         local.get x; local.set z
    0xD6 lo hi adv       call (lo | hi << 8)
    0xD7                 a block's `end` or a one-byte pad: nothing to do
    0xD8 + 4*shape + sink, BOP, operands:
        shape 0  BOP x y adv    local.get x; local.get y; BOP
        shape 1  BOP x k adv    local.get x; CONST K; BOP
        shape 2  BOP k          CONST K; BOP            (first operand: the stack top)
        shape 3  BOP y          local.get y; BOP        (first operand: the stack top)
        shape 4  BOP k adv      CONST K; BOP            (shape 2 with room for an adv byte)
        sink 0 push the result, 1 local.set z, 2 br_if, 3 local.tee z
    0xEC BOP z / 0xED BOP z / 0xEE BOP l    BOP; local.set z / local.tee z / br_if l
    0xEF x               local.get x; the function's final `end` (a return of local x)
    0xF0 LOP x o adv     local.get x; LOP (a load) with offset O
    0xF1 bt              loop (the fuel count)
    0xF2 LOP o           LOP, a load with offset O (address from the stack)
    0xF3 SOP o           SOP, a store with offset O (address and value from the stack)
    0xF4 SOP k o         CONST K; SOP
    0xF5 LOP x k o adv   local.get x; i32.const K; i32.add; LOP
    0xF6 l / 0xFB l      br_if l / br l
    0xF7 l _             i32.eqz; br_if l
    0xF8 z / 0xF9 z      local.set z / local.tee z
    0xFA k               i32.const K

An i32 comparison with a constant is stored as < or > where that is the same (x <= k is
x < k + 1), which shortens the interpreter's chain of comparisons.

The pass costs one copy of the module's bytes; `runtime` decides whether there is room for it.
"""

from .leb import uleb, sleb
from .opcodes import skip
from .numeric import s32

SKIP = 0xD3
NOP = 0xD7
SS_SET = 0xEC


def _binop(op):
    # binary numeric opcodes: i32, i64 comparisons and arithmetic, f32/f64 comparisons and
    # add sub mul div min max copysign
    return (0x46 <= op <= 0x4F or 0x51 <= op <= 0x5A or 0x5B <= op <= 0x66
            or 0x6A <= op <= 0x78 or 0x7C <= op <= 0x8A or 0x92 <= op <= 0x98
            or 0xA0 <= op <= 0xA6)


def _const_value(code, op, pc):
    # the bits of a CONST instruction's immediate at pc
    if op == 0x41:  # (the interpreter's i32 values are signed)
        return s32(sleb(code, pc, 32)[0])
    if op == 0x42:
        return sleb(code, pc, 64)[0]
    if op == 0x43:
        return code[pc] | code[pc + 1] << 8 | code[pc + 2] << 16 | code[pc + 3] << 24
    v = 0
    for i in range(8):
        v |= code[pc + i] << (8 * i)
    return v


# i32 comparisons with a constant k (signed), as the strict comparison they equal: op -> (new
# op, step of k, k for which there is none)
_STRICT = {0x4D: (0x49, 1, -1), 0x4C: (0x48, 1, 0x7FFFFFFF),
           0x4F: (0x4B, -1, 0), 0x4E: (0x4A, -1, -0x80000000)}


def fuse_body(data, out, start, end, consts):
    """Fuse the validated body data[start:end] into `out` (a copy of data), adding its
    constants to the pool `consts` (at most 256 in all)."""
    index = {}
    for i in range(len(consts)):
        index[consts[i]] = i
    _fuse_body(data, out, start, end, consts, index)


class _Shifted:
    # a function's own buffer seen at the module offsets of its body (fusing writes there)
    def __init__(self, buf, base):
        self.buf = buf
        self.base = base

    def __setitem__(self, i, v):
        self.buf[i - self.base] = v

    def __getitem__(self, i):
        return self.buf[i - self.base]


def fuse_function(data, start, end, side, consts):
    """Fuse the validated body data[start:end] into a buffer of its own: (code, side table) where
    offset 0 is the module's offset `start` (the side table's targets are moved likewise), for a
    board without room for a copy of the whole module."""
    buf = bytearray(data[start:end])
    fuse_body(data, _Shifted(buf, start), start, end, consts)
    return buf, rebase_side(data, start, end, side, start)


def rebase_side(data, start, end, side, base):
    """A copy of the side table of the body data[start:end] with its target pcs less `base`
    (the entries are in code order: 4 ints per if/else/br/br_if; a br_table's header, whose
    first int is a count, then 4 per label depth)."""
    out = side[:]
    n = 0
    pc = start
    while pc < end:
        op = data[pc]
        nxt = skip(data, pc + 1, op)
        if op == 0x04 or op == 0x05 or op == 0x0C or op == 0x0D:
            out[n] -= base
            n += 4
        elif op == 0x0E:
            top = out[n] - 1  # the header: deepest label + 1, single-byte depths
            n += 4
            for _ in range(top + 1):
                if out[n]:  # (0: a depth no label of this br_table uses)
                    out[n] -= base
                n += 4
        pc = nxt
    return out


def _const(consts, index, v):
    i = index.get(v)
    if i is None:
        if len(consts) >= 256:
            return -1
        i = len(consts)
        consts.append(v)
        index[v] = i
    return i


def _emit(out, p, length, form):
    # write `form` (the fused bytes, shorter than or as long as the sequence) so that it ends
    # where the sequence of `length` bytes at p ends; a skip pads the front
    pad = length - len(form)
    while pad > 256:  # a skip goes at most 256 bytes ahead
        out[p] = SKIP
        out[p + 1] = 255
        p += 256
        pad -= 256
    if pad == 1:
        out[p] = NOP
    elif pad > 1:
        out[p] = SKIP
        out[p + 1] = pad - 1
    p += pad
    for b in form:
        out[p] = b
        p += 1


def _emit_adv(out, p, q, form):
    # write `form`, whose last byte is its adv, at p for the sequence p..q
    form[-1] = q - p - 1
    for b in form:
        out[p] = b
        p += 1


def _local(code, pc):
    # the index of a local.get/set/tee immediate, None when it does not fit a byte
    x = uleb(code, pc)[0]
    return x if x < 256 else None


def _sink(code, pc, end):
    # (sink kind, opcode) of a local.set / br_if / local.tee with a one-byte immediate at pc
    if pc < end - 1 and code[pc + 1] < 0x80:
        op = code[pc]
        if op == 0x21:
            return 1
        if op == 0x0D:
            return 2
        if op == 0x22:
            return 3
    return 0


def _fuse_body(code, out, pc, end, consts, index):
    pend = -1  # the start of leading blocks not written yet
    while pc < end:
        op = code[pc]
        p = pc
        pc = skip(code, pc + 1, op)
        if op == 0x02:  # entering a block does nothing: becomes part of what follows
            if pend < 0:
                pend = p
            continue
        if pend >= 0 and p - pend > 200:  # too far for an adv byte: the blocks become skips
            _emit(out, pend, p - pend, ())
            pend = -1
        q = pend if pend >= 0 else p  # where a form with an adv byte may start
        done = _fuse_at(code, out, op, p, pc, q, end, consts, index)
        if done < 0:
            if pend >= 0:
                _emit(out, pend, p - pend, ())
            done = pc
            if op == 0x0B and pc < end:
                out[p] = NOP  # a block's end (the function's final end returns)
            elif pc - p == 2 and code[p + 1] < 0x80 and op in _SINGLE:
                out[p] = _SINGLE[op]  # one instruction, its immediate as a byte
                if op == 0x41:
                    k = _const(consts, index, s32(sleb(code, p + 1, 32)[0]))
                    if k < 0:
                        out[p] = op
                    else:
                        out[p + 1] = k
            elif op == 0x45 and code[pc] == 0x0D and code[pc + 1] < 0x80:
                out[p] = 0xF7  # i32.eqz; br_if
                out[p + 1] = code[pc + 1]
                done = pc + 2
            elif _binop(op) and pc < end and 0x36 <= code[pc] <= 0x3E:  # BOP; a store
                o = _const(consts, index, _offset(code, pc))
                nx = skip(code, pc + 1, code[pc])
                if o >= 0:
                    if nx - p == 4:
                        _emit(out, p, 4, (0xC7, op, code[pc], o))
                    else:
                        _emit_adv(out, p, nx, [0xC8, op, code[pc], o, 0])
                    done = nx
            elif _binop(op) and pc < end:
                sk = _sink(code, pc, end)
                if sk:
                    out[p] = SS_SET + (0 if sk == 1 else (1 if sk == 3 else 2))
                    out[p + 1] = op
                    out[p + 2] = code[pc + 1]
                    done = pc + 2
        pend = -1
        pc = done


def _fuse_at(code, out, op, p, pc, q, end, consts, index):
    """Fuse the sequence starting with `op` at p (next instruction at pc; q <= p: the start of
    leading blocks). Returns where the fused sequence ends, or -1 (nothing fused; leading blocks
    are left to the caller)."""
    if op == 0x10:
        x = uleb(code, p + 1)[0]
        if pc - q >= 4 and x < 65536:
            _emit_adv(out, q, pc, [0xD6, x & 0xFF, x >> 8, 0])
            return pc
        return -1
    if op == 0x03:  # loop: the loop opcode is a branch target, leading blocks are not part of it
        if pc - p != 2:
            return -1
        if q < p:
            _emit(out, q, p - q, ())
        out[p] = 0xF1
        return pc
    if op >= 0x28 and op <= 0x3E:  # a load or store, address (and value) from the stack
        k = _const(consts, index, _offset(code, p))
        if k < 0:
            return -1
        if op <= 0x35 and pc < end and _binop(code[pc]):  # a load as a binary op's operand
            if pc - q == 3:
                _emit(out, q, 4, (0xC9, code[pc], op, k))
            else:
                _emit_adv(out, q, pc + 1, [0xCA, code[pc], op, k, 0])
            return pc + 1
        _emit(out, q, pc - q, (0xF2 if op <= 0x35 else 0xF3, op, k))
        return pc
    if pc >= end:
        return -1
    op2 = code[pc]
    p2 = pc
    pc2 = skip(code, pc + 1, op2)
    if op == 0x20:
        x = _local(code, p + 1)
        if x is None:
            return -1
        if op2 == 0x0B and pc2 == end:
            if q < p:
                _emit(out, q, p - q, ())
            out[p] = 0xEF
            out[p + 1] = x
            return pc
        if op2 == 0x20 or (op2 >= 0x41 and op2 <= 0x44):
            if op2 == 0x20:
                y = _local(code, p2 + 1)
                if y is None:
                    return -1
            else:
                kv = _const_value(code, op2, p2 + 1)
            op3 = code[pc2]
            if not _binop(op3):
                if op2 != 0x20:
                    return -1
                if op3 == 0x41 and _lk_load(code, pc2):
                    # local.get x; local.get y; i32.const k; i32.add; a load
                    pk = skip(code, pc2 + 1, 0x41)
                    k = _const(consts, index, _const_value(code, 0x41, pc2 + 1))
                    o = _const(consts, index, _offset(code, pk + 1))
                    if k < 0 or o < 0:
                        return -1
                    pe = skip(code, pk + 2, code[pk + 1])
                    _emit_adv(out, q, pe, [0xCF, code[pk + 1], x, y, k, o, 0])
                    return pe
                if 0x28 <= op3 <= 0x35:
                    pe = skip(code, pc2 + 1, op3)
                    if pe < end and _binop(code[pe]):
                        return -1  # (local.get y; the load; the op is one form: x stays alone)
                    o = _const(consts, index, _offset(code, pc2))
                    if o < 0:
                        return -1
                    _emit_adv(out, q, pe, [0xCE, op3, x, y, o, 0])  # local.get x; local.get y; load
                    return pe
                _emit_adv(out, q, pc2, [0xD4, x, y, 0])
                return pc2
            if op2 == 0x41 and op3 == 0x6A and code[pc2 + 1] >= 0x28 and code[pc2 + 1] <= 0x35:
                # local.get x; i32.const k; i32.add; a load
                k = _const(consts, index, kv)
                o = _const(consts, index, _offset(code, pc2 + 1))
                if k >= 0 and o >= 0:
                    pc = skip(code, pc2 + 2, code[pc2 + 1])
                    _emit_adv(out, q, pc, [0xF5, code[pc2 + 1], x, k, o, 0])
                    return pc
            if op2 != 0x20:
                op3, kv = _strict(op3, kv)
                y = _const(consts, index, kv)
                if y < 0:
                    return -1
            pc = pc2 + 1
            sk = _sink(code, pc, end)
            form = [0xD8 + (4 if op2 != 0x20 else 0) + sk, op3, x, y, 0]
            _emit_adv(out, q, pc, form)  # a sink keeps its bytes after the form
            return pc + 2 if sk else pc
        if op2 == 0x21:
            z = _local(code, p2 + 1)
            if z is None:
                return -1
            _emit_adv(out, q, pc2, [0xD5, x, z, 0])
            return pc2
        if op2 >= 0x28 and op2 <= 0x35:
            k = _const(consts, index, _offset(code, p2))
            if k < 0 or pc2 - q < 5:
                return -1
            if pc2 < end and _binop(code[pc2]):  # local.get x; a load; a binary op
                ps = pc2 + 1
                if ps < end and 0x36 <= code[ps] <= 0x3E:  # ...; and a store of the result
                    o2 = _const(consts, index, _offset(code, ps))
                    pe = skip(code, ps + 1, code[ps])
                    if o2 >= 0 and pe - q - 4 < 256:
                        form = [0xCD, code[pc2], op2, x, k, code[ps], o2, pe - q - 4]
                        for b in form:
                            out[q] = b
                            q += 1
                        return pe
                _emit_adv(out, q, pc2 + 1, [0xCB, code[pc2], op2, x, k, 0])
                return pc2 + 1
            _emit_adv(out, q, pc2, [0xF0, op2, x, k, 0])
            return pc2
        if _binop(op2):
            form = [0xD8 + 12, op2, x]
        else:
            return -1
        pc = pc2
    elif op >= 0x41 and op <= 0x44:
        if op2 >= 0x28 and op2 <= 0x3E:  # CONST c; a load or a store
            k = _const(consts, index, _const_value(code, op, p + 1))
            o = _const(consts, index, _offset(code, p2))
            if k < 0 or o < 0:
                return -1
            if op2 <= 0x35:
                _emit_adv(out, q, pc2, [0xC5, op2, k, o, 0])
            else:
                _emit(out, q, pc2 - q, (0xF4, op2, k, o))
            return pc2
        if op2 == 0x21:  # CONST k; local.set z
            z = _local(code, p2 + 1)
            k = _const(consts, index, _const_value(code, op, p + 1))
            if z is not None and k >= 0:
                _emit_adv(out, q, pc2, [0xCC, k, z, 0])
                return pc2
        if not _binop(op2):
            if pc - q >= 3:  # a long constant alone
                k = _const(consts, index, _const_value(code, op, p + 1))
                if k >= 0:
                    _emit_adv(out, q, pc, [0xC6, k, 0])
                    return pc
            return -1
        op2, kv = _strict(op2, _const_value(code, op, p + 1))
        k = _const(consts, index, kv)
        if k < 0:
            return -1
        if pc2 - q >= 4:  # room for an adv byte (a long constant, leading blocks)
            sk = _sink(code, pc2, end)
            _emit_adv(out, q, pc2, [0xD8 + 16 + sk, op2, k, 0])
            return pc2 + 2 if sk else pc2
        form = [0xD8 + 8, op2, k]
        pc = pc2
    else:
        return -1
    # shapes 2 and 3: no adv byte, a skip pads the front
    sk = _sink(code, pc, end)
    form[0] += sk
    if sk:
        form.append(code[pc])
        form.append(code[pc + 1])
        pc += 2
    _emit(out, q, pc - q, form)
    return pc


def _lk_load(code, p):
    # whether i32.const k at p is followed by i32.add and a load
    p = skip(code, p + 1, 0x41)
    return code[p] == 0x6A and 0x28 <= code[p + 1] <= 0x35


def _offset(code, p):
    # the offset of the memarg of the load or store at p (after the alignment)
    return uleb(code, uleb(code, p + 1)[1])[0]


# single instructions with a one-byte immediate -> their fused form
_SINGLE = {0x0D: 0xF6, 0x21: 0xF8, 0x22: 0xF9, 0x41: 0xFA, 0x0C: 0xFB}


def _strict(op, k):
    t = _STRICT.get(op)
    if t is not None and k != t[2]:
        return t[0], s32((k + t[1]) & 0xFFFFFFFF)
    return op, k


# ---- for tests and tuning: the forms of a fused body

# length, or -(offset of the adv byte)
_FORM_LEN = {0xC5: -4, 0xC6: -2, 0xC7: 4, 0xC8: -4, 0xC9: 4, 0xCA: -4, 0xCB: -5, 0xCC: -3, 0xCE: -5, 0xCF: -6, 0xD4: -3, 0xD5: -3, 0xD6: -3, 0xD7: 1, 0xEC: 3, 0xED: 3, 0xEE: 3, 0xEF: 2,
             0xF0: -4, 0xF1: 2, 0xF2: 3, 0xF3: 3, 0xF4: 4, 0xF5: -5, 0xF6: 2, 0xF7: 3,
             0xF8: 2, 0xF9: 2, 0xFA: 2, 0xFB: 2}


def forms(out, data, start, end):
    """[(pc, opcode)] of the instructions the interpreter dispatches in out[start:end] (the
    fused copy of data): fused forms by their opcode, other instructions by theirs."""
    res = []
    pc = start
    while pc < end:
        op = out[pc]
        res.append((pc, op))
        if op == SKIP:
            pc += 1 + out[pc + 1]
        elif op == 0xCD:
            pc = pc + 4 + out[pc + 7]
        elif op >= 0xD8 and op <= 0xEB:
            shape = (op - 0xD8) >> 2
            if shape < 2:
                pc = pc + 1 + out[pc + 4]
            elif shape == 4:
                pc = pc + 1 + out[pc + 3]
            else:
                pc += 3
            if (op - 0xD8) & 3:
                pc += 2
        elif op in _FORM_LEN:
            n = _FORM_LEN[op]
            pc = pc + 1 + out[pc - n] if n < 0 else pc + n
        else:
            pc = skip(data, pc + 1, data[pc])
    return res
