"""The wasm debugger: breakpoints, stepping, backtraces and inspection of a running WASI module.

    mpwasi.debug("app.wasm", args=["5"])          # the interactive prompt (board REPL or desktop)
    python3 -m mpwasi --debug app.wasm 5          # the same from the command line
    Debugger("app.wasm", args=["5"]).script(["break fib", "run", "bt", "quit"])   # tools: -> text

How it works, at no cost to runs without a debugger (see interp.debug_hook):
- the instance's functions execute over a bytearray COPY of the module's code; a breakpoint is an
  0xFF byte patched over an instruction's opcode, which makes the interpreter call the hook;
- the hook puts the original bytes back, and to go on without losing a breakpoint (or to stop
  after one instruction, for `step`) it patches every instruction that can run next: the next
  instruction, branch targets (from the side table), a callee's first instruction, the caller's
  return address. `next` and `finish` patch a return address and stop there only at the right
  call depth, so recursion does not fool them;
- fuel slices make the interpreter call the hook every SLICE loop iterations or calls, where a
  pending Ctrl-C stops the program at a clean instruction boundary;
- a trap calls the hook before it propagates: the prompt shows where and why.
"""
import sys
import struct

from . import interp
from . import disasm
from .binary import I32, I64, F32, F64, FUNCREF, TYPE_NAMES
from .errors import Trap, Exit, WasmError
from .runtime import Function, from_bits, to_bits
from .protocol import DEBUG_PROMPT, DEBUG_MARK, DEBUG_INTERRUPT, CTRL_C

PROMPT = DEBUG_PROMPT
REMOTE_MARK = DEBUG_MARK      # written before the prompt when a host tool drives the prompt
INTERRUPT_BYTES = CTRL_C + DEBUG_INTERRUPT  # a board console's Ctrl-C, and what `mpwasi debug` sends
SLICE = 2000                 # loop iterations / calls between two looks at Ctrl-C
TRAP_STATUS = 134
NOWHERE = 1 << 30
ROOM_MARGIN = 16384          # held with the linear memory's room for the instance's small objects

HELP = """commands (LOC: a function name, a function index, 0xOFFSET or wasi:NAME):
  break LOC [N|=N|%N]   stop at LOC: from the Nth hit on, only the Nth, every Nth (b)
  break trap            stop where a trap happens (on by default; `delete trap` turns it off)
  delete [N|trap]       delete breakpoint N (all without N)
  info                  list breakpoints
  run / continue        start / go on until a breakpoint, a trap or the end (r, c)
  step [N]              one instruction, into calls (s)
  next [N]              one instruction, over calls (n)
  finish                until the current function returns; shows what it returned
  bt [N]                the wasm call stack, innermost N frames (where)
  frame [N] / up / down select the frame that locals, stack, disasm and set work on
  locals / stack        the selected frame's locals / operand stack
  globals               the instance's globals
  mem ADDR [LEN]        hex dump (ADDR: number, lN local, gN global, with +/-offset)
  mem ADDR i32|i64|f32|f64|u8|str [COUNT]   typed view of memory
  set local N VALUE     change a local of the selected frame (also: set global N VALUE)
  disasm [FUNC]         instructions around the current position, or a whole function
  call EXPORT ARGS...   call an exported function (breakpoints do not stop inside it)
  quit                  end the session (q)
Ctrl-C while the program runs stops it at the next loop iteration or call."""


def gc_collect():
    try:
        import gc
        gc.collect()
    except ImportError:
        pass


class DebugError(Exception):
    """A command that cannot be done: the message says why."""


class _Quit(Exception):
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


def _fname(f):
    if f.name:
        return f.name
    return "func[%d]" % f.idx


def _parse_int(text):
    try:
        return int(text, 0)
    except ValueError:
        raise DebugError("not a number: %s" % text)


def format_value(t, bits):
    """A typed value as text: i32/i64 signed (with hex when it helps), floats, references."""
    if t == I32 or t == I64:
        v = from_bits(t, bits)
        if -10 < v < 10:
            return "%d" % v
        return "%d (0x%x)" % (v, bits)
    if t == F32 or t == F64:
        return repr(from_bits(t, bits))
    if t == FUNCREF:
        return "null" if bits is None else "<func %s>" % _fname(bits)
    return "null" if bits is None else repr(bits)


