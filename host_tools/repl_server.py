"""The virtual board's REPL server: MicroPython code, run by the unix port (never by CPython), doing
what MicroPython's pyexec.c does on a board. host_tools/virtual_board.py (the supervisor) starts it as

    micropython -X heapsize=N repl_server.py IMAGE BLOCK_SIZE BLOCK_COUNT MODE IN_FD CTL_FD LABEL WINDOW [LEFTOVER_HEX]

IMAGE: the littlefs2 flash image, mounted at / (made when blank). MODE: "f" (friendly REPL) or "r"
(raw REPL). IN_FD: the pipe of the host's bytes, framed (2-byte little-endian length + data).
CTL_FD: the pipe back to the supervisor: "R" when code starts running, "I" when it stops, and on a
soft reboot "X" + mode + 2-byte length + the input not yet read (for the next interpreter).
WINDOW: the raw-paste window. The friendly REPL's banner, line editing, paste mode, the raw REPL
and raw-paste mode with its flow control are those of a board.
"""
import sys, io, gc, vfs, os

_a = sys.argv
IMG, BS, NB, MODE = _a[1], int(_a[2]), int(_a[3]), _a[4]
_inp = open(int(_a[5]), "rb")
_ctl = open(int(_a[6]), "wb")
LABEL = _a[7]
WIN = int(_a[8])
_LEFT = bytes(bytearray(int(_a[9][i:i + 2], 16) for i in range(0, len(_a[9]), 2))) if len(_a) > 9 else b""
_out = sys.stdout.buffer
_ME = _a[0]


def w(b):
    if isinstance(b, str):
        b = b.encode()
    _out.write(b)


def ctl(b):
    _ctl.write(b)


class Input:
    def __init__(self, left):
        self.buf = left
        self.pos = 0
        self.need = 0

    def _fill(self):
        if not self.need:
            h = _inp.read(2)
            if len(h) < 2:
                raise SystemExit(0)
            self.need = h[0] | (h[1] << 8)
        d = _inp.read(self.need)
        self.need = 0
        self.buf = d
        self.pos = 0

    def chunk(self):
        while self.pos >= len(self.buf):
            try:
                self._fill()
            except KeyboardInterrupt:
                return b"\x03"
        d = self.buf[self.pos:] if self.pos else self.buf
        self.buf = b""
        self.pos = 0
        return d

    def getc(self):
        while self.pos >= len(self.buf):
            try:
                self._fill()
            except KeyboardInterrupt:
                return 3
        c = self.buf[self.pos]
        self.pos += 1
        return c

    def unget(self, d):
        if d:
            self.buf = bytes(d) + self.buf[self.pos:]
            self.pos = 0

    def rest(self):
        return self.buf[self.pos:]


IN = Input(_LEFT)
G = {"__name__": "__main__"}


class BlockDev:
    def __init__(self, f, bs, nb):
        self.f = f
        self.bs = bs
        self.nb = nb

    def readblocks(self, n, buf, off=0):
        self.f.seek(n * self.bs + off)
        self.f.readinto(buf)

    def writeblocks(self, n, buf, off=0):
        self.f.seek(n * self.bs + off)
        self.f.write(buf)

    def ioctl(self, op, arg):
        if op == 4:
            return self.nb
        if op == 5:
            return self.bs
        if op == 3:
            self.f.flush()
        return 0


def mount():
    bd = BlockDev(open(IMG, "r+b"), BS, NB)
    try:
        fs = vfs.VfsLfs2(bd)
    except OSError:
        vfs.VfsLfs2.mkfs(bd)
        fs = vfs.VfsLfs2(bd)
    vfs.umount("/")
    vfs.mount(fs, "/")
    os.chdir("/")
    sys.path.clear()
    sys.path.extend(["", ".frozen", "/lib"])


def print_exc(e):
    s = io.StringIO()
    sys.print_exception(e, s)
    lines = s.getvalue().split("\n")
    w("\n".join(l for l in lines if _ME not in l))


def execute(src, kind, raw):
    ctl(b"R")
    err = None
    try:
        code = compile(src, "<stdin>", kind)
        exec(code, G)
    except BaseException as e:
        err = e
    ctl(b"I")
    if raw:
        w(b"\x04")
    if err is not None and not isinstance(err, SystemExit):
        print_exc(err)
    if raw:
        w(b"\x04")


def run_file(name):
    try:
        os.stat(name)
    except OSError:
        return
    with open(name) as f:
        src = f.read()
    ctl(b"R")
    try:
        exec(compile(src, name, "exec"), G)
    except SystemExit:
        pass
    except BaseException as e:
        ctl(b"I")
        print_exc(e)
    ctl(b"I")


def banner():
    v = sys.implementation.version
    ver = "v%d.%d.%d" % (v[0], v[1], v[2])
    if len(v) > 3 and v[3]:
        ver += "-" + v[3]
    date = sys.version.split(" on ")[-1]
    w("MicroPython %s on %s; %s with x64\r\nType \"help()\" for more information.\r\n" % (ver, date, LABEL))


def reboot(mode):
    # As a board's soft reset does (gc_sweep_all): run the finalisers, so open files are closed and
    # their data reaches the flash.
    G.clear()
    gc.collect()
    try:
        vfs.umount("/")
    except OSError:
        pass
    left = IN.rest()
    ctl(b"X" + mode.encode() + bytes((len(left) & 255, len(left) >> 8)) + left)
    raise SystemExit(0)


# ---- raw REPL (pyexec_raw_repl) ----
def first_ctl(d, chars):
    best = -1
    for c in chars:
        i = d.find(c)
        if i >= 0 and (best < 0 or i < best):
            best = i
    return best


