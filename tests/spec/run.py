"""WebAssembly core spec-suite runner for mpwasi, for CPython and MicroPython alike.

    python3     tests/spec/run.py [options] [names...]
    micropython -X heapsize=64M tests/spec/run.py [options] [names...]

Reads the wast2json output of the core suite (`json/<name>/<name>.json` and the `.wasm` files next to
it) from $MPWASI_SPEC_DIR, else `<repo>/../shared/spec`, imports the engine from $MPWASI_FIRMWARE,
else `<repo>/firmware` (e.g. to test a copy built with mpy-cross), and runs every command through mpwasi's
public API only (Module, Instance, HostFunc, Global, Memory, Table, call_bits, the errors).
Without names it runs the 90 main-set scripts (those not starting with `simd_`).

Options:
  --softfloat        force the engine's softfloat path (MPWASI_SOFTFLOAT=1 + numeric.force_softfloat())
  --tier=interp|fast|auto  pass the execution tier to mpwasi.set_tier() (error if the engine has none)
  --tier=viper|viper-strict  (MicroPython) i32 functions as @micropython.viper code, the others in the
                     fast tier; -strict: the code for boards that fault on unaligned words. The run
                     ends with `viper: N functions, M fallbacks` and the fallbacks' reasons
  --paged            force paged linear memory (mpwasi.runtime.PAGED: pages allocated on first write)
  --fuse=never|hot|always|own  the interpreter's superinstructions (mpwasi.runtime.FUSE and HEAT):
                     off, for functions once hot (the default), or for every function from its first
                     call; own: the same, each function into a buffer of its own (a small board's way)
  -v                 print every failure: script, line, command and what happened
  -vv                also print the Python traceback of unexpected exceptions
  --stop-after=N     stop after N failed commands
  --times            append each script's run time to its line
  --list             only count the commands (no engine needed): countable and skipped per script

Output: one line per script, `name: P passed, F failed, S skipped`; then `message mismatches: ...` (how many
error messages did not match the spec's wording; reported, never a failure); the last line is exactly
`spec: N passed, N failed, N skipped`. Exit status 1 if any command failed, 2 on a usage error.

Every command counts once (module, register, action and every assertion). The only skipped commands
are `assert_malformed` with module_type "text" (mpwasi has no text-format parser).
"""

import sys
import os
import gc
import json

try:
    import time
    _clock = time.time
except ImportError:  # pragma: no cover
    _clock = None


# ---------------------------------------------------------------- paths (no os.path on MicroPython)

def _dirname(path):
    i = path.rfind("/")
    if i < 0:
        return "."
    if i == 0:
        return "/"
    return path[:i]


def _abspath(path):
    if path.startswith("/"):
        return path
    cwd = os.getcwd()
    if path.startswith("./"):
        path = path[2:]
    return cwd.rstrip("/") + "/" + path


def _normpath(path):
    """Collapse `.` and `..` components of an absolute path."""
    out = []
    for part in path.split("/"):
        if part == "" or part == ".":
            continue
        if part == "..":
            if out:
                out.pop()
            continue
        out.append(part)
    return "/" + "/".join(out)


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _getenv(name):
    getenv = getattr(os, "getenv", None)
    if getenv is not None:
        return getenv(name)
    environ = getattr(os, "environ", None)
    if environ is not None:
        return environ.get(name)
    return None


def _setenv(name, value):
    environ = getattr(os, "environ", None)
    if environ is not None:
        environ[name] = value
    elif hasattr(os, "putenv"):
        os.putenv(name, value)


HERE = _dirname(_normpath(_abspath(__file__)))
REPO = _dirname(_dirname(HERE))
FIRMWARE = _getenv("MPWASI_FIRMWARE") or (REPO + "/firmware")


def spec_dir():
    d = _getenv("MPWASI_SPEC_DIR")
    if d:
        return d.rstrip("/") or "/"
    return _normpath(REPO + "/../shared/spec")


