"""The fast tier (mpwasi.fastrt, mpwasi.fastgen): same results, traps, limits as the interpreter.

The whole spec suite with the fast tier forced runs in test_spec.py (mode "fast"); here: random
programs (tests/fastgen.py) and the bench programs run under both tiers and compared, deep recursion
under MicroPython, traps with compiled frames, fuel, call depth, the "auto" tier, and functions the
compiler gives back to the interpreter.
"""
import io
import os
from repo_paths import REPO_ROOT
import random
import subprocess
import sys

import pytest

import mpwasi
from mpwasi import compile as fast
from mpwasi import fastgen as gen
from mpwasi import wasi
import fastgen
from wasmgen import ModuleBuilder, uleb, sleb
from mp.runner import run_code

REPO = REPO_ROOT
PROGRAMS = os.path.join(REPO, "bench", "programs")
SMALL = {"fib": 15, "sieve": 2000, "matmul": 8, "crc32": 500, "mandelbrot": 8, "nbody": 10,
         "quicksort": 300, "bigmodule": 1, "hello": None}


@pytest.fixture
def tier():
    """set_tier(...) for one test, back to "interp" afterwards."""
    yield mpwasi.set_tier
    mpwasi.set_tier("interp")


def run_wasi(path, args):
    out = io.BytesIO()
    status = wasi.run(path, [str(a) for a in args], stdout=out)
    return status, out.getvalue()


def outcome(f, args):
    try:
        return f.call_bits(args)
    except mpwasi.Trap as t:
        return "trap: " + t.reason


# ---------------------------------------------------------------- differential runs

@pytest.mark.parametrize("block", range(6))
def test_random_programs_give_the_same_results_and_memory_in_both_tiers(tier, block):
    for seed in range(block * 60, block * 60 + 60):
        m = mpwasi.Module(fastgen.random_module(seed))
        rng = random.Random(seed)
        for _ in range(3):
            args = fastgen.random_args(rng)
            tier("interp")
            a = mpwasi.Instance(m)
            tier("fast")
            b = mpwasi.Instance(m)
            ra = outcome(a.exports["main"], args)
            rb = outcome(b.exports["main"], args)
            assert ra == rb, "seed %d args %r" % (seed, args)
            assert a.exports["memory"].data == b.exports["memory"].data, "seed %d" % seed
            assert fast.report(b)[0] >= 1


@pytest.mark.parametrize("name", sorted(SMALL))
def test_bench_programs_print_the_same_in_both_tiers(tier, name):
    path = os.path.join(PROGRAMS, name + ".wasm")
    args = [] if SMALL[name] is None else [SMALL[name]]
    tier("interp")
    expected = run_wasi(path, args)
    tier("fast")
    assert run_wasi(path, args) == expected
    assert expected[0] == 0 and expected[1]


def test_bench_functions_compile_and_only_deep_switches_fall_back_on_cpython(tier):
    """Every function of the bench programs compiles, except (on CPython, which allows 20 nested
    loops) libc's printf_core/fmt_fp, whose switches nest more branch targets than that."""
    tier("fast")
    for name in ("fib", "sieve", "matmul", "crc32", "mandelbrot", "nbody", "quicksort", "bigmodule"):
        m = mpwasi.Module(open(os.path.join(PROGRAMS, name + ".wasm"), "rb").read())
        w = wasi.Wasi([name], None, None, None, io.BytesIO(), None)
        inst = mpwasi.Instance(m, w.imports(m))
        fast.state_of(inst).compile_all()
        compiled, fallbacks = fast.report(inst)
        assert compiled > 10, name
        for idx in fallbacks:
            assert "nested loops" in fallbacks[idx], (name, fallbacks)
        assert len(fallbacks) <= 2, (name, fallbacks)


def test_bench_programs_print_the_same_under_micropython_fast_tier(micropython):
    code = """
import sys, io
import mpwasi
from mpwasi import wasi
for name, size in %r:
    outs = []
    for t in ("interp", "fast"):
        mpwasi.set_tier(t)
        out = io.BytesIO()
        st = wasi.run(%r + "/" + name + ".wasm", [str(size)], stdout=out)
        outs.append((st, out.getvalue()))
    print(name, outs[0] == outs[1], outs[1][0])
""" % ([("fib", 12), ("sieve", 500), ("crc32", 300), ("mandelbrot", 6), ("quicksort", 100)], PROGRAMS)
    p = run_code(code, heapsize="64M", timeout=600)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n")
    for name in ("fib", "sieve", "crc32", "mandelbrot", "quicksort"):
        assert "%s True 0" % name in lines, p.stdout


