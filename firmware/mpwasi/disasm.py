"""Instruction decoding for the debugger: lengths, immediates and names of wasm 2.0 instructions.

    op, imm, next_pc = decode(code, pc)    # op: the opcode byte, or 0xFC00 | n for the 0xFC prefix
    text(op, imm, func_name)               # "call 3 <fib>", "i32.const -1", "br_if 0"
    starts(code, start, end)               # the offsets of every instruction of a body

Loaded only when debugging: the interpreter never needs names.
"""

from .leb import uleb, sleb
from . import opcodes as _op
from .opnames import name


def decode(code, pc):
    """The instruction at pc: (opcode, immediates, offset of the next instruction)."""
    op = code[pc]
    pc += 1
    k = _op.SHAPE[op]
    if k == _op.PREFIX:
        x, pc = uleb(code, pc)
        op = 0xFC00 | x
        k = _op.FC_SHAPE[x] if x < len(_op.FC_SHAPE) else _op.NONE
        if k == _op.ZERO or k == _op.ZERO2:
            return op, None, pc + (1 if k == _op.ZERO else 2)
    if k == _op.IDX:
        x, pc = uleb(code, pc)
        return op, x, pc
    if k == _op.MEMARG or k == _op.IDX2:
        a, pc = uleb(code, pc)
        b, pc = uleb(code, pc)
        return op, (a, b), pc
    if k == _op.S32 or k == _op.S64:
        bits = 32 if k == _op.S32 else 64
        x, pc = sleb(code, pc, bits)
        if x >> (bits - 1):
            x -= 1 << bits
        return op, x, pc
    if k == _op.BLOCK:
        b = code[pc]
        if b == 0x40:
            return op, None, pc + 1
        if b >= 0x40 and not b & 0x80:  # a value type (one byte, 0x6F..0x7F)
            return op, b, pc + 1
        x, pc = sleb(code, pc, 33)
        return op, ("type", x), pc
    if k == _op.BR_TABLE:
        n, pc = uleb(code, pc)
        labels = []
        for _ in range(n + 1):
            x, pc = uleb(code, pc)
            labels.append(x)
        return op, labels, pc
    if k == _op.B4 or k == _op.B8:
        n = 4 if k == _op.B4 else 8
        return op, bytes(code[pc:pc + n]), pc + n
    if k == _op.ZERO or k == _op.REF:
        return op, code[pc], pc + 1
    if k == _op.TYPES:
        n, pc = uleb(code, pc)
        return op, bytes(code[pc:pc + n]), pc + n
    if k == _op.IDX_ZERO:
        seg, pc = uleb(code, pc)
        return op, seg, pc + 1
    return op, None, pc


def starts(code, start, end):
    """The offset of each instruction in the body code[start:end]."""
    out = []
    pc = start
    while pc < end:
        out.append(pc)
        pc = decode(code, pc)[2]
    return out


_VT = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x70: "funcref", 0x6F: "externref"}


def text(op, imm, callee=None):
    """One instruction as text; callee: the name of a call's target, shown as <name>."""
    import struct

    n = name(op)
    if imm is None:
        return n
    if op == 0x10:
        return "call %d <%s>" % (imm, callee) if callee else "call %d" % imm
    if op == 0x11:
        return "call_indirect (type %d) (table %d)" % imm
    if 0x28 <= op <= 0x3E:
        return "%s offset=%d align=%d" % (n, imm[1], 1 << imm[0]) if imm[1] else \
            "%s align=%d" % (n, 1 << imm[0])
    if op == 0x02 or op == 0x03 or op == 0x04:
        if isinstance(imm, tuple):
            return "%s (type %d)" % (n, imm[1])
        return "%s (result %s)" % (n, _VT.get(imm, "?"))
    if op == 0x0E:
        return "%s %s" % (n, " ".join([str(x) for x in imm]))
    if op == 0x43:
        return "%s %r" % (n, struct.unpack("<f", imm)[0])
    if op == 0x44:
        return "%s %r" % (n, struct.unpack("<d", imm)[0])
    if op == 0x3F or op == 0x40:
        return n
    if op == 0xD0:
        return "%s %s" % (n, _VT.get(imm, "?"))
    if op == 0x1C:
        return "%s (result %s)" % (n, " ".join([_VT.get(b, "?") for b in imm]))
    if isinstance(imm, tuple):
        return "%s %d %d" % (n, imm[0], imm[1])
    return "%s %d" % (n, imm)
