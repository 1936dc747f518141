"""The superinstruction pass (firmware/mpwasi/fuse.py): structure and coverage of the fused code.

The fused copy must keep every offset meaningful: each place a branch can land (a loop opcode, the
instruction after an `end` or `else`, the function's final `end`) and each place a call returns to
starts an instruction of the fused code, and the fused instructions cover the body exactly. This
is checked on every function of every module of the spec suite and of the bench programs. That the
fused code computes what the module's bytes compute is checked by the spec suite (`--fuse=always`
and `--fuse=never`, on both interpreters) and by the bench programs' differential runs.
"""
import glob
import os
import sys

import pytest

from conftest import REPO, require_spec_dir


import mpwasi  # noqa: E402
from mpwasi import fuse, disasm, runtime  # noqa: E402
from wasmgen import ModuleBuilder, sleb  # noqa: E402


def modules():
    paths = sorted(glob.glob(os.path.join(REPO, "bench", "programs", "*.wasm")))
    paths += sorted(glob.glob(os.path.join(require_spec_dir(), "json", "*", "*.wasm")))
    return paths


def landing_places(data, start, end):
    """Offsets in a body where execution can arrive other than by falling through."""
    places = {start, end - 1}
    pc = start
    while pc < end:
        op, imm, nxt = disasm.decode(data, pc)
        if op == 0x03:
            places.add(pc)
        elif op in (0x0B, 0x05, 0x10, 0x11) and nxt < end:
            places.add(nxt)
        pc = nxt
    return places


def fused_module(data):
    try:
        m = mpwasi.Module(data)
    except mpwasi.WasmError:
        return None
    out = list(data)
    consts = []
    for (lt, start, end) in m.decoded.codes:
        fuse.fuse_body(data, out, start, end, consts)
    return m, out, consts


def test_every_landing_place_starts_a_fused_instruction():
    checked = fused = 0
    for path in modules():
        data = open(path, "rb").read()
        r = fused_module(data)
        if r is None:
            continue
        m, out, consts = r
        assert len(consts) <= 256
        for (lt, start, end) in m.decoded.codes:
            forms = fuse.forms(out, data, start, end)
            starts = set(pc for pc, op in forms)
            missing = landing_places(data, start, end) - starts
            assert not missing, "%s: body at %d: %s not an instruction start" % (
                os.path.basename(path), start, sorted(missing))
            # the forms cover the body exactly: the last one is the final end
            assert forms[-1] == (end - 1, 0x0B), (os.path.basename(path), start, forms[-3:])
            fused += sum(1 for pc, op in forms if op >= 0xC5 and op != 0xD7 and op != 0xD3)
            checked += 1
    assert checked > 1000
    assert fused > 10000  # the pass does find its sequences


def one_function(params, results, locals_, body):
    m = ModuleBuilder()
    m.mem(1)
    t = m.type(params, results)
    m.func(t, locals_, body)
    m.export("f", 0, 0)
    return m.bytes()


def forms_of(data):
    m, out, consts = fused_module(data)
    lt, start, end = m.decoded.codes[0]
    return [op for pc, op in fuse.forms(out, data, start, end)], [out[pc] for pc in range(start, end)]


# (body, the fused opcodes it becomes); locals: 0 param i32, 1 and 2 i32 locals
SEQUENCES = [
    ([0x20, 0, 0x41] + sleb(5) + [0x6A, 0x21, 1, 0x20, 1, 0x0B], [0xD8 + 4 + 1, 0xEF, 0x0B]),
    ([0x20, 0, 0x20, 0, 0x6C, 0x22, 2, 0x0B], [0xD8 + 3, 0x0B]),
    ([0x02, 0x40, 0x20, 0, 0x41, 1, 0x4D, 0x0D, 0, 0x0B, 0x20, 0, 0x0B],
     [0xD8 + 4 + 2, 0xD7, 0xEF, 0x0B]),
    ([0x20, 0, 0x28, 2, 8, 0x0B], [0xF0, 0x0B]),
    ([0x20, 0, 0x41, 16, 0x6A, 0x28, 2, 4, 0x0B], [0xF5, 0x0B]),
    ([0x20, 0, 0x41] + sleb(100000) + [0x36, 2, 0, 0x20, 0, 0x0B], [0x20, 0xD3, 0xF4, 0xEF, 0x0B]),
    ([0x41] + sleb(-3) + [0x21, 1, 0x20, 1, 0x0B], [0xCC, 0xEF, 0x0B]),
]


