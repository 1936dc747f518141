"""Push throughput: `mpwasi push` against `mpremote cp` for the same 200 KB file, on one virtual board,
measured side by side in one run.

The payload is 200 KB of random bytes (incompressible: the worst case for mpwasi, which deflates data
that shrinks) and, with --file, any file (e.g. bench/programs/bigmodule.wasm).
Two measurements, each the best of --repeat runs:
  transfer  - on one open connection: Device.put_bytes (base64 chunks in raw-paste mode, hash check,
              rename) against mpremote's own Transport.fs_writefile (repr() of 256-byte chunks);
  command   - wall time of the whole commands as a user types them: `mpwasi push --port P f :dest`
              against `mpremote connect P cp f :dest` (both start Python, open the port, ...).

    python3 bench/push_throughput.py [--size 204800 | --file F] [--repeat 3] [--board rpi_pico] [--json]
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from host_tools.device import Device  # noqa: E402
from host_tools.virtual_board import SimProcess  # noqa: E402


def best(fn, repeat):
    times = []
    for i in range(repeat):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=200 * 1024)
    ap.add_argument("--file", help="push this file instead of random bytes")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--board", default="rpi_pico")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)

    if a.file:
        with open(a.file, "rb") as f:
            data = f.read()
        a.size = len(data)
    else:
        rnd = random.Random(1)
        data = bytes(rnd.getrandbits(8) for _ in range(a.size))
    with tempfile.TemporaryDirectory() as td:
        env = dict(os.environ, MPWASI_DATA_DIR=td)
        src = os.path.join(td, "payload.bin")
        with open(src, "wb") as f:
            f.write(data)
        with SimProcess(a.board, os.path.join(td, "flash.lfs2"), env=env) as sim:
            with Device(sim.port) as d:
                d.enter_raw(soft_reset=True)

                def variant(i):
                    # different contents each time, so nothing is skipped as unchanged
                    return bytes([i & 255]) + data[1:]

                def ours(i):
                    assert d.put_bytes(variant(i), "/m.bin") == "written"

                def theirs(i):
                    d.transport.fs_writefile("/r.bin", variant(i))

                t_ours = best(ours, a.repeat)
                t_theirs = best(theirs, a.repeat)
                assert d.sha256("/m.bin") == d.sha256("/r.bin")
                d.remove("/m.bin")
                d.remove("/r.bin")

            cli = [sys.executable, "-m", "host_tools.cli"]

            def src_variant(i):
                with open(src, "wb") as f:
                    f.write(bytes([i & 255]) + data[1:])

            def ours_cmd(i):
                src_variant(i)
                subprocess.run(cli + ["push", "--port", sim.port, src, ":/cm.bin"], check=True, env=env,
                               stdout=subprocess.DEVNULL)

            def theirs_cmd(i):
                src_variant(i)
                subprocess.run([sys.executable, "-m", "mpremote", "connect", sim.port, "cp", src, ":/cr.bin"],
                               check=True, env=env, stdout=subprocess.DEVNULL)

            c_ours = best(ours_cmd, a.repeat)
            c_theirs = best(theirs_cmd, a.repeat)

    kb = a.size / 1024
    result = {
        "size_bytes": a.size, "board": a.board, "payload": a.file or "random bytes",
        "transfer": {"mpwasi_s": t_ours, "mpremote_s": t_theirs, "mpwasi_kb_s": kb / t_ours,
                     "mpremote_kb_s": kb / t_theirs, "speedup": t_theirs / t_ours},
        "command": {"mpwasi_s": c_ours, "mpremote_s": c_theirs, "speedup": c_theirs / c_ours},
    }
    if a.json:
        print(json.dumps(result, indent=1))
    else:
        t, c = result["transfer"], result["command"]
        print("push of %d KB (%s) to the virtual board (%s profile), best of %d"
              % (kb, result["payload"], a.board, a.repeat))
        print("  transfer  mpwasi %6.3f s %7.0f KB/s | mpremote fs_writefile %6.3f s %7.0f KB/s | %.2fx"
              % (t["mpwasi_s"], t["mpwasi_kb_s"], t["mpremote_s"], t["mpremote_kb_s"], t["speedup"]))
        print("  command   mpwasi push %6.3f s | mpremote cp %6.3f s | %.2fx"
              % (c["mpwasi_s"], c["mpremote_s"], c["speedup"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
