"""The wasm debugger's command shell: the prompt, its commands and their output, over the engine in
debug_engine.py (breakpoints, patching, the hook), as Python's pdb is over bdb.

    mpwasi.debug("app.wasm", args=["5"])          # the interactive prompt (board REPL or desktop)
    python3 -m mpwasi --debug app.wasm 5          # the same from the command line
    Debugger("app.wasm", args=["5"]).script(["break fib", "run", "bt", "quit"])   # tools: -> text

Modules without `_start` are debugged too: an Arduino-style app (setup/loop, wiring.py) runs its
lifecycle under `run`, and any module's exports can be called with `call EXPORT ARGS`, where
breakpoints stop and a trap stops with its backtrace.
"""
import sys
import struct

from . import disasm
from .binary import I32, I64, F32, F64, TYPE_NAMES
from .errors import Trap, Exit, WasmError
from .runtime import Function, to_bits
from . import interp
from .debug_engine import (DebugEngine, DebugError, Breakpoint, Quit, SLICE,  # noqa: F401
                           TRAP_STATUS, fname, parse_int, format_value, format_untyped)
from .protocol import DEBUG_PROMPT, DEBUG_MARK

PROMPT = DEBUG_PROMPT
REMOTE_MARK = DEBUG_MARK      # written before the prompt when a host tool drives the prompt

HELP = """commands (LOC: a function name, a function index, 0xOFFSET, wasi:NAME or wiring:NAME):
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
  call EXPORT ARGS...   call an exported function (breakpoints and traps stop inside it)
  quit                  end the session (q)
Ctrl-C while the program runs stops it at the next loop iteration or call (an Arduino-style
app: at the latest before its next call of loop). `run` on an app (setup/loop) runs setup once,
then loop until Ctrl-C (or --loops times)."""


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