@pytest.mark.parametrize("body,expected", SEQUENCES)
def test_sequences_become_their_fused_forms(body, expected):
    data = one_function(["i32"], ["i32"], [(2, "i32")], body)
    got, raw = forms_of(data)
    assert got == expected, (["%02x" % x for x in got], ["%02x" % x for x in raw])


@pytest.mark.parametrize("body,expected", SEQUENCES)
def test_fused_sequences_compute_what_the_module_bytes_compute(body, expected):
    data = one_function(["i32"], ["i32"], [(2, "i32")], body)
    saved = runtime.FUSE, runtime.HEAT
    try:
        results = []
        for fuse_on in (False, True):
            runtime.FUSE, runtime.HEAT = fuse_on, 1
            inst = mpwasi.Instance(mpwasi.Module(data))
            f = inst.exports["f"]
            got = []
            for x in (0, 1, 2, 7, 100, 65530, -1, -100):
                try:
                    got.append(f(x))
                except mpwasi.Trap as e:
                    got.append("trap: %s" % e)
            results.append(got)
            assert inst.module._fused[2] == (not fuse_on)
        assert results[0] == results[1]
        assert any(isinstance(r, int) for r in results[0])
    finally:
        runtime.FUSE, runtime.HEAT = saved


def test_a_function_is_fused_once_hot_and_its_running_frames_go_on():
    # sum of i*i for i < n in a loop, called recursively n times: the loop fuses the function while
    # it runs, with its recursive callers suspended after their calls
    body = [0x20, 0, 0x45, 0x04, 0x7F, 0x41, 0, 0x05,          # if n == 0: 0 else
            0x41, 0, 0x21, 1, 0x41, 0, 0x21, 2,                 # i = 0, acc = 0
            0x03, 0x40,                                         # loop
            0x20, 2, 0x20, 1, 0x20, 1, 0x6C, 0x6A, 0x21, 2,     #   acc += i * i
            0x20, 1, 0x41, 1, 0x6A, 0x22, 1, 0x20, 0, 0x49, 0x0D, 0,  # i += 1; br_if i < n
            0x0B,
            0x20, 2, 0x20, 0, 0x41, 1, 0x6B, 0x10, 0, 0x6A,     # acc + f(n - 1)
            0x0B, 0x0B]
    data = one_function(["i32"], ["i32"], [(2, "i32")], body)
    expect = sum(i * i for n in range(1, 61) for i in range(n)) & 0xFFFFFFFF
    saved = runtime.FUSE, runtime.HEAT, runtime.FUSE_OWN
    try:
        for fuse_on, heat, own in ((False, 40, False), (True, 40, False), (True, 1, False),
                                   (True, 500, False), (True, 40, True), (True, 1, True),
                                   (True, 500, True)):
            runtime.FUSE, runtime.HEAT, runtime.FUSE_OWN = fuse_on, heat, own
            inst = mpwasi.Instance(mpwasi.Module(data))
            assert inst.exports["f"](60) == expect, (fuse_on, heat, own)
            f = inst.funcs[0]
            if own:  # a buffer of its own, offsets less the body's start (heat 500: mid-run)
                assert inst.module._fused[0] is data and f.code is not data
                assert f.fused and f.base > 0 and f.start == 0 and f.end == len(f.code)
            elif fuse_on:
                assert inst.module._done[0] == 1  # fused (under heat 500: in the middle of the run)
            else:
                assert inst.module._fused[0] is data
    finally:
        runtime.FUSE, runtime.HEAT, runtime.FUSE_OWN = saved


