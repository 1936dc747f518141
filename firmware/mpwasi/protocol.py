"""The serial protocol between the `mpwasi` host command and a board, in one place.

Both sides import this module: the host tools (host_tools/device.py, cli.py, virtual_board.py) for
the marks they look for and the snippets they send, the board (the runner below, the debugger) for
the marks it writes. It is plain common-subset Python, so it runs on the board unchanged.

A run (`mpwasi run`): the host sends RUNNER (filled in by `runner()`) through the raw REPL. On the
board it writes START_MARK, imports the engine and calls `run_program`, which runs the module with
its three standard streams bound to the one serial line:

* board -> host, from START_MARK on: the program's stdout as it is, except five bytes sent as
  ESC + a letter (ESC itself, CR, 0x04 which would end the raw REPL's output, and the
  marks' lead-ins). A raw CR on the line is therefore never the program's: it is a console's
  line-end cooking (the virtual board turns LF into CR LF), and the host drops it. A write to
  stderr goes as TO_ERR + data + TO_OUT. WANT_INPUT asks the host for stdin. Marks are
  MARK + text + ESC: EXIT_MARK + status, ERROR_MARK + kind + ":" + message (why the program could
  not run: the host turns it into its one-line error).
* host -> board, only when the board asked (so nothing is left over for the REPL when the program
  ends): one input chunk of at most INPUT_CHUNK bytes on the line: data with ESC and Ctrl-C (0x03,
  which stays the interrupt) escaped, then IN_MORE, or IN_EOF at the end of the host's stdin.
  A Ctrl-C byte on its own interrupts the program, as at a board's REPL.

The debugger (`mpwasi debug`): DEBUG_RUNNER; the board writes DEBUG_MARK + DEBUG_PROMPT when it
waits for a command line, and DEBUG_INTERRUPT (Ctrl-\\) or Ctrl-C from the host stops a running
program at the next loop iteration or call. Its output is not escaped.
"""

ESC = "\x1e"
MARK = ESC + "\x1f"                  # a mark: MARK + text + ESC
START_MARK = MARK + "mpwasi-go" + ESC
EXIT_MARK = MARK + "mpwasi-exit:"    # + the exit status in decimal + ESC
ERROR_MARK = MARK + "mpwasi-error:"  # + kind + ":" + message + ESC
TO_OUT = ESC + "1"                   # what follows is the program's stdout
TO_ERR = ESC + "2"                   # ... its stderr
WANT_INPUT = ESC + "?"               # the program waits for stdin: send one chunk
IN_MORE = ESC + "."                  # end of an input chunk; more may follow
IN_EOF = ESC + "e"                   # end of the program's stdin
INPUT_CHUNK = 240                    # line bytes per input chunk (a board's console buffer is 256+)
CTRL_C = "\x03"                      # a board console's interrupt byte
CTRL_D = "\x04"                      # the raw REPL's end of output

# escapes of the data, both directions: (byte, ESC + letter), ESC itself first
_OUT_ESC = ((b"\x1e", b"\x1e\x1e"), (b"\r", b"\x1er"), (b"\x04", b"\x1ed"))
_IN_ESC = ((b"\x1e", b"\x1e\x1e"), (b"\x03", b"\x1ec"))

DEBUG_MARK = "\x05"                  # written before the prompt when a host tool drives the prompt
DEBUG_PROMPT = "(wdb) "
DEBUG_INTERRUPT = "\x1c"             # Ctrl-\: what `mpwasi debug` sends for a Ctrl-C

# Runs a module on the board; the engine reports everything through run_program.
RUNNER = """\
import sys, gc
sys.stdout.write(%(start)r)
gc.collect()
try:
    import mpwasi
    from mpwasi.protocol import run_program as _mrp
except ImportError as e:
    sys.stdout.write(%(error)r + 'noengine:' + str(e) + %(esc)r + %(exit)r + '1' + %(esc)r)
except MemoryError as e:
    e = str(e)
    gc.collect()
    sys.stdout.write(%(error)r + 'memory:engine %%%%d %%%%d 0 -1 %%%%s' %%%% (gc.mem_alloc() + gc.mem_free(), gc.mem_free(), e)
                     + %(esc)r + %(exit)r + '137' + %(esc)r)
else:
    _mrp(mpwasi.run, %%(path)r, %%(args)r, %%(env)r, %%(dirs)r%%(hw)s)
    del _mrp
""" % {"start": START_MARK, "error": ERROR_MARK, "esc": ESC, "exit": EXIT_MARK}

