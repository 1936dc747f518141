"""The engine's command line, the same on CPython and MicroPython (with firmware/ on the path):
`python3 -m mpwasi ...` / `micropython -m mpwasi ...`; HELP below says what it takes. The process exits
with the guest's status: 0 when _start returns (or an Arduino-style app's loops are done), n for
proc_exit(n), 134 after a trap (its reason and wasm backtrace go to stderr), 130 when Ctrl-C stops an
app's loop, 1 if the module cannot be loaded, 2 for a usage error.
"""
import sys

USAGE = ("usage: mpwasi [--dir HOST[::GUEST]]... [--env K=V]... "
         "[--limits memory=BYTES,depth=N,fuel=N] [--softfloat] [--tier interp|fast|auto] [--debug] "
         "[--pin N]... [--pin-input N=V]... [--trace-pins] [--loops N] module.wasm [args...]")
HELP = USAGE + """

    python3 -m mpwasi [options] module.wasm [args...]
    micropython -m mpwasi [options] module.wasm [args...]

Options (before the module):
    --dir HOST[::GUEST]   preopen the host directory HOST as GUEST (default: HOST; `::/` names it /)
    --env K=V             an environment variable for the guest (none are inherited)
    --limits memory=BYTES,depth=N,fuel=N   cap linear memory (K/M suffixes), call depth, fuel
    --softfloat           compute floats with the pure-integer IEEE code (as on single-float boards)
    --tier T              interp, fast (wasm compiled to Python first) or auto (hot code);
                          default: auto on CPython, interp on MicroPython
    --debug               run the module under the debugger's prompt (mpwasi.debugger)
    --pin N[,N...]        grant pin N to the module's `wiring` imports (none are granted by default)
    --pin-input N=V       the simulated pin bank's input on pin N: 0/1 a level, 2..1023 analog
    --trace-pins          print each change the module makes to a pin (`pin 2 = 1`) on stderr
    --loops N             an Arduino-style app (exports setup/loop): stop after N calls of loop
    -h, --help            this text

An Arduino-style app (it exports setup and loop) runs _initialize if it exports one, setup()
once, then loop() until Ctrl-C or a trap, or --loops times.

Exit status: the guest's (0 when _start returns or the loops are done, n for proc_exit(n)); 134
after a trap, whose reason and wasm backtrace go to stderr; 130 after Ctrl-C stops an app; 1 if the
module cannot be loaded; 2 for a usage error.
"""


class UsageError(Exception):
    pass


def _size(text):
    mult = 1
    if text[-1:] in ("K", "k"):
        mult, text = 1024, text[:-1]
    elif text[-1:] in ("M", "m"):
        mult, text = 1024 * 1024, text[:-1]
    try:
        value = int(text) * mult
    except ValueError:
        raise UsageError("not a number: " + text)
    if value < 0:
        raise UsageError("negative limit: " + text)
    return value


def parse_limits(text):
    """'memory=64K,depth=200,fuel=1000000' -> {"memory_bytes":..., "max_call_depth":..., "fuel":...}"""
    names = {"memory": "memory_bytes", "depth": "max_call_depth", "fuel": "fuel"}
    out = {}
    for item in text.split(","):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or key not in names or not value:
            raise UsageError("bad --limits item %r (use memory=BYTES,depth=N,fuel=N)" % item)
        out[names[key]] = _size(value)
    return out


def _pins(text):
    out = []
    for part in text.split(","):
        if not part.isdigit():
            raise UsageError("--pin needs pin numbers (N or N,N,...), not " + text)
        out.append(int(part))
    return out


def _pin_input(text):
    pin, sep, value = text.partition("=")
    if not sep or not pin.isdigit() or not value.isdigit() or int(value) > 1023:
        raise UsageError("--pin-input needs PIN=VALUE (VALUE 0 or 1, or 2..1023 analog), not "
                         + text)
    return (int(pin), int(value))


def parse_args(argv):
    """Command-line words (without the program name) -> options dict."""
    opts = {"dirs": [], "env": [], "limits": None, "softfloat": False, "debug": False,
            "module": None, "args": [], "tier": None, "pins": [], "pin_inputs": [],
            "trace_pins": False, "loops": None}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            i += 1
            break
        if not word.startswith("-") or word == "-":
            break
        if word in ("-h", "--help"):
            opts["help"] = True
            return opts
        if word == "--softfloat":
            opts["softfloat"] = True
            i += 1
            continue
        if word == "--debug":
            opts["debug"] = True
            i += 1
            continue
        if word == "--trace-pins":
            opts["trace_pins"] = True
            i += 1
            continue
        name, sep, value = word.partition("=")
        if name not in ("--dir", "--env", "--limits", "--tier", "--pin", "--pin-input", "--loops"):
            raise UsageError("unknown option " + word)
        if not sep:
            if i + 1 >= len(argv):
                raise UsageError(name + " needs a value")
            value = argv[i + 1]
            i += 2
        else:
            i += 1
        if name == "--pin":
            opts["pins"].extend(_pins(value))
        elif name == "--pin-input":
            opts["pin_inputs"].append(_pin_input(value))
        elif name == "--loops":
            try:
                opts["loops"] = int(value)
            except ValueError:
                raise UsageError("--loops needs a number, not " + value)
            if opts["loops"] < 0:
                raise UsageError("--loops cannot be negative")
        elif name == "--tier":
            if value not in ("interp", "fast", "auto"):
                raise UsageError("--tier is interp, fast or auto, not " + value)
            opts["tier"] = value
        elif name == "--dir":
            host, sep, guest = value.partition("::")
            if not host:
                raise UsageError("--dir needs a host directory")
            opts["dirs"].append((host, guest if sep and guest else host))
        elif name == "--env":
            if "=" not in value or value.startswith("="):
                raise UsageError("--env needs K=V, got " + value)
            opts["env"].append(value)
        else:
            opts["limits"] = parse_limits(value)
    if i >= len(argv):
        raise UsageError("no module given")
    opts["module"] = argv[i]
    opts["args"] = list(argv[i + 1:])
    return opts


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    try:
        opts = parse_args(argv)
    except UsageError as e:
        sys.stderr.write("mpwasi: %s\n%s\n" % (e, USAGE))
        return 2
    if opts.get("help"):
        sys.stdout.write(HELP)
        return 0
    if opts["softfloat"]:
        from mpwasi import numeric

        numeric.force_softfloat()
    import mpwasi
    from mpwasi import wasi

    if opts["tier"] and not opts["debug"]:
        mpwasi.set_tier(opts["tier"])
    limits = None
    if opts["limits"]:
        limits = mpwasi.Limits(**opts["limits"])
    hw = {"pins": opts["pins"], "pin_inputs": opts["pin_inputs"], "trace_pins": opts["trace_pins"],
          "loops": opts["loops"]}
    try:
        if opts["debug"]:
            from mpwasi import debugger

            status = debugger.debug(opts["module"], opts["args"], opts["env"], opts["dirs"], limits,
                                    **hw)
            return 0 if status is None else status
        return wasi.run(opts["module"], opts["args"], opts["env"], opts["dirs"], limits, **hw)
    except OSError as e:
        sys.stderr.write("mpwasi: %s\n" % (e,))
    except mpwasi.WasmError as e:
        sys.stderr.write("mpwasi: %s: %s: %s\n" % (opts["module"], type(e).__name__, e))
    return 1


if __name__ == "__main__":
    sys.exit(main())
