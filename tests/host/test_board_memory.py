"""Programs built the usual way run on a small board's heap (issue 18): every command module of
examples/ and bench/programs/, and a C program linked with wasm-ld's defaults (two pages,
bench/programs/hello_default.wasm), runs 5 times in a row (5 `mpwasi run` commands: a soft reset before each) on the virtual board with the rpi_pico
profile (with the esp32 profile the small ones, see ESP32 below), pushed as `mpwasi run` pushes it (module and load image), without
running out of memory; each run's output and status equal wasmtime's (clock and random output
compared by shape, as tests/wasi/test_examples.py does)."""
import io
import os
from repo_paths import REPO_ROOT

import pytest

from wasi_support import run_wasmtime
from wasi_support import shape as example_shape

from host_tools import load_image
from host_tools.device import Device
from host_tools.virtual_board import SimProcess

REPO = REPO_ROOT
RUNS = 5

# name -> (wasm path, args, files put in the preopened directory {name: bytes})
EX = os.path.join(REPO, "examples")
BP = os.path.join(REPO, "bench", "programs")
PROGRAMS = {
    "hello": (EX + "/hello.wasm", [], {}),
    "hello_default": (BP + "/hello_default.wasm", [], {}),
    "args_env": (EX + "/args_env.wasm", ["one", "two words", ""], {}),
    "cat": (EX + "/cat.wasm", ["a.txt", "missing.txt"], {"a.txt": b"first file\n" * 30}),
    "ls": (EX + "/ls.wasm", ["."], {"z.txt": b"zz", "a.txt": b"a" * 1000}),
    "dirs": (EX + "/dirs.wasm", [], {}),
    "write_read": (EX + "/write_read.wasm", [], {}),
    "clocks": (EX + "/clocks.wasm", [], {}),
    "random": (EX + "/random.wasm", [], {}),
    "exit_code": (EX + "/exit_code.wasm", ["7"], {}),
    "floats": (EX + "/floats.wasm", [], {}),
    "trap": (EX + "/trap.wasm", [], {}),
    "debugme": (EX + "/debugme.wasm", ["5"], {}),
    "fib": (BP + "/fib.wasm", ["12"], {}),
    "sieve": (BP + "/sieve.wasm", ["500"], {}),
    "matmul": (BP + "/matmul.wasm", ["6"], {}),
    "crc32": (BP + "/crc32.wasm", ["300"], {}),
    "mandelbrot": (BP + "/mandelbrot.wasm", ["6"], {}),
    "nbody": (BP + "/nbody.wasm", ["5"], {}),
    "quicksort": (BP + "/quicksort.wasm", ["100"], {}),
    "bigmodule": (BP + "/bigmodule.wasm", ["1"], {}),
    "module64k": (BP + "/module64k.wasm", ["1"], {}),
}
# bigmodule (105 KB) and module64k (64 KB) are the heap benchmark's generated modules, not programs
# built the usual way: their bytes alone are most of a Pico's heap, and they still run out there.
PICO = [n for n in sorted(PROGRAMS) if n not in ("bigmodule", "module64k")]
FILE_PROGRAMS = ("cat", "ls", "dirs", "write_read")
# The esp32 profile (110 KB): the small programs only. On its virtual board about 125 KB of the 64-bit
# port's 212 KB heap is free when a program starts; a printf-sized C program (20-35 KB) with its load
# image and instance needs more than that today (see the notes).
ESP32 = ["hello", "hello_default", "trap"]


def shape(name, out):
    return example_shape(name, out.replace(b"\r\n", b"\n"))


def reference(name, tmp_path):
    path, args, files = PROGRAMS[name]
    root = tmp_path / ("ref_" + name)
    root.mkdir()
    for fn, data in files.items():
        (root / fn).write_bytes(data)
    status, out, err = run_wasmtime(path, args, [], [(str(root), ".")] if name in FILE_PROGRAMS else [])
    return status, shape(name, out)


def run_on_board(board, names, tmp_path_factory):
    results = {}
    with SimProcess(board, data_dir=tmp_path_factory.mktemp("vb_" + board)) as sim:
        with Device(sim.port) as d:
            d.enter_raw(soft_reset=True)
            d.install()
            for name in names:
                path, args, files = PROGRAMS[name]
                with open(path, "rb") as f:
                    data = f.read()
                dest = "/apps/%s.wasm" % name
                d.enter_raw(soft_reset=True)  # (as `mpwasi push` starts: the last run's heap gone)
                d.put_bytes(data, dest)
                assert load_image.push_image(d, data, dest) is not None
                runs = []
                for i in range(RUNS):
                    d.enter_raw(soft_reset=True)  # as each `mpwasi run` command starts
                    box = "/box_%s_%d" % (name, i)  # a fresh directory per run (dirs, write_read)
                    d.mkdir(box)
                    for fn, content in files.items():
                        d.put_bytes(content, box + "/" + fn)
                    out, err = io.BytesIO(), io.BytesIO()
                    # a preopened directory for the programs that work with files, as a user
                    # would give one (`--dir`); the others run without (no file-system code)
                    dirs = [(box, ".")] if name in FILE_PROGRAMS else []
                    res = d.run_module(dest, args, [], dirs, out=out, err=err)
                    # ("heap": the runner's account of the heap after a trap, not an error)
                    runs.append((res.status, out.getvalue(), err.getvalue(),
                                 [e for e in res.errors if e[0] != "heap"]))
                    d.remove(box, recursive=True)
                results[name] = runs
    return results


@pytest.mark.parametrize("board,names", [("rpi_pico", PICO), ("esp32", ESP32)])
def test_programs_run_five_times_on_a_small_board_as_under_wasmtime(board, names, tmp_path_factory, micropython):
    results = run_on_board(board, names, tmp_path_factory)
    tmp = tmp_path_factory.mktemp("ref_" + board)
    bad = []
    for name in names:
        want = reference(name, tmp)
        for i, (status, out, err, errors) in enumerate(results[name]):
            got = (status, shape(name, out))
            if got != want or errors or b"MemoryError" in err or b"out of memory" in err:
                bad.append("%s run %d on %s: %r %r (wasmtime %r) %s" % (name, i + 1, board, got, errors, want,
                                                                       err[-300:]))
    assert not bad, "\n".join(bad)
