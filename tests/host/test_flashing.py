"""Flashing (host_tools/flashing.py): image checks before anything is written, the UF2 copy onto a
BOOTSEL drive, the esptool command, and the RP2 path through a board that runs MicroPython.

Nothing here can reach a real board. The ESP32 images are made by esptool itself (elf2image from a
small hand-built ELF, merge-bin); the BOOTSEL drive is a folder with INFO_UF2.TXT; the MicroPython
board that is asked to enter its bootloader is a pty answering the raw REPL protocol (the only mock:
the physical board on USB), and so is the ESP32: a pty speaking the ROM bootloader's serial protocol
(SLIP frames, SYNC, register reads, stub upload, compressed flash writes, MD5), so esptool runs its
whole write-flash path against it.
"""

import argparse
import hashlib
import os
import pty
import select
import struct
import subprocess
import sys
import threading
import zlib

import pytest
from serial.tools.list_ports_common import ListPortInfo


from host_tools import flashing, uf2  # noqa: E402
from host_tools.flashing import FirmwareError, FlashError, check_image, esptool_args, flash  # noqa: E402

RP2040 = 0xE48BFF56
RP2350 = 0xE48BFF59
ABSOLUTE = 0xE48BFF57
RP2040_INFO = "UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n"
RP2350_INFO = "UF2 Bootloader v1.0\nModel: Raspberry Pi RP2350\nBoard-ID: RP2350\n"


# ---------------------------------------------------------------- helpers

def make_elf(machine, entry, sections):
    """A minimal little-endian ELF32 executable: the given (name, address, bytes) PROGBITS sections and
    a section-name string table, as esptool's elf2image reads them."""
    names = b"\0" + b"".join(n.encode() + b"\0" for n, _, _ in sections) + b".shstrtab\0"
    body, headers, name_off = b"", [b"\0" * 40], 1
    for name, addr, data in sections:
        headers.append(struct.pack("<10I", name_off, 1, 0x6, addr, 0x34 + len(body), len(data), 0, 0, 4, 0))
        body += data + b"\0" * (-len(data) % 4)
        name_off += len(name) + 1
    headers.append(struct.pack("<10I", name_off, 3, 0, 0, 0x34 + len(body), len(names), 0, 0, 1, 0))
    body += names + b"\0" * (-len(names) % 4)
    ident = b"\x7fELF\x01\x01\x01" + b"\0" * 9
    header = ident + struct.pack("<HHIIIIIHHHHHH", 2, machine, 1, entry, 0, 0x34 + len(body), 0, 0x34, 32, 0, 40,
                                 len(headers), len(headers) - 1)
    return header + body + b"".join(headers)


