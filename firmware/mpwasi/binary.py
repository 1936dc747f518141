"""Binary decoder: module bytes -> a ModuleData of plain tuples and lists.

Function bodies are not decoded here: each is kept as (start, end) offsets into the module bytes,
with its locals already expanded into a compact list of value types. Custom sections are skipped,
except the "name" section's function names (kept for backtraces and the debugger).
Any malformed input raises DecodeError with the spec's wording.
"""

from .errors import DecodeError
from . import leb
from . import opcodes
from .sections import sections, file_sections, initial_memory, names  # noqa: F401
from .moduledata import (ModuleData, I32, I64, F32, F64, V128, FUNCREF, EXTERNREF, NUMTYPES,  # noqa: F401
                         VALTYPES, REFTYPES, TYPE_NAMES, NAME_TYPES)

MAX_PAGES = 65536
MAX_LOCALS = 50000  # more locals than this in one function is refused (no board holds them)


class Reader:
    """Cursor over bytes with the LEB128 forms the binary format uses."""

    def __init__(self, data, pos=0, end=None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def byte(self):
        p = self.pos
        if p >= self.end:
            raise DecodeError("unexpected end")
        self.pos = p + 1
        return self.data[p]

    def bytes(self, n):
        p = self.pos
        if n < 0 or p + n > self.end:
            raise DecodeError("unexpected end")
        self.pos = p + n
        return self.data[p:p + n]

    def u32(self):
        return leb.read_u(self, 32)

    def s32(self):
        return leb.read_s(self, 32)

    def s33(self):
        return leb.read_s(self, 33)

    def s64(self):
        return leb.read_s(self, 64)

    def name(self):
        n = self.u32()
        if self.pos + n > self.end:
            raise DecodeError("unexpected end")
        raw = self.bytes(n)
        if not utf8_valid(raw):
            raise DecodeError("malformed UTF-8 encoding")
        return str(raw, "utf-8")


def utf8_valid(raw):
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if c < 0x80:
            i += 1
            continue
        if 0xC2 <= c <= 0xDF:
            k = 1
            lo, hi = 0x80, 0xBF
        elif 0xE0 <= c <= 0xEF:
            k = 2
            lo = 0xA0 if c == 0xE0 else 0x80
            hi = 0x9F if c == 0xED else 0xBF
        elif 0xF0 <= c <= 0xF4:
            k = 3
            lo = 0x90 if c == 0xF0 else 0x80
            hi = 0x8F if c == 0xF4 else 0xBF
        else:
            return False
        if i + k >= n:
            return False
        b = raw[i + 1]
        if b < lo or b > hi:
            return False
        for j in range(2, k + 1):
            b = raw[i + j]
            if b < 0x80 or b > 0xBF:
                return False
        i += k + 1
    return True


def read_valtype(r):
    t = r.byte()
    if t not in VALTYPES:
        raise DecodeError("malformed value type" if t != V128 else "SIMD is not supported")
    return t


def read_reftype(r):
    t = r.byte()
    if t != FUNCREF and t != EXTERNREF:
        raise DecodeError("malformed reference type")
    return t


def read_limits(r, maxval):
    flag = r.byte()
    if flag == 0:
        lo = r.u32()
        hi = None
    elif flag == 1:
        lo = r.u32()
        hi = r.u32()
    else:
        raise DecodeError("integer too large" if flag > 3 else "malformed limits flags")
    return lo, hi


def read_const_expr(r):
    """A constant expression: one instruction then `end`. Returns (opcode, immediate).

    Type checking happens in validate.py; only the shape is decoded here.
    """
    op = r.byte()
    if op == 0x41:
        v = r.s32() & 0xFFFFFFFF
    elif op == 0x42:
        v = r.s64() & 0xFFFFFFFFFFFFFFFF
    elif op == 0x43:
        b = r.bytes(4)
        v = b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24
    elif op == 0x44:
        b = r.bytes(8)
        v = 0
        for i in range(7, -1, -1):
            v = v << 8 | b[i]
    elif op == 0x23:
        v = r.u32()
    elif op == 0xD0:
        v = read_reftype(r)
    elif op == 0xD2:
        v = r.u32()
    elif op == 0x0B:
        return (0x0B, None)  # empty expression: a type error found by the validator
    else:
        # some other instruction: not constant; decode nothing more, let validation report it,
        # but the expression must still be well formed up to its `end`.
        skip_const_tail(r, op)
        return (op, None)
    e = r.byte()
    if e != 0x0B:
        # more than one instruction: not a valid constant expression (validation error), but
        # still consume it so decoding can go on. Two constants are a type mismatch (-1);
        # anything else is not a constant instruction (-2).
        skip_const_tail(r, e)
        return (-1 if e in (0x41, 0x42, 0x43, 0x44, 0x23, 0xD0, 0xD2) else -2, None)
    return (op, v)


def skip_instr(r, op):
    """Skip the immediates of opcode `op` (already read), by its shape in opcodes.SHAPE.
    Raises DecodeError when they are malformed."""
    k = opcodes.SHAPE[op]
    if k == opcodes.PREFIX:
        sub = r.u32()
        if sub >= len(opcodes.FC_SHAPE):
            raise DecodeError("illegal opcode")
        k = opcodes.FC_SHAPE[sub]
    if k == opcodes.NONE:
        return
    if k == opcodes.IDX:
        r.u32()
    elif k == opcodes.MEMARG or k == opcodes.IDX2:
        r.u32()
        r.u32()
    elif k == opcodes.BLOCK:
        b = r.byte()
        if b != 0x40 and b not in VALTYPES:
            r.pos -= 1
            if r.s33() < 0:
                raise DecodeError("malformed value type")
    elif k == opcodes.BR_TABLE:
        for _ in range(r.u32() + 1):
            r.u32()
    elif k == opcodes.S32:
        r.s32()
    elif k == opcodes.S64:
        r.s64()
    elif k == opcodes.B4:
        r.bytes(4)
    elif k == opcodes.B8:
        r.bytes(8)
    elif k == opcodes.ZERO or k == opcodes.IDX_ZERO or k == opcodes.ZERO2:
        if k == opcodes.IDX_ZERO:
            r.u32()
        if r.byte() != 0 or (k == opcodes.ZERO2 and r.byte() != 0):
            raise DecodeError("zero byte expected")
    elif k == opcodes.TYPES:
        for _ in range(r.u32()):
            if r.byte() not in VALTYPES:
                raise DecodeError("malformed value type")
    elif k == opcodes.REF:
        if r.byte() not in REFTYPES:
            raise DecodeError("malformed reference type")
    else:
        raise DecodeError("illegal opcode")


def skip_const_tail(r, op):
    depth = 0
    while True:
        if op == 0x0B:
            if depth == 0:
                return
            depth -= 1
        elif op in (0x02, 0x03, 0x04):
            depth += 1
        skip_instr(r, op)
        op = r.byte()


SECTION_ORDER = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12}


