"""Board profiles: the data files in ``boards/<name>.json``, read and checked.

A profile says what a board is (chip, flash size, the MicroPython heap a user can expect, float
precision, the ``mpy-cross -march`` name), how MicroPython is flashed onto it (esptool with a chip name,
offset and baud; or UF2 with a family id) and which USB vendor/product ids it shows, running
MicroPython and in its bootloader.  ``boards``, ``flash``, ``install`` (mpy-cross arch) and the virtual
board all read the same files.

Numbers in the files may be written as JSON integers or as strings: ``"0x1000"``, ``"4MB"``, ``"512KB"``.
The directory is ``$MPWASI_BOARDS`` if set, else the package's ``host_tools/boards`` (an installed
wheel ships the files there), else ``boards/`` at the top of the repository (a checkout, an
editable install).
"""

import json
import os

__all__ = ["Profile", "ProfileError", "load_profile", "all_profiles", "profile_names", "boards_dir",
           "parse_number", "MPY_ARCHS"]

# The architectures `mpy-cross -march=` accepts (mpy-cross --help, MicroPython 1.2x).
MPY_ARCHS = ("x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
             "xtensa", "xtensawin", "rv32imc", "rv64imc")

_SIZE_SUFFIXES = {"B": 1, "KB": 1024, "K": 1024, "MB": 1024 * 1024, "M": 1024 * 1024}


class ProfileError(KeyError):
    """An unknown board name or a malformed board file. ``str(e)`` is the readable message."""

    def __str__(self):
        return self.args[0] if self.args else "profile error"


def boards_dir():
    """The directory holding the board files."""
    env = os.environ.get("MPWASI_BOARDS")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    installed = os.path.join(here, "boards")
    if os.path.isdir(installed):
        return installed
    return os.path.join(os.path.dirname(here), "boards")


def parse_number(value, what="value"):
    """An int from a JSON int, a hex/decimal string, or a size such as ``"4MB"``."""
    if isinstance(value, bool):
        raise ValueError("%s: expected a number, got %r" % (what, value))
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().upper().replace(" ", "")
        for suffix in ("KB", "MB", "K", "M", "B"):
            if text.endswith(suffix) and text[:-len(suffix)].isdigit():
                return int(text[:-len(suffix)]) * _SIZE_SUFFIXES[suffix]
        try:
            return int(text, 0)
        except ValueError:
            pass
    raise ValueError("%s: expected a number (e.g. 4096, \"0x1000\", \"4MB\"), got %r" % (what, value))


class Profile:
    """One board. Attributes mirror the JSON file, with numbers parsed to ints.

    name, description, chip, family ("esp32" | "rp2"), flash_size, heap_bytes, float_bits, mpy_arch,
    flash (dict: method "esptool" with chip/offset/baud, or method "uf2" with family_id,
    extra_family_ids, bootsel_board_id, bootsel_volume), usb ({"micropython": [(vid, pid)...],
    "bootloader": [...]}), vfs_size, vfs_block_size, notes, heap_note, path (the file it came from).
    """

    def __init__(self, data, path=None):
        self.path = path
        where = path or "<profile>"
        try:
            self.name = _req_str(data, "name", where)
            self.description = data.get("description", "")
            self.chip = _req_str(data, "chip", where)
            self.family = data.get("family") or ("esp32" if self.chip.startswith("esp") else "rp2")
            self.flash_size = parse_number(_req(data, "flash_size", where), "flash_size")
            self.heap_bytes = parse_number(_req(data, "heap_bytes", where), "heap_bytes")
            self.float_bits = parse_number(_req(data, "float_bits", where), "float_bits")
            self.mpy_arch = _req_str(data, "mpy_arch", where)
            self.vfs_size = parse_number(_req(data, "vfs_size", where), "vfs_size")
            self.vfs_block_size = parse_number(data.get("vfs_block_size", 4096), "vfs_block_size")
            self.flash = _parse_flash(_req(data, "flash", where))
            self.usb = _parse_usb(_req(data, "usb", where))
        except ValueError as e:
            raise ProfileError("board file %s: %s" % (where, e)) from None
        self.notes = data.get("notes", "")
        self.heap_note = data.get("heap_note", "")
        self.raw = data
        if self.float_bits not in (32, 64):
            raise ProfileError("board file %s: float_bits must be 32 or 64, not %r" % (where, self.float_bits))
        if self.mpy_arch not in MPY_ARCHS:
            raise ProfileError("board file %s: mpy_arch %r is not an mpy-cross -march name (%s)"
                               % (where, self.mpy_arch, ", ".join(MPY_ARCHS)))
        if self.vfs_size % self.vfs_block_size or self.vfs_size > self.flash_size:
            raise ProfileError("board file %s: vfs_size %#x must be a multiple of vfs_block_size and fit in flash"
                               % (where, self.vfs_size))

    @property
    def flash_method(self):
        return self.flash["method"]

    def usb_ids(self, state):
        """The (vid, pid) pairs for state "micropython" or "bootloader"."""
        return list(self.usb.get(state, ()))

    def to_dict(self):
        """A JSON-ready summary (numbers as ints)."""
        return {"name": self.name, "description": self.description, "chip": self.chip, "family": self.family,
                "flash_size": self.flash_size, "heap_bytes": self.heap_bytes, "float_bits": self.float_bits,
                "mpy_arch": self.mpy_arch, "flash": dict(self.flash),
                "usb": {k: [list(p) for p in v] for k, v in self.usb.items()},
                "vfs_size": self.vfs_size, "vfs_block_size": self.vfs_block_size}

    def __repr__(self):
        return "Profile(%r)" % self.name


