"""The `wiring` imports and the Arduino lifecycle, exercised call by call: a transcript of lines that
must come out the same under CPython (tests/engine/test_wiring.py imports this) and the MicroPython unix
port (which runs this file: `micropython tests/mp/wiring_session.py`, engine and tests/ on the path).

Modules are built here with tests/wasmgen.py: a probe that re-exports each wiring import as
`call_NAME` (so each can be called with any arguments), and apps with setup/loop."""
import io
import sys

import mpwasi
from mpwasi import wasi, wiring
from mpwasi.runtime import Instance, Module
from wasmgen import ModuleBuilder, sleb

SIGS = (("millis", (), ("i32",)), ("micros", (), ("i32",)), ("delay", ("i32",), ()),
        ("pinMode", ("i32", "i32"), ()), ("digitalWrite", ("i32", "i32"), ()),
        ("digitalRead", ("i32",), ("i32",)), ("analogRead", ("i32",), ("i32",)),
        ("analogWrite", ("i32", "i32"), ()), ("print", ("i32", "i32"), ()), ("stopWdt", (), ()),
        ("getPinLED", (), ("i32",)))


class Lines:
    """A text stream that keeps what is written (the trace)."""

    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s if isinstance(s, str) else str(s, "utf-8")

    def flush(self):
        pass


def probe_module():
    m = ModuleBuilder()
    for i in range(len(SIGS)):
        nm, ps, rs = SIGS[i]
        t = m.type(list(ps), list(rs))
        m.import_func("wiring", nm, t)
    for i in range(len(SIGS)):
        nm, ps, rs = SIGS[i]
        t = m.type(list(ps), list(rs))
        body = []
        for k in range(len(ps)):
            body += [0x20, k]
        body += [0x10, i, 0x0B]
        f = m.func(t, [], body, "call_" + nm)
        m.export("call_" + nm, 0, f)
    m.mem(1)
    m.export("memory", 2, 0)
    m.data(16, b"hello, pins\n")
    return m.bytes()


def app_module(trap_at=None, with_init=True, with_setup=True, exit_in_start=None):
    """setup: pinMode(2, OUTPUT) and print "setup"; loop: n += 1, digitalWrite(2, n & 1), print
    "loop"; _initialize prints "init". trap_at: loop hits `unreachable` at that n.
    exit_in_start: a _start that calls proc_exit(code)."""
    m = ModuleBuilder()
    t_ii = m.type(["i32", "i32"], [])
    t_v = m.type([], [])
    t_i = m.type(["i32"], [])
    pin_mode = m.import_func("wiring", "pinMode", t_ii)
    write = m.import_func("wiring", "digitalWrite", t_ii)
    pr = m.import_func("wiring", "print", t_ii)
    if exit_in_start is not None:
        proc_exit = m.import_func("wasi_snapshot_preview1", "proc_exit", t_i)
    m.mem(1)
    m.export("memory", 2, 0)
    m.data(0, b"init\nsetup\nloop\n")
    n = m.glob("i32", True, [0x41, 0])
    if with_init:
        f = m.func(t_v, [], [0x41, 0, 0x41, 5, 0x10, pr, 0x0B], "init")
        m.export("_initialize", 0, f)
    if exit_in_start is not None:
        f = m.func(t_v, [], [0x41] + sleb(exit_in_start) + [0x10, proc_exit, 0x0B], "start")
        m.export("_start", 0, f)
    if with_setup:
        f = m.func(t_v, [], [0x41, 2, 0x41, 1, 0x10, pin_mode, 0x41, 5, 0x41, 6, 0x10, pr, 0x0B],
                   "setup")
        m.export("setup", 0, f)
    body = [0x23, n, 0x41, 1, 0x6A, 0x24, n,                      # n += 1
            0x41, 2, 0x23, n, 0x41, 1, 0x71, 0x10, write,          # digitalWrite(2, n & 1)
            0x41, 11, 0x41, 5, 0x10, pr]                           # print("loop\n")
    if trap_at is not None:
        body += [0x23, n, 0x41] + sleb(trap_at) + [0x46, 0x04, 0x40, 0x00, 0x0B]  # if n == k: trap
    f = m.func(t_v, [], body + [0x0B], "loop")
    m.export("loop", 0, f)
    return m.bytes()