# ---------------------------------------------------------------- recursion, traps, limits

def recursion_module():
    m = ModuleBuilder()
    t = m.type(["i32"], ["i32"])
    t2 = m.type(["i32", "i32"], ["i32"])
    # rec(n) = n == 0 ? 0 : rec(n - 1) + 1
    rec = m.func(t, [], [0x20, 0, 0x45, 0x04, 0x7F, 0x41, 0, 0x05, 0x20, 0, 0x41, 1, 0x6B, 0x10, 0,
                         0x41, 1, 0x6A, 0x0B, 0x0B], "rec")
    inf = m.func(t, [], [0x20, 0, 0x10, 1, 0x0B], "forever")
    div = m.func(t2, [], [0x20, 0, 0x20, 1, 0x6D, 0x0B], "divide")
    outer = m.func(t2, [], [0x20, 0, 0x20, 1, 0x10, div, 0x0B], "outer")
    m.export("rec", 0, rec)
    m.export("forever", 0, inf)
    m.export("outer", 0, outer)
    return m.bytes()


def test_deep_recursion_works_and_infinite_recursion_traps_on_cpython(tier):
    tier("fast")
    inst = mpwasi.Instance(mpwasi.Module(recursion_module()))
    assert inst.exports["rec"](10000) == 10000
    with pytest.raises(mpwasi.Trap) as e:
        inst.exports["forever"](1)
    assert e.value.reason == "call stack exhausted"
    assert fast.report(inst)[0] >= 2


def test_deep_recursion_10000_under_micropython_fast_tier(micropython):
    code = """
import mpwasi
from mpwasi import compile as fast
mpwasi.set_tier("fast")
inst = mpwasi.Instance(mpwasi.Module(%r))
print("rec", inst.exports["rec"](10000))
try:
    inst.exports["forever"](1)
except mpwasi.Trap as t:
    print("trap", t.reason)
print("compiled", fast.report(inst)[0])
""" % (recursion_module(),)
    p = run_code(code, heapsize="64M", timeout=300)
    assert p.returncode == 0, p.stderr
    assert "rec 10000" in p.stdout
    assert "trap call stack exhausted" in p.stdout
    assert "compiled 2" in p.stdout


def test_the_api_name_and_the_run_time_side_do_not_load_the_generator(micropython):
    """mpwasi.compile (the stable name) and the run-time support load without fastgen; compiling a
    function loads it."""
    code = """
import sys
import mpwasi
from mpwasi import compile as fast
print("api", sorted(n for n in ("find_aot", "use_aot", "report", "set_tier") if hasattr(fast, n)))
print("before", "mpwasi.fastgen" in sys.modules)
mpwasi.set_tier("fast")
inst = mpwasi.Instance(mpwasi.Module(%r))
print("set_tier", "mpwasi.fastgen" in sys.modules)
inst.exports["rec"](3)
print("after", "mpwasi.fastgen" in sys.modules, fast.report(inst)[0])
""" % (recursion_module(),)
    p = run_code(code, heapsize="64M", timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:4] == ["api ['find_aot', 'report', 'set_tier', 'use_aot']",
                                       "before False", "set_tier False", "after True 1"], p.stdout


@pytest.mark.parametrize("depth", [50, 300, 5000])
def test_call_depth_limit_traps_where_the_interpreter_traps(tier, depth):
    data = recursion_module()
    results = []
    for t in ("interp", "fast"):
        tier(t)
        inst = mpwasi.Instance(mpwasi.Module(data), limits=mpwasi.Limits(max_call_depth=depth))
        results.append((outcome(inst.exports["rec"], [depth]), outcome(inst.exports["rec"], [depth + 1])))
    assert results[0] == results[1]
    assert results[0][0] == [depth] and results[0][1] == "trap: call stack exhausted"


