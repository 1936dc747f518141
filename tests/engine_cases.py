"""Engine behaviour the spec suite does not pin down: the embedding API, Limits, deep recursion,
traps with backtraces, clean errors. Runs under CPython (collected by tests/engine/test_engine.py) and
under MicroPython (`micropython tests/engine_cases.py` prints one line per case).
"""

import sys

try:
    _here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
except NameError:
    _here = "tests"
for _p in (_here, _here + "/../firmware"):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import mpwasi  # noqa: E402
from wasmgen import ModuleBuilder, sleb, uleb  # noqa: E402

# count(n) = n == 0 ? 0 : count(n - 1) + 1   (a real wasm recursion, one frame per level)
COUNT_BODY = [0x20, 0, 0x45, 0x04, 0x7F, 0x41, 0, 0x05, 0x20, 0, 0x41, 1, 0x6B, 0x10, 0, 0x41, 1,
              0x6A, 0x0B, 0x0B]
SPIN_BODY = [0x03, 0x40, 0x0C, 0, 0x0B, 0x0B]


def raises(kind, fn, *args):
    try:
        fn(*args)
    except kind as e:
        return e
    raise AssertionError("expected %s" % kind.__name__)


def counter_module():
    m = ModuleBuilder()
    t = m.type(["i32"], ["i32"])
    m.func(t, [], COUNT_BODY, "count")
    m.export("count", 0, 0)
    return mpwasi.Module(m.bytes())


def case_add_call_and_bits():
    m = ModuleBuilder()
    t = m.type(["i32", "i32"], ["i32"])
    m.func(t, [], [0x20, 0, 0x20, 1, 0x6A, 0x0B])
    m.export("add", 0, 0)
    inst = mpwasi.Instance(mpwasi.Module(m.bytes()))
    add = inst.exports["add"]
    assert add(1, 2) == 3
    assert add(-5, 2) == -3
    assert add(0x7FFFFFFF, 1) == -0x80000000
    assert add.call_bits([0xFFFFFFFF, 1]) == [0]
    assert add.type == (("i32", "i32"), ("i32",))
    raises(TypeError, add, 1)


def case_multi_value_results():
    m = ModuleBuilder()
    t = m.type(["i32", "i64"], ["i64", "i32"])
    m.func(t, [], [0x20, 1, 0x20, 0, 0x0B])
    m.export("swap", 0, 0)
    inst = mpwasi.Instance(mpwasi.Module(m.bytes()))
    assert inst.exports["swap"](7, -1) == (-1, 7)
    assert inst.exports["swap"].call_bits([7, 5]) == [5, 7]


def case_float_bits_are_exact():
    m = ModuleBuilder()
    t32 = m.type(["f32"], ["f32"])
    t64 = m.type(["f64"], ["f64"])
    m.func(t32, [], [0x20, 0, 0x0B])
    m.func(t64, [], [0x20, 0, 0x0B])
    m.func(t32, [], [0x20, 0, 0x8C, 0x0B])  # f32.neg keeps a signalling NaN's payload
    m.export("id32", 0, 0)
    m.export("id64", 0, 1)
    m.export("neg32", 0, 2)
    inst = mpwasi.Instance(mpwasi.Module(m.bytes()))
    for b in (0x7FA00001, 0xFFC00000, 0x80000000, 0x00000001):
        assert inst.exports["id32"].call_bits([b]) == [b]
    for b in (0x7FF0000000000001, 0x8000000000000000, 0xFFF8000000000123):
        assert inst.exports["id64"].call_bits([b]) == [b]
    assert inst.exports["neg32"].call_bits([0x7FA00001]) == [0xFFA00001]
    assert inst.exports["id64"](1.5) == 1.5