def main_set(root):
    """The 90 main-set script names (sorted), from the suite's json/ directory."""
    names = [n for n in os.listdir(root + "/json") if not n.startswith("simd_") and not n.startswith(".")]
    names.sort()
    return names


def load_script(root, name):
    path = "%s/json/%s/%s.json" % (root, name, name)
    with open(path) as f:
        data = json.load(f)
    return data["commands"]


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------- values

NUMERIC = ("i32", "i64", "f32", "f64")
F32_CANON = 0x7FC00000
F64_CANON = 0x7FF8000000000000


class HostRef:
    """The host reference `ref.extern k` of the spec scripts: one object per k, compared by identity."""

    def __init__(self, k):
        self.k = k

    def __repr__(self):
        return "ref.extern %d" % self.k


class Unsupported(Exception):
    pass


def is_bits(x, width):
    return type(x) is int and 0 <= x and (x >> width) == 0


def is_canonical_nan(bits, t):
    if t == "f32":
        return is_bits(bits, 32) and (bits & 0x7FFFFFFF) == F32_CANON
    return is_bits(bits, 64) and (bits & 0x7FFFFFFFFFFFFFFF) == F64_CANON


def is_arithmetic_nan(bits, t):
    if t == "f32":
        return is_bits(bits, 32) and (bits & F32_CANON) == F32_CANON
    return is_bits(bits, 64) and (bits & F64_CANON) == F64_CANON


WIDTH = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}


class Values:
    """Converts the script's values to the engine's bit patterns and references, per script."""

    def __init__(self):
        self.hostrefs = {}

    def hostref(self, k):
        r = self.hostrefs.get(k)
        if r is None:
            r = HostRef(k)
            self.hostrefs[k] = r
        return r

    def arg(self, v):
        t = v["type"]
        if t in NUMERIC:
            return int(v["value"])
        if t == "funcref" or t == "externref":
            val = v.get("value")
            if val == "null":
                return None
            if t == "externref" and val is not None:
                return self.hostref(int(val))
        raise Unsupported("argument %s" % show_expected(v))

    def matches(self, exp, got):
        t = exp["type"]
        val = exp.get("value")
        if t in NUMERIC:
            if val == "nan:canonical":
                return is_canonical_nan(got, t)
            if val == "nan:arithmetic":
                return is_arithmetic_nan(got, t)
            return is_bits(got, WIDTH[t]) and got == int(val)
        if t == "externref":
            if val is None:
                return got is not None
            if val == "null":
                return got is None
            return got is self.hostref(int(val))
        if t == "funcref":
            if val is None:
                return got is not None and not isinstance(got, HostRef) and type(got) is not int
            if val == "null":
                return got is None
        raise Unsupported("expected value %s" % show_expected(exp))


def show_expected(v):
    if "value" not in v:
        return "%s:<non-null>" % v["type"]
    val = v["value"]
    if v["type"] in ("f32", "f64") and not str(val).startswith("nan"):
        return "%s:0x%x" % (v["type"], int(val))
    return "%s:%s" % (v["type"], val)


def show_value(x):
    if type(x) is int:
        if x < 0:
            return "%d" % x
        return "0x%x" % x
    if x is None:
        return "null"
    return repr(x)


def show_list(xs, f):
    return "[" + ", ".join([f(x) for x in xs]) + "]"


# ---------------------------------------------------------------- messages

def _strip_numbers(s):
    words = s.lower().strip().split()
    while words and words[-1].isdigit():
        words.pop()
    return " ".join(words)


def message_matches(expected, got):
    """Loose match of an error text against the spec's wording: either contains the other."""
    e = _strip_numbers(expected)
    g = _strip_numbers(got)
    if not e:
        return True
    return e in g or (len(g) > 0 and g in e)


def reason_of(exc):
    r = getattr(exc, "reason", None)
    if r is None:
        r = str(exc)
    return str(r)


# ---------------------------------------------------------------- the runner

def _ignore(*args):
    return None


