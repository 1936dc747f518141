"""The debugger's engine: a module loaded for debugging, breakpoints, code patching, the
interpreter's hook, stepping goals, frames; no commands and no prompt (debugger.py is the command
shell built on it, as Python's pdb is on bdb).

How it works, at no cost to runs without a debugger (see interp.debug_hook):
- the instance's functions execute over the module's code as a bytearray; a breakpoint is an
  0xFF byte patched over an instruction's opcode, which makes the interpreter call the hook;
- the hook puts the original bytes back, and to go on without losing a breakpoint (or to stop
  after one instruction, for `step`) it patches every instruction that can run next: the next
  instruction, branch targets (from the side table), a callee's first instruction, the caller's
  return address. `next` and `finish` patch a return address and stop there only at the right
  call depth, so recursion does not fool them;
- fuel slices make the interpreter call the hook every SLICE loop iterations or calls, where a
  pending Ctrl-C stops the program at a clean instruction boundary; an Arduino-style app (setup,
  loop) is also looked at before each call of loop;
- a trap calls the hook before it propagates: the stop shows where and why.

A subclass gives `stopped(message)`: called at each stop with self.state set (the interpreter's
(fn, pc, stp, fp, s, fr)); it returns the resuming action ("continue", "step", "next", "finish"
or "quit").
"""
import sys

from . import interp
from . import disasm
from . import binary
from .binary import I32, I64, F32, F64, FUNCREF
from .errors import Trap, Exit
from .runtime import Function, Module, Instance, from_bits
from .protocol import DEBUG_INTERRUPT, CTRL_C

INTERRUPT_BYTES = CTRL_C + DEBUG_INTERRUPT  # a board console's Ctrl-C, and what `mpwasi debug` sends
SLICE = 2000                 # loop iterations / calls between two looks at Ctrl-C
TRAP_STATUS = 134
INTERRUPTED_STATUS = 130
NOWHERE = 1 << 30
ROOM_MARGIN = 16384          # held with the linear memory's room for the instance's small objects


def gc_collect():
    try:
        import gc
        gc.collect()
    except ImportError:
        pass

class DebugError(Exception):
    """A command that cannot be done: the message says why."""

class Quit(Exception):
    pass

class Breakpoint:
    def __init__(self, num, what, offsets, cond):
        self.num = num
        self.what = what
        self.offsets = offsets
        self.cond = cond  # (">=" | "==" | "%", n)
        self.hits = 0
        self.entry_of = None  # a function whose body starts with `loop`: count entries only

    def due(self):
        kind, n = self.cond
        if kind == ">=":
            return self.hits >= n
        if kind == "==":
            return self.hits == n
        return self.hits % n == 0

    def describe(self):
        kind, n = self.cond
        cond = ""
        if kind == ">=" and n > 1:
            cond = "  from hit %d" % n
        elif kind == "==":
            cond = "  only hit %d" % n
        elif kind == "%":
            cond = "  every %d hits" % n
        where = " ".join(["0x%x" % o for o in self.offsets[:4]])
        if len(self.offsets) > 4:
            where += " ... (%d places)" % len(self.offsets)
        return "%d  %s @ %s  hits %d%s" % (self.num, self.what, where, self.hits, cond)

def fname(f):
    if f.name:
        return f.name
    return "func[%d]" % f.idx

def parse_int(text):
    try:
        return int(text, 0)
    except ValueError:
        raise DebugError("not a number: %s" % text)

def format_value(t, bits):
    """A typed value as text: i32/i64 signed (with hex when it helps), floats, references.
    (An i32 may be signed, as the interpreter's operand stack holds it, or its bit pattern.)"""
    if t == I32 or t == I64:
        if t == I32:
            bits &= 0xFFFFFFFF
        v = from_bits(t, bits)
        if -10 < v < 10:
            return "%d" % v
        return "%d (0x%x)" % (v, bits)
    if t == F32 or t == F64:
        return repr(from_bits(t, bits))
    if t == FUNCREF:
        return "null" if bits is None else "<func %s>" % fname(bits)
    return "null" if bits is None else repr(bits)

def format_untyped(bits):
    if bits is None or isinstance(bits, Function):
        return format_value(FUNCREF, bits)
    if not isinstance(bits, int):
        return repr(bits)
    return format_value(I32 if bits < 0x100000000 else I64, bits)