def esptool(*args):
    r = subprocess.run([sys.executable, "-m", "esptool"] + list(args), capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def partition_table(entries):
    out = b""
    for ptype, subtype, offset, size, label in entries:
        out += b"\xAA\x50" + bytes([ptype, subtype]) + struct.pack("<II", offset, size) + label.encode().ljust(16, b"\0")
        out += b"\0" * 4
    return out + b"\xff" * (0xC00 - len(out))


CHIPS = {  # esptool chip: (ELF machine, IRAM address, DRAM address)
    "esp32": (0x5E, 0x40080000, 0x3FFB0000),
    "esp32s3": (0x5E, 0x40370000, 0x3FC88000),
    "esp32c3": (0xF3, 0x40380000, 0x3FC80000),
}


@pytest.fixture(scope="module")
def esp_images(tmp_path_factory):
    """Images made by esptool: {chip: single image}, plus merged firmwares in the two layouts."""
    d = tmp_path_factory.mktemp("esp")
    out = {}
    for chip, (machine, iram, dram) in CHIPS.items():
        elf = d / ("%s.elf" % chip)
        code = bytes((i * 7 + 3) & 0xFF for i in range(2048))
        elf.write_bytes(make_elf(machine, iram, [(".iram0.text", iram, code), (".dram0.data", dram, b"mpwasi!!" * 40)]))
        out[chip] = str(d / ("%s.bin" % chip))
        esptool("--chip", chip, "elf2image", "-o", out[chip], str(elf))
    pt = d / "partitions.bin"
    pt.write_bytes(partition_table([(1, 2, 0x9000, 0x6000, "nvs"), (1, 1, 0xF000, 0x1000, "phy_init"),
                                    (0, 0, 0x10000, 0x1F0000, "factory"), (1, 0x81, 0x200000, 0x200000, "vfs")]))
    # MicroPython's ESP32 download: merged from the bootloader offset 0x1000
    out["esp32_merged"] = str(d / "esp32_firmware.bin")
    esptool("--chip", "esp32", "merge-bin", "--target-offset", "0x1000", "-o", out["esp32_merged"],
            "0x1000", out["esp32"], "0x8000", str(pt), "0x10000", out["esp32"])
    # the same merged from flash address 0
    out["esp32_from0"] = str(d / "esp32_from0.bin")
    esptool("--chip", "esp32", "merge-bin", "-o", out["esp32_from0"],
            "0x1000", out["esp32"], "0x8000", str(pt), "0x10000", out["esp32"])
    out["esp32c3_merged"] = str(d / "esp32c3_firmware.bin")
    esptool("--chip", "esp32c3", "merge-bin", "-o", out["esp32c3_merged"],
            "0x0", out["esp32c3"], "0x8000", str(pt), "0x10000", out["esp32c3"])
    out["dir"] = d
    return out


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def make_drive(tmp_path, name="RPI-RP2", info=RP2040_INFO):
    d = tmp_path / name
    d.mkdir()
    (d / "INFO_UF2.TXT").write_text(info)
    (d / "INDEX.HTM").write_text("<html>redirect</html>")
    return str(d)


def drive_listing(drive):
    return sorted(os.listdir(drive))


def pico_uf2(size=256 * 20, family=RP2040, address=0x10000000):
    return uf2.build_uf2(bytes((i * 13) & 0xFF for i in range(size)), address, family)


def mp_port(device="/dev/ttyACM7"):
    p = ListPortInfo(device, skip_link_detection=True)
    p.vid, p.pid, p.description = 0x2E8A, 0x0005, "Board in FS mode"
    return p


class BootingBoard:
    """The board seen from USB after the copy: its MicroPython port appears once firmware.uf2 landed."""

    def __init__(self, drive, device="/dev/ttyACM7"):
        self.drive, self.device = drive, device

    def __call__(self):
        if self.drive and os.path.exists(os.path.join(self.drive, "firmware.uf2")):
            return [mp_port(self.device)]
        return []


# ---------------------------------------------------------------- ESP32 image checks

def test_esptool_made_images_pass_and_image_info_agrees(esp_images):
    for chip in CHIPS:
        assert "(valid)" in esptool("--chip", chip, "image-info", esp_images[chip])
    info = check_image("esp32", esp_images["esp32"])
    assert info.kind == "esp" and info.write_offset == 0x1000
    assert check_image("esp32s3", esp_images["esp32s3"]).write_offset == 0
    assert check_image("esp32c3", esp_images["esp32c3"]).write_offset == 0


def test_merged_firmware_layouts(esp_images):
    info = check_image("esp32", esp_images["esp32_merged"])
    assert info.write_offset == 0x1000
    assert any("partition table" in p for p in info.parts) and any("factory" in p for p in info.parts)
    # merged from address 0: the bootloader sits at 0x1000 inside the file, so the file goes at 0
    assert check_image("esp32", esp_images["esp32_from0"]).write_offset == 0
    assert check_image("esp32c3", esp_images["esp32c3_merged"]).write_offset == 0


def test_wrong_chip_is_refused(esp_images):
    with pytest.raises(FirmwareError, match=r"is for ESP32-C3 \(chip id 5\), but the board is ESP32 \(chip id 0\) "
                                            r"\(it fits board esp32c3\)"):
        check_image("esp32", esp_images["esp32c3"])
    with pytest.raises(FirmwareError, match="is for ESP32 .*board is ESP32-S3"):
        check_image("esp32s3", esp_images["esp32"])
    with pytest.raises(FirmwareError, match="merged firmware for a board whose bootloader sits at 0x1000"):
        check_image("esp32c3", esp_images["esp32_from0"])


def test_bad_magic_byte_is_refused(esp_images, tmp_path):
    data = bytearray(open(esp_images["esp32"], "rb").read())
    data[0] = 0xE8
    with pytest.raises(FirmwareError, match="no image magic byte 0xE9"):
        check_image("esp32", write(tmp_path, "magic.bin", bytes(data)))


def test_corrupted_image_is_refused(esp_images, tmp_path):
    data = bytearray(open(esp_images["esp32"], "rb").read())
    data[0x40] ^= 0x01                       # one bit inside the first segment
    with pytest.raises(FirmwareError, match="checksum|SHA-256"):
        check_image("esp32", write(tmp_path, "flip.bin", bytes(data)))
    merged = bytearray(open(esp_images["esp32_merged"], "rb").read())
    merged[0xF000 + 0x40] ^= 0x01            # inside the application image at flash 0x10000
    with pytest.raises(FirmwareError, match="application"):
        check_image("esp32", write(tmp_path, "flipapp.bin", bytes(merged)))


def test_truncated_images_are_refused(esp_images, tmp_path):
    data = open(esp_images["esp32"], "rb").read()
    with pytest.raises(FirmwareError, match="truncated|SHA-256"):
        check_image("esp32", write(tmp_path, "half.bin", data[:len(data) // 2]))
    merged = open(esp_images["esp32_merged"], "rb").read()
    with pytest.raises(FirmwareError, match="truncated: the file ends at flash 0x9000, before the application"):
        check_image("esp32", write(tmp_path, "cut.bin", merged[:0x8000]))
    with pytest.raises(FirmwareError, match="truncated"):
        check_image("esp32", write(tmp_path, "cut2.bin", merged[:0x3000]))
    with pytest.raises(FirmwareError, match="application"):
        check_image("esp32", write(tmp_path, "cut3.bin", merged[:0xF000 + 300]))


def test_not_firmware_is_refused(tmp_path):
    with pytest.raises(FirmwareError, match="not an ESP32 firmware image"):
        check_image("esp32", write(tmp_path, "notes.txt", b"hello, this is a text file\n" * 100))
    with pytest.raises(FirmwareError, match="empty"):
        check_image("esp32", write(tmp_path, "empty.bin", b""))
    with pytest.raises(FirmwareError, match="does not exist"):
        check_image("esp32", str(tmp_path / "missing.bin"))
    with pytest.raises(FirmwareError, match="this is a UF2 file"):
        check_image("esp32", write(tmp_path, "pico.uf2", pico_uf2()))


def test_image_too_big_for_the_flash_is_refused(esp_images, tmp_path):
    data = open(esp_images["esp32"], "rb").read()
    big = data + b"\xff" * (4 * 1024 * 1024)
    with pytest.raises(FirmwareError, match="do not fit the board's 4 MB flash"):
        check_image("esp32", write(tmp_path, "big.bin", big))


# ---------------------------------------------------------------- esptool command

def test_esptool_argument_list(esp_images):
    path = esp_images["esp32_merged"]
    assert esptool_args("esp32", path, "/dev/ttyUSB0") == [
        "--chip", "esp32", "--port", "/dev/ttyUSB0", "--baud", "460800", "--before", "default-reset",
        "--after", "hard-reset", "write-flash", "--flash-size", "keep", "0x1000", path]
    erase = esptool_args("esp32", path, "/dev/ttyUSB0", erase=True, baud=921600)
    assert erase[erase.index("write-flash") + 1] == "--erase-all"
    assert erase[erase.index("--baud") + 1] == "921600"
    assert esptool_args("esp32", esp_images["esp32_from0"], None)[-2:] == ["0x0", esp_images["esp32_from0"]]
    assert "--port" not in esptool_args("esp32", path, None)
    c3 = esptool_args("esp32c3", esp_images["esp32c3_merged"], "/dev/ttyACM0")
    assert c3[:2] == ["--chip", "esp32c3"] and c3[-2] == "0x0"


def test_esptool_accepts_the_argument_list():
    # esptool's own parser takes every option we pass (its --help for write-flash names them)
    import esptool
    common = ["--chip", "esp32", "--baud", "460800", "--before", "default-reset", "--after", "hard-reset",
              "--connect-attempts", "1", "write-flash"]
    esptool.main(common + ["--erase-all", "--flash-size", "keep", "--help"])   # parsed: help shown, no error
    with pytest.raises(SystemExit) as e:                                         # the parser does reject
        esptool.main(common + ["--no-such-option", "--help"])
    assert e.value.code != 0


def test_esptool_args_refuse_a_uf2_board(tmp_path):
    with pytest.raises(FlashError, match="not flashed with esptool"):
        esptool_args("rpi_pico", write(tmp_path, "p.uf2", pico_uf2()), None)


def test_esp32_flash_runs_esptool_and_reports_no_chip(esp_images, capsys):
    """The real code path: check, then esptool.main with the listed arguments on a serial port. Here the
    port is a pty with nothing behind it, so esptool's connection attempt fails with a clear error."""
    master, slave = pty.openpty()
    try:
        name = os.ttyname(slave)
        with pytest.raises(FlashError) as e:
            flash("esp32", esp_images["esp32_merged"], port=name, connect_attempts=1, no_install=True)
        msg = str(e.value)
        assert "esptool failed" in msg and "Failed to connect to ESP32" in msg
        assert "write-flash --flash-size keep 0x1000" in msg
        # esptool really talked: its SYNC request (SLIP frame starting 0xC0 0x00 0x08) went out on the port
        sent = b""
        while select.select([master], [], [], 0)[0]:
            sent += os.read(master, 4096)
        assert b"\xc0\x00\x08" in sent
    finally:
        os.close(master)
        os.close(slave)


class PtyBoard(threading.Thread):
    """A board on the far side of a pty: ``feed(bytes)`` gets what the host sends, and returns False
    when the board goes away. ``close()`` stops the thread before its descriptors are closed (so their
    numbers, reused by the next pty, are never read by a stale thread)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.master, self.slave = pty.openpty()
        self.port = os.ttyname(self.slave)
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                if not select.select([self.master], [], [], 0.05)[0]:
                    continue
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if self.feed(chunk) is False:
                return

    def close(self):
        self.stopping.set()
        if self.is_alive():
            self.join(5)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class FakeEsp32(PtyBoard):
    """An ESP32 waiting in its ROM serial bootloader, on a pty: enough of the protocol for esptool's
    write-flash (with its flasher stub, compressed writes and the MD5 verification). ``flash`` is the
    chip's flash; ``corrupt_at`` flips a byte as it is written (a failing flash)."""

    SYNC, WRITE_REG, READ_REG = 0x08, 0x09, 0x0A
    MEM_BEGIN, MEM_END, MEM_DATA = 0x05, 0x06, 0x07
    SPI_SET_PARAMS, SPI_ATTACH, CHANGE_BAUDRATE = 0x0B, 0x0D, 0x0F
    FLASH_DEFL_BEGIN, FLASH_DEFL_DATA, FLASH_DEFL_END, SPI_FLASH_MD5 = 0x10, 0x11, 0x12, 0x13
    ERASE_FLASH = 0xD0

    def __init__(self, magic=0x00F01D83, flash_size=4 * 1024 * 1024, fill=0x5A, corrupt_at=None):
        super().__init__()
        self.flash = bytearray([fill]) * flash_size
        # chip-detect magic, UART clock divider (40 MHz crystal at 115200), SPI W0 (flash id: 4 MB)
        self.regs = {0x40001000: magic, 0x3FF40014: 347, 0x3FF42080: 0x1640EF}
        self.stub = False
        self.ops, self.writes, self.erased, self.corrupt_at = [], [], False, corrupt_at
        self.buf = b""

    def _send(self, payload):
        os.write(self.master, b"\xc0" + payload.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0")

    def _reply(self, op, value=0, data=b"", ok=True, reason=0):
        # the ROM appends 4 status bytes, the stub 2
        body = data + bytes([0 if ok else 1, reason]) + (b"" if self.stub else b"\0\0")
        self._send(struct.pack("<BBHI", 1, op, len(body), value) + body)

    def feed(self, chunk):
        self.buf += chunk
        while True:                                   # SLIP frames between 0xC0 delimiters
            start = self.buf.find(b"\xc0")
            end = self.buf.find(b"\xc0", start + 1) if start >= 0 else -1
            if end < 0:
                self.buf = self.buf[start:] if start >= 0 else b""
                return True
            frame, self.buf = self.buf[start + 1:end], self.buf[end:]
            frame = frame.replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb")
            if len(frame) >= 8 and frame[0] == 0:
                self._handle(frame[1], frame[8:])

    def _handle(self, op, data):
        self.ops.append(op)
        if op == self.SYNC:
            for _ in range(8):
                self._reply(op, value=0x20120707)
        elif op == self.READ_REG:
            self._reply(op, value=self.regs.get(struct.unpack_from("<I", data)[0], 0))
        elif op == self.MEM_END:                       # the stub was loaded and starts
            self._reply(op)
            self.stub = True
            self._send(b"OHAI")
        elif op in (self.WRITE_REG, self.MEM_BEGIN, self.MEM_DATA, self.SPI_SET_PARAMS, self.SPI_ATTACH,
                    self.CHANGE_BAUDRATE, self.FLASH_DEFL_END):
            self._reply(op)
        elif op == self.ERASE_FLASH and self.stub:
            self.flash[:] = b"\xff" * len(self.flash)
            self.erased = True
            self._reply(op)
        elif op == self.FLASH_DEFL_BEGIN:
            size, _blocks, _blocksize, offset = struct.unpack_from("<IIII", data)
            self.writes.append((offset, size))
            self._at, self._inflate = offset, zlib.decompressobj()
            self._reply(op)
        elif op == self.FLASH_DEFL_DATA:
            n = struct.unpack_from("<I", data)[0]
            plain = bytearray(self._inflate.decompress(data[16:16 + n]))
            if self.corrupt_at is not None and self._at <= self.corrupt_at < self._at + len(plain):
                plain[self.corrupt_at - self._at] ^= 0x01
            self.flash[self._at:self._at + len(plain)] = plain
            self._at += len(plain)
            self._reply(op)
        elif op == self.SPI_FLASH_MD5:
            addr, size = struct.unpack_from("<II", data)
            digest = hashlib.md5(self.flash[addr:addr + size]).digest()
            self._reply(op, data=digest if self.stub else digest.hex().encode())
        else:
            self._reply(op, ok=False, reason=0x05)    # "invalid message": unsupported command

    def usb_listing(self):
        p = ListPortInfo(self.port, skip_link_detection=True)
        p.vid, p.pid = 0x10C4, 0xEA60                  # behind a CP210x
        return lambda: [p]



@pytest.fixture
def fake_esp32():
    boards = []

    def make(**kw):
        board = FakeEsp32(**kw)
        board.start()
        boards.append(board)
        return board
    yield make
    for board in boards:
        board.close()


@pytest.fixture(scope="module")
def big_esp32_firmware(esp_images):
    """A merged ESP32 firmware with a 96 KB application of incompressible code: several write blocks."""
    d = esp_images["dir"]
    code = hashlib.sha256(b"seed").digest() * 1
    while len(code) < 96 * 1024:
        code += hashlib.sha256(code[-32:]).digest()
    elf = d / "big.elf"
    elf.write_bytes(make_elf(0x5E, 0x40080000, [(".iram0.text", 0x40080000, code), (".dram0.data", 0x3FFB0000, b"x" * 64)]))
    app = str(d / "big_app.bin")
    esptool("--chip", "esp32", "elf2image", "-o", app, str(elf))
    merged = str(d / "big_firmware.bin")
    esptool("--chip", "esp32", "merge-bin", "--target-offset", "0x1000", "-o", merged,
            "0x1000", esp_images["esp32"], "0x8000", str(d / "partitions.bin"), "0x10000", app)
    return merged


def test_esp32_flash_writes_at_the_offset_verifies_and_shows_progress(fake_esp32, big_esp32_firmware):
    board = fake_esp32()
    events = []
    result = flash("esp32", big_esp32_firmware, port=board.port, no_install=True, list_ports=board.usb_listing(),
                   progress=lambda done, total, stage: events.append((done, total, stage)), out=open(os.devnull, "w"))
    data = open(big_esp32_firmware, "rb").read()
    assert board.writes == [(0x1000, len(data))]
    assert bytes(board.flash[0x1000:0x1000 + len(data)]) == data
    assert board.flash[0x1000 + len(data)] == 0x5A and board.flash[0xFFF] == 0x5A   # nothing else touched
    assert not board.erased
    assert board.ops[-1] == FakeEsp32.SPI_FLASH_MD5                                 # verified after writing
    assert len(events) >= 3 and events[-1][0] == events[-1][1] and all(e[2] == "write" for e in events)
    assert [e[0] for e in events] == sorted(e[0] for e in events)
    assert result["port"] == board.port


def test_esp32_erase_first(fake_esp32, esp_images):
    board = fake_esp32()
    flash("esp32", esp_images["esp32_merged"], port=board.port, erase=True, no_install=True,
          list_ports=board.usb_listing(), progress=lambda *a: None, out=open(os.devnull, "w"))
    assert board.erased
    data = open(esp_images["esp32_merged"], "rb").read()
    assert bytes(board.flash[0x1000:0x1000 + len(data)]) == data
    assert board.flash[:0x1000] == b"\xff" * 0x1000 and board.flash[-1] == 0xFF


def test_bin_merged_from_zero_is_written_at_zero(fake_esp32, esp_images):
    board = fake_esp32()
    flash("esp32", esp_images["esp32_from0"], port=board.port, no_install=True, list_ports=board.usb_listing(),
          progress=lambda *a: None, out=open(os.devnull, "w"))
    data = open(esp_images["esp32_from0"], "rb").read()
    assert board.writes == [(0, len(data))]
    assert bytes(board.flash[:len(data)]) == data


def test_esptool_chip_check_stops_a_different_chip(fake_esp32, esp_images):
    board = fake_esp32(magic=0x000007C6)              # answers as an ESP32-S2
    with pytest.raises(FlashError, match="This chip is ESP32-S2, not ESP32"):
        flash("esp32", esp_images["esp32_merged"], port=board.port, no_install=True, list_ports=board.usb_listing(),
              progress=lambda *a: None, out=open(os.devnull, "w"))
    assert board.writes == [] and FakeEsp32.FLASH_DEFL_DATA not in board.ops


def test_esptool_verification_catches_a_bad_write(fake_esp32, esp_images):
    board = fake_esp32(corrupt_at=0x1000 + 0x40)
    with pytest.raises(FlashError, match="MD5 of file does not match data in flash"):
        flash("esp32", esp_images["esp32_merged"], port=board.port, no_install=True, list_ports=board.usb_listing(),
              progress=lambda *a: None, out=open(os.devnull, "w"))


def test_bad_esp_image_writes_nothing_to_the_port(esp_images, tmp_path):
    master, slave = pty.openpty()
    try:
        data = bytearray(open(esp_images["esp32_merged"], "rb").read())
        data[0x20] ^= 0xFF
        with pytest.raises(FirmwareError):
            flash("esp32", write(tmp_path, "bad.bin", bytes(data)), port=os.ttyname(slave), no_install=True)
        assert select.select([master], [], [], 0)[0] == []
    finally:
        os.close(master)
        os.close(slave)


# ---------------------------------------------------------------- UF2 checks and copy

def test_uf2_reaches_the_bootsel_drive(tmp_path):
    image = pico_uf2(256 * 40)
    path = write(tmp_path, "pico.uf2", image)
    drive = make_drive(tmp_path)
    events = []
    result = flash("rpi_pico", path, drive=drive, no_install=True, list_ports=BootingBoard(drive),
                   progress=lambda done, total, stage: events.append((done, total, stage)))
    with open(os.path.join(drive, "firmware.uf2"), "rb") as f:
        assert f.read() == image
    assert result["drive"] == drive and result["port"] == "/dev/ttyACM7"
    assert result["installed"] == "skipped (--no-install)"
    assert events[-1] == (len(image), len(image), "copy")


def test_another_pico_already_running_is_not_taken_for_the_flashed_one(tmp_path):
    path = write(tmp_path, "pico.uf2", pico_uf2())
    drive = make_drive(tmp_path)
    booting = BootingBoard(drive, device="/dev/ttyACM1")
    result = flash("rpi_pico", path, drive=drive, no_install=True, progress=lambda *a: None,
                   list_ports=lambda: [mp_port("/dev/ttyACM0")] + booting())
    assert result["port"] == "/dev/ttyACM1"


def test_uf2_found_on_a_mounted_drive_without_naming_it(tmp_path):
    path = write(tmp_path, "pico2.uf2", uf2.build_uf2(b"\xEF" * 256, 0x10FFFF00, ABSOLUTE) + pico_uf2(family=RP2350))
    other = make_drive(tmp_path, "RPI-RP2")          # an RP2040 drive: not for a Pico 2
    drive = make_drive(tmp_path, "RP2350", RP2350_INFO)
    result = flash("rpi_pico2", path, drives=[other, drive], no_install=True, list_ports=BootingBoard(drive),
                   progress=lambda *a: None)
    assert result["drive"] == drive
    assert os.path.exists(os.path.join(drive, "firmware.uf2"))
    assert not os.path.exists(os.path.join(other, "firmware.uf2"))


@pytest.mark.parametrize("case", ["wrong_family", "truncated", "not_uf2", "missing_block", "outside_flash",
                                  "esp_bin", "bad_payload"])
def test_bad_uf2_is_refused_and_nothing_copied(tmp_path, case):
    good = pico_uf2(256 * 8)
    data = {
        "wrong_family": pico_uf2(family=RP2350),
        "truncated": good[:-200],
        "not_uf2": b"PK\x03\x04" + b"\0" * 2000,
        "missing_block": good[:512 * 3] + good[512 * 4:],
        "outside_flash": pico_uf2(address=0x10000000 + 2 * 1024 * 1024),
        "esp_bin": b"\xE9\x03\x02\x20" + b"\0" * 1020,
        "bad_payload": uf2.build_uf2(b"\1" * 1000, 0x10000000, RP2040, payload_size=476),
    }[case]
    expected = {
        "wrong_family": r"wrong UF2 family: the file is for 0xe48bff59 \(rp2350-arm-s\), board rpi_pico \(rp2040\) "
                        r"needs 0xe48bff56 \(rp2040\) \(it fits board rpi_pico2\)",
        "truncated": "truncated",
        "not_uf2": "not a UF2 file",
        "missing_block": "1 of 8 blocks missing",
        "outside_flash": "outside the board's 2048 KB of flash",
        "esp_bin": "ESP32 .bin image, not a UF2 file",
        "bad_payload": "only takes 256-byte payloads",
    }[case]
    path = write(tmp_path, "fw.uf2", data)
    drive = make_drive(tmp_path)
    before = drive_listing(drive)
    with pytest.raises(FirmwareError, match=expected):
        flash("rpi_pico", path, drive=drive, no_install=True, list_ports=BootingBoard(drive))
    assert drive_listing(drive) == before


def test_rp2350_image_may_carry_the_absolute_block_but_not_other_families(tmp_path):
    abs_block = uf2.build_uf2(b"\xEF" * 256, 0x10FFFF00, ABSOLUTE)
    info = check_image("rpi_pico2", write(tmp_path, "ok.uf2", abs_block + pico_uf2(family=RP2350)))
    assert "1 extra block(s) of 0xe48bff57 (absolute)" in info.parts
    mixed = pico_uf2(family=RP2350) + pico_uf2(family=RP2040)
    with pytest.raises(FirmwareError, match="also carries blocks for 0xe48bff56"):
        check_image("rpi_pico2", write(tmp_path, "mixed.uf2", mixed))
    # the RP2040 does not take the absolute block
    with pytest.raises(FirmwareError, match="does not take"):
        check_image("rpi_pico", write(tmp_path, "abs.uf2", abs_block + pico_uf2()))


def test_drive_that_is_not_bootsel_is_refused(tmp_path):
    path = write(tmp_path, "pico.uf2", pico_uf2())
    plain = tmp_path / "USBSTICK"
    plain.mkdir()
    with pytest.raises(FlashError, match="not a BOOTSEL drive"):
        flash("rpi_pico", path, drive=str(plain), no_install=True)
    assert os.listdir(plain) == []


def test_no_board_at_all_says_what_to_do(tmp_path):
    path = write(tmp_path, "pico.uf2", pico_uf2())
    with pytest.raises(FlashError, match="Hold BOOTSEL while plugging it in, or give --port"):
        flash("rpi_pico", path, drives=[], list_ports=lambda: [], no_install=True)


def test_port_not_coming_back_is_an_error(tmp_path):
    path = write(tmp_path, "pico.uf2", pico_uf2())
    drive = make_drive(tmp_path)
    ticks = iter(range(1000))
    with pytest.raises(FlashError, match="did not come back"):
        flashing.wait_for_port(flashing.load_profile("rpi_pico"), list_ports=lambda: [], timeout=5,
                               clock=lambda: next(ticks), sleep=lambda s: None)
    assert not os.path.exists(os.path.join(drive, "firmware.uf2"))
    assert os.path.exists(path)


# ---------------------------------------------------------------- RP2 through a running MicroPython

class RawReplBoard(PtyBoard):
    """A MicroPython board on a pty, as far as the raw REPL goes: it answers Ctrl-A with the raw REPL
    banner, declines raw-paste, acknowledges a command with OK, and when the command calls
    machine.bootloader() it drops off the port and shows up as a BOOTSEL drive."""

    def __init__(self, drive_path, info=RP2040_INFO):
        super().__init__()
        self.drive_path, self.info = drive_path, info
        self.commands = []
        self.buf = b""

    def feed(self, chunk):
        self.buf += chunk
        if b"\x05A\x01" in self.buf:                 # raw-paste request: not supported
            self.buf = self.buf.split(b"\x05A\x01", 1)[1]
            os.write(self.master, b"R\x00")
        elif b"\x01" in self.buf and b"\x04" not in self.buf:
            self.buf = self.buf.rsplit(b"\x01", 1)[1]
            os.write(self.master, b"raw REPL; CTRL-B to exit\r\n>")
        elif b"\x04" in self.buf:
            command, self.buf = self.buf.split(b"\x04", 1)
            self.commands.append(command.decode())
            os.write(self.master, b"OK")
            if b"machine.bootloader()" in command:
                os.mkdir(self.drive_path)
                with open(os.path.join(self.drive_path, "INFO_UF2.TXT"), "w") as f:
                    f.write(self.info)
                return False
        return True


def test_running_micropython_board_is_sent_to_bootsel_then_flashed(tmp_path):
    drive = str(tmp_path / "RPI-RP2")
    board = RawReplBoard(drive)
    board.start()
    try:
        path = write(tmp_path, "pico.uf2", pico_uf2(256 * 12))
        before = BootingBoard(drive, device="/dev/ttyACM7")

        def ports():  # before flashing the board is on the pty; after, on a new port
            return before() or ([mp_port(board.port)] if not os.path.exists(drive) else [])

        out = []
        result = flash("rpi_pico", path, drives=[drive], list_ports=ports, no_install=True, timeout=20,
                       out=type("W", (), {"write": lambda self, s: out.append(s), "flush": lambda self: None})(),
                       progress=lambda *a: None)
        board.join(5)
        assert any("machine.bootloader()" in c for c in board.commands)
        assert open(os.path.join(drive, "firmware.uf2"), "rb").read() == open(path, "rb").read()
        assert result["port"] == "/dev/ttyACM7"
        text = "".join(out)
        assert "asking MicroPython on %s to enter its bootloader" % board.port in text
        assert "MicroPython is back on /dev/ttyACM7" in text
    finally:
        board.close()


# ---------------------------------------------------------------- engine install and the command line

def test_flash_then_install_the_engine_on_the_board_that_comes_back(tmp_path):
    """After the copy the board that comes back is the project's virtual board (the MicroPython unix
    port behind a pty, rpi_pico profile): the wait for its REPL and host_tools.device's engine install
    run for real against it."""
    from host_tools.device import Device
    from host_tools.virtual_board import VirtualBoard
    vb = VirtualBoard("rpi_pico", flash=str(tmp_path / "flash.img"))
    vb.start()
    server = threading.Thread(target=vb.serve, daemon=True)
    server.start()
    try:
        drive = make_drive(tmp_path)
        path = write(tmp_path, "pico.uf2", pico_uf2())
        stages = set()
        result = flash("rpi_pico", path, drive=drive, list_ports=BootingBoard(drive, device=vb.port), timeout=60,
                       progress=lambda done, total, stage: stages.add(stage), out=open(os.devnull, "w"))
        assert result["port"] == vb.port
        assert "installed on %s" % vb.port in result["installed"], result["installed"]
        assert stages == {"copy", "install"}
        with Device(vb.port, profile=flashing.load_profile("rpi_pico")) as board:
            engine = board.info()["engine"]
        assert engine and engine["files"]
    finally:
        vb.stop()
        server.join(10)


def test_silent_port_is_not_a_repl():
    master, slave = pty.openpty()
    ticks = iter(range(1000))
    try:
        with pytest.raises(FlashError, match="did not answer with a REPL"):
            flashing.wait_for_repl(os.ttyname(slave), timeout=1, clock=lambda: next(ticks), sleep=lambda s: None)
    finally:
        os.close(master)
        os.close(slave)


def parse(argv):
    parser = argparse.ArgumentParser(prog="mpwasi")
    flashing.add_cli(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli_flash_refuses_bad_image_with_status_2(tmp_path, capsys):
    path = write(tmp_path, "fw.uf2", pico_uf2(family=RP2350))
    drive = make_drive(tmp_path)
    args = parse(["flash", "--board", "rpi_pico", path, "--drive", drive, "--no-install"])
    assert args.func is flashing.cmd_flash
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "wrong UF2 family" in err and "nothing was written" in err
    assert drive_listing(drive) == ["INDEX.HTM", "INFO_UF2.TXT"]


def test_cli_unknown_board_and_check_only(tmp_path, capsys, esp_images):
    args = parse(["flash", "--board", "nosuch", "fw.bin"])
    assert args.func(args) == 2
    assert "unknown board 'nosuch'; known: " in capsys.readouterr().err
    args = parse(["flash", "--board", "esp32", esp_images["esp32_merged"], "--check"])
    assert args.func(args) == 0
    assert "fits board esp32" in capsys.readouterr().out
    args = parse(["flash", "-b", "esp32", "fw.bin", "--port", "/dev/ttyUSB0", "--erase"])
    assert (args.board, args.port, args.erase, args.no_install, args.drive) == ("esp32", "/dev/ttyUSB0", True, False, None)
