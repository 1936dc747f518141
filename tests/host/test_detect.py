"""Board detection (host_tools/detect.py) from real pyserial ListPortInfo objects and BOOTSEL folders."""

import os
import sys

import pytest
from serial.tools.list_ports_common import ListPortInfo


from host_tools.detect import detect_boards, find_bootsel_drives, read_info_uf2  # noqa: E402
from host_tools.profiles import all_profiles  # noqa: E402

RP2040_INFO = "UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n"
RP2350_INFO = "UF2 Bootloader v1.0\nModel: Raspberry Pi RP2350\nBoard-ID: RP2350\n"


def port(device, vid, pid, description="USB device", serial_number=None):
    p = ListPortInfo(device, skip_link_detection=True)
    p.vid, p.pid, p.description, p.serial_number = vid, pid, description, serial_number
    return p


def bootsel(tmp_path, name, info):
    d = tmp_path / name
    d.mkdir()
    (d / "INFO_UF2.TXT").write_text(info)
    (d / "INDEX.HTM").write_text("<html></html>")
    return str(d)


@pytest.mark.parametrize("profile", all_profiles(), ids=lambda p: p.name)
def test_each_profiles_ids_are_recognised_in_each_state(profile):
    for state in ("micropython", "bootloader"):
        for vid, pid in profile.usb_ids(state):
            found = detect_boards([port("/dev/ttyX", vid, pid)], drives=[])
            assert len(found) == 1
            b = found[0]
            assert profile.name in b.candidates
            assert (b.vid, b.pid) == (vid, pid) and b.port == "/dev/ttyX"
            if b.profile is not None:
                assert b.profile == profile.name and b.candidates == [profile.name]
            else:
                assert "family" in b.label


def test_pico_running_micropython_is_the_rp2_family():
    [b] = detect_boards([port("/dev/ttyACM0", 0x2E8A, 0x0005, "Board in FS mode")], drives=[])
    assert b.state == "micropython"
    assert b.profile is None                      # every rp2 board uses 2E8A:0005
    assert b.candidates == ["rpi_pico", "rpi_pico2", "rpi_pico_w"]
    assert b.label.startswith("rp2 (family")
    assert b.description == "Board in FS mode"


def test_rp2350_bootloader_id_names_the_pico2():
    [b] = detect_boards([port("/dev/ttyACM3", 0x2E8A, 0x000F)], drives=[])
    assert (b.profile, b.state) == ("rpi_pico2", "bootloader")


def test_esp32_behind_a_cp210x_is_the_esp32_family():
    [b] = detect_boards([port("/dev/ttyUSB0", 0x10C4, 0xEA60, "CP2102 USB to UART Bridge Controller")], drives=[])
    assert b.profile is None
    assert "esp32" in b.candidates and "esp32s3" in b.candidates
    assert b.label.startswith("esp32 (family") and b.family == "esp32"
    assert b.state == "micropython"


def test_native_usb_micropython_names_the_s3():
    [b] = detect_boards([port("/dev/ttyACM1", 0x303A, 0x4001)], drives=[])
    assert (b.profile, b.state) == ("esp32s3", "micropython")


def test_ports_without_or_with_unknown_ids_are_left_out():
    ports = [port("/dev/ttyS0", None, None), port("/dev/ttyACM9", 0x1234, 0x5678)]
    assert detect_boards(ports, drives=[]) == []


def test_micropython_board_and_bootsel_drive_are_told_apart(tmp_path):
    drive = bootsel(tmp_path, "RPI-RP2", RP2040_INFO)
    found = detect_boards([port("/dev/ttyACM0", 0x2E8A, 0x0005)], drives=[drive, str(tmp_path)])
    assert [(b.state, b.drive) for b in found] == [("micropython", None), ("bootloader", drive)]
    d = found[1]
    assert d.port == drive
    assert d.candidates == ["rpi_pico", "rpi_pico_w"] and d.profile is None
    assert "Raspberry Pi RP2" in d.description
    assert d.vid is None and d.usb_id is None


def test_rp2350_drive_names_the_pico2(tmp_path):
    drive = bootsel(tmp_path, "RP2350", RP2350_INFO)
    [b] = detect_boards([], drives=[drive])
    assert (b.profile, b.state, b.drive) == ("rpi_pico2", "bootloader", drive)
    assert find_bootsel_drives([drive], profile="rpi_pico") == []
    assert len(find_bootsel_drives([drive], profile="rpi_pico2")) == 1


def test_folder_without_info_uf2_is_not_a_drive(tmp_path):
    plain = tmp_path / "RPI-RP2"
    plain.mkdir()
    (plain / "INDEX.HTM").write_text("x")
    assert detect_boards([], drives=[str(plain)]) == []


def test_unknown_uf2_drive_is_reported_without_a_profile(tmp_path):
    drive = bootsel(tmp_path, "FTHR840BOOT", "UF2 Bootloader 0.2.9\nModel: Feather nRF52840\nBoard-ID: nRF52840\n")
    [b] = detect_boards([], drives=[drive])
    assert b.profile is None and b.candidates == [] and "no board profile" in b.description


def test_info_uf2_parsing(tmp_path):
    drive = bootsel(tmp_path, "RPI-RP2", RP2040_INFO)
    info = read_info_uf2(drive)
    assert info == {"Bootloader": "UF2 Bootloader v3.0", "Model": "Raspberry Pi RP2", "Board-ID": "RPI-RP2"}


def test_default_listing_runs_on_this_machine():
    # no board is attached here: the real pyserial listing and mount scan must just give a list
    assert isinstance(detect_boards(), list)


def test_to_dict_is_json_ready():
    import json
    [b] = detect_boards([port("/dev/ttyACM0", 0x2E8A, 0x0005)], drives=[])
    d = json.loads(json.dumps(b.to_dict()))
    assert d["usb_id"] == "2E8A:0005" and d["state"] == "micropython"
