"""The float opcodes of the numeric instructions: opcode -> the name of the function that computes
it in nativefloat and softfloat (which both define every name). Loaded with the float code.
"""

# opcode -> name of the float function (unary or binary)
NAMES = {
    0x5B: "f32_eq", 0x5C: "f32_ne", 0x5D: "f32_lt", 0x5E: "f32_gt", 0x5F: "f32_le", 0x60: "f32_ge",
    0x61: "f64_eq", 0x62: "f64_ne", 0x63: "f64_lt", 0x64: "f64_gt", 0x65: "f64_le", 0x66: "f64_ge",
    0x8B: "f32_abs", 0x8C: "f32_neg", 0x8D: "f32_ceil", 0x8E: "f32_floor", 0x8F: "f32_trunc",
    0x90: "f32_nearest", 0x91: "f32_sqrt", 0x92: "f32_add", 0x93: "f32_sub", 0x94: "f32_mul",
    0x95: "f32_div", 0x96: "f32_min", 0x97: "f32_max", 0x98: "f32_copysign",
    0x99: "f64_abs", 0x9A: "f64_neg", 0x9B: "f64_ceil", 0x9C: "f64_floor", 0x9D: "f64_trunc",
    0x9E: "f64_nearest", 0x9F: "f64_sqrt", 0xA0: "f64_add", 0xA1: "f64_sub", 0xA2: "f64_mul",
    0xA3: "f64_div", 0xA4: "f64_min", 0xA5: "f64_max", 0xA6: "f64_copysign",
    0xA8: "i32_trunc_f32_s", 0xA9: "i32_trunc_f32_u", 0xAA: "i32_trunc_f64_s",
    0xAB: "i32_trunc_f64_u", 0xAE: "i64_trunc_f32_s", 0xAF: "i64_trunc_f32_u",
    0xB0: "i64_trunc_f64_s", 0xB1: "i64_trunc_f64_u",
    0xB2: "f32_convert_i32_s", 0xB3: "f32_convert_i32_u", 0xB4: "f32_convert_i64_s",
    0xB5: "f32_convert_i64_u", 0xB6: "f32_demote_f64", 0xB7: "f64_convert_i32_s",
    0xB8: "f64_convert_i32_u", 0xB9: "f64_convert_i64_s", 0xBA: "f64_convert_i64_u",
    0xBB: "f64_promote_f32",
    0xE0: "i32_trunc_sat_f32_s", 0xE1: "i32_trunc_sat_f32_u", 0xE2: "i32_trunc_sat_f64_s",
    0xE3: "i32_trunc_sat_f64_u", 0xE4: "i64_trunc_sat_f32_s", 0xE5: "i64_trunc_sat_f32_u",
    0xE6: "i64_trunc_sat_f64_s", 0xE7: "i64_trunc_sat_f64_u",
}

BINARY = ("add", "sub", "mul", "div", "min", "max", "copysign", "eq", "ne", "lt", "gt",
                 "le", "ge")
