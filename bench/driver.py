"""Run one benchmark program under one runtime, in this process, and time it.

    python3 bench/driver.py RUNTIME PROGRAM SIZE [--tier fast] [--softfloat]
    micropython bench/driver.py mpwasi PROGRAM SIZE

RUNTIME is one of:
  mpwasi    this checkout's engine (firmware/mpwasi), on CPython or MicroPython
  python    the hand-written Python kernel (bench/python_kernels.py), on CPython or MicroPython
  pywasm    the pure-Python reference runtime (CPython only)
  wasmtime  the reference JIT runtime, through its Python package (CPython only)
PROGRAM is a name in bench/programs (fib, sieve, ..., bigmodule); SIZE is its argument.

The program's standard output goes to this process's standard output, unchanged, so that
bench/run.py can compare the outputs of all runtimes. The last line on standard error is
the measurement:
    BENCH load=<s> run=<s> status=<exit status> cpu_load=<s> cpu_run=<s> compile=<s> cpu_compile=<s>
(wall-clock times, then the same as CPU time of this process: time.process_time on CPython,
/proc/self/schedstat on MicroPython; -1 where there is no CPU clock), where `load` is decode + validate + instantiate (for wasmtime: compile + instantiate; for
mpwasi: see _run_mpwasi), `run` is the call of `_start` (for `python`: the kernel call) and
`compile` is mpwasi's fast tier compiling the module's functions (--tier fast; else 0).

This file runs unchanged on CPython and MicroPython (no os.path, no f-strings needed).
"""
import sys

try:
    from time import ticks_us, ticks_diff

    def _wall():
        return ticks_us()

    def _wall_since(t0):
        return ticks_diff(ticks_us(), t0) / 1e6

except ImportError:
    from time import perf_counter as _wall

    def _wall_since(t0):
        return _wall() - t0


def _schedstat_cpu():
    """CPU time of this (single-threaded) process from Linux's /proc/self/schedstat, in s.
    The kernel brings that figure up to date only when the task is scheduled, so sleep for a
    microsecond first (which costs about 0.07 ms of CPU): without it the figure lags by up to
    a scheduler tick."""
    try:
        import time

        time.sleep_us(1)
        f = open("/proc/self/schedstat")
        try:
            return int(f.read().split()[0]) / 1e9
        finally:
            f.close()
    except (OSError, ValueError, IndexError, AttributeError):
        return None


try:
    from time import process_time as _cpu  # CPython: the whole process (wasmtime may use threads)
except ImportError:
    _cpu = _schedstat_cpu  # MicroPython


def now():
    """A start mark: (wall clock, CPU time or None)."""
    return (_wall(), _cpu())


def since(t0):
    """(wall seconds, CPU seconds or None) since the mark t0."""
    cpu = _cpu()
    return (_wall_since(t0[0]), None if cpu is None or t0[1] is None else cpu - t0[1])


def _dirname(path):
    i = path.rfind("/")
    if i < 0:
        return "."
    if i == 0:
        return "/"
    return path[:i]


BENCH = _dirname(__file__)
REPO = _dirname(BENCH) if BENCH not in (".", "") else ".."
PROGRAMS = BENCH + "/programs"
FIRMWARE = REPO + "/firmware"


def program_path(name):
    return PROGRAMS + "/" + name + ".wasm"


# Each _run_* returns (exit status, load seconds, run seconds, the program's output or None
# when the runtime wrote it to sys.stdout itself). Times are (wall, CPU) pairs.

# mpwasi's fast tier: the time to compile every function of the module before `_start`
COMPILE = [(0.0, 0.0)]

def _run_mpwasi(path, argv, tier=None, softfloat=False, aot=False):
    """mpwasi: what mpwasi.run() does, in its steps, so that `load` (mpwasi.Module: decode +
    validate; mpwasi.Instance with the WASI imports: instantiate) and `run` (the `_start`
    call) are timed apart. With the fast tier, every function is compiled to Python between
    the two (timed as COMPILE), so that `run` is execution only; the tier's coverage goes to
    stderr as `FAST compiled=N fallbacks=M` and one `FALLBACK <function name> <reason>` line
    each."""
    if FIRMWARE not in sys.path:
        sys.path.insert(0, FIRMWARE)
    import mpwasi
    from mpwasi import wasi as mpwasi_wasi

    if softfloat:
        mpwasi.numeric.force_softfloat()
    if tier:
        mpwasi.set_tier(tier)
    elif hasattr(mpwasi, "set_tier"):
        mpwasi.set_tier("interp")  # the "mpwasi" column is the interpreter (CPython defaults to auto)
    if aot:  # the `<stem>_<hash16>.mpy` next to the module (mpwasi compile), as mpwasi.run does
        from mpwasi import compile as fast
        if fast.find_aot(path) is None:
            sys.exit("driver.py: no usable ahead-of-time file next to %s" % path)
    with open(path, "rb") as f:
        data = f.read()
    context = mpwasi_wasi.Wasi(argv)
    t0 = now()
    module = mpwasi.Module(data)
    instance = mpwasi.Instance(module, context.imports())
    load = since(t0)
    del module, data
    if tier == "fast":
        _compile_all(instance)
    start = instance.exports["_start"]
    status = 0
    t0 = now()
    try:
        start()
    except mpwasi.Exit as e:
        status = e.code
    run = since(t0)
    context.close()
    return status, load, run, None