def case_globals_value_and_bits():
    m = ModuleBuilder()
    m.glob("i32", True, [0x41] + sleb(-7))
    m.glob("f64", False, [0x44, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F])
    m.export("g", 3, 0)
    m.export("pi", 3, 1)
    inst = mpwasi.Instance(mpwasi.Module(m.bytes()))
    g = inst.exports["g"]
    assert g.value == -7 and g.bits == 0xFFFFFFF9
    g.value = 5
    assert g.bits == 5
    assert inst.exports["pi"].value == 1.0
    assert inst.exports["pi"].bits == 0x3FF0000000000000
    assert g.type == ("i32", True)


def case_memory_export_and_grow():
    m = ModuleBuilder()
    m.mem(1, 3)
    m.data(16, b"hello")
    m.export("mem", 2, 0)
    inst = mpwasi.Instance(mpwasi.Module(m.bytes()))
    mem = inst.exports["mem"]
    assert bytes(mem.data[16:21]) == b"hello"
    assert mem.size() == 1
    assert mem.grow(1) == 1
    assert mem.size() == 2 and len(mem.data) == 2 * 65536
    assert mem.grow(5) == -1


def case_host_functions_both_conventions():
    seen = []
    m = ModuleBuilder()
    t = m.type(["i32"], ["i32"])
    m.import_func("env", "twice", t)
    m.import_func("env", "raw", t)
    m.func(t, [], [0x20, 0, 0x10, 0, 0x10, 1, 0x0B])
    m.export("f", 0, 2)
    mod = mpwasi.Module(m.bytes())
    assert mod.imports == [("env", "twice", "func"), ("env", "raw", "func")]

    def twice(x):
        seen.append(x)
        return x * 2

    imports = {"env": {"twice": mpwasi.HostFunc(["i32"], ["i32"], twice),
                       "raw": mpwasi.HostFunc(["i32"], ["i32"], lambda b: b ^ 0xFFFFFFFF, raw=True)}}
    inst = mpwasi.Instance(mod, imports)
    assert inst.exports["f"](-3) == 5  # ~(-6) == 5
    assert seen == [-3]


def case_exports_link_into_another_instance():
    a = ModuleBuilder()
    t = a.type(["i32"], ["i32"])
    a.func(t, [], [0x20, 0, 0x41, 10, 0x6A, 0x0B])
    a.export("plus10", 0, 0)
    ia = mpwasi.Instance(mpwasi.Module(a.bytes()))
    b = ModuleBuilder()
    t = b.type(["i32"], ["i32"])
    b.import_func("a", "plus10", t)
    b.func(t, [], [0x20, 0, 0x10, 0, 0x10, 0, 0x0B])
    b.export("plus20", 0, 1)
    ib = mpwasi.Instance(mpwasi.Module(b.bytes()), {"a": ia.exports})
    assert ib.exports["plus20"](1) == 21


def case_link_errors():
    b = ModuleBuilder()
    t = b.type(["i32"], ["i32"])
    b.import_func("env", "f", t)
    mod = mpwasi.Module(b.bytes())
    raises(mpwasi.LinkError, mpwasi.Instance, mod, {})
    wrong = mpwasi.HostFunc(["i64"], ["i32"], lambda x: 0)
    e = raises(mpwasi.LinkError, mpwasi.Instance, mod, {"env": {"f": wrong}})
    assert "incompatible import type" in str(e)


def case_traps_have_reasons_and_backtraces():
    m = ModuleBuilder()
    t = m.type(["i32"], ["i32"])
    m.func(t, [], [0x41, 1, 0x20, 0, 0x6D, 0x0B], "divide")
    m.func(t, [], [0x20, 0, 0x10, 0, 0x0B], "outer")
    m.export("outer", 0, 1)
    inst = mpwasi.Instance(mpwasi.Module(m.bytes()))
    e = raises(mpwasi.Trap, inst.exports["outer"], 0)
    assert str(e) == "integer divide by zero"
    names = [fr[1] for fr in e.frames]
    assert names[:2] == ["divide", "outer"], names
    assert inst.exports["outer"](1) == 1  # still usable after a trap