DEBUG_RUNNER = """\
import sys, gc
gc.collect()
from mpwasi import debugger
_mst = debugger.debug(%%(path)r, %%(args)r.split('\\x00')[1:], %%(env)r.split('\\x00')[1:], %%(dirs)r,
                      remote=True%%(hw)s)
sys.stdout.write(%(exit)r + str(_mst if isinstance(_mst, int) else 0) + %(esc)r)
""" % {"exit": EXIT_MARK, "esc": ESC}


def _fill(template, path, args, env, dirs, hw):
    # the arguments and the environment as one string each (NUL before each item): 1,000 arguments
    # are one constant for the board to compile, not a list display of 1,000; split on the board
    # the `wiring` keywords given (none: the snippet of a plain run); loops=0 is one
    extra = "".join([", %s=%r" % (k, hw[k]) for k in sorted(hw or {})
                     if hw[k] is not None and hw[k] is not False and hw[k] != []])
    return template % {"path": path, "args": "".join("\0" + a for a in args),
                       "env": "".join("\0" + e for e in (env or [])),
                       "dirs": [tuple(d) for d in (dirs or [])], "hw": extra}


def runner(path, args=(), env=None, dirs=None, hw=None):
    """The raw-REPL code that runs the module at `path` on the board (dirs: (board path, guest));
    hw: the `wiring` options, {"pins": [...], "pin_inputs": [(pin, value)], "trace_pins": bool,
    "loops": n} (keywords of mpwasi.run)."""
    return _fill(RUNNER, path, args, env, dirs, hw)


def debug_runner(path, args=(), env=None, dirs=None, hw=None):
    """The raw-REPL code that starts the debugger's prompt over the module at `path`."""
    return _fill(DEBUG_RUNNER, path, args, env, dirs, hw)


def escape(data, table):
    """`data` (bytes) with each byte of `table` replaced by ESC + its letter."""
    for byte, escaped in table:
        if byte in data:
            data = data.replace(byte, escaped)
    return data


# --------------------------------------------------------------------------------------------------
# The board side


class Output:
    """A binary stream over the board's console for the program's stdout (err=False) or stderr."""

    def __init__(self, raw, err=False):
        self.raw = raw
        self.err = err

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        n = len(data)
        data = escape(bytes(data), _OUT_ESC)
        if self.err:
            data = b"\x1e2" + data + b"\x1e1"
        self.raw.write(data)
        return n

    def flush(self):
        pass


class Input:
    """A binary stream of the host's stdin, read over the console in chunks the host sends when
    asked (WANT_INPUT)."""

    def __init__(self, raw_in, raw_out):
        self.raw_in = raw_in
        self.raw_out = raw_out
        self.buf = b""
        self.eof = False

    def read(self, n=-1):
        if not self.buf and not self.eof:
            self._chunk()
        if n is None or n < 0 or n >= len(self.buf):
            data = self.buf
            self.buf = b""
        else:
            data = self.buf[:n]
            self.buf = self.buf[n:]
        return data

    def readinto(self, buf):
        data = self.read(len(buf))
        buf[:len(data)] = data
        return len(data)

    def _chunk(self):
        self.raw_out.write(b"\x1e?")
        data = bytearray()
        rd = self.raw_in.read
        while True:
            c = rd(1)
            if not c:
                self.eof = True
                break
            if c[0] != 0x1E:
                data.append(c[0])
                continue
            c = rd(1)
            if not c or c == b"e":
                self.eof = True
                break
            if c == b".":
                break
            data.append(3 if c == b"c" else c[0])
        self.buf = bytes(data)

    def close(self):
        pass


def report(raw, kind, message):
    """ERROR_MARK with `kind` and a one-line `message` (ESC taken out)."""
    message = str(message).replace("\n", " ").replace(ESC, " ")
    raw.write((ERROR_MARK + kind + ":" + message + ESC).encode())


def _largest():
    # the heap's largest free block (mpwasi.compat.largest_block), -1 where it cannot be found
    try:
        from mpwasi.compat import largest_block
        n = largest_block()
        return -1 if n is None else n
    except Exception:
        return -1


