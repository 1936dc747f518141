"""The UF2 file format: a writer (to build images) and a reader/checker (before flashing one).

A UF2 file is a sequence of independent 512-byte blocks (Microsoft's documented format):

    offset  field
    0       magic 0x0A324655 ("UF2\\n")
    4       magic 0x9E5D5157
    8       flags
    12      target address
    16      payload size (at most 476; 256 for the RP2040/RP2350 bootroms)
    20      block number (0-based)
    24      number of blocks in the file
    28      family id (flag 0x2000 set), else file size / zero
    32      data[476]
    508     magic 0x0AB16F30

All fields are little-endian 32-bit words.
"""

import struct

__all__ = ["UF2Error", "UF2Block", "FamilyStream", "build_uf2", "parse_uf2", "summarize", "family_name", "BLOCK_SIZE", "PAYLOAD_MAX",
           "MAGIC_START0", "MAGIC_START1", "MAGIC_END", "FLAG_NOT_MAIN_FLASH", "FLAG_FILE_CONTAINER",
           "FLAG_FAMILY_ID_PRESENT", "FLAG_MD5_PRESENT", "FLAG_EXTENSION_TAGS", "FAMILY_NAMES"]

BLOCK_SIZE = 512
PAYLOAD_MAX = 476
MAGIC_START0 = 0x0A324655
MAGIC_START1 = 0x9E5D5157
MAGIC_END = 0x0AB16F30

FLAG_NOT_MAIN_FLASH = 0x00000001
FLAG_FILE_CONTAINER = 0x00001000
FLAG_FAMILY_ID_PRESENT = 0x00002000
FLAG_MD5_PRESENT = 0x00004000
FLAG_EXTENSION_TAGS = 0x00008000

# Family ids of the chips this project flashes (UF2 family list; RP2350 datasheet, "UF2 targeting rules").
FAMILY_NAMES = {
    0xE48BFF56: "rp2040",
    0xE48BFF57: "absolute",
    0xE48BFF58: "data",
    0xE48BFF59: "rp2350-arm-s",
    0xE48BFF5A: "rp2350-riscv",
    0xE48BFF5B: "rp2350-arm-ns",
    0x1C5F21B0: "esp32",
    0xBFDD4EEE: "esp32s2",
    0xC47E5767: "esp32s3",
    0xD42BA06C: "esp32c3",
}

_HEADER = struct.Struct("<8I")


class UF2Error(ValueError):
    """A file that is not a well-formed UF2 image."""


class UF2Block:
    __slots__ = ("index", "flags", "address", "payload_size", "block_no", "num_blocks", "family_id",
                 "file_size", "data")

    def __init__(self, index, flags, address, payload_size, block_no, num_blocks, word7, data):
        self.index = index            # position of the block in the file
        self.flags = flags
        self.address = address
        self.payload_size = payload_size
        self.block_no = block_no
        self.num_blocks = num_blocks
        self.family_id = word7 if flags & FLAG_FAMILY_ID_PRESENT else None
        self.file_size = None if flags & FLAG_FAMILY_ID_PRESENT else word7
        self.data = data              # the payload (payload_size bytes)

    @property
    def is_main_flash(self):
        return not (self.flags & FLAG_NOT_MAIN_FLASH)


def family_name(family_id):
    if family_id is None:
        return "no family id"
    return "%#010x (%s)" % (family_id, FAMILY_NAMES.get(family_id, "unknown family"))


def build_uf2(data, address, family_id, payload_size=256, flags=FLAG_FAMILY_ID_PRESENT, fill=b"\x00"):
    """Bytes of a UF2 file carrying ``data`` written from ``address``, ``payload_size`` bytes a block.

    ``data`` may also be a list of (address, bytes) chunks, each padded to whole payloads.
    """
    if not 0 < payload_size <= PAYLOAD_MAX:
        raise ValueError("payload_size must be 1..%d" % PAYLOAD_MAX)
    if family_id is not None:
        flags |= FLAG_FAMILY_ID_PRESENT
    else:
        flags &= ~FLAG_FAMILY_ID_PRESENT
    chunks = [(address, bytes(data))] if isinstance(data, (bytes, bytearray, memoryview)) else list(data)
    pieces = []
    for start, chunk in chunks:
        for off in range(0, len(chunk), payload_size):
            piece = chunk[off:off + payload_size]
            pieces.append((start + off, piece + fill * (payload_size - len(piece))))
    total = len(pieces)
    word7 = family_id if family_id is not None else sum(len(c) for _, c in chunks)
    out = bytearray()
    for n, (addr, piece) in enumerate(pieces):
        out += _HEADER.pack(MAGIC_START0, MAGIC_START1, flags, addr, payload_size, n, total, word7)
        out += piece + b"\x00" * (PAYLOAD_MAX - payload_size)
        out += struct.pack("<I", MAGIC_END)
    return bytes(out)


