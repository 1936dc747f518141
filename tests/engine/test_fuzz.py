"""Seeded fuzzing of the engine with mutated spec-suite modules; a pytest module and a MicroPython script.

Every `.wasm` of the main-set spec suite is mutated (bit flips, random bytes, truncations, insertions,
an overlong LEB128 re-encoding of a LEB found by walking the sections, a huge count written into a LEB
position, the enclosing section size re-encoded or left stale at random; and, inside function bodies,
an opcode swapped for one of the same type, an i32/i64.const set to an edge value). Each mutant goes through
`mpwasi.Module(data)`, which must return a module or raise DecodeError/ValidationError. A valid one is
instantiated with spectest-like imports under `Limits(fuel=100000, max_call_depth=200)` and a memory
cap, and each exported function is called with zero arguments (all params 0 / null). Any exception
that is not the engine's (`mpwasi.WasmError` subclasses, `mpwasi.Exit`) is a failure, reported with the
seed, file and mutation so that it can be replayed (MPWASI_FUZZ_PER_FILE=N makes the pytest runs longer):

    python3     tests/engine/test_fuzz.py [--seed=S] [--per-file=N] [--only=FILE:K] [--tier=T]
                [--fuse=always] [--paged] [-v]
                (-v: print each mutant; --tier: mpwasi.set_tier(T) first; --fuse=always: every
                function in the interpreter's superinstructions; --paged: every linear memory paged)
    micropython -X heapsize=64M tests/engine/test_fuzz.py ...

The generator is a xorshift written here, so a seed gives the same mutants on both interpreters.
"""

import sys
import os

try:
    import pytest
except ImportError:  # running as a MicroPython script
    pytest = None


def _dirname(path):
    i = path.rfind("/")
    return path[:i] if i > 0 else ("/" if i == 0 else ".")


def _tests_dir():
    f = __file__
    if not f.startswith("/"):
        f = os.getcwd().rstrip("/") + "/" + f
    return _dirname(f)


ENGINE_TESTS = _tests_dir()        # tests/engine: this file
TESTS = _dirname(ENGINE_TESTS)      # tests/: spec/ and mp/
if __name__ == "__main__":
    # run as a script (a replay, or under micropython), not by pytest: the script's own paths
    sys.path[:0] = [TESTS, _dirname(TESTS) + "/firmware"]

from spec import run as spec_run  # noqa: E402  (paths, the spectest host module)

DEFAULT_SEED = 20261125
PER_FILE = 5  # 3,453 main-set .wasm files -> 17,265 mutants
MIN_MUTANTS = 10000
FUEL = 100000
MAX_CALL_DEPTH = 200
MEMORY_CAP = 1 << 24  # bytes of linear memory an instance may have
HUGE = (0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x10000000, 0xFFFFFF, 0x10001, 0x10000, 0x100000000,
        0xFFFFFFFFF)


# ---------------------------------------------------------------- a portable seeded generator

