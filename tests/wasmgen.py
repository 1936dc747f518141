"""A tiny WebAssembly binary writer for tests (runs on CPython and MicroPython).

    m = ModuleBuilder()
    t = m.type(["i32", "i32"], ["i32"])
    f = m.func(t, [], [0x20, 0, 0x20, 1, 0x6A, 0x0B])
    m.export("add", 0, f)
    data = m.bytes()

Bodies are lists of ints (opcodes and already-encoded immediates); `uleb`/`sleb` encode LEBs.
"""

VT = {"i32": 0x7F, "i64": 0x7E, "f32": 0x7D, "f64": 0x7C, "funcref": 0x70, "externref": 0x6F}


def uleb(n):
    out = []
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return out


def sleb(n):
    out = []
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return out
        out.append(b | 0x80)


def name(s):
    b = s.encode()
    return uleb(len(b)) + list(b)


def vec(items):
    out = uleb(len(items))
    for it in items:
        out += it
    return out


class ModuleBuilder:
    def __init__(self):
        self.types = []
        self.imports = []
        self.funcs = []      # (type index, locals, body)
        self.memory = None
        self.tables = []
        self.globals = []
        self.exports = []
        self.start = None
        self.datas = []
        self.n_imported_funcs = 0
        self.names = {}

    def type(self, params, results):
        t = [0x60] + vec([[VT[p]] for p in params]) + vec([[VT[r]] for r in results])
        self.types.append(t)
        return len(self.types) - 1

    def import_func(self, mod, nm, typeidx):
        self.imports.append(name(mod) + name(nm) + [0x00] + uleb(typeidx))
        self.n_imported_funcs += 1
        return self.n_imported_funcs - 1

    def func(self, typeidx, locals_, body, fname=None):
        self.funcs.append((typeidx, locals_, body))
        idx = self.n_imported_funcs + len(self.funcs) - 1
        if fname:
            self.names[idx] = fname
        return idx

    def mem(self, lo, hi=None):
        self.memory = (lo, hi)

    def table(self, lo, hi=None, reftype="funcref"):
        self.tables.append((VT[reftype], lo, hi))
        return len(self.tables) - 1

    def glob(self, vt, mutable, init):
        self.globals.append([VT[vt], 1 if mutable else 0] + init + [0x0B])
        return len(self.globals) - 1

    def export(self, nm, kind, idx):
        self.exports.append(name(nm) + [kind] + uleb(idx))

    def data(self, offset, payload):
        self.datas.append([0x00, 0x41] + sleb(offset) + [0x0B] + uleb(len(payload)) + list(payload))

    def bytes(self):
        out = [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]

        def section(sid, content):
            return [sid] + uleb(len(content)) + content

        if self.types:
            out += section(1, vec(self.types))
        if self.imports:
            out += section(2, vec(self.imports))
        if self.funcs:
            out += section(3, vec([uleb(t) for (t, l, b) in self.funcs]))
        if self.tables:
            tabs = []
            for (rt, lo, hi) in self.tables:
                tabs.append([rt] + ([0x00] + uleb(lo) if hi is None else [0x01] + uleb(lo) + uleb(hi)))
            out += section(4, vec(tabs))
        if self.memory is not None:
            lo, hi = self.memory
            lim = [0x00] + uleb(lo) if hi is None else [0x01] + uleb(lo) + uleb(hi)
            out += section(5, vec([lim]))
        if self.globals:
            out += section(6, vec(self.globals))
        if self.exports:
            out += section(7, vec(self.exports))
        if self.start is not None:
            out += section(8, uleb(self.start))
        if self.funcs:
            bodies = []
            for (t, locals_, body) in self.funcs:
                lc = vec([uleb(n) + [VT[vt]] for (n, vt) in locals_])
                b = lc + list(body)
                bodies.append(uleb(len(b)) + b)
            out += section(10, vec(bodies))
        if self.datas:
            out += section(11, vec(self.datas))
        if self.names:
            sub = vec([uleb(i) + name(self.names[i]) for i in sorted(self.names)])
            out += section(0, name("name") + [1] + uleb(len(sub)) + sub)
        return bytes(out)