def parse_uf2(data):
    """The blocks of a UF2 file; UF2Error if it is empty, not whole blocks, or a block is malformed."""
    if not data:
        raise UF2Error("empty file")
    if len(data) < BLOCK_SIZE or struct.unpack_from("<2I", data, 0) != (MAGIC_START0, MAGIC_START1):
        raise UF2Error("not a UF2 file (no UF2 magic numbers at the start)")
    if len(data) % BLOCK_SIZE:
        raise UF2Error("truncated: %d bytes is not a whole number of %d-byte UF2 blocks (%d full blocks, %d bytes "
                       "over)" % (len(data), BLOCK_SIZE, len(data) // BLOCK_SIZE, len(data) % BLOCK_SIZE))
    blocks = []
    for i in range(len(data) // BLOCK_SIZE):
        base = i * BLOCK_SIZE
        m0, m1, flags, addr, size, no, count, word7 = _HEADER.unpack_from(data, base)
        (end,) = struct.unpack_from("<I", data, base + BLOCK_SIZE - 4)
        if (m0, m1, end) != (MAGIC_START0, MAGIC_START1, MAGIC_END):
            raise UF2Error("block %d (file offset %#x) has bad magic numbers: corrupted or not UF2" % (i, base))
        if size > PAYLOAD_MAX:
            raise UF2Error("block %d: payload size %d is larger than %d" % (i, size, PAYLOAD_MAX))
        if count == 0 or no >= count:
            raise UF2Error("block %d: block number %d is not below its block count %d" % (i, no, count))
        blocks.append(UF2Block(i, flags, addr, size, no, count, word7, bytes(data[base + 32:base + 32 + size])))
    return blocks


class FamilyStream:
    """The blocks of one family id within a file: a UF2 file may carry several (e.g. the RP2350's
    'absolute' erratum block ahead of the image)."""

    def __init__(self, family_id):
        self.family_id = family_id
        self.blocks = []

    @property
    def num_blocks(self):
        counts = set(b.num_blocks for b in self.blocks)
        return counts.pop() if len(counts) == 1 else None

    @property
    def complete(self):
        n = self.num_blocks
        return n is not None and sorted(b.block_no for b in self.blocks) == list(range(n))

    @property
    def address_range(self):
        main = [b for b in self.blocks if b.is_main_flash]
        if not main:
            return None
        return min(b.address for b in main), max(b.address + b.payload_size for b in main)

    def problems(self):
        """Why this stream is not one complete, consistent image ([] if it is)."""
        out = []
        counts = sorted(set(b.num_blocks for b in self.blocks))
        if len(counts) > 1:
            out.append("blocks disagree on the block count (%s)" % ", ".join(map(str, counts)))
        else:
            n = counts[0]
            numbers = [b.block_no for b in self.blocks]
            missing = sorted(set(range(n)) - set(numbers))
            dups = sorted(set(x for x in numbers if numbers.count(x) > 1))
            if missing:
                out.append("%d of %d blocks missing (first missing: block %d) - the file is truncated or "
                           "damaged" % (len(missing), n, missing[0]))
            if dups:
                out.append("block numbers repeated: %s" % ", ".join(map(str, dups[:5])))
        return out


def summarize(blocks):
    """{family_id: FamilyStream} over the blocks, in order of first appearance."""
    streams = {}
    for b in blocks:
        streams.setdefault(b.family_id, FamilyStream(b.family_id)).blocks.append(b)
    return streams
