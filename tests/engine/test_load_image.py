"""Load images (mpwasi.image, host_tools/load_image.py): a module decoded and validated on the host is
loaded from its image only when the image is this module's and intact; otherwise the module is decoded
and validated in full, as without one. On CPython and on MicroPython."""
import os
from repo_paths import REPO_ROOT
import subprocess

import pytest

from host_tools import load_image
from mpwasi import binary, image, runtime, validate, wasi

from mp.runner import micropython_command

REPO = REPO_ROOT
FIB = os.path.join(REPO, "bench", "programs", "fib.wasm")
HELLO = os.path.join(REPO, "examples", "hello.wasm")


def _bytes(path):
    with open(path, "rb") as f:
        return f.read()


def _held(path):
    return wasi.read_module(path)


def test_an_image_gives_back_what_decode_and_validate_give():
    for path in (FIB, HELLO):
        data = _held(path)
        m = binary.decode(data)
        validate.validate(m)
        got = image.load(load_image.make_image(_bytes(path)), data)
        assert got is not None
        for f in image.FIELDS:
            assert getattr(got, f) == getattr(m, f), f
            assert type(getattr(got, f)) is type(getattr(m, f)), f
        for a, b in zip(got.side_tables, m.side_tables):
            assert a.typecode == b.typecode and a == b


def _mutants(img):
    edited = bytearray(img)
    edited[len(img) // 2] ^= 0x40            # a payload byte
    head = bytearray(img)
    head[10] ^= 1                            # the module hash it records
    fmt = bytearray(img)
    fmt[4] += 1                              # another format
    return {"edited": bytes(edited), "truncated": img[:-7], "header only": img[:image.HEAD],
            "module hash": bytes(head), "format": bytes(fmt), "empty": b"", "garbage": b"MPWI" + bytes(80)}


def test_an_edited_truncated_or_foreign_image_is_never_used():
    data = _held(FIB)
    img = load_image.make_image(_bytes(FIB))
    for name, bad in _mutants(img).items():
        assert image.load(bad, data) is None, name
    # another module's image, and this image for edited module bytes
    assert image.load(load_image.make_image(_bytes(HELLO)), data) is None
    changed = bytearray(data)
    changed[-3] ^= 1
    assert image.load(img, bytes(changed)) is None
    assert image.load(img, data) is not None


def test_run_uses_a_matching_image_and_validates_without_one(tmp_path, capfd):
    path = str(tmp_path / "fib.wasm")
    with open(path, "wb") as f:
        f.write(_bytes(FIB))
    status = wasi.run(path, ["10"])
    assert status == 0 and capfd.readouterr().out == "fib(10) = 55\n"
    assert runtime.load_image(path, _held(path)) is None  # no image yet
    with open(path + runtime.IMAGE_SUFFIX, "wb") as f:
        f.write(load_image.make_image(_bytes(FIB)))
    assert runtime.load_image(path, _held(path)) is not None
    assert wasi.run(path, ["11"]) == 0 and capfd.readouterr().out == "fib(11) = 89\n"
    # a damaged image: the module is decoded and validated, and runs the same
    with open(path + runtime.IMAGE_SUFFIX, "r+b") as f:
        f.seek(100)
        b = f.read(1)
        f.seek(100)
        f.write(bytes([b[0] ^ 0xFF]))
    assert runtime.load_image(path, _held(path)) is None
    assert wasi.run(path, ["12"]) == 0 and capfd.readouterr().out == "fib(12) = 144\n"


def test_a_module_the_engine_rejects_gets_no_image():
    bad = bytearray(_bytes(HELLO))
    bad[9] ^= 0xFF  # the type section's size
    assert load_image.make_image(bytes(bad)) is None
    assert load_image.make_image(b"\0asm\x01\0\0\0\x0a\x02\x01") is None


MP_SCRIPT = r"""
import sys
sys.path.insert(0, %(fw)r)
from mpwasi import wasi, image
data = wasi.read_module(%(wasm)r)
with open(%(img)r, "rb") as f:
    img = f.read()
print("match", image.load(img, data) is not None)
for name, bad in %(mutants)r.items():
    print(name, image.load(bad, data) is None)
sys.modules.pop("mpwasi.validate", None)
status = wasi.run(%(wasm)r, ["9"])
print("status", status, "validate imported", "mpwasi.validate" in sys.modules)
"""


def test_micropython_uses_the_host_image_without_importing_the_validator(tmp_path, micropython):
    wasm = str(tmp_path / "fib.wasm")
    with open(wasm, "wb") as f:
        f.write(_bytes(FIB))
    img = load_image.make_image(_bytes(FIB))
    with open(wasm + runtime.IMAGE_SUFFIX, "wb") as f:
        f.write(img)
    script = MP_SCRIPT % {"fw": os.path.join(REPO, "firmware"), "wasm": wasm, "img": wasm + runtime.IMAGE_SUFFIX,
                          "mutants": _mutants(img)}
    r = subprocess.run(micropython_command(["-c", script], "8M"), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "match True"
    assert all(ln.endswith(" True") for ln in lines[1:8]), lines
    assert "fib(9) = 34" in lines
    assert lines[-1] == "status 0 validate imported False"


def test_micropython_validates_in_full_with_image_false(tmp_path, micropython):
    wasm = str(tmp_path / "fib.wasm")
    with open(wasm, "wb") as f:
        f.write(_bytes(FIB))
    with open(wasm + runtime.IMAGE_SUFFIX, "wb") as f:
        f.write(load_image.make_image(_bytes(FIB)))
    script = ("import sys\nsys.path.insert(0, %r)\nimport mpwasi\n"
              "from mpwasi import runtime\nseen = []\nold = runtime.Module.__init__\n"
              "def init(self, data, decoded=None):\n    seen.append(decoded)\n    old(self, data, decoded)\n"
              "runtime.Module.__init__ = init\n"
              "print(mpwasi.run(%r, ['5'], image=False), seen == [None])\n" % (os.path.join(REPO, "firmware"), wasm))
    r = subprocess.run(micropython_command(["-c", script], "8M"), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "0 True"


def test_push_and_run_put_the_image_beside_the_module_on_the_virtual_board(tmp_path_factory):
    import json
    import sys
    from host_tools.device import Device
    from host_tools.virtual_board import SimProcess
    with SimProcess("rpi_pico", data_dir=tmp_path_factory.mktemp("vb")) as sim:
        def cli(*args):
            return subprocess.run([sys.executable, "-m", "host_tools.cli"] + list(args), capture_output=True,
                                  text=True, env=sim.env, timeout=300)
        r = cli("push", "--port", sim.port, FIB, ":/apps/f.wasm", "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["image"] == "/apps/f.wasm.img"
        with Device(sim.port) as d:
            assert d.get("/apps/f.wasm.img") == load_image.make_image(_bytes(FIB))
        r = cli("push", "--port", sim.port, FIB, ":/apps/f.wasm", "--json", "--validate-on-board")
        assert json.loads(r.stdout)["image"] is None
        with Device(sim.port) as d:
            assert d.stat("/apps/f.wasm.img") is None
        for extra in ([], ["--validate-on-board"]):
            r = cli("run", "--port", sim.port, "--dest", "/apps/g.wasm", *extra, FIB, "--", "15")
            assert r.returncode == 0 and r.stdout.replace("\r\n", "\n") == "fib(15) = 610\n", r.stdout + r.stderr
        with Device(sim.port) as d:
            assert d.stat("/apps/g.wasm.img") is None  # the last run validated on the board