class FakeMachine:
    """Stands in for a board's `machine` module (the one place a stand-in is right: no physical
    pin here). It logs the calls MachineBank makes."""

    def __init__(self, log):
        fake = self

        class Pin:
            IN = "IN"
            OUT = "OUT"
            PULL_UP = "PULL_UP"

            def __init__(self, n, *args):
                if n > 29:
                    raise ValueError("invalid pin")
                self.n = n
                self.level = 0
                log.append("Pin(%d%s)" % (n, "".join([", %s" % (a,) for a in args])))

            def value(self, *v):
                if v:
                    self.level = v[0]
                    log.append("Pin(%d).value(%d)" % (self.n, v[0]))
                    return None
                return 1 if self.n == 3 else self.level

        class PWM:
            def __init__(self, pin):
                self.n = pin.n
                log.append("PWM(Pin(%d))" % pin.n)

            def freq(self, f):
                log.append("PWM(%d).freq(%d)" % (self.n, f))

            def duty_u16(self, d):
                log.append("PWM(%d).duty_u16(%d)" % (self.n, d))

            def deinit(self):
                log.append("PWM(%d).deinit()" % self.n)

        class ADC:
            def __init__(self, pin):
                self.n = pin.n
                log.append("ADC(Pin(%d))" % pin.n)

            def read_u16(self):
                return 0xB000

        fake.Pin = Pin
        fake.PWM = PWM
        fake.ADC = ADC


def machine_session(lines):
    log = []
    bank = wiring.MachineBank(FakeMachine(log))
    inst, w, out, err = probe(pins=[2, 3, 9, 26, 40], bank=bank)
    ex = inst.exports
    ex["call_pinMode"](2, 1)
    ex["call_digitalWrite"](2, 1)
    ex["call_pinMode"](3, 2)
    lines.append("board: digitalRead(3) -> %d" % ex["call_digitalRead"](3))
    ex["call_pinMode"](3, 0)
    lines.append("board: analogRead(26) -> %d" % ex["call_analogRead"](26))
    ex["call_analogWrite"](9, 128)
    ex["call_analogWrite"](9, 255)
    ex["call_digitalWrite"](9, 0)
    attempt(lines, "board: pinMode(40, OUTPUT)", ex["call_pinMode"], 40, 1)
    lines.extend(["board: " + x for x in log])
    lines.extend(["board trace: " + x for x in err.text.splitlines()])


def probe(pins=(), trace=True, inputs=None, bank=None):
    err = Lines()
    out = io.BytesIO()
    w = wiring.Wiring(pins, trace, inputs, out, err, bank=bank)
    inst = Instance(Module(probe_module()), w.imports())
    return inst, w, out, err


def attempt(lines, label, fn, *args):
    try:
        r = fn(*args)
        lines.append("%s -> %r" % (label, r))
    except mpwasi.Trap as t:
        lines.append("%s -> trap: %s" % (label, t.reason))


def run_app(data, **kw):
    out = io.BytesIO()
    err = Lines()
    status = wasi.run(data, stdout=out, stderr=err, **kw)
    return status, str(out.getvalue(), "utf-8"), err.text


