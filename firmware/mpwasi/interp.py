"""The compact interpreter: executes function bodies in place, over the module bytes.

One Python loop runs a whole call tree: a wasm call pushes four entries on a flat frame list and
never becomes a Python call, so wasm recursion depth is bounded by the heap and by
Limits.max_call_depth, not by the C stack. Locals live at the bottom of each frame's part of the
single operand stack (a Python list of bit-pattern ints and references). Branches read their
target, stack adjustment and next side-table position from the side table built by the validator.
Hot functions run from a fused copy of the code (fuse.py): the forms at 0xC5-0xCF and 0xD3-0xFF
are checked first, grouped by frequency (_FK); the wasm opcodes follow.
"""

from struct import pack_into, unpack_from

from .errors import Trap, Exit, WasmError, RecursionError
from . import numeric
from . import memops
from .leb import uleb, sleb

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


def _small_max():
    # the largest small int of the host: on a 32-bit MicroPython small ints are 31-bit, and an
    # int past 2^30 is a heap object (each operation on it allocates)
    try:
        import sys
        return 0x7FFFFFFF if sys.maxsize > 0x7FFFFFFF else 0x3FFFFFFF
    except (ImportError, AttributeError):
        return 0x3FFFFFFF


# i32 values on the operand stack (and in the constant pool) are signed, in [-2^31, 2^31): a
# small negative value stays a small int on a 32-bit board. An i32 result is wrapped only when it
# leaves [LO, HI] (the host's small ints, at most the i32 range; the wrap is exact either way).
# Everything else is a bit pattern (i64 and floats: unsigned), and so is every value the
# interpreter hands out or takes in: results, arguments, host calls, globals.
HI = _small_max()
LO = -HI - 1


def s32(v):
    """The signed i32 of the bit pattern v."""
    return v - 0x100000000 if v > 0x7FFFFFFF else v


def u32(v):
    """The bit pattern of the signed i32 v."""
    return v + 0x100000000 if v < 0 else v


def w32(v):
    """Any int wrapped to a signed i32."""
    return ((v + 0x80000000) & M32) - 0x80000000
UNLIMITED = 1 << 28
# fuel is handed out in slices of at most SLICE; when a slice runs out the debugger (if any)
# gets a "tick" at a clean instruction boundary, which is how Ctrl-C reaches its prompt
SLICE = UNLIMITED

# The debugger installs itself here. It is called as debug_hook(state, event, arg) with
# state = (function, pc, side-table offset, frame base, operand stack, frame list) and event:
#   "break": an 0xFF byte the debugger patched into its copy of the code is at pc (the hook must
#            put the original byte back before returning; execution resumes at pc)
#   "tick":  a fuel slice (SLICE) ran out at a `loop` instruction (pc is the loop opcode)
#   "call":  a fuel slice ran out at a call to wasm function arg (pc is after the call)
#   "trap":  the Trap arg is about to propagate (pc is the trapping instruction)
# Without a debugger none of these paths costs anything.
debug_hook = None
# The fast tier (fastrt.py, tier "auto") installs itself here: called as tier_hook(function) when a
# fuel slice runs out, with the function running the loop or being called (a sample of what is hot).
tier_hook = None


def memarg(code, pc):
    while code[pc] & 0x80:
        pc += 1
    return uleb(code, pc + 1)



def _kinds():
    # the group of each opcode above 0xC4 in the fused code (fuse.py); 8: the rare ones
    k = [8] * 256
    for op in range(0xD8, 0xEF):
        k[op] = 0
    for op in (0xC7, 0xC8, 0xC9, 0xCA, 0xCB, 0xCD):
        k[op] = 0
    for op in (0xF0, 0xF2, 0xF5, 0xCE, 0xCF):
        k[op] = 1
    k[0xF3] = k[0xF4] = 2
    k[0xD6] = 3
    k[0xD4] = k[0xD5] = k[0xCC] = 4
    for op in range(0xF6, 0xFC):
        k[op] = 5
    k[0xF1] = 6
    k[0xEF] = 7
    return k


_FK = _kinds()


def _store(op, data, ea, v):
    # the narrow stores 0x3A-0x3E
    if op == 0x3A or op == 0x3C:
        if ea >= len(data):
            raise _oob()
        data[ea] = v & 0xFF
    elif op == 0x3B or op == 0x3D:
        if ea + 2 > len(data):
            raise _oob()
        pack_into("<H", data, ea, v & 0xFFFF)
    else:
        if ea + 4 > len(data):
            raise _oob()
        pack_into("<I", data, ea, v & M32)


def _oob():
    return Trap("out of bounds memory access")


# loads 0x28-0x35: (bytes, sign bit of the loaded value or 0, mask of the result)
# (i32 results signed: mask 0)
_LOADS = ((4, 0x80000000, 0), (8, 0, 0), (4, 0, 0), (8, 0, 0), (1, 0x80, 0), (1, 0, 0),
          (2, 0x8000, 0), (2, 0, 0), (1, 0x80, M64), (1, 0, 0), (2, 0x8000, M64), (2, 0, 0),
          (4, 0x80000000, M64), (4, 0, 0))


def _load(op, data, ea):
    # ea >= 0 (the caller checks the address)
    n, sign, mask = _LOADS[op - 0x28]
    if ea + n > len(data):
        raise _oob()
    v = int.from_bytes(data[ea:ea + n], "little")
    if v & sign:
        v -= sign << 1
        if mask:
            v &= mask
    return v


def _i32_tables():
    # the interpreter's binary and unary operation tables, filled per opcode (_fill) at its first
    # execution; emptied (in place: running loops hold them) when the float operations change
    # (numeric.GEN: force_softfloat)
    t = _TABLES[0]
    for i in range(256):
        t[i] = None
    _TABLES[1] = numeric.GEN


# unary opcodes whose i32 operand (1) and i32 result (2) numeric's functions take and give as
# bit patterns (the interpreter's i32 values are signed)
_U32_IO = {0x67: 3, 0x68: 3, 0x69: 3, 0xC0: 3, 0xC1: 3, 0xB2: 1, 0xB3: 1, 0xB7: 1, 0xB8: 1,
           0xBE: 1, 0xA8: 2, 0xA9: 2, 0xAA: 2, 0xAB: 2, 0xBC: 2, 0xE0: 2, 0xE1: 2, 0xE2: 2,
           0xE3: 2}


