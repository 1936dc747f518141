"""The names of the wasm 2.0 opcodes (the debugger's; their immediates' shapes are opcodes.py).

    name(op)    "i32.add", "memory.fill" (op 0xFC00 | sub for the 0xFC-prefixed ones)

Kept as compact strings, split into a table on first use; loaded only by disasm.py.
"""

_I = "eqz eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u"
_FC = "eq ne lt gt le ge"
_IA = "clz ctz popcnt add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr"
_FA = "abs neg ceil floor trunc nearest sqrt add sub mul div min max copysign"
_CONV = ("i32.wrap_i64 i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u "
         "i64.extend_i32_s i64.extend_i32_u i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s "
         "i64.trunc_f64_u f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s f32.convert_i64_u "
         "f32.demote_f64 f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u "
         "f64.promote_f32 i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32 "
         "f64.reinterpret_i64 i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s "
         "i64.extend32_s")
_MEM = ("i32.load i64.load f32.load f64.load i32.load8_s i32.load8_u i32.load16_s i32.load16_u "
        "i64.load8_s i64.load8_u i64.load16_s i64.load16_u i64.load32_s i64.load32_u i32.store "
        "i64.store f32.store f64.store i32.store8 i32.store16 i64.store8 i64.store16 i64.store32")
_SAT = "i32.trunc_sat_f32_s i32.trunc_sat_f32_u i32.trunc_sat_f64_s i32.trunc_sat_f64_u " \
       "i64.trunc_sat_f32_s i64.trunc_sat_f32_u i64.trunc_sat_f64_s i64.trunc_sat_f64_u"
_BULK = "memory.init data.drop memory.copy memory.fill table.init elem.drop table.copy " \
        "table.grow table.size table.fill"
# the others, as (opcode, name) pairs in one string
_OTHER = ("00 unreachable 01 nop 02 block 03 loop 04 if 05 else 0B end 0C br 0D br_if 0E br_table "
          "0F return 10 call 11 call_indirect 1A drop 1B select 1C select 20 local.get "
          "21 local.set 22 local.tee 23 global.get 24 global.set 25 table.get 26 table.set "
          "3F memory.size 40 memory.grow 41 i32.const 42 i64.const 43 f32.const 44 f64.const "
          "D0 ref.null D1 ref.is_null D2 ref.func FF <breakpoint>")

_names = None


def _table():
    """opcode -> name, built on first use."""
    global _names
    if _names is None:
        t = {}
        w = _OTHER.split()
        for i in range(0, len(w), 2):
            t[int(w[i], 16)] = w[i + 1]
        ops = []
        for ty, words in (("i32", _I), ("i64", _I), ("f32", _FC), ("f64", _FC),
                          ("i32", _IA), ("i64", _IA), ("f32", _FA), ("f64", _FA)):
            for x in words.split():
                ops.append(ty + "." + x)
        ops.extend(_CONV.split())
        for i in range(len(ops)):
            t[0x45 + i] = ops[i]
        mem = _MEM.split()
        for i in range(len(mem)):
            t[0x28 + i] = mem[i]
        fc = (_SAT + " " + _BULK).split()
        for i in range(len(fc)):
            t[0xFC00 | i] = fc[i]
        _names = t
    return _names


def name(op):
    """The name of opcode op (0xFC00 | sub for the 0xFC-prefixed ones)."""
    n = _table().get(op)
    return n if n is not None else "<illegal 0x%x>" % op
