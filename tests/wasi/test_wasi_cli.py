"""The engine's command line, `python3 -m mpwasi` and `micropython -m mpwasi` (firmware/ on the
path): preopens, environment, arguments, the guest's exit status, trap reports, limits, softfloat,
usage errors."""
import os
import subprocess
import sys

import pytest

from conftest import in_ci
from wasi_support import FIRMWARE, example, micropython_binary
from mp.runner import micropython_command

INTERPRETERS = ["cpython", "micropython"]


def mpwasi_cmd(interp, *args, cwd=None, stdin=b""):
    if interp == "cpython":
        cmd = [sys.executable, "-m", "mpwasi"] + list(args)
        env = dict(os.environ, PYTHONPATH=FIRMWARE)
    else:
        if micropython_binary() is None:
            if in_ci():
                pytest.fail("micropython is not installed (CI=true: that is an error)")
            pytest.skip("micropython is not installed")
        cmd = micropython_command(["-m", "mpwasi"] + list(args), "8M")
        env = dict(os.environ, MICROPYPATH=".frozen:" + FIRMWARE)
    return subprocess.run(cmd, capture_output=True, env=env, cwd=cwd, input=stdin, timeout=300)


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_hello_prints_and_exits_zero(interp):
    r = mpwasi_cmd(interp, example("hello"))
    assert (r.returncode, r.stdout, r.stderr) == (0, b"Hello, world!\n", b"")


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_arguments_and_environment_reach_the_guest(interp):
    r = mpwasi_cmd(interp, "--env", "A=1", "--env=B=x=y", example("args_env"), "--env", "two words")
    assert r.returncode == 0
    assert r.stdout == (b"argc=3\nargv[0]=args_env.wasm\nargv[1]=--env\nargv[2]=two words\n"
                        b"env: A=1\nenv: B=x=y\nenvc=2\n")


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_dir_guest_names(interp, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_bytes(b"from the preopen\n")
    host = str(tmp_path / "data")
    r = mpwasi_cmd(interp, "--dir", host + "::/sandbox", example("cat"), "/sandbox/a.txt")
    assert (r.returncode, r.stdout) == (0, b"from the preopen\n")
    r = mpwasi_cmd(interp, "--dir", host + "::/", example("cat"), "/a.txt")
    assert (r.returncode, r.stdout) == (0, b"from the preopen\n")
    r = mpwasi_cmd(interp, "--dir", host, example("cat"), host + "/a.txt")
    assert (r.returncode, r.stdout) == (0, b"from the preopen\n")
    r = mpwasi_cmd(interp, "--dir", ".", example("cat"), "a.txt", cwd=host)
    assert (r.returncode, r.stdout) == (0, b"from the preopen\n")
    r = mpwasi_cmd(interp, example("cat"), "a.txt", cwd=host)  # no preopen: no access
    assert r.returncode == 1 and r.stdout == b"" and b"a.txt" in r.stderr


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_files_written_through_the_command_line(interp, tmp_path):
    r = mpwasi_cmd(interp, "--dir", str(tmp_path) + "::.", example("dirs"))
    assert r.returncode == 0
    assert (tmp_path / "tree" / "kept" / "inner" / "file.txt").read_bytes() == b"inside\n"


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_stdin_is_the_guests(interp):
    r = mpwasi_cmd(interp, example("cat"), stdin=b"piped in\nsecond line\n")
    assert (r.returncode, r.stdout) == (0, b"piped in\nsecond line\n")


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_exit_status_is_the_guests(interp):
    r = mpwasi_cmd(interp, example("exit_code"), "9")
    assert (r.returncode, r.stdout) == (9, b"exiting with 9\n")
    r = mpwasi_cmd(interp, example("exit_code"))
    assert r.returncode == 42


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_trap_prints_a_wasm_backtrace_and_exits_134(interp):
    r = mpwasi_cmd(interp, example("trap"))
    assert r.returncode == 134
    assert r.stdout == b"about to trap\n"
    err = r.stderr.decode()
    assert err.startswith("trap: unreachable\nwasm backtrace:\n")
    assert err.index("innermost") < err.index("middle") < err.index("outer") < err.index("_start")
    assert "Traceback" not in err


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_limits_reach_the_engine(interp):
    # hello's stack starts above 16 KB: a 16 KB memory cap traps on the first call
    r = mpwasi_cmd(interp, "--limits", "memory=16K", example("hello"))
    assert r.returncode == 134
    assert r.stderr.decode().startswith("trap: out of bounds memory access\n")
    r = mpwasi_cmd(interp, "--limits", "depth=3", example("hello"))
    assert r.returncode == 134
    assert r.stderr.decode().startswith("trap: call stack exhausted\n")
    r = mpwasi_cmd(interp, "--limits", "fuel=1", example("hello"))
    assert r.returncode == 134
    assert r.stderr.decode().startswith("trap: fuel exhausted\n")
    r = mpwasi_cmd(interp, "--limits", "memory=64K,depth=500", example("hello"))
    assert (r.returncode, r.stdout) == (0, b"Hello, world!\n")


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_softfloat_gives_the_same_digits(interp):
    native = mpwasi_cmd(interp, example("floats"))
    soft = mpwasi_cmd(interp, "--softfloat", example("floats"))
    assert native.returncode == soft.returncode == 0
    assert soft.stdout == native.stdout
    assert b"sqrt(2)=1.4142135623730951\n" in soft.stdout


@pytest.mark.parametrize("interp", INTERPRETERS)
@pytest.mark.parametrize("args, message", [
    ([], "no module given"),
    (["--frobnicate", "x.wasm"], "unknown option --frobnicate"),
    (["--env", "NOEQUALS", "x.wasm"], "--env needs K=V"),
    (["--limits", "memory=lots", "x.wasm"], "not a number: lots"),
    (["--limits", "speed=9", "x.wasm"], "bad --limits item"),
    (["--dir"], "--dir needs a value"),
])
def test_usage_errors_exit_2(interp, args, message):
    r = mpwasi_cmd(interp, *args)
    assert r.returncode == 2
    assert message in r.stderr.decode()
    assert "usage: mpwasi" in r.stderr.decode()


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_load_errors_exit_1(interp, tmp_path):
    r = mpwasi_cmd(interp, str(tmp_path / "missing.wasm"))
    assert r.returncode == 1 and r.stderr.startswith(b"mpwasi: ")
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0\x01\xff")
    r = mpwasi_cmd(interp, str(bad))
    assert r.returncode == 1 and b"DecodeError" in r.stderr
    r = mpwasi_cmd(interp, "--dir", str(tmp_path / "nodir"), example("hello"))
    assert r.returncode == 1 and r.stderr.startswith(b"mpwasi: ")


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_help(interp):
    r = mpwasi_cmd(interp, "--help")
    assert r.returncode == 0 and b"--dir HOST[::GUEST]" in r.stdout