def case_recursion_10000_deep_without_python_recursion():
    inst = mpwasi.Instance(counter_module())
    assert inst.exports["count"](10000) == 10000


def case_call_depth_limit_traps():
    inst = mpwasi.Instance(counter_module(), None, mpwasi.Limits(max_call_depth=50))
    assert inst.exports["count"](40) == 40
    e = raises(mpwasi.Trap, inst.exports["count"], 1000)
    assert str(e) == "call stack exhausted"
    assert inst.exports["count"](40) == 40


def case_fuel_stops_a_runaway_loop():
    m = ModuleBuilder()
    t = m.type([], [])
    m.func(t, [], SPIN_BODY)
    m.export("spin", 0, 0)
    inst = mpwasi.Instance(mpwasi.Module(m.bytes()), None, mpwasi.Limits(fuel=5000))
    e = raises(mpwasi.Trap, inst.exports["spin"])
    assert str(e) == "fuel exhausted"
    # fuel counts recursion too
    inst2 = mpwasi.Instance(counter_module(), None, mpwasi.Limits(fuel=100))
    assert inst2.exports["count"](50) == 50
    raises(mpwasi.Trap, inst2.exports["count"], 500)


def case_memory_cap_below_declared_size():
    m = ModuleBuilder()
    m.mem(1)
    t = m.type(["i32"], ["i32"])
    # store(addr) = i32.store addr 1; return memory.grow(1)
    m.func(t, [], [0x20, 0, 0x41, 1, 0x36, 2, 0, 0x41, 1, 0x40, 0, 0x0B])
    m.func(m.type([], ["i32"]), [], [0x3F, 0, 0x0B])
    m.export("store_grow", 0, 0)
    m.export("size", 0, 1)
    inst = mpwasi.Instance(mpwasi.Module(m.bytes()), None, mpwasi.Limits(memory_bytes=16384))
    assert len(inst.exports["store_grow"].inst.memory.data) == 16384
    assert inst.exports["store_grow"](16380) == -1  # fits; growing past the cap fails
    e = raises(mpwasi.Trap, inst.exports["store_grow"], 16384)
    assert str(e) == "out of bounds memory access"
    assert inst.exports["size"]() == 1


def case_malformed_and_invalid_are_clean_errors():
    raises(mpwasi.DecodeError, mpwasi.Module, b"")
    raises(mpwasi.DecodeError, mpwasi.Module, b"\x00asm\x02\x00\x00\x00")
    good = counter_module().data
    for n in range(8, len(good)):
        try:
            mpwasi.Module(good[:n])
        except (mpwasi.DecodeError, mpwasi.ValidationError):
            pass
    m = ModuleBuilder()
    t = m.type([], ["i32"])
    m.func(t, [], [0x42, 0, 0x0B])  # returns an i64 where an i32 is declared
    e = raises(mpwasi.ValidationError, mpwasi.Module, m.bytes())
    assert str(e) == "type mismatch"


def case_exit_and_host_errors():
    m = ModuleBuilder()
    t = m.type([], [])
    m.import_func("env", "f", t)
    m.func(t, [], [0x10, 0, 0x0B])
    m.export("go", 0, 1)
    mod = mpwasi.Module(m.bytes())

    def leave():
        raise mpwasi.Exit(3)

    inst = mpwasi.Instance(mod, {"env": {"f": mpwasi.HostFunc([], [], leave)}})
    e = raises(mpwasi.Exit, inst.exports["go"])
    assert e.code == 3

    def broken():
        return [][1]

    inst = mpwasi.Instance(mod, {"env": {"f": mpwasi.HostFunc([], [], broken)}})
    e = raises(mpwasi.Trap, inst.exports["go"])
    assert "IndexError" in str(e)


