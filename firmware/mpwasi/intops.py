"""The integer operations of the numeric opcodes, on bit patterns (non-negative ints: i32 < 2**32,
i64 < 2**64), for what the interpreter and the fast tiers do not compute inline. Loaded by
numeric.fn at the first such operation a program executes; table() gives opcode -> function.
"""

from .errors import Trap

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


def s32(a):
    return a - 0x100000000 if a & 0x80000000 else a


def s64(a):
    return a - 0x10000000000000000 if a & 0x8000000000000000 else a


def clz(x, bits):
    if x == 0:
        return bits
    return bits - (len(bin(x)) - 2)


def ctz(x, bits):
    if x == 0:
        return bits
    n = 0
    while not x & 0xFFFF:
        x >>= 16
        n += 16
    while not x & 1:
        x >>= 1
        n += 1
    return n


def popcnt(x):
    return bin(x).count("1")


def i32_div_s(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    a = s32(a)
    b = s32(b)
    if a == -0x80000000 and b == -1:
        raise Trap("integer overflow")
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q & M32


def i32_div_u(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    return a // b


def i32_rem_s(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    a = s32(a)
    b = s32(b)
    r = abs(a) % abs(b)
    if a < 0:
        r = -r
    return r & M32


def i32_rem_u(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    return a % b


def i64_div_s(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    a = s64(a)
    b = s64(b)
    if a == -0x8000000000000000 and b == -1:
        raise Trap("integer overflow")
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q & M64


def i64_div_u(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    return a // b


def i64_rem_s(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    a = s64(a)
    b = s64(b)
    r = abs(a) % abs(b)
    if a < 0:
        r = -r
    return r & M64


def i64_rem_u(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    return a % b


def i32_rotl(a, b):
    k = b & 31
    return ((a << k) | (a >> (32 - k))) & M32


def i32_rotr(a, b):
    k = b & 31
    return ((a >> k) | (a << (32 - k))) & M32


def i64_rotl(a, b):
    k = b & 63
    return ((a << k) | (a >> (64 - k))) & M64


def i64_rotr(a, b):
    k = b & 63
    return ((a >> k) | (a << (64 - k))) & M64


def i32_shr_s(a, b):
    return (s32(a) >> (b & 31)) & M32


def i64_shr_s(a, b):
    return (s64(a) >> (b & 63)) & M64


def eqz(a):
    return 1 if a == 0 else 0


def eq(a, c):
    return 1 if a == c else 0


def ne(a, c):
    return 1 if a != c else 0


def lt_u(a, c):
    return 1 if a < c else 0


def gt_u(a, c):
    return 1 if a > c else 0


def le_u(a, c):
    return 1 if a <= c else 0


def ge_u(a, c):
    return 1 if a >= c else 0


def i32_lt_s(a, c):
    return 1 if s32(a) < s32(c) else 0


def i32_gt_s(a, c):
    return 1 if s32(a) > s32(c) else 0


def i32_le_s(a, c):
    return 1 if s32(a) <= s32(c) else 0


def i32_ge_s(a, c):
    return 1 if s32(a) >= s32(c) else 0


def i64_lt_s(a, c):
    return 1 if s64(a) < s64(c) else 0


def i64_gt_s(a, c):
    return 1 if s64(a) > s64(c) else 0


def i64_le_s(a, c):
    return 1 if s64(a) <= s64(c) else 0


def i64_ge_s(a, c):
    return 1 if s64(a) >= s64(c) else 0


def i32_clz(a):
    return clz(a, 32)


def i32_ctz(a):
    return ctz(a, 32)


def i64_clz(a):
    return clz(a, 64)


def i64_ctz(a):
    return ctz(a, 64)


def i32_add(a, c):
    return (a + c) & M32


def i32_sub(a, c):
    return (a - c) & M32


def i32_mul(a, c):
    return (a * c) & M32


def i64_add(a, c):
    return (a + c) & M64


def i64_sub(a, c):
    return (a - c) & M64


def i64_mul(a, c):
    return (a * c) & M64


def and_(a, c):
    return a & c


def or_(a, c):
    return a | c


def xor(a, c):
    return a ^ c


def i32_shl(a, c):
    return (a << (c & 31)) & M32


def i32_shr_u(a, c):
    return a >> (c & 31)


def i64_shl(a, c):
    return (a << (c & 63)) & M64


def i64_shr_u(a, c):
    return a >> (c & 63)


def wrap(a):
    return a & M32


def same(a):
    return a


def i64_extend_i32_s(a):
    a &= M32
    return a | 0xFFFFFFFF00000000 if a & 0x80000000 else a


def i32_extend8_s(a):
    a &= 0xFF
    return a | 0xFFFFFF00 if a & 0x80 else a


def i32_extend16_s(a):
    a &= 0xFFFF
    return a | 0xFFFF0000 if a & 0x8000 else a


def i64_extend8_s(a):
    a &= 0xFF
    return a | 0xFFFFFFFFFFFFFF00 if a & 0x80 else a


def i64_extend16_s(a):
    a &= 0xFFFF
    return a | 0xFFFFFFFFFFFF0000 if a & 0x8000 else a


def table():
    """{opcode: function} of every integer numeric opcode (comparisons give 0 or 1)."""
    return {
        0x45: eqz, 0x46: eq, 0x47: ne, 0x48: i32_lt_s, 0x49: lt_u, 0x4A: i32_gt_s, 0x4B: gt_u,
        0x4C: i32_le_s, 0x4D: le_u, 0x4E: i32_ge_s, 0x4F: ge_u,
        0x50: eqz, 0x51: eq, 0x52: ne, 0x53: i64_lt_s, 0x54: lt_u, 0x55: i64_gt_s, 0x56: gt_u,
        0x57: i64_le_s, 0x58: le_u, 0x59: i64_ge_s, 0x5A: ge_u,
        0x67: i32_clz, 0x68: i32_ctz, 0x69: popcnt,
        0x6A: i32_add, 0x6B: i32_sub, 0x6C: i32_mul, 0x6D: i32_div_s, 0x6E: i32_div_u,
        0x6F: i32_rem_s, 0x70: i32_rem_u, 0x71: and_, 0x72: or_, 0x73: xor, 0x74: i32_shl,
        0x75: i32_shr_s, 0x76: i32_shr_u, 0x77: i32_rotl, 0x78: i32_rotr,
        0x79: i64_clz, 0x7A: i64_ctz, 0x7B: popcnt,
        0x7C: i64_add, 0x7D: i64_sub, 0x7E: i64_mul, 0x7F: i64_div_s, 0x80: i64_div_u,
        0x81: i64_rem_s, 0x82: i64_rem_u, 0x83: and_, 0x84: or_, 0x85: xor, 0x86: i64_shl,
        0x87: i64_shr_s, 0x88: i64_shr_u, 0x89: i64_rotl, 0x8A: i64_rotr,
        0xA7: wrap, 0xAC: i64_extend_i32_s, 0xAD: same, 0xBC: same, 0xBD: same, 0xBE: same,
        0xBF: same, 0xC0: i32_extend8_s, 0xC1: i32_extend16_s, 0xC2: i64_extend8_s,
        0xC3: i64_extend16_s, 0xC4: i64_extend_i32_s,
    }