def test_traps_carry_the_compiled_frames_with_their_names(tier):
    tier("fast")
    inst = mpwasi.Instance(mpwasi.Module(recursion_module()))
    with pytest.raises(mpwasi.Trap) as e:
        inst.exports["outer"](1, 0)
    assert e.value.reason == "integer divide by zero"
    assert [f[1] for f in e.value.frames[:2]] == ["divide", "outer"]


def test_fuel_is_counted_exactly_in_the_fast_tier(tier):
    data = recursion_module()
    seen = []
    for t in ("interp", "fast"):
        tier(t)
        for fuel in (5, 6, 7):
            inst = mpwasi.Instance(mpwasi.Module(data), limits=mpwasi.Limits(fuel=fuel))
            seen.append((t, fuel, outcome(inst.exports["rec"], [5])))
    assert [s[2] for s in seen[:3]] == [s[2] for s in seen[3:]]
    assert seen[0][2] == "trap: fuel exhausted" and seen[2][2] == [5]


def test_host_functions_memory_grow_and_call_indirect(tier):
    m = ModuleBuilder()
    t_host = m.type(["i32"], ["i32"])
    t_run = m.type(["i32"], ["i32"])
    host = m.import_func("env", "twice", t_host)
    m.mem(1)
    m.table(2)
    # run(x): put the import in table slot 0 (table.set of ref.func), grow memory by 1 page, store
    # twice(x) at 65536+8 in the new page, call_indirect slot 0 and add the load.
    body = ([0x41, 0, 0xD2, host, 0x26, 0x00] +
            [0x41, 1, 0x40, 0x00, 0x1A] +
            [0x41] + sleb(65536 + 8) + [0x20, 0, 0x10, host, 0x36, 0x02, 0x00] +
            [0x20, 0, 0x41, 0, 0x11] + uleb(t_host) + [0x00] +
            [0x41] + sleb(65536 + 8) + [0x28, 0x02, 0x00, 0x6A, 0x0B])
    f = m.func(t_run, [], body, "run")
    m.export("run", 0, f)
    m.export("twice", 0, host)
    m.export("memory", 2, 0)
    data = m.bytes()
    for t in ("interp", "fast"):
        tier(t)
        calls = []

        def twice(x):
            calls.append(x)
            return 2 * x
        inst = mpwasi.Instance(mpwasi.Module(bytes(data)),
                               {"env": {"twice": mpwasi.HostFunc(["i32"], ["i32"], twice)}})
        assert inst.exports["run"](21) == 84
        assert calls == [21, 21]
        assert inst.exports["memory"].size() == 2


def test_auto_tier_compiles_a_function_once_it_is_hot(tier):
    tier("auto")
    inst = mpwasi.Instance(mpwasi.Module(recursion_module()))
    assert fast.report(inst)[0] == 0
    for _ in range(20):
        assert inst.exports["rec"](100) == 100
    assert fast.report(inst)[0] >= 1
    assert inst.exports["rec"](10000) == 10000


def test_deeply_nested_loops_fall_back_to_the_interpreter_on_cpython(tier):
    # 30 nested loops, each entered once: more than CPython's 20 nested blocks
    m = ModuleBuilder()
    t = m.type([], ["i32"])
    n = 30
    # each loop a branch target: a never-taken br_if to every depth, inside the innermost
    taken_never = []
    for depth in range(n):
        taken_never += [0x41, 0, 0x0D, depth]
    body = [0x03, 0x40] * n + taken_never + [0x0B] * n + [0x41, 42, 0x0B]
    f = m.func(t, [], body, "nested")
    m.export("nested", 0, f)
    tier("fast")
    inst = mpwasi.Instance(mpwasi.Module(m.bytes()))
    assert inst.exports["nested"]() == 42
    compiled, fallbacks = fast.report(inst)
    assert list(fallbacks) == [0] and "nested loops" in fallbacks[0]


def test_set_tier_rejects_unknown_tiers():
    with pytest.raises(ValueError):
        mpwasi.set_tier("jit")


def test_generated_source_is_plain_python_with_structured_control_flow():
    m = mpwasi.Module(recursion_module())
    src, used = gen.function_source(gen.FuncInfo(m.decoded), 0, m.data)
    assert src.startswith("def f0(l0, d):")
    assert "f0(" in src and "d1" in src
    compile(src, "f0", "exec")