def make_spectest(w):
    """The host module `spectest` of the spec scripts, built from mpwasi `w`'s public API (fresh state)."""

    def hf(params):
        return w.HostFunc(params, (), _ignore, raw=True)

    return {
        "print": hf(()),
        "print_i32": hf(("i32",)),
        "print_i64": hf(("i64",)),
        "print_f32": hf(("f32",)),
        "print_f64": hf(("f64",)),
        "print_i32_f32": hf(("i32", "f32")),
        "print_f64_f64": hf(("f64", "f64")),
        "global_i32": w.Global("i32", False, 666),
        "global_i64": w.Global("i64", False, 666),
        "global_f32": w.Global("f32", False, 666.6),
        "global_f64": w.Global("f64", False, 666.6),
        "table": w.Table("funcref", 10, 20),
        "memory": w.Memory(1, 2),
    }


class Failure(Exception):
    """A command did not do what the script asserts."""


class ScriptRunner:
    def __init__(self, mpwasi, root, name, out):
        self.w = mpwasi
        self.root = root
        self.name = name
        self.dir = "%s/json/%s" % (root, name)
        self.out = out
        self.values = Values()
        self.current = None
        self.named = {}
        self.setup_error = None
        try:
            spectest = make_spectest(mpwasi)
        except Exception as e:  # every command of the script then fails with this
            spectest = {}
            self.setup_error = "cannot build the spectest module: %s: %s" % (type(e).__name__, e)
        self.registry = {"spectest": spectest}
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.msg_checked = 0
        self.msg_mismatched = 0

    # -- modules
    def load(self, filename):
        return read_bytes(self.dir + "/" + filename)

    def decode(self, filename):
        return self.w.Module(self.load(filename))

    def instantiate(self, module):
        return self.w.Instance(module, self.registry)

    def instance_for(self, action):
        mod = action.get("module")
        if mod is None:
            if self.current is None:
                raise Failure("no current module (an earlier module command failed)")
            return self.current
        if mod not in self.named:
            raise Failure("unknown module name %s" % mod)
        inst = self.named[mod]
        if inst is None:
            raise Failure("module %s failed to instantiate earlier" % mod)
        return inst

    def export(self, action):
        inst = self.instance_for(action)
        field = action["field"]
        exports = inst.exports
        if field not in exports:
            raise Failure("no export %r" % field)
        return exports[field]

    def perform(self, action):
        """Run an action; returns the list of results (bit patterns / references)."""
        kind = action["type"]
        if kind == "invoke":
            f = self.export(action)
            args = [self.values.arg(a) for a in action.get("args", [])]
            res = f.call_bits(args)
            if res is None:
                return []
            return list(res)
        if kind == "get":
            g = self.export(action)
            try:
                return [g.bits]
            except Exception:
                return [g.value]
        raise Unsupported("action type %s" % kind)

    def describe(self, cmd):
        t = cmd["type"]
        action = cmd.get("action")
        if action is not None:
            mod = action.get("module")
            target = (mod + "." if mod else "") + action["field"]
            if action["type"] == "get":
                return "%s get %s" % (t, target)
            args = ", ".join([show_expected(a) for a in action.get("args", [])])
            return "%s %s(%s)" % (t, target, args)
        if "filename" in cmd:
            return "%s %s" % (t, cmd["filename"])
        if t == "register":
            return "register %s as %r" % (cmd.get("name", "<current>"), cmd["as"])
        return t

    def check_message(self, cmd, got):
        expected = cmd.get("text")
        if expected is None:
            return
        self.msg_checked += 1
        if not message_matches(expected, got):
            self.msg_mismatched += 1
            if self.out.verbose:
                self.out.line("  MESSAGE %s:%d %s: expected %r, got %r"
                              % (self.name, cmd["line"], self.describe(cmd), expected, got))

    def expect_error(self, cmd, cls, run):
        """Run `run()`; it must raise `cls` (an mpwasi error class)."""
        want = cls.__name__
        try:
            res = run()
        except cls as e:
            self.check_message(cmd, reason_of(e))
            return
        except self.w.WasmError as e:
            raise Failure("expected %s (%r), got %s: %s" % (want, cmd.get("text"), type(e).__name__, reason_of(e)))
        detail = ""
        if isinstance(res, list):
            detail = " with " + show_list(res, show_value)
        raise Failure("expected %s (%r), but it succeeded%s" % (want, cmd.get("text"), detail))

    # -- the commands
    def cmd_module(self, cmd):
        name = cmd.get("name")
        self.current = None
        if name is not None:
            self.named[name] = None
        inst = self.instantiate(self.decode(cmd["filename"]))
        self.current = inst
        if name is not None:
            self.named[name] = inst

    def cmd_register(self, cmd):
        name = cmd.get("name")
        if name is None:
            inst = self.current
            if inst is None:
                raise Failure("no current module to register")
        else:
            inst = self.named.get(name)
            if inst is None:
                raise Failure("module %s is not instantiated" % name)
        self.registry[cmd["as"]] = inst.exports

    def cmd_action(self, cmd):
        self.perform(cmd["action"])

    def cmd_assert_return(self, cmd):
        expected = cmd["expected"]
        got = self.perform(cmd["action"])
        ok = len(got) == len(expected)
        if ok:
            for i in range(len(got)):
                if not self.values.matches(expected[i], got[i]):
                    ok = False
                    break
        if not ok:
            raise Failure("got %s, expected %s" % (show_list(got, show_value), show_list(expected, show_expected)))

    def cmd_assert_trap(self, cmd):
        if "action" in cmd:
            self.expect_error(cmd, self.w.Trap, lambda: self.perform(cmd["action"]))
        else:  # a module whose instantiation must trap
            m = self.decode(cmd["filename"])
            self.expect_error(cmd, self.w.Trap, lambda: self.instantiate(m))

    def cmd_assert_exhaustion(self, cmd):
        try:
            res = self.perform(cmd["action"])
        except self.w.Trap as e:
            r = reason_of(e)
            if "call stack exhausted" not in r.lower():
                raise Failure("expected the trap 'call stack exhausted', got the trap %r" % r)
            return
        except self.w.WasmError as e:
            raise Failure("expected Trap('call stack exhausted'), got %s: %s" % (type(e).__name__, reason_of(e)))
        raise Failure("expected Trap('call stack exhausted'), but it returned %s" % show_list(res, show_value))

    def cmd_assert_malformed(self, cmd):
        self.expect_error(cmd, self.w.DecodeError, lambda: self.decode(cmd["filename"]))

    def cmd_assert_invalid(self, cmd):
        self.expect_error(cmd, self.w.ValidationError, lambda: self.decode(cmd["filename"]))

    def cmd_assert_unlinkable(self, cmd):
        m = self.decode(cmd["filename"])
        self.expect_error(cmd, self.w.LinkError, lambda: self.instantiate(m))

    def cmd_assert_uninstantiable(self, cmd):
        m = self.decode(cmd["filename"])
        self.expect_error(cmd, self.w.Trap, lambda: self.instantiate(m))

    def run_command(self, cmd):
        t = cmd["type"]
        if t == "assert_malformed" and cmd.get("module_type") == "text":
            self.skipped += 1
            return True
        handler = getattr(self, "cmd_" + t, None)
        try:
            if self.setup_error is not None:
                raise Failure(self.setup_error)
            if handler is None:
                raise Unsupported("command type %s" % t)
            handler(cmd)
        except Failure as e:
            self.fail(cmd, str(e))
            return False
        except Unsupported as e:
            self.fail(cmd, "unsupported by the runner: %s" % e)
            return False
        except Exception as e:  # an error of the wrong kind or a crash of the engine
            if isinstance(e, self.w.WasmError):
                what = "unexpected %s: %s" % (type(e).__name__, reason_of(e))
            else:
                what = "unexpected Python exception %s: %s" % (type(e).__name__, e)
            self.fail(cmd, what)
            if self.out.verbose > 1 and not isinstance(e, self.w.WasmError):
                self.out.traceback(e)
            return False
        self.passed += 1
        return True

    def fail(self, cmd, what):
        self.failed += 1
        if self.out.verbose:
            self.out.line("  FAIL %s:%d %s: %s" % (self.name, cmd["line"], self.describe(cmd), what))