def session():
    lines = []
    # every import's argument checks, on the simulated bank
    inst, w, out, err = probe(pins=[2, 3, 4, 9, 26], inputs={3: 1, 26: 700})
    ex = inst.exports
    attempt(lines, "pinMode(2, OUTPUT)", ex["call_pinMode"], 2, 1)
    attempt(lines, "pinMode(2, OUTPUT) again", ex["call_pinMode"], 2, 1)
    attempt(lines, "pinMode(2, 3)", ex["call_pinMode"], 2, 3)
    attempt(lines, "pinMode(2, -1)", ex["call_pinMode"], 2, -1)
    attempt(lines, "pinMode(7, OUTPUT)", ex["call_pinMode"], 7, 1)
    attempt(lines, "pinMode(-1, OUTPUT)", ex["call_pinMode"], -1, 1)
    attempt(lines, "digitalWrite(2, 1)", ex["call_digitalWrite"], 2, 1)
    attempt(lines, "digitalWrite(2, 1) again", ex["call_digitalWrite"], 2, 1)
    attempt(lines, "digitalWrite(2, 7)", ex["call_digitalWrite"], 2, 7)
    attempt(lines, "digitalWrite(2, 0)", ex["call_digitalWrite"], 2, 0)
    attempt(lines, "digitalWrite(5, 1)", ex["call_digitalWrite"], 5, 1)
    attempt(lines, "digitalRead(2) (an output)", ex["call_digitalRead"], 2)
    attempt(lines, "digitalRead(3) (input 1)", ex["call_digitalRead"], 3)
    attempt(lines, "digitalRead(4) (nothing set)", ex["call_digitalRead"], 4)
    attempt(lines, "pinMode(4, INPUT_PULLUP)", ex["call_pinMode"], 4, 2)
    attempt(lines, "digitalRead(4) (pull-up)", ex["call_digitalRead"], 4)
    attempt(lines, "analogRead(4) (pull-up)", ex["call_analogRead"], 4)
    attempt(lines, "digitalRead(8)", ex["call_digitalRead"], 8)
    attempt(lines, "analogRead(26) (input 700)", ex["call_analogRead"], 26)
    attempt(lines, "digitalRead(26) (input 700)", ex["call_digitalRead"], 26)
    attempt(lines, "analogRead(3) (input 1)", ex["call_analogRead"], 3)
    attempt(lines, "analogRead(27)", ex["call_analogRead"], 27)
    w.bank.set_input(3, 0)
    attempt(lines, "digitalRead(3) (input set to 0)", ex["call_digitalRead"], 3)
    attempt(lines, "analogWrite(9, 128)", ex["call_analogWrite"], 9, 128)
    attempt(lines, "analogRead(9) (pwm 128)", ex["call_analogRead"], 9)
    attempt(lines, "analogWrite(9, 255)", ex["call_analogWrite"], 9, 255)
    attempt(lines, "analogWrite(9, 256)", ex["call_analogWrite"], 9, 256)
    attempt(lines, "analogWrite(9, -1)", ex["call_analogWrite"], 9, -1)
    attempt(lines, "analogWrite(10, 1)", ex["call_analogWrite"], 10, 1)
    attempt(lines, "print(16, 12)", ex["call_print"], 16, 12)
    attempt(lines, "print(16, 0)", ex["call_print"], 16, 0)
    attempt(lines, "print(65530, 10)", ex["call_print"], 65530, 10)
    attempt(lines, "print(-1, 1)", ex["call_print"], -1, 1)
    attempt(lines, "stopWdt()", ex["call_stopWdt"])
    attempt(lines, "getPinLED()", ex["call_getPinLED"])
    lines.append("stdout: %r" % out.getvalue())
    lines.append("trace:")
    lines.extend(err.text.splitlines())
    machine_session(lines)
    # time: millis and micros count from the start, delay sleeps at least that long
    m0 = ex["call_millis"]() & 0xFFFFFFFF
    u0 = ex["call_micros"]() & 0xFFFFFFFF
    ex["call_delay"](30)
    m1 = ex["call_millis"]() & 0xFFFFFFFF
    u1 = ex["call_micros"]() & 0xFFFFFFFF
    lines.append("delay(30): millis +%s, micros +%s" % (
        "ok" if m1 - m0 >= 30 else m1 - m0, "ok" if u1 - u0 >= 30000 else u1 - u0))
    attempt(lines, "delay(0)", ex["call_delay"], 0)
    w.start_us -= (1 << 32) * 1000 + 5000  # 2**32 ms and 5 ms ago: millis has wrapped once
    m2 = ex["call_millis"]() & 0xFFFFFFFF
    lines.append("millis after 2**32 ms wraps: %s" % ("ok" if 5 <= m2 < 1000 else m2))
    # nothing granted by default, and no trace unless asked
    inst, w, out, err = probe()
    attempt(lines, "default: pinMode(2, OUTPUT)", inst.exports["call_pinMode"], 2, 1)
    attempt(lines, "default: analogRead(0)", inst.exports["call_analogRead"], 0)
    inst, w, out, err = probe(pins=["2,3"], trace=False)
    attempt(lines, "no trace: pinMode(2, OUTPUT)", inst.exports["call_pinMode"], 2, 1)
    attempt(lines, "no trace: digitalWrite(3, 1)", inst.exports["call_digitalWrite"], 3, 1)
    lines.append("no trace: %r" % err.text)
    # parsing what the host gives
    for bad in (["x"], ["-2"]):
        try:
            wiring.parse_pins(bad)
            lines.append("parse_pins(%r) accepted" % bad)
        except ValueError as e:
            lines.append("parse_pins(%r): %s" % (bad, e))
    for bad in (["3"], ["3=x"], ["3=1024"], {3: -1}):
        try:
            wiring.parse_inputs(bad)
            lines.append("parse_inputs(%r) accepted" % (bad,))
        except ValueError as e:
            lines.append("parse_inputs(%r): %s" % (bad, e))
    lines.append("parse_inputs: %r" % sorted(wiring.parse_inputs(["3=1", "26=700"]).items()))
    # the lifecycle: _initialize, setup once, loop N times
    app = app_module()
    for n in (0, 1, 3):
        status, out, err = run_app(app, pins=[2], loops=n, trace_pins=True)
        lines.append("loops=%d: status %d, stdout %r, trace %r" % (n, status, out, err))
    status, out, err = run_app(app_module(with_init=False, with_setup=False), pins=[2], loops=2)
    lines.append("loop only: status %d, stdout %r" % (status, out))
    status, out, err = run_app(app, loops=2)
    lines.append("ungranted: status %d, stdout %r" % (status, out))
    lines.extend(err.splitlines())
    status, out, err = run_app(app_module(trap_at=2), pins=[2], loops=5)
    lines.append("trap in loop: status %d, stdout %r" % (status, out))
    lines.extend(err.splitlines())
    status, out, err = run_app(app_module(exit_in_start=0), pins=[2], loops=1)
    lines.append("_start exits 0: status %d, stdout %r" % (status, out))
    status, out, err = run_app(app_module(exit_in_start=3), pins=[2], loops=1)
    lines.append("_start exits 3: status %d, stdout %r" % (status, out))
    for with_start in (True, False):
        # no setup and no wiring import: with _start a WASI command (its loop never runs)
        m = ModuleBuilder()
        t_i = m.type(["i32"], [])
        t_v = m.type([], [])
        proc_exit = m.import_func("wasi_snapshot_preview1", "proc_exit", t_i)
        if with_start:
            m.export("_start", 0, m.func(t_v, [], [0x41, 5, 0x10, proc_exit, 0x0B], "start"))
        m.export("loop", 0, m.func(t_v, [], [0x00, 0x0B], "loop"))
        status, out, err = run_app(m.bytes(), loops=1)
        lines.append("_start %s and loop: status %d, %r" % (
            "exported" if with_start else "not exported", status, err.splitlines()[:1]))
    for label, params, import_name in (("unknown import", ["i32", "i32"], "blinkLED"),
                                       ("wrong type", ["i32"], "pinMode"),
                                       ("nothing to run", None, None)):
        m = ModuleBuilder()
        m.mem(1)
        if params is not None:
            m.import_func("wiring", import_name, m.type(params, []))
        try:
            wasi.run(m.bytes())
            lines.append(label + ": ran")
        except mpwasi.LinkError as e:
            lines.append("%s: LinkError: %s" % (label, e))
    return lines


if __name__ == "__main__":
    for line in session():
        sys.stdout.write(line + "\n")
