"""`pip install .` as a user gets it (a wheel, not an editable install): the wheel is built from a
copy of this checkout, installed into a fresh venv, and its `mpwasi` command runs a module on the
virtual board from a folder outside the checkout, with everything it reads at run time (board
profiles, the virtual board's REPL server, the engine) coming from the installed package."""
import os
from repo_paths import REPO_ROOT
import shutil
import subprocess
import sys
import venv

import pytest

REPO = REPO_ROOT
SKIP = ("build", "dist", "tests", "bench", ".git", ".venv", "__pycache__", "*.egg-info", ".pytest_cache")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MPWASI_BOARDS", "VIRTUAL_ENV")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(the venv's bin folder, an environment for it) with the wheel of this checkout installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(*SKIP))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = [p for p in (tmp / "dist").iterdir() if p.suffix == ".whl"]
    # the dependencies (mpremote, pyserial, micropython...) are those this Python has
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(str(tmp / "venv"))
    bin_dir = tmp / "venv" / "bin"
    # (run from a venv, as .ci/run does, the new venv's "system" packages are the base Python's, not
    # this venv's: a .pth file lets it see the packages this Python sees, the checkout's excepted)
    seen = [p for p in sys.path if p.endswith("-packages") and os.path.isdir(p)]
    r = subprocess.run([str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       capture_output=True, text=True, timeout=120, env=clean_env())
    with open(os.path.join(r.stdout.strip(), "outer-packages.pth"), "w") as f:
        f.write("\n".join(seen) + "\n")
    r = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                       capture_output=True, text=True, timeout=600, env=clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    env = clean_env(MPWASI_DATA_DIR=str(tmp / "data"), PATH=str(bin_dir) + os.pathsep + os.environ["PATH"])
    yield bin_dir, env, tmp
    subprocess.run([str(bin_dir / "mpwasi"), "sim", "--stop"], capture_output=True, env=env, cwd=str(tmp), timeout=60)


def test_the_wheel_holds_what_the_commands_read_at_run_time(installed):
    bin_dir, env, tmp = installed
    code = ("import host_tools, mpwasi, os; from host_tools import profiles, virtual_board as vb\n"
            "print(host_tools.__file__); print(mpwasi.__file__); print(profiles.boards_dir())\n"
            "print(' '.join(profiles.profile_names())); print(os.path.isfile(vb.SERVER_SCRIPT))")
    r = subprocess.run([str(bin_dir / "python"), "-c", code], capture_output=True, text=True, env=env,
                       cwd=str(tmp), timeout=120)
    assert r.returncode == 0, r.stderr
    host, engine, boards, names, server = r.stdout.split("\n")[:5]
    venv_dir = str(tmp / "venv")
    assert host.startswith(venv_dir) and engine.startswith(venv_dir) and boards.startswith(venv_dir)
    assert "rpi_pico" in names.split() and "esp32" in names.split()
    assert server == "True"


def test_mpwasi_run_from_the_wheel_runs_hello_on_the_virtual_board(installed):
    bin_dir, env, tmp = installed
    hello = tmp / "hello.wasm"
    shutil.copy(os.path.join(REPO, "examples", "hello.wasm"), hello)
    r = subprocess.run([str(bin_dir / "mpwasi"), "run", "-b", "rpi_pico2", str(hello)], capture_output=True,
                       env=env, cwd=str(tmp), timeout=600, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Hello, world!\n"
    assert b"using the virtual board" in r.stderr and b"Traceback" not in r.stderr


def test_ci_runs_the_readme_commands_test_command():
    readme = open(os.path.join(REPO, "README.md")).read()
    quick = readme[readme.index("## Quick start"):readme.index("\n## ", readme.index("## Quick start") + 1)]
    commands = [line.strip() for line in quick.splitlines() if line.startswith("    ")]
    assert len(commands) == 2
    run, test = commands
    assert "python3 -m venv" in run and "pip install . " in run and "mpwasi run examples/hello.wasm" in run
    assert "python3 -m venv" in test and "pytest" in test
    ci = open(os.path.join(REPO, ".ci", "run")).read().splitlines()
    assert test in ci
