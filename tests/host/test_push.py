"""`mpwasi push` on the virtual board: skips an unchanged file, replaces a changed one atomically,
and an interrupted push (the host process killed mid-transfer) leaves the old file intact."""

import hashlib
import json
import os
from repo_paths import REPO_ROOT
import subprocess
import sys

import pytest
import serial
import time

from host_tools.device import Device, TMP_SUFFIX
from host_tools.virtual_board import SimProcess


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimProcess("rpi_pico", data_dir=tmp_path_factory.mktemp("vb")) as s:
        yield s


def mpwasi(sim, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "host_tools.cli"] + list(args), capture_output=True,
                          text=True, env=sim.env, timeout=timeout)


def board_sha(sim, path):
    with Device(sim.port) as d:
        return d.sha256(path)


def test_push_writes_then_skips_unchanged_then_replaces_changed(sim, tmp_path):
    f = tmp_path / "app.bin"
    f.write_bytes(os.urandom(50000))
    r = mpwasi(sim, "push", "--port", sim.port, str(f), ":/apps/app.bin", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["result"] == "written"
    assert board_sha(sim, "/apps/app.bin") == hashlib.sha256(f.read_bytes()).hexdigest()

    r = mpwasi(sim, "push", "--port", sim.port, str(f), ":/apps/app.bin", "--json")
    assert json.loads(r.stdout)["result"] == "unchanged"

    f.write_bytes(os.urandom(70001))
    r = mpwasi(sim, "push", "--port", sim.port, str(f), ":/apps/app.bin")
    assert r.returncode == 0 and "70001 bytes written" in r.stdout
    assert board_sha(sim, "/apps/app.bin") == hashlib.sha256(f.read_bytes()).hexdigest()


def test_push_uses_raw_paste_mode(sim):
    with Device(sim.port) as d:
        d.put_bytes(os.urandom(5000), "/apps/rp.bin")
        assert d.transport.use_raw_paste     # mpremote falls back (and clears this) without raw-paste


def test_compressible_data_is_sent_deflated_and_arrives_intact(sim):
    wasm = open(os.path.join(REPO_ROOT, "examples", "cat.wasm"),
                "rb").read()
    with Device(sim.port) as d:
        assert d.put_bytes(wasm, "/apps/z.wasm") == "written"
        assert d.last_push["compressed"] and d.last_push["sent"] < 0.8 * len(wasm)
        assert d.get("/apps/z.wasm") == wasm
        assert [n for n, _, _ in d.listdir("/apps") if "mpwasi-part" in n] == []
        noise = os.urandom(30000)
        d.put_bytes(noise, "/apps/z.wasm")
        assert not d.last_push["compressed"] and d.get("/apps/z.wasm") == noise


def test_interrupted_command_is_abandoned_on_close(sim):
    """A host cut off half-way through sending a command (Ctrl-C) leaves the board usable."""
    d = Device(sim.port)
    d.enter_raw()
    assert d.transport.read_until(1, b">").endswith(b">")
    d.serial.write(b"\x05A\x01")
    assert d.serial.read(4)[:2] == b"R\x01"
    d.serial.write(b"x = 'never fin")           # ... and the host stops here
    with serial.Serial(sim.port, 115200, timeout=0.2) as watch:
        d.close()
        seen = b""
        end = time.monotonic() + 30
        while b"information.\r\n>>> " not in seen and time.monotonic() < end:
            seen += watch.read(4096)
    assert b"KeyboardInterrupt" in seen              # the half-sent command was abandoned
    assert b"information.\r\n>>> " in seen          # and the board went back to its friendly REPL
    with Device(sim.port) as d2:
        assert d2.eval("'ok'") == "ok"


def test_push_default_destination_is_apps(sim, tmp_path):
    f = tmp_path / "default.wasm"
    f.write_bytes(b"\0asm\1\0\0\0")
    r = mpwasi(sim, "push", "--port", sim.port, str(f))
    assert r.returncode == 0 and "/apps/default.wasm" in r.stdout
    with Device(sim.port) as d:
        assert d.get("/apps/default.wasm") == f.read_bytes()


def test_push_missing_local_file_is_a_clear_error(sim, tmp_path):
    r = mpwasi(sim, "push", "--port", sim.port, str(tmp_path / "nope.wasm"))
    assert r.returncode == 2 and "cannot read" in r.stderr


KILL_MID_PUSH = """
import os, signal, sys
from host_tools.device import Device
data = open(sys.argv[2], 'rb').read()
d = Device(sys.argv[1])
def progress(done, total):
    if 0 < done < total:
        os.kill(os.getpid(), signal.SIGKILL)   # the host dies mid-transfer
d.put_bytes(data, sys.argv[3], progress=progress)
"""


def test_killed_push_leaves_old_file_intact(sim, tmp_path):
    old = tmp_path / "old.bin"
    old.write_bytes(b"old contents " * 1000)
    assert mpwasi(sim, "push", "--port", sim.port, str(old), ":/apps/k.bin").returncode == 0
    new = tmp_path / "new.bin"
    new.write_bytes(os.urandom(120000))
    r = subprocess.run([sys.executable, "-c", KILL_MID_PUSH, sim.port, str(new), "/apps/k.bin"], env=sim.env,
                       capture_output=True, timeout=120)
    assert r.returncode == -9
    with Device(sim.port) as d:
        assert d.get("/apps/k.bin") == old.read_bytes()          # the old file, whole
        names = [n for n, _, _ in d.listdir("/apps")]
        assert "k.bin" + TMP_SUFFIX in names                      # the partial data is elsewhere
        part = d.stat("/apps/k.bin" + TMP_SUFFIX)
        assert part is not None and part[1] < len(new.read_bytes())   # never the whole new file
    # ls does not show it (though it takes flash)
    r = mpwasi(sim, "ls", "--port", sim.port, "/apps")
    assert r.returncode == 0 and " k.bin\n" in r.stdout and TMP_SUFFIX not in r.stdout
    # the next push cleans up and completes
    r = mpwasi(sim, "push", "--port", sim.port, str(new), ":/apps/k.bin")
    assert r.returncode == 0, r.stderr
    with Device(sim.port) as d:
        assert d.sha256("/apps/k.bin") == hashlib.sha256(new.read_bytes()).hexdigest()
        assert "k.bin" + TMP_SUFFIX not in [n for n, _, _ in d.listdir("/apps")]


def test_ls_get_rm_commands(sim, tmp_path):
    f = tmp_path / "g.txt"
    f.write_bytes(b"line one\nline two\r\n\x00binary\x04\x03")
    assert mpwasi(sim, "push", "--port", sim.port, str(f), ":/data/g.txt").returncode == 0
    r = mpwasi(sim, "ls", "--port", sim.port, "/data", "--json")
    assert {"name": "g.txt", "dir": False, "size": f.stat().st_size} in json.loads(r.stdout)
    out = tmp_path / "back.txt"
    r = mpwasi(sim, "get", "--port", sim.port, ":/data/g.txt", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == f.read_bytes()
    r = mpwasi(sim, "rm", "--port", sim.port, "/data")
    assert r.returncode == 1 and "-r" in r.stderr
    assert mpwasi(sim, "rm", "--port", sim.port, "-r", "/data").returncode == 0
    r = mpwasi(sim, "ls", "--port", sim.port, "/data")
    assert r.returncode == 1 and "no such file" in r.stderr
    r = mpwasi(sim, "get", "--port", sim.port, "/data/g.txt", str(out))
    assert r.returncode == 1 and "no such file" in r.stderr


def test_a_leftover_of_an_interrupted_push_goes_with_the_next_push_even_of_the_same_file(sim, tmp_path):
    f = tmp_path / "same.bin"
    f.write_bytes(os.urandom(5000))
    assert mpwasi(sim, "push", "--port", sim.port, str(f), ":/apps/same.bin").returncode == 0
    with Device(sim.port) as d:      # what a push of it killed half-way leaves (as above)
        d.put_bytes(b"half of it", "/apps/same.bin" + TMP_SUFFIX)
        d.put_bytes(b"half of it", "/apps/same.bin" + TMP_SUFFIX + ".z")
    r = mpwasi(sim, "ls", "--port", sim.port, "/apps", "--json")
    assert [e["name"] for e in json.loads(r.stdout) if "same" in e["name"]] == ["same.bin"]
    r = mpwasi(sim, "push", "--port", sim.port, str(f), ":/apps/same.bin")
    assert r.returncode == 0 and "unchanged" in r.stdout, r.stderr
    with Device(sim.port) as d:
        assert d.stat("/apps/same.bin" + TMP_SUFFIX) is None and d.stat("/apps/same.bin" + TMP_SUFFIX + ".z") is None