class Output:
    def __init__(self, verbose):
        self.verbose = verbose

    def line(self, s):
        print(s)

    def traceback(self, e):
        pe = getattr(sys, "print_exception", None)
        if pe is not None:
            pe(e, sys.stdout)
        else:
            import traceback
            traceback.print_exception(type(e), e, e.__traceback__, file=sys.stdout)


def count_script(root, name):
    """(countable, skipped) commands of one script, without running anything."""
    countable = 0
    skipped = 0
    for cmd in load_script(root, name):
        if cmd["type"] == "assert_malformed" and cmd.get("module_type") == "text":
            skipped += 1
        else:
            countable += 1
    return countable, skipped


USAGE = ("usage: run.py [--softfloat] [--paged] [--tier=interp|fast|auto|viper|viper-strict] [--fuse=never|hot|always|own] [-v|-vv] [--stop-after=N] [--times] [--list] "
         "[names...]")


TIERS = ("interp", "fast", "auto", "viper", "viper-strict")
FUSES = ("never", "hot", "always", "own")


def parse_args(argv):
    opts = {"softfloat": False, "paged": False, "tier": None, "fuse": None, "verbose": 0, "stop_after": None,
            "times": False, "list": False, "names": []}
    for a in argv:
        if a == "--softfloat":
            opts["softfloat"] = True
        elif a == "--paged":
            opts["paged"] = True
        elif a.startswith("--tier="):
            opts["tier"] = a[7:]
            if opts["tier"] not in TIERS:
                raise ValueError("--tier must be one of %s, not %r" % ("|".join(TIERS), opts["tier"]))
        elif a.startswith("--fuse="):
            opts["fuse"] = a[7:]
            if opts["fuse"] not in FUSES:
                raise ValueError("--fuse must be one of %s, not %r" % ("|".join(FUSES), opts["fuse"]))
        elif a == "-v":
            opts["verbose"] = max(opts["verbose"], 1)
        elif a == "-vv":
            opts["verbose"] = 2
        elif a.startswith("--stop-after="):
            opts["stop_after"] = int(a[13:])
            if opts["stop_after"] < 1:
                raise ValueError("--stop-after needs N >= 1")
        elif a == "--times":
            opts["times"] = True
        elif a == "--list":
            opts["list"] = True
        elif a in ("-h", "--help"):
            raise ValueError("help")
        elif a.startswith("-"):
            raise ValueError("unknown option %s" % a)
        else:
            opts["names"].append(a)
    return opts


