"""The engine's exceptions: one class per failure kind the WebAssembly spec tells apart.

DecodeError (malformed bytes), ValidationError (invalid module), LinkError (imports do not
match), Trap (execution stopped), Exit (proc_exit: a normal end of a WASI program).
Every error carries the spec's wording in ``.reason`` (also ``str(e)``).
"""


class WasmError(Exception):
    def __init__(self, reason="", *extra):
        super().__init__(reason, *extra)
        self.reason = reason

    def __str__(self):
        return self.reason


class DecodeError(WasmError):
    pass


class ValidationError(WasmError):
    pass


class LinkError(WasmError):
    pass


class Trap(WasmError):
    def __init__(self, reason="", frames=None):
        super().__init__(reason)
        # wasm backtrace, innermost first: list of (function index, name or None, code offset)
        self.frames = frames if frames is not None else []


class Exit(Exception):
    """proc_exit(code): the program ended with this status."""

    def __init__(self, code=0):
        super().__init__(code)
        self.code = code


try:
    RecursionError = RecursionError
except NameError:  # MicroPython raises RuntimeError("maximum recursion depth exceeded")
    RecursionError = RuntimeError