def raw_paste():
    w(b"R\x01" + bytes((WIN & 255, WIN >> 8)))
    remain = WIN
    src = bytearray()
    while True:
        d = IN.chunk()
        end = first_ctl(d, (b"\x04", b"\x03"))
        take = d if end < 0 else d[:end]
        src.extend(take)
        remain -= len(take)
        n = 0
        while remain <= 0:
            n += 1
            remain += WIN
        if n:
            w(b"\x01" * n)
        if end >= 0:
            IN.unget(d[end + 1:])
            w(b"\x04")
            if d[end] == 3:
                w(b"\x04")
                print_exc(KeyboardInterrupt())
                w(b"\x04")
                return
            break
    execute(str(src, "utf8"), "exec", True)


def raw_repl():
    w(b"raw REPL; CTRL-B to exit\r\n")
    while True:
        w(b">")
        line = bytearray()
        while True:
            d = IN.chunk()
            i = first_ctl(d, (b"\x01", b"\x02", b"\x03", b"\x04"))
            if i < 0:
                line.extend(d)
                continue
            line.extend(d[:i])
            c = d[i]
            IN.unget(d[i + 1:])
            if c == 1:
                if len(line) == 2 and line[0] == 5:
                    raw_paste()
                    line = None
                    break
                w(b"raw REPL; CTRL-B to exit\r\n")
                line = bytearray()
                w(b">")
            elif c == 2:
                w(b"\r\n")
                return "f"
            elif c == 3:
                line = bytearray()
            else:
                break
        if line is None:
            continue
        w(b"OK")
        if not line:
            w(b"\r\n")
            reboot("r")
        execute(str(line, "utf8"), "exec", True)


# ---- friendly REPL (pyexec_friendly_repl + readline) ----
HIST = []
LAST = [0]      # the previous input byte: LF right after CR is part of the same Enter
COMPOUND = ("if", "while", "for", "try", "with", "def", "class", "async", "match")


def readline(prompt, text=""):
    w(prompt + text)
    buf = bytearray(text.encode())
    hi = len(HIST)
    while True:
        c = IN.getc()
        prev = LAST[0]
        LAST[0] = c
        if c == 10 and prev == 13:
            continue
        if c == 13 or c == 10:
            w(b"\r\n")
            s = str(buf, "utf8")
            if s.strip() and (not HIST or HIST[-1] != s):
                HIST.append(s)
                if len(HIST) > 20:
                    HIST.pop(0)
            return s
        if c in (1, 2, 3, 4, 5):
            return c
        if c in (8, 127):
            if buf:
                n = 1
                while n < len(buf) and (buf[-n] & 0xC0) == 0x80:
                    n += 1
                buf = buf[:-n]
                w(b"\x08 \x08")
        elif c == 27:
            c1 = IN.getc()
            if c1 != 91:
                continue
            c2 = IN.getc()
            while 48 <= c2 <= 57 or c2 == 59:
                c2 = IN.getc()
            if c2 in (65, 66) and HIST:
                hi = max(0, hi - 1) if c2 == 65 else min(len(HIST), hi + 1)
                new = HIST[hi] if hi < len(HIST) else ""
                w(b"\x08" * len(str(buf, "utf8")) + b"\x1b[K")
                buf = bytearray(new.encode())
                w(buf)
        elif c == 9:
            buf.extend(b"    ")
            w(b"    ")
        elif c >= 32:
            buf.append(c)
            w(bytes((c,)))


def needs_more(src):
    depth = 0
    i = 0
    n = len(src)
    while i < n:
        ch = src[i]
        if ch == "#":
            while i < n and src[i] != "\n":
                i += 1
            continue
        if ch in "'\"":
            q3 = src[i:i + 3]
            if q3 == ch * 3:
                j = src.find(q3, i + 3)
                if j < 0:
                    return True
                i = j + 3
                continue
            j = i + 1
            while j < n and src[j] != ch and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            i = j + 1
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        i += 1
    if depth > 0 or src.endswith("\\"):
        return True
    first = src.split("\n")[0].strip()
    word = first.split(" ")[0].split(":")[0].split("(")[0]
    return first.endswith(":") or word in COMPOUND or first.startswith("@")


def indent_after(line):
    ind = len(line) - len(line.lstrip(" "))
    if line.rstrip().endswith(":"):
        ind += 4
    return " " * ind


def paste_mode():
    w(b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ")
    src = bytearray()
    while True:
        c = IN.getc()
        if c == 3:
            w(b"\r\n")
            return
        if c == 4:
            w(b"\r\n")
            break
        if c == 13:
            src.append(10)
            w(b"\r\n=== ")
        else:
            src.append(c)
            w(bytes((c,)))
    execute(str(src, "utf8"), "exec", False)


def friendly_repl():
    while True:
        line = readline(">>> ")
        if line == 1:
            w(b"\r\n")
            return "r"
        if line == 2:
            w(b"\r\n")
            banner()
            continue
        if line == 3:
            w(b"\r\n")
            continue
        if line == 4:
            w(b"\r\n")
            reboot("f")
        if line == 5:
            paste_mode()
            continue
        if not line.strip():
            continue
        src = line
        if needs_more(src):
            last = line
            while True:
                more = readline("... ", indent_after(last))
                if more == 3:
                    w(b"\r\n")
                    src = None
                    break
                if not isinstance(more, str) or not more.strip():
                    break
                src += "\n" + more
                last = more
        if src is not None:
            execute(src, "single", False)


def main():
    mode = MODE
    mount()
    run_file("boot.py")
    if mode == "f":
        run_file("main.py")
        banner()
    while True:
        try:
            if mode == "f":
                mode = friendly_repl()
            else:
                mode = raw_repl()
                if mode == "f":
                    banner()    # pyexec_friendly_repl starts with the banner
        except KeyboardInterrupt:
            w(b"\r\n")
        gc.collect()


main()
