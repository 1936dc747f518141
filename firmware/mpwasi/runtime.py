"""The runtime objects: Module, Instance, Function, HostFunc, Memory, Table, Global, Limits.

Instantiation links imports (checking their types), allocates memories/tables/globals,
initialises them from the segments, and runs the start function. Values crossing this API are
converted between Python values and the bit patterns the interpreter uses.
"""

import struct

from .errors import WasmError, DecodeError, ValidationError, LinkError, Trap, Exit, RecursionError
from .moduledata import I32, I64, F32, F64, FUNCREF, EXTERNREF, TYPE_NAMES, NAME_TYPES
from . import interp

PAGE = 65536
# The fast tier (fastrt.set_tier("fast")) installs itself here: instance_hook(instance) runs once the
# instance is set up, before its start function.
instance_hook = None
KIND_NAMES = ("func", "table", "memory", "global")


class Limits:
    """Resource limits of an instance: memory bytes, wasm call depth, fuel (loop iterations + calls)."""

    def __init__(self, memory_bytes=None, max_call_depth=20000, fuel=None, paged=None):
        self.memory_bytes = memory_bytes
        self.max_call_depth = max_call_depth
        self.fuel = fuel
        # the linear memory's form: None decides by the free heap (runtime.Memory), True forces
        # pages allocated on first write (paged.py), False one bytearray
        self.paged = paged

    def __repr__(self):
        return "Limits(memory_bytes=%r, max_call_depth=%r, fuel=%r, paged=%r)" % (
            self.memory_bytes, self.max_call_depth, self.fuel, self.paged)


# ---------------------------------------------------------------- value conversion

def to_bits(t, v):
    if t == I32:
        if isinstance(v, float):
            raise TypeError("i32 expects an int")
        return int(v) & 0xFFFFFFFF
    if t == I64:
        if isinstance(v, float):
            raise TypeError("i64 expects an int")
        return int(v) & 0xFFFFFFFFFFFFFFFF
    if t == F32:
        try:
            return struct.unpack("<I", struct.pack("<f", float(v)))[0]
        except OverflowError:
            return 0xFF800000 if v < 0 else 0x7F800000
    if t == F64:
        return struct.unpack("<Q", struct.pack("<d", float(v)))[0]
    return v


def from_bits(t, b):
    if t == I32:
        return b - 0x100000000 if b & 0x80000000 else b
    if t == I64:
        return b - 0x10000000000000000 if b & 0x8000000000000000 else b
    if t == F32:
        return struct.unpack("<f", struct.pack("<I", b))[0]
    if t == F64:
        return struct.unpack("<d", struct.pack("<Q", b))[0]
    return b


def _type_codes(ts):
    out = []
    for t in ts:
        if isinstance(t, int):
            out.append(t)
        else:
            if t not in NAME_TYPES:
                raise ValueError("unknown value type %r" % (t,))
            out.append(NAME_TYPES[t])
    return tuple(out)


def _type_names(ts):
    return tuple([TYPE_NAMES[t] for t in ts])


# ---------------------------------------------------------------- externs

_ZERO = []


def _zero_page():
    if not _ZERO:
        _ZERO.append(bytes(PAGE))
    return _ZERO[0]


try:
    import uctypes as _uctypes
except ImportError:
    _uctypes = None


# at most 2 GiB of linear memory: the interpreter holds i32 values signed, and an address at or
# above 2^31 (a negative one) is out of bounds
MAX_PAGES = 32768


def _env_paged():
    try:
        import os
        v = os.getenv("MPWASI_PAGED")
    except Exception:
        return None
    if v in ("1", "on", "always"):
        return True
    if v in ("0", "off", "never"):
        return False
    return None


# MPWASI_PAGED=1 forces paged linear memory everywhere (as the spec runner's --paged does), =0 dense
PAGED = _env_paged()
# a board keeps this much heap beside a dense memory, else the memory is paged
DENSE_SPARE = 64 * 1024


# a paged memory holds this many pages ahead, at most 1/8 of the free heap (paged.reserve): the
# pages prefetch_pages took before loading, else allocated when the memory is made
PAGE_RESERVE = 4
_PREFETCHED = []


