"""`mpwasi run` and `mpwasi install` end to end on the virtual board: the engine installed (and
replaced when stale), the module pushed, its output streamed while it runs, its exit status, Ctrl-C,
a trap's backtrace, running out of heap."""

import os
import re
from repo_paths import REPO_ROOT
import select
import signal
import subprocess
import sys
import time

import pytest

from host_tools.device import Device, ENGINE_DIR
from host_tools.virtual_board import SimProcess

REPO = REPO_ROOT
EXAMPLES = os.path.join(REPO, "examples")
BOARD = "rpi_pico2"   # headroom: these tests are about the host side, not about fitting the heap

PRINT_THEN_SPIN = r"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "first line\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 11))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $forever (br $forever))))
"""

# 200 pages, every 4 KiB of them written: more than the board's heap even paged
HUGE_MEMORY = r"""
(module (memory (export "memory") 200)
  (func (export "_start") (local $a i32)
    (loop $l
      (i32.store8 (local.get $a) (i32.const 1))
      (local.set $a (i32.add (local.get $a) (i32.const 4096)))
      (br_if $l (i32.lt_u (local.get $a) (i32.const 13107200))))))
"""


def wat(tmp_path, name, text):
    """Build a test module from WebAssembly text (wasmtime's wat2wasm: a [test] dependency)."""
    import wasmtime
    out = tmp_path / (name + ".wasm")
    out.write_bytes(bytes(wasmtime.wat2wasm(text)))
    return str(out)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimProcess(BOARD, data_dir=tmp_path_factory.mktemp("vb")) as s:
        yield s


def finish(p):
    """Kill a Popen if it still runs, and close its pipes."""
    if p.poll() is None:
        p.kill()
        p.wait()
    for f in (p.stdout, p.stderr):
        if f:
            f.close()


def mpwasi(sim, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "host_tools.cli"] + list(args), capture_output=True,
                          env=sim.env, timeout=timeout)


def test_install_then_up_to_date_then_stale_file_replaced(sim):
    r = mpwasi(sim, "install", "--port", sim.port)
    assert r.returncode == 0, r.stderr
    assert b"installed mpwasi" in r.stdout or b"already installed" in r.stdout
    r = mpwasi(sim, "install", "--port", sim.port)
    assert b"already installed" in r.stdout and b"as mpy" not in r.stdout
    with Device(sim.port) as d:
        names = [n for n, _, _ in d.listdir(ENGINE_DIR)]
        assert "runtime.mpy" in names and "manifest.json" in names
        good = d.sha256(ENGINE_DIR + "/runtime.mpy")
        d.put_bytes(b"stale engine", ENGINE_DIR + "/runtime.mpy")
        d.put_bytes(b"x = 1", ENGINE_DIR + "/leftover.py")
    r = mpwasi(sim, "install", "--port", sim.port)
    assert r.returncode == 0, r.stderr
    assert b"1 file(s) written, 1 removed" in r.stdout
    with Device(sim.port) as d:
        assert d.sha256(ENGINE_DIR + "/runtime.mpy") == good
        assert "leftover.py" not in [n for n, _, _ in d.listdir(ENGINE_DIR)]