API = ("Module", "Instance", "HostFunc", "Global", "Memory", "Table", "WasmError", "DecodeError",
       "ValidationError", "LinkError", "Trap")


def set_fuse(fuse):
    # the interpreter's superinstructions: off, once a function is hot, from the first call
    import mpwasi.runtime as rt
    if not hasattr(rt, "FUSE"):
        raise RuntimeError("this mpwasi has no fused interpreter code")
    rt.FUSE = fuse != "never"
    rt.HEAT = 1 if fuse in ("always", "own") else 40
    if fuse == "own" or hasattr(rt, "FUSE_OWN"):
        rt.FUSE_OWN = fuse == "own"


def set_paged():
    # every linear memory paged (the form a small board gets when the declared memory does not fit)
    import mpwasi.runtime as rt
    if not hasattr(rt, "PAGED"):
        raise RuntimeError("this mpwasi has no paged linear memory")
    rt.PAGED = True


def import_engine(softfloat, tier):
    if FIRMWARE not in sys.path:
        sys.path.insert(0, FIRMWARE)
    if softfloat:
        _setenv("MPWASI_SOFTFLOAT", "1")
    import mpwasi
    missing = [n for n in API if not hasattr(mpwasi, n)]
    if missing:
        raise RuntimeError("mpwasi (%s) lacks %s" % (getattr(mpwasi, "__file__", "?"), ", ".join(missing)))
    if softfloat:
        import mpwasi.numeric
        mpwasi.numeric.force_softfloat()
        if getattr(mpwasi.numeric, "SOFT", True) is False:
            raise RuntimeError("numeric.force_softfloat() did not switch numeric.SOFT on")
    if tier is not None:
        set_tier = getattr(mpwasi, "set_tier", None)
        if set_tier is None:
            if tier != "interp":
                raise RuntimeError("this mpwasi has no set_tier(): tier %r is not available" % tier)
        else:
            set_tier(tier)
    return mpwasi


