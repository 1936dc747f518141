"""Load images: a module decoded and validated on the host, for the board to load without doing it.

`dump(m)` (the host, after binary.decode + validate.validate) turns the decoded module into bytes;
`load(image_bytes, data)` (the board) gives the binary.ModuleData back, side tables included, or
None when the image is not the one for these module bytes, so the caller decodes and validates as
without one. An image is used only when all of these hold:
  - it starts with MAGIC and this engine's FORMAT,
  - the SHA-256 it records is that of `data`, the module bytes the engine holds (after
    wasi.read_module dropped the custom sections other than "name": the host dumps those bytes),
  - the SHA-256 of its payload is the one it records (an edited or truncated image fails here),
  - the payload decodes completely into the fields a ModuleData has.
Layout: MAGIC (4) FORMAT (1) sha256(module) (32) sha256(payload) (32) payload. The payload is one
value of a small tagged encoding: None/True/False, ints (LEB128, sign by tag), str, bytes, tuple,
list, array (typecode + raw little-endian bytes).
Imported only when an image is there; the loader releases it once the module is loaded.
"""

from array import array

from .leb import uleb, encode as uleb_bytes

MAGIC = b"MPWI"
FORMAT = 1
HEAD = 4 + 1 + 32 + 32
FIELDS = ("types", "imports", "funcs", "tables", "mems", "globals", "global_inits", "exports", "start",
          "elems", "datas", "data_count", "codes", "n_imported_funcs", "n_imported_tables",
          "n_imported_mems", "n_imported_globals", "names_at", "side_tables")


def _sha256(b):
    import hashlib
    return hashlib.sha256(b).digest()


# ---------------------------------------------------------------- writing (the host)

def _uleb(out, v):
    out.extend(uleb_bytes(v))


def _put(out, v):
    if v is None:
        out.append(0x4E)  # N
    elif v is True:
        out.append(0x54)  # T
    elif v is False:
        out.append(0x46)  # F
    elif isinstance(v, int):
        if v >= 0:
            out.append(0x69)  # i
            _uleb(out, v)
        else:
            out.append(0x6E)  # n
            _uleb(out, -v)
    elif isinstance(v, str):
        b = v.encode("utf-8")
        out.append(0x73)  # s
        _uleb(out, len(b))
        out.extend(b)
    elif isinstance(v, (bytes, bytearray)):
        out.append(0x62)  # b
        _uleb(out, len(v))
        out.extend(v)
    elif isinstance(v, tuple) or isinstance(v, list):
        out.append(0x28 if isinstance(v, tuple) else 0x5B)  # ( [
        _uleb(out, len(v))
        for x in v:
            _put(out, x)
    elif isinstance(v, array):
        raw = bytes(v)
        out.append(0x61)  # a
        out.append(ord(v.typecode))
        _uleb(out, len(raw))
        out.extend(raw)
    else:
        raise TypeError("load image: cannot store %r" % (type(v),))


def dump(m):
    """The image of a decoded and validated binary.ModuleData (m.data: the module bytes)."""
    out = bytearray()
    _put(out, tuple([getattr(m, f) for f in FIELDS]))
    payload = bytes(out)
    return MAGIC + bytes((FORMAT,)) + _sha256(bytes(m.data)) + _sha256(payload) + payload


# ---------------------------------------------------------------- reading (the board)

class _Bad(Exception):
    pass


def _value(b, p):
    # one value at p: (value, position after it)
    t = b[p]
    p += 1
    if t == 0x4E:
        return None, p
    if t == 0x54:
        return True, p
    if t == 0x46:
        return False, p
    code = None
    if t == 0x61:
        code = chr(b[p])
        p += 1
    v, p = uleb(b, p)
    if t == 0x69:
        return v, p
    if t == 0x6E:
        return -v, p
    if t == 0x28 or t == 0x5B:
        if v > len(b) - p:
            raise _Bad()
        # (sized once: a list grown item by item leaves a trail of freed blocks on a small heap)
        items = [None] * v
        for i in range(v):
            items[i], p = _value(b, p)
        return (tuple(items) if t == 0x28 else items), p
    if p + v > len(b):
        raise _Bad()
    # (b: a memoryview, so a slice copies nothing; an array is made from bytes, which it reads as
    # its items' little-endian bytes)
    if t == 0x62:
        return bytes(b[p:p + v]), p + v
    if t == 0x73:
        return str(bytes(b[p:p + v]), "utf-8"), p + v
    if t == 0x61:
        return array(code, bytes(b[p:p + v])), p + v
    raise _Bad()


def load(img, data):
    """The binary.ModuleData of `data` from its image bytes `img`, or None if the image is not
    this module's (or not this engine's format, or damaged)."""
    try:
        if len(img) < HEAD or bytes(img[:4]) != MAGIC or img[4] != FORMAT:
            return None
        mv = memoryview(img)
        if bytes(mv[5:37]) != _sha256(data):
            return None
        payload = mv[HEAD:]
        if bytes(mv[37:69]) != _sha256(payload):
            return None
        fields, end = _value(mv, HEAD)
        if end != len(img) or not isinstance(fields, tuple) or len(fields) != len(FIELDS):
            return None
    except (_Bad, IndexError, ValueError, TypeError, UnicodeError, ImportError, AttributeError):
        return None
    from .moduledata import ModuleData
    m = ModuleData(data)
    for i in range(len(FIELDS)):
        setattr(m, FIELDS[i], fields[i])
    return m


def read(path, data):
    """load() of the image file at `path`, or None if there is none."""
    try:
        with open(path, "rb") as f:
            img = f.read()
    except OSError:
        return None
    return load(img, data)