def test_run_hello(sim):
    r = mpwasi(sim, "run", "--port", sim.port, os.path.join(EXAMPLES, "hello.wasm"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Hello, world!\n"


def test_run_exit_status_args_and_env(sim):
    r = mpwasi(sim, "run", "--port", sim.port, os.path.join(EXAMPLES, "exit_code.wasm"))
    assert r.returncode == 42
    r = mpwasi(sim, "run", "--port", sim.port, os.path.join(EXAMPLES, "args_env.wasm"), "--env", "A=b c",
               "--", "x", "y z")
    assert r.returncode == 0, r.stderr
    assert b"argv[1]=x\n" in r.stdout and b"argv[2]=y z\n" in r.stdout and b"A=b c" in r.stdout


def test_run_trap_shows_wasm_backtrace(sim):
    r = mpwasi(sim, "run", "--port", sim.port, os.path.join(EXAMPLES, "trap.wasm"))
    assert r.returncode == 134
    out = r.stdout + r.stderr
    assert b"unreachable" in out and b"wasm backtrace" in out and b"innermost" in out
    assert b"Traceback" not in out


def test_output_streams_while_running_and_ctrl_c_stops_it(sim, tmp_path):
    module = wat(tmp_path, "spin", PRINT_THEN_SPIN)
    p = subprocess.Popen([sys.executable, "-m", "host_tools.cli", "run", "--port", sim.port, module],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=sim.env)
    try:
        ready, _, _ = select.select([p.stdout], [], [], 120)
        assert ready, "no output from the running module"
        assert p.stdout.readline() == b"first line\n"
        assert p.poll() is None          # the module spins forever: this output came while it ran
        p.send_signal(signal.SIGINT)
        assert p.wait(60) == 130
        assert b"interrupted" in p.stderr.read()
    finally:
        finish(p)
    # the board is back at its REPL and usable
    with Device(sim.port) as d:
        assert d.eval("1 + 1") == 2
    r = mpwasi(sim, "run", "--port", sim.port, os.path.join(EXAMPLES, "hello.wasm"))
    assert r.returncode == 0 and r.stdout == b"Hello, world!\n"


def test_out_of_heap_names_the_heap_and_the_request(sim, tmp_path):
    module = wat(tmp_path, "huge", HUGE_MEMORY)
    r = mpwasi(sim, "run", "--port", sim.port, module)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "ran out of memory" in err and "heap is" in err
    assert "13107200 bytes (200 pages)" in err
    # the board's largest free block, a number it measured (not the free total)
    block = re.search(r"largest free block (?:is )?(\d+) bytes", err)
    assert block and 0 < int(block.group(1)) < 13107200, err
    assert "--limits memory=" in err and "-Wl,-z,stack-size=" in err and "PSRAM" in err  # what to do


def test_not_a_wasm_file_is_refused(sim, tmp_path):
    f = tmp_path / "x.wasm"
    f.write_bytes(b"hello")
    r = mpwasi(sim, "run", "--port", sim.port, str(f))
    assert r.returncode == 2 and b"not a WebAssembly module" in r.stderr


def test_module_the_engine_refuses_is_one_clear_line(sim, tmp_path):
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\1\0\0\0\x01\x05\x01\x60\x00")    # a type section cut short
    r = mpwasi(sim, "run", "--port", sim.port, str(bad))
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "mpwasi: bad.wasm: DecodeError: " in err and "Traceback" not in err


def test_compiled_code_too_large_for_the_heap_is_not_pushed_and_the_program_runs(sim, tmp_path):
    # an ahead-of-time .mpy beside the module that is more than the board would load beside it
    # (mpwasi.fastrt.AOT_SHARE of its heap): the host says so, does not push it, and the program
    # runs in the interpreter
    import hashlib
    import shutil
    from mpwasi.fastrt import AOT_SHARE, aot_name
    with Device(sim.port) as d:
        heap = d.info()["heap"]
    module = tmp_path / "big.wasm"
    shutil.copy(os.path.join(EXAMPLES, "hello.wasm"), module)
    digest = hashlib.sha256(module.read_bytes()).hexdigest()
    (tmp_path / (aot_name("big", digest) + ".mpy")).write_bytes(b"M" * (heap // AOT_SHARE + 1024))
    r = mpwasi(sim, "run", "--port", sim.port, str(module))
    err = r.stderr.decode()
    assert (r.returncode, r.stdout) == (0, b"Hello, world!\n"), err
    assert "too large for the board's heap" in err and "runs in the interpreter" in err
    with Device(sim.port) as d:
        names = [entry[0] for entry in d.listdir("/apps")]
    assert "big.wasm" in names and not [n for n in names if n.startswith("big_")], names