class DebugEngine:
    """One module under the debugger: load(), breakpoints (add_breakpoint, delete_breakpoints),
    run_program(action), call_export(f, bits), and what a stopped program looks like (frames)."""

    def __init__(self, module, args=(), env=None, dirs=None, limits=None, argv0=None,
                 stdin=None, stdout=None, stderr=None, read=None, write=None, remote=False,
                 pins=None, loops=None, trace_pins=False, pin_inputs=None):
        from . import wasi as _wasi
        self._wasi_mod = _wasi
        if isinstance(module, str):
            data = _wasi.read_module(module)
            if argv0 is None:
                argv0 = module.rsplit("/", 1)[-1]
        else:
            data = module
        # On a board the linear memory, one large block, is allocated last, when decoding has
        # scattered small objects over the heap (and the debugger's code took its share): room
        # for it is held from here until the instance is made.
        self._room = None
        if sys.implementation.name == "micropython":
            need = binary.initial_memory(data)
            if need:
                gc_collect()
                try:
                    self._room = bytearray(need + ROOM_MARGIN)
                except MemoryError:
                    pass
        self.module = Module(data)
        data = None
        self.argv = [argv0 or "main.wasm"] + list(args)
        self.env, self.dirs, self.limits = env, dirs, limits
        self.stdio = (stdin, stdout, stderr)
        self.remote = remote
        # an Arduino-style app's pins and loop count (wiring.py)
        self.hw = {"pins": pins, "trace_pins": trace_pins, "pin_inputs": pin_inputs}
        self.loops = loops
        self.read_fn = read
        self.write_fn = write
        self.bps = []
        self.bp_at = {}          # offset -> [Breakpoint]
        self.next_bp = 1
        self.trap_break = True
        self.goal = ()           # offsets where a step/next/finish stops ...
        self.goal_depth = NOWHERE  # ... when the call depth is at most this
        self.repeat = 0
        self.last_action = "continue"
        self.finishing = None
        self.last = ""
        self.state = None        # (fn, pc, stp, fp, s, fr) while stopped
        self.kind = None         # "insn" | "tick" | "call" | "trap" while stopped
        self.arg = None
        self.sel = 0             # selected frame
        self.interrupted = False
        self.exit_code = None
        self.status = "loaded"   # "loaded" | "running" | "exited"
        self._poller = None
        self.inside = {}
        self.watch = {}
        self.load()

    def load(self):
        if getattr(self, "inst", None) is not None:  # again: free the last run's instance first
            self.wasi.close()
            self.inst = self.wasi = None
        stdin, stdout, stderr = self.stdio
        if stdin is None and self.polls_console():
            import io
            stdin = io.BytesIO(b"")  # the console is watched for Ctrl-C: the guest gets EOF
        self.wasi = self._wasi_mod.Wasi(self.argv, self.env, self.dirs, stdin, stdout, stderr)
        module = self.module
        if not isinstance(module.data, bytearray):
            # the module's bytes become a bytearray that breakpoints are patched into (in place:
            # a board has no room for a second copy); `saved` keeps the bytes under the patches
            module.data = bytearray(module.data)
        self.code = self.orig = module.data
        module._fused = (module.data, (), True)  # no fused copy (fuse.py): the module's bytes run
        self.saved = {}
        imports = self._wasi_mod.host_imports(module, self.wasi, stdout=stdout,
                                              stderr=stderr, **self.hw)
        self._room = None
        gc_collect()
        # the interpreter only: a fast-tier hook (fastrt.py) would replace the functions with
        # compiled Python, which breakpoints and stepping cannot see
        from . import runtime
        fast = getattr(runtime, "instance_hook", None)
        runtime.instance_hook = None
        try:
            self.inst = Instance(module, imports, self.limits)
        finally:
            runtime.instance_hook = fast
        self.nimp = module.decoded.n_imported_funcs
        for f in self.inst.funcs[self.nimp:]:
            f.code = self.code
            f.fused = True  # the module's own bytes: breakpoints and stepping see every instruction
            f.entry = None
        self.status = "loaded"
        self.gnames = self.module.global_names

    def polls_console(self):
        return self.remote or (sys.implementation.name == "micropython"
                               and sys.platform not in ("linux", "darwin", "win32"))

    def write(self, text):
        if self.write_fn is not None:
            self.write_fn(text)
            return
        out = self.wasi.fds.get(1)
        if out is not None and hasattr(out.handle, "flush"):
            out.handle.flush()
        sys.stdout.write(text)
        if hasattr(sys.stdout, "flush"):
            sys.stdout.flush()

    def _entry_points(self):
        """What `run` calls first: [_start], or an app's lifecycle functions (wiring.run_app)."""
        ex = self.inst.exports
        if self._wasi_mod.is_app(self.inst):
            names = ("_initialize", "_start", "setup", "loop")
        else:
            names = ("_start",)
        return [ex[n] for n in names if isinstance(ex.get(n), Function)]

    def _program(self):
        ex = self.inst.exports
        if self._wasi_mod.is_app(self.inst):
            from . import wiring
            return wiring.run_app(self.inst, self.loops, self._stderr(), self._before_loop)
        ex["_start"]()
        return 0

    def _stderr(self):
        err = self.stdio[2]
        return err if err is not None else sys.stderr

    def _before_loop(self, n):
        # an app between two calls of loop (a delay-bound loop may not reach a fuel slice for a
        # long time): a pending Ctrl-C stops at loop's first instruction
        if self._poller is not None:
            self._poll_console()
        if self.interrupted:
            self.goal = (self.inst.exports["loop"].start,)
            self.goal_depth = NOWHERE
            self.arm_all(None)

    def run_program(self, action):
        entries = self._entry_points()
        if not entries:
            self.write("error: the module has no _start function and no loop (not an "
                       "Arduino-style app): call its exports with `call EXPORT ARGS...`\n")
            return
        start = entries[0]
        self.status = "running"
        self.interrupted = False
        self.inside = {}         # call depth -> (function index, frame base) of a loop-first entry
        self.watch = {}          # return address -> call depths whose return clears `inside`
        self.goal = ()
        self.goal_depth = NOWHERE
        if (action == "step" or action == "next") and start.host is None:
            self.goal = (start.start,)
        self.arm_all(None)
        old_slice = interp.SLICE
        interp.SLICE = SLICE
        interp.debug_hook = self._hook
        undo = self._catch_interrupts()
        code = None
        try:
            try:
                code = self._program()
            except Exit as e:
                code = e.code
        except Trap as t:
            self.flush_guest()
            self._wasi_mod.print_trap(t, self)
            code = TRAP_STATUS
        except Quit:
            self.status = "quit"
        except KeyboardInterrupt:
            where = ""
            last = interp.last_stop
            if last[0] is not None:
                where = " in %s @ 0x%x" % (fname(last[0]), last[1])
            self.write("interrupted%s (this port cannot resume after Ctrl-C): the program ended\n"
                       % where)
            code = INTERRUPTED_STATUS
        finally:
            undo()
            interp.debug_hook = None
            interp.SLICE = old_slice
            self.disarm()
            self.state = None
        self.flush_guest()
        if self.status != "quit":
            self.status = "exited"
            self.exit_code = code
            self.write("program exited with status %d\n" % code)
        else:
            self.exit_code = code

    def flush_guest(self):
        for fd in (1, 2):
            e = self.wasi.fds.get(fd)
            if e is not None and hasattr(e.handle, "flush"):
                try:
                    e.handle.flush()
                except OSError:
                    pass

    def _catch_interrupts(self):
        """Ctrl-C while running sets a flag the hook looks at; returns the undo function."""
        if self.polls_console():
            import select
            self._poller = select.poll()
            self._poller.register(sys.stdin, select.POLLIN)
            kbd = None
            if sys.implementation.name == "micropython" and sys.platform not in ("linux", "darwin"):
                import micropython  # a board: Ctrl-C reaches stdin as a byte
                micropython.kbd_intr(-1)
                kbd = micropython

            def undo():
                self._poller = None
                if kbd is not None:
                    kbd.kbd_intr(3)
            return undo
        try:
            import signal
        except ImportError:
            return lambda: None

        def on_int(signum, frame):
            if self.interrupted or self.state is not None:
                # at the prompt (input() gives a fresh line), or a second Ctrl-C before the
                # program reached a stop
                raise KeyboardInterrupt
            self.interrupted = True

        try:
            old = signal.signal(signal.SIGINT, on_int)
        except ValueError:  # not the main thread
            return lambda: None
        return lambda: signal.signal(signal.SIGINT, old)

    def _poll_console(self):
        p = self._poller
        while p.poll(0):
            c = sys.stdin.read(1)
            if not c:
                break
            if c in INTERRUPT_BYTES:
                self.interrupted = True

    def disarm(self):
        """Puts back every patched byte: the code reads as the module's again (what decoding and
        disassembly need, so every stop starts here)."""
        code = self.code
        saved = self.saved
        for x in saved:
            code[x] = saved[x]
        saved.clear()

    def arm(self, offsets):
        code = self.code
        saved = self.saved
        for x in offsets:
            if x not in saved:
                saved[x] = code[x]
                code[x] = 0xFF

    def arm_all(self, st):
        """Patches breakpoints and the goal. Stopped at an instruction (st) that is one of them,
        that instruction must run first: its possible successors are patched instead, and the
        breakpoints are patched again when one of them is reached."""
        self.disarm()
        want = set(self.bp_at)
        for g in self.goal:
            want.add(g)
        for w in self.watch:
            want.add(w)
        if st is not None and st[1] in want:
            want.discard(st[1])
            for x in self._succ(st, True):
                want.add(x)
        self.arm(want)

    def _succ(self, st, into):
        """The offsets the instruction at st's pc can go to (into: a callee's first one)."""
        fn, pc, stp, fp, s, fr = st
        op, imm, npc = disasm.decode(self.orig, pc)
        side = fn.side
        if op == 0x0C or op == 0x05:
            return (side[stp],)
        if op == 0x0D or op == 0x04:
            return (side[stp], npc)
        if op == 0x0E:
            return [side[stp + 4 + 4 * d] for d in imm]  # header, then one entry per depth
        if op == 0x0F:
            return (fn.end - 1,)
        if op == 0x0B:
            if npc != fn.end:
                return (npc,)
            if fr and fr[-4].inst is self.inst:
                return (fr[-3],)
            return ()
        if op == 0x00:
            return ()
        if into and (op == 0x10 or op == 0x11):
            f = None
            if op == 0x10:
                f = self.inst.funcs[imm]
            else:
                try:
                    f = self.inst.tables[imm[1]].elems[s[-1]]
                except (IndexError, TypeError):
                    f = None
            if isinstance(f, Function) and f.host is None and f.inst is self.inst:
                return (f.start,)
        return (npc,)

    def _hook(self, st, event, arg):
        if event == "break":
            self._on_break(st)
        elif event == "trap":
            if self.trap_break:
                self.disarm()
                self.goal = ()
                self._stop(st, "trap", arg, "trap: %s" % arg.reason)
        else:  # "tick" / "call": a fuel slice ran out
            if self._poller is not None:
                self._poll_console()
            if self.interrupted:
                self.interrupted = False
                self.disarm()
                self._resume(self._stop(st, event, arg, "interrupted"), st, event, arg)

    def _on_break(self, st):
        pc = st[1]
        self.disarm()
        if pc in self.watch:
            self._returned_to(pc, len(st[5]) >> 2)
        hit = []
        entry = None
        for bp in self.bp_at.get(pc, ()):
            if bp.entry_of is not None:
                if entry is None:
                    entry = self._entered(st, bp.entry_of)
                if not entry:
                    continue  # the loop at the function's start branched back: not a call
            bp.hits += 1
            if bp.due():
                hit.append(bp)
        reached = pc in self.goal and (len(st[5]) >> 2) <= self.goal_depth
        if reached and self.repeat > 0 and not hit and not self.interrupted:
            self.repeat -= 1
            self._resume(self.last_action, st, "insn", None)
            return
        if hit or reached or self.interrupted:
            msgs = [] if hit or not self.interrupted else ["interrupted"]
            self.interrupted = False
            for bp in hit:
                msgs.append("breakpoint %d, hit %d%s" % (bp.num, bp.hits, self._call_args(st, bp)))
            if reached and self.finishing is not None:
                msgs.append(self._returned(st))
            self.goal = ()
            self._resume(self._stop(st, "insn", None, "\n".join(msgs)), st, "insn", None)
        else:
            self.arm_all(st)

    def _entered(self, st, f):
        """At the first instruction of f, a `loop`: a new call of f, or its loop going round?
        Calls are told apart by their frames: one at this depth that has not returned yet (its
        return address is watched) is the loop."""
        fn, pc, stp, fp, s, fr = st
        depth = len(fr) >> 2
        if self.inside.get(depth) == (f.idx, fp):
            return False
        self.inside[depth] = (f.idx, fp)
        if fr and fr[-4].inst is self.inst:
            self.watch.setdefault(fr[-3], []).append(depth - 1)
        return True

    def note_frames_of(self, f):
        """f's frames already on the stack are calls in progress (for _entered)."""
        fn, pc, stp, fp, s, fr = self.state
        depth = len(fr) >> 2
        for k in range(depth + 1):
            fk, fpk = (fn, fp) if k == depth else (fr[4 * k], fr[4 * k + 3])
            if fk is f:
                self.inside[k] = (f.idx, fpk)
                if k > 0 and fr[4 * k - 4].inst is self.inst:
                    self.watch.setdefault(fr[4 * k - 3], []).append(k - 1)

    def _returned_to(self, pc, depth):
        depths = self.watch[pc]
        if depth in depths:
            depths.remove(depth)
            self.inside.pop(depth + 1, None)
            if not depths:
                del self.watch[pc]

    def _call_args(self, st, bp):
        if ":" not in bp.what:
            return ""
        fn, pc, stp, fp, s, fr = st
        op, idx, npc = disasm.decode(self.orig, pc)
        n = self.inst.funcs[idx].nparams
        vals = [format_untyped(v).split(" ")[0] for v in s[len(s) - n:]] if n else []
        return ": %s(%s)" % (bp.what, ", ".join(vals))

    def _returned(self, st):
        f = self.finishing
        self.finishing = None
        s = st[4]
        n = f.nres
        if not n:
            return "%s returned" % fname(f)
        vals = [format_value(f.ftype[1][i], s[len(s) - n + i]) for i in range(n)]
        return "%s returned %s" % (fname(f), ", ".join(vals))

    def _stop(self, st, kind, arg, msg):
        """Stopped: self.stopped(msg) (the shell) says how to go on; returns that action. A stop
        inside `call_export` from a stopped program's prompt restores the outer stop after."""
        outer = (self.state, self.kind, self.arg, self.sel)
        self.state = st
        self.kind = kind
        self.arg = arg
        self.sel = 0
        self.flush_guest()
        try:
            action = self.stopped(msg)
        finally:
            self.state, self.kind, self.arg, self.sel = outer
        if action == "quit":
            raise Quit()
        return action

    def stopped(self, message):
        """At a stop (self.state set): returns the action to go on with. The shell's prompt."""
        raise NotImplementedError("a debugger front end defines stopped()")

    def _resume(self, action, st, kind, arg):
        if kind == "trap":
            if action != "continue":
                self.write("the trap ends the program\n")
            return
        self.last_action = action
        fn, pc, stp, fp, s, fr = st
        depth = len(fr) >> 2
        goal = ()
        gdepth = NOWHERE
        self.finishing = None
        if action == "step" or action == "next":
            if action == "next":
                gdepth = depth
            if kind == "insn":
                goal = self._succ(st, action == "step")
            elif kind == "tick":
                goal = (disasm.decode(self.orig, pc)[2],)
            elif action == "step":  # "call": the callee is about to be entered
                goal = (arg.start,)
            else:
                goal = (pc,)
        elif action == "finish":
            if fr and fr[-4].inst is self.inst:
                goal = (fr[-3],)
                gdepth = depth - 1
                self.finishing = fn
        self.goal = goal
        self.goal_depth = gdepth
        self.arm_all(st if kind == "insn" else None)

    def func(self, text):
        """A function by name-section name, export name, or index."""
        funcs = self.inst.funcs
        if text.isdigit():
            i = int(text)
            if i >= len(funcs):
                raise DebugError("no function %d (the module has %d)" % (i, len(funcs)))
            return funcs[i]
        for f in funcs:
            if f.name == text:
                return f
        f = self.inst.exports.get(text)
        if isinstance(f, Function):
            return f
        raise DebugError("no function named %r" % text)

    def func_at(self, off):
        for f in self.inst.funcs[self.nimp:]:
            if f.start <= off < f.end:
                return f
        return None

    def starts_of(self, f):
        """f's instruction offsets (a list: for disassembly, not kept)."""
        return disasm.starts(self.orig, f.start, f.end)

    def insn_at(self, f, off):
        """The start of the instruction of f holding offset off (decoded, nothing stored)."""
        pc = f.start
        code = self.orig
        while True:
            nxt = disasm.decode(code, pc)[2]
            if nxt > off or nxt >= f.end:
                return pc
            pc = nxt

    def _wasi_sites(self, name):
        idx = -1
        for i in range(self.nimp):
            if self.inst.funcs[i].name == name and self.inst.funcs[i].host is not None:
                idx = i
        if idx < 0:
            raise DebugError("the module does not import %r" % name)
        sites = []
        code = self.orig
        for f in self.inst.funcs[self.nimp:]:
            pc = f.start
            while pc < f.end:
                op, imm, nxt = disasm.decode(code, pc)
                if op == 0x10 and imm == idx:
                    sites.append(pc)
                pc = nxt
        if not sites:
            raise DebugError("%s is imported but never called directly" % name)
        return sites

    def add_breakpoint(self, loc, cond=(">=", 1)):
        """A breakpoint at LOC (a function name, index or export name, 0xOFFSET, or wasi:NAME /
        wiring:NAME for the calls of an import); cond (">=" | "==" | "%", n). Returns it."""
        if loc.startswith("wasi:") or loc.startswith("wiring:"):
            offsets = self._wasi_sites(loc[loc.index(":") + 1:])
            what = loc
        elif loc.startswith("0x"):
            off = parse_int(loc)
            f = self.func_at(off)
            if f is None:
                raise DebugError("0x%x is not in a function body" % off)
            offsets = [self.insn_at(f, off)]
            what = fname(f)
        else:
            f = self.func(loc)
            if f.host is not None:
                raise DebugError("%s is an imported function: use break %s:%s" % (
                    loc, "wiring" if self._import_module(f) == "wiring" else "wasi", f.name))
            offsets = [f.start]
            what = fname(f)
        bp = Breakpoint(self.next_bp, what, offsets, cond)
        if not loc.startswith("0x") and ":" not in loc and self.orig[offsets[0]] == 0x03:
            bp.entry_of = f
            if self.state is not None:
                self.note_frames_of(f)
        self.next_bp += 1
        self.bps.append(bp)
        for x in offsets:
            self.bp_at.setdefault(x, []).append(bp)
        return bp

    def delete_breakpoints(self, num=None):
        """Deletes breakpoint num (all without it); False if there is no such breakpoint."""
        keep = [bp for bp in self.bps if bp.num != num] if num is not None else []
        if num is not None and len(keep) == len(self.bps):
            return False
        self.bps = keep
        self.bp_at = {}
        for bp in keep:
            for x in bp.offsets:
                self.bp_at.setdefault(x, []).append(bp)
        return True

    def _import_module(self, f):
        m = self.module.decoded
        if 0 <= f.idx < self.nimp:
            k = 0
            for imp in m.imports:
                if imp[2] == 0:
                    if k == f.idx:
                        return imp[0]
                    k += 1
        return None

    def call_export(self, f, bits):
        """Calls wasm function f with bit patterns under the debugger: breakpoints stop inside it
        and a trap stops where it happens (then propagates, as Exit does). From a stopped
        program's prompt the stop is restored after."""
        outer = (self.state, self.kind, self.arg, self.sel, self.goal, self.goal_depth,
                 self.repeat, self.finishing, self.inside, self.watch, self.last_action,
                 self.status)
        saved = list(self.saved)
        self.disarm()
        hook = interp.debug_hook
        old_slice = interp.SLICE
        self.state = None
        self.goal = ()
        self.goal_depth = NOWHERE
        self.repeat = 0
        self.finishing = None
        self.inside = {}
        self.watch = {}
        self.status = "running"
        self.interrupted = False
        self.arm_all(None)
        undo = self._catch_interrupts() if hook is None else None
        interp.debug_hook = self._hook
        interp.SLICE = SLICE
        try:
            return f.call_bits(bits)
        finally:
            if undo is not None:
                undo()
            interp.debug_hook = hook
            interp.SLICE = old_slice
            self.disarm()
            (self.state, self.kind, self.arg, self.sel, self.goal, self.goal_depth, self.repeat,
             self.finishing, self.inside, self.watch, self.last_action, self.status) = outer
            self.arm(saved)
            self.flush_guest()

    def cur_pc(self):
        fn, pc = self.state[0], self.state[1]
        if self.kind == "call":
            return self.insn_at(fn, pc - 1)
        if self.kind == "trap":
            return self.insn_at(fn, pc)
        return pc

    def frames(self):
        """Innermost first: (function, pc, frame base, end of its operand stack)."""
        fn, pc, stp, fp, s, fr = self.state
        out = [(fn, self.cur_pc(), fp, len(s))]
        top = fp
        i = len(fr) - 4
        while i >= 0:
            f = fr[i]
            out.append((f, self.insn_at(f, fr[i + 1] - 1) if f.inst is self.inst else fr[i + 1],
                        fr[i + 3], top))
            top = fr[i + 3]
            i -= 4
        return out

    def local_types(self, f):
        m = self.module.decoded
        return list(f.ftype[0]) + list(m.codes[f.idx - self.nimp][0])
