"""Put MicroPython firmware onto a board: esptool for the ESP32 family, UF2 copy for RP2040/RP2350.

Every image is checked against the board profile before anything is written (``check_image``):

* UF2: magic numbers, 512-byte blocks, payloads the bootrom takes, the family id of the board (plus
  the extra families its profile allows), every block of the image present, addresses inside flash.
* ESP32 family: the image magic 0xE9 at offset 0 of the file (written at the profile's bootloader
  offset) or at that offset within the file (a bin merged from address 0, written at 0), parsed by
  esptool's own image loader, the chip id of its extended header matching the board, its checksum and
  appended SHA-256, and for a merged firmware the partition table and the application image it names.

Then ``flash()`` writes: ESP32 through ``esptool.main(esptool_args(...))`` (chip check, optional erase,
write at the offset, verify, progress through the ``progress`` callback); RP2 by putting a board that
runs MicroPython into BOOTSEL (``machine.bootloader()`` over the raw REPL, mpremote's transport) or
using a BOOTSEL drive already there, copying the .uf2 onto it, and waiting for MicroPython's serial
port to come back.  Finally the engine is installed (``host_tools.device``) unless ``no_install``.
"""

import os
import struct
import sys
import time

from . import uf2 as uf2mod
from .detect import find_bootsel_drives, is_bootsel_drive, read_info_uf2
from .profiles import ProfileError, load_profile

__all__ = ["FirmwareError", "FlashError", "ImageInfo", "check_image", "esptool_args", "flash", "add_cli",
           "cmd_flash", "main", "enter_bootloader", "wait_for_drive", "wait_for_port", "wait_for_repl", "copy_uf2"]

ESP_IMAGE_MAGIC = 0xE9
ESP_PARTITION_TABLE_OFFSET = 0x8000
ESP_PARTITION_MAGIC = b"\xAA\x50"
RP2_XIP_BASE = 0x10000000
UF2_NAME = "firmware.uf2"


class FirmwareError(ValueError):
    """The image does not fit the board (or is not firmware): nothing was written."""


class FlashError(RuntimeError):
    """Writing the firmware failed, or the board did not come back."""


class ImageInfo:
    """What ``check_image`` found. kind: "uf2" or "esp"; write_offset: where esptool writes the file
    (ESP); parts: a readable description of what is inside; size: file size in bytes."""

    def __init__(self, kind, path, size, parts, write_offset=None, family_id=None, blocks=None):
        self.kind = kind
        self.path = path
        self.size = size
        self.parts = parts
        self.write_offset = write_offset
        self.family_id = family_id
        self.blocks = blocks

    def __repr__(self):
        return "ImageInfo(%s, %d bytes, %s)" % (self.kind, self.size, "; ".join(self.parts))


def _profile(profile):
    return load_profile(profile)


def _boards_where(test):
    """The hint " (it fits board a, b)" naming the profiles that pass ``test``, or "" if none do."""
    from .profiles import all_profiles
    names = [p.name for p in all_profiles() if test(p)]
    return " (it fits board %s)" % ", ".join(names) if names else ""


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise FirmwareError("firmware file %s does not exist" % path) from None
    except IsADirectoryError:
        raise FirmwareError("%s is a directory, not a firmware file" % path) from None
    except OSError as e:
        raise FirmwareError("cannot read firmware file %s: %s" % (path, e)) from None


def check_image(profile, path):
    """Check ``path`` is firmware for board ``profile`` (a Profile or a name). Returns ImageInfo;
    raises FirmwareError with the reason otherwise. Reads only; writes nothing."""
    profile = _profile(profile)
    data = _read(path)
    if not data:
        raise FirmwareError("%s is empty: not a firmware image" % path)
    what = "%s (board %s)" % (path, profile.name)
    if profile.flash_method == "uf2":
        return _check_uf2(profile, path, data, what)
    return _check_esp(profile, path, data, what)


# ---------------------------------------------------------------- UF2