def _untyped(bits):
    if bits is None or isinstance(bits, Function):
        return format_value(FUNCREF, bits)
    if not isinstance(bits, int):
        return repr(bits)
    return format_value(I32 if bits < 0x100000000 else I64, bits)


def _escape(raw):
    out = []
    for b in raw:
        if b == 34 or b == 92:
            out.append("\\" + chr(b))
        elif 32 <= b < 127:
            out.append(chr(b))
        elif b == 10:
            out.append("\\n")
        else:
            out.append("\\x%02x" % b)
    return "".join(out)


def _sections(data):
    """(id, start, end) of each section of a module."""
    out = []
    pos = 8
    while pos < len(data):
        sid = data[pos]
        size, pos = disasm._uleb(data, pos + 1)
        out.append((sid, pos, pos + size))
        pos += size
    return out


def _global_names(data):
    """Global names from the "name" section (subsection 7), which LLVM writes."""
    names = {}
    try:
        for sid, pos, end in _sections(data):
            if sid != 0:
                continue
            n, p = disasm._uleb(data, pos)
            if bytes(data[p:p + n]) != b"name":
                continue
            p += n
            while p < end:
                sub = data[p]
                ssize, p = disasm._uleb(data, p + 1)
                send = p + ssize
                if sub == 7:
                    count, p = disasm._uleb(data, p)
                    for _ in range(count):
                        idx, p = disasm._uleb(data, p)
                        ln, p = disasm._uleb(data, p)
                        names[idx] = str(bytes(data[p:p + ln]), "utf-8")
                        p += ln
                p = send
    except (IndexError, ValueError, UnicodeError):
        pass
    return names


def _initial_memory(data):
    """The bytes of linear memory a module defines to start with (0 if none or unreadable)."""
    try:
        for sid, pos, end in _sections(data):
            if sid == 5:
                count, p = disasm._uleb(data, pos)
                if count:
                    return disasm._uleb(data, p + 1)[0] * 65536
    except IndexError:
        pass
    return 0


