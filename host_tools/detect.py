"""Recognise boards on USB: serial ports (pyserial's listing) and UF2 BOOTSEL drives.

A serial port is matched to board profiles by its USB vendor/product id (the ``usb`` lists in
``boards/*.json``).  USB ids cannot always name the board: every rp2 board running MicroPython shows
2E8A:0005, and an ESP32 behind a CP210x/CH340/FTDI bridge shows the bridge's ids whatever ESP32 it is
and whether it runs MicroPython or its ROM bootloader.  Then ``profile`` is None, ``candidates`` lists
the possible boards and ``label`` says so, e.g. ``"esp32 (family: esp32, esp32c3, esp32s3)"``.

An RP2040/RP2350 in BOOTSEL mode is a USB drive (volume RPI-RP2 / RP2350) holding ``INFO_UF2.TXT``;
its ``Board-ID:`` line tells the chip.
"""

import glob
import os

from .profiles import all_profiles

__all__ = ["DetectedBoard", "detect_boards", "default_drive_candidates", "read_info_uf2", "find_bootsel_drives",
           "is_bootsel_drive"]

INFO_FILE = "INFO_UF2.TXT"
MOUNT_PATTERNS = ("/media/*", "/media/*/*", "/run/media/*/*", "/mnt/*", "/Volumes/*")


class DetectedBoard:
    """One board found on USB.

    port: the serial device (e.g. /dev/ttyACM0), or for a BOOTSEL drive its mount path;
    drive: the mount path of a BOOTSEL drive, else None;
    profile: the board name if the ids name exactly one profile, else None;
    candidates: every profile name that fits; label: profile or "<family> (family: ...)";
    state: "micropython" or "bootloader"; vid, pid (None for a drive); description; serial_number.
    """

    def __init__(self, port, profile, state, vid, pid, description, candidates=(), label=None,
                 drive=None, serial_number=None, family=None):
        self.port = port
        self.drive = drive
        self.profile = profile
        self.candidates = list(candidates)
        self.family = family
        self.label = label or profile or "unknown"
        self.state = state
        self.vid = vid
        self.pid = pid
        self.description = description
        self.serial_number = serial_number

    @property
    def usb_id(self):
        if self.vid is None or self.pid is None:
            return None
        return "%04X:%04X" % (self.vid, self.pid)

    def to_dict(self):
        return {"port": self.port, "drive": self.drive, "profile": self.profile, "label": self.label,
                "candidates": self.candidates, "family": self.family, "state": self.state, "vid": self.vid,
                "pid": self.pid, "usb_id": self.usb_id, "description": self.description,
                "serial_number": self.serial_number}

    def __repr__(self):
        return "DetectedBoard(%r, %s, %s%s)" % (self.port, self.label, self.state,
                                               ", %s" % self.usb_id if self.usb_id else "")


def _label(names, profiles):
    if len(names) == 1:
        return names[0], None
    fams = sorted(set(profiles[n].family for n in names))
    chips = sorted(set(profiles[n].chip for n in names))
    family = chips[0] if len(chips) == 1 else fams[0] if len(fams) == 1 else None
    head = family or "/".join(fams)
    return "%s (family: %s)" % (head, ", ".join(names)), family


def _match_port(port, profiles):
    vid, pid = getattr(port, "vid", None), getattr(port, "pid", None)
    if vid is None or pid is None:
        return None
    as_mp = [n for n, p in profiles.items() if (vid, pid) in p.usb_ids("micropython")]
    as_boot = [n for n, p in profiles.items() if (vid, pid) in p.usb_ids("bootloader")]
    names = sorted(set(as_mp) | set(as_boot))
    if not names:
        return None
    # An id that MicroPython uses means "micropython": behind a USB-serial bridge the ROM bootloader is only
    # entered when esptool resets the chip, so a board sitting there runs its firmware.
    state = "micropython" if as_mp else "bootloader"
    label, family = _label(names, profiles)
    if len(names) == 1:
        family = profiles[names[0]].family
    desc = getattr(port, "description", None) or ""
    if desc == "n/a":
        desc = ""
    return DetectedBoard(port.device, names[0] if len(names) == 1 else None, state, vid, pid, desc,
                         candidates=names, label=label, serial_number=getattr(port, "serial_number", None),
                         family=family)


