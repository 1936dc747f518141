"""Measures the heap a WASI command needs under MicroPython, stage by stage (gc.mem_alloc after a
collection), and runs it:

    micropython -X heapsize=4M tests/mp/wasi_heap.py module.wasm [memory_cap_bytes]

(firmware/ on MICROPYPATH, as .py or as .mpy files). Prints one JSON object: the bytes each stage
added, from "engine" (import mpwasi) to "instance" (with the linear memory), and "total".
"""
import gc
import json
import sys

stages = {}
gc.collect()
_base = gc.mem_alloc()
_last = [_base]


def mark(name):
    gc.collect()
    now = gc.mem_alloc()
    stages[name] = now - _last[0]
    _last[0] = now


import mpwasi  # noqa: E402

mark("engine")
from mpwasi import compat  # noqa: E402,F401

mark("compat")
from mpwasi import wasi  # noqa: E402

mark("wasi")
data = wasi.read_module(sys.argv[1])
mark("module_bytes")
module = mpwasi.Module(data)
data = None
mark("module")
ctx = wasi.Wasi([sys.argv[1].rsplit("/", 1)[-1]])
imports = ctx.imports(module)
mark("wasi_imports")
cap = int(sys.argv[2]) if len(sys.argv) > 2 else None
instance = mpwasi.Instance(module, imports, mpwasi.Limits(memory_bytes=cap))
mark("instance")
status = 0
try:
    instance.exports["_start"]()
except mpwasi.Exit as e:
    status = e.code
mark("after_start")
stages["total"] = gc.mem_alloc() - _base
stages["status"] = status
stages["wasi_files_loaded"] = "mpwasi.wasi_files" in sys.modules
sys.stdout.write(json.dumps(stages) + "\n")
