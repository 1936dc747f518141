"""Run latency: time from starting `mpwasi run examples/hello.wasm` to its first output line, on the
virtual board.

  cold - a fresh flash image: the engine is installed and the module pushed first;
  warm - engine and module already on the board (what a user sees on the second run).
The virtual board is started first (not timed) and reached with --port.

    python3 bench/run_latency.py [--module examples/hello.wasm] [--repeat 5] [--board rpi_pico] [--json]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from host_tools.virtual_board import SimProcess  # noqa: E402


def first_line_after(cmd, env):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    line = p.stdout.readline()
    dt = time.perf_counter() - t
    p.stdout.read()
    p.wait()
    if not line or p.returncode != 0:
        raise SystemExit("the run failed (status %s, first line %r)" % (p.returncode, line))
    return dt, line


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--module", default=os.path.join(REPO, "examples", "hello.wasm"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--board", default="rpi_pico")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as td:
        env = dict(os.environ, MPWASI_DATA_DIR=td)
        with SimProcess(a.board, os.path.join(td, "flash.lfs2"), env=env) as sim:
            cmd = [sys.executable, "-m", "host_tools.cli", "run", "--port", sim.port, a.module]
            cold, line = first_line_after(cmd, env)
            warm = min(first_line_after(cmd, env)[0] for _ in range(a.repeat))
    result = {"module": os.path.relpath(a.module, REPO), "board": a.board, "first_line": line.decode().rstrip(),
              "cold_s": cold, "warm_s": warm}
    if a.json:
        print(json.dumps(result, indent=1))
    else:
        print("mpwasi run %s on the virtual board (%s profile): first output line %r" % (
            result["module"], a.board, result["first_line"]))
        print("  cold (engine installed + module pushed first): %.3f s" % cold)
        print("  warm (best of %d):                              %.3f s" % (a.repeat, warm))
    return 0


if __name__ == "__main__":
    sys.exit(main())
