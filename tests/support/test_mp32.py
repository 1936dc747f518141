"""bench/mp32.py: scripts run on the real 32-bit MicroPython (webassembly port) with the engine."""
import os
import shutil
import sys

import pytest

import mp32  # noqa: E402

pytestmark = pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="needs node and npm")

HELLO = os.path.join(os.path.dirname(mp32.HERE), "examples", "hello.wasm")


def test_port_is_32_bit_and_runs_the_engine_from_mpy():
    r = mp32.run("import sys, mpwasi\nprint(sys.maxsize, mpwasi.__file__)\nsys.exit(3)\n")
    assert r.rc == 3, r
    assert r.stdout.split() == [str(2 ** 31 - 1), "/lib/mpwasi/__init__.mpy"]


def test_a_wasi_program_runs_from_a_placed_file_with_arguments():
    r = mp32.run("import sys, mpwasi\nsys.exit(mpwasi.run(sys.argv[1]))\n", files={"/app/hello.wasm": HELLO},
                 engine="py", args=["/app/hello.wasm"])
    assert r.rc == 0, r
    assert "Hello" in r.stdout or "hello" in r.stdout


def test_an_uncaught_exception_gives_status_1_and_its_traceback():
    r = mp32.run("x = 1\nraise ValueError('boom %d' % x)\n", engine="none")
    assert r.rc == 1
    assert "ValueError: boom 1" in r.stderr


def test_garbage_is_collected_between_pieces_of_a_script():
    r = mp32.run("import gc\ngc.collect()\na0 = gc.mem_alloc()\nfor i in range(20000):\n    y = [i, i]\n"
                 "y = None\n#mp32:collect\ngc.collect()\nprint(gc.mem_alloc() - a0)\nraise ValueError('at 10')\n",
                 engine="none")
    assert r.rc == 1
    assert abs(int(r.stdout)) < 4096, r  # 20000 two-item lists are ~640 KB of garbage
    assert 'line 10' in r.stderr and "ValueError: at 10" in r.stderr
