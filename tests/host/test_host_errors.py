"""Every way a host command can go wrong that a user meets says so in one line that tells what to do,
never with a traceback (the host's or the board's); on the virtual board."""
import os
from repo_paths import REPO_ROOT
import subprocess
import sys

import pytest

from host_tools.device import Device, ENGINE_DIR, TMP_SUFFIX
from host_tools.virtual_board import SimProcess
from test_run import wat

REPO = REPO_ROOT
EXAMPLES = os.path.join(REPO, "examples")
CLI = [sys.executable, "-m", "host_tools.cli"]

SPAM = r"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "line\n")
  (func (export "_start") (local i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 5))
    (loop $l
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 0) (i32.const 1000000))))))
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimProcess("rpi_pico2", data_dir=tmp_path_factory.mktemp("vb")) as s:
        r = mpwasi(s, "install", "--port", s.port)
        assert r.returncode == 0, r.stderr
        yield s


def mpwasi(sim, *args, timeout=300, **kw):
    return subprocess.run(CLI + list(args), capture_output=True, text=True, env=sim.env, timeout=timeout, **kw)


def one_line(r, *words):
    """The command failed with one line on stderr, holding each of `words`."""
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("mpwasi: ") and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_output_closed_by_head_stops_the_program_with_one_line(sim, tmp_path):
    spam = wat(tmp_path, "spam", SPAM)
    cmd = " ".join(CLI + ["run", "--port", sim.port, spam]) + " | head -1"
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, env=sim.env,
                       timeout=300)
    assert r.stdout == "line\n"
    one_line(r, "output was closed", "stopped")
    with Device(sim.port) as d:                     # the board is back at its prompt
        assert d.eval("1 + 2") == 3


def test_preopen_of_a_missing_board_folder(sim):
    hello = os.path.join(EXAMPLES, "hello.wasm")
    one_line(mpwasi(sim, "run", "--port", sim.port, "--dir", ".=/missing", hello), "/missing", "no such directory")
    one_line(mpwasi(sim, "run", "--port", sim.port, "--dir", "/missing::/data", hello), "/missing")


def test_no_install_on_a_board_without_the_engine(tmp_path):
    with SimProcess("rpi_pico2", data_dir=tmp_path) as s:
        r = mpwasi(s, "run", "--port", s.port, "--no-install", os.path.join(EXAMPLES, "hello.wasm"))
        one_line(r, "engine is not installed", "mpwasi install")


def test_a_push_that_fills_the_flash_says_so_and_leaves_nothing_behind(sim, tmp_path):
    with Device(sim.port) as d:
        d.enter_raw()
        free = d.free_bytes()
        # fill the flash on the board itself, leaving 64 KB
        d.exec("f = open('/filler', 'wb')\nb = bytes(4096)\nfor i in range(%d):\n f.write(b)\nf.close()"
               % ((free - 65536) // 4096), timeout=120)
    try:
        big = tmp_path / "big.bin"
        big.write_bytes(os.urandom(200000))
        line = one_line(mpwasi(sim, "push", "--port", sim.port, str(big), ":/apps/big.bin"), "flash is full",
                        "mpwasi rm")
        assert "200000 bytes" in line
        with Device(sim.port) as d:
            assert d.stat("/apps/big.bin" + TMP_SUFFIX) is None and d.stat("/apps/big.bin") is None
    finally:
        with Device(sim.port) as d:
            d.remove("/filler")


def test_get_into_a_missing_local_folder_and_get_of_a_directory(sim, tmp_path):
    r = mpwasi(sim, "get", "--port", sim.port, ENGINE_DIR + "/manifest.json", str(tmp_path / "no" / "such" / "x"))
    one_line(r, "no folder", "mkdir -p")
    one_line(mpwasi(sim, "get", "--port", sim.port, ENGINE_DIR), "is a directory", "mpwasi ls")


def test_rm_r_of_the_root_is_refused_and_keeps_the_engine(sim):
    one_line(mpwasi(sim, "rm", "--port", sim.port, "-r", "/"), "will not remove /")
    with Device(sim.port) as d:
        assert d.stat(ENGINE_DIR + "/manifest.json") is not None


def test_a_port_that_does_not_exist(sim):
    r = mpwasi(sim, "ls", "--port", "/dev/does-not-exist")
    one_line(r, "/dev/does-not-exist does not exist")
    assert "another program" not in r.stderr


def test_a_thousand_arguments_run_or_report_what_ran_short(sim, tmp_path):
    args = ["argument-%d" % i for i in range(1000)]
    for board in ("rpi_pico2", "rpi_pico"):
        data = tmp_path / board
        data.mkdir()
        with SimProcess(board, data_dir=data) as s:
            r = mpwasi(s, "run", "--port", s.port, os.path.join(EXAMPLES, "args_env.wasm"), "--", *args)
            if r.returncode == 0:
                assert "argc=1001\n" in r.stdout and "argv[1000]=argument-999\n" in r.stdout
            else:   # not the module's linear memory alone: what the arguments took
                line = r.stderr.strip().splitlines()[-1]
                assert "ran out of memory" in line and "1000 argument(s)" in line, r.stderr
                assert "Traceback" not in r.stderr