class Rng:
    """xorshift32: the same numbers on CPython and MicroPython."""

    def __init__(self, seed):
        s = (seed * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF
        self.s = s or 0x6D2B79F5
        for _ in range(4):
            self.next()

    def next(self):
        x = self.s
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.s = x
        return x

    def below(self, n):
        return self.next() % n


def mutant_seed(seed, file_index, k):
    return (seed * 1000003 + file_index * 7919 + k * 104729) & 0x7FFFFFFF


# ---------------------------------------------------------------- LEB128 positions of a module

def read_leb(data, pos):
    """(value, end) of the unsigned LEB at pos, or None if it runs off the end / is too long."""
    value = 0
    shift = 0
    while pos < len(data) and shift < 64:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos
    return None


def encode_leb(value, length=1):
    """Unsigned LEB128 of value, padded with continuation bytes to at least `length` bytes."""
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value or len(out) + 1 < length:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def leb_sites(data):
    """LEBs found by walking the sections: (start, end, section size site or None) each.

    Found: every section size; the vector count at the start of every known section; the type index of
    every function; every body size and local-declaration count of the code section; memory limits.
    """
    sites = []
    if len(data) < 8:
        return sites
    pos = 8
    while pos < len(data):
        sid = data[pos]
        r = read_leb(data, pos + 1)
        if r is None:
            break
        size, cstart = r
        size_site = (pos + 1, cstart, None)
        sites.append(size_site)
        cend = cstart + size
        if cend > len(data):
            break
        if 1 <= sid <= 12:
            r = read_leb(data, cstart)
            if r is not None and r[1] <= cend:
                count, p = r
                sites.append((cstart, p, size_site))
                if sid == 3:  # function section: type indices
                    for _ in range(min(count, 1000)):
                        r = read_leb(data, p)
                        if r is None or r[1] > cend:
                            break
                        sites.append((p, r[1], size_site))
                        p = r[1]
                elif sid == 5 and count and p < cend:  # memory: flags, min, max?
                    flags = data[p]
                    r = read_leb(data, p + 1)
                    if r is not None and r[1] <= cend:
                        sites.append((p + 1, r[1], size_site))
                        if flags & 1:
                            r2 = read_leb(data, r[1])
                            if r2 is not None and r2[1] <= cend:
                                sites.append((r[1], r2[1], size_site))
                elif sid == 10:  # code: body sizes and local counts
                    for _ in range(min(count, 1000)):
                        r = read_leb(data, p)
                        if r is None or r[1] > cend:
                            break
                        body_size, body = r
                        sites.append((p, body, size_site))
                        r = read_leb(data, body)
                        if r is not None and r[1] <= cend:
                            sites.append((body, r[1], size_site))
                        p = body + body_size
        pos = cend
    return sites


def code_range(data):
    """(start, end) of the code section's contents, or None."""
    pos = 8
    while pos < len(data):
        r = read_leb(data, pos + 1)
        if r is None or r[0] + r[1] > len(data):
            return None
        if data[pos] == 10:
            return r[1], r[1] + r[0]
        pos = r[1] + r[0]
    return None


def pick_pos(data, rng, end_ok=False):
    """A position to mutate: rarely the 8-byte header, often inside function bodies, else anywhere."""
    n = len(data) + (1 if end_ok else 0)
    r = rng.below(16)
    if r == 0 or n <= 8:
        return rng.below(n)
    if r < 9:
        code = code_range(data)
        if code is not None and code[1] > code[0]:
            return code[0] + rng.below(code[1] - code[0])
    return 8 + rng.below(n - 8)


def replace_leb(data, site, new_bytes, fix_size):
    """data with the LEB at site replaced; the enclosing section size re-encoded if fix_size."""
    start, end, parent = site
    out = data[:start] + new_bytes + data[end:]
    if fix_size and parent is not None:
        pstart, pend, _ = parent
        r = read_leb(data, pstart)
        if r is not None:
            size = r[0] + len(new_bytes) - (end - start)
            out = out[:pstart] + encode_leb(size) + out[pend:]
    return out


# ---------------------------------------------------------------- mutations

KINDS = ("flip", "byte", "truncate", "insert", "overlong", "huge", "opswap", "const")

# Opcodes with the same stack signature, so that swapping one for another often keeps a body valid and
# changes what it computes (and which traps it hits).
OP_CLASSES = (
    range(0x6A, 0x79), range(0x7C, 0x8B), range(0x92, 0x99), range(0xA0, 0xA7),  # binary i32 i64 f32 f64
    range(0x46, 0x50), range(0x51, 0x5B), range(0x5B, 0x61), range(0x61, 0x67),  # comparisons
    range(0x67, 0x6A), range(0x79, 0x7C), range(0x8B, 0x92), range(0x99, 0xA0),  # unary
    (0xA8, 0xA9), (0xAA, 0xAB), (0xAE, 0xAF), (0xB0, 0xB1),  # float -> int truncations (trapping)
    (0x28, 0x2C, 0x2D, 0x2E, 0x2F), (0x36, 0x3A, 0x3B),  # i32 loads, i32 stores
)
OP_CLASS = {}
for _cls in OP_CLASSES:
    for _op in _cls:
        OP_CLASS[_op] = tuple(_cls)
INTERESTING = (0, 1, -1, 2, -2, 63, -64, 127, -128, 255, 0x7FFF, -0x8000, 0xFFFF, 0x7FFFFFFF, -0x80000000,
               0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF, -0x8000000000000000, 1 << 31, 1 << 32)


def encode_sleb(value, length):
    """Signed LEB128 of value in exactly `length` bytes (padded), or None if it does not fit."""
    if not -(1 << (7 * length - 1)) <= value < (1 << (7 * length - 1)):
        return None
    out = bytearray()
    for i in range(length):
        b = value & 0x7F
        value >>= 7
        out.append(b | 0x80 if i + 1 < length else b)
    return bytes(out)


def code_candidates(data, ok):
    code = code_range(data)
    if code is None:
        return []
    return [p for p in range(code[0], code[1]) if ok(p)]


def mutate_code(data, rng, kind):
    """An opcode swapped within its class, or an i32/i64.const immediate replaced; None if none found."""
    if kind == "opswap":
        cands = code_candidates(data, lambda p: data[p] in OP_CLASS)
        if not cands:
            return None
        p = cands[rng.below(len(cands))]
        cls = OP_CLASS[data[p]]
        op = cls[rng.below(len(cls))]
        return data[:p] + bytes([op]) + data[p + 1:], "opswap at %d: 0x%02x -> 0x%02x" % (p, data[p], op)
    cands = code_candidates(data, lambda p: data[p] in (0x41, 0x42) and read_leb(data, p + 1) is not None)
    if not cands:
        return None
    p = cands[rng.below(len(cands))]
    end = read_leb(data, p + 1)[1]
    value = INTERESTING[rng.below(len(INTERESTING))]
    new = encode_sleb(value, end - p - 1)
    if new is None:
        new = encode_sleb(value & 0x3F, end - p - 1)
        value &= 0x3F
    return data[:p + 1] + new + data[end:], "const at %d = %d" % (p, value)


def mutate(data, rng):
    """(mutant bytes, description) for one seeded mutation of data."""
    kind = KINDS[rng.below(len(KINDS))]
    n = len(data)
    if kind in ("opswap", "const"):
        r = mutate_code(data, rng, kind)
        if r is not None:
            return r
        kind = "flip"
    if kind in ("overlong", "huge"):
        sites = leb_sites(data)
        if not sites:
            kind = "byte"
        else:
            site = sites[rng.below(len(sites))]
            fix = rng.below(2) == 0
            r = read_leb(data, site[0])
            if kind == "overlong":
                pad = 1 + rng.below(6)
                new = encode_leb(r[0], (site[1] - site[0]) + pad)
                desc = "overlong LEB at %d (%d -> %d bytes)" % (site[0], site[1] - site[0], len(new))
            else:
                value = HUGE[rng.below(len(HUGE))]
                new = encode_leb(value)
                desc = "huge LEB 0x%x at %d" % (value, site[0])
            if fix and site[2] is not None:
                desc += ", section size fixed"
            return replace_leb(data, site, new, fix), desc
    if n == 0:
        kind = "insert"
    if kind == "flip":
        out = bytearray(data)
        descs = []
        for _ in range(1 + rng.below(3)):
            p = pick_pos(data, rng)
            bit = rng.below(8)
            out[p] ^= 1 << bit
            descs.append("%d.%d" % (p, bit))
        return bytes(out), "flip bits " + " ".join(descs)
    if kind == "byte":
        out = bytearray(data)
        p = pick_pos(data, rng)
        v = rng.below(256)
        out[p] = v
        return bytes(out), "byte %d = 0x%02x" % (p, v)
    if kind == "truncate":
        m = pick_pos(data, rng)
        return data[:m], "truncate to %d of %d" % (m, n)
    p = pick_pos(data, rng, True)
    ins = bytes([rng.below(256) for _ in range(1 + rng.below(8))])
    return data[:p] + ins + data[p:], "insert %s at %d" % (ins.hex() if hasattr(ins, "hex") else ins, p)


# ---------------------------------------------------------------- running mutants

def main_set_wasm_files(root):
    files = []
    for name in spec_run.main_set(root):
        d = "%s/json/%s" % (root, name)
        names = [f for f in os.listdir(d) if f.endswith(".wasm")]
        names.sort()
        for f in names:
            files.append("%s/%s" % (name, f))
    return files


ZERO = {"i32": 0, "i64": 0, "f32": 0, "f64": 0}


class Stats:
    def __init__(self):
        self.mutants = 0
        self.decode_errors = 0
        self.validation_errors = 0
        self.valid = 0
        self.link_errors = 0
        self.instantiated = 0
        self.calls = 0
        self.traps = 0
        self.failures = []

    def summary(self):
        return ("fuzz: %d mutants, %d decode errors, %d validation errors, %d valid, %d link errors, "
                "%d instantiated, %d calls, %d traps, %d failures"
                % (self.mutants, self.decode_errors, self.validation_errors, self.valid, self.link_errors,
                   self.instantiated, self.calls, self.traps, len(self.failures)))


def is_engine_error(w, e):
    return isinstance(e, w.WasmError) or isinstance(e, w.Exit)


def exercise(w, data, stats):
    """Decode, validate, instantiate and call one mutant. Returns None, or (stage, exception)."""
    try:
        m = w.Module(data)
    except w.DecodeError:
        stats.decode_errors += 1
        return None
    except w.ValidationError:
        stats.validation_errors += 1
        return None
    except Exception as e:
        return ("Module()", e)
    stats.valid += 1
    try:
        limits = w.Limits(memory_bytes=MEMORY_CAP, max_call_depth=MAX_CALL_DEPTH, fuel=FUEL)
        inst = w.Instance(m, imports={"spectest": spec_run.make_spectest(w)}, limits=limits)
    except Exception as e:
        if isinstance(e, w.LinkError):
            stats.link_errors += 1
            return None
        if is_engine_error(w, e):
            return None
        return ("Instance()", e)
    stats.instantiated += 1
    for name, kind in m.exports:
        if kind != "func":
            continue
        try:
            f = inst.exports[name]
            args = [ZERO.get(t) for t in f.type[0]]
            stats.calls += 1
            f.call_bits(args)
        except Exception as e:
            if isinstance(e, w.Trap):
                stats.traps += 1
            elif not is_engine_error(w, e):
                return ("call %r" % name, e)
    return None


def fuzz(w, root, seed=DEFAULT_SEED, per_file=PER_FILE, only=None, log=None, verbose=False):
    """Run the mutants; returns Stats. only=(file, k) replays one mutant."""
    stats = Stats()
    files = main_set_wasm_files(root)
    for i in range(len(files)):
        rel = files[i]
        if only is not None and only[0] != rel:
            continue
        data = spec_run.read_bytes("%s/json/%s" % (root, rel))
        for k in range(per_file):
            if only is not None and only[1] != k:
                continue
            rng = Rng(mutant_seed(seed, i, k))
            mutant, desc = mutate(data, rng)
            stats.mutants += 1
            if verbose and log is not None:
                log("%s:%d %s" % (rel, k, desc))
            bad = exercise(w, mutant, stats)
            if bad is not None:
                stage, e = bad
                msg = ("FUZZ FAILURE seed=%d only=%s:%d (%s) %s raised %s: %s"
                       % (seed, rel, k, desc, stage, type(e).__name__, e))
                stats.failures.append(msg)
                if log is not None:
                    log(msg)
        mutant = data = None
    return stats


def _engine():
    import mpwasi
    return mpwasi


# ---------------------------------------------------------------- pytest

if pytest is not None:

    def test_fuzzed_modules_raise_only_engine_errors_cpython(spec_dir):
        w = _engine()
        stats = fuzz(w, spec_dir, per_file=int(os.environ.get("MPWASI_FUZZ_PER_FILE") or PER_FILE))
        print(stats.summary())
        assert stats.mutants >= MIN_MUTANTS
        assert not stats.failures, "\n".join(stats.failures[:30])
        # The mutants reach every layer, or the fuzzing proves little.
        assert stats.decode_errors and stats.validation_errors and stats.valid
        assert stats.instantiated and stats.calls

    def test_mutations_are_reproducible_from_the_seed():
        data = bytes(range(8)) + b"\x01\x05\x01\x60\x00\x01\x7f" + b"\x03\x02\x01\x00"
        a = [mutate(data, Rng(mutant_seed(7, 3, k))) for k in range(50)]
        b = [mutate(data, Rng(mutant_seed(7, 3, k))) for k in range(50)]
        assert a == b
        assert len(set(m for m, _ in a)) > 25
        kinds = set(d.split()[0] for _, d in a)
        assert kinds == {"flip", "byte", "truncate", "insert", "overlong", "huge"}  # no code section here

    def test_leb_sites_and_overlong_reencoding():
        # header, type section (1 type: [] -> [i32]), function section (1 func of type 0)
        data = b"\x00asm\x01\x00\x00\x00" + b"\x01\x05\x01\x60\x00\x01\x7f" + b"\x03\x02\x01\x00"
        sites = leb_sites(data)
        starts = [s[0] for s in sites]
        assert starts == [9, 10, 16, 17, 18]  # type size, type count, func size, func count, type index
        assert encode_leb(1, 3) == b"\x81\x80\x00" and read_leb(b"\x81\x80\x00", 0) == (1, 3)
        fixed = replace_leb(data, sites[1], encode_leb(1, 3), True)
        assert fixed[9] == 7 and fixed[10:13] == b"\x81\x80\x00"  # section size grew by 2
        stale = replace_leb(data, sites[1], encode_leb(1, 3), False)
        assert stale[9] == 5

    def test_code_mutations_keep_the_shape_of_a_body():
        assert encode_sleb(-1, 1) == b"\x7f" and encode_sleb(-1, 3) == b"\xff\xff\x7f"
        assert encode_sleb(63, 2) == b"\xbf\x00" and encode_sleb(64, 1) is None
        assert encode_sleb(-0x80000000, 5) == b"\x80\x80\x80\x80\x78"
        # (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.add) and one with i32.const 5
        add = (b"\x00asm\x01\x00\x00\x00\x01\x07\x01\x60\x02\x7f\x7f\x01\x7f\x03\x02\x01\x00"
               b"\x0a\x09\x01\x07\x00\x20\x00\x20\x01\x6a\x0b")
        ops = set()
        for k in range(40):
            m, desc = mutate_code(add, Rng(k), "opswap")
            assert len(m) == len(add) and m[:-2] == add[:-2] and m[-1] == 0x0B, desc
            ops.add(m[-2])
        assert len(ops) > 8 and ops <= set(range(0x6A, 0x79))
        const = add[:-11] + b"\x0a\x08\x01\x06\x00\x20\x00\x41\x05\x0b"  # local.get 0 i32.const 5
        for k in range(40):
            m, desc = mutate_code(const, Rng(k), "const")
            assert len(m) == len(const) and m[:-2] == const[:-2], desc
            assert read_leb(m, len(m) - 2) == (m[-2], len(m) - 1)

    def test_mutants_are_the_same_under_micropython(micropython):
        from mp.runner import run_micropython
        code = ("import sys\nsys.path[:0] = [%r, %r, %r]\nimport test_fuzz as t\n"
                "d = bytes(range(40))\n"
                "for k in range(40): print(repr(t.mutate(d, t.Rng(t.mutant_seed(9, 2, k)))))\n"
                % (ENGINE_TESTS, TESTS, spec_run.FIRMWARE))
        r = run_micropython(["-c", code], timeout=120)
        assert r.returncode == 0, r.stderr
        d = bytes(range(40))
        here = [repr(mutate(d, Rng(mutant_seed(9, 2, k)))) for k in range(40)]
        assert r.stdout.splitlines() == here

    def _fuzz_script(interp, spec_dir, seed, extra=()):
        """Run this file as a script under `interp`; check its output like the in-process test."""
        import subprocess
        from mp.runner import micropython_command
        per_file = int(os.environ.get("MPWASI_FUZZ_PER_FILE") or PER_FILE)
        args = [os.path.join(ENGINE_TESTS, "test_fuzz.py"), "--per-file=%d" % per_file, "--seed=%d" % seed] + list(extra)
        cmd = [sys.executable] + args if interp == "cpython" else micropython_command(args, "64M")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=3 * 3600,
                           env=dict(os.environ, MPWASI_SPEC_DIR=spec_dir))
        lines = r.stdout.strip().splitlines()
        assert lines and lines[-1].startswith("fuzz: "), r.stdout[-3000:] + r.stderr[-3000:]
        failures = [ln for ln in lines if ln.startswith("FUZZ FAILURE")]
        assert r.returncode == 0 and not failures, "\n".join(failures[:30]) + r.stderr[-2000:]
        assert " 0 valid," not in lines[-1] and " 0 calls," not in lines[-1], lines[-1]
        assert int(lines[-1].split()[1]) >= MIN_MUTANTS, lines[-1]

    def test_fuzzed_modules_raise_only_engine_errors_micropython(spec_dir, micropython):
        _fuzz_script("micropython", spec_dir, DEFAULT_SEED + 1)

    @pytest.mark.parametrize("interp", ["cpython", "micropython"])
    def test_fuzzed_modules_raise_only_engine_errors_fast_tier(request, spec_dir, interp):
        if interp == "micropython":
            request.getfixturevalue("micropython")
        if not hasattr(_engine(), "set_tier"):
            pytest.skip("the fast tier is not available: mpwasi has no set_tier() yet")
        _fuzz_script(interp, spec_dir, DEFAULT_SEED + 2, ["--tier=fast"])

    @pytest.mark.parametrize("interp", ["cpython", "micropython"])
    def test_fuzzed_modules_raise_only_engine_errors_with_paged_memory(request, spec_dir, interp):
        # every linear memory paged, every function fused (the fused forms' memory accesses too)
        if interp == "micropython":
            request.getfixturevalue("micropython")
        _fuzz_script(interp, spec_dir, DEFAULT_SEED + 4, ["--paged", "--fuse=always"])

    def test_fuzzed_modules_raise_only_engine_errors_with_every_function_fused(spec_dir):
        # the interpreter's superinstructions (fuse.py) from each function's first call
        _fuzz_script("cpython", spec_dir, DEFAULT_SEED + 3, ["--fuse=always"])


