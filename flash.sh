#!/bin/sh
# flash.sh - set up mpwasi from a fresh clone in one command.
#
# 1. installs the host tools (python3 -m pip install -e <this repository>);
# 2. with --board: checks the MicroPython firmware against the board profile, flashes it
#    (esptool for ESP32 boards, UF2 copy for RP2040/RP2350) and installs the engine;
#    without --board: nothing to flash; lists the boards (the virtual board starts by itself on
#    the first command that needs a board, no hardware needed).
set -e

usage() {
    cat <<'EOF'
usage: ./flash.sh [--board BOARD FIRMWARE [--port PORT] [--drive PATH] [--erase] [--no-install]
                  [--timeout SECONDS]] [--no-pip] [-h]

Set up mpwasi from a fresh clone: install the host tools, then flash a board or, with no
--board, list the boards (the virtual board starts on demand: mpwasi run needs no set-up).

  --board BOARD     board profile (a file in boards/): esp32, esp32s3, esp32c3, rpi_pico,
                    rpi_pico_w, rpi_pico2, ...
  FIRMWARE          MicroPython image for that board: .bin (ESP32 family) or .uf2 (RP2040/RP2350)
  --port PORT       serial port of the board (default: found by its USB ids)
  --drive PATH      mounted BOOTSEL drive of an RP2040/RP2350 (RPI-RP2 / RP2350)
  --erase           erase the whole flash first (ESP32 family)
  --no-install      flash MicroPython only; do not install the mpwasi engine
  --timeout SECONDS wait this long for the BOOTSEL drive / the serial port (default 30)
  --no-pip          skip the pip install step (tools already installed)
  -h, --help        show this help

Environment: PYTHON (default python3), MPWASI_SKIP_PIP=1 (same as --no-pip).

Examples:
  ./flash.sh                                          # tools only; lists the boards
  ./flash.sh --board rpi_pico RPI_PICO-v1.28.0.uf2
  ./flash.sh --board esp32 ESP32_GENERIC-v1.28.0.bin --port /dev/ttyUSB0 --erase
EOF
}

die() {
    echo "flash.sh: $*" >&2
    echo "Try './flash.sh -h' for help." >&2
    exit 2
}

REPO=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-python3}
BOARD=
FIRMWARE=
SKIP_PIP=${MPWASI_SKIP_PIP:-0}
FLASH_OPTS=

while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --board) [ $# -ge 2 ] || die "--board needs a board name"; BOARD=$2; shift 2 ;;
        --board=*) BOARD=${1#--board=}; shift ;;
        --port|--drive|--timeout)
            [ $# -ge 2 ] || die "$1 needs a value"
            FLASH_OPTS="$FLASH_OPTS $1 $(printf '%s' "$2" | sed "s/'/'\\\\''/g; s/^/'/; s/\$/'/")"; shift 2 ;;
        --erase|--no-install) FLASH_OPTS="$FLASH_OPTS $1"; shift ;;
        --no-pip) SKIP_PIP=1; shift ;;
        --) shift; [ $# -gt 0 ] && { FIRMWARE=$1; shift; } ;;
        -*) die "unknown option: $1" ;;
        *) [ -z "$FIRMWARE" ] || die "more than one firmware file given: $FIRMWARE and $1"; FIRMWARE=$1; shift ;;
    esac
done

if [ -n "$BOARD" ] && [ -z "$FIRMWARE" ]; then
    die "--board $BOARD needs a firmware file (the MicroPython .bin or .uf2 for that board)"
fi
if [ -z "$BOARD" ] && [ -n "$FIRMWARE" ]; then
    die "which board is $FIRMWARE for? give --board (see boards/)"
fi
if [ -z "$BOARD" ] && [ -n "$FLASH_OPTS" ]; then
    die "$FLASH_OPTS only make sense with --board"
fi
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.10 or newer"

if [ "$SKIP_PIP" != 1 ]; then
    echo "== installing the mpwasi host tools (pip install -e $REPO)"
    "$PYTHON" -m pip install -q -e "$REPO" || {
        echo "flash.sh: pip install failed (see above). Is pip installed ('$PYTHON -m ensurepip')?" >&2
        exit 1
    }
fi

# The mpwasi command of this checkout, run by the same interpreter (whatever else is on PATH).
cd "$REPO"
mpwasi() {
    "$PYTHON" -c 'import sys; sys.argv[0] = "mpwasi"; from host_tools.cli import main; sys.exit(main())' "$@"
}
has_cli() {   # has_cli SUBCOMMAND [OPTION]: the mpwasi command offers it
    help=$(mpwasi "$1" --help 2>/dev/null) || return 1
    [ -z "$2" ] || printf '%s' "$help" | grep -q -- "$2"
}

if [ -n "$BOARD" ]; then
    echo "== flashing $FIRMWARE onto board $BOARD"
    if has_cli flash; then
        eval "mpwasi flash --board \"\$BOARD\" \"\$FIRMWARE\" $FLASH_OPTS"
    else
        eval "\"\$PYTHON\" -m host_tools.flashing --board \"\$BOARD\" \"\$FIRMWARE\" $FLASH_OPTS"
    fi
    exit $?
fi

echo "== no --board given: nothing to flash (the virtual board starts on demand); the boards:"
if has_cli boards; then
    mpwasi boards
else
    echo "(the mpwasi command is not available yet; the board profiles and any boards on USB:)"
    "$PYTHON" -c '
from host_tools.profiles import all_profiles
from host_tools.detect import detect_boards
for p in all_profiles():
    print("  %-11s %s" % (p.name, p.description))
found = detect_boards()
print("boards on USB: " + (", ".join("%s (%s, %s)" % (b.port, b.label, b.state) for b in found) or "none"))
'
fi
echo "== done. Flash a real board with: ./flash.sh --board BOARD FIRMWARE"