class Debugger:
    """A debugger over one WASI command module: the prompt is built on it, tools drive it.

    read(prompt) -> a command line, or None at the end of input; write(text) takes its output.
    script(commands) runs a whole session from a list and returns its transcript (the guest's
    output included unless stdout/stderr are given)."""

    def __init__(self, module, args=(), env=None, dirs=None, limits=None, argv0=None,
                 stdin=None, stdout=None, stderr=None, read=None, write=None, remote=False):
        from . import wasi as _wasi
        self._wasi_mod = _wasi
        if isinstance(module, str):
            data = _wasi.read_module(module)
            if argv0 is None:
                argv0 = module.rsplit("/", 1)[-1]
        else:
            data = module
        import mpwasi
        # On a board the linear memory, one large block, is allocated last, when decoding has
        # scattered small objects over the heap (and the debugger's code took its share): room
        # for it is held from here until the instance is made.
        self._room = None
        if sys.implementation.name == "micropython":
            need = _initial_memory(data)
            if need:
                gc_collect()
                try:
                    self._room = bytearray(need + ROOM_MARGIN)
                except MemoryError:
                    pass
        self.module = mpwasi.Module(data)
        data = None
        self.argv = [argv0 or "main.wasm"] + list(args)
        self.env, self.dirs, self.limits = env, dirs, limits
        self.stdio = (stdin, stdout, stderr)
        self.remote = remote
        self._read_fn = read
        self._write_fn = write
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
        self._load()

    # ------------------------------------------------------------------ loading
    def _load(self):
        import mpwasi
        if getattr(self, "inst", None) is not None:  # again: free the last run's instance first
            self.wasi.close()
            self.inst = self.wasi = None
        stdin, stdout, stderr = self.stdio
        if stdin is None and self._polls_console():
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
        imports = self.wasi.imports()
        self._room = None
        gc_collect()
        # the interpreter only: a fast-tier hook (compile.py) would replace the functions with
        # compiled Python, which breakpoints and stepping cannot see
        from . import runtime
        fast = getattr(runtime, "instance_hook", None)
        runtime.instance_hook = None
        try:
            self.inst = mpwasi.Instance(module, imports, self.limits)
        finally:
            runtime.instance_hook = fast
        self.nimp = module._m.n_imported_funcs
        for f in self.inst.funcs[self.nimp:]:
            f.code = self.code
            f.fused = True  # the module's own bytes: breakpoints and stepping see every instruction
            f.entry = None
        self.status = "loaded"
        self.gnames = _global_names(self.orig)

    def _polls_console(self):
        return self.remote or (sys.implementation.name == "micropython"
                               and sys.platform not in ("linux", "darwin", "win32"))

    # ------------------------------------------------------------------ I/O
    def write(self, text):
        if self._write_fn is not None:
            self._write_fn(text)
            return
        out = self.wasi.fds.get(1)
        if out is not None and hasattr(out.handle, "flush"):
            out.handle.flush()
        sys.stdout.write(text)
        if hasattr(sys.stdout, "flush"):
            sys.stdout.flush()

    def _read(self):
        if self._read_fn is not None:
            return self._read_fn(PROMPT)
        if self.remote:
            self.write(REMOTE_MARK + PROMPT)
            line = sys.stdin.readline()
            return line if line else None
        try:
            return input(PROMPT)
        except EOFError:
            self.write("\n")
            return None
        except KeyboardInterrupt:  # Ctrl-C at the prompt: a fresh line
            self.write("\n")
            return "#"

    def script(self, commands):
        """Runs a session from a list of commands; returns the transcript (prompts and commands
        echoed, the guest's output in place when its stdout/stderr were not given)."""
        out = []
        todo = list(commands)

        def read(prompt):
            if not todo:
                return None
            line = todo.pop(0)
            out.append(prompt + line + "\n")
            return line

        class _Sink:
            def write(self, b):
                out.append(b if isinstance(b, str) else str(bytes(b), "utf-8"))
                return len(b)

            def flush(self):
                pass

        self._read_fn = read
        self._write_fn = out.append
        if self.stdio[1] is None and self.stdio[2] is None:
            self.stdio = (self.stdio[0], _Sink(), _Sink())
            self._load()
        self.session()
        return "".join(out)

    # ------------------------------------------------------------------ the session
    def session(self):
        """The prompt until `quit` (or the end of input); returns the program's exit status."""
        try:
            action = self._prompt()
            while action != "quit":
                if self.status == "exited" and action != "run":
                    self.write("error: the program has exited (`run` starts it again)\n")
                elif action in ("run", "continue", "step", "next"):
                    if self.status == "exited":
                        self._load()
                        self.write("restarting %s\n" % self.argv[0])
                    self._run_program(action)
                else:
                    self.write("error: the program is not running\n")
                if self.status == "quit":
                    break
                action = self._prompt()
        finally:
            self.wasi.close()
        return self.exit_code

    def _run_program(self, action):
        start = self.inst.exports.get("_start")
        if not isinstance(start, Function):
            self.write("error: the module has no _start function\n")
            return
        self.status = "running"
        self.interrupted = False
        self.inside = {}         # call depth -> (function index, frame base) of a loop-first entry
        self.watch = {}          # return address -> call depths whose return clears `inside`
        self.goal = ()
        self.goal_depth = NOWHERE
        if (action == "step" or action == "next") and start.host is None:
            self.goal = (start.start,)
        self._arm_all(None)
        old_slice = interp.SLICE
        interp.SLICE = SLICE
        interp.debug_hook = self._hook
        undo = self._catch_interrupts()
        code = None
        try:
            try:
                start()
                code = 0
            except Exit as e:
                code = e.code
        except Trap as t:
            self._flush_guest()
            self._wasi_mod.print_trap(t, self)
            code = TRAP_STATUS
        except _Quit:
            self.status = "quit"
        except KeyboardInterrupt:
            where = ""
            last = interp._last
            if last[0] is not None:
                where = " in %s @ 0x%x" % (_fname(last[0]), last[1])
            self.write("interrupted%s (this port cannot resume after Ctrl-C): the program ended\n"
                       % where)
            code = 130
        finally:
            undo()
            interp.debug_hook = None
            interp.SLICE = old_slice
            self._disarm()
            self.state = None
        self._flush_guest()
        if self.status != "quit":
            self.status = "exited"
            self.exit_code = code
            self.write("program exited with status %d\n" % code)
        else:
            self.exit_code = code

    def _flush_guest(self):
        for fd in (1, 2):
            e = self.wasi.fds.get(fd)
            if e is not None and hasattr(e.handle, "flush"):
                try:
                    e.handle.flush()
                except OSError:
                    pass

    def _catch_interrupts(self):
        """Ctrl-C while running sets a flag the hook looks at; returns the undo function."""
        if self._polls_console():
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

    # ------------------------------------------------------------------ patching
    def _disarm(self):
        """Puts back every patched byte: the code reads as the module's again (what decoding and
        disassembly need, so every stop starts here)."""
        code = self.code
        saved = self.saved
        for x in saved:
            code[x] = saved[x]
        saved.clear()

    def _arm(self, offsets):
        code = self.code
        saved = self.saved
        for x in offsets:
            if x not in saved:
                saved[x] = code[x]
                code[x] = 0xFF

    def _arm_all(self, st):
        """Patches breakpoints and the goal. Stopped at an instruction (st) that is one of them,
        that instruction must run first: its possible successors are patched instead, and the
        breakpoints are patched again when one of them is reached."""
        self._disarm()
        want = set(self.bp_at)
        for g in self.goal:
            want.add(g)
        for w in self.watch:
            want.add(w)
        if st is not None and st[1] in want:
            want.discard(st[1])
            for x in self._succ(st, True):
                want.add(x)
        self._arm(want)

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

    # ------------------------------------------------------------------ the hook
    def _hook(self, st, event, arg):
        if event == "break":
            self._on_break(st)
        elif event == "trap":
            if self.trap_break:
                self._disarm()
                self.goal = ()
                self._stop(st, "trap", arg, "trap: %s" % arg.reason)
        else:  # "tick" / "call": a fuel slice ran out
            if self._poller is not None:
                self._poll_console()
            if self.interrupted:
                self.interrupted = False
                self._disarm()
                self._resume(self._stop(st, event, arg, "interrupted"), st, event, arg)

    def _on_break(self, st):
        pc = st[1]
        self._disarm()
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
            self.interrupted = False
            msgs = []
            for bp in hit:
                msgs.append("breakpoint %d, hit %d%s" % (bp.num, bp.hits, self._call_args(st, bp)))
            if reached and self.finishing is not None:
                msgs.append(self._returned(st))
            self.goal = ()
            self._resume(self._stop(st, "insn", None, "\n".join(msgs)), st, "insn", None)
        else:
            self._arm_all(st)

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

    def _note_frames_of(self, f):
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
        if not bp.what.startswith("wasi:"):
            return ""
        fn, pc, stp, fp, s, fr = st
        op, idx, npc = disasm.decode(self.orig, pc)
        n = self.inst.funcs[idx].nparams
        vals = [_untyped(v).split(" ")[0] for v in s[len(s) - n:]] if n else []
        return ": %s(%s)" % (bp.what, ", ".join(vals))

    def _returned(self, st):
        f = self.finishing
        self.finishing = None
        s = st[4]
        n = f.nres
        if not n:
            return "%s returned" % _fname(f)
        vals = [format_value(f.ftype[1][i], s[len(s) - n + i]) for i in range(n)]
        return "%s returned %s" % (_fname(f), ", ".join(vals))

    def _stop(self, st, kind, arg, msg):
        """Shows where the program stopped and runs the prompt; returns the resuming action."""
        self.state = st
        self.kind = kind
        self.arg = arg
        self.sel = 0
        self._flush_guest()
        if msg:
            self.write(msg + "\n")
        self.write(self._where_line() + "\n")
        try:
            action = self._prompt()
        finally:
            self.state = None
        if action == "quit":
            raise _Quit()
        return action

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
        self._arm_all(st if kind == "insn" else None)

    # ------------------------------------------------------------------ the prompt
    def _prompt(self):
        while True:
            line = self._read()
            if line is None:
                return "quit"
            line = line.strip()
            if line.startswith("#"):  # a comment
                continue
            if not line:
                line = self.last
                if not line:
                    continue
            try:
                text, action = self.command(line)
            except DebugError as e:
                text, action = "error: %s" % e, None
            except (WasmError, Exit) as e:
                text, action = "error: %s" % e, None
            except MemoryError:
                text, action = "error: not enough memory for that command", None
            except (ValueError, TypeError, IndexError, KeyError, AttributeError) as e:
                text, action = "error: %s: %s" % (type(e).__name__, e), None
            if text:
                self.write(text + "\n")
            if action is not None:
                self.last = line if action in ("step", "next") else ""
                return action

    def command(self, line):
        """One command -> (output text, resuming action or None). Resuming actions ("continue",
        "step", "next", "finish", "quit") are carried out by the session."""
        words = line.split()
        cmd = words[0]
        rest = words[1:]
        cmd = _ALIASES.get(cmd, cmd)
        handler = getattr(self, "cmd_" + cmd, None)
        if handler is None:
            raise DebugError("unknown command %r (try help)" % cmd)
        return handler(rest)

    # ---- running
    def _need_stopped(self):
        if self.state is None:
            raise DebugError("the program is not stopped (run it, or set a breakpoint)")

    def _resuming(self, action, rest):
        n = 1
        if rest:
            n = _parse_int(rest[0])
            if n < 1:
                raise DebugError("the count must be at least 1")
        if self.kind == "trap" and action != "continue":
            raise DebugError("stopped at a trap: `continue` ends the program, `quit` the session")
        self.repeat = n - 1
        return None, action

    def cmd_continue(self, rest):
        return self._resuming("continue", [])

    def cmd_run(self, rest):
        if self.status == "running":
            raise DebugError("the program is already running (continue, or quit)")
        return None, "run"

    def cmd_step(self, rest):
        return self._resuming("step", rest)

    def cmd_next(self, rest):
        return self._resuming("next", rest)

    def cmd_finish(self, rest):
        self._need_stopped()
        if self.kind == "trap":
            raise DebugError("stopped at a trap: `continue` ends the program, `quit` the session")
        fr = self.state[5]
        if not fr:
            return "the outermost frame: finish runs to the end", "continue"
        return None, "finish"

    def cmd_quit(self, rest):
        return None, "quit"

    def cmd_help(self, rest):
        return HELP, None

    # ---- breakpoints
    def _func(self, text):
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

    def _func_at(self, off):
        for f in self.inst.funcs[self.nimp:]:
            if f.start <= off < f.end:
                return f
        return None

    def _starts_of(self, f):
        """f's instruction offsets (a list: for disassembly, not kept)."""
        return disasm.starts(self.orig, f.start, f.end)

    def _insn_at(self, f, off):
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

    def cmd_break(self, rest):
        if not rest:
            raise DebugError("break LOC [N|=N|%N]")
        loc = rest[0]
        if loc == "trap":
            self.trap_break = True
            return "will stop at traps", None
        cond = (">=", 1)
        if len(rest) > 1:
            c = rest[1]
            kind = ">="
            if c[0] in "=%":
                kind = "==" if c[0] == "=" else "%"
                c = c[1:]
            n = _parse_int(c)
            if n < 1:
                raise DebugError("the hit count must be at least 1")
            cond = (kind, n)
        if loc.startswith("wasi:"):
            offsets = self._wasi_sites(loc[5:])
            what = loc
        elif loc.startswith("0x"):
            off = _parse_int(loc)
            f = self._func_at(off)
            if f is None:
                raise DebugError("0x%x is not in a function body" % off)
            offsets = [self._insn_at(f, off)]
            what = _fname(f)
        else:
            f = self._func(loc)
            if f.host is not None:
                raise DebugError("%s is an imported function: use break wasi:%s" % (loc, f.name))
            offsets = [f.start]
            what = _fname(f)
        bp = Breakpoint(self.next_bp, what, offsets, cond)
        if not loc.startswith("0x") and not loc.startswith("wasi:") and self.orig[offsets[0]] == 0x03:
            bp.entry_of = f
            if self.state is not None:
                self._note_frames_of(f)
        self.next_bp += 1
        self.bps.append(bp)
        for x in offsets:
            self.bp_at.setdefault(x, []).append(bp)
        return "breakpoint %s" % bp.describe(), None

    def cmd_delete(self, rest):
        if rest and rest[0] == "trap":
            self.trap_break = False
            return "will not stop at traps", None
        if rest:
            n = _parse_int(rest[0])
            keep = [bp for bp in self.bps if bp.num != n]
            if len(keep) == len(self.bps):
                raise DebugError("no breakpoint %d" % n)
        else:
            keep = []
        self.bps = keep
        self.bp_at = {}
        for bp in keep:
            for x in bp.offsets:
                self.bp_at.setdefault(x, []).append(bp)
        return "deleted", None

    def cmd_info(self, rest):
        lines = [bp.describe() for bp in self.bps]
        lines.append("stop at traps: %s" % ("yes" if self.trap_break else "no"))
        return "\n".join(lines), None

    # ---- inspection
    def _cur_pc(self):
        fn, pc = self.state[0], self.state[1]
        if self.kind == "call":
            return self._insn_at(fn, pc - 1)
        if self.kind == "trap":
            return self._insn_at(fn, pc)
        return pc

    def _frames(self):
        """Innermost first: (function, pc, frame base, end of its operand stack)."""
        fn, pc, stp, fp, s, fr = self.state
        out = [(fn, self._cur_pc(), fp, len(s))]
        top = fp
        i = len(fr) - 4
        while i >= 0:
            f = fr[i]
            out.append((f, self._insn_at(f, fr[i + 1] - 1) if f.inst is self.inst else fr[i + 1],
                        fr[i + 3], top))
            top = fr[i + 3]
            i -= 4
        return out

    def _insn_text(self, f, pc):
        if f.inst is not self.inst or not f.start <= pc < f.end:
            return "?"
        op, imm, npc = disasm.decode(self.orig, pc)
        callee = None
        if op == 0x10 and imm < len(self.inst.funcs):
            c = self.inst.funcs[imm]
            callee = ("wasi:" + c.name) if c.host is not None and c.name else _fname(c)
        return disasm.text(op, imm, callee)

    def _where_line(self):
        f, pc, fp, end = self._frames()[0]
        return "%s @ 0x%x (func %d): %s" % (_fname(f), pc, f.idx, self._insn_text(f, pc))

    def cmd_bt(self, rest):
        self._need_stopped()
        lines = []
        frames = self._frames()
        n = len(frames)
        if rest:
            n = min(n, _parse_int(rest[0]))
        for i in range(n):
            f, pc, fp, end = frames[i]
            mark = "*" if i == self.sel else " "
            lines.append("%s#%d  %s @ 0x%x (func %d)" % (mark, i, _fname(f), pc, f.idx))
        return "\n".join(lines), None

    def cmd_frame(self, rest):
        self._need_stopped()
        frames = self._frames()
        if rest:
            n = _parse_int(rest[0])
            if not 0 <= n < len(frames):
                raise DebugError("no frame %d (0..%d)" % (n, len(frames) - 1))
            self.sel = n
        f, pc, fp, end = frames[self.sel]
        return "#%d  %s @ 0x%x (func %d): %s" % (self.sel, _fname(f), pc, f.idx,
                                                 self._insn_text(f, pc)), None

    def cmd_up(self, rest):
        return self.cmd_frame([str(self.sel + 1)])

    def cmd_down(self, rest):
        return self.cmd_frame([str(self.sel - 1)])

    def _local_types(self, f):
        m = self.module._m
        return list(f.ftype[0]) + list(m.codes[f.idx - self.nimp][0])

    def _sel_frame(self):
        self._need_stopped()
        return self._frames()[self.sel]

    def cmd_locals(self, rest):
        f, pc, fp, end = self._sel_frame()
        s = self.state[4]
        types = self._local_types(f)
        lines = []
        for i in range(len(types)):
            kind = "param " if i < f.nparams else ""
            lines.append("l%d  %s%s = %s" % (i, kind, TYPE_NAMES.get(types[i], "?"),
                                             format_value(types[i], s[fp + i])))
        if not lines:
            return "%s has no locals" % _fname(f), None
        return "\n".join(lines), None

    def cmd_stack(self, rest):
        f, pc, fp, end = self._sel_frame()
        s = self.state[4]
        base = fp + len(self._local_types(f))
        vals = s[base:end]
        if not vals:
            return "the operand stack is empty", None
        lines = []
        for i in range(len(vals)):
            top = "  <- top" if i == len(vals) - 1 else ""
            lines.append("[%d] %s%s" % (i, _untyped(vals[i]), top))
        return "\n".join(lines), None

    def cmd_globals(self, rest):
        lines = []
        gs = self.inst.globals
        for i in range(len(gs)):
            g = gs[i]
            name = self.gnames.get(i)
            lines.append("g%d  %s%s%s = %s" % (i, (name + " ") if name else "",
                                              "mut " if g.mutable else "",
                                              TYPE_NAMES.get(g.valtype, "?"),
                                              format_value(g.valtype, g.bits)))
        return "\n".join(lines) if lines else "no globals", None

    def _addr(self, text):
        """ADDR: a number, lN (a local of the selected frame) or gN (a global), +/- a number."""
        sign = 0
        for i in range(1, len(text)):
            if text[i] in "+-":
                sign = i
                break
        base, off = (text[:sign], _parse_int(text[sign:])) if sign else (text, 0)
        if base[0] == "l" and base[1:].isdigit():
            f, pc, fp, end = self._sel_frame()
            n = int(base[1:])
            if n >= len(self._local_types(f)):
                raise DebugError("%s has no local %d" % (_fname(f), n))
            v = self.state[4][fp + n]
        elif base[0] == "g" and base[1:].isdigit():
            n = int(base[1:])
            if n >= len(self.inst.globals):
                raise DebugError("no global %d" % n)
            v = self.inst.globals[n].bits
        else:
            v = _parse_int(base)
        if not isinstance(v, int):
            raise DebugError("%s is not a number" % base)
        return (v + off) & 0xFFFFFFFF

    def cmd_mem(self, rest):
        if not rest:
            raise DebugError("mem ADDR [LEN] | mem ADDR i32|i64|f32|f64|u8|str [COUNT]")
        mem = self.inst.memory
        if mem is None:
            raise DebugError("the module has no memory")
        data = mem.data
        addr = self._addr(rest[0])
        kind = rest[1] if len(rest) > 1 else "64"
        if kind in _MEMTYPES:
            size, fmt, t = _MEMTYPES[kind]
            count = _parse_int(rest[2]) if len(rest) > 2 else 1
            lines = []
            for i in range(count):
                a = addr + i * size
                if kind == "str":
                    if a >= len(data):
                        raise DebugError("0x%x is outside the memory (%d bytes)" % (a, len(data)))
                    end = a
                    while end < len(data) and end - a < 256 and data[end]:
                        end += 1
                    return "0x%08x: \"%s\"" % (a, _escape(data[a:end])), None
                if a + size > len(data):
                    raise DebugError("0x%x is outside the memory (%d bytes)" % (a, len(data)))
                bits = struct.unpack_from(fmt, data, a)[0]
                lines.append("0x%08x: %s" % (a, format_value(t, bits)))
            return "\n".join(lines), None
        n = _parse_int(kind)
        if n < 0 or addr + n > len(data):
            raise DebugError("0x%x..0x%x is outside the memory (%d bytes)" % (addr, addr + n,
                                                                              len(data)))
        lines = []
        for row in range(addr, addr + n, 16):
            chunk = data[row:min(row + 16, addr + n)]
            hexes = " ".join(["%02x" % b for b in chunk])
            text = "".join([chr(b) if 32 <= b < 127 else "." for b in chunk])
            lines.append("0x%08x: %-47s  %s" % (row, hexes, text))
        return "\n".join(lines), None

    def _parse_value(self, t, text):
        if t == I32 or t == I64:
            return to_bits(t, _parse_int(text))
        if t == F32 or t == F64:
            try:
                return to_bits(t, float(text))
            except ValueError:
                raise DebugError("not a number: %s" % text)
        raise DebugError("cannot set a reference")

    def cmd_set(self, rest):
        if len(rest) != 3 or rest[0] not in ("local", "global"):
            raise DebugError("set local N VALUE | set global N VALUE")
        n = _parse_int(rest[1])
        if rest[0] == "global":
            if not 0 <= n < len(self.inst.globals):
                raise DebugError("no global %d" % n)
            g = self.inst.globals[n]
            g.bits = self._parse_value(g.valtype, rest[2])
            return "g%d = %s" % (n, format_value(g.valtype, g.bits)), None
        f, pc, fp, end = self._sel_frame()
        types = self._local_types(f)
        if not 0 <= n < len(types):
            raise DebugError("%s has locals 0..%d" % (_fname(f), len(types) - 1))
        self.state[4][fp + n] = self._parse_value(types[n], rest[2])
        return "l%d = %s" % (n, format_value(types[n], self.state[4][fp + n])), None

    def cmd_disasm(self, rest):
        if rest:
            f = self._func(rest[0])
            if f.host is not None:
                raise DebugError("%s is an imported function" % rest[0])
            lines = self._starts_of(f)
            cur = None
            if self.state is not None:
                fr = self._frames()[self.sel]
                if fr[0] is f:
                    cur = fr[1]
        else:
            f, cur, fp, end = self._sel_frame()
            all_ = self._starts_of(f)
            i = 0
            while i < len(all_) and all_[i] < cur:
                i += 1
            lines = all_[max(0, i - 4):i + 7]
        out = ["%s (func %d):" % (_fname(f), f.idx)]
        for x in lines:
            mark = "=>" if x == cur else "  "
            bp = "*" if x in self.bp_at else " "
            out.append("%s%s0x%x: %s" % (mark, bp, x, self._insn_text(f, x)))
        return "\n".join(out), None

    def cmd_call(self, rest):
        if not rest:
            raise DebugError("call EXPORT ARGS...")
        f = self.inst.exports.get(rest[0])
        if not isinstance(f, Function):
            raise DebugError("no exported function %r" % rest[0])
        ps = f.ftype[0]
        if len(rest) - 1 != len(ps):
            raise DebugError("%s takes %d arguments" % (rest[0], len(ps)))
        bits = [self._parse_value(ps[i], rest[i + 1]) for i in range(len(ps))]
        saved = list(self.saved)
        self._disarm()
        hook = interp.debug_hook
        interp.debug_hook = None
        try:
            try:
                out = f.call_bits(bits)
            except Trap as t:
                return "trap: %s" % t.reason, None
            except Exit as e:
                return "the function called proc_exit(%d)" % e.code, None
        finally:
            interp.debug_hook = hook
            self._arm(saved)
            self._flush_guest()
        rs = f.ftype[1]
        vals = [format_value(rs[i], out[i]) for i in range(len(rs))]
        return "%s(%s) = %s" % (rest[0], ", ".join(rest[1:]), ", ".join(vals) or "(nothing)"), None


