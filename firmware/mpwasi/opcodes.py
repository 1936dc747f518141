"""The wasm 2.0 opcodes as data: the shape of each one's immediates (their names: opnames.py).

    SHAPE[op]        the immediates of one-byte opcode op: one of the kinds below, a letter in
                     a 256-byte bytes (ILLEGAL: no such instruction in wasm 2.0)
    FC_SHAPE[sub]    the same for the 0xFC-prefixed instruction `sub` (past the end: illegal)
    skip(code, pc, op)   pc after op's immediates in validated code (pc: just after the opcode)

Everything that walks instructions uses these: the decoder's checked skip (binary.skip_instr),
the validator, the fusion pass, the fast tier's generator and the disassembler. The interpreter's
dispatch has the same knowledge inline, for speed. The names live apart (opnames.py, about 4 KB
of a board's heap) because only the debugger needs them.
"""

from . import leb

# immediate kinds, one letter each (the values of SHAPE's bytes)
NONE = 46      # "."  nothing
BLOCK = 66     # "B"  block type: 0x40, a value type, or a type index (s33)
IDX = 105      # "i"  one u32 (an index, a depth)
BR_TABLE = 84  # "T"  a vector of u32 depths, then the default depth
IDX2 = 50      # "2"  two u32 (call_indirect: type, table; table.init, table.copy)
MEMARG = 109   # "m"  alignment u32, offset u32
ZERO = 122     # "z"  one zero byte (memory.size/grow, memory.fill)
S32 = 115      # "s"  i32.const
S64 = 83       # "S"  i64.const
B4 = 52        # "4"  f32.const: 4 bytes
B8 = 56        # "8"  f64.const: 8 bytes
TYPES = 116    # "t"  select t*: a vector of value types
REF = 114      # "r"  ref.null: a reference type byte
PREFIX = 80    # "P"  0xFC: a u32 sub-opcode, then FC_SHAPE[sub]
IDX_ZERO = 73  # "I"  memory.init: a u32 and a zero byte
ZERO2 = 90     # "Z"  memory.copy: two zero bytes
ILLEGAL = 120  # "x"  not an instruction of wasm 2.0

SHAPE = (
    b"..BBB.xxxxx.iiT."  # 0x00 unreachable nop block loop if else ... end br br_if br_table return
    b"i2xxxxxxxx..txxx"  # 0x10 call call_indirect ... drop select select_t
    b"iiiiiiixmmmmmmmm"  # 0x20 local/global/table get/set, loads from 0x28
    b"mmmmmmmmmmmmmmmz"  # 0x30 loads, stores, memory.size
    b"zsS48..........."  # 0x40 memory.grow, i32/i64/f32/f64.const, numeric from 0x45
    b"................"  # 0x50
    b"................"  # 0x60
    b"................"  # 0x70
    b"................"  # 0x80
    b"................"  # 0x90
    b"................"  # 0xA0
    b"................"  # 0xB0
    b".....xxxxxxxxxxx"  # 0xC0 sign extensions to 0xC4
    b"r.ixxxxxxxxxxxxx"  # 0xD0 ref.null ref.is_null ref.func
    b"xxxxxxxxxxxxxxxx"  # 0xE0
    b"xxxxxxxxxxxxPxxx"  # 0xF0 the 0xFC prefix
)
# 0-7 the saturating truncations, 8 memory.init, 9 data.drop, 10 memory.copy, 11 memory.fill,
# 12 table.init, 13 elem.drop, 14 table.copy, 15 table.grow, 16 table.size, 17 table.fill
FC_SHAPE = b"........IiZz2i2iii"


def skip(code, pc, op):
    """pc after the immediates of op (pc: just after the opcode) in a validated body."""
    k = SHAPE[op]
    if k == PREFIX:
        sub, pc = leb.uleb(code, pc)
        k = FC_SHAPE[sub] if sub < len(FC_SHAPE) else NONE
    if k == NONE or k == ILLEGAL:
        return pc
    if k == IDX or k == S32 or k == S64 or k == BLOCK:
        return leb.skip(code, pc)
    if k == MEMARG or k == IDX2:
        return leb.skip(code, leb.skip(code, pc))
    if k == BR_TABLE:
        n, pc = leb.uleb(code, pc)
        for _ in range(n + 1):
            pc = leb.skip(code, pc)
        return pc
    if k == TYPES:
        n, pc = leb.uleb(code, pc)
        return pc + n
    if k == IDX_ZERO:
        return leb.skip(code, pc) + 1
    if k == B4 or k == B8:
        return pc + (4 if k == B4 else 8)
    return pc + (2 if k == ZERO2 else 1)  # ZERO, REF
