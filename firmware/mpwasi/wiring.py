"""The `wiring` imports (Arduino-style hardware access) and the Arduino lifecycle (setup, then loop).

Loaded only for a module that imports "wiring" or exports `loop`; a plain WASI command never pays
for it. The import names and types are the convention of wasm3's embedded-wasm-apps (what apps in
C/C++, Rust, Zig, TinyGo, AssemblyScript and WAT are built against), every value an i32 read as
unsigned (uint32_t there):

    millis() -> i32          ms since the program started (wraps at 2**32, ~49.7 days)
    micros() -> i32          us since the program started (wraps at 2**32, ~71.6 minutes)
    delay(ms)                sleeps ms milliseconds
    pinMode(pin, mode)       0 INPUT, 1 OUTPUT, 2 INPUT_PULLUP (anything else traps)
    digitalWrite(pin, v)     0 LOW, any other value HIGH (as Arduino)
    digitalRead(pin) -> i32  0 or 1; an OUTPUT pin reads back the level it drives
    analogRead(pin) -> i32   0..1023 (10 bits, as Arduino)
    analogWrite(pin, v)      PWM duty 0..255 (255: always on; outside it traps), at 1 kHz
    print(ptr, len)          those bytes of linear memory to stdout (out of bounds traps)
    stopWdt()                nothing: the engine starts no watchdog and MicroPython's cannot stop
    getPinLED() -> i32       the board's LED pin number (25 rp2, 2 esp32/esp8266 and elsewhere)

Pins are capabilities: a call on a pin that was not granted (`pins=[...]`, `--pin N`) traps with a
message that names the pin and how to grant it. With trace on, each change a module makes to a
pin's mode or level is one line on stderr: `pin 2 mode OUTPUT`, `pin 2 = 1`, `pin 9 pwm 128`.

Where the pins go: on a board `machine.Pin`, `machine.PWM`, `machine.ADC` (MachineBank); where
`machine` has no Pin (the unix port of the virtual board, CPython) a simulated bank (SimBank) whose
input levels the host sets (`--pin-input 3=1`, SimBank.set_input).
"""
import sys

from . import compat
from .errors import Exit, Trap

INPUT = 0
OUTPUT = 1
INPUT_PULLUP = 2
MODE_NAMES = ("INPUT", "OUTPUT", "INPUT_PULLUP")
ANALOG_MAX = 1023     # analogRead's range, 0..ANALOG_MAX
PWM_MAX = 255         # analogWrite's range, 0..PWM_MAX
PWM_FREQ = 1000       # Hz (Arduino boards use 490..1000)
INTERRUPTED_STATUS = 130

# "name/params/results" per word, "i" an i32 (a string costs a board less heap than a table)
_FUNCTIONS = ("millis//i micros//i delay/i/ pinMode/ii/ digitalWrite/ii/ digitalRead/i/i "
              "analogRead/i/i analogWrite/ii/ print/ii/ stopWdt// getPinLED//i")


def names():
    """The names the `wiring` import module provides."""
    return [w.split("/")[0] for w in _FUNCTIONS.split()]


def led_pin():
    """The board's LED pin, by port (the number apps get from getPinLED)."""
    return 25 if sys.platform == "rp2" else 2


def _signed(v):
    return v - 0x100000000 if v & 0x80000000 else v


def parse_pins(pins):
    """Pins to grant: ints, or strings of them ("2", "2,25") -> a set of ints."""
    out = set()
    for p in pins or ():
        if isinstance(p, str):
            for part in p.split(","):
                part = part.strip()
                if part:
                    out.add(_pin_number(part))
        else:
            out.add(int(p))
    return out


def _pin_number(text):
    try:
        n = int(text)
    except ValueError:
        raise ValueError("not a pin number: %r" % text)
    if n < 0:
        raise ValueError("not a pin number: %r" % text)
    return n


def parse_inputs(inputs):
    """Input levels of the simulated bank: {pin: value}, or "PIN=VALUE" strings -> {pin: value}.
    VALUE 0 / 1 is a LOW / HIGH level, 2..1023 an analog reading (HIGH from 512)."""
    out = {}
    if not inputs:
        return out
    items = inputs.items() if isinstance(inputs, dict) else inputs
    for item in items:
        if isinstance(item, str):
            pin, sep, value = item.partition("=")
            if not sep:
                raise ValueError("a pin input is PIN=VALUE, not %r" % item)
            item = (_pin_number(pin), value)
        pin, value = int(item[0]), item[1]
        try:
            value = int(value)
        except ValueError:
            raise ValueError("pin %d: input value %r is not a number" % (pin, value))
        if not 0 <= value <= ANALOG_MAX:
            raise ValueError("pin %d: input value %d is outside 0..%d" % (pin, value, ANALOG_MAX))
        out[pin] = value
    return out


