"""A look at module bytes, or a module file, before decoding: where the sections are, and how much
linear memory the module starts with; the names of the name section, read when asked for (a
backtrace, the debugger). No checks (the decoder makes them); the board reads a module file with
this alone when a load image spares it the decoder (wasi.read_module), and keeps it for the names.
"""

from . import leb


def sections(data):
    """[(id, start, end)] of the sections of module bytes that are not decoded yet (no checks: a
    truncated module's last section ends where the bytes do). For a look before decoding."""
    out = []
    at = 8
    n = len(data)
    while at < n:
        sid = data[at]
        size, at = leb.uleb_at(data, at + 1)
        end = at + size
        out.append((sid, at, end if end < n else n))
        at = end
    return out


def file_sections(f):
    """[(id, file offset, length)] of the sections of an open module file, id byte and size
    included in each span, custom sections with their name: [(0, start, length, name)] entries
    carry it as a fourth item (b"" past 64 bytes). The file is read from offset 8 on; no checks:
    a truncated file's last span ends where its declared size does (the decoder reports it)."""
    out = []
    pos = 8
    f.seek(8)
    while True:
        head = f.read(1)
        if not head:
            return out
        size, used = leb.read_file(f)
        start = pos
        pos += 1 + used + size
        if head[0] == 0:
            name_len, _ = leb.read_file(f)
            out.append((0, start, pos - start, f.read(name_len) if name_len <= 64 else b""))
        else:
            out.append((head[0], start, pos - start))
        f.seek(pos)


def initial_memory(data):
    """The bytes of linear memory module bytes define to start with (the minimum of the memory
    section's first memory), or 0: none defined, a shared or 64-bit memory, or unreadable."""
    for sid, at, end in sections(data):
        if sid == 5:
            if at + 2 >= end or data[at] == 0 or data[at + 1] > 1:
                return 0
            return leb.uleb_at(data, at + 2)[0] * 65536
    return 0


def names(data, at, want=None):
    """{index: name} of the name map at `at` ((start, end) in module bytes: the name section's
    function names, or LLVM's global names; None: {}); with `want`, that index's name alone, or
    None. What cannot be read (cut short, not UTF-8) ends the map there."""
    out = {}
    if at is None:
        return None if want is not None else out
    p, end = at
    try:
        n, p = leb.uleb_at(data, p)
        for _ in range(n):
            idx, p = leb.uleb_at(data, p)
            k, p = leb.uleb_at(data, p)
            if p + k > end:
                break
            if want is None or idx == want:
                name = str(bytes(data[p:p + k]), "utf-8")
                if want is not None:
                    return name
                out[idx] = name
            p += k
    except (UnicodeError, IndexError, ValueError):
        pass
    return None if want is not None else out