def _fill(op):
    """The interpreter's function of numeric opcode op (signed i32 operands and results; the rest
    as numeric gives them), entered in its table (_TABLES[0]), and returned."""
    if _TABLES[1] != numeric.GEN:
        _i32_tables()
    g = _OWN.get(op)  # (the interpreter's own: numeric's code is not loaded for them)
    if g is None:
        f = numeric.fn(op)
        io = _U32_IO.get(op, 0)
        if 0x46 <= op <= 0x4F:  # i32 comparisons: 0 or 1
            g = _cmp32(f)
        elif 0x6A <= op <= 0x78:
            g = _bin32(f)
        elif io == 3:
            g = _un32(f)
        elif io == 1:
            g = _un32_in(f)
        elif io == 2:
            g = _un32_out(f)
        else:
            g = f
    _TABLES[0][op] = g
    return g


def _cmp32(f):
    return lambda x, y: f(u32(x), u32(y))


def _bin32(f):
    return lambda x, y: s32(f(u32(x), u32(y)))


def _un32(f):
    return lambda v: s32(f(u32(v)))


def _un32_in(f):
    return lambda v: f(u32(v))


def _un32_out(f):
    return lambda v: s32(f(v))


def _shr_s(x, y):
    return x >> (y & 31)


def _eqz(v):
    return 0 if v else 1


def _wrap(v):  # i32.wrap_i64
    return v if v <= HI else s32(v & M32)


def _extend_s(v):  # i64.extend_i32_s
    return v + 0x10000000000000000 if v < 0 else v


