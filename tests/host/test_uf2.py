"""The UF2 writer and reader (host_tools/uf2.py) against the documented block layout."""

import os
import struct
import sys

import pytest


from host_tools import uf2  # noqa: E402

RP2040 = 0xE48BFF56
RP2350_ARM_S = 0xE48BFF59


def test_blocks_follow_the_documented_layout():
    payload = bytes(range(256)) + b"\xAB" * 100
    data = uf2.build_uf2(payload, 0x10000000, RP2040)
    assert len(data) == 2 * 512
    for n in range(2):
        block = data[n * 512:(n + 1) * 512]
        m0, m1, flags, addr, size, no, count, fam = struct.unpack_from("<8I", block, 0)
        assert (m0, m1) == (0x0A324655, 0x9E5D5157)
        assert block[:4] == b"UF2\n"
        assert struct.unpack_from("<I", block, 508)[0] == 0x0AB16F30
        assert flags & 0x2000
        assert (addr, size, no, count, fam) == (0x10000000 + 256 * n, 256, n, 2, RP2040)
    assert data[32:32 + 256] == bytes(range(256))
    # the second block carries the 100 remaining bytes, padded to the 256-byte payload
    assert data[512 + 32:512 + 32 + 256] == b"\xAB" * 100 + b"\x00" * 156
    # the unused tail of the 476-byte data area is zero
    assert data[32 + 256:508] == b"\x00" * (476 - 256)


def test_reader_round_trips_the_writer():
    payload = os.urandom(256 * 7 + 13)
    blocks = uf2.parse_uf2(uf2.build_uf2(payload, 0x10000000, RP2350_ARM_S))
    assert len(blocks) == 8
    assert [b.block_no for b in blocks] == list(range(8))
    assert all(b.family_id == RP2350_ARM_S and b.num_blocks == 8 for b in blocks)
    assert b"".join(b.data for b in blocks)[:len(payload)] == payload
    stream = uf2.summarize(blocks)[RP2350_ARM_S]
    assert stream.complete and stream.problems() == []
    assert stream.address_range == (0x10000000, 0x10000000 + 8 * 256)


def test_without_family_id_the_word_is_the_file_size():
    data = uf2.build_uf2(b"x" * 300, 0x2000, None, payload_size=476)
    blocks = uf2.parse_uf2(data)
    assert blocks[0].family_id is None and blocks[0].file_size == 300
    assert not blocks[0].flags & uf2.FLAG_FAMILY_ID_PRESENT


def test_truncated_file_is_rejected():
    data = uf2.build_uf2(b"\x01" * 1024, 0x10000000, RP2040)
    with pytest.raises(uf2.UF2Error, match="truncated"):
        uf2.parse_uf2(data[:-100])


def test_non_uf2_and_empty_are_rejected():
    with pytest.raises(uf2.UF2Error, match="not a UF2 file"):
        uf2.parse_uf2(b"\x7fELF" + b"\0" * 1020)
    with pytest.raises(uf2.UF2Error, match="empty"):
        uf2.parse_uf2(b"")


def test_corrupted_end_magic_names_the_block():
    data = bytearray(uf2.build_uf2(b"\x01" * 1024, 0x10000000, RP2040))
    data[2 * 512 + 508] ^= 0xFF
    with pytest.raises(uf2.UF2Error, match="block 2"):
        uf2.parse_uf2(bytes(data))


def test_missing_block_is_a_problem_of_its_stream():
    data = uf2.build_uf2(b"\x01" * 1024, 0x10000000, RP2040)
    without_block_1 = data[:512] + data[1024:]
    streams = uf2.summarize(uf2.parse_uf2(without_block_1))
    stream = streams[RP2040]
    assert not stream.complete
    assert "1 of 4 blocks missing (first missing: block 1)" in stream.problems()[0]


def test_several_families_are_separate_streams():
    abs_block = uf2.build_uf2(b"\xEF" * 256, 0x10FFFF00, 0xE48BFF57)
    image = uf2.build_uf2(b"\x02" * 512, 0x10000000, RP2350_ARM_S)
    streams = uf2.summarize(uf2.parse_uf2(abs_block + image))
    assert list(streams) == [0xE48BFF57, RP2350_ARM_S]
    assert streams[RP2350_ARM_S].complete
    assert uf2.family_name(RP2350_ARM_S) == "0xe48bff59 (rp2350-arm-s)"


def test_payload_size_limit():
    with pytest.raises(ValueError):
        uf2.build_uf2(b"x", 0, RP2040, payload_size=477)