def case_br_table_with_deep_labels_and_many_cases():
    # 130 nested blocks; labels 129 take two LEB bytes (the interpreter's slow label path), and a
    # 3,000-case table must cost the side table a few entries, not one per case
    body = [0x02, 0x40] * 130 + [0x20, 0, 0x0E, 2, 0x00, 0x81, 0x01, 0x01]
    body += [0x0B, 0x41, 10, 0x0F, 0x0B, 0x41, 11, 0x0F] + [0x0B] * 128 + [0x41, 12, 0x0B]
    many = [0x02, 0x40, 0x02, 0x40, 0x20, 0, 0x0E] + uleb(3000) + [0, 1] * 1500 + [1]
    many += [0x0B, 0x41, 20, 0x0F, 0x0B, 0x41, 21, 0x0B]
    m = ModuleBuilder()
    t = m.type(["i32"], ["i32"])
    m.func(t, [], body)
    m.func(t, [], many)
    m.export("deep", 0, 0)
    m.export("many", 0, 1)
    inst = mpwasi.Instance(mpwasi.Module(m.bytes()))
    deep = inst.exports["deep"]
    assert [deep(0), deep(1), deep(5), deep(-1)] == [10, 12, 11, 11]
    many = inst.exports["many"]
    assert [many(0), many(1), many(2999), many(3000), many(77777)] == [20, 21, 21, 21, 21]
    assert len(many.side) < 64, len(many.side)


def all_cases():
    g = globals()
    return [(k, g[k]) for k in sorted(g) if k.startswith("case_")]


def memory_patterns_module():
    m = ModuleBuilder()
    m.mem(1)
    t2 = m.type(["i32", "i32"], ["i32"])
    t0 = m.type([], ["i32"])
    # copy(a, b): store at a the word at b plus 1 (the value holds a load); return the word at a
    m.func(t2, [], [0x20, 0, 0x20, 1, 0x28, 2, 0, 0x41, 1, 0x6A, 0x36, 2, 0,
                    0x20, 0, 0x28, 2, 0, 0x0B])
    # grow(): memory.grow 1 (a call that moves the memory's bytes)
    m.func(t0, [], [0x41, 1, 0x40, 0, 0x0B])
    # after_grow(a): store 7 at a, call grow, store 9 past the old end and at a + 4, read them
    m.func(t2, [], [0x20, 0, 0x41, 7, 0x36, 2, 0, 0x10, 1, 0x1A,
                    0x41] + sleb(65536 + 8) + [0x41, 9, 0x36, 2, 0,
                    0x20, 0, 0x41, 9, 0x36, 2, 4,
                    0x41] + sleb(65536 + 8) + [0x28, 2, 0, 0x20, 0, 0x28, 2, 0, 0x6A,
                    0x20, 0, 0x28, 2, 4, 0x6A, 0x20, 1, 0x6A, 0x0B])
    m.export("copy", 0, 0)
    m.export("after_grow", 0, 2)
    return m.bytes()


def case_memory_access_is_the_same_on_every_tier():
    # aligned and unaligned words, a value holding a load, the memory moving under a caller
    data = memory_patterns_module()
    from mpwasi import runtime
    tiers = ["interp"] + (["fast"] if hasattr(mpwasi, "set_tier") else [])
    saved = runtime.FUSE, runtime.HEAT
    seen = []
    try:
        for tier in tiers:
            for fuse, heat in ((False, 40), (True, 1)):
                if hasattr(mpwasi, "set_tier"):
                    mpwasi.set_tier(tier)
                runtime.FUSE, runtime.HEAT = fuse, heat
                inst = mpwasi.Instance(mpwasi.Module(data))
                mem = inst.exports["copy"].inst.memory.data
                for i in range(64):
                    mem[i] = (i * 37 + 11) & 0xFF
                r = [inst.exports["copy"](a, b) for (a, b) in ((0, 4), (8, 13), (17, 22), (24, 24))]
                r.append(raises(mpwasi.Trap, inst.exports["copy"], 65534, 0).args[0])
                r.append(inst.exports["after_grow"](40, 5))
                r.append(len(mem))
                seen.append(r)
    finally:
        runtime.FUSE, runtime.HEAT = saved
        if hasattr(mpwasi, "set_tier"):
            mpwasi.set_tier("interp" if sys.implementation.name == "micropython" else "auto")
    assert seen[0][-1] == 131072 and seen[0][-2] == 7 + 9 + 9 + 5, seen[0]
    for r in seen[1:]:
        assert r == seen[0], (r, seen[0])


