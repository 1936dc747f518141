"""The ``mpwasi`` command: boards, install, push, run, ls, get, rm, repl, sim, flash, debug, compile.

Every command that talks to a board picks its target the same way: ``--port P`` if given; else the
one board detected on USB running MicroPython; else the virtual board (``host_tools.virtual_board``,
started in the background if needed), saying so in one line.  Several boards and no ``--port`` is an
error that lists them.
"""

import argparse
import hashlib
import json
import os
import re
import sys

from mpwasi import protocol

from . import profiles
from . import virtual_board as vb
from .device import (Device, DeviceError, BoardExecError, ENGINE_DIR, TMP_SUFFIX, engine_source_dir,
                     engine_version)

APPS_DIR = "/apps"


class CliError(Exception):
    """A user-facing error: printed as ``mpwasi: <message>``, exit status ``code``."""

    def __init__(self, message, code=1):
        Exception.__init__(self, message)
        self.code = code


def _err(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------------------------------
# Target choice


class Target:
    def __init__(self, port, profile=None, virtual=False, label=None):
        self.port = port
        self.profile = profile
        self.virtual = virtual
        self.label = label or port


def _detect(ports=None, drives=None):
    from . import detect
    return detect.detect_boards(ports=ports, drives=drives)


def choose_target(args, ports=None, drives=None, note=_err):
    """The board a command talks to (see the module docstring). ``ports``/``drives`` replace the
    USB listing (tests)."""
    board = getattr(args, "board", None)
    flash = getattr(args, "flash", None)
    if getattr(args, "port", None):
        port = args.port
        running = [b for b in vb.running_boards() if b["port"] == port]
        if running:
            return Target(port, profiles.load_profile(running[0]["board"]), True,
                          "virtual board (%s profile) on %s" % (running[0]["board"], port))
        # No USB scan here: the board itself says what it is (sys.implementation) when asked.
        return Target(port, profiles.load_profile(board) if board else None, False, port)
    if not getattr(args, "virtual", False):
        found = _detect(ports, drives)
        serial_boards = [b for b in found if b.state == "micropython" and not b.drive]
        if len(serial_boards) > 1:
            lines = ["  %s  %s%s" % (b.port, b.label, " (%s)" % b.description if b.description else "")
                     for b in serial_boards]
            raise CliError("%d boards found; choose one with --port:\n%s" % (len(serial_boards), "\n".join(lines)), 2)
        if len(serial_boards) == 1:
            b = serial_boards[0]
            name = board or b.profile
            return Target(b.port, profiles.load_profile(name) if name else None, False,
                          "%s on %s" % (b.label, b.port))
        others = [b for b in found if b not in serial_boards]
    else:
        others = []
    name = board or vb.DEFAULT_BOARD
    try:
        st = vb.ensure_running(name, flash)
    except vb.VirtualBoardError as e:
        raise CliError(str(e))
    why = "no board found" if not getattr(args, "virtual", False) else "--virtual"
    if others:
        why = "no board running MicroPython found (%s: %s)" % (
            ", ".join("%s %s" % (b.label, b.state) for b in others), "flash it with mpwasi flash")
    note("%s: using the virtual board (%s profile) on %s" % (why, name, st["port"]))
    return Target(st["port"], profiles.load_profile(name), True,
                  "virtual board (%s profile) on %s" % (name, st["port"]))


def _open(args):
    t = choose_target(args)
    try:
        return Device(t.port, profile=t.profile, virtual=t.virtual)
    except DeviceError as e:
        raise CliError(str(e))


# --------------------------------------------------------------------------------------------------
# Progress


class Progress:
    """A one-line progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, what, enabled=None):
        self.what = what
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.shown = False

    def __call__(self, done, total):
        if not self.enabled:
            return
        frac = done / total if total else 1.0
        bar = "#" * int(frac * 30)
        sys.stderr.write("\r%s [%-30s] %3d%% %d/%d KB" % (self.what, bar, frac * 100, done // 1024, total // 1024))
        sys.stderr.flush()
        self.shown = True

    def done(self):
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


# --------------------------------------------------------------------------------------------------
# Commands


def _board_dest(local, dest):
    if dest:
        dest = dest[1:] if dest.startswith(":") else dest
        if not dest.startswith("/"):
            dest = "/" + dest
        if dest.endswith("/"):
            dest += os.path.basename(local)
        return dest
    return APPS_DIR + "/" + os.path.basename(local)


def _read_local(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CliError("cannot read %s: %s" % (path, e.strerror or e), 2)


def cmd_push(args):
    data = _read_local(args.file)
    dest = _board_dest(args.file, args.dest)
    with _open(args) as d:
        d.enter_raw()
        prog = Progress("push %s" % os.path.basename(args.file))
        try:
            result = d.put_bytes(data, dest, progress=prog)
        finally:
            prog.done()
        image = _push_image(d, data, dest, args)
        if data[:4] == b"\0asm" and not args.no_compile:
            _push_aot(d, args.file, data, dest, compile=True)
    digest = hashlib.sha256(data).hexdigest()
    if args.json:
        print(json.dumps({"dest": dest, "result": result, "bytes": len(data), "sha256": digest,
                          "image": image}))
    elif result == "unchanged":
        print("%s: unchanged on the board (sha256 %s), not sent" % (dest, digest[:12]))
    else:
        print("%s: %d bytes written (sha256 %s)" % (dest, len(data), digest[:12]))
    return 0


def _push_image(d, data, dest, args):
    """The load image beside a pushed .wasm (decoded and validated here, so the board skips both):
    its board path, or None (not a module the engine accepts, --validate-on-board, not a .wasm)."""
    from . import load_image
    if data[:4] != b"\0asm":
        return None
    if getattr(args, "validate_on_board", False):
        load_image.remove_image(d, dest)
        return None
    prog = Progress("push %s" % os.path.basename(load_image.image_path(dest)))
    try:
        r = load_image.push_image(d, data, dest, progress=prog)
    finally:
        prog.done()
    return None if r is None else load_image.image_path(dest)


def _install(d, force=False, quiet=False, as_json=False):
    prog = Progress("install") if not quiet else None
    try:
        r = d.install(force=force, progress=prog, log=None)
    finally:
        if prog:
            prog.done()
    return r


def cmd_install(args):
    with _open(args) as d:
        d.enter_raw(soft_reset=True)
        r = _install(d, force=args.force)
    if args.json:
        print(json.dumps(r))
    elif r["unchanged"]:
        print("mpwasi %s is already installed in %s (%s, %s)" % (r["version"], ENGINE_DIR, r["format"], r["arch"] or "py"))
    else:
        print("installed mpwasi %s in %s as %s%s: %d file(s) written%s" % (
            r["version"], ENGINE_DIR, r["format"], " for %s" % r["arch"] if r["format"] == "mpy" else "",
            len(r["written"]), ", %d removed" % len(r["removed"]) if r["removed"] else ""))
    return 0


def _parse_kv(items, what):
    out = []
    for item in items or ():
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise CliError("%s needs NAME=VALUE, got %r" % (what, item), 2)
        out.append((k, v))
    return out


def wasm_memory_bytes(data):
    """The initial linear memory a module asks for (bytes), decoded by the engine's own decoder; None
    if it has none or cannot be decoded."""
    try:
        from mpwasi import binary
        mems = binary.decode(data).mems
    except Exception:
        return None
    return mems[0][0] * 65536 if mems else None


class _Uncook:
    """Board output (CR LF line ends) -> host output (LF), streamed."""

    def __init__(self, raw):
        self.raw = raw
        self.cr = False
        self.tail = b""

    def write(self, b):
        self.tail = (self.tail + b)[-512:]
        if self.cr:
            b = b"\r" + b
            self.cr = False
        if b.endswith(b"\r"):
            b = b[:-1]
            self.cr = True
        self.raw.write(b.replace(b"\r\n", b"\n"))
        self.raw.flush()

    def flush(self):
        self.raw.flush()

    def close(self):
        if self.cr:
            self.raw.write(b"\r")
            self.cr = False
        self.raw.flush()


def _push_aot(d, module_path, data, dest, compile=False):
    """The fast tier's ahead-of-time .mpy (`mpwasi compile --board B`) for this board lying next to
    the module, if its hash matches the module's, goes next to the module on the board, named for
    the board's copy (`<stem>_<hash16>.mpy`, what mpwasi.run looks for there); else, with
    `compile`, one compiled for the board's own architecture (aot.for_board, cached by the
    module's hash)."""
    import hashlib
    from mpwasi.fastrt import aot_name
    digest = hashlib.sha256(data).hexdigest()
    local_dir = os.path.dirname(os.path.abspath(module_path))
    stem = os.path.basename(module_path)
    stem = stem[:-5] if stem.endswith(".wasm") else stem
    local = None
    profile = getattr(d, "profile", None)
    for board in ([profile.name] if profile is not None else []) + [None]:
        path = os.path.join(local_dir, aot_name(stem, digest, board) + ".mpy")
        if os.path.isfile(path):
            local = path
            break
    if local is None and compile:
        from . import aot
        info = d.info()
        bits = profile.float_bits if profile is not None else 64
        local = aot.for_board(module_path, data, info.get("arch"), bits, info.get("mpy_version"),
                              log=lambda m: _err("mpwasi: " + m) if "no ahead-of-time" in m else None)
    if local is None:
        return None
    i = dest.rfind("/")
    board_dir, board_stem = dest[:i] if i > 0 else "/", dest[i + 1:]
    board_stem = board_stem[:-5] if board_stem.endswith(".wasm") else board_stem
    target = "%s/%s.mpy" % (board_dir.rstrip("/"), aot_name(board_stem, digest))
    with open(local, "rb") as f:
        blob = f.read()
    from mpwasi.fastrt import AOT_SHARE
    heap = d.info().get("heap") if hasattr(d, "info") else None
    if heap and len(blob) * AOT_SHARE > heap:
        # the board would not load it (mpwasi.fastrt.find_aot): not worth its flash and push time
        _err("mpwasi: the ahead-of-time code for %s (%d KB) is too large for the board's heap (%d KB): "
             "it runs in the interpreter" % (os.path.basename(module_path), len(blob) // 1024, heap // 1024))
        return None
    prog = Progress("push %s" % os.path.basename(local))
    try:
        d.put_bytes(blob, target, progress=prog)
    finally:
        prog.done()
    return target


def _parse_dirs(items):
    """--dir values -> [(board path, guest name)]: BOARD_PATH::GUEST (as wasmtime and
    `python3 -m mpwasi` take it), BOARD_PATH alone (the same name for the guest), or the older
    GUEST=BOARD_PATH."""
    out = []
    for item in items or ():
        if "::" in item:
            board_path, _, guest = item.partition("::")
        elif "=" in item:
            guest, _, board_path = item.partition("=")
        else:
            board_path = guest = item
        if not board_path or not guest:
            raise CliError("--dir needs BOARD_PATH::GUEST (or BOARD_PATH), got %r" % item, 2)
        out.append((board_path, guest))
    return out


def _stdin_fd():
    """The host's stdin as a file descriptor for the board program, or None (closed)."""
    try:
        return sys.stdin.fileno() if sys.stdin is not None else None
    except (OSError, ValueError, AttributeError):
        return None


def _hw_options(args):
    """The `wiring` options of run/debug (--pin, --pin-input, --trace-pins, --loops), checked here
    so a bad one is a usage error before anything goes to the board."""
    from mpwasi import wiring
    try:
        pins = sorted(wiring.parse_pins(args.pin or []))
        inputs = sorted(wiring.parse_inputs(args.pin_input or []).items())
    except ValueError as e:
        raise CliError("%s (use --pin N[,N...] and --pin-input PIN=VALUE, VALUE 0..1023)" % e, 2)
    if args.loops is not None and args.loops < 0:
        raise CliError("--loops cannot be negative", 2)
    return {"pins": pins, "pin_inputs": inputs, "trace_pins": args.trace_pins, "loops": args.loops}


def cmd_run(args, debug=False):
    hw = _hw_options(args)
    data = _read_local(args.module)
    if data[:4] != b"\0asm":
        raise CliError("%s is not a WebAssembly module (no \\0asm header)" % args.module, 2)
    env = ["%s=%s" % kv for kv in _parse_kv(args.env, "--env")]
    dirs = _parse_dirs(args.dir)
    dest = _board_dest(args.module, args.dest)
    guest_args = list(args.args)
    name = os.path.basename(args.module)
    with _open(args) as d:
        d.enter_raw(soft_reset=True)
        if not args.no_install:
            r = d.install()
            if not r["unchanged"]:
                _err("installed mpwasi %s on the board (%d file(s))" % (r["version"], len(r["written"])))
        for board_path, guest in dirs:
            st = d.stat(board_path)
            if st is None or not st[0]:
                raise CliError("--dir %s: %s on the board; create it first (mpwasi push FILE %s/...)"
                               % (board_path, "no such directory" if st is None else "not a directory",
                                  board_path.rstrip("/")), 2)
        prog = Progress("push %s" % os.path.basename(args.module))
        try:
            d.put_bytes(data, dest, progress=prog)
        finally:
            prog.done()
        _push_aot(d, args.module, data, dest, compile=not debug and not args.no_compile)
        _push_image(d, data, dest, args)
        if debug:
            out = _Uncook(sys.stdout.buffer)
            try:
                res = _debug_on_board(d, dest, guest_args, env, dirs, out, hw)
            finally:
                out.close()
        else:
            if args.validate_on_board:  # (0, not False: the runner passes on only given keywords)
                hw = dict(hw or {}, image=0)
            res = d.run_module(dest, guest_args, env, dirs, out=sys.stdout.buffer, err=sys.stderr.buffer,
                               stdin_fd=_stdin_fd(), hw=hw)
        heap = (d.known_info or {}).get("heap")
        if d.virtual and d.profile is not None and heap:
            heap = "%d (the virtual board's, standing in for the %s profile's %d)" % (
                heap, d.profile.name, d.profile.heap_bytes)
    if res.broken_pipe:
        _quiet_stdout()
        _err("mpwasi: the output was closed before %s ended; the program was stopped on the board" % name)
        return 141
    if res.interrupted or any(k == "interrupted" for k, _ in res.errors):
        _err("mpwasi: interrupted; the board is back at its REPL")
        return 130
    need = wasm_memory_bytes(data)
    asks = "" if need is None else "; %s asks for %d bytes (%d pages) of linear memory" % (name, need, need // 65536)
    heap_report = None
    for kind, message in res.errors:
        if kind == "heap":      # the figures after a trap, not an error of its own
            heap_report = message
            continue
        if kind == "noengine":
            raise CliError("the mpwasi engine is not installed on the board (%s): run without --no-install, "
                           "or mpwasi install" % message)
        if kind == "memory":
            _err("mpwasi: " + _memory_message(message, name, heap, guest_args, env, asks))
            return 137
        _err("mpwasi: %s: %s: %s" % (name, kind, message))
        return 1
    if res.status == 134 and b"trap: out of memory" in res.err_tail:
        if heap_report:
            _err("mpwasi: " + _memory_message(heap_report + " trap: out of memory", name, heap, guest_args, env, asks))
        else:
            _err("mpwasi: the board ran out of memory: its heap is %s bytes%s" % (heap, asks))
    if res.board_error.strip():
        text = res.board_error.rstrip().replace("\r\n", "\n")
        last = text.splitlines()[-1]
        if "MemoryError" in last and not res.started:
            raw = sum(len(a) + 1 for a in guest_args) + sum(len(e) + 1 for e in env)
            raise CliError("the board ran out of memory reading the command that starts %s (%d argument(s) and "
                           "%d environment variable(s), %d bytes): pass fewer or shorter ones"
                           % (name, len(guest_args), len(env), raw))
        if debug and re.match(r"(DecodeError|ValidationError|LinkError|Trap|WasmError): ", last):
            raise CliError("%s: %s" % (name, last))
        raise CliError("the board could not run %s: %s" % (name, last))
    if res.status is None:
        return 1
    return res.status if 0 <= res.status <= 255 else 1


def _memory_message(report, name, heap, guest_args, env, asks):
    """The runner's memory report ("PHASE HEAP FREE ARGS_COST LARGEST_BLOCK ERROR") as what ran
    short."""
    words = report.split(" ", 5) + [""] * 6
    phase, total, free, cost, block, what = words[:6]
    heap = heap or total
    what = " (%s)" % what if what else ""
    block = ", its largest free block %s bytes" % block if block.isdigit() else ""
    if phase == "engine":
        return ("the board ran out of memory loading the mpwasi engine%s: its heap is %s bytes, %s free after "
                "it%s; use a board with more memory" % (what, heap, free, block))
    nargs = "%d argument(s) and %d environment variable(s)" % (len(guest_args), len(env))
    if phase == "args":
        return ("the board ran out of memory reading %s's %s%s: its heap is %s bytes; pass fewer or shorter ones"
                % (name, nargs, what, heap))
    return ("the board ran out of memory running %s%s: its heap is %s bytes, %s free when the program started "
            "(its %s took %s bytes)%s%s; %s" % (name, what, heap, free, nargs, cost, block, asks, MEMORY_ADVICE))


# what to do when a program does not fit the board's heap (issue 18)
MEMORY_ADVICE = ("to fit: cap its memory (--limits memory=BYTES), link it with a smaller stack "
                 "(-Wl,-z,stack-size=16384), or use a board with PSRAM")


def _quiet_stdout():
    """After a closed pipe: nothing more goes to stdout (not even Python's flush at exit)."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError):
        pass


def cmd_ls(args):
    path = args.path or "/"
    path = path[1:] if path.startswith(":") else path
    with _open(args) as d:
        st = d.stat(path)
        if st is None:
            raise CliError("no such file or directory on the board: %s" % path)
        if st[0]:
            # a push's temporary file (an interrupted one's, until the next push removes it) is not shown
            entries = [e for e in d.listdir(path) if not e[0].endswith((TMP_SUFFIX, TMP_SUFFIX + ".z"))]
        else:
            entries = [(path.rsplit("/", 1)[-1], False, st[1])]
    if args.json:
        print(json.dumps([{"name": n, "dir": is_dir, "size": size} for n, is_dir, size in entries]))
    else:
        for n, is_dir, size in sorted(entries):
            print("%10d %s%s" % (size, n, "/" if is_dir else ""))
    return 0


def cmd_get(args):
    src = args.path[1:] if args.path.startswith(":") else args.path
    local = args.local or os.path.basename(src.rstrip("/"))
    if os.path.isdir(local):
        local = os.path.join(local, os.path.basename(src))
    folder = os.path.dirname(os.path.abspath(local))
    if local != "-" and not os.path.isdir(folder):
        raise CliError("cannot write %s: there is no folder %s here; create it first (mkdir -p %s)"
                       % (local, folder, folder), 2)
    with _open(args) as d:
        prog = Progress("get %s" % src)
        try:
            data = d.get(src, progress=prog)
        except DeviceError as e:
            raise CliError(str(e))
        finally:
            prog.done()
    if local == "-":
        sys.stdout.buffer.write(data)
        return 0
    tmp = local + TMP_SUFFIX
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, local)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CliError("cannot write %s: %s" % (local, e.strerror or e))
    print("%s -> %s (%d bytes)" % (src, local, len(data)))
    return 0


def cmd_rm(args):
    with _open(args) as d:
        for p in args.paths:
            p = p[1:] if p.startswith(":") else p
            if p.strip("/") == "":
                raise CliError("will not remove / (the whole flash, the engine in %s too): remove what is in it "
                               "by name (mpwasi ls /)" % ENGINE_DIR, 2)
            try:
                d.remove(p, recursive=args.recursive)
            except DeviceError as e:
                raise CliError(str(e))
            print("removed %s" % p)
    return 0


def cmd_repl(args):
    from mpremote.console import Console
    from mpremote.repl import do_repl_main_loop

    class _State:
        pass

    with _open(args) as d:
        state = _State()
        state.transport = d.transport
        print("Connected to %s; leave with Ctrl-]" % d.port)
        console = Console()
        console.enter()
        try:
            d.serial.write(b"\x02")   # Ctrl-B: the friendly REPL, with its banner
            do_repl_main_loop(state, console, console.write, escape_non_printable=False,
                              code_to_inject=None, file_to_inject=None)
        finally:
            console.exit()
        print()
    return 0


def _board_record(port, label, profile, virtual, d=None, error=None):
    rec = {"port": port, "board": label, "profile": profile.name if profile else None, "virtual": virtual,
           "micropython": None, "engine": None, "heap": None}
    if d is not None:
        try:
            info = d.info()
            rec["micropython"] = info["micropython"]
            rec["heap"] = info["heap"]
            rec["engine"] = (info.get("engine") or {}).get("version")
        except DeviceError as e:
            rec["error"] = str(e)
    if error:
        rec["error"] = error
    return rec


def cmd_boards(args):
    records = []
    for b in _detect():
        profile = profiles.load_profile(b.profile) if b.profile else None
        if b.state != "micropython" or b.drive:
            rec = _board_record(b.port, b.label, profile, False, error="in its bootloader: flash MicroPython "
                                "with mpwasi flash")
        else:
            try:
                with Device(b.port, profile=profile) as d:
                    d.enter_raw()
                    rec = _board_record(b.port, b.label, profile, False, d)
            except DeviceError as e:
                rec = _board_record(b.port, b.label, profile, False, error=str(e))
        rec["usb_id"] = b.usb_id
        records.append(rec)
    name = args.board or vb.DEFAULT_BOARD
    running = [s for s in vb.running_boards()]
    shown = False
    for st in running:
        p = profiles.load_profile(st["board"])
        try:
            with Device(st["port"], profile=p, virtual=True) as d:
                d.enter_raw()
                rec = _board_record(st["port"], "virtual board", p, True, d)
        except DeviceError as e:
            rec = _board_record(st["port"], "virtual board", p, True, error=str(e))
        rec["flash"] = st["flash"]
        rec["float_bits"] = 64
        records.append(rec)
        shown = True
    if not shown:
        p = profiles.load_profile(name)
        rec = _board_record(None, "virtual board", p, True)
        rec["flash"] = vb.default_flash_path(name)
        rec["float_bits"] = 64
        rec["state"] = "not running (started on demand)"
        records.append(rec)
    if args.json:
        print(json.dumps(records, indent=1))
        return 0
    for r in records:
        port = r["port"] or "-"
        what = r["board"] + (" (%s profile)" % r["profile"] if r["virtual"] else "")
        detail = []
        if r.get("micropython"):
            detail.append("MicroPython %s" % r["micropython"])
        if r.get("heap"):
            detail.append("heap %d KB" % (r["heap"] // 1024))
        if r["virtual"] and r["profile"]:
            p = profiles.load_profile(r["profile"])
            detail.append("standing in for %d KB of heap and %s floats (64-bit unix port, double floats)"
                          % (p.heap_bytes // 1024, "single" if p.float_bits == 32 else "double"))
        if r["port"] or not r["virtual"]:
            detail.append("engine %s" % (r["engine"] or "not installed"))
        if r.get("state"):
            detail.append(r["state"])
        if r.get("error"):
            detail.append(r["error"])
        print("%-14s %-36s %s" % (port, what, ", ".join(detail)))
    return 0


def cmd_sim(args):
    name = args.board or vb.DEFAULT_BOARD
    if args.stop:
        if vb.stop(args.flash, name):
            print("stopped the virtual board on %s" % (args.flash or vb.default_flash_path(name)))
            return 0
        others = vb.running_boards()
        msg = "no virtual board is running on %s" % (args.flash or vb.default_flash_path(name))
        if others:
            msg += "; running: " + ", ".join("%s (flash %s)" % (o["port"], o["flash"]) for o in others)
        raise CliError(msg)
    if args.daemon:
        try:
            st = vb.ensure_running(name, args.flash, idle_timeout=args.idle_timeout, native_float=args.native_float)
        except vb.VirtualBoardError as e:
            raise CliError(str(e))
        print(st["port"])
        return 0

    def ready(board):
        print(board.port, flush=True)
        _err("virtual board (%s profile, heap %d bytes, flash %s) on %s; Ctrl-C stops it"
             % (name, board.profile.heap_bytes, board.flash, board.port))

    try:
        vb.serve(name, args.flash, idle_timeout=args.idle_timeout, native_float=args.native_float, on_ready=ready)
    except vb.VirtualBoardError as e:
        raise CliError(str(e))
    return 0


DEBUG_PROMPT = (protocol.DEBUG_MARK + protocol.DEBUG_PROMPT).encode()   # the board waits for a command


class _DebugConsole:
    """The board's output to the terminal; at the debugger's prompt mark, a line read here (with
    readline's editing and history) goes to the board. Ctrl-C while the program runs sends Ctrl-\\,
    which the board's debugger turns into a stop at the next loop iteration or call."""

    def __init__(self, out, send):
        self.out = out
        self.send = send
        self.buf = b""

    def write(self, b):
        self.buf += b
        while True:
            i = self.buf.find(DEBUG_PROMPT)
            if i < 0:
                break
            self.out.write(self.buf[:i])
            self.out.flush()
            self.buf = self.buf[i + len(DEBUG_PROMPT):]
            self.send(self._ask().encode() + b"\n")
        keep = 0
        for k in range(1, len(DEBUG_PROMPT)):
            if self.buf.endswith(DEBUG_PROMPT[:k]):
                keep = k
        if len(self.buf) > keep:
            self.out.write(self.buf[:len(self.buf) - keep])
            self.buf = self.buf[len(self.buf) - keep:]

    def _ask(self):
        import signal
        old = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            while True:
                try:
                    return input(protocol.DEBUG_PROMPT)
                except KeyboardInterrupt:
                    sys.stdout.write("\n")
                except EOFError:
                    sys.stdout.write("\n")
                    return "quit"
        finally:
            signal.signal(signal.SIGINT, old)

    def flush(self):
        self.out.flush()


def _debug_on_board(d, dest, guest_args, env, dirs, out, hw=None):
    import signal
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    code = protocol.debug_runner(dest, guest_args, env, dirs, hw)
    old = signal.signal(signal.SIGINT, lambda signum, frame: d.write_raw(protocol.DEBUG_INTERRUPT.encode()))
    try:
        return d.run_streaming(code, _DebugConsole(out, d.write_raw), framed=False)
    finally:
        signal.signal(signal.SIGINT, old)


def cmd_debug(args):
    """`mpwasi debug app.wasm [-- args]`: the debugger's prompt on the board (the module pushed as
    `run` does); --local: the same prompt in this process."""
    if not args.local:
        return cmd_run(args, debug=True)
    hw = _hw_options(args)
    sys.path.insert(0, os.path.dirname(engine_source_dir()))
    from mpwasi import debugger
    status = debugger.debug(args.module, args=list(args.args), **hw)
    return 0 if status is None else status


def cmd_compile(args):
    from . import aot
    return aot.run(args)


# --------------------------------------------------------------------------------------------------
# The parser


def _target_options(p):
    g = p.add_argument_group("target")
    g.add_argument("--port", "-p", help="serial port of the board (default: the one board found, else the virtual board)")
    g.add_argument("--virtual", action="store_true", help="use the virtual board even if a board is plugged in")
    g.add_argument("--board", "-b", help="board profile (for the virtual board; default %s)" % vb.DEFAULT_BOARD)
    g.add_argument("--flash", help="the virtual board's flash image (default: in the data folder)")


def _module_options(p):
    """The target, the module, its arguments and where it goes: `run` and `debug`."""
    _target_options(p)
    p.add_argument("module")
    p.add_argument("--dir", action="append", metavar="BOARD_PATH[::GUEST]",
                   help="preopen the board directory BOARD_PATH, as GUEST (default: the same name); "
                   "the older GUEST=BOARD_PATH works too")
    p.add_argument("--env", action="append", metavar="K=V", help="environment variable for the module")
    p.add_argument("--dest", help="where the module goes on the board (default %s/<name>)" % APPS_DIR)
    p.add_argument("--no-install", action="store_true", help="do not check or install the engine")
    p.add_argument("--no-compile", action="store_true",
                   help="run: do not compile the module for the board's architecture (viper/native "
                        ".mpy beside it, cached by the module's hash)")
    g = p.add_argument_group("pins (the `wiring` imports; none are granted by default)")
    g.add_argument("--pin", action="append", metavar="N[,N...]", help="grant pin N to the module")
    g.add_argument("--pin-input", action="append", metavar="PIN=VALUE",
                   help="the virtual board's input on PIN: 0/1 a level, 2..1023 an analog reading")
    g.add_argument("--trace-pins", action="store_true",
                   help="print each change the module makes to a pin on stderr (pin 2 = 1)")
    g.add_argument("--loops", type=int, metavar="N",
                   help="an Arduino-style app (setup/loop): stop after N calls of loop (0: only setup)")
    _validate_option(p)
    p.add_argument("args", nargs="*", help="the module's arguments, if any (after --)")


def _validate_option(p):
    p.add_argument("--validate-on-board", action="store_true",
                   help="no load image: the board decodes and validates the module itself")


def build_parser():
    ap = argparse.ArgumentParser(prog="mpwasi", description="WebAssembly + WASI on MicroPython boards.")
    ap.add_argument("--version", action="version", version="mpwasi %s" % _version())
    sub = ap.add_subparsers(dest="command", metavar="command")

    p = sub.add_parser("boards", help="list the boards on USB and the virtual board")
    p.add_argument("--board", "-b", help="profile of the virtual board to show")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_boards)

    p = sub.add_parser("install", help="copy the engine to the board's /lib/mpwasi (compiled with mpy-cross)")
    _target_options(p)
    p.add_argument("--force", action="store_true", help="write every file even if its hash matches")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("push", help="copy a file to the board (skipped if unchanged; atomic)")
    _target_options(p)
    p.add_argument("file")
    p.add_argument("dest", nargs="?", help=":path on the board (default %s/<name>)" % APPS_DIR)
    p.add_argument("--json", action="store_true")
    _validate_option(p)
    p.add_argument("--no-compile", action="store_true",
                   help="a .wasm goes alone (no .mpy compiled for the board's architecture beside it)")
    p.set_defaults(func=cmd_push)

    p = sub.add_parser("run", help="run a .wasm on the board, streaming its output",
                       usage="mpwasi run [options] module [-- args ...]")
    _module_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("ls", help="list a directory on the board")
    _target_options(p)
    p.add_argument("path", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("get", help="copy a file from the board")
    _target_options(p)
    p.add_argument("path")
    p.add_argument("local", nargs="?", help="local file or directory (default: same name here; - for stdout)")
    p.set_defaults(func=cmd_get)

    p = sub.add_parser("rm", help="remove files on the board")
    _target_options(p)
    p.add_argument("-r", "--recursive", action="store_true")
    p.add_argument("paths", nargs="+")
    p.set_defaults(func=cmd_rm)

    p = sub.add_parser("repl", help="the board's REPL in this terminal (leave with Ctrl-])")
    _target_options(p)
    p.set_defaults(func=cmd_repl)

    p = sub.add_parser("sim", help="run the virtual board (prints its serial port)")
    p.add_argument("--board", "-b", help="board profile (default %s)" % vb.DEFAULT_BOARD)
    p.add_argument("--flash", help="flash image file (default: in the data folder)")
    p.add_argument("--daemon", action="store_true", help="run it in the background and return")
    p.add_argument("--stop", action="store_true", help="stop the background one")
    p.add_argument("--idle-timeout", type=float, help="stop after this many seconds without serial traffic or a program running")
    p.add_argument("--native-float", action="store_true",
                   help="let the engine use the unix port's double floats instead of the profile's softfloat path")
    p.set_defaults(func=cmd_sim)

    from . import flashing
    flashing.add_cli(sub)

    p = sub.add_parser("debug", help="debug a .wasm on the board: the debugger's prompt, edited here",
                       usage="mpwasi debug [options] module [-- args ...]")
    _module_options(p)
    p.add_argument("--local", action="store_true", help="run the debugger here, not on a board")
    p.set_defaults(func=cmd_debug)

    from . import aot
    p = sub.add_parser("compile", help="compile a .wasm for the fast tier (ahead of time)",
                       description="compile a .wasm ahead of time for a board's fast tier: "
                       "<name>_<hash16>_<board>.mpy next to it (mpwasi run pushes it along)")
    aot.add_arguments(p)
    p.set_defaults(func=cmd_compile)
    return ap


def _version():
    try:
        return engine_version(engine_source_dir())
    except DeviceError:
        return "unknown"


def main(argv=None):
    ap = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    guest = None
    if "--" in argv and len(argv) > 0 and argv[0] in ("run", "debug"):
        i = argv.index("--")
        argv, guest = argv[:i], argv[i + 1:]
    args = ap.parse_args(argv)
    if guest is not None:
        args.args = list(args.args) + guest
    if not getattr(args, "func", None):
        ap.print_help()
        return 2
    try:
        return args.func(args)
    except CliError as e:
        _err("mpwasi: %s" % e)
        return e.code
    except BoardExecError as e:
        _err("mpwasi: %s; try again, or reset the board (mpwasi repl, then Ctrl-D)" % e)
        return 1
    except (DeviceError, profiles.ProfileError) as e:
        _err("mpwasi: %s" % e)
        return 1
    except KeyboardInterrupt:
        _err("mpwasi: interrupted")
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        _err("mpwasi: the output was closed before the command finished")
        return 141


if __name__ == "__main__":
    sys.exit(main())