def prefetch_pages(k=PAGE_RESERVE):
    """Allocates up to k zero pages for the next paged memory, on a small heap (a board) before a
    module is loaded: loading leaves the heap in small pieces, where a page may find no block.
    drop_prefetched() gives back what no memory took."""
    free = _free()
    if free is None or free > 4 * 1024 * 1024:
        return
    n = free // (8 * 4096)
    try:
        while len(_PREFETCHED) < (k if k < n else n):
            _PREFETCHED.append(bytearray(4096))
    except MemoryError:
        pass


def drop_prefetched():
    del _PREFETCHED[:]


def _reserve_pages(pages):
    while _PREFETCHED:
        pages.spare.append(_PREFETCHED.pop())
    free = _free()
    if free is not None and len(pages.spare) < PAGE_RESERVE:
        k = free // (8 * 4096)
        pages.reserve((k if k < PAGE_RESERVE else PAGE_RESERVE) - len(pages.spare))


class Memory:
    """A linear memory. `data` is one bytearray (dense) where the memory fits as one block, else a
    paged.Pages (pages allocated on first write; `paged` is True). A cap (Limits.memory_bytes) may
    hold fewer bytes than the declared size; accesses past the cap trap and growing past it
    returns -1."""

    def __init__(self, min=0, max=None, cap=None, paged=None):
        self.min = min
        self.max = max
        self.cap = cap
        self.pages = min
        n = min * PAGE
        if cap is not None and n > cap:
            n = cap
        if n > MAX_PAGES * PAGE:
            raise Trap("out of memory: linear memory of %d pages (at most %d)" % (min, MAX_PAGES))
        if paged is None:
            paged = PAGED
        self._pageable = paged is not False  # (a dense memory may go paged when it cannot grow)
        if paged is None and n > 0:
            # a board: dense only with room beside it (MicroPython's allocator then has the heap
            # for the program); an allocation that fails goes paged
            free = _free()
            paged = free is not None and n + DENSE_SPARE > free
        self.paged = False
        if not paged:
            try:
                self.data = bytearray(n)
            except MemoryError:
                paged = True
        if paged:
            self._make_paged(n)
        self._views()

    def _make_paged(self, n):
        from . import paged as _paged
        try:
            self.data = _paged.Pages(n)
            _reserve_pages(self.data)
        except MemoryError:
            from .compat import largest_block
            raise Trap("out of memory: linear memory of %d bytes (%d pages); the heap's largest free "
                       "block is %s bytes" % (n, n // PAGE, largest_block()))
        self.paged = True
        _paged.install()

    def resident(self):
        """Bytes the memory holds in the heap (a paged memory: its allocated pages)."""
        return self.data.resident() if self.paged else len(self.data)

    def _views(self):
        # MicroPython: the memory seen as little-endian 32-bit words (`u32`) and doubles (`f64`)
        # through uctypes, for the fast tier's aligned accesses. Rebuilt whenever the bytes may
        # have moved (grow); `lim`/`lim8` are the last addresses a 4-/8-byte access may start at
        # (-1: no view, struct it is)
        self.u32 = self.f64 = None
        self.lim = self.lim8 = -1
        n = len(self.data)
        if n < 8 or n & 7 or self.paged:
            return
        try:
            if _uctypes is not None:
                a = _uctypes.addressof(self.data)
                L = _uctypes.LITTLE_ENDIAN
                self.u32 = _uctypes.struct(a, {"w": (_uctypes.ARRAY | 0, _uctypes.UINT32 | (n >> 2))},
                                           L).w
                self.f64 = _uctypes.struct(a, {"w": (_uctypes.ARRAY | 0, _uctypes.FLOAT64 | (n >> 3))},
                                           L).w
            else:
                return  # (CPython: memoryview casts measured no faster than struct there)
        except (AttributeError, TypeError, ValueError, MemoryError, NameError):
            self._release()
            return
        self.lim = n - 4
        self.lim8 = n - 8

    def _release(self):
        # the views must not be used while the bytes move
        self.u32 = self.f64 = None
        self.lim = self.lim8 = -1

    def size(self):
        return self.pages

    def grow(self, n):
        old = self.pages
        new = old + n
        limit = self.max if self.max is not None else MAX_PAGES
        if new > limit or new > MAX_PAGES:
            return -1
        if n == 0:
            return old
        want = new * PAGE
        if self.cap is not None and want > self.cap:
            return -1
        if self.paged:
            try:
                self.data.grow_to(want)
            except MemoryError:
                return -1
            self.pages = new
            return old
        self._release()
        try:
            # one zero page reused: no temporary as large as the growth
            data = self.data
            old_len = len(data)
            zero = _zero_page()
            while len(data) + PAGE <= want:
                data.extend(zero)
            if len(data) < want:
                data.extend(bytes(want - len(data)))
        except MemoryError:
            if len(self.data) > old_len:
                self.data[old_len:] = b""  # (MicroPython's bytearray has no slice deletion)
            data = None
            # a board whose heap has no block for the larger bytes: the memory goes paged (its
            # zero pages cost nothing), where a memory may (PAGED is not False)
            if self._pageable and _free() is not None and self._to_paged(want):
                self.pages = new
                return old
            self._views()
            return -1
        self.pages = new
        self._views()
        return old

    def _to_paged(self, n):
        # the dense bytes as a paged memory of n bytes, pages of zeros left unallocated; False
        # (the dense bytes kept) when even that does not fit
        from . import paged as _paged
        try:
            pages = _paged.Pages(n)
            data = self.data
            size = _paged.SIZE
            zero = bytes(size)
            for i in range(len(data) // size):
                chunk = data[i * size:(i + 1) * size]
                if chunk != zero:
                    pages.p[i] = bytearray(chunk)
                chunk = None
        except MemoryError:
            return False
        self.data = pages
        self.paged = True
        _reserve_pages(pages)
        _paged.install()
        self._views()
        return True

    def read(self, addr, n):
        if addr < 0 or addr + n > len(self.data):
            raise Trap("out of bounds memory access")
        return bytes(self.data[addr:addr + n])

    def write(self, addr, b):
        if addr < 0 or addr + len(b) > len(self.data):
            raise Trap("out of bounds memory access")
        self.data[addr:addr + len(b)] = b

    @property
    def type(self):
        return (self.min, self.max)


class Table:
    def __init__(self, reftype="funcref", min=0, max=None, init=None):
        self.reftype = reftype if isinstance(reftype, int) else NAME_TYPES[reftype]
        self.min = min
        self.max = max
        self.elems = [init] * min

    def size(self):
        return len(self.elems)

    def get(self, i):
        if not 0 <= i < len(self.elems):
            raise Trap("out of bounds table access")
        return self.elems[i]

    def set(self, i, v):
        if not 0 <= i < len(self.elems):
            raise Trap("out of bounds table access")
        self.elems[i] = v

    def grow(self, n, init=None):
        old = len(self.elems)
        new = old + n
        limit = self.max if self.max is not None else 0xFFFFFFFF
        if new > limit or new > 10000000:
            return -1
        try:
            self.elems.extend([init] * n)
        except MemoryError:
            return -1
        return old

    @property
    def type(self):
        return (TYPE_NAMES[self.reftype], self.min, self.max)


_NOBITS = object()


class Global:
    def __init__(self, valtype, mutable=False, value=0, bits=_NOBITS):
        self.valtype = valtype if isinstance(valtype, int) else NAME_TYPES[valtype]
        self.mutable = bool(mutable)
        if bits is _NOBITS:
            if value == 0 and (self.valtype == FUNCREF or self.valtype == EXTERNREF):
                value = None
            bits = to_bits(self.valtype, value)
        self.bits = bits

    @property
    def value(self):
        return from_bits(self.valtype, self.bits)

    @value.setter
    def value(self, v):
        self.bits = to_bits(self.valtype, v)

    @property
    def type(self):
        return (TYPE_NAMES[self.valtype], self.mutable)


class HostFunc:
    """A Python function a module can import.

    raw=False: fn receives Python values (signed ints, floats) and returns None, a value or a
    tuple; raw=True: bit patterns in and out (what WASI uses).
    """
    fast = False  # (fastrt.Fast, also found in Function.host, is a compiled wasm function)

    def __init__(self, params, results, fn, raw=False, name=None):
        self.params = _type_codes(params)
        self.results = _type_codes(results)
        self.fn = fn
        self.raw = raw
        self.owner = None
        self.name = name

    @property
    def type(self):
        return (_type_names(self.params), _type_names(self.results))

    def call_bits(self, args):
        if self.raw:
            r = self.fn(*args)
        else:
            ps = self.params
            r = self.fn(*[from_bits(ps[i], args[i]) for i in range(len(ps))])
        rs = self.results
        if not rs:
            return None
        if len(rs) == 1:
            if isinstance(r, (tuple, list)):
                r = r[0]
            return [r if self.raw else to_bits(rs[0], r)]
        if self.raw:
            return list(r)
        return [to_bits(rs[i], r[i]) for i in range(len(rs))]


class Function:
    """A function: defined in a wasm instance (host is None) or wrapping a HostFunc."""

    # defaults at class level: an instance holds only what differs (a board's heap pays per
    # attribute, for every function of a module)
    host = None
    _name = None
    code = None
    start = 0
    end = 0
    side = None
    local_init = None
    fused = True  # when False, the interpreter fuses its code once it is hot
    entry = None  # (code, start, side, end, nparams, local_init), set by the interpreter
    base = 0  # the module offset of code[0] (a function fused into a buffer of its own)

    def __init__(self, ftype, inst=None, idx=0, host=None, name=None):
        self.ftype = ftype  # (param codes, result codes)
        self.inst = inst
        self.idx = idx
        if host is not None:
            self.host = host
        if name is not None:
            self._name = name
        self.nparams = len(ftype[0])
        self.nres = len(ftype[1])
        self.heat = HEAT

    @property
    def type(self):
        return (_type_names(self.ftype[0]), _type_names(self.ftype[1]))

    @property
    def name(self):
        # names of defined functions come from the name section, decoded when first asked for
        if self._name is None and (self.host is None or self.host.fast) and self.inst is not None:
            self._name = _func_name(self.inst.module.decoded, self.idx) or False
        return self._name or None

    @name.setter
    def name(self, v):
        self._name = v

    def call_bits(self, args, limits=None):
        ps = self.ftype[0]
        if len(args) != len(ps):
            raise TypeError("%s expects %d arguments, got %d" % (
                self.name or "function", len(ps), len(args)))
        if self.host is not None:
            r = self.host.call_bits(list(args))
            return r if r is not None else []
        if limits is None and self.inst is not None:
            limits = self.inst.limits
        s = interp.execute(self, args, limits)
        return s

    def __call__(self, *args):
        ps = self.ftype[0]
        rs = self.ftype[1]
        if len(args) != len(ps):
            raise TypeError("%s expects %d arguments, got %d" % (
                self.name or "function", len(ps), len(args)))
        bits = [to_bits(ps[i], args[i]) for i in range(len(ps))]
        out = self.call_bits(bits)
        if not rs:
            return None
        if len(rs) == 1:
            return from_bits(rs[0], out[0])
        return tuple([from_bits(rs[i], out[i]) for i in range(len(rs))])

    def __repr__(self):
        return "<wasm function %s %r>" % (self.name or self.idx, self.type)


# ---------------------------------------------------------------- module

def _func_name(decoded, idx):
    # the name section's name of function idx, or None (a heap too full to read it: None too)
    try:
        from .sections import names
        return names(decoded.data, decoded.names_at, idx)
    except MemoryError:
        return None


def _env_fuse():
    try:
        import os
        return os.getenv("MPWASI_FUSE")
    except Exception:
        return None


# whether the interpreter runs fused code (fuse.py) and after how many calls plus loop iterations
# a function is fused; MPWASI_FUSE=0 turns fusion off, MPWASI_FUSE=always fuses at the first call,
# MPWASI_FUSE=own too, each function into a buffer of its own (as on a small board: FUSE_OWN)
FUSE = _env_fuse() not in ("0", "off", "never")
HEAT = 1 if _env_fuse() in ("always", "own") else 40  # (plus one per 8 bytes of the function's body)
FUSE_OWN = _env_fuse() == "own"
# MicroPython fuses in a copy of the whole module only with this much free heap beyond eight
# times the module's size; with less (a Pico), each hot function is fused into a buffer of its own
# while they fit in FUSE_SHARE of the heap that was free at the first instantiation, and only while
# the heap has four times the function's cost free (plus FUSE_SPARE)
FUSE_HEAP = 512 * 1024
FUSE_SHARE = 8  # (1/8)
FUSE_SPARE = 8 * 1024


def _free():
    # free heap bytes (MicroPython), None where the heap has no fixed size (CPython)
    try:
        import gc
        return gc.mem_free()
    except (ImportError, AttributeError):
        return None


class Module:
    """A decoded and validated module."""

    def __init__(self, data, decoded=None):
        # a bytearray is used as it is (no copy: on a board the module bytes are the largest
        # thing the engine holds); the caller must not change it afterwards. decoded: these
        # bytes' binary.ModuleData, decoded and validated by the host (image.load checked that it
        # is theirs); else they are decoded and validated here
        if isinstance(data, memoryview):
            data = bytes(data)
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("Module expects bytes")
        if decoded is not None:
            decoded.data = data
            self.decoded = decoded
            self.data = data
            self._fused = None
            return
        try:
            from . import binary, validate  # (a board loading a host's image imports neither)
            m = binary.decode(data)
            validate.validate(m)
        except (DecodeError, ValidationError):
            raise
        except MemoryError:
            raise DecodeError("module too large for the available memory")
        except RecursionError:
            raise DecodeError("module nesting too deep")
        except (IndexError, ValueError, KeyError, TypeError, OverflowError, UnicodeError) as e:
            # the decoder checks what it reads; this is a last line so no Python error escapes
            raise DecodeError("malformed module (%s)" % type(e).__name__)
        self.decoded = m  # the binary.ModuleData (types, imports, codes, ...)
        self.data = data
        self._fused = None
        self._budget = 0  # bytes left for functions fused into their own buffers

    def code(self):
        """(code the interpreter runs, constant pool, fused): a copy of the module's bytes
        that functions get fused in (fuse.py) once hot (Function.heat), where there is room for
        it; else the module's own bytes, with fused False where hot functions get buffers of
        their own (fuse_body), True where nothing is fused."""
        if self._fused is None:
            self._fused = (self.data, (), True)
            free = _free()
            # a board keeps its heap for the program unless it has plenty (PSRAM, the unix
            # port): the copy costs the module's size, and fusing allocates while it runs
            if FUSE and not FUSE_OWN and (free is None or free >= 8 * len(self.data) + FUSE_HEAP
                                          or HEAT == 1):
                try:
                    # on CPython (no fixed heap) the copy is a list: CPython indexes a list of
                    # small ints about four times faster than a bytearray; a board keeps bytes
                    copy = list(self.data) if free is None else bytearray(self.data)
                    self._fused = (copy, [], False)
                    self._done = bytearray(len(self.decoded.codes))
                except MemoryError:
                    pass
            if FUSE and self._fused[2] and (free is not None or FUSE_OWN):
                self._budget = free // FUSE_SHARE if free is not None else 1 << 30
                self._fused = (self.data, [], False)
        return self._fused

    def fuse_body(self, i, side=None):
        """Fuse the body of defined function i: in the copy of the module (once per module;
        returns None), or, without one, into a buffer of its own: returns (code, side table,
        base: the module offset of the buffer's offset 0), or False when there is no room
        (side: the function's side table)."""
        from . import fuse
        lt, start, end = self.decoded.codes[i]
        if self._fused[0] is self.data:
            cost = 2 * (end - start) + 4 * len(side) + 64
            free = _free()
            if cost > self._budget or (free is not None and free < 4 * cost + FUSE_SPARE):
                return False
            try:
                code, side = fuse.fuse_function(self.data, start, end, side, self._fused[1])
            except MemoryError:
                return False
            self._budget -= cost
            return code, side, start
        if not self._done[i]:
            self._done[i] = 1
            fuse.fuse_body(self.data, self._fused[0], start, end, self._fused[1])
        return None

    @property
    def imports(self):
        return [(mod, nm, KIND_NAMES[k]) for (mod, nm, k, d) in self.decoded.imports]

    @property
    def exports(self):
        return [(nm, KIND_NAMES[k]) for (nm, k, i) in self.decoded.exports]

    @property
    def func_names(self):
        from .sections import names
        return names(self.decoded.data, self.decoded.names_at)

    @property
    def global_names(self):
        from .sections import names
        return names(self.decoded.data, self.decoded.global_names_at)


def _env_image():
    try:
        import os
        return os.getenv("MPWASI_IMAGE") not in ("0", "off", "never")
    except Exception:
        return True


# MPWASI_IMAGE=0: never use a load image (every module decoded and validated where it runs)
IMAGE = _env_image()
# the load image of app.wasm is app.wasm.img (image.py has its format)
IMAGE_SUFFIX = ".img"


def load_image(path, data, use=None):
    """The decoded module of `data` from the load image beside `path` (path + IMAGE_SUFFIX, made by
    the host tools), or None when there is none or it is not these bytes' (then the module is
    decoded and validated in full), or use is False (None: IMAGE decides). The image reader is
    released again."""
    if not (IMAGE if use is None else use):
        return None
    try:
        import os
        os.stat(path + IMAGE_SUFFIX)
    except OSError:
        return None
    from . import image
    decoded = image.read(path + IMAGE_SUFFIX, data)
    release("image")
    return decoded


def release(*names):
    """Drops engine modules that only loading needed (mpwasi.binary, .validate, .image) so that the
    heap they hold is free for the program; a later load imports them again. MicroPython only
    (CPython has the room, and keeps them)."""
    import sys
    if sys.implementation.name != "micropython":
        return
    pkg = sys.modules.get("mpwasi")
    for n in names:
        sys.modules.pop("mpwasi." + n, None)
        if pkg is not None and n in pkg.__dict__:
            delattr(pkg, n)


def _type_of_extern(x):
    if isinstance(x, Function):
        return 0
    if isinstance(x, HostFunc):
        return 0
    if isinstance(x, Table):
        return 1
    if isinstance(x, Memory):
        return 2
    if isinstance(x, Global):
        return 3
    return -1


def _limits_match(lo, hi, want_lo, want_hi):
    if lo < want_lo:
        return False
    if want_hi is not None:
        if hi is None or hi > want_hi:
            return False
    return True


class Instance:
    def __init__(self, module, imports=None, limits=None):
        if isinstance(module, (bytes, bytearray)):
            module = Module(module)
        m = module.decoded
        self.module = module
        self.limits = limits if limits is not None else Limits()
        self.types = m.types
        self.funcs = []
        self.tables = []
        self.memory = None
        self.globals = []
        self.exports = {}
        imports = imports or {}
        owners = []
        # ---- link imports
        for (modname, name, kind, desc) in m.imports:
            ns = imports.get(modname)
            if ns is None or name not in ns:
                raise LinkError("unknown import %s.%s" % (modname, name))
            x = ns[name]
            k = _type_of_extern(x)
            if k != kind:
                raise LinkError("incompatible import type for %s.%s" % (modname, name))
            if kind == 0:
                want = m.types[desc]
                if isinstance(x, HostFunc):
                    if (x.params, x.results) != want:
                        raise LinkError("incompatible import type for %s.%s" % (modname, name))
                    f = Function(want, self, len(self.funcs), host=x, name=name)
                    if x.owner is not None and x.owner not in owners:
                        owners.append(x.owner)
                else:
                    if x.ftype != want:
                        raise LinkError("incompatible import type for %s.%s" % (modname, name))
                    f = x
                self.funcs.append(f)
            elif kind == 1:
                rt, lo, hi = desc
                if x.reftype != rt or not _limits_match(len(x.elems), x.max, lo, hi):
                    raise LinkError("incompatible import type for %s.%s" % (modname, name))
                self.tables.append(x)
            elif kind == 2:
                lo, hi = desc
                if not _limits_match(x.pages, x.max, lo, hi):
                    raise LinkError("incompatible import type for %s.%s" % (modname, name))
                self.memory = x
            else:
                t, mut = desc
                if x.valtype != t or x.mutable != bool(mut):
                    raise LinkError("incompatible import type for %s.%s" % (modname, name))
                self.globals.append(x)
        # ---- the linear memory first: the largest block, allocated before the heap fills with
        # small objects (on a board's fragmented heap the order decides whether it fits)
        cap = self.limits.memory_bytes
        for (lo, hi) in m.mems[m.n_imported_mems:]:
            self.memory = Memory(lo, hi, cap, getattr(self.limits, "paged", None))
        # ---- define functions
        data, self.consts, fused = module.code()
        nimp = m.n_imported_funcs
        local_inits = {}  # functions with the same locals share one initial list
        for i in range(len(m.codes)):
            idx = nimp + i
            lt, start, end = m.codes[i]
            f = Function(m.types[m.funcs[idx]], self, idx)
            f.code = data
            if not fused:
                f.fused = fused
            # fusing costs time in proportion to the body: a large function must be hotter
            f.heat = HEAT + ((end - start) >> 3) if HEAT > 1 else 1
            f.start = start
            f.end = end
            f.side = m.side_tables[i]
            if lt:
                li = local_inits.get(lt)
                if li is None:
                    li = [None if t == FUNCREF or t == EXTERNREF else 0 for t in lt]
                    local_inits[lt] = li
                f.local_init = li
            self.funcs.append(f)
        for (rt, lo, hi) in m.tables[m.n_imported_tables:]:
            if lo > 10000000:
                raise Trap("out of memory: table of %d elements" % lo)
            self.tables.append(Table(rt, lo, hi))
        ngi = m.n_imported_globals
        for i in range(len(m.global_inits)):
            t, mut = m.globals[ngi + i]
            self.globals.append(Global(t, mut, bits=self._const(m.global_inits[i])))
        # ---- exports
        for (name, kind, idx) in m.exports:
            if kind == 0:
                self.exports[name] = self.funcs[idx]
            elif kind == 1:
                self.exports[name] = self.tables[idx]
            elif kind == 2:
                self.exports[name] = self.memory
            else:
                self.exports[name] = self.globals[idx]
        # ---- segments (element items are resolved once, here)
        self.elems = []
        for (mode, tidx, offset, rt, items) in m.elems:
            self.elems.append([self._const(it) for it in items])
        self.datas = [(s, e) for (mode, mem, off, s, e) in m.datas]
        for owner in owners:
            bind = getattr(owner, "bind", None)
            if bind is not None:
                bind(self)
        for i in range(len(m.elems)):
            mode, tidx, offset, rt, items = m.elems[i]
            if mode == 0:
                off = self._const(offset)
                tab = self.tables[tidx].elems
                vals = self.elems[i]
                if off + len(vals) > len(tab):
                    raise Trap("out of bounds table access")
                tab[off:off + len(vals)] = vals
                self.elems[i] = None
            elif mode == 2:
                self.elems[i] = None
        for i in range(len(m.datas)):
            mode, mem, offset, s, e = m.datas[i]
            if mode == 0:
                off = self._const(offset)
                buf = self.memory.data
                if off + (e - s) > len(buf):
                    raise Trap("out of bounds memory access")
                buf[off:off + (e - s)] = data[s:e]
                self.datas[i] = None
        if instance_hook is not None:
            instance_hook(self)
        if m.start is not None:
            self.funcs[m.start].call_bits([])

    def _const(self, expr):
        op, v = expr
        if op == 0x23:
            return self.globals[v].bits
        if op == 0xD0:
            return None
        if op == 0xD2:
            return self.funcs[v]
        return v

    def func_name(self, idx):
        f = self.funcs[idx] if 0 <= idx < len(self.funcs) else None
        return f.name if f is not None else None


def reserve_memory(data, limits):
    """A bytearray as large as the initial linear memory module bytes define (capped by the
    limits; sections.initial_memory), or None: held while decoding on a small heap, so that the
    memory's one large block is still there when the instance is made."""
    from .sections import initial_memory
    want = initial_memory(data)
    cap = getattr(limits, "memory_bytes", None)
    if cap is not None and cap < want:
        want = cap
    if not want:
        return None
    try:
        return bytearray(want)
    except MemoryError:
        return None