def read_info_uf2(drive):
    """The ``key: value`` lines of a drive's INFO_UF2.TXT as a dict (first line under "Bootloader")."""
    path = os.path.join(drive, INFO_FILE)
    with open(path, "r", errors="replace") as f:
        lines = f.read().splitlines()
    info = {}
    for i, line in enumerate(lines):
        if ":" in line:
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
        elif i == 0 and line.strip():
            info["Bootloader"] = line.strip()
    return info


def is_bootsel_drive(path):
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, INFO_FILE))


def default_drive_candidates():
    """Mount points where a UF2 drive may appear (Linux /media, /run/media, /mnt; macOS /Volumes;
    drive letters on Windows)."""
    if os.name == "nt":
        return ["%s:\\" % letter for letter in "DEFGHIJKLMNOPQRSTUVWXYZ" if os.path.isdir("%s:\\" % letter)]
    seen = []
    for pattern in MOUNT_PATTERNS:
        for path in sorted(glob.glob(pattern)):
            if path not in seen:
                seen.append(path)
    return seen


def _match_drive(drive, profiles):
    try:
        info = read_info_uf2(drive)
    except OSError:
        return None
    board_id = info.get("Board-ID", "")
    volume = os.path.basename(os.path.normpath(drive))
    uf2 = {n: p for n, p in profiles.items() if p.flash_method == "uf2"}
    names = sorted(n for n, p in uf2.items() if p.flash.get("bootsel_board_id") and
                   board_id.startswith(p.flash["bootsel_board_id"]))
    if not names and not board_id:
        names = sorted(n for n, p in uf2.items() if p.flash.get("bootsel_volume") == volume)
    desc = info.get("Model") or info.get("Bootloader") or "UF2 drive"
    if board_id:
        desc = "%s (Board-ID %s)" % (desc, board_id)
    if not names:
        return DetectedBoard(drive, None, "bootloader", None, None, desc + ": no board profile matches",
                             candidates=[], label="unknown UF2 drive", drive=drive)
    label, family = _label(names, profiles)
    if len(names) == 1:
        family = profiles[names[0]].family
    return DetectedBoard(drive, names[0] if len(names) == 1 else None, "bootloader", None, None, desc,
                         candidates=names, label=label, drive=drive, family=family)


def find_bootsel_drives(drives=None, profile=None):
    """BOOTSEL drives (DetectedBoard) among ``drives`` (default: the usual mount points); with a
    profile, only the drives that fit it."""
    profiles = {p.name: p for p in all_profiles()}
    found = []
    for d in (default_drive_candidates() if drives is None else drives):
        if is_bootsel_drive(d):
            b = _match_drive(d, profiles)
            if b is not None and (profile is None or _profile_name(profile) in b.candidates):
                found.append(b)
    return found


def _profile_name(profile):
    return getattr(profile, "name", profile)


def detect_boards(ports=None, drives=None):
    """Boards on USB: serial ports whose ids match a profile, then BOOTSEL drives.

    ports: pyserial ListPortInfo objects (default: serial.tools.list_ports.comports());
    drives: candidate mount points (default: /media/*, /media/*/*, /run/media/*/*, /mnt/*, /Volumes/*).
    Ports with no USB ids or ids no profile knows are left out.
    """
    if ports is None:
        from serial.tools import list_ports
        ports = list_ports.comports()
    profiles = {p.name: p for p in all_profiles()}
    found = []
    for port in sorted(ports, key=lambda p: p.device):
        b = _match_port(port, profiles)
        if b is not None:
            found.append(b)
    found.extend(find_bootsel_drives(drives))
    return found
