"""The shape of the code: the import graph of firmware/mpwasi and host_tools has no cycle, nothing in
firmware/ imports host_tools, and private names (a leading underscore) do not cross modules.

The graph is read with ast from the sources: every import statement, at module level and inside
functions (a lazy import is still a dependency). docs/internals.md ("Module map") gives the
allowed directions. Runs on CPython only (it reads source files; nothing is executed).
"""
import ast
import os
from repo_paths import REPO_ROOT

REPO = REPO_ROOT
PACKAGES = {"mpwasi": os.path.join(REPO, "firmware", "mpwasi"),
            "host_tools": os.path.join(REPO, "host_tools")}


def _modules():
    """{dotted module name: (path, is_package)} of every .py file under the two packages."""
    mods = {}
    for pkg, root in PACKAGES.items():
        for dirpath, dirnames, files in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__pycache__")))
            rel = os.path.relpath(dirpath, root)
            parts = [pkg] + ([] if rel == "." else rel.split(os.sep))
            for f in sorted(files):
                if not f.endswith(".py"):
                    continue
                if f == "__init__.py":
                    mods[".".join(parts)] = (os.path.join(dirpath, f), True)
                else:
                    mods[".".join(parts + [f[:-3]])] = (os.path.join(dirpath, f), False)
    return mods


MODULES = _modules()
TREES = {}


def _tree(name):
    if name not in TREES:
        with open(MODULES[name][0]) as f:
            TREES[name] = ast.parse(f.read(), MODULES[name][0])
    return TREES[name]


def _package_of(name):
    return name if MODULES[name][1] else name.rsplit(".", 1)[0]


def _resolve(name, node):
    """The project modules an import node of module `name` loads: [(module, imported name or None)]."""
    out = []
    if isinstance(node, ast.Import):
        for a in node.names:
            parts = a.name.split(".")
            for i in range(len(parts), 0, -1):  # `import a.b.c` loads a, a.b and a.b.c
                m = ".".join(parts[:i])
                if m in MODULES:
                    out.append((m, None))
        return out
    if node.level:
        base = _package_of(name).split(".")
        if node.level > 1:
            base = base[:-(node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target not in MODULES:
        return out
    # `from . import x` of submodules depends on them, not on the package's __init__ (a
    # submodule is only ever loaded after its package); a name that is not a module is read from
    # the target's own code
    for a in node.names:
        sub = target + "." + a.name
        if sub in MODULES:
            out.append((sub, None))
        else:
            out.append((target, a.name))
    return out


def import_edges():
    """[(importer, imported, line, imported name or None)] over every import of the project."""
    edges = []
    for name in MODULES:
        for node in ast.walk(_tree(name)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target, what in _resolve(name, node):
                    if target != name:
                        edges.append((name, target, node.lineno, what))
    return edges


def _graph(edges):
    g = {}
    for a, b, line, what in edges:
        g.setdefault(a, {}).setdefault(b, line)
    return g


def cycles(edges):
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    g = _graph(edges)
    index = {}
    low = {}
    stack = []
    on = set()
    out = []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(MODULES):
        if v not in index:
            visit(v)
    return out


def _describe(comp, edges):
    inside = set(comp)
    lines = ["import cycle among %s:" % ", ".join(comp)]
    for a, b, line in sorted(set((e[0], e[1], e[2]) for e in edges), key=lambda e: (e[0], e[2], e[1])):
        if a in inside and b in inside:
            lines.append("  %s:%d imports %s" % (MODULES[a][0][len(REPO) + 1:], line, b))
    return "\n".join(lines)


def test_the_graph_reader_sees_module_level_and_function_level_imports():
    edges = import_edges()
    pairs = set((a, b) for a, b, line, what in edges)
    assert ("mpwasi.runtime", "mpwasi.interp") in pairs        # module level
    assert ("mpwasi.fastrt", "mpwasi.fastgen") in pairs        # inside a method (lazy)
    assert ("mpwasi", "mpwasi.runtime") in pairs                # a package's __init__
    assert ("host_tools.aot", "mpwasi.compile") in pairs       # across the packages
    # and the cycle finder finds a planted cycle
    planted = edges + [("mpwasi.leb", "mpwasi.binary", 0, None)]
    assert any("mpwasi.leb" in c and "mpwasi.binary" in c for c in cycles(planted))


def test_no_import_cycles():
    edges = import_edges()
    found = cycles(edges)
    assert not found, "\n".join(_describe(c, edges) for c in found)


def test_firmware_does_not_import_host_tools():
    bad = ["%s:%d imports %s" % (MODULES[a][0][len(REPO) + 1:], line, b)
           for a, b, line, what in import_edges()
           if a.startswith("mpwasi") and b.startswith("host_tools")]
    assert not bad, "\n".join(bad)


def _private_definitions(name):
    """Private names module `name` defines: functions, classes, globals, attributes it assigns."""
    out = set()
    for node in ast.walk(_tree(name)):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                out.add(a.asname or a.name.split(".")[0])
        elif isinstance(node, ast.arg):
            out.add(node.arg)
    return set(n for n in out if n.startswith("_") and not n.endswith("__"))


def test_private_names_do_not_cross_modules():
    """`from .x import _y`, or `obj._y` where _y is defined by another project module and not by
    this one (how `module._m` or `disasm._uleb` reached across)."""
    defined = dict((m, _private_definitions(m)) for m in MODULES)
    elsewhere = {}
    for m, names in defined.items():
        for n in names:
            elsewhere.setdefault(n, []).append(m)
    bad = []
    for a, b, line, what in import_edges():
        if what is not None and what.startswith("_") and not what.endswith("__"):
            bad.append("%s:%d imports %s from %s" % (MODULES[a][0][len(REPO) + 1:], line, what, b))
    for m in MODULES:
        for node in ast.walk(_tree(m)):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                n = node.attr
                if n.startswith("_") and not n.endswith("__") and n not in defined[m] and n in elsewhere:
                    bad.append("%s:%d reads .%s (defined in %s)" % (
                        MODULES[m][0][len(REPO) + 1:], node.lineno, n, ", ".join(sorted(elsewhere[n]))))
    assert not bad, "\n".join(sorted(bad))
