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

sys.path.insert(0, os.path.join(REPO, "firmware"))
sys.path.insert(0, os.path.join(REPO, "tests"))

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
    for (lt, start, end) in m._m.codes:
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
        for (lt, start, end) in m._m.codes:
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
    lt, start, end = m._m.codes[0]
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
    saved = runtime.FUSE, runtime.HEAT
    try:
        for fuse_on, heat in ((False, 40), (True, 40), (True, 1), (True, 500)):
            runtime.FUSE, runtime.HEAT = fuse_on, heat
            inst = mpwasi.Instance(mpwasi.Module(data))
            assert inst.exports["f"](60) == expect, (fuse_on, heat)
            if fuse_on:
                assert inst.module._done[0] == 1  # fused (under heat 500: in the middle of the run)
            else:
                assert inst.module._fused[0] is data
    finally:
        runtime.FUSE, runtime.HEAT = saved


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
    finally:
        runtime.FUSE, runtime.HEAT = saved
    assert compared > 5000