class SimBank:
    """The virtual board's pins: modes and output levels kept, inputs set by the host.

    An input pin reads its input value (set_input, `--pin-input`): 0 and 1 are levels, 2..1023
    analog readings, HIGH from 512; one never set reads LOW, or HIGH with INPUT_PULLUP. analogRead
    of a level is 0 or 1023. An OUTPUT pin reads back what it drives (PWM: HIGH from duty 128)."""

    def __init__(self, inputs=None):
        self.inputs = parse_inputs(inputs)
        self.modes = {}
        self.levels = {}
        self.duty = {}

    def set_input(self, pin, value):
        self.inputs.update(parse_inputs({pin: value}))

    def mode(self, pin, mode):
        self.modes[pin] = mode
        self.duty.pop(pin, None)

    def write(self, pin, level):
        self.duty.pop(pin, None)
        self.levels[pin] = level

    def pwm(self, pin, duty):
        self.duty[pin] = duty

    def _analog(self, pin):
        if pin in self.duty:
            return self.duty[pin] * ANALOG_MAX // PWM_MAX
        mode = self.modes.get(pin, INPUT)
        if mode == OUTPUT:
            return ANALOG_MAX if self.levels.get(pin) else 0
        v = self.inputs.get(pin)
        if v is None:
            return ANALOG_MAX if mode == INPUT_PULLUP else 0
        return ANALOG_MAX if v == 1 else v

    def read(self, pin):
        return 1 if self._analog(pin) >= 512 else 0

    def analog_read(self, pin):
        return self._analog(pin)


