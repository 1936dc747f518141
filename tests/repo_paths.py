"""Where the checkout's parts are, for the tests (pytest puts tests/ on sys.path: see pyproject.toml)."""

import os

TESTS = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS)
FIRMWARE = os.path.join(REPO_ROOT, "firmware")
BENCH = os.path.join(REPO_ROOT, "bench")
EXAMPLES = os.path.join(REPO_ROOT, "examples")
