"""Operations per second of the integer softfloat (mpwasi.softfloat) against the native float path.

    python3 bench/softfloat_ops.py [--n N] [--json]      # CPython, then the same under micropython
    micropython bench/softfloat_ops.py [--n N] [--json]  # only the interpreter it runs in

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
    n = len(xs)
    if arity == 2:
        t0 = _ticks()
        for _ in range(rounds):
            for i in range(n):
                fn(xs[i], ys[i])
        us = _diff(_ticks(), t0)
    else:
        t0 = _ticks()
        for _ in range(rounds):
            for i in range(n):
                fn(xs[i])
        us = _diff(_ticks(), t0)
    return n * rounds * 1e6 / max(us, 1)


def measure(count=2000, rounds=5):
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
        rows.append((name, soft, nat))
    return rows


def format_rows(label, rows):
    out = ["%s" % label, "  %-20s %14s %14s %9s" % ("operation", "soft ops/s", "native ops/s", "slowdown")]
    for name, soft, nat in rows:
        out.append("  %-20s %14.0f %14.0f %8.2fx" % (name, soft, nat, nat / soft))
    return "\n".join(out)


def _interp_label():
    impl = sys.implementation
    return "%s %s" % (impl.name, ".".join(str(v) for v in impl.version[:3]))


def main(argv):
    count = 2000
    as_json = "--json" in argv
    if "--n" in argv:
        count = int(argv[argv.index("--n") + 1])
    rows = measure(count)
    if as_json:
        import json
        print(json.dumps({"interpreter": _interp_label(), "ops": [
            {"op": n, "soft_ops_per_s": s, "native_ops_per_s": v, "slowdown": v / s} for n, s, v in rows]}))
    else:
        print(format_rows(_interp_label(), rows))
    if sys.implementation.name != "micropython" and "--here" not in argv:
        import shutil
        import subprocess
        mp = shutil.which("micropython")
        if mp is None:
            print("(micropython not on PATH: MicroPython not measured)")
            return 0
        r = subprocess.run([mp, __file__] + [a for a in argv], capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        if r.returncode:
            sys.stderr.write(r.stderr)
            return r.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