# ---------------------------------------------------------------- command line

def main(argv):
    seed = DEFAULT_SEED
    per_file = PER_FILE
    only = None
    verbose = False
    tier = None
    fuse_always = False
    paged = False
    for a in argv:
        if a.startswith("--seed="):
            seed = int(a[7:])
        elif a.startswith("--per-file="):
            per_file = int(a[11:])
        elif a.startswith("--only="):
            f, k = a[7:].rsplit(":", 1)
            only = (f, int(k))
            per_file = max(per_file, only[1] + 1)
        elif a == "-v":
            verbose = True
        elif a.startswith("--tier="):
            tier = a[7:]
        elif a == "--fuse=always":
            fuse_always = True
        elif a == "--paged":
            paged = True
        else:
            print("usage: test_fuzz.py [--seed=S] [--per-file=N] [--only=FILE:K] [--tier=T] "
                  "[--fuse=always] [--paged] [-v]")
            return 2
    root = spec_run.spec_dir()
    w = _engine()
    if tier is not None:
        w.set_tier(tier)
    if fuse_always:  # every function in the interpreter's superinstructions (fuse.py)
        import mpwasi.runtime as rt
        rt.FUSE = True
        rt.HEAT = 1
    if paged:  # every linear memory paged (runtime.Memory, paged.py)
        import mpwasi.runtime as rt
        rt.PAGED = True
    stats = fuzz(w, root, seed, per_file, only, print, verbose)
    print(stats.summary())
    return 1 if stats.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
