"""Helpers for the WASI tests: run a module under the reference runtime (wasmtime's Python API),
under mpwasi on CPython (in process) and under mpwasi on MicroPython (a subprocess over a littlefs
image), each with one preopened directory, and collect stdout, stderr, exit status and the files."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
EXAMPLES = os.path.join(ROOT, "examples")
MP_SCRIPTS = os.path.join(ROOT, "tests", "mp")
if FIRMWARE not in sys.path:
    sys.path.insert(0, FIRMWARE)


def example(name):
    return os.path.join(EXAMPLES, name + ".wasm")


def micropython_binary():
    return shutil.which("micropython")


def run_wasmtime(wasm_path, args=(), env=None, dirs=(), stdin=b""):
    """Runs a WASI command under wasmtime: returns (status, stdout bytes, stderr bytes)."""
    import wasmtime

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module.from_file(engine, wasm_path)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    with tempfile.TemporaryDirectory() as tmp:
        out_path = os.path.join(tmp, "stdout")
        err_path = os.path.join(tmp, "stderr")
        in_path = os.path.join(tmp, "stdin")
        with open(in_path, "wb") as f:
            f.write(stdin)
        cfg = wasmtime.WasiConfig()
        cfg.argv = [os.path.basename(wasm_path)] + list(args)
        if isinstance(env, dict):
            env = ["%s=%s" % kv for kv in env.items()]
        cfg.env = [tuple(e.split("=", 1)) for e in env or ()]
        for host, guest in dirs:
            cfg.preopen_dir(host, guest)
        cfg.stdout_file = out_path
        cfg.stderr_file = err_path
        cfg.stdin_file = in_path
        store.set_wasi(cfg)
        instance = linker.instantiate(store, module)
        status = 0
        try:
            instance.exports(store)["_start"](store)
        except wasmtime.ExitTrap as e:
            status = e.code
        except wasmtime.Trap:
            status = 134
        with open(out_path, "rb") as f:
            out = f.read()
        with open(err_path, "rb") as f:
            err = f.read()
    return status, out, err


def make_host_tree(root, tree):
    """Creates {relative path: bytes, or None for a directory} under the folder root (made too)."""
    os.makedirs(root, exist_ok=True)
    for path in sorted(tree):
        full = os.path.join(root, path)
        if tree[path] is None:
            os.makedirs(full, exist_ok=True)
        else:
            with open(full, "wb") as f:
                f.write(tree[path])
    return str(root)


def lfs_tree(tree, base="sandbox"):
    """The same tree for tests/mp/wasi_session.py: under `base`, contents in hex."""
    out = {base: None}
    for path, content in tree.items():
        out[base + "/" + path] = None if content is None else content.hex()
    return out


def snapshot(root):
    """Everything under a host directory: {relative path: bytes, or None for a directory}."""
    found = {}
    for base, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(base, root)
        for d in dirnames:
            found[os.path.normpath(os.path.join(rel, d))] = None
        for n in filenames:
            with open(os.path.join(base, n), "rb") as f:
                found[os.path.normpath(os.path.join(rel, n))] = f.read()
    return found


class _WasmtimeProbe:
    """wasi_probe.wasm under wasmtime, shaped like an mpwasi Instance for wasi_probe.run_steps:
    exports are plain callables and the memory's .data a ctypes view of the linear memory."""

    def __init__(self, wasm_path, root, guest="."):
        import wasmtime

        self.engine = wasmtime.Engine()
        self.store = wasmtime.Store(self.engine)
        module = wasmtime.Module.from_file(self.engine, wasm_path)
        linker = wasmtime.Linker(self.engine)
        linker.define_wasi()
        cfg = wasmtime.WasiConfig()
        cfg.argv = ["probe"]
        cfg.preopen_dir(root, guest)
        self.store.set_wasi(cfg)
        inst = linker.instantiate(self.store, module)
        self.exports = {}
        for name, ext in inst.exports(self.store).items():
            if name == "memory":
                self.exports[name] = _WasmtimeMemory(ext, self.store)
            else:
                self.exports[name] = _bind(ext, self.store)


def _bind(fn, store):
    return lambda *args: fn(store, *args)


class _WasmtimeMemory:
    def __init__(self, memory, store):
        self.memory = memory
        self.store = store

    @property
    def data(self):
        import ctypes

        n = self.memory.data_len(self.store)
        ptr = self.memory.data_ptr(self.store)
        return (ctypes.c_ubyte * n).from_address(ctypes.addressof(ptr.contents))


def run_probe_wasmtime(attempts, root):
    """The probe attempts under wasmtime with `root` preopened as ".": the same results shape as
    wasi_probe.run_attempts."""
    import wasmtime
    from mp import wasi_probe

    results = []
    for attempt in attempts:
        inst = _WasmtimeProbe(example("wasi_probe"), root)
        outcomes, reads, saved = wasi_probe.run_steps(inst, attempt["steps"],
                                                      (wasmtime.Trap, wasmtime.WasmtimeError))
        results.append({"name": attempt["name"], "outcomes": outcomes, "reads": reads,
                        "peeks": saved["peeks"]})
    return results


def run_mp_session(tmp_path, config, heapsize="4M", stdin=b""):
    """tests/mp/wasi_session.py under MicroPython with this config (see its docstring): returns
    (CompletedProcess, result dict)."""
    from mp.runner import micropython_command

    config = dict(config)
    config["result"] = str(tmp_path / "result.json")
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    env = dict(os.environ, MICROPYPATH=":".join([".frozen", FIRMWARE, MP_SCRIPTS]))
    proc = subprocess.run(
        micropython_command([os.path.join(MP_SCRIPTS, "wasi_session.py"), str(config_path)],
                            heapsize),
        input=stdin, capture_output=True, env=env, timeout=300)
    result = None
    if os.path.exists(config["result"]):
        with open(config["result"]) as f:
            result = json.load(f)
    return proc, result


def run_mp_probe(tmp_path, tree, attempts, root="sandbox", posix_root=None, stdin=b""):
    """Probe attempts under MicroPython, over a littlefs image holding `tree` (hex contents), or
    over the host directory posix_root: the result dict ("attempts", "tree")."""
    config = {"mode": "probe", "wasm": example("wasi_probe"), "root": root,
              "attempts": attempts, "tree": tree}
    if posix_root:
        config["posix_root"] = posix_root
    proc, result = run_mp_session(tmp_path, config, stdin=stdin)
    assert proc.returncode == 0 and result is not None, proc.stderr.decode()
    return result


def shape(name, out):
    """Masks what depends on the clock or the random source."""
    text = out.decode("utf-8", "replace")
    if name == "random":
        text = re.sub(r"=[0-9a-f]{32}", "=<hex32>", text)
    if name == "clocks":
        text = re.sub(r"realtime_s=\d+", "realtime_s=<n>", text)
        text = re.sub(r"slept_ms=\d+", "slept_ms=<n>", text)
    return text
