"""Ahead-of-time compilation (host_tools/aot.py, `mpwasi compile app.wasm --board B`): the fast
tier's Python for a whole module, compiled by mpy-cross, found by the engine next to the module and
used when its hash matches; run here on the MicroPython unix port."""
import os
from repo_paths import REPO_ROOT
import shutil
import subprocess
import sys

import pytest

from host_tools import aot
from mp.runner import run_micropython

REPO = REPO_ROOT
PROGRAMS = os.path.join(REPO, "bench", "programs")
FIRMWARE = os.path.join(REPO, "firmware")

needs_mpy_cross = pytest.mark.skipif(shutil.which("mpy-cross") is None, reason="mpy-cross not installed")

RUN = """
import sys
import mpwasi
from mpwasi import compile as fast
st = mpwasi.run(%r, %r)
print("status", st, "aot", len(fast.AOT))
"""
# ... and whether the code generator (mpwasi.fastgen) was loaded
RUN_GEN = RUN + 'print("generator loaded", "mpwasi.fastgen" in sys.modules)\n'


def copy_program(tmp_path, name, as_name=None):
    dst = tmp_path / ((as_name or name) + ".wasm")
    shutil.copy(os.path.join(PROGRAMS, name + ".wasm"), dst)
    return str(dst)


def reference_output(name, arg):
    """What the interpreter prints (CPython, in-process)."""
    import io
    from mpwasi import wasi
    out = io.BytesIO()
    wasi.run(os.path.join(PROGRAMS, name + ".wasm"), [str(arg)], stdout=out)
    return out.getvalue().decode()


@needs_mpy_cross
@pytest.mark.parametrize("native", [True, False])
def test_compiled_module_runs_on_the_unix_port_and_prints_the_same(micropython, tmp_path, native):
    wasm = copy_program(tmp_path, "fib")
    mpy, fallback = aot.build(wasm, "unix", native=native)
    assert os.path.basename(mpy).startswith("fib_") and mpy.endswith(".mpy")
    assert os.path.dirname(mpy) == str(tmp_path)
    assert fallback == {}
    p = run_micropython(["-c", RUN_GEN % (wasm, ["20"])], path=[FIRMWARE], timeout=300)
    assert p.returncode == 0, p.stderr
    # every function came from the .mpy: the board never loaded the generator
    assert p.stdout == reference_output("fib", 20) + "status 0 aot 1\ngenerator loaded False\n"


@needs_mpy_cross
@pytest.mark.parametrize("name,arg", [("sieve", 3000), ("mandelbrot", 10), ("nbody", 20),
                                      ("quicksort", 500), ("crc32", 1000), ("matmul", 10)])
