"""Target choice for every `mpwasi` command: --port, else the one detected board, else the virtual
board (said in one line); several boards without --port is an error listing them.  USB listings are
real pyserial ListPortInfo objects (no board is plugged in here)."""

import argparse
import os
import subprocess
import sys

import pytest
from serial.tools.list_ports_common import ListPortInfo

from host_tools import cli, profiles
from host_tools import virtual_board as vb


def port_info(device, vid, pid, description="Board in FS mode"):
    p = ListPortInfo(device, skip_link_detection=True)
    p.vid, p.pid, p.description = vid, pid, description
    return p


def ids(board):
    return profiles.load_profile(board).usb_ids("micropython")[0]


def args(**kw):
    base = dict(port=None, virtual=False, board=None, flash=None)
    base.update(kw)
    return argparse.Namespace(**base)


def test_one_detected_board_is_chosen():
    vid, pid = ids("rpi_pico")
    notes = []
    t = cli.choose_target(args(), ports=[port_info("/dev/ttyACM0", vid, pid)], drives=[], note=notes.append)
    assert t.port == "/dev/ttyACM0" and not t.virtual
    assert "rpi_pico" in t.label     # every rp2 board shows the same ids: the label names the family
    assert notes == []


def test_several_boards_without_port_is_an_error_listing_them():
    vid, pid = ids("rpi_pico")
    evid, epid = ids("esp32s3")
    ports = [port_info("/dev/ttyACM0", vid, pid), port_info("/dev/ttyACM1", evid, epid, "ESP32-S3")]
    with pytest.raises(cli.CliError) as e:
        cli.choose_target(args(), ports=ports, drives=[])
    msg = str(e.value)
    assert "2 boards found" in msg and "--port" in msg
    assert "/dev/ttyACM0" in msg and "/dev/ttyACM1" in msg


def test_port_option_wins_over_detection():
    vid, pid = ids("rpi_pico")
    ports = [port_info("/dev/ttyACM0", vid, pid), port_info("/dev/ttyACM1", vid, pid)]
    t = cli.choose_target(args(port="/dev/ttyACM1"), ports=ports, drives=[])
    assert t.port == "/dev/ttyACM1" and not t.virtual


def test_unknown_usb_devices_are_not_boards(tmp_path, monkeypatch):
    monkeypatch.setenv("MPWASI_DATA_DIR", str(tmp_path))
    notes = []
    try:
        t = cli.choose_target(args(flash=str(tmp_path / "f.lfs2")), ports=[port_info("/dev/ttyUSB9", 0x1234, 0x5678)],
                              drives=[], note=notes.append)
        assert t.virtual
    finally:
        vb.stop(str(tmp_path / "f.lfs2"))


def test_no_board_falls_back_to_the_virtual_board_saying_so(tmp_path, monkeypatch):
    monkeypatch.setenv("MPWASI_DATA_DIR", str(tmp_path))
    flash = str(tmp_path / "f.lfs2")
    notes = []
    try:
        t = cli.choose_target(args(flash=flash), ports=[], drives=[], note=notes.append)
        assert t.virtual and os.path.exists(t.port)
        assert len(notes) == 1 and "no board found: using the virtual board (rpi_pico profile) on " + t.port == notes[0]
        # a second command reuses the running one
        t2 = cli.choose_target(args(flash=flash), ports=[], drives=[], note=notes.append)
        assert t2.port == t.port
        # --port naming the virtual board's port is recognised as the virtual board
        t3 = cli.choose_target(args(port=t.port), ports=[], drives=[])
        assert t3.virtual and t3.profile.name == "rpi_pico"
    finally:
        assert vb.stop(flash)


def test_board_in_bootloader_is_mentioned_when_falling_back(tmp_path, monkeypatch):
    monkeypatch.setenv("MPWASI_DATA_DIR", str(tmp_path))
    p = profiles.load_profile("rpi_pico")
    vid, pid = p.usb_ids("bootloader")[0]
    flash = str(tmp_path / "f.lfs2")
    notes = []
    try:
        t = cli.choose_target(args(flash=flash), ports=[port_info("/dev/ttyACM3", vid, pid)], drives=[],
                              note=notes.append)
        assert t.virtual
        assert "bootloader" in notes[0] and "mpwasi flash" in notes[0]
    finally:
        vb.stop(flash)


def run_cli(*argv):
    return subprocess.run([sys.executable, "-m", "host_tools.cli"] + list(argv), capture_output=True, text=True,
                          timeout=120)


def test_help_lists_every_command():
    r = run_cli("--help")
    assert r.returncode == 0
    for cmd in ("boards", "install", "push", "run", "ls", "get", "rm", "repl", "sim", "flash", "debug", "compile"):
        assert cmd in r.stdout
    r = run_cli("compile", "x.wasm")
    assert r.returncode == 1 and "x.wasm: no such file" in r.stderr and "Traceback" not in r.stderr


def test_run_splits_guest_arguments_at_double_dash():
    ap = cli.build_parser()
    a = ap.parse_args(["run", "--env", "K=V", "app.wasm"])
    assert a.module == "app.wasm" and a.env == ["K=V"] and a.args == []
    seen = {}
    orig = cli.cmd_run
    try:
        cli.cmd_run = lambda a: seen.update(vars(a)) or 0
        assert cli.main(["run", "app.wasm", "--dir", "data=/sd", "--", "-x", "--env", "y"]) == 0
    finally:
        cli.cmd_run = orig
    assert seen["module"] == "app.wasm" and seen["dir"] == ["data=/sd"]
    assert seen["args"] == ["-x", "--env", "y"] and seen["env"] is None


def test_wasm_memory_bytes_reads_the_memory_section():
    assert cli.wasm_memory_bytes(b"\0asm\1\0\0\0" + bytes([5, 3, 1, 0, 3])) == 3 * 65536
    assert cli.wasm_memory_bytes(b"not wasm") is None
