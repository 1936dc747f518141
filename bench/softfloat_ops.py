"""Operations per second of the integer softfloat (mpwasi.softfloat) against the native float path.

    python3 bench/softfloat_ops.py [--n N] [--json]      # CPython, then micropython (2M and 512K heaps)
    micropython [-X heapsize=512K] bench/softfloat_ops.py [--n N] [--json]   # only this interpreter

For each operation it times N calls on bit-pattern operands (typical normal numbers, as a program
computes them) through softfloat and through mpwasi.numeric's native path (host doubles via struct,
the path a board with double-precision floats takes), and prints ops/second of both and the ratio
native/soft (how many times slower the exact integer path is). The times include the loop and the
call; on a 32-bit board every f64 bit pattern is also a heap-allocated big int, which this desktop
measurement (63-bit small ints on the unix port) does not show.
"""

import sys
import time

if sys.implementation.name == "micropython":
    _bench_dir = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
else:
    import os
    _bench_dir = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _bench_dir + "/../firmware")

import gc  # noqa: E402
import struct  # noqa: E402

from mpwasi import softfloat  # noqa: E402

try:
    _ticks = time.ticks_us
    _diff = time.ticks_diff
except AttributeError:
    def _ticks():
        return time.perf_counter_ns() // 1000

    def _diff(a, b):
        return a - b


def _native_table():
    """The native implementations: numeric's functions when it is on its native path."""
    from mpwasi import numeric
    if numeric.is_softfloat():
        raise RuntimeError("mpwasi.numeric is on the softfloat path here (no host doubles, or "
                           "MPWASI_SOFTFLOAT is set): there is no native path to compare with")
    return numeric


def _operands(count):
    """Bit patterns of typical doubles and floats: mixed signs and magnitudes, never special."""
    d = []
    f = []
    x = 0.7853981633974483
    for i in range(count):
        x = (x * 3.7 + 0.1234567) % 1.0
        v = (x + 0.5) * 10.0 ** ((i % 13) - 6)
        if i % 3 == 0:
            v = -v
        d.append(struct.unpack("<Q", struct.pack("<d", v))[0])
        f.append(struct.unpack("<I", struct.pack("<f", v))[0])
    ints = [(b * 2654435761) & 0xFFFFFFFFFFFFFFFF for b in d]
    return d, f, ints


# (name, arity, operand kind): "d" f64 bits, "f" f32 bits, "i" i64 bits, "t" f64 bits within i64 range
OPS = [
    ("f64_add", 2, "d"), ("f64_sub", 2, "d"), ("f64_mul", 2, "d"), ("f64_div", 2, "d"),
    ("f64_sqrt", 1, "p"), ("f64_lt", 2, "d"), ("f64_min", 2, "d"), ("f64_nearest", 1, "d"),
    ("f64_neg", 1, "d"), ("f64_convert_i64_s", 1, "i"), ("i64_trunc_f64_s", 1, "t"),
    ("f64_promote_f32", 1, "f"), ("f32_demote_f64", 1, "d"),
    ("f32_add", 2, "f"), ("f32_mul", 2, "f"), ("f32_div", 2, "f"), ("f32_sqrt", 1, "q"),
]


def _time(fn, arity, xs, ys, rounds):
    """Best ops/second of `rounds` passes over the operands (garbage collected before each)."""
    n = len(xs)
    best = 0
    for _ in range(rounds):
        gc.collect()
        if arity == 2:
            t0 = _ticks()
            for i in range(n):
                fn(xs[i], ys[i])
            us = _diff(_ticks(), t0)
        else:
            t0 = _ticks()
            for i in range(n):
                fn(xs[i])
            us = _diff(_ticks(), t0)
        rate = n * 1e6 / max(us, 1)
        if rate > best:
            best = rate
    return best