def test_bench_programs_compiled_ahead_of_time_print_what_the_interpreter_prints(micropython, tmp_path,
                                                                                name, arg):
    wasm = copy_program(tmp_path, name)
    aot.build(wasm, "unix")
    p = run_micropython(["-c", RUN % (wasm, [str(arg)])], path=[FIRMWARE], timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout == reference_output(name, arg) + "status 0 aot 1\n"


@needs_mpy_cross
def test_a_module_whose_hash_differs_does_not_use_the_compiled_file(micropython, tmp_path):
    wasm = copy_program(tmp_path, "fib", "app")
    mpy, _ = aot.build(wasm, "unix")
    # another module under the same name, with the old .mpy renamed to what the new one would want
    shutil.copy(os.path.join(PROGRAMS, "sieve.wasm"), wasm)
    from mpwasi import compile as fast
    digest = fast.module_hash(open(wasm, "rb").read())
    os.rename(mpy, str(tmp_path / (fast.aot_name("app", digest) + ".mpy")))
    p = run_micropython(["-c", RUN % (wasm, ["100"])], path=[FIRMWARE], timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout == reference_output("sieve", 100) + "status 0 aot 0\n"


@needs_mpy_cross
def test_run_without_aot_ignores_the_compiled_file(micropython, tmp_path):
    wasm = copy_program(tmp_path, "fib")
    aot.build(wasm, "unix")
    code = ("import mpwasi\nfrom mpwasi import compile as fast\n"
            "print(mpwasi.run(%r, ['10'], aot=False), len(fast.AOT))\n" % wasm)
    p = run_micropython(["-c", code], path=[FIRMWARE], timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.endswith("0 0\n")


def test_single_float_boards_keep_f64_as_bits():
    data = open(os.path.join(PROGRAMS, "nbody.wasm"), "rb").read()
    src, fallback = aot.module_source(data, float_bits=32, native=True, name="nbody")
    assert "FDOM = False" in src and "@micropython.native" in src
    # f64 loads give bits and f64 arithmetic goes through the engine's (soft)float functions
    assert "_uf('<d'" not in src and "_uf('<Q'" in src and "N_A2(" in src
    assert fallback == {}
    src64, _ = aot.module_source(data, float_bits=64, native=False, name="nbody")
    assert "FDOM = True" in src64 and "@micropython.native" not in src64
    assert "_uf('<d'" in src64
    # aligned 4- and 8-byte accesses go through the memory's views (MicroPython's uctypes)
    assert "W4[_e >> 2] if not (_e := " in src64 and "W4 = MEM.u32" in src64
    assert "W8[" not in src  # (f64 stays bits on a single-precision board)


def test_f64_memory_goes_through_the_double_view_on_micropython():
    from wasmgen import ModuleBuilder
    import mpwasi
    from mpwasi import fastgen as gen
    m = ModuleBuilder()
    m.mem(1)
    # f64.store 8 (f64.load 0 + f64.load 16)
    m.func(m.type([], []), [], [0x41, 8, 0x41, 0, 0x2B, 3, 0, 0x41, 16, 0x2B, 3, 0, 0xA0,
                                0x39, 3, 0, 0x0B])
    data = m.bytes()
    info = gen.FuncInfo(mpwasi.Module(data).decoded)
    src, used = gen.function_source(info, 0, data, mp=True)
    assert "W8[_e >> 3] if not (_e := " in src and "W8[_s >> 3] = " in src, src
    assert "W8 = MEM.f64; L8 = MEM.lim8" in src
    src_cpython, _ = gen.function_source(info, 0, data, mp=False)
    assert "W8" not in src_cpython


@needs_mpy_cross
def test_board_profiles_pick_the_mpy_arch(tmp_path):
    wasm = copy_program(tmp_path, "fib")
    mpy, _ = aot.build(wasm, "rpi_pico")
    head = open(mpy, "rb").read(4)
    assert head[0] == ord("M")          # an .mpy file
    assert aot.target("rpi_pico") == ("armv6m", 32)
    assert aot.target("unix") == ("x64", 64)


def test_errors_say_what_is_wrong(tmp_path, capsys):
    assert aot.main([str(tmp_path / "missing.wasm")]) == 1
    assert "no such file" in capsys.readouterr().err
    wasm = copy_program(tmp_path, "fib")
    assert aot.main([wasm, "--board", "no_such_board"]) == 1
    assert "no_such_board" in capsys.readouterr().err
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0\x05")
    assert aot.main([str(bad)]) == 1
    assert "not a valid WebAssembly module" in capsys.readouterr().err


@needs_mpy_cross
def test_mpwasi_compile_command(tmp_path):
    wasm = copy_program(tmp_path, "fib")
    p = subprocess.run([sys.executable, "-m", "host_tools.cli", "compile", wasm, "--board", "unix"],
                       capture_output=True, text=True, cwd=REPO, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().endswith(".mpy") and os.path.exists(p.stdout.strip())
    assert "functions compiled for unix" in p.stderr


def test_run_pushes_the_matching_aot_file_next_to_the_module_on_the_board(tmp_path):
    """`mpwasi run` sends `<stem>_<hash16>.mpy` along when it lies next to the module and its hash
    is the module's (named for the board's copy); a stale one (other hash) stays behind."""
    import hashlib
    from host_tools import cli
    from host_tools.profiles import load_profile

    data = b"\0asm\1\0\0\0"
    mod = tmp_path / "app.wasm"
    mod.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()[:16]
    (tmp_path / ("app_%s.mpy" % digest)).write_bytes(b"M-current")
    (tmp_path / "app_0000000000000000.mpy").write_bytes(b"M-stale")
    sent = []

    class Board:
        def put_bytes(self, blob, target, progress=None):
            sent.append((target, blob))

    target = cli._push_aot(Board(), str(mod), data, "/apps/game.wasm")
    assert target == "/apps/game_%s.mpy" % digest
    assert sent == [(target, b"M-current")]
    other = tmp_path / "other.wasm"
    other.write_bytes(data + b"\0")
    sent.clear()
    assert cli._push_aot(Board(), str(other), data + b"\0", "/apps/other.wasm") is None
    assert sent == []
    # the one `mpwasi compile --board` wrote for the board it runs on comes first
    (tmp_path / ("app_%s_rpi_pico.mpy" % digest)).write_bytes(b"M-pico")
    (tmp_path / ("app_%s_esp32.mpy" % digest)).write_bytes(b"M-esp32")
    pico = Board()
    pico.profile = load_profile("rpi_pico")
    assert cli._push_aot(pico, str(mod), data, "/apps/game.wasm") == "/apps/game_%s.mpy" % digest
    assert sent == [("/apps/game_%s.mpy" % digest, b"M-pico")]


@needs_mpy_cross
def test_a_compiled_file_too_large_for_the_free_heap_is_left_to_the_interpreter(micropython, tmp_path):
    # a board holds an ahead-of-time .mpy in its heap: one larger than 1/AOT_SHARE of what is free
    # is not loaded (the program runs in the interpreter and keeps the heap); with room it is
    wasm = copy_program(tmp_path, "fib")
    mpy, _ = aot.build(wasm, "unix")
    size = os.path.getsize(mpy)
    from mpwasi import fastrt
    code = ("import gc, mpwasi\nfrom mpwasi import compile as fast\ngc.collect()\n"
            "ballast = bytearray(gc.mem_free() - %d)\n"
            "print(mpwasi.run(%r, ['10']), len(fast.AOT))\n")
    # free heap left: a little below AOT_SHARE x the file's size, and far above it
    for left, want in ((size * fastrt.AOT_SHARE - 65536, "0 0"), (8 * 1024 * 1024, "0 1")):
        p = run_micropython(["-c", code % (left, wasm)], path=[FIRMWARE], heapsize="16M", timeout=300)
        assert p.returncode == 0, p.stderr
        assert p.stdout.endswith(want + "\n"), (left, p.stdout)