def fib_module():
    # fib(n) with the recursive calls in a block (as clang writes it) and a trap at n == 100
    m = ModuleBuilder()
    t = m.type(["i32"], ["i32"])
    body = [0x20, 0, 0x41] + sleb(100) + [0x46, 0x04, 0x40, 0x00, 0x0B,   # n == 100: unreachable
            0x02, 0x40, 0x20, 0, 0x41, 1, 0x4D, 0x0D, 0,                   # block; br_if n <= 1
            0x20, 0, 0x41, 0x7F, 0x6A, 0x10, 0, 0x21, 1,                   # a = fib(n - 1)
            0x20, 0, 0x41, 0x7E, 0x6A, 0x10, 0, 0x20, 1, 0x6A, 0x21, 0,    # n = fib(n - 2) + a
            0x0B, 0x20, 0, 0x0B]
    m.func(t, [(1, "i32")], body)
    m.export("fib", 0, 0)
    return m.bytes()


def test_a_recursive_function_fused_into_its_own_buffer_under_its_running_frames():
    # fusion at a call, 20 frames of the same function deep: their return offsets are moved to
    # the new buffer's; a trap's backtrace gives the module's offsets either way
    data = fib_module()
    saved = runtime.FUSE, runtime.HEAT, runtime.FUSE_OWN
    try:
        traces = []
        for fuse_on, heat, own in ((False, 40, False), (True, 40, True), (True, 300, True),
                                   (True, 1, True), (True, 40, False)):
            runtime.FUSE, runtime.HEAT, runtime.FUSE_OWN = fuse_on, heat, own
            inst = mpwasi.Instance(mpwasi.Module(data))
            assert inst.exports["fib"](20) == 6765, (fuse_on, heat, own)
            assert inst.funcs[0].fused and (inst.funcs[0].base > 0) == own
            with pytest.raises(mpwasi.Trap) as e:
                inst.exports["fib"](100)
            traces.append(e.value.frames)
        assert all(t == traces[0] for t in traces)
    finally:
        runtime.FUSE, runtime.HEAT, runtime.FUSE_OWN = saved


def test_functions_stay_unfused_past_the_budget():
    # no room (the budget a small heap gives): the function runs the module's bytes, correctly
    data = fib_module()
    saved = runtime.FUSE, runtime.HEAT, runtime.FUSE_OWN
    try:
        runtime.FUSE, runtime.HEAT, runtime.FUSE_OWN = True, 1, True
        inst = mpwasi.Instance(mpwasi.Module(data))
        inst.module._budget = 100  # less than the function's cost
        assert inst.exports["fib"](15) == 610
        f = inst.funcs[0]
        assert f.fused and f.base == 0 and f.code is data
    finally:
        runtime.FUSE, runtime.HEAT, runtime.FUSE_OWN = saved


def test_micropython_with_a_small_heap_fuses_hot_functions_into_their_own_buffers(micropython):
    # too little heap for a copy of the module (8x its size + FUSE_HEAP): the hot functions of
    # the board kernels get buffers of their own, and compute what the module's bytes compute
    from mp.runner import run_micropython
    runs = (("fib", 20), ("sieve", 2), ("crc32", 1), ("quicksort", 300))
    saved = runtime.FUSE
    expect = {}
    try:
        runtime.FUSE = False
        for k, n in runs:
            with open(os.path.join(REPO, "bench", "programs", "board", k + ".wasm"), "rb") as f:
                expect[k] = mpwasi.Instance(mpwasi.Module(f.read())).exports["run"](n)
    finally:
        runtime.FUSE = saved
    code = ("import sys, mpwasi\n"
            "for k, n in %r:\n"
            "    m = mpwasi.Module(open('bench/programs/board/%%s.wasm' %% k, 'rb').read())\n"
            "    inst = mpwasi.Instance(m)\n"
            "    r = inst.exports['run'](n)\n"
            "    own = [f for f in inst.funcs if f.host is None and f.base]\n"
            "    print('RESULT', k, r, m.code()[0] is m.data, len(own), m._budget)\n" % (runs,))
    r = run_micropython(["-c", code], heapsize="700K", timeout=600, path=[os.path.join(REPO, "firmware")])
    got = {}
    for line in r.stdout.splitlines():
        w = line.split()
        if w and w[0] == "RESULT":
            got[w[1]] = w[2:]
    assert len(got) == len(runs), r.stdout + r.stderr
    for k, n in runs:
        value, module_bytes, n_own, budget = got[k]
        assert int(value) == expect[k], k
        assert module_bytes == "True" and int(n_own) >= 1, (k, got[k])
        assert 0 <= int(budget) < 100 * 1024