def decode(data):
    """Decode a whole module. data: bytes. Returns ModuleData."""
    if len(data) < 4 or data[0:4] != b"\x00asm":
        raise DecodeError("magic header not detected")
    if len(data) < 8:
        raise DecodeError("unexpected end")
    if data[4:8] != b"\x01\x00\x00\x00":
        raise DecodeError("unknown binary version")
    m = ModuleData(data)
    r = Reader(data, 8)
    last = 0
    nfuncs_declared = None
    while r.pos < r.end:
        sid = r.byte()
        size = r.u32()
        start = r.pos
        end = start + size
        if end > r.end:
            raise DecodeError("section size mismatch" if sid != 0 else "unexpected end")
        if sid == 0:
            sr = Reader(data, start, end)
            name = sr.name()
            if name == "name":
                try:
                    read_name_section(m, Reader(data, sr.pos, end))
                except DecodeError:
                    pass  # a broken name section is ignored, as the spec allows
            r.pos = end
            continue
        order = SECTION_ORDER.get(sid)
        if order is None:
            raise DecodeError("malformed section id")
        if order <= last:
            raise DecodeError("unexpected content after last section")
        last = order
        sr = Reader(data, start, end)
        if sid == 1:
            for _ in range(count(sr)):
                if sr.byte() != 0x60:
                    raise DecodeError("integer representation too long")
                params = tuple([read_valtype(sr) for _ in range(count(sr))])
                results = tuple([read_valtype(sr) for _ in range(count(sr))])
                m.types.append((params, results))
        elif sid == 2:
            for _ in range(count(sr)):
                mod = sr.name()
                nm = sr.name()
                kind = sr.byte()
                if kind == 0:
                    desc = sr.u32()
                    m.funcs.append(desc)
                    m.n_imported_funcs += 1
                elif kind == 1:
                    rt = read_reftype(sr)
                    lo, hi = read_limits(sr, 0xFFFFFFFF)
                    desc = (rt, lo, hi)
                    m.tables.append(desc)
                    m.n_imported_tables += 1
                elif kind == 2:
                    desc = read_limits(sr, MAX_PAGES)
                    m.mems.append(desc)
                    m.n_imported_mems += 1
                elif kind == 3:
                    t = read_valtype(sr)
                    mut = sr.byte()
                    if mut > 1:
                        raise DecodeError("malformed mutability")
                    desc = (t, mut)
                    m.globals.append(desc)
                    m.n_imported_globals += 1
                else:
                    raise DecodeError("malformed import kind")
                m.imports.append((mod, nm, kind, desc))
        elif sid == 3:
            n = count(sr)
            nfuncs_declared = n
            for _ in range(n):
                m.funcs.append(sr.u32())
        elif sid == 4:
            for _ in range(count(sr)):
                rt = read_reftype(sr)
                lo, hi = read_limits(sr, 0xFFFFFFFF)
                m.tables.append((rt, lo, hi))
        elif sid == 5:
            for _ in range(count(sr)):
                m.mems.append(read_limits(sr, MAX_PAGES))
        elif sid == 6:
            for _ in range(count(sr)):
                t = read_valtype(sr)
                mut = sr.byte()
                if mut > 1:
                    raise DecodeError("malformed mutability")
                m.globals.append((t, mut))
                m.global_inits.append(read_const_expr(sr))
        elif sid == 7:
            for _ in range(count(sr)):
                nm = sr.name()
                kind = sr.byte()
                if kind > 3:
                    raise DecodeError("malformed export kind")
                m.exports.append((nm, kind, sr.u32()))
        elif sid == 8:
            m.start = sr.u32()
        elif sid == 9:
            for _ in range(count(sr)):
                m.elems.append(read_elem(sr))
        elif sid == 12:
            m.data_count = sr.u32()
        elif sid == 10:
            n = count(sr)
            if n != (nfuncs_declared or 0):
                raise DecodeError("function and code section have inconsistent lengths")
            for _ in range(n):
                size = sr.u32()
                bstart = sr.pos
                bend = bstart + size
                if bend > sr.end:
                    raise DecodeError("unexpected end")
                br = Reader(data, bstart, bend)
                locs = []
                total = 0
                for _ in range(br.u32()):
                    c = br.u32()
                    t = read_valtype(br)
                    total += c
                    if total > 0xFFFFFFFF:
                        raise DecodeError("too many locals")
                    if total > MAX_LOCALS:
                        raise DecodeError("too many locals")
                    locs.append((c, t))
                if bend <= br.pos or data[bend - 1] != 0x0B:
                    raise DecodeError("END opcode expected" if bend > br.pos else "unexpected end")
                lt = bytearray()
                for c, t in locs:
                    lt.extend(bytes((t,)) * c)
                m.codes.append((bytes(lt), br.pos, bend))
                sr.pos = bend
        elif sid == 11:
            n = count(sr)
            if m.data_count is not None and n != m.data_count:
                raise DecodeError("data count and data section have inconsistent lengths")
            for _ in range(n):
                m.datas.append(read_data(sr))
        if sr.pos != end:
            raise DecodeError("section size mismatch")
        r.pos = end
    if nfuncs_declared and not m.codes:
        raise DecodeError("function and code section have inconsistent lengths")
    if m.data_count is not None and m.data_count != len(m.datas) and last < 12:
        raise DecodeError("data count and data section have inconsistent lengths")
    return m


