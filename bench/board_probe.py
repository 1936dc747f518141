"""One board-memory measurement inside one interpreter (the unix port, the 32-bit port, CPython).
Started by bench/board_memory.py as

    micropython -X heapsize=N bench/board_probe.py [--path DIR] [--limits BYTES] PROGRAM.wasm [ARGS...]

Prints `PROBE key=value` lines:
  import, import_wasi   heap in use (gc.mem_alloc after gc.collect) after `import mpwasi`, then
                        `import mpwasi.wasi`, from the probe's own baseline
  free_before_memory    the largest free heap block (bytes, from micropython.mem_info) just before
                        the linear memory is allocated; total_free_before_memory the free total
  load_us               from mpwasi.run() to the end of instantiation (the program about to start)
  resident              heap in use at the program's first fd_write, less its linear memory's bytes
  memory_bytes          bytes the linear memory holds then (dense: its size; paged: touched pages)
  status                the program's exit status (`PROBE oom=...` if the heap ran out)
"""
import gc
import sys

try:
    import micropython
except ImportError:
    micropython = None

try:
    from time import ticks_us, ticks_diff
except ImportError:
    import time

    def ticks_us():
        return int(time.perf_counter() * 1000000)

    def ticks_diff(a, b):
        return a - b


def used():
    gc.collect()
    return gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0


def report(k, v):
    print("PROBE %s=%s" % (k, v))


def mem_info():
    # micropython.mem_info() prints "... max free sz: N" (in GC blocks) to stdout; bracketed so the
    # host finds it
    gc.collect()
    if micropython is None:
        return
    if hasattr(gc, "mem_free"):
        report("total_free_before_memory", gc.mem_free())
    print("PROBE-MEMINFO")
    micropython.mem_info()
    print("PROBE-MEMINFO-END")


def main(argv):
    path = None
    cap = None
    heap = None
    while argv and argv[0].startswith("--"):
        if argv[0] == "--path":
            path = argv[1]
        elif argv[0] == "--limits":
            cap = int(argv[1])
        elif argv[0] == "--heap":
            heap = int(argv[1])
        argv = argv[2:]
    if path is None:
        here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
        path = here + "/../firmware"
    sys.path.insert(0, path)
    prog = argv[0]
    base = used()
    import mpwasi
    report("import", used() - base)
    from mpwasi import wasi, runtime
    report("import_wasi", used() - base)
    if heap:
        # --heap: a heap that grows on demand (the 32-bit webassembly port) reports its growth room
        # as free; the engine is told the board's heap instead
        def board_free():
            return heap - gc.mem_alloc()
        runtime._free = board_free
        from mpwasi import compat
        if hasattr(compat, "free"):
            compat.free = board_free
    t = [ticks_us(), 0]
    seen = []

    memory_class = runtime.Memory

    class ProbeMemory(memory_class):
        def __init__(self, *a, **k):
            if not seen:
                seen.append(1)
                mem_info()
            memory_class.__init__(self, *a, **k)

    runtime.Memory = ProbeMemory
    old_hook = runtime.instance_hook

    def hook(inst):
        if old_hook is not None:
            old_hook(inst)
        t[1] = ticks_us()

    runtime.instance_hook = hook
    fd_write = wasi.Wasi.fd_write
    done = []

    def probe_fd_write(self, *a):
        if not done:
            done.append(1)
            m = self.memory
            held = getattr(m, "resident", None)
            held = held() if held is not None else (len(m.data) if m is not None else 0)
            report("load_us", ticks_diff(t[1], t[0]))
            report("resident", used() - base - held)
            report("memory_bytes", held)
        return fd_write(self, *a)

    wasi.Wasi.fd_write = probe_fd_write
    limits = mpwasi.Limits(memory_bytes=cap) if cap else None
    t[0] = ticks_us()
    try:
        status = mpwasi.run(prog, argv[1:], limits=limits)
    except MemoryError as e:
        report("oom", repr(e).replace(" ", "_"))
        return 3
    report("status", status)
    if hasattr(gc, "mem_free"):
        report("heap_total", gc.mem_free() + gc.mem_alloc())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
