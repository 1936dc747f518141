"""LEB128, once: the readers every part of the engine uses (the interpreter's dispatch loop keeps
its own inline reads of one- and two-byte forms, for speed).

Over validated code (no checks; the code is known to be well formed):
    uleb(code, pc) -> (value, pc after)
    sleb(code, pc, bits) -> (value as a `bits`-bit pattern, pc after)
    skip(code, pc) -> pc after one LEB128
Checked, over a binary.Reader r (data, pos, end), raising DecodeError with the spec's wording:
    read_u(r, bits), read_s(r, bits) -> the value (signed for read_s); r.pos moves past it
Over bytes that may end early (a module not decoded yet):
    uleb_at(data, at) -> (value, position after); stops at the end of data
From a file object: read_file(f) -> (value, bytes read) (at most 5 bytes, as a u32)
Writing: encode(n) -> the bytearray of unsigned n.
"""

from .errors import DecodeError


def uleb(code, pc):
    result = 0
    shift = 0
    while True:
        b = code[pc]
        pc += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pc


def sleb(code, pc, bits):
    result = 0
    shift = 0
    while True:
        b = code[pc]
        pc += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result & ((1 << bits) - 1), pc


def skip(code, pc):
    while code[pc] & 0x80:
        pc += 1
    return pc + 1


def read_u(r, bits):
    return _read(r, bits, False)


def read_s(r, bits):
    return _read(r, bits, True)


def _read(r, bits, signed):
    data = r.data
    p = r.pos
    end = r.end
    result = 0
    shift = 0
    maxbytes = (bits + 6) // 7
    n = 0
    while True:
        if p >= end:
            raise DecodeError("unexpected end")
        b = data[p]
        p += 1
        n += 1
        if n == maxbytes:
            if b & 0x80:
                raise DecodeError("integer representation too long")
            rem = bits - shift  # bits of the value held by this last byte (1..7)
            if not signed:
                if b >> rem:
                    raise DecodeError("integer too large")
                result |= b << shift
                break
            # the unused high bits must repeat the sign bit
            if rem < 7:
                top = b >> (rem - 1) & 0x7F
                if top != 0 and top != (0x7F >> (rem - 1)):
                    raise DecodeError("integer too large")
            result |= (b & 0x7F) << shift
            shift += 7
            if b & 0x40:
                result -= 1 << shift
            break
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            if signed and b & 0x40:
                result -= 1 << shift
            break
    r.pos = p
    return result


def uleb_at(data, at):
    value = 0
    shift = 0
    while at < len(data):
        b = data[at]
        at += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return value, at


def read_file(f):
    result = 0
    shift = 0
    used = 0
    while True:
        b = f.read(1)
        if not b:
            return result, used
        used += 1
        result |= (b[0] & 0x7F) << shift
        shift += 7
        if not b[0] & 0x80 or used >= 5:
            return result, used


def encode(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return out