def _req(data, key, where):
    if key not in data:
        raise ValueError("missing field %r" % key)
    return data[key]


def _req_str(data, key, where):
    value = _req(data, key, where)
    if not isinstance(value, str) or not value:
        raise ValueError("field %r must be a non-empty string" % key)
    return value


def _parse_flash(flash):
    if not isinstance(flash, dict):
        raise ValueError("field 'flash' must be an object")
    method = flash.get("method")
    out = dict(flash)
    if method == "esptool":
        if not flash.get("chip"):
            raise ValueError("flash.chip (the esptool chip name) is required for method esptool")
        out["offset"] = parse_number(flash.get("offset", 0), "flash.offset")
        out["baud"] = parse_number(flash.get("baud", 460800), "flash.baud")
    elif method == "uf2":
        out["family_id"] = parse_number(_req(flash, "family_id", None), "flash.family_id")
        out["extra_family_ids"] = [parse_number(x, "flash.extra_family_ids") for x in flash.get("extra_family_ids", [])]
        out.setdefault("bootsel_board_id", None)
        out.setdefault("bootsel_volume", None)
    else:
        raise ValueError("flash.method must be 'esptool' or 'uf2', not %r" % (method,))
    return out


def _parse_usb(usb):
    if not isinstance(usb, dict):
        raise ValueError("field 'usb' must be an object")
    out = {}
    for state in ("micropython", "bootloader"):
        pairs = []
        for pair in usb.get(state, []):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError("usb.%s entries must be [vid, pid] pairs, got %r" % (state, pair))
            pairs.append((parse_number(pair[0], "usb vid"), parse_number(pair[1], "usb pid")))
        out[state] = pairs
    return out


_cache = {}


def profile_names():
    """The board names available, sorted."""
    d = boards_dir()
    try:
        files = os.listdir(d)
    except OSError:
        return []
    return sorted(f[:-5] for f in files if f.endswith(".json"))


def load_profile(name):
    """The Profile for board ``name``; ProfileError (a KeyError) if there is none."""
    if isinstance(name, Profile):
        return name
    d = boards_dir()
    path = os.path.join(d, "%s.json" % name)
    if not name or "/" in name or os.sep in name or not os.path.isfile(path):
        known = ", ".join(profile_names()) or "(none: %s is empty)" % d
        raise ProfileError("unknown board %r; known: %s" % (name, known))
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    if key not in _cache:
        try:
            with open(path) as f:
                data = json.load(f)
        except ValueError as e:
            raise ProfileError("board file %s is not valid JSON: %s" % (path, e)) from None
        profile = Profile(data, path)
        if profile.name != name:
            raise ProfileError("board file %s names itself %r; the name must match the file name" % (path, profile.name))
        _cache[key] = profile
    return _cache[key]


def all_profiles():
    """Every board profile, sorted by name."""
    return [load_profile(n) for n in profile_names()]