def _check_uf2(profile, path, data, what):
    wanted = profile.flash["family_id"]
    allowed_extra = set(profile.flash.get("extra_family_ids", []))
    if data[:1] == bytes([ESP_IMAGE_MAGIC]):
        raise FirmwareError("%s: this is an ESP32 .bin image, not a UF2 file; board %s takes a .uf2"
                            % (what, profile.name))
    try:
        blocks = uf2mod.parse_uf2(data)
    except uf2mod.UF2Error as e:
        raise FirmwareError("%s: %s; board %s needs a UF2 image (MicroPython's .uf2 download)"
                            % (what, e, profile.name)) from None
    streams = uf2mod.summarize(blocks)
    foreign = [f for f in streams if f != wanted and f not in allowed_extra]
    if wanted not in streams:
        found = ", ".join(uf2mod.family_name(f) for f in streams)
        fits = _boards_where(lambda p: p.flash_method == "uf2" and p.flash["family_id"] in streams)
        raise FirmwareError("%s: wrong UF2 family: the file is for %s, board %s (%s) needs %s%s"
                            % (what, found, profile.name, profile.chip, uf2mod.family_name(wanted), fits))
    if foreign:
        raise FirmwareError("%s: the file also carries blocks for %s, which board %s does not take"
                            % (what, ", ".join(uf2mod.family_name(f) for f in foreign), profile.name))
    main = streams[wanted]
    problems = main.problems()
    if problems:
        raise FirmwareError("%s: %s" % (what, "; ".join(problems)))
    flash_end = RP2_XIP_BASE + profile.flash_size
    for b in main.blocks:
        if b.payload_size != 256:
            raise FirmwareError("%s: block %d has a %d-byte payload; the %s bootrom only takes 256-byte payloads"
                                % (what, b.block_no, b.payload_size, profile.chip))
        if b.address % 256:
            raise FirmwareError("%s: block %d targets %#x, not 256-byte aligned" % (what, b.block_no, b.address))
        if b.is_main_flash and not RP2_XIP_BASE <= b.address < flash_end - 255:
            raise FirmwareError("%s: block %d targets %#x, outside the board's %d KB of flash (%#x-%#x); "
                                "not a flash image for this board"
                                % (what, b.block_no, b.address, profile.flash_size // 1024, RP2_XIP_BASE, flash_end))
    lo, hi = main.address_range
    parts = ["UF2 %s, %d blocks, flash %#x-%#x (%d KB)" % (uf2mod.family_name(wanted), len(main.blocks), lo, hi,
                                                         (hi - lo) // 1024)]
    for f in streams:
        if f != wanted:
            parts.append("%d extra block(s) of %s" % (len(streams[f].blocks), uf2mod.family_name(f)))
    return ImageInfo("uf2", path, len(data), parts, family_id=wanted, blocks=len(blocks))


# ---------------------------------------------------------------- ESP32

def _esp_chip_ids():
    from esptool.targets import CHIP_DEFS
    return {name: cls for name, cls in CHIP_DEFS.items() if hasattr(cls, "IMAGE_CHIP_ID")}


def _load_esp_image(chip, data, what, where):
    """esptool's parse of one image (magic, headers, segments), checksum and digest verified."""
    from esptool.bin_image import LoadFirmwareImage
    try:
        image = LoadFirmwareImage(chip, data)
    except Exception as e:  # esptool raises FatalError, struct.error or RuntimeError on bad input
        msg = str(e) or e.__class__.__name__
        if "End of file" in msg or isinstance(e, (struct.error, TypeError)):
            msg = "truncated (%s)" % msg
        raise FirmwareError("%s: the %s image is not valid: %s" % (what, where, msg)) from None
    defs = _esp_chip_ids()
    expected = defs[chip].IMAGE_CHIP_ID
    if image.chip_id != expected:
        other = [n for n, c in defs.items() if c.IMAGE_CHIP_ID == image.chip_id]
        fits = _boards_where(lambda p: p.flash_method == "esptool" and p.flash["chip"] in other)
        raise FirmwareError("%s: the %s image is for %s (chip id %d), but the board is %s (chip id %d)%s"
                            % (what, where, defs[other[0]].CHIP_NAME if other else "an unknown chip",
                               image.chip_id, defs[chip].CHIP_NAME, expected, fits))
    if image.checksum != image.calculate_checksum():
        raise FirmwareError("%s: the %s image's checksum does not match its contents: corrupted" % (what, where))
    if getattr(image, "append_digest", False) and image.stored_digest != image.calc_digest:
        raise FirmwareError("%s: the %s image's SHA-256 does not match its contents: corrupted or truncated"
                            % (what, where))
    length = image.data_length + 32 if getattr(image, "append_digest", False) else _image_length(image)
    return image, length


def _image_length(image):
    end = max(s.file_offs + 8 + len(s.data) for s in image.segments) if image.segments else 24
    return (end + 16) & ~15  # checksum byte padded to 16


def _partitions(table):
    """(type, subtype, offset, size, label) entries of an ESP-IDF partition table."""
    out = []
    for i in range(0, len(table) - 31, 32):
        entry = table[i:i + 32]
        if entry[:2] != ESP_PARTITION_MAGIC:
            break
        ptype, subtype = entry[2], entry[3]
        offset, size = struct.unpack_from("<II", entry, 4)
        label = entry[12:28].split(b"\0")[0].decode("ascii", "replace")
        out.append((ptype, subtype, offset, size, label))
    return out


def _check_esp(profile, path, data, what):
    chip = profile.flash["chip"]
    offset = profile.flash["offset"]
    if data[:4] == struct.pack("<I", uf2mod.MAGIC_START0):
        raise FirmwareError("%s: this is a UF2 file (for RP2040-style boards); board %s takes an ESP32 .bin"
                            % (what, profile.name))
    if data[0] == ESP_IMAGE_MAGIC:
        image_at, write_offset = 0, offset
    elif offset and len(data) > offset and data[offset] == ESP_IMAGE_MAGIC:
        image_at, write_offset = offset, 0      # merged from flash address 0
    else:
        places = "file offset 0" + (" or %#x" % offset if offset else "")
        hint = ""
        if len(data) > 0x1000 and data[0x1000] == ESP_IMAGE_MAGIC and not data[:0x1000].strip(b"\xff"):
            hint = " (there is an image at 0x1000: a merged firmware for a board whose bootloader sits at 0x1000, " \
                   "such as the original ESP32, not for %s)" % profile.chip
        raise FirmwareError("%s: not an ESP32 firmware image: no image magic byte 0xE9 at %s (found %#04x)%s"
                            % (what, places, data[0], hint))
    if write_offset + len(data) > profile.flash_size:
        raise FirmwareError("%s: %d bytes written at %#x do not fit the board's %d MB flash"
                            % (what, len(data), write_offset, profile.flash_size // (1024 * 1024)))
    role = "bootloader" if write_offset + image_at == offset else "first"
    boot, boot_len = _load_esp_image(chip, data[image_at:], what, role)
    parts = ["%s image at flash %#x (%d segments, %d bytes)"
             % (chip, write_offset + image_at, len(boot.segments), boot_len)]
    rest = data[image_at + boot_len:]
    table_at = ESP_PARTITION_TABLE_OFFSET - write_offset
    if not rest:
        # a single image: written as it is
        return ImageInfo("esp", path, len(data), parts, write_offset=write_offset)
    if not rest.strip(b"\xff") and write_offset + len(data) < ESP_PARTITION_TABLE_OFFSET:
        raise FirmwareError("%s: truncated: only erased-flash padding follows the first image and the file ends at "
                            "flash %#x, before the partition table at %#x"
                            % (what, write_offset + len(data), ESP_PARTITION_TABLE_OFFSET))
    if len(data) < table_at + 32:
        raise FirmwareError("%s: truncated: data follows the first image but the file ends at flash %#x, before the "
                            "partition table at %#x" % (what, write_offset + len(data), ESP_PARTITION_TABLE_OFFSET))
    table = _partitions(data[table_at:table_at + 0xC00])
    if not table:
        raise FirmwareError("%s: data follows the first image but there is no partition table at flash %#x: "
                            "not a merged ESP32 firmware" % (what, ESP_PARTITION_TABLE_OFFSET))
    parts.append("partition table at %#x (%s)" % (ESP_PARTITION_TABLE_OFFSET, ", ".join(p[4] for p in table)))
    apps = [p for p in table if p[0] == 0]
    if not apps:
        raise FirmwareError("%s: the partition table has no application partition" % what)
    for ptype, subtype, poff, psize, label in table:
        if poff + psize > profile.flash_size:
            raise FirmwareError("%s: partition %r ends at %#x, beyond the board's %d MB flash: firmware for a "
                                "bigger board" % (what, label, poff + psize, profile.flash_size // (1024 * 1024)))
    app = apps[0]
    app_at = app[2] - write_offset
    if len(data) <= app_at:
        raise FirmwareError("%s: truncated: the file ends at flash %#x, before the application partition %r at %#x"
                            % (what, write_offset + len(data), app[4], app[2]))
    image, app_len = _load_esp_image(chip, data[app_at:app_at + app[3]], what, "application (%s)" % app[4])
    parts.append("application %r at %#x (%d bytes)" % (app[4], app[2], app_len))
    return ImageInfo("esp", path, len(data), parts, write_offset=write_offset)


def esptool_args(profile, path, port, erase=False, baud=None, info=None, connect_attempts=None):
    """The argument list given to ``esptool.main`` to flash ``path``: chip check (``--chip``), optional
    full erase, write at the offset worked out by check_image, verification (esptool's MD5 check after
    writing is always on), hard reset afterwards."""
    profile = _profile(profile)
    if profile.flash_method != "esptool":
        raise FlashError("board %s is not flashed with esptool (method %s)" % (profile.name, profile.flash_method))
    if info is None:
        info = check_image(profile, path)
    args = ["--chip", profile.flash["chip"]]
    if port:
        args += ["--port", port]
    args += ["--baud", str(baud or profile.flash["baud"]), "--before", "default-reset", "--after", "hard-reset"]
    if connect_attempts is not None:
        args += ["--connect-attempts", str(connect_attempts)]
    args += ["write-flash"]
    if erase:
        args += ["--erase-all"]
    args += ["--flash-size", "keep", "%#x" % info.write_offset, os.fspath(path)]
    return args


def _esptool_logger(progress, out):
    """A logger for esptool that forwards its progress bar to ``progress(done, total, stage)``."""
    try:
        from esptool.logger import TemplateLogger
    except ImportError:   # esptool < 5: progress goes to stdout
        return None

    class Forward(TemplateLogger):
        def print(self, *args, **kwargs):
            kwargs.pop("flush", None)
            kwargs.pop("soft_wrap", None)
            end = kwargs.get("end", "\n")
            out.write(" ".join(str(a) for a in args) + end)

        def note(self, message):
            out.write("Note: %s\n" % message)

        def warning(self, message, suggestion=None):
            out.write("Warning: %s\n" % message)

        def error(self, message, suggestion=None):
            out.write("Error: %s\n" % message)

        def warn(self, message, suggestion=None):
            self.warning(message)

        def err(self, message, suggestion=None):
            self.error(message)

        def debug(self, *args):
            pass

        def stage(self, finish=False):
            pass

        def progress_bar(self, cur_iter, total_iters, prefix="", suffix="", bar_length=30):
            if progress:
                progress(cur_iter, total_iters, "write")

        def set_verbosity(self, verbosity):
            pass

    return Forward()


def run_esptool(args, progress=None, out=None):
    """esptool.main(args) with its output sent to ``out`` and its progress to ``progress``."""
    import esptool
    out = out or sys.stdout
    logger = _esptool_logger(progress, out)
    previous = None
    if logger is not None:
        from esp_pylib.logger import EspLog
        previous = EspLog.instance
        from esptool.logger import log
        log.set_logger(logger)
    try:
        esptool.main(list(args))
    except SystemExit as e:
        raise FlashError("esptool stopped (exit status %s); arguments: %s" % (e.code, " ".join(args))) from None
    except Exception as e:
        msg = str(e) or e.__class__.__name__
        raise FlashError("esptool failed: %s\n  (arguments: %s; check the port, the cable, and hold BOOT while "
                         "pressing RESET if the board does not enter its bootloader)" % (msg, " ".join(args))) from None
    finally:
        if logger is not None:
            from esp_pylib.logger import EspLog
            EspLog.instance = previous


# ---------------------------------------------------------------- RP2040 / RP2350

def enter_bootloader(port, transport_factory=None):
    """Ask MicroPython on ``port`` to reboot into its USB bootloader (``machine.bootloader()`` sent
    over the raw REPL with mpremote's serial transport). The board drops off USB straight away."""
    if transport_factory is None:
        from mpremote.transport_serial import SerialTransport as transport_factory
    try:
        try:
            t = transport_factory(port, baudrate=115200, timeout=5)
        except TypeError:   # an mpremote without the timeout argument
            t = transport_factory(port, baudrate=115200)
    except Exception as e:
        raise FlashError("cannot open %s to put the board into BOOTSEL: %s (or hold BOOTSEL while plugging it "
                         "in, then use --drive)" % (port, e)) from None
    try:
        t.enter_raw_repl(soft_reset=False)
        t.exec_raw_no_follow("import machine\nmachine.bootloader()")
    except Exception as e:
        # the board resetting under us mid-reply is expected once the command was sent
        if "could not enter raw repl" in str(e).lower():
            raise FlashError("the board on %s did not answer with a raw REPL: %s" % (port, e)) from None
    finally:
        try:
            t.close()
        except Exception:
            pass


def wait_for_drive(profile, drives=None, timeout=30.0, poll=0.25, clock=time.monotonic, sleep=time.sleep):
    """The mount path of the board's BOOTSEL drive once one is there; FlashError after ``timeout``."""
    deadline = clock() + timeout
    while True:
        found = find_bootsel_drives(drives, profile=profile)
        if len(found) == 1:
            return found[0].drive
        if len(found) > 1:
            raise FlashError("%d BOOTSEL drives fit board %s (%s): choose one with --drive"
                             % (len(found), profile.name, ", ".join(b.drive for b in found)))
        if clock() >= deadline:
            raise FlashError("no BOOTSEL drive for board %s appeared within %gs: hold BOOTSEL while plugging the "
                             "board in, make sure the drive is mounted, then run again with --drive PATH"
                             % (profile.name, timeout))
        sleep(poll)


def _comports():
    from serial.tools import list_ports
    return list_ports.comports()


def _micropython_ports(profile, list_ports):
    ids = set(profile.usb_ids("micropython"))
    return [p for p in list_ports() if (getattr(p, "vid", None), getattr(p, "pid", None)) in ids]


def wait_for_port(profile, list_ports=_comports, timeout=30.0, poll=0.25, clock=time.monotonic,
                  sleep=time.sleep, exclude=()):
    """The device of the first serial port with the board's MicroPython USB ids; FlashError on timeout."""
    deadline = clock() + timeout
    while True:
        ports = [p for p in _micropython_ports(profile, list_ports) if p.device not in exclude]
        if ports:
            return sorted(p.device for p in ports)[0]
        if clock() >= deadline:
            raise FlashError("MicroPython's serial port did not come back within %gs after flashing: unplug and "
                             "replug the board; if it stays a BOOTSEL drive the image did not boot" % timeout)
        sleep(poll)


def copy_uf2(path, drive, progress=None, chunk=64 * 1024):
    """Copy the .uf2 onto a BOOTSEL drive: written in chunks, flushed and fsynced so the drive receives
    every block before we return. The bootrom reboots once the last block lands, which may make the
    final flush fail; that is accepted only after every byte was handed to the drive."""
    if not is_bootsel_drive(drive):
        raise FlashError("%s is not a UF2 bootloader drive (no INFO_UF2.TXT)" % drive)
    with open(path, "rb") as f:
        data = f.read()
    target = os.path.join(drive, UF2_NAME)
    written = 0
    total = len(data)
    f = open(target, "wb")
    try:
        while written < total:
            n = f.write(data[written:written + chunk])
            written += n
            if progress:
                progress(written, total, "copy")
        f.flush()
        os.fsync(f.fileno())
    except OSError as e:
        if written < total:
            raise FlashError("copying to %s failed after %d of %d bytes: %s" % (drive, written, total, e)) from None
    finally:
        try:
            f.close()
        except OSError:
            if written < total:
                raise
    return target


def wait_for_repl(port, timeout=30.0, transport_factory=None, clock=time.monotonic, sleep=time.sleep):
    """Wait until MicroPython answers on ``port`` with a raw REPL (after a flash the first boot formats
    the filesystem before the REPL starts); leaves it at the friendly REPL. FlashError on timeout."""
    if transport_factory is None:
        from mpremote.transport_serial import SerialTransport as transport_factory
    deadline = clock() + timeout
    last = None
    while True:
        t = None
        try:
            t = transport_factory(port, baudrate=115200, timeout=1)
            t.enter_raw_repl(soft_reset=False, timeout_overall=max(1.0, min(5.0, deadline - clock())))
            t.exit_raw_repl()
            return port
        except Exception as e:
            last = e
        finally:
            if t is not None:
                try:
                    t.close()
                except Exception:
                    pass
        if clock() >= deadline:
            raise FlashError("MicroPython on %s did not answer with a REPL within %gs (%s): the firmware may not "
                             "have booted; try `mpremote connect %s repl`" % (port, timeout, last, port))
        sleep(0.5)


# ---------------------------------------------------------------- engine install

def _install_engine(port, profile, out, progress=None):
    """Install the engine with host_tools.device (the host tools' module, imported only now):
    ``Device(port, profile=...).install(...)``. Returns a one-line report."""
    try:
        from . import device
    except ImportError as e:
        return "engine not installed: host_tools.device is not available (%s); run `mpwasi install` later" % e
    cls = getattr(device, "Device", None)
    if cls is None or not callable(getattr(cls, "install", None)):
        return ("engine not installed: host_tools.device has no Device.install; run `mpwasi install --port %s`"
                % port)

    def install_progress(done, total):
        if progress:
            progress(done, total, "install")

    try:
        with cls(port, profile=profile) as board:
            report = board.install(progress=install_progress)
    except Exception as e:
        raise FlashError("MicroPython is on %s but installing the engine failed: %s; retry with `mpwasi install "
                         "--port %s`" % (port, e, port)) from None
    if isinstance(report, dict) and report.get("unchanged"):
        return "engine %s already installed on %s" % (report.get("version", ""), port)
    if isinstance(report, dict):
        return "engine %s installed on %s (%s, %s, %d files)" % (report.get("version", "?"), port,
                                                                report.get("format", "?"), report.get("arch", "?"),
                                                                len(report.get("written", ())))
    return "engine installed on %s" % port


# ---------------------------------------------------------------- flash

def _default_progress(out):
    state = {"last": None}

    def report(done, total, stage):
        pct = 100 * done // total if total else 100
        if state["last"] != (stage, pct):
            state["last"] = (stage, pct)
            out.write("\r%s: %3d%% (%d/%d)" % (stage, pct, done, total))
            if done >= total:
                out.write("\n")
            out.flush()
    return report


def flash(profile, firmware_path, port=None, erase=False, progress=None, drive=None, no_install=False,
          out=None, list_ports=None, timeout=30.0, baud=None, connect_attempts=None, drives=None):
    """Flash MicroPython ``firmware_path`` onto board ``profile`` (Profile or name).

    ESP32 family: esptool on ``port`` (esptool finds the port itself if None), ``erase`` first if asked.
    RP2: ``drive`` (a BOOTSEL drive) if given, else a BOOTSEL drive already mounted, else the MicroPython
    board on ``port`` (or the only one found) is put into BOOTSEL; then the .uf2 is copied and we wait
    for the serial port. ``progress(done, total, stage)`` is called as data is written.
    Returns a dict: {"board", "image", "port", "drive", "installed"}.
    """
    profile = _profile(profile)
    out = out or sys.stdout
    progress = progress or _default_progress(out)
    info = check_image(profile, firmware_path)          # before anything is written
    out.write("%s: %s\n" % (firmware_path, "; ".join(info.parts)))
    result = {"board": profile.name, "image": info.parts, "port": port, "drive": None, "installed": None}
    if profile.flash_method == "esptool":
        if erase:
            out.write("erasing the whole flash first (--erase)\n")
        run_esptool(esptool_args(profile, firmware_path, port, erase, baud, info, connect_attempts), progress, out)
        # esptool hard-resets the chip. Behind a USB-serial bridge the port stays; on native USB the
        # ROM's device goes away and MicroPython's comes up (possibly under another name).
        list_ports = list_ports or _comports
        if port is None or port not in [p.device for p in list_ports()]:
            port = wait_for_port(profile, list_ports, timeout=timeout)
        result["port"] = port
    else:
        list_ports = list_ports or _comports
        if erase:
            out.write("note: --erase has no effect for UF2 boards; the filesystem is kept\n")
        if drive is not None:
            if not is_bootsel_drive(drive):
                raise FlashError("%s is not a BOOTSEL drive (no INFO_UF2.TXT in it)" % drive)
            target_drive = drive
        else:
            ready = find_bootsel_drives(drives, profile=profile)
            if len(ready) > 1:
                raise FlashError("%d BOOTSEL drives fit board %s (%s): choose one with --drive"
                                 % (len(ready), profile.name, ", ".join(b.drive for b in ready)))
            if ready:
                target_drive = ready[0].drive
            else:
                if port is None:
                    candidates = _micropython_ports(profile, list_ports)
                    if not candidates:
                        raise FlashError("no %s found: no BOOTSEL drive is mounted and no MicroPython board with USB "
                                         "ids %s is on a serial port. Hold BOOTSEL while plugging it in, or give --port"
                                         % (profile.name, ", ".join("%04X:%04X" % p
                                                                    for p in profile.usb_ids("micropython"))))
                    if len(candidates) > 1:
                        raise FlashError("several MicroPython boards found (%s): choose one with --port"
                                         % ", ".join(p.device for p in candidates))
                    port = candidates[0].device
                out.write("asking MicroPython on %s to enter its bootloader\n" % port)
                enter_bootloader(port)
                target_drive = wait_for_drive(profile, drives, timeout=timeout)
        info_txt = read_info_uf2(target_drive)
        out.write("copying to %s (%s)\n" % (target_drive, info_txt.get("Model", "UF2 drive")))
        # the board being flashed is a drive now: MicroPython ports present before the copy are other boards
        others = [p.device for p in _micropython_ports(profile, list_ports)]
        copy_uf2(firmware_path, target_drive, progress)
        result["drive"] = target_drive
        result["port"] = wait_for_port(profile, list_ports, timeout=timeout, exclude=others)
        out.write("MicroPython is back on %s\n" % result["port"])
    if no_install:
        result["installed"] = "skipped (--no-install)"
    elif result["port"] is None:
        result["installed"] = "engine not installed: no port known; run `mpwasi install --port PORT`"
    else:
        out.write("waiting for MicroPython's REPL on %s\n" % result["port"])
        wait_for_repl(result["port"], timeout=timeout)
        result["installed"] = _install_engine(result["port"], profile, out, progress)
    out.write(result["installed"] + "\n")
    return result


# ---------------------------------------------------------------- command line

def add_cli(subparsers):
    """Register ``flash`` on an argparse subparsers object; the handler is ``cmd_flash``."""
    from .profiles import profile_names
    p = subparsers.add_parser("flash", help="flash MicroPython firmware onto a board, then install the engine",
                              description="Check a MicroPython firmware image against the board profile, write "
                                          "it (esptool for ESP32 boards, UF2 copy for RP2040/RP2350), then "
                                          "install the engine.")
    p.add_argument("--board", "-b", required=True, help="board profile: %s" % ", ".join(profile_names()))
    p.add_argument("firmware", help="the MicroPython image: .bin (ESP32) or .uf2 (RP2040/RP2350)")
    p.add_argument("--port", "-p", help="serial port of the board (default: found by its USB ids)")
    p.add_argument("--erase", action="store_true", help="erase the whole flash first (ESP32)")
    p.add_argument("--no-install", action="store_true", help="do not install the engine afterwards")
    p.add_argument("--drive", help="mount path of the BOOTSEL drive (RP2040/RP2350)")
    p.add_argument("--baud", type=int, help="esptool baud rate (default: from the profile)")
    p.add_argument("--check", action="store_true", help="only check the image against the board; write nothing")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to wait for the BOOTSEL drive and for the serial port to come back (default 30)")
    p.set_defaults(func=cmd_flash)
    return p


def cmd_flash(args):
    """The ``mpwasi flash`` handler: returns the exit status (0 ok, 1 failed, 2 bad input)."""
    try:
        profile = load_profile(args.board)
        if getattr(args, "check", False):
            info = check_image(profile, args.firmware)
            print("%s: fits board %s: %s" % (args.firmware, profile.name, "; ".join(info.parts)))
            return 0
        flash(profile, args.firmware, port=args.port, erase=args.erase, drive=args.drive,
              no_install=args.no_install, baud=getattr(args, "baud", None), timeout=getattr(args, "timeout", 30.0))
        return 0
    except (ProfileError, FirmwareError) as e:
        print("mpwasi flash: %s (nothing was written)" % e, file=sys.stderr)
        return 2
    except FlashError as e:
        print("mpwasi flash: %s" % e, file=sys.stderr)
        return 1


def main(argv=None):
    """``python -m host_tools.flashing --board B firmware ...``: the flash command on its own."""
    import argparse
    parser = argparse.ArgumentParser(prog="python -m host_tools.flashing")
    sub = parser.add_subparsers(dest="command")
    add_cli(sub)
    args = parser.parse_args(["flash"] + list(sys.argv[1:] if argv is None else argv))
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