def _div_s(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    if a == -0x80000000 and b == -1:
        raise Trap("integer overflow")
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def _rem_s(a, b):
    if b == 0:
        raise Trap("integer divide by zero")
    r = abs(a) % abs(b)
    return -r if a < 0 else r


_OWN = {0x6D: _div_s, 0x6F: _rem_s, 0x75: _shr_s, 0x45: _eqz, 0xA7: _wrap, 0xAC: _extend_s,
        0xAD: u32}


_TABLES = [[None] * 256, numeric.GEN]
# 1 at each numeric opcode with two operands (numeric.is_binary)
_ARITY = bytes([1 if numeric.is_binary(op) else 0 for op in range(256)])


class Budget:
    """Fuel and call depth of one outermost call."""

    def __init__(self, limits):
        self.fuel = limits.fuel if limits is not None else None
        self.max_depth = limits.max_call_depth if limits is not None else 20000
        # wasm call depth of the first function (a call tree entered from compiled code), and
        # whether compiled functions are bypassed (the fuel limit is counted here only)
        self.base = 0
        self.nofast = self.fuel is not None


def host_call(f, s, budget=None, nfr=0):
    h = f.host
    n = f.nparams
    if n:
        args = s[len(s) - n:]
        del s[len(s) - n:]
        ps = f.ftype[0]
        for i in range(n):  # i32 arguments as bit patterns
            if ps[i] == 0x7F and args[i] < 0:
                args[i] += 0x100000000
    else:
        args = []
    try:
        if h.fast:  # a compiled function (fastrt.Fast)
            res = h.call_fast(args, budget, nfr)
        else:
            res = h.call_bits(args)
    except (WasmError, Exit, KeyboardInterrupt):
        raise
    except MemoryError:
        raise Trap("out of memory in host function")
    except Exception as e:
        raise Trap("host function %s failed: %s: %s" % (f.name or f.idx, type(e).__name__, e))
    if res:
        rs = f.ftype[1]
        for i in range(len(rs)):
            if rs[i] == 0x7F:
                v = res[i]
                if v > 0x7FFFFFFF:
                    v -= 0x100000000
                s.append(v)
            else:
                s.append(res[i])


def execute(func, args, limits=None, budget=None):
    """Run wasm Function `func` with bit-pattern args; return the list of result bits."""
    s = list(args)
    ps = func.ftype[0]
    for i in range(len(s)):
        if ps[i] == 0x7F and s[i] > 0x7FFFFFFF:
            s[i] -= 0x100000000
    fr = []
    if budget is None:
        budget = Budget(limits)
    _running.append(fr)
    try:
        r = _run(func, s, fr, budget)
        last_stop[0] = None
        rs = func.ftype[1]
        for i in range(len(rs)):
            if rs[i] == 0x7F and r[i] < 0:
                r[i] += 0x100000000
        return r
    except Trap as t:
        fn, pc = _take_last()
        if not t.frames:
            t.frames = backtrace(fr, fn, pc)
        elif getattr(t, "fast", False):  # compiled frames so far: add the interpreted ones
            t.frames.extend(backtrace(fr, fn, pc))
        raise
    except RecursionError:
        fn, pc = _take_last()
        raise Trap("call stack exhausted", backtrace(fr, fn, pc))
    except MemoryError as e:
        fn, pc = _take_last()
        s = None
        e = str(e)  # (MicroPython: "memory allocation failed, allocating N bytes")
        reason = "call stack exhausted" if len(fr) > 4000 else (
            "out of memory (%s)" % e if e else "out of memory")
        raise Trap(reason, backtrace(fr, fn, pc))
    except BaseException:
        _take_last()
        raise
    finally:
        _running.pop()


def _take_last():
    # where the interpreter stopped; cleared so that it does not keep an instance alive
    fn = last_stop[0]
    pc = last_stop[1]
    last_stop[0] = None
    return fn, pc


last_stop = [None, 0]


def backtrace(fr, fn, pc):
    out = []
    if fn is not None:
        out.append((fn.idx, fn.name, pc + fn.base))
    i = len(fr) - 4
    while i >= 0 and len(out) < 64:
        f = fr[i]
        out.append((f.idx, f.name, fr[i + 1] + f.base))
        i -= 4
    return out


def _run(fn, s, fr, budget):
    pop = s.pop
    push = s.append
    fp = 0
    if fn.local_init:
        s.extend(fn.local_init)
    code = fn.code
    pc = fn.start
    fend = fn.end
    side = fn.side
    stp = 0
    inst = fn.inst
    mem = inst.memory
    data = mem.data if mem is not None else None
    globs = inst.globals
    funcs = inst.funcs
    maxfr = budget.max_depth * 4
    nofast = budget.nofast
    fuel_left = budget.fuel
    if fuel_left is None:
        fuel = SLICE
    else:
        fuel = fuel_left if fuel_left < SLICE else SLICE
        fuel_left -= fuel
    K = inst.consts
    FK = _FK
    if _TABLES[1] != numeric.GEN:
        _i32_tables()
    IB = _TABLES[0]
    hi = HI
    lo = LO
    SL = _SL
    nsl = len(SL)
    # f64 arithmetic inline through one 8-byte buffer seen as an int and a float (where the
    # host has doubles and memoryview.cast: CPython); else through the numeric tables
    FQ = FD = None
    if not numeric.SOFT and numeric.FVIEWS:
        FQ, FD = numeric.FVIEWS
    op = 0
    try:
        while True:
            op = code[pc]
            pc += 1
            if op > 0xC4:  # the fused forms (fuse.py), the 0xFC prefix, references, a breakpoint
                k = FK[op]  # the group of the form, in the order of their frequency
                if k == 0:  # a binary op on locals, constants, the stack, memory
                    bop = code[pc]
                    if op > 0xD7:
                        if op < 0xEC:
                            q = op - 0xD8
                            if q < 8:
                                a = s[fp + code[pc + 1]]
                                if q < 4:
                                    b = s[fp + code[pc + 2]]
                                else:
                                    b = K[code[pc + 2]]
                                pc += code[pc + 3]
                            else:
                                a = pop()
                                if q < 12:
                                    b = K[code[pc + 1]]
                                    pc += 2
                                elif q < 16:
                                    b = s[fp + code[pc + 1]]
                                    pc += 2
                                else:
                                    b = K[code[pc + 1]]
                                    pc += code[pc + 2]
                            q &= 3
                        else:
                            b = pop()
                            a = pop()
                            q = op - 0xEB
                            if q == 2:
                                q = 3
                            elif q == 3:
                                q = 2
                    elif op < 0xC9:  # BOP; a store
                        b = pop()
                        a = pop()
                        q = 4
                    else:  # a load as the second operand
                        lop = code[pc + 1]
                        if op == 0xCB:
                            a = s[fp + code[pc + 2]]
                            ea = a + K[code[pc + 3]]
                            pc += code[pc + 4]
                        elif op == 0xCD:  # (then a store: the sink reads it from pc)
                            a = s[fp + code[pc + 2]]
                            ea = a + K[code[pc + 3]]
                            pc += 3
                        else:
                            a = pop()
                            ea = a + K[code[pc + 2]]
                            if op == 0xC9:
                                pc += 3
                            else:
                                pc += code[pc + 3]
                        if a < 0:  # an address >= 2^31: past any memory
                            raise _oob()
                        if lop == 0x28:
                            if ea + 4 > len(data):
                                raise _oob()
                            b = unpack_from("<i", data, ea)[0]
                        elif lop == 0x2B or lop == 0x29:
                            if ea + 8 > len(data):
                                raise _oob()
                            b = unpack_from("<Q", data, ea)[0]
                        elif lop == 0x2A:
                            if ea + 4 > len(data):
                                raise _oob()
                            b = unpack_from("<I", data, ea)[0]
                        elif lop == 0x2D:
                            if ea >= len(data):
                                raise _oob()
                            b = data[ea]
                        else:
                            b = _load(lop, data, ea)
                        a = pop()
                        q = 4 if op == 0xCD else 0
                    if bop == 0x6A:
                        r = a + b
                        if r > hi or r < lo:
                            r = ((r + 0x80000000) & M32) - 0x80000000
                    elif bop < 0x50:  # (unsigned: operands of different signs swap the order)
                        if bop == 0x49:
                            if (a ^ b) < 0:
                                r = 1 if a > b else 0
                            else:
                                r = 1 if a < b else 0
                        elif bop == 0x48:
                            r = 1 if a < b else 0
                        elif bop == 0x47:
                            r = 1 if a != b else 0
                        elif bop == 0x46:
                            r = 1 if a == b else 0
                        elif bop == 0x4B:
                            if (a ^ b) < 0:
                                r = 1 if a < b else 0
                            else:
                                r = 1 if a > b else 0
                        elif bop == 0x4A:
                            r = 1 if a > b else 0
                        elif bop == 0x4D:
                            if (a ^ b) < 0:
                                r = 1 if a >= b else 0
                            else:
                                r = 1 if a <= b else 0
                        elif bop == 0x4C:
                            r = 1 if a <= b else 0
                        elif bop == 0x4F:
                            if (a ^ b) < 0:
                                r = 1 if a <= b else 0
                            else:
                                r = 1 if a >= b else 0
                        else:
                            r = 1 if a >= b else 0
                    elif bop < 0x6A or bop > 0x78:
                        if bop > 0x9F and bop < 0xA3 and FQ is not None:  # f64 add sub mul
                            FQ[0] = a
                            x = FD[0]
                            FQ[0] = b
                            if bop == 0xA2:
                                x = x * FD[0]
                            elif bop == 0xA0:
                                x = x + FD[0]
                            else:
                                x = x - FD[0]
                            if x == x:
                                FD[0] = x
                                r = FQ[0]
                            else:
                                r = (IB[bop] or _fill(bop))(a, b)  # a NaN: its payload by the wasm rules
                        elif bop > 0x60 and bop < 0x67 and FQ is not None:  # f64 comparisons
                            FQ[0] = a
                            x = FD[0]
                            FQ[0] = b
                            y = FD[0]
                            if bop == 0x63:
                                r = 1 if x < y else 0
                            elif bop == 0x64:
                                r = 1 if x > y else 0
                            elif bop == 0x65:
                                r = 1 if x <= y else 0
                            elif bop == 0x66:
                                r = 1 if x >= y else 0
                            elif bop == 0x61:
                                r = 1 if x == y else 0
                            else:
                                r = 1 if x != y else 0
                        else:
                            r = (IB[bop] or _fill(bop))(a, b)
                    elif bop == 0x71:
                        r = a & b
                    elif bop == 0x74:
                        r = a << (b & 31)
                        if r > hi or r < lo:
                            r = ((r + 0x80000000) & M32) - 0x80000000
                    elif bop == 0x6B:
                        r = a - b
                        if r > hi or r < lo:
                            r = ((r + 0x80000000) & M32) - 0x80000000
                    elif bop == 0x76:
                        if a >= 0:
                            r = a >> (b & 31)
                        elif b & 31:
                            r = (a + 0x100000000) >> (b & 31)
                        else:
                            r = a
                    elif bop == 0x6C:
                        r = a * b
                        if r > hi or r < lo:
                            r = ((r + 0x80000000) & M32) - 0x80000000
                    elif bop == 0x72:
                        r = a | b
                    elif bop == 0x73:
                        r = a ^ b
                    else:
                        r = (IB[bop] or _fill(bop))(a, b)
                    if q == 0:
                        push(r)
                    elif q == 1:  # local.set
                        s[fp + code[pc + 1]] = r
                        pc += 2
                    elif q == 2:  # br_if
                        if r:
                            keep = side[stp + 2]
                            drop = side[stp + 3]
                            if drop:
                                n = len(s)
                                del s[n - keep - drop:n - keep]
                            pc = side[stp]
                            stp = side[stp + 1]
                        else:
                            pc += 2
                            stp += 4
                    elif q == 3:  # local.tee
                        s[fp + code[pc + 1]] = r
                        push(r)
                        pc += 2
                    else:  # a store
                        sop = code[pc + 1]
                        a = pop()
                        if a < 0:
                            raise _oob()
                        ea = a + K[code[pc + 2]]
                        if op == 0xC7:
                            pc += 3
                        else:
                            pc += code[pc + 3]
                        if sop == 0x36:
                            if ea + 4 > len(data):
                                raise _oob()
                            pack_into("<i", data, ea, r)
                        elif sop == 0x39 or sop == 0x37:
                            if ea + 8 > len(data):
                                raise _oob()
                            pack_into("<Q", data, ea, r)
                        elif sop == 0x38:
                            if ea + 4 > len(data):
                                raise _oob()
                            pack_into("<I", data, ea, r)
                        else:
                            _store(sop, data, ea, r)
                elif k == 1:  # loads
                    lop = code[pc]
                    if op == 0xF2:
                        a = pop()
                        ea = a + K[code[pc + 1]]
                        pc += 2
                    elif op == 0xF0:
                        a = s[fp + code[pc + 1]]
                        ea = a + K[code[pc + 2]]
                        pc += code[pc + 3]
                    elif op == 0xF5:
                        a = s[fp + code[pc + 1]] + K[code[pc + 2]]
                        if a < 0:  # (the i32.add wraps: an address >= 2^31, or a small one)
                            a += 0x100000000
                        ea = a + K[code[pc + 3]]
                        pc += code[pc + 4]
                    else:  # 0xCE / 0xCF: local.get x first
                        push(s[fp + code[pc + 1]])
                        if op == 0xCE:
                            a = s[fp + code[pc + 2]]
                            ea = a + K[code[pc + 3]]
                            pc += code[pc + 4]
                        else:
                            a = s[fp + code[pc + 2]] + K[code[pc + 3]]
                            if a < 0:
                                a += 0x100000000
                            ea = a + K[code[pc + 4]]
                            pc += code[pc + 5]
                    if a < 0:  # an address >= 2^31: past any memory
                        raise _oob()
                    if lop == 0x28:
                        if ea + 4 > len(data):
                            raise _oob()
                        push(unpack_from("<i", data, ea)[0])
                    elif lop == 0x2A:
                        if ea + 4 > len(data):
                            raise _oob()
                        push(unpack_from("<I", data, ea)[0])
                    elif lop == 0x2B or lop == 0x29:
                        if ea + 8 > len(data):
                            raise _oob()
                        push(unpack_from("<Q", data, ea)[0])
                    elif lop == 0x2D:
                        if ea >= len(data):
                            raise _oob()
                        push(data[ea])
                    else:
                        push(_load(lop, data, ea))
                elif k == 2:  # stores
                    sop = code[pc]
                    if op == 0xF3:
                        v = pop()
                        a = pop()
                        ea = a + K[code[pc + 1]]
                        pc += 2
                    else:
                        v = K[code[pc + 1]]
                        a = pop()
                        ea = a + K[code[pc + 2]]
                        pc += 3
                    if a < 0:
                        raise _oob()
                    if sop == 0x36:
                        if ea + 4 > len(data):
                            raise _oob()
                        pack_into("<i", data, ea, v)
                    elif sop == 0x38:
                        if ea + 4 > len(data):
                            raise _oob()
                        pack_into("<I", data, ea, v)
                    elif sop == 0x37 or sop == 0x39:
                        if ea + 8 > len(data):
                            raise _oob()
                        pack_into("<Q", data, ea, v)
                    elif sop == 0x3A or sop == 0x3C:
                        if ea >= len(data):
                            raise _oob()
                        data[ea] = v & 0xFF
                    elif sop == 0x3B or sop == 0x3D:
                        if ea + 2 > len(data):
                            raise _oob()
                        pack_into("<H", data, ea, v & 0xFFFF)
                    else:  # 0x3E i64.store32
                        if ea + 4 > len(data):
                            raise _oob()
                        pack_into("<I", data, ea, v & M32)
                elif k == 3:  # call (the wasm call's path below, inlined again: a helper
                    # function would cost a Python call on the hottest path; keep the two in step)
                    f = funcs[code[pc] | code[pc + 1] << 8]
                    pc += code[pc + 2]
                    if f.host is None or (nofast and f.host.fast):
                        if len(fr) >= maxfr:
                            raise Trap("call stack exhausted")
                        fuel -= 1
                        if fuel <= 0:
                            fuel, fuel_left = _refuel(fuel_left)
                            if tier_hook is not None:
                                tier_hook(f)
                        if not f.fused:  # the first calls run the module's own bytes
                            f.heat -= 1
                            if f.heat <= 0 and _fuse(f, fr) and f is fn:
                                pc -= fn.base  # (f runs here: in its own buffer now)
                                code = fn.code
                                side = fn.side
                                fend = fn.end
                        e = f.entry
                        if e is None:
                            e = _entry(f)
                        fr.append(fn)
                        fr.append(pc)
                        fr.append(stp)
                        fr.append(fp)
                        code, pc, side, fend, n, li = e
                        fp = len(s) - n
                        if li:
                            s.extend(li)
                        fn = f
                        stp = 0
                        if f.inst is not inst:
                            inst = f.inst
                            mem = inst.memory
                            data = mem.data if mem is not None else None
                            globs = inst.globals
                            funcs = inst.funcs
                            K = inst.consts
                    else:
                        last_stop[0] = fn
                        last_stop[1] = pc
                        host_call(f, s, budget, len(fr))
                        if mem is not None:
                            data = mem.data
                elif k == 4:  # local.get x; local.get y / local.set z, CONST k; local.set z
                    if op == 0xD4:
                        push(s[fp + code[pc]])
                        push(s[fp + code[pc + 1]])
                    elif op == 0xD5:
                        s[fp + code[pc + 1]] = s[fp + code[pc]]
                    else:
                        s[fp + code[pc + 1]] = K[code[pc]]
                    pc += code[pc + 2]
                elif k == 5:  # single instructions with their immediate as a byte
                    if op == 0xF8:  # local.set
                        s[fp + code[pc]] = pop()
                        pc += 1
                    elif op == 0xF6 or op == 0xF7:  # br_if; i32.eqz + br_if
                        if op == 0xF6:
                            c = pop()
                        else:
                            c = not pop()
                        if c:
                            keep = side[stp + 2]
                            drop = side[stp + 3]
                            if drop:
                                n = len(s)
                                del s[n - keep - drop:n - keep]
                            pc = side[stp]
                            stp = side[stp + 1]
                        else:
                            pc += op - 0xF5
                            stp += 4
                    elif op == 0xFA:  # a constant
                        push(K[code[pc]])
                        pc += 1
                    elif op == 0xF9:  # local.tee
                        s[fp + code[pc]] = s[-1]
                        pc += 1
                    else:  # 0xFB br
                        keep = side[stp + 2]
                        drop = side[stp + 3]
                        if drop:
                            n = len(s)
                            del s[n - keep - drop:n - keep]
                        pc = side[stp]
                        stp = side[stp + 1]
                elif k == 6:  # loop: fuel is counted on every iteration
                    fuel -= 1
                    if fuel <= 0:
                        fuel, fuel_left = _refuel(fuel_left)
                        if tier_hook is not None:
                            tier_hook(fn)
                    pc += 1
                elif k == 7:  # local.get x; the function's end
                    v = s[fp + code[pc]]
                    if fn.nres != 1:
                        push(v)
                        pc += 1
                        continue
                    if fp < nsl:
                        del s[SL[fp]]
                    else:
                        if fp < SLICES:
                            nsl = _slices(fp)
                        del s[fp:]
                    if not fr:
                        push(v)
                        return s
                    fp = fr.pop()
                    stp = fr.pop()
                    pc = fr.pop()
                    fn = fr.pop()
                    code = fn.code
                    side = fn.side
                    fend = fn.end
                    if code[pc] == 0xF8:  # the caller's local.set of the result
                        s[fp + code[pc + 1]] = v
                        pc += 2
                    else:
                        push(v)
                    if fn.inst is not inst:
                        inst = fn.inst
                        mem = inst.memory
                        data = mem.data if mem is not None else None
                        globs = inst.globals
                        funcs = inst.funcs
                        K = inst.consts
                elif op == 0xD3:  # skip
                    pc += code[pc]
                elif op == 0xD7:
                    pass
                elif op == 0xC5:  # CONST k; a load
                    lop = code[pc]
                    a = K[code[pc + 1]]
                    if a < 0:
                        raise _oob()
                    ea = a + K[code[pc + 2]]
                    pc += code[pc + 3]
                    if lop == 0x2B or lop == 0x29:
                        if ea + 8 > len(data):
                            raise _oob()
                        push(unpack_from("<Q", data, ea)[0])
                    else:
                        push(_load(lop, data, ea))
                elif op == 0xC6:  # a long constant
                    push(K[code[pc]])
                    pc += code[pc + 1]
                elif op == 0xD0:  # ref.null
                    pc += 1
                    push(None)
                elif op == 0xD1:  # ref.is_null
                    s[-1] = 1 if s[-1] is None else 0
                elif op == 0xD2:  # ref.func
                    x, pc = uleb(code, pc)
                    push(funcs[x])
                elif op == 0xFC:
                    x = code[pc]
                    pc += 1
                    if x & 0x80:
                        x, pc = uleb(code, pc - 1)
                    if x < 8:
                        s[-1] = (IB[0xE0 + x] or _fill(0xE0 + x))(s[-1])
                    else:
                        pc = _bulk(x, code, pc, s, inst)
                        if mem is not None:
                            data = mem.data
                elif op == 0xFF and debug_hook is not None:
                    # a breakpoint the debugger patched into its copy of the code
                    pc -= 1
                    debug_hook((fn, pc, stp, fp, s, fr), "break", None)
                    # the hook puts the original byte back (and re-arms it later)
                else:
                    raise Trap("illegal opcode %d" % op)
            elif op == 0x20:  # local.get
                x = code[pc]
                pc += 1
                if x & 0x80:
                    x, pc = uleb(code, pc - 1)
                # fused forms of the most frequent pairs (checked on the actual bytes, so a
                # debugger's breakpoint byte in the middle turns the fusion off)
                y = code[pc]
                if y == 0x41:  # local.get x; i32.const c; i32.add
                    c = code[pc + 1]
                    if c < 0x80 and code[pc + 2] == 0x6A:
                        r = s[fp + x] + (c if c < 0x40 else c - 0x80)
                        if r > hi or r < lo:
                            r = ((r + 0x80000000) & M32) - 0x80000000
                        push(r)
                        pc += 3
                        continue
                elif y == 0x20:  # local.get x; local.get y
                    c = code[pc + 1]
                    if c < 0x80:
                        push(s[fp + x])
                        push(s[fp + c])
                        pc += 2
                        continue
                push(s[fp + x])
            elif op < 0x45:
                if op >= 0x21:
                    if op == 0x41:  # i32.const
                        x = code[pc]
                        if x < 0x80:
                            if code[pc + 1] == 0x6A:  # i32.const c; i32.add
                                pc += 2
                                r = s[-1] + (x if x < 0x40 else x - 0x80)
                                if r > hi or r < lo:
                                    r = ((r + 0x80000000) & M32) - 0x80000000
                                s[-1] = r
                            else:
                                pc += 1
                                push(x if x < 0x40 else x - 0x80)
                        else:
                            y = code[pc + 1]
                            if y < 0x80:
                                pc += 2
                                x = (x & 0x7F) | (y << 7)
                                push(x if x < 0x2000 else x - 0x4000)
                            else:
                                x, pc = sleb(code, pc, 32)
                                push(x - 0x100000000 if x > 0x7FFFFFFF else x)
                    elif op == 0x21:  # local.set
                        x = code[pc]
                        pc += 1
                        if x & 0x80:
                            x, pc = uleb(code, pc - 1)
                        s[fp + x] = pop()
                    elif op == 0x22:  # local.tee
                        x = code[pc]
                        pc += 1
                        if x & 0x80:
                            x, pc = uleb(code, pc - 1)
                        s[fp + x] = s[-1]
                    elif op >= 0x28 and op <= 0x35:  # loads
                        if code[pc] < 0x80 and code[pc + 1] < 0x80:
                            off = code[pc + 1]
                            pc += 2
                        else:
                            off, pc = memarg(code, pc)
                        a = s[-1]
                        if a < 0:  # an address >= 2^31: past any memory
                            raise _oob()
                        ea = a + off
                        if op == 0x28:
                            if ea + 4 > len(data):
                                raise _oob()
                            s[-1] = unpack_from("<i", data, ea)[0]
                        elif op == 0x29:
                            if ea + 8 > len(data):
                                raise _oob()
                            s[-1] = unpack_from("<Q", data, ea)[0]
                        elif op == 0x2D:
                            if ea >= len(data):
                                raise _oob()
                            s[-1] = data[ea]
                        elif op == 0x2C:
                            if ea >= len(data):
                                raise _oob()
                            v = data[ea]
                            s[-1] = v - 0x100 if v & 0x80 else v
                        elif op == 0x2A:
                            if ea + 4 > len(data):
                                raise _oob()
                            s[-1] = unpack_from("<I", data, ea)[0]
                        elif op == 0x2B:
                            if ea + 8 > len(data):
                                raise _oob()
                            s[-1] = unpack_from("<Q", data, ea)[0]
                        elif op == 0x2F:
                            if ea + 2 > len(data):
                                raise _oob()
                            s[-1] = unpack_from("<H", data, ea)[0]
                        elif op == 0x2E:
                            if ea + 2 > len(data):
                                raise _oob()
                            v = unpack_from("<h", data, ea)[0]
                            s[-1] = v
                        elif op == 0x31:
                            if ea >= len(data):
                                raise _oob()
                            s[-1] = data[ea]
                        elif op == 0x30:
                            if ea >= len(data):
                                raise _oob()
                            v = data[ea]
                            s[-1] = v | 0xFFFFFFFFFFFFFF00 if v & 0x80 else v
                        elif op == 0x33:
                            if ea + 2 > len(data):
                                raise _oob()
                            s[-1] = unpack_from("<H", data, ea)[0]
                        elif op == 0x32:
                            if ea + 2 > len(data):
                                raise _oob()
                            v = unpack_from("<H", data, ea)[0]
                            s[-1] = v | 0xFFFFFFFFFFFF0000 if v & 0x8000 else v
                        elif op == 0x35:
                            if ea + 4 > len(data):
                                raise _oob()
                            s[-1] = unpack_from("<I", data, ea)[0]
                        else:  # 0x34 i64.load32_s
                            if ea + 4 > len(data):
                                raise _oob()
                            v = unpack_from("<I", data, ea)[0]
                            s[-1] = v | 0xFFFFFFFF00000000 if v & 0x80000000 else v
                    elif op >= 0x36 and op <= 0x3E:  # stores
                        if code[pc] < 0x80 and code[pc + 1] < 0x80:
                            off = code[pc + 1]
                            pc += 2
                        else:
                            off, pc = memarg(code, pc)
                        v = pop()
                        a = pop()
                        if a < 0:
                            raise _oob()
                        ea = a + off
                        if op == 0x36:
                            if ea + 4 > len(data):
                                raise _oob()
                            pack_into("<i", data, ea, v)
                        elif op == 0x38:
                            if ea + 4 > len(data):
                                raise _oob()
                            pack_into("<I", data, ea, v)
                        elif op == 0x37 or op == 0x39:
                            if ea + 8 > len(data):
                                raise _oob()
                            pack_into("<Q", data, ea, v)
                        elif op == 0x3A or op == 0x3C:
                            if ea >= len(data):
                                raise _oob()
                            data[ea] = v & 0xFF
                        elif op == 0x3B or op == 0x3D:
                            if ea + 2 > len(data):
                                raise _oob()
                            pack_into("<H", data, ea, v & 0xFFFF)
                        else:  # 0x3E i64.store32
                            if ea + 4 > len(data):
                                raise _oob()
                            pack_into("<I", data, ea, v & M32)
                    elif op == 0x23:  # global.get
                        x = code[pc]
                        pc += 1
                        if x & 0x80:
                            x, pc = uleb(code, pc - 1)
                        g = globs[x]
                        v = g.bits
                        if g.valtype == 0x7F and v > 0x7FFFFFFF:
                            v -= 0x100000000
                        push(v)
                    elif op == 0x24:  # global.set
                        x = code[pc]
                        pc += 1
                        if x & 0x80:
                            x, pc = uleb(code, pc - 1)
                        g = globs[x]
                        v = pop()
                        if g.valtype == 0x7F and v < 0:
                            v += 0x100000000
                        g.bits = v
                    elif op == 0x42:  # i64.const
                        x, pc = sleb(code, pc, 64)
                        push(x)
                    elif op == 0x43:  # f32.const
                        push(int.from_bytes(bytes(code[pc:pc + 4]), "little"))
                        pc += 4
                    elif op == 0x44:  # f64.const
                        push(int.from_bytes(bytes(code[pc:pc + 8]), "little"))
                        pc += 8
                    elif op == 0x3F:  # memory.size
                        pc += 1
                        push(mem.pages)
                    elif op == 0x40:  # memory.grow
                        pc += 1
                        s[-1] = mem.grow(u32(s[-1]))
                        data = mem.data
                    elif op == 0x25:  # table.get
                        x, pc = uleb(code, pc)
                        t = inst.tables[x].elems
                        i = s[-1]
                        if i < 0 or i >= len(t):
                            raise Trap("out of bounds table access")
                        s[-1] = t[i]
                    elif op == 0x26:  # table.set
                        x, pc = uleb(code, pc)
                        t = inst.tables[x].elems
                        v = pop()
                        i = pop()
                        if i < 0 or i >= len(t):
                            raise Trap("out of bounds table access")
                        t[i] = v
                    else:
                        raise Trap("illegal opcode %d" % op)
                # control 0x00 - 0x1C
                elif op == 0x0D:  # br_if
                    if pop():
                        keep = side[stp + 2]
                        drop = side[stp + 3]
                        if drop:
                            n = len(s)
                            del s[n - keep - drop:n - keep]
                        pc = side[stp]
                        stp = side[stp + 1]
                    else:
                        while code[pc] & 0x80:
                            pc += 1
                        pc += 1
                        stp += 4
                elif op == 0x0B:  # end
                    if pc == fend:
                        # return from the function
                        nres = fn.nres
                        if nres < 2:
                            if nres:
                                v = s[-1]
                            if fp < nsl:
                                del s[SL[fp]]
                            else:
                                if fp < SLICES:
                                    nsl = _slices(fp)
                                del s[fp:]
                            if nres:
                                push(v)
                        else:
                            s[fp:] = s[len(s) - nres:]
                        if not fr:
                            return s
                        fp = fr.pop()
                        stp = fr.pop()
                        pc = fr.pop()
                        fn = fr.pop()
                        code = fn.code
                        side = fn.side
                        fend = fn.end
                        if fn.inst is not inst:
                            inst = fn.inst
                            mem = inst.memory
                            data = mem.data if mem is not None else None
                            globs = inst.globals
                            funcs = inst.funcs
                            K = inst.consts
                elif op == 0x10 or op == 0x11:  # call, call_indirect
                    x = code[pc]
                    pc += 1
                    if x & 0x80:
                        x, pc = uleb(code, pc - 1)
                    if op == 0x10:
                        f = funcs[x]
                    else:
                        t, pc = uleb(code, pc)
                        tab = inst.tables[t].elems
                        i = pop()
                        if i < 0 or i >= len(tab):
                            raise Trap("undefined element")
                        f = tab[i]
                        if f is None:
                            raise Trap("uninitialized element")
                        if f.ftype != inst.types[x]:
                            raise Trap("indirect call type mismatch")
                    if f.host is None or (nofast and f.host.fast):
                        if len(fr) >= maxfr:
                            raise Trap("call stack exhausted")
                        fuel -= 1
                        if fuel <= 0:
                            fuel, fuel_left = _refuel(fuel_left)
                            if debug_hook is not None:
                                debug_hook((fn, pc, stp, fp, s, fr), "call", f)
                            if tier_hook is not None:
                                tier_hook(f)
                        if not f.fused:  # the first calls run the module's own bytes
                            f.heat -= 1
                            if f.heat <= 0 and _fuse(f, fr) and f is fn:
                                pc -= fn.base  # (f runs here: in its own buffer now)
                                code = fn.code
                                side = fn.side
                                fend = fn.end
                        e = f.entry
                        if e is None:
                            e = _entry(f)
                        fr.append(fn)
                        fr.append(pc)
                        fr.append(stp)
                        fr.append(fp)
                        code, pc, side, fend, n, li = e
                        fp = len(s) - n
                        if li:
                            s.extend(li)
                        fn = f
                        stp = 0
                        if f.inst is not inst:
                            inst = f.inst
                            mem = inst.memory
                            data = mem.data if mem is not None else None
                            globs = inst.globals
                            funcs = inst.funcs
                            K = inst.consts
                    else:
                        last_stop[0] = fn
                        last_stop[1] = pc
                        host_call(f, s, budget, len(fr))
                        if mem is not None:
                            data = mem.data
                elif op == 0x0C:  # br
                    keep = side[stp + 2]
                    drop = side[stp + 3]
                    if drop:
                        n = len(s)
                        del s[n - keep - drop:n - keep]
                    pc = side[stp]
                    stp = side[stp + 1]
                elif op == 0x02:  # block
                    if code[pc] & 0x80:
                        while code[pc] & 0x80:
                            pc += 1
                    pc += 1
                elif op == 0x03:  # loop: fuel is counted on every iteration
                    fuel -= 1
                    if fuel <= 0:
                        fuel, fuel_left = _refuel(fuel_left)
                        if debug_hook is not None:
                            debug_hook((fn, pc - 1, stp, fp, s, fr), "tick", None)
                        if tier_hook is not None:
                            tier_hook(fn)
                    if not fn.fused:  # hot enough to fuse (the code stays valid at this pc)
                        fn.heat -= 1
                        if fn.heat <= 0 and _fuse(fn, fr):
                            pc -= fn.base  # (in its own buffer now)
                            code = fn.code
                            side = fn.side
                            fend = fn.end
                    if code[pc] & 0x80:
                        while code[pc] & 0x80:
                            pc += 1
                    pc += 1
                elif op == 0x04:  # if
                    if pop():
                        if code[pc] & 0x80:
                            while code[pc] & 0x80:
                                pc += 1
                        pc += 1
                        stp += 4
                    else:
                        pc = side[stp]
                        stp = side[stp + 1]
                elif op == 0x05:  # else: the then-branch is done, jump to the end
                    pc = side[stp]
                    stp = side[stp + 1]
                elif op == 0x1A:  # drop
                    pop()
                elif op == 0x1B or op == 0x1C:  # select
                    if op == 0x1C:
                        pc += 2
                    c = pop()
                    b = pop()
                    if not c:
                        s[-1] = b
                elif op == 0x0E:  # br_table
                    n = code[pc]
                    pc += 1
                    if n & 0x80:
                        n, pc = uleb(code, pc - 1)
                    i = pop()
                    if i > n or i < 0:
                        i = n
                    # the label's depth, from the code; its entry follows the header at stp
                    if side[stp + 1]:
                        d = code[pc + i]
                    else:
                        p = pc
                        while i:
                            while code[p] & 0x80:
                                p += 1
                            p += 1
                            i -= 1
                        d = uleb(code, p)[0]
                    e = stp + 4 + 4 * d
                    keep = side[e + 2]
                    drop = side[e + 3]
                    if drop:
                        n = len(s)
                        del s[n - keep - drop:n - keep]
                    pc = side[e]
                    stp = side[e + 1]
                elif op == 0x0F:  # return
                    pc = fend - 1
                elif op == 0x01:  # nop
                    pass
                elif op == 0x00:
                    raise Trap("unreachable")
                else:
                    raise Trap("illegal opcode %d" % op)
            elif op <= 0xC4:
                if op >= 0x6A and op <= 0x78:  # i32 binary
                    b = pop()
                    if op == 0x6A:  # i32.add
                        r = s[-1] + b
                        if r > hi or r < lo:
                            r = ((r + 0x80000000) & M32) - 0x80000000
                        s[-1] = r
                    elif op == 0x6B:  # i32.sub
                        r = s[-1] - b
                        if r > hi or r < lo:
                            r = ((r + 0x80000000) & M32) - 0x80000000
                        s[-1] = r
                    elif op == 0x71:  # i32.and
                        s[-1] &= b
                    elif op == 0x74:  # i32.shl
                        r = s[-1] << (b & 31)
                        if r > hi or r < lo:
                            r = ((r + 0x80000000) & M32) - 0x80000000
                        s[-1] = r
                    elif op == 0x76:  # i32.shr_u
                        a = s[-1]
                        if a >= 0:
                            s[-1] = a >> (b & 31)
                        elif b & 31:
                            s[-1] = (a + 0x100000000) >> (b & 31)
                    elif op == 0x6C:  # i32.mul
                        r = s[-1] * b
                        if r > hi or r < lo:
                            r = ((r + 0x80000000) & M32) - 0x80000000
                        s[-1] = r
                    elif op == 0x72:  # i32.or
                        s[-1] |= b
                    elif op == 0x73:  # i32.xor
                        s[-1] ^= b
                    elif op == 0x75:  # i32.shr_s (the value is signed already)
                        s[-1] >>= b & 31
                    else:
                        s[-1] = (IB[op] or _fill(op))(s[-1], b)
                elif op <= 0x4F:  # i32 tests and comparisons
                    if op == 0x45:  # i32.eqz
                        s[-1] = 0 if s[-1] else 1
                    else:
                        b = pop()
                        a = s[-1]
                        if op == 0x46:
                            s[-1] = 1 if a == b else 0
                        elif op == 0x47:
                            s[-1] = 1 if a != b else 0
                        elif op == 0x48:  # lt_s
                            s[-1] = 1 if a < b else 0
                        elif op & 1 and (a ^ b) < 0:  # unsigned, different signs: the
                            # negative one is the larger
                            if op == 0x49 or op == 0x4D:
                                s[-1] = 1 if a > b else 0
                            else:
                                s[-1] = 1 if a < b else 0
                        elif op == 0x49:
                            s[-1] = 1 if a < b else 0
                        elif op == 0x4A:  # gt_s
                            s[-1] = 1 if a > b else 0
                        elif op == 0x4B:
                            s[-1] = 1 if a > b else 0
                        elif op == 0x4C:  # le_s
                            s[-1] = 1 if a <= b else 0
                        elif op == 0x4D:
                            s[-1] = 1 if a <= b else 0
                        elif op == 0x4E:  # ge_s
                            s[-1] = 1 if a >= b else 0
                        else:
                            s[-1] = 1 if a >= b else 0
                elif op >= 0x7C and op <= 0x8A:  # i64 binary
                    b = pop()
                    if op == 0x7C:
                        s[-1] = (s[-1] + b) & M64
                    elif op == 0x7D:
                        s[-1] = (s[-1] - b) & M64
                    elif op == 0x83:
                        s[-1] &= b
                    elif op == 0x84:
                        s[-1] |= b
                    elif op == 0x85:
                        s[-1] ^= b
                    elif op == 0x86:
                        s[-1] = (s[-1] << (b & 63)) & M64
                    elif op == 0x88:
                        s[-1] >>= (b & 63)
                    elif op == 0x7E:
                        s[-1] = (s[-1] * b) & M64
                    else:
                        s[-1] = (IB[op] or _fill(op))(s[-1], b)
                elif op > 0x9F and op < 0xA3 and FQ is not None:  # f64 add sub mul
                    b = pop()
                    a = s[-1]
                    FQ[0] = a
                    x = FD[0]
                    FQ[0] = b
                    if op == 0xA2:
                        x = x * FD[0]
                    elif op == 0xA0:
                        x = x + FD[0]
                    else:
                        x = x - FD[0]
                    if x == x:
                        FD[0] = x
                        s[-1] = FQ[0]
                    else:
                        s[-1] = (IB[op] or _fill(op))(a, b)  # a NaN: its payload by the wasm rules
                else:
                    g = IB[op] or _fill(op)
                    if _ARITY[op]:
                        b = pop()
                        s[-1] = g(s[-1], b)
                    else:
                        s[-1] = g(s[-1])
            else:
                raise Trap("illegal opcode %d" % op)
    except Trap as e:
        last_stop[0] = fn
        last_stop[1] = pc - 1
        if debug_hook is not None:
            debug_hook((fn, pc - 1, stp, fp, s, fr), "trap", e)
        raise
    except (RecursionError, MemoryError):
        last_stop[0] = fn
        last_stop[1] = pc - 1
        raise
    except KeyboardInterrupt:
        last_stop[0] = fn
        last_stop[1] = pc - 1
        raise


def _fuse(f, fr):
    # f is hot (HEAT calls or loop iterations): its body gets fused in the module's copy of the
    # code (fuse.py). Every fused form starts and ends where its sequence did, so the frames
    # running f (at a loop or after a call) go on in the fused code. Without a copy (a small
    # heap) f gets a buffer of its own, where offsets are less f.base: f's frames in fr are moved,
    # and the caller moves its own pc if f is running (returns the shift, else 0).
    m = f.inst.module
    if len(_running) > 1 and m.code()[0] is m.data:
        f.heat = HEAT_AGAIN  # a frame of f in an outer call tree could not be moved: later
        return 0
    r = m.fuse_body(f.idx - m.decoded.n_imported_funcs, f.side)
    f.fused = True
    f.entry = None
    if isinstance(f.code, list) and not isinstance(f.side, list):
        f.side = list(f.side)  # (CPython, like the code: indexing a list is the fastest)
    if not r:
        return 0
    code, side, base = r
    f.code = code
    f.side = side
    f.start -= base
    f.end -= base
    f.base = base
    for i in range(0, len(fr), 4):
        if fr[i] is f:
            fr[i + 1] -= base
    return base


HEAT_AGAIN = 1000
_running = []  # the frame lists of the call trees running (more than one: a host function called wasm)


# MicroPython makes a heap object of the slice in `del s[fp:]`: 16 bytes on every wasm return.
# There the slices s[fp:] of the first SLICES frame bases are made once and kept in _SL.
_SL = []
SLICES = 0


class _Slicer:
    def __getitem__(self, k):
        return k


def _slices(fp):
    # _SL extended past fp (fp < SLICES); its new length
    g = _Slicer()
    n = fp + 16
    if n > SLICES:
        n = SLICES
    while len(_SL) < n:
        _SL.append(g[len(_SL):])
    return len(_SL)


def _slice_cache():
    global SLICES
    try:
        import sys
        if sys.implementation.name == "micropython":
            SLICES = 256
    except (ImportError, AttributeError):
        pass


_slice_cache()


def _entry(f):
    # what a call of f loads, in one tuple (set on the first call)
    f.entry = (f.code, f.start, f.side, f.end, f.nparams, f.local_init)
    return f.entry


def _refuel(fuel_left):
    if fuel_left is None:
        return SLICE, None
    if fuel_left <= 0:
        raise Trap("fuel exhausted")
    n = fuel_left if fuel_left < SLICE else SLICE
    return n, fuel_left - n


def _bulk(x, code, pc, s, inst):
    """The 0xFC-prefixed memory and table instructions (x >= 8; the operations are memops', with
    bit patterns: the interpreter's signed i32 operands are converted)."""
    if x == 8:  # memory.init
        seg, pc = uleb(code, pc)
        n = u32(s.pop())
        src = u32(s.pop())
        memops.memory_init(inst, seg, u32(s.pop()), src, n)
        return pc + 1
    if x == 9:  # data.drop
        seg, pc = uleb(code, pc)
        memops.data_drop(inst, seg)
    elif x == 10:  # memory.copy
        n = u32(s.pop())
        src = u32(s.pop())
        memops.memory_copy(inst, u32(s.pop()), src, n)
        return pc + 2
    elif x == 11:  # memory.fill
        n = u32(s.pop())
        v = s.pop()
        memops.memory_fill(inst, u32(s.pop()), v, n)
        return pc + 1
    elif x == 12:  # table.init
        seg, pc = uleb(code, pc)
        t, pc = uleb(code, pc)
        n = u32(s.pop())
        src = u32(s.pop())
        memops.table_init(inst, seg, t, u32(s.pop()), src, n)
    elif x == 13:  # elem.drop
        seg, pc = uleb(code, pc)
        memops.elem_drop(inst, seg)
    elif x == 14:  # table.copy
        t1, pc = uleb(code, pc)
        t2, pc = uleb(code, pc)
        n = u32(s.pop())
        src = u32(s.pop())
        memops.table_copy(inst, t1, t2, u32(s.pop()), src, n)
    elif x == 15:  # table.grow
        t, pc = uleb(code, pc)
        n = u32(s.pop())
        s.append(s32(memops.table_grow(inst, t, s.pop(), n)))
    elif x == 16:  # table.size
        t, pc = uleb(code, pc)
        s.append(len(inst.tables[t].elems))
    elif x == 17:  # table.fill
        t, pc = uleb(code, pc)
        n = u32(s.pop())
        v = s.pop()
        memops.table_fill(inst, t, u32(s.pop()), v, n)
    else:
        raise Trap("illegal opcode 0xfc %d" % x)
    return pc
