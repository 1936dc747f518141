"""mpwasi.softfloat: exact IEEE 754 f32/f64 on integers, checked against the host's hardware doubles.

The randomized differential checks live in tests/mp/softfloat_check.py so that the same code also runs
under the MicroPython unix port (test_micropython_differential_check). Here they run with 100,000+
seeded operand pairs per f64 binary operation; the fixed cases pin down the corners of the spec.
"""

import math
import random
import struct

import pytest

from mpwasi import softfloat as sf
from mp import softfloat_check as chk
from mp.runner import run_micropython

SEED = 20240611


def d(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def f(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def dv(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def trap_class():
    try:
        from mpwasi.errors import Trap
    except ImportError:
        from mpwasi.runtime import Trap
    return Trap


def assert_clean(rep, names, at_least):
    assert rep.lines() == []
    for name in names:
        assert rep.counts.get(name, 0) >= at_least, (name, rep.counts.get(name))


# ---- randomized differential checks (CPython, host doubles) ----

def test_f64_binary_ops_match_hardware_on_100k_pairs_each():
    rep = chk.Report()
    chk.check_binary(chk.F64, chk.BINARY_NAMES, 100000, SEED, rep)
    assert_clean(rep, ["f64_" + n for n in chk.BINARY_NAMES], 100000)


def test_f32_binary_ops_match_hardware_rounded_from_double():
    rep = chk.Report()
    chk.check_binary(chk.F32, chk.BINARY_NAMES, 50000, SEED + 1, rep)
    assert_clean(rep, ["f32_" + n for n in chk.BINARY_NAMES], 50000)


@pytest.mark.parametrize("fmt", [chk.F64, chk.F32], ids=["f64", "f32"])
def test_unary_ops_sqrt_rounding_neg_abs_match_hardware(fmt):
    rep = chk.Report()
    chk.check_unary(fmt, chk.UNARY_NAMES, 25000, SEED + 2, rep)
    chk.check_copysign(fmt, 20000, SEED + 3, rep)
    assert_clean(rep, [fmt.name + "_" + n for n in chk.UNARY_NAMES + ("copysign",)], 20000)


def test_promote_and_demote_match_hardware():
    rep = chk.Report()
    chk.check_promote_demote(30000, SEED + 4, rep)
    assert_clean(rep, ["f64_promote_f32", "f32_demote_f64"], 30000)


def test_integer_to_float_conversions_are_correctly_rounded():
    rep = chk.Report()
    chk.check_int_to_float(20000, SEED + 5, rep)
    names = ["%s_convert_i%d_%s" % (fm, w, s) for fm in ("f32", "f64") for w in (32, 64) for s in "su"]
    assert_clean(rep, names, 5000)


def test_truncations_trap_and_saturate_like_the_spec():
    rep = chk.Report()
    chk.check_truncations(3000, SEED + 6, rep)
    names = ["i%d_trunc_%s%s_%s" % (w, sat, fm, s) for w in (32, 64) for sat in ("", "sat_")
             for fm in ("f32", "f64") for s in "su"]
    assert_clean(rep, names, 3000)


def test_micropython_differential_check(micropython):
    r = run_micropython(["tests/mp/softfloat_check.py", "1500", str(SEED)], heapsize=None, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert r.stdout.strip().endswith("OK")
    assert "66 operations" in r.stdout


# ---- fixed corner cases ----

CANON64 = 0x7FF8000000000000
CANON32 = 0x7FC00000
NEG0 = 0x8000000000000000
INF64 = 0x7FF0000000000000


def test_signed_zero_rules_of_add_sub_mul():
    assert sf.f64_add(NEG0, NEG0) == NEG0
    assert sf.f64_add(NEG0, 0) == 0
    assert sf.f64_sub(NEG0, 0) == NEG0
    assert sf.f64_sub(d(1.5), d(1.5)) == 0
    assert sf.f64_sub(d(-1.5), d(-1.5)) == 0
    assert sf.f64_add(d(-1e-310), d(1e-310)) == 0
    assert sf.f64_mul(NEG0, d(3.0)) == NEG0
    assert sf.f32_add(0x80000000, 0x80000000) == 0x80000000
    assert sf.f32_sub(f(2.0), f(2.0)) == 0


def test_nan_made_from_numbers_is_the_positive_canonical_nan():
    assert sf.f64_sub(INF64, INF64) == CANON64
    assert sf.f64_add(INF64, INF64 | NEG0) == CANON64
    assert sf.f64_mul(0, INF64 | NEG0) == CANON64
    assert sf.f64_div(NEG0, 0) == CANON64
    assert sf.f64_div(INF64, INF64 | NEG0) == CANON64
    assert sf.f64_sqrt(d(-1.0)) == CANON64
    assert sf.f64_sqrt(INF64 | NEG0) == CANON64
    assert sf.f32_div(0, 0) == CANON32
    assert sf.f32_sqrt(f(-4.0)) == CANON32


def test_nan_operand_propagates_first_payload_made_quiet():
    snan = 0x7FF0000000000123
    other = 0xFFF8000000000456
    assert sf.f64_add(snan, other) == snan | (1 << 51)
    assert sf.f64_add(d(1.0), other) == other
    assert sf.f64_sub(d(1.0), snan | NEG0) == snan | NEG0 | (1 << 51)   # operand's sign kept, not flipped
    assert sf.f64_mul(other, snan) == other
    assert sf.f64_min(d(1.0), snan) == snan | (1 << 51)
    assert sf.f64_sqrt(snan) == snan | (1 << 51)
    assert sf.f64_nearest(snan) == snan | (1 << 51)
    assert sf.f32_div(0x7F800001, f(2.0)) == 0x7FC00001


def test_neg_abs_copysign_touch_only_the_sign_even_of_signalling_nans():
    snan = 0x7FF0000000000001
    assert sf.f64_neg(snan) == snan | NEG0
    assert sf.f64_abs(snan | NEG0) == snan
    assert sf.f64_copysign(snan, NEG0) == snan | NEG0
    assert sf.f32_neg(0x7F800001) == 0xFF800001
    assert sf.f32_copysign(0xFF800001, 0) == 0x7F800001


def test_min_max_order_zeros_and_return_nan():
    assert sf.f64_min(0, NEG0) == NEG0
    assert sf.f64_min(NEG0, 0) == NEG0
    assert sf.f64_max(NEG0, 0) == 0
    assert sf.f64_max(0, NEG0) == 0
    assert sf.f64_max(d(1.0), CANON64) == CANON64
    assert sf.f64_min(INF64 | NEG0, d(-1e308)) == INF64 | NEG0
    assert sf.f32_min(0x80000000, 0) == 0x80000000


def test_comparisons_are_unordered_with_nan():
    for op, want in (("eq", 0), ("ne", 1), ("lt", 0), ("gt", 0), ("le", 0), ("ge", 0)):
        assert getattr(sf, "f64_" + op)(CANON64, CANON64) == want
        assert getattr(sf, "f32_" + op)(f(1.0), CANON32) == want
    assert sf.f64_eq(0, NEG0) == 1
    assert sf.f64_lt(NEG0, 0) == 0
    assert sf.f64_le(NEG0, 0) == 1


@pytest.mark.parametrize("op,x,want", [
    ("ceil", -0.5, -0.0), ("ceil", 0.2, 1.0), ("ceil", -0.0, -0.0), ("floor", 0.5, 0.0),
    ("floor", -0.2, -1.0), ("trunc", -0.7, -0.0), ("nearest", 0.5, 0.0), ("nearest", -0.5, -0.0),
    ("nearest", 1.5, 2.0), ("nearest", 2.5, 2.0), ("nearest", -3.5, -4.0), ("nearest", 0.75, 1.0),
    ("nearest", 4503599627370495.5, 4503599627370496.0), ("floor", -4503599627370495.5, -4503599627370496.0),
    ("ceil", 9007199254740993.0, 9007199254740992.0),
])
def test_rounding_to_integral_keeps_the_sign_of_zero(op, x, want):
    got = dv(getattr(sf, "f64_" + op)(d(x)))
    assert got == want and math.copysign(1, got) == math.copysign(1, want)


def test_rounding_edges_of_addition():
    big = d(2.0 ** 53)
    assert sf.f64_add(big, d(1.0)) == big                       # tie -> even
    assert sf.f64_add(big, d(3.0)) == d(2.0 ** 53 + 4)          # tie -> even (up)
    assert sf.f64_add(big, d(1.0000000000000002)) == d(2.0 ** 53 + 2)
    assert sf.f64_add(0x7FEFFFFFFFFFFFFF, d(2.0 ** 970)) == INF64      # overflow at half an ulp
    assert sf.f64_add(0x7FEFFFFFFFFFFFFF, d(2.0 ** 969)) == 0x7FEFFFFFFFFFFFFF
    assert sf.f64_add(1, 1) == 2                                # subnormals add exactly
    assert sf.f64_sub(0x0010000000000000, 1) == 0x000FFFFFFFFFFFFF


def test_underflow_rounds_to_subnormals_and_zero():
    tiny = 1   # 2**-1074
    assert sf.f64_mul(tiny, d(0.5)) == 0                        # exactly half the smallest: tie -> 0
    assert sf.f64_mul(tiny, d(0.5000000000000001)) == tiny
    assert sf.f64_mul(tiny, d(1.5)) == 2                        # tie -> even
    assert sf.f64_div(tiny, d(-2.0)) == NEG0
    assert sf.f64_mul(0x0010000000000000, d(0.5)) == 0x0008000000000000
    assert sf.f32_mul(1, f(0.75)) == 1


def test_i64_to_f32_rounds_once_not_through_f64():
    n = 2 ** 60 + 2 ** 36 + 1     # through f64 it becomes a tie and rounds down; directly it rounds up
    assert sf.f32_convert_i64_u(n) == f(2.0 ** 60 + 2.0 ** 37)
    assert sf.f32_convert_i64_s((-n) & (2 ** 64 - 1)) == f(-(2.0 ** 60 + 2.0 ** 37))
    assert sf.f32_convert_i64_u(2 ** 64 - 1) == f(2.0 ** 64)
    assert sf.f64_convert_i64_s(2 ** 63) == d(-(2.0 ** 63))
    assert sf.f64_convert_i32_s(0xFFFFFFFF) == d(-1.0)
    assert sf.f64_convert_i32_u(0xFFFFFFFF) == d(4294967295.0)
    assert sf.f32_convert_i32_u(0) == 0


def test_promote_demote_nans_and_rounding():
    assert sf.f64_promote_f32(CANON32) == CANON64
    assert sf.f32_demote_f64(CANON64) == CANON32
    assert sf.f32_demote_f64(0xFFF0000000000001) == 0xFFC00000          # payload below f32: still NaN
    assert sf.f64_promote_f32(0x7F800001) == 0x7FF8000020000000         # signalling becomes quiet
    assert sf.f32_demote_f64(d(3.4028235677973366e38)) == 0x7F800000    # max f32 + half ulp: inf
    assert sf.f32_demote_f64(d(1.401298464324817e-45 / 2)) == 0         # half the smallest: tie -> 0
    assert sf.f32_demote_f64(d(-1e-300)) == 0x80000000
    assert sf.f64_promote_f32(1) == d(2.0 ** -149)


@pytest.mark.parametrize("name,x,want", [
    ("i32_trunc_f64_s", -2147483648.9, 0x80000000), ("i32_trunc_f64_s", 2147483647.9, 0x7FFFFFFF),
    ("i32_trunc_f64_s", 2147483648.0, "integer overflow"), ("i32_trunc_f64_s", -2147483649.0, "integer overflow"),
    ("i32_trunc_f64_u", -0.9, 0), ("i32_trunc_f64_u", -1.0, "integer overflow"),
    ("i32_trunc_f64_u", 4294967295.9, 0xFFFFFFFF), ("i32_trunc_f64_u", 4294967296.0, "integer overflow"),
    ("i64_trunc_f64_s", -9223372036854775808.0, 1 << 63), ("i64_trunc_f64_s", 9223372036854775808.0, "integer overflow"),
    ("i64_trunc_f64_u", 18446744073709549568.0, 0xFFFFFFFFFFFFF800),
    ("i64_trunc_f64_u", 18446744073709551616.0, "integer overflow"),
    ("i32_trunc_f64_s", float("nan"), "invalid conversion to integer"),
    ("i64_trunc_f64_u", float("-inf"), "integer overflow"),
])
def test_trapping_truncation_boundaries(name, x, want):
    fn = getattr(sf, name)
    if isinstance(want, str):
        with pytest.raises(trap_class()) as e:
            fn(d(x))
        assert str(e.value) == want
    else:
        assert fn(d(x)) == want


def test_f32_truncation_boundaries():
    assert sf.i32_trunc_f32_s(f(-2147483648.0)) == 0x80000000
    with pytest.raises(trap_class()):
        sf.i32_trunc_f32_s(f(2147483648.0))
    assert sf.i32_trunc_f32_u(f(4294967040.0)) == 4294967040
    with pytest.raises(trap_class()):
        sf.i32_trunc_f32_u(f(4294967296.0))
    with pytest.raises(trap_class()):
        sf.i64_trunc_f32_u(0x7FC00000)


@pytest.mark.parametrize("name,x,want", [
    ("i32_trunc_sat_f64_s", float("nan"), 0), ("i32_trunc_sat_f64_s", 1e10, 0x7FFFFFFF),
    ("i32_trunc_sat_f64_s", -1e10, 0x80000000), ("i32_trunc_sat_f64_u", -5.5, 0),
    ("i32_trunc_sat_f64_u", float("inf"), 0xFFFFFFFF), ("i64_trunc_sat_f64_s", float("-inf"), 1 << 63),
    ("i64_trunc_sat_f64_u", 1e300, 2 ** 64 - 1), ("i64_trunc_sat_f64_s", -7.9, 2 ** 64 - 7),
])
def test_saturating_truncations_clamp(name, x, want):
    assert getattr(sf, name)(d(x)) == want


def test_portable_helpers_used_on_micropython_agree_with_cpython():
    rng = random.Random(SEED)
    for _ in range(3000):
        n = rng.getrandbits(rng.randint(1, 240)) | 1
        n >>= max(0, n.bit_length() - 119)
        assert sf._bitlen_table(n) == n.bit_length()
        assert sf._isqrt_newton(n) == math.isqrt(n)
    for k in range(0, 119):
        for n in (1 << k, (1 << k) - 1, (1 << k) + 1):
            if 0 < n < 1 << 119:
                assert sf._bitlen_table(n) == n.bit_length()
                assert sf._isqrt_newton(n) == math.isqrt(n)


def test_isqrt_with_a_single_precision_first_guess_as_on_a_board(monkeypatch):
    def f32_sqrt(x):   # what a board's float sqrt gives: input and result rounded to binary32
        x32 = struct.unpack("<f", struct.pack("<f", x))[0]
        return struct.unpack("<f", struct.pack("<f", math.sqrt(x32)))[0]
    monkeypatch.setattr(sf, "_fsqrt", f32_sqrt)
    monkeypatch.setattr(sf, "_FLOAT_BITS", 24)
    rng = random.Random(SEED + 7)
    for _ in range(3000):
        n = rng.getrandbits(rng.randint(1, 118)) | 1
        assert sf._isqrt_newton(n) == math.isqrt(n)
    for k in range(1, 119):
        assert sf._isqrt_newton((1 << k) - 1) == math.isqrt((1 << k) - 1)


def test_isqrt_is_exact_even_from_a_poor_first_guess(monkeypatch):
    monkeypatch.setattr(sf, "_fsqrt", lambda x: math.sqrt(x) * 1.01)   # 1% high: more steps, same root
    monkeypatch.setattr(sf, "_FLOAT_BITS", 24)
    rng = random.Random(SEED + 8)
    for _ in range(2000):
        n = rng.getrandbits(rng.randint(1, 118)) | 1
        assert sf._isqrt_newton(n) == math.isqrt(n)


def test_every_contract_name_exists():
    names = []
    for p in ("f32_", "f64_"):
        names += [p + n for n in ("add sub mul div min max copysign sqrt ceil floor trunc nearest neg abs "
                                  "eq ne lt gt le ge").split()]
    names += ["f32_demote_f64", "f64_promote_f32"]
    names += ["%s_convert_i%d_%s" % (fm, w, s) for fm in ("f32", "f64") for w in (32, 64) for s in "su"]
    names += ["i%d_trunc_%s%s_%s" % (w, sat, fm, s) for w in (32, 64) for sat in ("", "sat_")
              for fm in ("f32", "f64") for s in "su"]
    missing = [n for n in names if not callable(getattr(sf, n, None))]
    assert missing == []
