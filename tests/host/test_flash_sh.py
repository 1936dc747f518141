"""flash.sh: usage, argument errors, the no-board path, and a UF2 flash through it (no pip: --no-pip)."""

import os
from repo_paths import REPO_ROOT
import shutil
import subprocess
import sys

import pytest

REPO = REPO_ROOT

from host_tools import uf2  # noqa: E402

SCRIPT = os.path.join(REPO, "flash.sh")
SHELLS = [s for s in ("sh", "bash", "dash") if shutil.which(s)]
RP2040_INFO = "UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n"


def run(*args, shell="sh", script=SCRIPT, cwd=None):
    env = dict(os.environ, PYTHON=sys.executable)
    env.pop("MPWASI_SKIP_PIP", None)
    return subprocess.run([shell, script] + list(args), capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)


@pytest.mark.parametrize("shell", SHELLS)
def test_help_prints_usage(shell):
    r = run("-h", shell=shell)
    assert r.returncode == 0
    assert r.stdout.startswith("usage: ./flash.sh")
    for word in ("--board", "--port", "--drive", "--erase", "--no-install", "rpi_pico", "esp32"):
        assert word in r.stdout


def test_script_is_executable():
    assert os.access(SCRIPT, os.X_OK)


@pytest.mark.parametrize("args, message", [
    (["--frobnicate"], "unknown option: --frobnicate"),
    (["--board", "esp32"], "needs a firmware file"),
    (["fw.uf2"], "which board is fw.uf2 for?"),
    (["--port", "/dev/ttyUSB0"], "only make sense with --board"),
    (["--board", "rpi_pico", "a.uf2", "b.uf2"], "more than one firmware file"),
])
def test_bad_arguments_exit_2_with_a_reason(args, message):
    r = run(*args)
    assert r.returncode == 2
    assert message in r.stderr and "./flash.sh -h" in r.stderr


def test_without_a_board_it_lists_the_boards_and_says_the_virtual_board_starts_on_demand():
    r = run("--no-pip")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "nothing to flash (the virtual board starts on demand)" in r.stdout
    assert "== done" in r.stdout


def make_drive(tmp_path, name="RPI RP2 drive"):
    d = tmp_path / name               # a space in the path: the script must quote it
    d.mkdir()
    (d / "INFO_UF2.TXT").write_text(RP2040_INFO)
    return str(d)


def test_wrong_firmware_is_refused_and_nothing_copied(tmp_path):
    drive = make_drive(tmp_path)
    fw = tmp_path / "pico2.uf2"
    fw.write_bytes(uf2.build_uf2(b"\1" * 1024, 0x10000000, 0xE48BFF59))
    r = run("--no-pip", "--board", "rpi_pico", str(fw), "--drive", drive, "--no-install")
    assert r.returncode == 2
    assert "wrong UF2 family" in r.stderr and "nothing was written" in r.stderr
    assert os.listdir(drive) == ["INFO_UF2.TXT"]


def test_uf2_is_flashed_through_the_script(tmp_path):
    drive = make_drive(tmp_path)
    fw = tmp_path / "pico.uf2"
    image = uf2.build_uf2(bytes(range(256)) * 8, 0x10000000, 0xE48BFF56)
    fw.write_bytes(image)
    # no Pico is attached here, so after the copy the serial port cannot come back: status 1, said so
    r = run("--no-pip", "--board", "rpi_pico", str(fw), "--drive", drive, "--no-install", "--timeout", "0")
    assert "copying to %s" % drive in r.stdout
    with open(os.path.join(drive, "firmware.uf2"), "rb") as f:
        assert f.read() == image
    assert r.returncode == 1 and "did not come back" in r.stderr


def test_works_from_a_fresh_clone(tmp_path):
    """A clone of the committed tree (no install): help and the no-board path both work."""
    if not shutil.which("git"):
        pytest.fail("git is needed to clone the repository")
    head = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout, so there is nothing to clone: %s" % head.stderr.strip())
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", REPO, str(clone)], check=True, capture_output=True)
    script = str(clone / "flash.sh")
    assert os.access(script, os.X_OK)
    assert run("-h", script=script).returncode == 0
    env = dict(os.environ, PYTHON=sys.executable, PYTHONPATH="")
    r = subprocess.run([script, "--no-pip"], capture_output=True, text=True, env=env, cwd=str(tmp_path),
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "nothing to flash (the virtual board starts on demand)" in r.stdout