def paged_module():
    """2 pages (max 4) with a data segment; loads, stores, size, grow, fill and copy exported."""
    m = ModuleBuilder()
    m.mem(2, 4)
    ti = m.type(["i32"], ["i32"])
    tl = m.type(["i32"], ["i64"])
    tii = m.type(["i32", "i32"], [])
    til = m.type(["i32", "i64"], [])
    t3 = m.type(["i32", "i32", "i32"], [])
    t0 = m.type([], ["i32"])
    m.func(ti, [], [0x20, 0, 0x28, 0, 0, 0x0B])                 # 0 load32 (unaligned hint)
    m.func(tl, [], [0x20, 0, 0x29, 0, 0, 0x0B])                 # 1 load64
    m.func(ti, [], [0x20, 0, 0x2D, 0, 0, 0x0B])                 # 2 load8u
    m.func(ti, [], [0x20, 0, 0x2E, 0, 0, 0x0B])                 # 3 load16s
    m.func(tii, [], [0x20, 0, 0x20, 1, 0x36, 0, 0, 0x0B])       # 4 store32
    m.func(til, [], [0x20, 0, 0x20, 1, 0x37, 0, 0, 0x0B])       # 5 store64
    m.func(tii, [], [0x20, 0, 0x20, 1, 0x3A, 0, 0, 0x0B])       # 6 store8
    m.func(t0, [], [0x3F, 0, 0x0B])                             # 7 size
    m.func(ti, [], [0x20, 0, 0x40, 0, 0x0B])                    # 8 grow
    m.func(t3, [], [0x20, 0, 0x20, 1, 0x20, 2, 0xFC, 11, 0, 0x0B])     # 9 fill
    m.func(t3, [], [0x20, 0, 0x20, 1, 0x20, 2, 0xFC, 10, 0, 0, 0x0B])  # 10 copy
    # 11 sum(a, n): the i32 words [a, a + 4n) added in a loop (hot: fused, compiled)
    m.func(m.type(["i32", "i32"], ["i32"]), [(1, "i32")],
           [0x02, 0x40, 0x03, 0x40, 0x20, 1, 0x45, 0x0D, 1, 0x20, 2, 0x20, 0, 0x28, 2, 0, 0x6A, 0x21, 2,
            0x20, 0, 0x41, 4, 0x6A, 0x21, 0, 0x20, 1, 0x41, 1, 0x6B, 0x21, 1, 0x0C, 0, 0x0B, 0x0B,
            0x20, 2, 0x0B])
    for i, nm in enumerate(("load32", "load64", "load8u", "load16s", "store32", "store64", "store8",
                            "size", "grow", "fill", "copy", "sum")):
        m.export(nm, 0, i)
    m.export("memory", 2, 0)
    m.data(4090, b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a")
    return m.bytes()


def _paged_script(e):
    oob = "out of bounds memory access"
    r = [e["load32"](4090), e["load64"](4092), e["load8u"](4099), e["load32"](100000)]
    e["store32"](4094, 0x11223344)          # across a 4 KiB page
    e["store64"](65532, -2)                 # across a 64 KiB page
    e["store8"](70000, 0x1FF)
    r += [e["load32"](4094), e["load16s"](4095), e["load64"](65532), e["load8u"](70000)]
    r.append(raises(mpwasi.Trap, e["load32"], 131069).args[0] == oob)
    r.append(raises(mpwasi.Trap, e["store64"], 131066, 1).args[0] == oob)
    r.append(e["load32"](131068))
    e["fill"](8000, 0xAB, 10000)
    e["copy"](8100, 4090, 20)               # into the filled range
    e["copy"](4092, 4090, 8)                # overlapping, forwards
    r += [e["load8u"](8000), e["load8u"](17999), e["load8u"](18000), e["load32"](8100),
          e["load64"](4092)]
    r.append(raises(mpwasi.Trap, e["fill"], 131000, 0, 537).args[0] == oob)
    r.append(raises(mpwasi.Trap, e["copy"], 0, 131000, 537).args[0] == oob)
    e["fill"](0, 0, 0)
    r += [e["size"](), e["grow"](1), e["size"](), e["load32"](3 * 65536 - 4)]
    e["store32"](3 * 65536 - 4, 77)
    r += [e["load32"](3 * 65536 - 4), e["grow"](2), e["grow"](0), e["size"]()]
    for i in range(100):
        e["store32"](20000 + 4 * i, i * 3)
    r.append(e["sum"](20000, 100))
    mem = e["memory"]
    mem.write(4000, b"xyz")
    r.append(mem.read(3999, 5))
    return r


def case_paged_memory_behaves_as_the_dense_one():
    # every access form on both memories, interpreted, fused and (CPython) compiled
    data = paged_module()
    from mpwasi import runtime
    saved = runtime.FUSE, runtime.HEAT
    tiers = ["interp"] + (["fast"] if hasattr(mpwasi, "set_tier") else [])
    seen = []
    try:
        for tier in tiers:
            for fuse, heat in ((False, 40), (True, 1)):
                if hasattr(mpwasi, "set_tier"):
                    mpwasi.set_tier(tier)
                runtime.FUSE, runtime.HEAT = fuse, heat
                for paged in (False, True):
                    inst = mpwasi.Instance(mpwasi.Module(data), limits=mpwasi.Limits(paged=paged))
                    assert inst.memory.paged == paged
                    seen.append(_paged_script(inst.exports))
    finally:
        runtime.FUSE, runtime.HEAT = saved
        if hasattr(mpwasi, "set_tier"):
            mpwasi.set_tier("interp" if sys.implementation.name == "micropython" else "auto")
    assert seen[0][:3] == [0x04030201, 0x0A09080706050403, 0x0A] and seen[0][3] == 0, seen[0]
    for r in seen[1:]:
        assert r == seen[0], (r, seen[0])


def case_paged_memory_holds_only_the_pages_written():
    data = paged_module()
    inst = mpwasi.Instance(mpwasi.Module(data), limits=mpwasi.Limits(paged=True))
    mem = inst.memory
    from mpwasi import paged
    assert mem.paged and len(mem.data) == 131072
    held = mem.data.touched
    assert held() == 2 * paged.SIZE  # the data segment spans two pages
    # (the pages reserved ahead are held too: resident counts them)
    assert mem.resident() == held() + len(mem.data.spare) * paged.SIZE
    e = inst.exports
    assert e["load32"](120000) == 0 and held() == 2 * paged.SIZE  # reads allocate nothing
    e["fill"](40000, 0, 30000)  # zeros into untouched pages
    assert held() == 2 * paged.SIZE
    e["store8"](131071, 1)
    assert held() == 3 * paged.SIZE
    assert e["grow"](1) == 2 and len(mem.data) == 3 * 65536 and held() == 3 * paged.SIZE
    # a cap below the declared size: past it traps, growing past it fails
    capped = mpwasi.Instance(mpwasi.Module(data), limits=mpwasi.Limits(memory_bytes=70000, paged=True))
    assert len(capped.memory.data) == 70000
    assert raises(mpwasi.Trap, capped.exports["load8u"], 70000).args[0] == "out of bounds memory access"
    assert capped.exports["load8u"](69999) == 0 and capped.exports["grow"](1) == -1


def main():
    failed = 0
    for name, fn in all_cases():
        try:
            fn()
            print("case %s ok" % name)
        except Exception as e:
            failed += 1
            print("case %s FAIL %s: %s" % (name, type(e).__name__, e))
    print("engine cases: %d failed" % failed)
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