def _alloc_per_call(fn, arity, xs, ys):
    """Heap bytes allocated per call (MicroPython's gc.mem_alloc; None where it does not exist)."""
    if not hasattr(gc, "mem_alloc"):
        return None
    k = min(len(xs), 200)
    gc.collect()
    gc.disable()
    try:
        m0 = gc.mem_alloc()
        if arity == 2:
            for i in range(k):
                fn(xs[i], ys[i])
        else:
            for i in range(k):
                fn(xs[i])
        return (gc.mem_alloc() - m0) / k
    finally:
        gc.enable()


def measure(count=1000, rounds=5):
    d, f, ints = _operands(count)
    pos_d = [b & 0x7FFFFFFFFFFFFFFF for b in d]
    pos_f = [b & 0x7FFFFFFF for b in f]
    kinds = {"d": d, "f": f, "i": ints, "t": d, "p": pos_d, "q": pos_f}
    native = _native_table()
    rows = []
    for name, arity, kind in OPS:
        xs = kinds[kind]
        ys = xs[1:] + xs[:1]
        soft_fn = getattr(softfloat, name)
        native_fn = getattr(native, name)
        for i in range(len(xs)):  # the two paths must agree before their speed means anything
            args = (xs[i], ys[i]) if arity == 2 else (xs[i],)
            if soft_fn(*args) != native_fn(*args):
                raise AssertionError("%s%r: softfloat %r, native %r" % (name, args, soft_fn(*args), native_fn(*args)))
        soft = _time(soft_fn, arity, xs, ys, rounds)
        nat = _time(native_fn, arity, xs, ys, rounds)
        rows.append((name, soft, nat, _alloc_per_call(soft_fn, arity, xs, ys), _alloc_per_call(native_fn, arity, xs, ys)))
    return rows


def format_rows(label, rows):
    out = [label, "  %-20s %12s %12s %9s %12s %12s" % ("operation", "soft ops/s", "native ops/s", "slowdown",
                                                     "soft B/op", "native B/op")]
    for name, soft, nat, soft_b, nat_b in rows:
        out.append("  %-20s %12.0f %12.0f %8.2fx %12s %12s" % (
            name, soft, nat, nat / soft, "-" if soft_b is None else "%.0f" % soft_b,
            "-" if nat_b is None else "%.0f" % nat_b))
    return "\n".join(out)


# The unix port's default heap, and a small one like a board's. On the 64-bit unix port a big int
# takes two 16-byte GC blocks, and MicroPython's allocator rescans from the first free block for every
# multi-block allocation, so there the cost of each big-int operation grows with the heap size (on a
# 32-bit board the int object fits one block). The small heap is the fairer estimate for a board.
MP_HEAPS = (("2M", None), ("512K", "300"))   # (heap, operand count if smaller than asked)


def _interp_label(argv=()):
    impl = sys.implementation
    label = "%s %s" % (impl.name, ".".join(str(v) for v in impl.version[:3]))
    if "--heap" in argv:
        label += ", heap " + argv[argv.index("--heap") + 1]
    return label


def main(argv):
    count = 1000
    as_json = "--json" in argv
    if "--n" in argv:
        count = int(argv[argv.index("--n") + 1])
    rows = measure(count)
    if as_json:
        import json
        print(json.dumps({"interpreter": _interp_label(argv), "ops": [
            {"op": n, "soft_ops_per_s": s, "native_ops_per_s": v, "slowdown": v / s,
             "soft_bytes_per_op": sb, "native_bytes_per_op": vb} for n, s, v, sb, vb in rows]}))
    else:
        print(format_rows(_interp_label(argv), rows))
    if sys.implementation.name != "micropython" and "--here" not in argv:
        import shutil
        import subprocess
        mp = shutil.which("micropython")
        if mp is None:
            print("(micropython not on PATH: MicroPython not measured)")
            return 0
        for heap, n in MP_HEAPS:
            args = list(argv)
            if n is not None and "--n" not in args:
                args += ["--n", n]
            r = subprocess.run([mp, "-X", "heapsize=" + heap, __file__] + args + ["--heap", heap],
                               capture_output=True, text=True)
            sys.stdout.write(r.stdout)
            if r.returncode:
                sys.stderr.write(r.stderr)
                return r.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