def test_rebased_side_tables_point_where_the_module_offsets_did():
    # every function of the spec and bench modules: each side-table target less the body's start
    for path in modules():
        with open(path, "rb") as f:
            data = f.read()
        try:
            m = mpwasi.Module(data)
        except mpwasi.WasmError:
            continue
        for i in range(len(m.decoded.codes)):
            lt, start, end = m.decoded.codes[i]
            side = m.decoded.side_tables[i]
            code, moved = fuse.fuse_function(data, start, end, side, [])
            assert len(code) == end - start and len(moved) == len(side)
            for j in range(0, len(side), 4):
                assert moved[j] == side[j] or moved[j] == side[j] - start, (path, i, j)
                assert moved[j + 1:j + 4] == side[j + 1:j + 4]


def test_the_debugger_runs_the_module_bytes():
    # breakpoints are patched into the module's own bytes: its functions are never fused
    from mpwasi.debugger import Debugger
    saved = runtime.HEAT
    try:
        runtime.HEAT = 1
        d = Debugger(os.path.join(REPO, "examples", "debugme.wasm"), args=["4"])
        text = d.script(["break fib", "continue", "continue", "bt"])
        assert "fib" in text
        for f in d.inst.funcs[d.nimp:]:
            assert f.code is d.module.data
        assert d.module._fused[0] is d.module.data
    finally:
        runtime.HEAT = saved


def test_fused_and_unfused_runs_agree_on_spec_modules_and_their_mutants():
    # differential: every exported function of every main-set module, and of seeded mutants of
    # them, called with zero arguments in the module's bytes and with every function fused
    import test_fuzz
    from spec import run as spec_run
    root = require_spec_dir()
    w = mpwasi

    def outcome(inst, name):
        f = inst.exports[name]
        try:
            r = f.call_bits([test_fuzz.ZERO.get(t) for t in f.type[0]])
            return ["func %d" % v.idx if isinstance(v, runtime.Function) else v for v in r]
        except w.Trap as e:
            return "trap: %s" % e
        except w.Exit as e:
            return "exit %s" % e.code
        except w.WasmError as e:
            return type(e).__name__

    def run(data, fuse_on):
        runtime.FUSE, runtime.HEAT = fuse_on, 1
        try:
            m = w.Module(data)
            limits = w.Limits(memory_bytes=1 << 20, max_call_depth=200, fuel=20000)
            inst = w.Instance(m, imports={"spectest": spec_run.make_spectest(w)}, limits=limits)
        except w.WasmError as e:
            return type(e).__name__
        return [(name, outcome(inst, name)) for name, kind in m.exports if kind == "func"]

    saved = runtime.FUSE, runtime.HEAT
    compared = 0
    try:
        files = test_fuzz.main_set_wasm_files(root)
        for i in range(len(files)):
            data = spec_run.read_bytes("%s/json/%s" % (root, files[i]))
            for k in range(int(os.environ.get("MPWASI_FUSE_MUTANTS") or 6)):
                mutant = data if k == 0 else test_fuzz.mutate(
                    data, test_fuzz.Rng(test_fuzz.mutant_seed(4242, i, k)))[0]
                plain = run(mutant, False)
                if isinstance(plain, str):
                    continue
                fused = run(mutant, True)
                assert fused == plain, (files[i], k)
                compared += len(plain)
                if k < 2:  # each function fused into a buffer of its own
                    runtime.FUSE_OWN = True
                    try:
                        assert run(mutant, True) == plain, (files[i], k, "own")
                    finally:
                        runtime.FUSE_OWN = False
    finally:
        runtime.FUSE, runtime.HEAT = saved
    assert compared > 5000
