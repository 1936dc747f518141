"""Superinstructions: a copy of a module's code where frequent instruction sequences are fused.

The interpreter spends most of its time dispatching and moving values through the operand
stack. For a validated module this pass writes a copy of the module's bytes in which the most
frequent straight-line sequences of i32 instructions become one instruction of the interpreter's
own (opcodes 0xD3-0xEA, which wasm 2.0 leaves unused), e.g.

    local.get x; i32.const k; i32.add; local.set z    ->  z = (x + k) & M32, one dispatch

Every fused instruction starts where its sequence started and ends where it ended, so every
offset (branch targets in the side table, function starts and ends) means the same in the copy
as in the module: the interpreter runs either. No sequence holds a control instruction except a
final br_if, so no branch lands inside one. Where a sequence is longer than its fused form
(multi-byte LEB128 immediates), the fused form is preceded by a skip. Constants live in a pool
(`consts`, indexed by one byte), shared by the module's functions.

Layouts (p: the sequence start; BOP: an i32 binary opcode 0x46-0x4F or 0x6A-0x78; a trailing
sink `local.set z` / `br_if l` / `local.tee z` keeps its two original bytes after the form):

    0xD3 n            skip: continue at p + 1 + n
    0xD4 x y _        local.get x; local.get y
    0xD5 x z _        local.get x; local.set z
    0xD7              a block's `end` or a one-byte pad: nothing to do
    0xD8 + 4*shape + sink, BOP, operands:
        shape 0  BOP x y _    local.get x; local.get y; BOP
        shape 1  BOP x k _    local.get x; i32.const K; BOP
        shape 2  BOP k        i32.const K; BOP                (first operand: the stack top)
        shape 3  BOP y        local.get y; BOP                (first operand: the stack top)
        sink 0 push the result, 1 local.set z, 2 br_if, 3 local.tee z
    0xE8 BOP z / 0xE9 BOP z / 0xEA BOP l    BOP; local.set z / local.tee z / br_if l

The pass costs one copy of the module's bytes; `runtime` decides whether there is room for it.
"""

from .interp import uleb, sleb

SKIP = 0xD3
LL = 0xD4
MOVE = 0xD5
NOP = 0xD7
SHAPED = 0xD8
SS_SET = 0xE8


def skip(code, pc, op):
    """pc after the immediates of `op` (pc: just after the opcode) in a validated body."""
    if op >= 0x20 and op <= 0x26 or op == 0x0C or op == 0x0D or op == 0x10 or op == 0x41 \
            or op == 0x42 or op == 0xD2:
        while code[pc] & 0x80:
            pc += 1
        return pc + 1
    if op >= 0x28 and op <= 0x3E or op == 0x11:
        pc = uleb(code, pc)[1]
        return uleb(code, pc)[1]
    if op == 0x02 or op == 0x03 or op == 0x04:
        b = code[pc]
        if b == 0x40 or b in (0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F):
            return pc + 1
        return uleb(code, pc)[1]
    if op == 0x0E:
        n, pc = uleb(code, pc)
        for _ in range(n + 1):
            pc = uleb(code, pc)[1]
        return pc
    if op == 0x1C:
        n, pc = uleb(code, pc)
        return pc + n
    if op == 0x3F or op == 0x40 or op == 0xD0:
        return pc + 1
    if op == 0x43:
        return pc + 4
    if op == 0x44:
        return pc + 8
    if op == 0xFC:
        sub, pc = uleb(code, pc)
        if sub <= 7:
            return pc
        if sub == 8:
            return uleb(code, pc)[1] + 1
        if sub == 10:
            return pc + 2
        if sub == 11:
            return pc + 1
        if sub == 12 or sub == 14:
            pc = uleb(code, pc)[1]
        return uleb(code, pc)[1]
    return pc


def _binop(op):
    return (op >= 0x46 and op <= 0x4F) or (op >= 0x6A and op <= 0x78)


def fuse_body(data, out, start, end, consts):
    """Fuse the validated body data[start:end] into `out` (a copy of data), adding its
    constants to the pool `consts` (at most 256 in all)."""
    index = {}
    for i in range(len(consts)):
        index[consts[i]] = i
    _fuse_body(data, out, start, end, consts, index)


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
    if pad == 1:
        out[p] = NOP
    elif pad > 1:
        out[p] = SKIP
        out[p + 1] = pad - 1
    p += pad
    for b in form:
        out[p] = b
        p += 1


def _local(code, pc):
    # (index, next pc) of a local.get/set/tee immediate, index None when it does not fit a byte
    x, pc = uleb(code, pc)
    return (x if x < 256 else None), pc


def _fuse_body(code, out, pc, end, consts, index):
    while pc < end:
        op = code[pc]
        p = pc
        pc = skip(code, pc + 1, op)
        if op == 0x0B:
            if pc < end:
                out[p] = NOP  # a block's end (the function's final end returns)
            continue
        if op == 0x02:
            _emit(out, p, pc - p, ())  # entering a block does nothing
            continue
        if op == 0x20 or op == 0x41:
            if pc >= end:
                continue
            op2 = code[pc]
            p2 = pc
            pc2 = skip(code, pc + 1, op2)
            shape = -1
            if op == 0x20:
                x = _local(code, p + 1)[0]
                if x is None:
                    continue
                if op2 == 0x20 or op2 == 0x41:
                    if op2 == 0x20:
                        y = _local(code, p2 + 1)[0]
                        if y is None:
                            continue
                    else:
                        y = _const(consts, index, sleb(code, p2 + 1, 32)[0])
                        if y < 0:
                            continue
                    op3 = code[pc2]
                    if _binop(op3):
                        shape = 0 if op2 == 0x20 else 1
                        form = [0, op3, x, y, 0]
                        pc = pc2 + 1
                    elif op2 == 0x20:
                        _emit(out, p, pc2 - p, (LL, x, y, 0))
                        pc = pc2
                        continue
                    else:
                        continue
                elif _binop(op2):
                    shape = 3
                    form = [0, op2, x]
                    pc = pc2
                elif op2 == 0x21:
                    z = _local(code, p2 + 1)[0]
                    if z is not None:
                        _emit(out, p, pc2 - p, (MOVE, x, z, 0))
                        pc = pc2
                    continue
                else:
                    continue
            else:  # i32.const
                if not _binop(op2):
                    continue
                k = _const(consts, index, sleb(code, p + 1, 32)[0])
                if k < 0:
                    continue
                shape = 2
                form = [0, op2, k]
                pc = pc2
            sink = 0
            if pc < end:
                op4 = code[pc]
                if (op4 == 0x21 or op4 == 0x22 or op4 == 0x0D) and code[pc + 1] < 0x80:
                    sink = 1 if op4 == 0x21 else (3 if op4 == 0x22 else 2)
                    form.append(op4)
                    form.append(code[pc + 1])
                    pc += 2
            form[0] = SHAPED + 4 * shape + sink
            _emit(out, p, pc - p, form)
            continue
        if _binop(op) and pc < end:
            op2 = code[pc]
            if (op2 == 0x21 or op2 == 0x22 or op2 == 0x0D) and code[pc + 1] < 0x80:
                out[p] = SS_SET + (0 if op2 == 0x21 else (1 if op2 == 0x22 else 2))
                out[p + 1] = op
                out[p + 2] = code[pc + 1]
                pc += 2