_ALIASES = {"b": "break", "c": "continue", "cont": "continue", "r": "run", "s": "step",
            "n": "next", "fin": "finish", "where": "bt", "backtrace": "bt", "q": "quit",
            "exit": "quit", "h": "help", "?": "help", "d": "delete", "f": "frame",
            "x": "mem", "dis": "disasm", "p": "locals"}

_MEMTYPES = {"i32": (4, "<I", I32), "i64": (8, "<Q", I64), "f32": (4, "<I", F32),
             "f64": (8, "<Q", F64), "u8": (1, "<B", I32), "str": (1, None, None)}


def debug(path, args=(), env=None, dirs=None, limits=None, remote=False, **kw):
    """The interactive debugger over a WASI command module; returns its exit status (None when
    the session ended before the program did)."""
    try:
        d = Debugger(path, args=args, env=env, dirs=dirs, limits=limits, remote=remote, **kw)
    except (OSError, WasmError) as e:
        sys.stdout.write("mpwasi debug: %s\n" % (e,))
        return 1
    if not remote:
        try:
            import readline  # noqa: F401  (line editing and history for input() on CPython)
        except ImportError:
            pass
    d.write("mpwasi debugger: %s (%d functions). `help` lists the commands; `run` starts it.\n"
            % (d.argv[0], len(d.inst.funcs)))
    return d.session()
