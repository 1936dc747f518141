"""Paged linear memory: the bytes of a memory held in 4 KiB pages allocated on first write.

A default-built C, Rust or Zig program declares two or more 64 KiB pages (its stack region at the
top, mostly never touched); a small board's heap has no free block that large. `Pages` stands in
for the memory's bytearray where the declared size does not fit as one block (runtime.Memory
decides; MPWASI_PAGED=1 or Limits(paged=True) forces it): untouched pages read as zero and cost
one list slot; a write allocates its page. It answers what the engine asks of a memory's bytes:
len(), an index, a slice read (bytes) and a slice assignment.

struct's pack_into/unpack_from cannot write into such an object, so the modules that access a
memory's bytes with them (the interpreter, WASI) call them by module-level names; `install()`
rebinds those names to the functions below, which hand a bytearray straight to struct and a
`Pages` to its own code. It runs when the first paged memory is made: until then the dense path
pays nothing, and after it a dense access pays one type check.
"""

import struct

SHIFT = 12
SIZE = 1 << SHIFT
MASK = SIZE - 1

_pack_into = struct.pack_into
_unpack_from = struct.unpack_from
_calcsize = struct.calcsize
_ZERO = bytes(16)
_sizes = {}


class Pages:
    """n bytes (a multiple of SIZE unless capped), in a list of SIZE-byte bytearrays or None."""

    def __init__(self, n):
        self.n = n
        self.p = [None] * ((n + MASK) >> SHIFT)
        self.spare = []  # zero pages allocated ahead (reserve), used before any new one

    def __len__(self):
        return self.n

    def reserve(self, k):
        """Allocates up to k pages now, for the first pages written later: taken while the heap is
        not yet fragmented by the run (a long run can leave plenty free but no block a page
        needs). Stops quietly where the heap does."""
        try:
            for _ in range(k):
                self.spare.append(bytearray(SIZE))
        except MemoryError:
            pass

    def touched(self):
        """Bytes of the pages written so far."""
        k = 0
        for pg in self.p:
            if pg is not None:
                k += SIZE
        return k

    def resident(self):
        """Bytes held in the heap: the pages written and those reserved."""
        return self.touched() + len(self.spare) * SIZE

    def grow_to(self, n):
        # raises MemoryError (nothing changed) when the page list cannot grow
        more = ((n + MASK) >> SHIFT) - len(self.p)
        if more > 0:
            self.p.extend([None] * more)
        self.n = n

    def shrink_to(self, n):
        del self.p[(n + MASK) >> SHIFT:]
        self.n = n

    def _page(self, i):
        pg = self.p[i]
        if pg is None:
            pg = self.spare.pop() if self.spare else bytearray(SIZE)
            self.p[i] = pg
        return pg

    def __getitem__(self, k):
        if isinstance(k, int):
            if k < 0:
                k += self.n
            if k < 0 or k >= self.n:
                raise IndexError("memory index out of range")
            pg = self.p[k >> SHIFT]
            return 0 if pg is None else pg[k & MASK]
        a, b = self._range(k)
        return self.read(a, b - a)

    def __setitem__(self, k, v):
        if isinstance(k, int):
            if k < 0:
                k += self.n
            if k < 0 or k >= self.n:
                raise IndexError("memory index out of range")
            pg = self.p[k >> SHIFT]
            if pg is None:
                if not v:
                    return
                pg = self._page(k >> SHIFT)
            pg[k & MASK] = v
            return
        a, b = self._range(k)
        if len(v) != b - a:
            raise ValueError("slice assignment would resize the memory")
        self.write(a, v)

    def _range(self, k):
        if k.step is not None and k.step != 1:
            raise ValueError("memory slices have step 1")
        a = 0 if k.start is None else k.start
        b = self.n if k.stop is None else k.stop
        if a < 0:
            a += self.n
        if b < 0:
            b += self.n
        if a < 0:
            a = 0
        if b > self.n:
            b = self.n
        if b < a:
            b = a
        return a, b

    def _spans(self, a, n):
        # (page index, offset in the page, offset in the run, length) of each page [a, a+n) meets
        at = 0
        while at < n:
            o = (a + at) & MASK
            k = SIZE - o
            if k > n - at:
                k = n - at
            yield (a + at) >> SHIFT, o, at, k
            at += k

    def read(self, a, n):
        """bytes [a, a+n) (the caller checked the bounds)."""
        out = bytearray(n)
        p = self.p
        for i, o, at, k in self._spans(a, n):
            pg = p[i]
            if pg is not None:
                out[at:at + k] = pg[o:o + k]
        return bytes(out)

    def write(self, a, v):
        """Writes the bytes v at a (the caller checked the bounds). Zeros written to an
        untouched page leave it untouched."""
        if not isinstance(v, (bytes, bytearray)):
            v = bytes(v)
        p = self.p
        for i, o, at, k in self._spans(a, len(v)):
            chunk = v[at:at + k]
            pg = p[i]
            if pg is None:
                if not any(chunk):
                    continue
                pg = self._page(i)
            pg[o:o + k] = chunk

    def readinto(self, reader, a, n):
        """reader(buffer) (a stream's readinto) into [a, a+n), through one buffer."""
        tmp = bytearray(n)
        got = reader(tmp) or 0
        if got:
            self.write(a, memoryview(tmp)[:got])
        return got

    def fill(self, a, n, byte):
        if byte:
            self.write(a, bytes((byte,)) * n)
            return
        p = self.p
        for i, o, at, k in self._spans(a, n):
            if p[i] is not None:
                p[i][o:o + k] = bytes(k)


def _size(fmt):
    n = _sizes.get(fmt)
    if n is None:
        n = _calcsize(fmt)
        _sizes[fmt] = n
    return n


def unpack_from(fmt, buf, off=0):
    if type(buf) is not Pages:
        return _unpack_from(fmt, buf, off)
    n = _size(fmt)
    if off < 0 or off + n > buf.n:
        raise ValueError("buffer too small")
    o = off & MASK
    if o + n <= SIZE:
        pg = buf.p[off >> SHIFT]
        if pg is None:
            return _unpack_from(fmt, _ZERO if n <= 16 else bytes(n), 0)
        return _unpack_from(fmt, pg, o)
    return _unpack_from(fmt, buf.read(off, n), 0)


def pack_into(fmt, buf, off, *v):
    if type(buf) is not Pages:
        _pack_into(fmt, buf, off, *v)
        return
    n = _size(fmt)
    if off < 0 or off + n > buf.n:
        raise ValueError("buffer too small")
    o = off & MASK
    if o + n <= SIZE:
        _pack_into(fmt, buf._page(off >> SHIFT), o, *v)
        return
    tmp = bytearray(n)
    _pack_into(fmt, tmp, 0, *v)
    buf.write(off, tmp)


def unpacker(fmt):
    """unpack_from for one format (the fast tier's U32 etc.)."""
    def u(buf, off=0):
        return unpack_from(fmt, buf, off)
    return u


def packer(fmt):
    def p(buf, off, *v):
        pack_into(fmt, buf, off, *v)
    return p


_installed = []


def install():
    """Rebinds pack_into/unpack_from in the modules (already imported) that access memory bytes
    with them; runs for every paged memory made, so a module imported since is covered."""
    if not _installed:
        _installed.append(1)
    import sys
    for name in ("mpwasi.interp", "mpwasi.wasi", "mpwasi.wasi_files"):
        m = sys.modules.get(name)
        if m is not None:
            m.pack_into = pack_into
            m.unpack_from = unpack_from


def installed():
    return bool(_installed)
