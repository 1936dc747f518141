"""Heap measurement inside one interpreter (MicroPython; runs on CPython too, without numbers
that mean much there). Started by bench/heap.py as

    micropython -X heapsize=190K bench/heap_probe.py [--path DIR] import [wasi]
    micropython -X heapsize=190K bench/heap_probe.py [--path DIR] load  PATH CAP
    micropython -X heapsize=190K bench/heap_probe.py [--path DIR] run   PATH CAP [ARGS...]

import: the engine's own import cost (with "wasi": and then mpwasi.wasi's). load: decode + validate (mpwasi.Module) + instantiate
(mpwasi.Instance; with mpwasi's WASI imports when the module imports WASI). run: a WASI
command through mpwasi.run. CAP is Limits(memory_bytes=CAP) for the instance's linear
memory, or "none" for the declared size. --path DIR: import the engine from DIR/mpwasi (e.g.
a directory of .mpy files made by mpy-cross) instead of this checkout's firmware/.

Prints lines `HEAP <stage>=<bytes>`: the heap in use (gc.mem_alloc after gc.collect) at each
stage, measured from the same baseline (after the probe's own imports), and `HEAP free=`.
Exits with status 1 (after printing what it got to) if the heap runs out: heap.py searches
the smallest heap on which a step succeeds.
"""
import gc
import sys


def _dirname(path):
    i = path.rfind("/")
    return path[:i] if i > 0 else "."


FIRMWARE = _dirname(_dirname(__file__)) + "/firmware" if "/" in __file__ else "../firmware"


def used():
    gc.collect()
    if not hasattr(gc, "mem_alloc"):  # CPython: no heap figures, the steps still run
        return 0
    return gc.mem_alloc()


def report(stage, value):
    print("HEAP %s=%d" % (stage, value))


def probe_import(base, with_wasi):
    import mpwasi  # noqa: F401

    report("import", used() - base)
    if with_wasi:
        from mpwasi import wasi  # noqa: F401  (mpwasi.run imports it on first use)

        report("import_wasi", used() - base)


def _limits(mpwasi, cap):
    if cap == "none":
        return None
    return mpwasi.Limits(memory_bytes=int(cap))


def probe_load(base, path, cap):
    import mpwasi

    report("import", used() - base)
    with open(path, "rb") as f:
        data = f.read()
    report("bytes", used() - base)
    module = mpwasi.Module(data)
    data = None
    report("module", used() - base)
    imports = None
    for entry in module.imports:
        if entry[0] == "wasi_snapshot_preview1":
            from mpwasi import wasi

            imports = wasi.Wasi([path.rsplit("/", 1)[-1]]).imports()
            report("wasi_imports", used() - base)
            break
    instance = mpwasi.Instance(module, imports, _limits(mpwasi, cap))
    report("instance", used() - base)
    module = None
    report("instance_only", used() - base)
    return instance


def probe_run(base, path, cap, args):
    import mpwasi

    report("import", used() - base)
    status = mpwasi.run(path, args, limits=_limits(mpwasi, cap))
    report("after_run", used() - base)
    report("status", status)
    return status


def main(argv):
    argv = list(argv)
    engine = FIRMWARE
    if len(argv) > 2 and argv[1] == "--path":
        engine = argv[2]
        del argv[1:3]
    sys.path.insert(0, engine)
    base = used()
    what = argv[1] if len(argv) > 1 else ""
    try:
        if what == "import" and len(argv) == 2:
            probe_import(base, False)
        elif what == "import" and len(argv) == 3 and argv[2] == "wasi":
            probe_import(base, True)
        elif what == "load" and len(argv) == 4:
            keep = probe_load(base, argv[2], argv[3])  # noqa: F841  (kept alive while measuring)
        elif what == "run" and len(argv) >= 4:
            if probe_run(base, argv[2], argv[3], argv[4:]) != 0:
                sys.exit(1)
        else:
            print("usage: heap_probe.py [--path DIR] import [wasi] | load PATH CAP | run PATH CAP [ARGS...]")
            sys.exit(2)
    except MemoryError:
        print("HEAP memory_error=1")
        sys.exit(1)
    report("free", gc.mem_free() if hasattr(gc, "mem_free") else 0)


if __name__ == "__main__":
    main(sys.argv)
