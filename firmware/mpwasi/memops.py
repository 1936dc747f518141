"""Memory and table operations shared by the interpreter and the fast tier (fastrt.py/fastgen.py).

The bulk instructions (memory.init/copy/fill, data.drop, table.init/copy/grow/fill, elem.drop) are
here once: interp.py calls them with the popped operands, the fast tier's compiled code through the
names MINIT, MCOPY, ... bound to an instance (fastrt.State). Operands are the interpreter's bit
patterns (unsigned ints); a range past the end traps before anything is written.

The fast tier's word-sized loads and stores go through struct: FMT_NAMES gives the suffix of the
namespace names (U32/P32, U64/P64, U16/P16, UD/PD) that bind_accessors(ns) defines and that the
generator emits (fastgen.Gen.struct_access). A paged memory (paged.py) gets paged.py's accessors
(bind_accessors(ns, paged=True)) and no uctypes views (Memory.lim is -1).
"""

from .errors import Trap

M32 = 0xFFFFFFFF

# struct format -> the suffix of the fast tier's accessor names
FMT_NAMES = {"<I": "32", "<Q": "64", "<H": "16", "<d": "D"}


def bind_accessors(ns, paged=False):
    """Put the fast tier's struct accessors into namespace ns: UF/PI (struct.unpack_from /
    pack_into), and where struct.Struct exists U<n>/P<n> per FMT_NAMES. paged: the memory is a
    paged.Pages, and the accessors are paged.py's (they take a bytearray too)."""
    if paged:
        from . import paged as _paged
        ns["UF"] = _paged.unpack_from
        ns["PI"] = _paged.pack_into
        for fmt in FMT_NAMES:
            ns["U" + FMT_NAMES[fmt]] = _paged.unpacker(fmt)
            ns["P" + FMT_NAMES[fmt]] = _paged.packer(fmt)
        return
    import struct
    ns["UF"] = struct.unpack_from
    ns["PI"] = struct.pack_into
    if hasattr(struct, "Struct"):
        for fmt in FMT_NAMES:
            s = struct.Struct(fmt)
            ns["U" + FMT_NAMES[fmt]] = s.unpack_from
            ns["P" + FMT_NAMES[fmt]] = s.pack_into


def oob():
    return Trap("out of bounds memory access")


def table_oob():
    return Trap("out of bounds table access")


def memory_init(inst, seg, dst, src, n):
    d = inst.datas[seg]
    data = inst.memory.data
    ln = 0 if d is None else d[1] - d[0]
    if src + n > ln or dst + n > len(data):
        raise oob()
    if n:
        data[dst:dst + n] = inst.module.data[d[0] + src:d[0] + src + n]


def data_drop(inst, seg):
    inst.datas[seg] = None


def memory_copy(inst, dst, src, n):
    data = inst.memory.data
    if src + n > len(data) or dst + n > len(data):
        raise oob()
    if n:
        data[dst:dst + n] = data[src:src + n]


def memory_fill(inst, dst, v, n):
    data = inst.memory.data
    if dst + n > len(data):
        raise oob()
    if n:
        if type(data) is bytearray:
            data[dst:dst + n] = bytes((v & 0xFF,)) * n
        else:  # paged: zeros leave untouched pages untouched, no n-byte temporary
            data.fill(dst, n, v & 0xFF)


def table_init(inst, seg, t, dst, src, n):
    items = inst.elems[seg]
    if items is None:
        items = ()
    tab = inst.tables[t].elems
    if src + n > len(items) or dst + n > len(tab):
        raise table_oob()
    tab[dst:dst + n] = items[src:src + n]


def elem_drop(inst, seg):
    inst.elems[seg] = None


def table_copy(inst, t1, t2, dst, src, n):
    a = inst.tables[t1].elems
    b = inst.tables[t2].elems
    if src + n > len(b) or dst + n > len(a):
        raise table_oob()
    a[dst:dst + n] = b[src:src + n]


def table_grow(inst, t, v, n):
    return inst.tables[t].grow(n, v) & M32


def table_fill(inst, t, dst, v, n):
    tab = inst.tables[t].elems
    if dst + n > len(tab):
        raise table_oob()
    for i in range(dst, dst + n):
        tab[i] = v