def _compile_all(instance):
    from mpwasi import compile as fast

    t0 = now()
    fast.state_of(instance).compile_all()
    COMPILE[0] = since(t0)
    compiled, fallbacks = fast.report(instance)
    sys.stderr.write("FAST compiled=%d fallbacks=%d\n" % (compiled, len(fallbacks)))
    for idx in sorted(fallbacks):
        name = getattr(instance.funcs[idx], "name", None) or "f%d" % idx
        sys.stderr.write("FALLBACK %s %s\n" % (name, fallbacks[idx]))


def _run_pywasm(path, argv):
    import io

    import pywasm

    runtime = pywasm.core.Runtime()
    wasi = pywasm.wasi.Preview1(argv, {}, {})
    wasi.fd[1].pipe = io.BytesIO()  # pywasm's documented way to capture a WASI stream
    wasi.bind(runtime)
    t0 = now()
    inst = runtime.instance_from_file(path)
    load = since(t0)
    t0 = now()
    status = wasi.main(runtime, inst)
    run = since(t0)
    return status, load, run, wasi.fd[1].pipe.getvalue().decode()


def _run_wasmtime(path, argv):
    import os
    import tempfile

    import wasmtime

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    with tempfile.TemporaryDirectory() as tmp:
        out_path = os.path.join(tmp, "stdout")
        cfg = wasmtime.WasiConfig()
        cfg.argv = argv
        cfg.stdout_file = out_path
        cfg.inherit_stderr()
        store.set_wasi(cfg)
        t0 = now()
        module = wasmtime.Module.from_file(engine, path)
        inst = linker.instantiate(store, module)
        load = since(t0)
        start = inst.exports(store)["_start"]
        status = 0
        t0 = now()
        try:
            start(store)
        except wasmtime.ExitTrap as e:
            status = e.code
        run = since(t0)
        with open(out_path) as f:
            out = f.read()
    return status, load, run, out


def _run_python(name, size):
    if BENCH not in sys.path:
        sys.path.insert(0, BENCH)
    import python_kernels

    kernel = python_kernels.KERNELS.get(name)
    if kernel is None:
        sys.exit("driver.py: no hand-written Python kernel for %r" % name)
    t0 = now()
    out = kernel(size)
    run = since(t0)
    return 0, (0.0, 0.0), run, out


USAGE = ("usage: driver.py {mpwasi,python,pywasm,wasmtime} PROGRAM SIZE [--tier T] [--softfloat]"
         " [--aot DIR]")


def main(argv):
    args = list(argv[1:])
    tier = None
    softfloat = False
    if "--softfloat" in args:
        args.remove("--softfloat")
        softfloat = True
    aot_dir = None
    if "--aot" in args:  # DIR holds PROGRAM.wasm and its ahead-of-time .mpy
        i = args.index("--aot")
        if i + 1 >= len(args):
            sys.exit(USAGE)
        aot_dir = args[i + 1]
        del args[i:i + 2]
    if "--tier" in args:
        i = args.index("--tier")
        if i + 1 >= len(args):
            sys.exit(USAGE)
        tier = args[i + 1]
        del args[i:i + 2]
    if len(args) != 3:
        sys.exit(USAGE)
    runtime, name, size = args
    try:
        int(size)
    except ValueError:
        sys.exit("driver.py: SIZE must be an integer, not %r" % size)
    if runtime == "python":
        status, load, run, out = _run_python(name, int(size))
    else:
        path = program_path(name) if aot_dir is None else aot_dir + "/" + name + ".wasm"
        try:
            open(path, "rb").close()
        except OSError:
            sys.exit("driver.py: no benchmark program %r (looked for %s)" % (name, path))
        wasm_argv = [name, size]
        if runtime == "mpwasi":
            status, load, run, out = _run_mpwasi(path, wasm_argv, tier, softfloat, aot_dir is not None)
        elif runtime == "pywasm":
            status, load, run, out = _run_pywasm(path, wasm_argv)
        elif runtime == "wasmtime":
            status, load, run, out = _run_wasmtime(path, wasm_argv)
        else:
            sys.exit(USAGE)
    if out is not None:  # the runtimes that capture the program's output
        sys.stdout.write(out)
    if hasattr(sys.stdout, "flush"):
        sys.stdout.flush()
    comp = COMPILE[0]
    sys.stderr.write("BENCH load=%.6f run=%.6f status=%d cpu_load=%.6f cpu_run=%.6f"
                     " compile=%.6f cpu_compile=%.6f\n" % (
                         load[0], run[0], status or 0, _or_minus1(load[1]), _or_minus1(run[1]),
                         comp[0], _or_minus1(comp[1])))


def _or_minus1(v):
    return -1.0 if v is None else v


if __name__ == "__main__":
    main(sys.argv)