def run_program(run, path, args="", env="", dirs=None, **hw):
    """On the board: `run` (mpwasi.run) the WASI module at `path` with its streams on the console
    (see above), hw its `wiring` keywords (pins, loops, ...); the last thing written is EXIT_MARK
    with its exit status. args, env: lists, or strings with a NUL before each item (as RUNNER
    sends them)."""
    import sys
    import gc
    raw = getattr(sys.stdout, "buffer", sys.stdout)
    status = 1
    phase = "args"
    cost = free = 0
    try:
        gc.collect()
        free = gc.mem_free()
        if isinstance(args, str):
            args = args.split("\0")[1:]
        if isinstance(env, str):
            env = env.split("\0")[1:]
        out = Output(raw)
        err = Output(raw, True)
        inp = Input(getattr(sys.stdin, "buffer", sys.stdin), raw)
        gc.collect()
        cost = free - gc.mem_free()
        phase = "run"
        status = run(path, args, env, dirs, stdin=inp, stdout=out, stderr=err, **hw)
        if not isinstance(status, int):
            status = 0
        if status == 134:  # a trap (perhaps out of memory): the figures for the host's message
            report(raw, "heap", "run %d %d %d %d" % (gc.mem_alloc() + gc.mem_free(), free - cost, cost,
                                                     _largest()))
    except KeyboardInterrupt:
        report(raw, "interrupted", "the program was stopped by Ctrl-C")
        status = 130
    except Exception as e:  # a module that does not decode, validate or link, a preopen missing...
        if not isinstance(e, MemoryError) and "memory" not in str(e):
            report(raw, type(e).__name__, e)
            raw.write((EXIT_MARK + "1" + ESC).encode())
            return 1
        # (the engine's "module too large for the available memory" is running short too)
        e = str(e) if isinstance(e, MemoryError) else "%s: %s" % (type(e).__name__, e)
        args = env = None
        gc.collect()
        # where it ran out, the heap, what was free when the program started, what its arguments took
        report(raw, "memory", "%s %d %d %d %d %s" % (phase, gc.mem_alloc() + gc.mem_free(), free - cost, cost,
                                                     _largest(), e))
        status = 137
    raw.write((EXIT_MARK + str(status) + ESC).encode())
    return status


# --------------------------------------------------------------------------------------------------
# The host side


_UNESCAPE = {0x72: 0x0D, 0x64: 0x04, 0x63: 0x03}


class Decoder:
    """Host side of a run: feed() it the bytes the board sends after START_MARK; it writes the
    program's stdout and stderr to `out` and `err` (binary streams) and keeps what else it read:
    status (EXIT_MARK), errors [(kind, message)] (ERROR_MARK), wants (WANT_INPUT seen, count)."""

    def __init__(self, out, err):
        self.out = out
        self.err = err
        self.to = out
        self.status = None
        self.errors = []
        self.wants = 0
        self.pending = b""    # an ESC (or a mark) cut off at the end of the last feed

    def feed(self, data):
        data = self.pending + data
        self.pending = b""
        plain = bytearray()
        i = 0
        n = len(data)
        while i < n:
            j = data.find(b"\x1e", i)
            if j < 0:
                plain += data[i:].replace(b"\r", b"")  # a raw CR: the console's line-end cooking
                break
            plain += data[i:j].replace(b"\r", b"")
            if j + 1 >= n:
                self.pending = data[j:]
                break
            c = data[j + 1]
            i = j + 2
            if c == 0x1F:
                k = data.find(b"\x1e", i)
                if k < 0:
                    self.pending = data[j:]
                    break
                self._flush(plain)
                self._mark(bytes(data[i:k]).replace(b"\r", b""))
                i = k + 1
            elif c == 0x31 or c == 0x32:
                self._flush(plain)
                self.to = self.out if c == 0x31 else self.err
            elif c == 0x3F:
                self.wants += 1
            else:
                plain.append(_UNESCAPE.get(c, c))
        self._flush(plain)

    def _flush(self, plain):
        if plain:
            self.to.write(bytes(plain))
            del plain[:]

    def _mark(self, text):
        text = text.decode("utf-8", "replace")
        if text.startswith(EXIT_MARK[2:]):
            try:
                self.status = int(text[len(EXIT_MARK) - 2:])
            except ValueError:
                pass
        elif text.startswith(ERROR_MARK[2:]):
            kind, _, message = text[len(ERROR_MARK) - 2:].partition(":")
            self.errors.append((kind, message))


def encode_input(data, eof=False):
    """One input chunk on the line: `data` escaped, then IN_EOF or IN_MORE."""
    return escape(data, _IN_ESC) + (b"\x1ee" if eof else b"\x1e.")


def input_room():
    """How many bytes of input fit in one chunk whatever they are (each may need an escape)."""
    return (INPUT_CHUNK - 2) // 2
