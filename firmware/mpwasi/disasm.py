"""Instruction decoding for the debugger: lengths, immediates and names of wasm 2.0 instructions.

    op, imm, next_pc = decode(code, pc)    # op: the opcode byte, or 0xFC00 | n for the 0xFC prefix
    text(op, imm, func_name)               # "call 3 <fib>", "i32.const -1", "br_if 0"
    starts(code, start, end)               # the offsets of every instruction of a body

Loaded only when debugging: the interpreter never needs names.
"""

from .interp import uleb as _uleb, sleb

_I = "eqz eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u"
_FC = "eq ne lt gt le ge"
_IA = "clz ctz popcnt add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr"
_FA = "abs neg ceil floor trunc nearest sqrt add sub mul div min max copysign"
_CONV = ("i32.wrap_i64 i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u "
         "i64.extend_i32_s i64.extend_i32_u i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s "
         "i64.trunc_f64_u f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s f32.convert_i64_u "
         "f32.demote_f64 f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u "
         "f64.promote_f32 i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32 "
         "f64.reinterpret_i64 i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s "
         "i64.extend32_s")
_MEM = ("i32.load i64.load f32.load f64.load i32.load8_s i32.load8_u i32.load16_s i32.load16_u "
        "i64.load8_s i64.load8_u i64.load16_s i64.load16_u i64.load32_s i64.load32_u i32.store "
        "i64.store f32.store f64.store i32.store8 i32.store16 i64.store8 i64.store16 i64.store32")
_SAT = "i32.trunc_sat_f32_s i32.trunc_sat_f32_u i32.trunc_sat_f64_s i32.trunc_sat_f64_u " \
       "i64.trunc_sat_f32_s i64.trunc_sat_f32_u i64.trunc_sat_f64_s i64.trunc_sat_f64_u"
_BULK = "memory.init data.drop memory.copy memory.fill table.init elem.drop table.copy " \
        "table.grow table.size table.fill"
_CONTROL = {0x00: "unreachable", 0x01: "nop", 0x02: "block", 0x03: "loop", 0x04: "if",
            0x05: "else", 0x0B: "end", 0x0C: "br", 0x0D: "br_if", 0x0E: "br_table",
            0x0F: "return", 0x10: "call", 0x11: "call_indirect", 0x1A: "drop", 0x1B: "select",
            0x1C: "select", 0x20: "local.get", 0x21: "local.set", 0x22: "local.tee",
            0x23: "global.get", 0x24: "global.set", 0x25: "table.get", 0x26: "table.set",
            0x3F: "memory.size", 0x40: "memory.grow", 0x41: "i32.const", 0x42: "i64.const",
            0x43: "f32.const", 0x44: "f64.const", 0xD0: "ref.null", 0xD1: "ref.is_null",
            0xD2: "ref.func", 0xFF: "<breakpoint>"}

_names = None


def _table():
    """opcode -> name, built on first use."""
    global _names
    if _names is None:
        t = dict(_CONTROL)
        ops = []
        for ty, words in (("i32", _I), ("i64", _I), ("f32", _FC), ("f64", _FC),
                          ("i32", _IA), ("i64", _IA), ("f32", _FA), ("f64", _FA)):
            for w in words.split():
                ops.append(ty + "." + w)
        ops.extend(_CONV.split())
        for i in range(len(ops)):
            t[0x45 + i] = ops[i]
        mem = _MEM.split()
        for i in range(len(mem)):
            t[0x28 + i] = mem[i]
        fc = (_SAT + " " + _BULK).split()
        for i in range(len(fc)):
            t[0xFC00 | i] = fc[i]
        _names = t
    return _names


def name(op):
    n = _table().get(op)
    return n if n is not None else "<illegal 0x%x>" % op


def decode(code, pc):
    """The instruction at pc: (opcode, immediates, offset of the next instruction)."""
    op = code[pc]
    pc += 1
    if op in (0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x0C, 0x0D, 0x10, 0xD2):
        x, pc = _uleb(code, pc)
        return op, x, pc
    if 0x28 <= op <= 0x3E:
        align, pc = _uleb(code, pc)
        off, pc = _uleb(code, pc)
        return op, (align, off), pc
    if op == 0x41 or op == 0x42:
        bits = 32 if op == 0x41 else 64
        x, pc = sleb(code, pc, bits)
        if x >> (bits - 1):
            x -= 1 << bits
        return op, x, pc
    if op == 0x02 or op == 0x03 or op == 0x04:
        b = code[pc]
        if b == 0x40:
            return op, None, pc + 1
        if b >= 0x40 and not b & 0x80:  # a value type (one byte, 0x6F..0x7F)
            return op, b, pc + 1
        x, pc = sleb(code, pc, 33)
        return op, ("type", x), pc
    if op == 0x11:
        t, pc = _uleb(code, pc)
        tab, pc = _uleb(code, pc)
        return op, (t, tab), pc
    if op == 0x0E:
        n, pc = _uleb(code, pc)
        labels = []
        for _ in range(n + 1):
            x, pc = _uleb(code, pc)
            labels.append(x)
        return op, labels, pc
    if op == 0x43:
        return op, bytes(code[pc:pc + 4]), pc + 4
    if op == 0x44:
        return op, bytes(code[pc:pc + 8]), pc + 8
    if op == 0x3F or op == 0x40 or op == 0xD0:
        return op, code[pc], pc + 1
    if op == 0x1C:
        n, pc = _uleb(code, pc)
        return op, bytes(code[pc:pc + n]), pc + n
    if op == 0xFC:
        x, pc = _uleb(code, pc)
        op = 0xFC00 | x
        if x == 8:
            seg, pc = _uleb(code, pc)
            return op, seg, pc + 1
        if x == 10:
            return op, None, pc + 2
        if x == 11:
            return op, None, pc + 1
        if x == 12 or x == 14:
            a, pc = _uleb(code, pc)
            b, pc = _uleb(code, pc)
            return op, (a, b), pc
        if 9 <= x <= 17:
            a, pc = _uleb(code, pc)
            return op, a, pc
        return op, None, pc
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