def main(argv):
    try:
        opts = parse_args(argv)
    except ValueError as e:
        if str(e) != "help":
            print("run.py: %s" % e)
        print(USAGE)
        return 0 if str(e) == "help" else 2
    root = spec_dir()
    if not _exists(root + "/json"):
        print("run.py: spec suite not found at %s (set MPWASI_SPEC_DIR)" % root)
        return 2
    names = opts["names"] or main_set(root)
    for n in names:
        if not _exists("%s/json/%s/%s.json" % (root, n, n)):
            print("run.py: no script %r in %s/json" % (n, root))
            return 2

    if opts["list"]:
        tc = ts = 0
        for n in names:
            c, s = count_script(root, n)
            tc += c
            ts += s
            print("%s: %d countable, %d skipped" % (n, c, s))
        print("spec: %d commands, %d countable, %d skipped" % (tc + ts, tc, ts))
        return 0

    try:
        w = import_engine(opts["softfloat"], opts["tier"])
    except Exception as e:
        print("run.py: cannot use the engine: %s: %s" % (type(e).__name__, e))
        return 2
    if opts["fuse"]:
        try:
            set_fuse(opts["fuse"])
        except Exception as e:
            print("run.py: cannot use the engine: %s: %s" % (type(e).__name__, e))
            return 2
    if opts["paged"]:
        try:
            set_paged()
        except Exception as e:
            print("run.py: cannot use the engine: %s: %s" % (type(e).__name__, e))
            return 2
        print("memory: paged")
    if opts["softfloat"]:
        print("softfloat: forced")
    if opts["tier"]:
        print("tier: %s" % opts["tier"])
    if opts["fuse"]:
        print("fuse: %s" % opts["fuse"])

    out = Output(opts["verbose"])
    total_p = total_f = total_s = 0
    msg_checked = msg_mismatched = 0
    stop_after = opts["stop_after"]
    t_start = _clock() if _clock else 0
    for n in names:
        t0 = _clock() if _clock else 0
        runner = ScriptRunner(w, root, n, out)
        stopped = False
        try:
            commands = load_script(root, n)
        except Exception as e:
            print("run.py: cannot read %s: %s: %s" % (n, type(e).__name__, e))
            return 2
        for cmd in commands:
            runner.run_command(cmd)
            if stop_after is not None and total_f + runner.failed >= stop_after:
                stopped = True
                break
        line = "%s: %d passed, %d failed, %d skipped" % (n, runner.passed, runner.failed, runner.skipped)
        if opts["times"] and _clock:
            line += " in %.2fs" % (_clock() - t0)
        print(line)
        total_p += runner.passed
        total_f += runner.failed
        total_s += runner.skipped
        msg_checked += runner.msg_checked
        msg_mismatched += runner.msg_mismatched
        runner = None
        commands = None
        gc.collect()
        if stopped:
            print("stopped after %d failures" % total_f)
            break
    if _clock:
        print("time: %.1fs" % (_clock() - t_start))
    print("message mismatches: %d of %d checked" % (msg_mismatched, msg_checked))
    if opts["tier"] and opts["tier"].startswith("viper"):
        import mpwasi.viperrt as vr
        print("viper: %d functions, %d fallbacks" % (vr.TOTALS["viper"], vr.TOTALS["fallback"]))
        for r in sorted(vr.REASONS):
            print("  fallback %d: %s" % (vr.REASONS[r], r))
    print("spec: %d passed, %d failed, %d skipped" % (total_p, total_f, total_s))
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