def count(r):
    n = r.u32()
    # every element takes at least one byte: a count beyond the bytes left is malformed
    if n > r.end - r.pos:
        raise DecodeError("unexpected end")
    return n


def read_elem(r):
    flags = r.u32()
    if flags > 7:
        raise DecodeError("malformed elements segment kind")
    table = 0
    offset = None
    rt = FUNCREF
    if flags & 1:
        mode = 2 if flags & 2 else 1
    else:
        mode = 0
        if flags & 2:
            table = r.u32()
        offset = read_const_expr(r)
    if flags & 4:
        # expressions
        if flags & 3:
            rt = read_reftype(r)
        items = [read_const_expr(r) for _ in range(count(r))]
    else:
        if flags & 3:
            if r.byte() != 0x00:
                raise DecodeError("malformed element kind")
        items = [(0xD2, r.u32()) for _ in range(count(r))]
    return (mode, table, offset, rt, items)


def read_data(r):
    flags = r.u32()
    mem = 0
    offset = None
    if flags == 0:
        mode = 0
        offset = read_const_expr(r)
    elif flags == 1:
        mode = 1
    elif flags == 2:
        mode = 0
        mem = r.u32()
        offset = read_const_expr(r)
    else:
        raise DecodeError("malformed data segment kind")
    n = r.u32()
    start = r.pos
    if start + n > r.end:
        raise DecodeError("unexpected end of section or function")
    r.pos = start + n
    return (mode, mem, offset, start, start + n)


def read_name_section(m, r):
    """Find the function-names subsection; names are decoded on demand (func_name), so a
    module with thousands of named functions costs no heap for them until a backtrace."""
    while r.pos < r.end:
        sub = r.byte()
        size = r.u32()
        end = r.pos + size
        if end > r.end:
            return
        if sub == 1:
            m.names_at = (r.pos, end)
        elif sub == 7:
            m.global_names_at = (r.pos, end)
        r.pos = end


def func_names(m):
    """All function names of the name section: {index: name}."""
    return names(m.data, m.names_at)


def global_names(m):
    """All global names of the name section (subsection 7): {index: name}."""
    return names(m.data, m.global_names_at)


def func_name(m, idx):
    """The name of function idx from the name section, or None."""
    return names(m.data, m.names_at, idx)
    try:
        sr = Reader(m.data, m.names_at[0], m.names_at[1])
        for _ in range(sr.u32()):
            i = sr.u32()
            n = sr.u32()
            if i == idx:
                sr.pos -= len(leb.encode(n))
                return sr.name()
            sr.pos += n
    except DecodeError:
        pass
    return None
