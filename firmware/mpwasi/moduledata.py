"""The decoded form of a module: ModuleData (what binary.decode gives and image.read gives back) and
the value-type codes of the binary format. Kept apart from the decoder so that a module loaded from
a load image, or already decoded, holds nothing of the decoder: a board releases mpwasi.binary once
loading is done (runtime.release).
"""

I32 = 0x7F
I64 = 0x7E
F32 = 0x7D
F64 = 0x7C
V128 = 0x7B
FUNCREF = 0x70
EXTERNREF = 0x6F
NUMTYPES = (I32, I64, F32, F64)
VALTYPES = (I32, I64, F32, F64, FUNCREF, EXTERNREF)
REFTYPES = (FUNCREF, EXTERNREF)
TYPE_NAMES = {I32: "i32", I64: "i64", F32: "f32", F64: "f64", FUNCREF: "funcref",
              EXTERNREF: "externref", V128: "v128"}
NAME_TYPES = {"i32": I32, "i64": I64, "f32": F32, "f64": F64, "funcref": FUNCREF,
              "externref": EXTERNREF}


class ModuleData:
    def __init__(self, data):
        self.data = data
        self.types = []        # (params tuple, results tuple)
        self.imports = []      # (module, name, kind, desc) kind 0 func 1 table 2 mem 3 global
        self.funcs = []        # type index of each function (imported first)
        self.tables = []       # (reftype, min, max or None) imported first
        self.mems = []         # (min, max or None) imported first
        self.globals = []      # (valtype, mutable) imported first
        self.global_inits = []  # const expr of each defined global
        self.exports = []      # (name, kind, index)
        self.start = None
        self.elems = []        # (mode, table, offset expr, reftype, [const exprs])  mode 0 active 1 passive 2 declarative
        self.datas = []        # (mode, mem, offset expr, start, end)  mode 0 active 1 passive
        self.data_count = None
        self.codes = []        # (locals list of types, body start, body end)
        self.n_imported_funcs = 0
        self.n_imported_tables = 0
        self.n_imported_mems = 0
        self.n_imported_globals = 0
        self.names_at = None   # (start, end) of the function names in the name section
        self.global_names_at = None  # (start, end) of the global names (subsection 7, LLVM's)