class MachineBank:
    """A board's pins through MicroPython's machine module: Pin for modes and levels, PWM for
    analogWrite (1 kHz, duty_u16), ADC for analogRead (read_u16 scaled to 10 bits). A pin's PWM
    is released when the pin is written or given a mode again."""

    def __init__(self, machine):
        self.m = machine
        self.pins = {}
        self.pwms = {}
        self.adcs = {}

    def _free_pwm(self, pin):
        p = self.pwms.pop(pin, None)
        if p is not None:
            p.deinit()
            self.pins.pop(pin, None)

    def _pin(self, pin):
        p = self.pins.get(pin)
        if p is None:
            p = self.pins[pin] = self.m.Pin(pin)
        return p

    def mode(self, pin, mode):
        self._free_pwm(pin)
        P = self.m.Pin
        if mode == OUTPUT:
            p = P(pin, P.OUT)
        elif mode == INPUT_PULLUP:
            p = P(pin, P.IN, P.PULL_UP)
        else:
            p = P(pin, P.IN, None)
        self.pins[pin] = p

    def write(self, pin, level):
        self._free_pwm(pin)
        self._pin(pin).value(level)

    def read(self, pin):
        return 1 if self._pin(pin).value() else 0

    def analog_read(self, pin):
        a = self.adcs.get(pin)
        if a is None:
            a = self.adcs[pin] = self.m.ADC(self.m.Pin(pin))
        return a.read_u16() >> 6

    def pwm(self, pin, duty):
        p = self.pwms.get(pin)
        if p is None:
            p = self.m.PWM(self.m.Pin(pin))
            p.freq(PWM_FREQ)
            self.pwms[pin] = p
        p.duty_u16(duty * 65535 // PWM_MAX)


def default_bank(inputs=None):
    """The board's pins where `machine` has them, else a simulated bank."""
    try:
        import machine
    except ImportError:
        machine = None
    if machine is not None and hasattr(machine, "Pin"):
        return MachineBank(machine)
    return SimBank(inputs)


class Wiring:
    """The `wiring` imports of one run. pins: the granted pins; trace: write pin changes to
    stderr; inputs: the simulated bank's input levels; stdout (binary) takes print(), stderr
    (text or binary) the trace; bank: where the pins go (default_bank)."""

    def __init__(self, pins=(), trace=False, inputs=None, stdout=None, stderr=None, bank=None):
        self.granted = parse_pins(pins)
        self.trace = trace
        self.out = stdout if stdout is not None else getattr(sys.stdout, "buffer", sys.stdout)
        self.err = stderr if stderr is not None else sys.stderr
        self.bank = bank if bank is not None else default_bank(inputs)
        if inputs and isinstance(self.bank, SimBank) and bank is not None:
            for pin, value in parse_inputs(inputs).items():
                self.bank.set_input(pin, value)
        self.memory = None
        self.shown = {}  # pin -> the last mode / level traced
        self.start_us = compat.monotonic_us()

    def bind(self, instance):
        """Called by Instance() before the start function: the memory print() reads; the clock
        starts."""
        self.memory = instance.memory
        self.start_us = compat.monotonic_us()

    def imports(self, module=None):
        """{"wiring": {name: HostFunc}}: all of them, or with a Module only those it imports."""
        from .runtime import HostFunc

        wanted = None
        if module is not None:
            wanted = [imp[1] for imp in module.imports if imp[0] == "wiring"]
        table = {}
        for word in _FUNCTIONS.split():
            name, params, results = word.split("/")
            if wanted is not None and name not in wanted:
                continue
            host = HostFunc(("i32",) * len(params), ("i32",) * len(results),
                            getattr(self, "w_" + name), raw=True, name=name)
            host.owner = self
            table[name] = host
        return {"wiring": table}

    # --- checks and trace ---------------------------------------------------------------------
    def _check(self, fn, pin):
        if pin not in self.granted:
            p = _signed(pin)
            if p < 0:
                raise Trap("%s: there is no pin %d" % (fn, p))
            raise Trap("%s: pin %d is not granted to this module: grant it with --pin %d "
                       "(pins=[%d] from Python)" % (fn, p, p, p))

    def _hw(self, fn, pin, call, *args):
        try:
            return call(pin, *args)
        except (ValueError, OSError, TypeError, AttributeError) as e:
            raise Trap("%s: pin %d: %s: %s" % (fn, pin, type(e).__name__, e))

    def _show(self, pin, key, text):
        if self.trace and self.shown.get((pin, key[0])) != key:
            self.shown[(pin, key[0])] = key
            _flush(self.out)
            line = "pin %d %s\n" % (pin, text)
            try:
                self.err.write(line)
            except TypeError:
                self.err.write(line.encode())
            _flush(self.err)

    # --- the imports (raw bit patterns in, bit patterns out) ------------------------------------
    def w_millis(self):
        return ((compat.monotonic_us() - self.start_us) // 1000) & 0xFFFFFFFF

    def w_micros(self):
        return (compat.monotonic_us() - self.start_us) & 0xFFFFFFFF

    def w_delay(self, ms):
        if ms:
            compat.sleep_ns(ms * 1000000)

    def w_pinMode(self, pin, mode):
        self._check("pinMode", pin)
        if mode > INPUT_PULLUP:
            raise Trap("pinMode: pin %d: mode %d is not INPUT (0), OUTPUT (1) or INPUT_PULLUP (2)"
                       % (pin, _signed(mode)))
        self._hw("pinMode", pin, self.bank.mode, mode)
        self._show(pin, ("m", mode), "mode " + MODE_NAMES[mode])

    def w_digitalWrite(self, pin, value):
        self._check("digitalWrite", pin)
        level = 1 if value else 0
        self._hw("digitalWrite", pin, self.bank.write, level)
        self._show(pin, ("v", level), "= %d" % level)

    def w_digitalRead(self, pin):
        self._check("digitalRead", pin)
        return self._hw("digitalRead", pin, self.bank.read)

    def w_analogRead(self, pin):
        self._check("analogRead", pin)
        return self._hw("analogRead", pin, self.bank.analog_read)

    def w_analogWrite(self, pin, value):
        self._check("analogWrite", pin)
        if value > PWM_MAX:
            raise Trap("analogWrite: pin %d: value %d is outside 0..%d"
                       % (pin, _signed(value), PWM_MAX))
        self._hw("analogWrite", pin, self.bank.pwm, value)
        self._show(pin, ("v", "pwm", value), "pwm %d" % value)

    def w_print(self, ptr, n):
        mem = self.memory
        if mem is None:
            raise Trap("print: the module has no memory")
        if ptr + n > len(mem.data):
            raise Trap("out of bounds memory access")
        if n:
            self.out.write(bytes(mem.data[ptr:ptr + n]))
            _flush(self.out)

    def w_stopWdt(self):
        pass

    def w_getPinLED(self):
        return led_pin()


def _flush(stream):
    f = getattr(stream, "flush", None)
    if f is not None:
        try:
            f()
        except OSError:
            pass


# --- the Arduino lifecycle ------------------------------------------------------------------------

def run_app(instance, loops=None, stderr=None, between=None):
    """The Arduino lifecycle: `_initialize` and `_start` if exported (as initialisers that return,
    as embedded-wasm-apps' host calls them; proc_exit(0) there ends only the initialisation),
    `setup()` once if exported, then `loop()` `loops` times (None: until Ctrl-C or a trap).
    between(n), if given, runs before the n-th call of loop. Returns 0, or 130 after Ctrl-C (a
    line on stderr says so); a trap or proc_exit(n) propagates."""
    ex = instance.exports
    n = 0
    try:
        for name in ("_initialize", "_start"):
            f = ex.get(name)
            if hasattr(f, "call_bits"):
                try:
                    f()
                except Exit as e:
                    if e.code:
                        raise
        setup = ex.get("setup")
        if hasattr(setup, "call_bits"):
            setup()
        loop = ex["loop"]
        while loops is None or n < loops:
            if between is not None:
                between(n)
            loop()
            n += 1
    except KeyboardInterrupt:
        err = stderr if stderr is not None else sys.stderr
        line = "\nmpwasi: stopped by Ctrl-C after %d call%s of loop\n" % (n, "" if n == 1 else "s")
        try:
            err.write(line)
        except TypeError:
            err.write(line.encode())
        return INTERRUPTED_STATUS
    return 0