class Debugger(DebugEngine):
    """A debugger over one module: the prompt is built on it, tools drive it.

    read(prompt) -> a command line, or None at the end of input; write(text) takes its output.
    script(commands) runs a whole session from a list and returns its transcript (the guest's
    output included unless stdout/stderr are given)."""

    def stopped(self, message):
        """The engine stopped the program (self.state is set): say where, then the prompt."""
        if message:
            self.write(message + "\n")
        self.write(self._where_line() + "\n")
        return self._prompt()

    def _read(self):
        if self.read_fn is not None:
            return self.read_fn(PROMPT)
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

        self.read_fn = read
        self.write_fn = out.append
        if self.stdio[1] is None and self.stdio[2] is None:
            self.stdio = (self.stdio[0], _Sink(), _Sink())
            self.load()
        self.session()
        return "".join(out)

    def session(self):
        """The prompt until `quit` (or the end of input); returns the program's exit status."""
        try:
            action = self._prompt()
            while action != "quit":
                if self.status == "exited" and action != "run":
                    self.write("error: the program has exited (`run` starts it again)\n")
                elif action in ("run", "continue", "step", "next"):
                    if self.status == "exited":
                        self.load()
                        self.write("restarting %s\n" % self.argv[0])
                    self.run_program(action)
                else:
                    self.write("error: the program is not running\n")
                if self.status == "quit":
                    break
                action = self._prompt()
        finally:
            self.wasi.close()
        return self.exit_code

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

    def _need_stopped(self):
        if self.state is None:
            raise DebugError("the program is not stopped (run it, or set a breakpoint)")

    def _resuming(self, action, rest):
        n = 1
        if rest:
            n = parse_int(rest[0])
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
            n = parse_int(c)
            if n < 1:
                raise DebugError("the hit count must be at least 1")
            cond = (kind, n)
        bp = self.add_breakpoint(loc, cond)
        return "breakpoint %s" % bp.describe(), None

    def cmd_delete(self, rest):
        if rest and rest[0] == "trap":
            self.trap_break = False
            return "will not stop at traps", None
        if rest:
            n = parse_int(rest[0])
            if not self.delete_breakpoints(n):
                raise DebugError("no breakpoint %d" % n)
        else:
            self.delete_breakpoints()
        return "deleted", None

    def cmd_info(self, rest):
        lines = [bp.describe() for bp in self.bps]
        lines.append("stop at traps: %s" % ("yes" if self.trap_break else "no"))
        return "\n".join(lines), None

    def _insn_text(self, f, pc):
        if f.inst is not self.inst or not f.start <= pc < f.end:
            return "?"
        op, imm, npc = disasm.decode(self.orig, pc)
        callee = None
        if op == 0x10 and imm < len(self.inst.funcs):
            c = self.inst.funcs[imm]
            callee = ("wasi:" + c.name) if c.host is not None and c.name else fname(c)
        return disasm.text(op, imm, callee)

    def _where_line(self):
        f, pc, fp, end = self.frames()[0]
        return "%s @ 0x%x (func %d): %s" % (fname(f), pc, f.idx, self._insn_text(f, pc))

    def cmd_bt(self, rest):
        self._need_stopped()
        lines = []
        frames = self.frames()
        n = len(frames)
        if rest:
            n = min(n, parse_int(rest[0]))
        for i in range(n):
            f, pc, fp, end = frames[i]
            mark = "*" if i == self.sel else " "
            lines.append("%s#%d  %s @ 0x%x (func %d)" % (mark, i, fname(f), pc, f.idx))
        return "\n".join(lines), None

    def cmd_frame(self, rest):
        self._need_stopped()
        frames = self.frames()
        if rest:
            n = parse_int(rest[0])
            if not 0 <= n < len(frames):
                raise DebugError("no frame %d (0..%d)" % (n, len(frames) - 1))
            self.sel = n
        f, pc, fp, end = frames[self.sel]
        return "#%d  %s @ 0x%x (func %d): %s" % (self.sel, fname(f), pc, f.idx,
                                                 self._insn_text(f, pc)), None

    def cmd_up(self, rest):
        return self.cmd_frame([str(self.sel + 1)])

    def cmd_down(self, rest):
        return self.cmd_frame([str(self.sel - 1)])

    def _sel_frame(self):
        self._need_stopped()
        return self.frames()[self.sel]

    def cmd_locals(self, rest):
        f, pc, fp, end = self._sel_frame()
        s = self.state[4]
        types = self.local_types(f)
        lines = []
        for i in range(len(types)):
            kind = "param " if i < f.nparams else ""
            lines.append("l%d  %s%s = %s" % (i, kind, TYPE_NAMES.get(types[i], "?"),
                                             format_value(types[i], s[fp + i])))
        if not lines:
            return "%s has no locals" % fname(f), None
        return "\n".join(lines), None

    def cmd_stack(self, rest):
        f, pc, fp, end = self._sel_frame()
        s = self.state[4]
        base = fp + len(self.local_types(f))
        vals = s[base:end]
        if not vals:
            return "the operand stack is empty", None
        lines = []
        for i in range(len(vals)):
            top = "  <- top" if i == len(vals) - 1 else ""
            lines.append("[%d] %s%s" % (i, format_untyped(vals[i]), top))
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
        base, off = (text[:sign], parse_int(text[sign:])) if sign else (text, 0)
        if base[0] == "l" and base[1:].isdigit():
            f, pc, fp, end = self._sel_frame()
            n = int(base[1:])
            if n >= len(self.local_types(f)):
                raise DebugError("%s has no local %d" % (fname(f), n))
            v = self.state[4][fp + n]
        elif base[0] == "g" and base[1:].isdigit():
            n = int(base[1:])
            if n >= len(self.inst.globals):
                raise DebugError("no global %d" % n)
            v = self.inst.globals[n].bits
        else:
            v = parse_int(base)
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
            count = parse_int(rest[2]) if len(rest) > 2 else 1
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
                bits = struct.unpack_from(fmt, bytes(data[a:a + size]), 0)[0]
                lines.append("0x%08x: %s" % (a, format_value(t, bits)))
            return "\n".join(lines), None
        n = parse_int(kind)
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
            return to_bits(t, parse_int(text))
        if t == F32 or t == F64:
            try:
                return to_bits(t, float(text))
            except ValueError:
                raise DebugError("not a number: %s" % text)
        raise DebugError("cannot set a reference")

    def cmd_set(self, rest):
        if len(rest) != 3 or rest[0] not in ("local", "global"):
            raise DebugError("set local N VALUE | set global N VALUE")
        n = parse_int(rest[1])
        if rest[0] == "global":
            if not 0 <= n < len(self.inst.globals):
                raise DebugError("no global %d" % n)
            g = self.inst.globals[n]
            g.bits = self._parse_value(g.valtype, rest[2])
            return "g%d = %s" % (n, format_value(g.valtype, g.bits)), None
        f, pc, fp, end = self._sel_frame()
        types = self.local_types(f)
        if not 0 <= n < len(types):
            raise DebugError("%s has locals 0..%d" % (fname(f), len(types) - 1))
        v = self._parse_value(types[n], rest[2])
        # (the interpreter's i32 values are signed)
        self.state[4][fp + n] = interp.s32(v) if types[n] == I32 else v
        return "l%d = %s" % (n, format_value(types[n], self.state[4][fp + n])), None

    def cmd_disasm(self, rest):
        if rest:
            f = self.func(rest[0])
            if f.host is not None:
                raise DebugError("%s is an imported function" % rest[0])
            lines = self.starts_of(f)
            cur = None
            if self.state is not None:
                fr = self.frames()[self.sel]
                if fr[0] is f:
                    cur = fr[1]
        else:
            f, cur, fp, end = self._sel_frame()
            all_ = self.starts_of(f)
            i = 0
            while i < len(all_) and all_[i] < cur:
                i += 1
            lines = all_[max(0, i - 4):i + 7]
        out = ["%s (func %d):" % (fname(f), f.idx)]
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
        top = self.state is None  # not from a stopped program's prompt
        try:
            out = self.call_export(f, bits)
        except Trap as t:
            from .wasi import print_trap
            lines = []
            print_trap(t, _Lines(lines))
            return "".join(lines).rstrip("\n"), None
        except Exit as e:
            return "the function called proc_exit(%d)" % e.code, None
        except KeyboardInterrupt:
            return "interrupted: the call was abandoned", None
        except Quit:
            if top:
                return None, "quit"
            raise
        rs = f.ftype[1]
        vals = [format_value(rs[i], out[i]) for i in range(len(rs))]
        return "%s(%s) = %s" % (rest[0], ", ".join(rest[1:]), ", ".join(vals) or "(nothing)"), None


class _Lines:
    def __init__(self, out):
        self.write = out.append


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
