"""The WebAssembly core spec suite (main set) through tests/spec/run.py, under CPython and MicroPython.

One test per (interpreter, mode, script), so a failure names its script and shows the failing commands.
The runner is started as a subprocess over batches of scripts (two processes at a time per mode; two
scripts alone, see OWN_PROCESS; a batch whose process dies is resumed after the script that killed
it), and its per-script lines
`name: P passed, F failed, S skipped` and `-v` failure lines are parsed.

Modes: the default tier, the softfloat path forced (`--softfloat`), the fast tier (`--tier=fast`,
only when the engine has `mpwasi.set_tier`), and under MicroPython the viper tier (`--tier=viper`, and
`--tier=viper-strict` with the alignment code of armv6m/xtensa/rv32 boards). The first tests check the runner itself (counting,
NaN classes, reference matching, message matching) and need no engine.
"""

import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import REPO, find_spec_dir, require_spec_dir
from mp.runner import find_micropython, micropython_command
from spec import run

RUN_PY = os.path.join(REPO, "tests", "spec", "run.py")
# The issue's numbers for the main set: 27,923 commands, of which 567 are text-format assert_malformed.
MAIN_COMMANDS = 27923
MAIN_TEXT_MALFORMED = 567
MAIN_COUNTABLE = MAIN_COMMANDS - MAIN_TEXT_MALFORMED  # 27,356
# MicroPython's GC gets slow on large heaps (allocation and sweeping scan the whole heap), so the
# scripts run with 32 MB (enough room, after many scripts, for memory.grow's one contiguous block),
# skip-stack-guard-page (the slowest) with 16 MB, memory_grow alone with 64 MB (see OWN_PROCESS).
MP_HEAP = "32M"
# scripts whose memory.grow asks for tens of MB (call/call_indirect/local_tee grow by 0x132 pages)
MP_HEAP_LARGE = {"memory_grow": "64M", "call": "64M", "call_indirect": "64M", "local_tee": "64M",
                 "skip-stack-guard-page": "16M"}
# Scripts run in a process of their own, started first: skip-stack-guard-page is by far the slowest
# under MicroPython (recursion to the call-depth limit with large frames), so the rest run alongside it;
# memory_grow grows a memory to 803 pages (52.6 MB), which a 64 MB MicroPython heap has room for only
# while it is fresh (its GC heap does not compact).
OWN_PROCESS = ("skip-stack-guard-page", "memory_grow")
CHUNKS = 6  # the other scripts, in this many batches balanced by size, taken by WORKERS processes
BATCH_TIMEOUT = 4 * 3600  # a safety net against a hung engine only; no test depends on speed
WORKERS = 2


def main_scripts():
    d = find_spec_dir()
    if not os.path.isdir(os.path.join(d, "json")):
        return ["<suite missing>"]
    return run.main_set(d)


SCRIPTS = main_scripts()


# ---------------------------------------------------------------- the runner itself (no engine needed)

def test_runner_counts_the_main_set_as_the_issue_does(spec_dir):
    r = subprocess.run([sys.executable, RUN_PY, "--list"], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, MPWASI_SPEC_DIR=spec_dir))
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[-1] == "spec: %d commands, %d countable, %d skipped" % (
        MAIN_COMMANDS, MAIN_COUNTABLE, MAIN_TEXT_MALFORMED)
    assert len(lines) == 91  # 90 scripts + the total


def test_runner_counts_agree_with_the_suite_manifest(spec_dir):
    totals = None
    per_script = {}
    with open(os.path.join(spec_dir, "MANIFEST")) as f:
        for line in f:
            m = re.match(r"# totals: main (\d+) files, (\d+) commands", line)
            if m:
                totals = (int(m.group(1)), int(m.group(2)))
            parts = line.split()
            if parts and parts[0] == "main":
                per_script[parts[1]] = int(parts[2])
    assert totals == (90, MAIN_COMMANDS)
    assert sorted(per_script) == run.main_set(spec_dir)
    for name, n in per_script.items():
        countable, skipped = run.count_script(spec_dir, name)
        assert countable + skipped == n, name


def test_runner_works_under_micropython(spec_dir, micropython):
    r = subprocess.run(micropython_command([RUN_PY, "--list"], MP_HEAP), capture_output=True, text=True,
                       timeout=300, env=dict(os.environ, MPWASI_SPEC_DIR=spec_dir))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == "spec: %d commands, %d countable, %d skipped" % (
        MAIN_COMMANDS, MAIN_COUNTABLE, MAIN_TEXT_MALFORMED)


def test_viper_tier_run_says_how_many_functions_fall_back(spec_dir, micropython):
    r = subprocess.run(micropython_command([RUN_PY, "--tier=viper", "i32", "call", "memory"], MP_HEAP),
                       capture_output=True, text=True, cwd=REPO, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    m = re.search(r"^viper: (\d+) functions, (\d+) fallbacks$", r.stdout, re.M)
    assert m, r.stdout[-2000:]
    assert int(m.group(1)) > 20 and int(m.group(2)) > 0
    assert re.search(r"^  fallback \d+: a non-i32 param, result or local$", r.stdout, re.M)
    assert r.stdout.rstrip().splitlines()[-1].startswith("spec: ")


def test_runner_rejects_bad_usage(spec_dir):
    for args in (["--tier=jit"], ["--stop-after=0"], ["--frobnicate"], ["no_such_script"]):
        r = subprocess.run([sys.executable, RUN_PY] + args, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, (args, r.stdout)


def test_nan_classes_follow_the_spec():
    canon32, canon64 = 0x7FC00000, 0x7FF8000000000000
    assert run.is_canonical_nan(canon32, "f32") and run.is_canonical_nan(0xFFC00000, "f32")
    assert not run.is_canonical_nan(0x7FC00001, "f32")  # a payload is not canonical
    assert not run.is_canonical_nan(0x7F800000, "f32")  # infinity
    assert run.is_arithmetic_nan(0x7FC00001, "f32") and run.is_arithmetic_nan(0xFFFFFFFF, "f32")
    assert not run.is_arithmetic_nan(0x7FA00000, "f32")  # signalling NaN: quiet bit clear
    assert not run.is_arithmetic_nan(-1, "f32") and not run.is_arithmetic_nan(0x1FFC00000, "f32")
    assert run.is_canonical_nan(canon64, "f64") and run.is_canonical_nan(canon64 | 1 << 63, "f64")
    assert not run.is_canonical_nan(canon64 | 1, "f64")
    assert run.is_arithmetic_nan(canon64 | 0x123, "f64")
    assert not run.is_arithmetic_nan(0x7FF4000000000000, "f64")
    assert not run.is_arithmetic_nan(canon32, "f64")


def test_expected_values_compare_bit_patterns_and_references():
    v = run.Values()
    assert v.matches({"type": "i32", "value": "4294967295"}, 0xFFFFFFFF)
    assert not v.matches({"type": "i32", "value": "4294967295"}, -1)  # bit patterns, not signed values
    assert not v.matches({"type": "f32", "value": "2143289344"}, 0x7FC00001)  # exact NaN payloads
    assert v.matches({"type": "f64", "value": "nan:arithmetic"}, 0xFFF8000000000001)
    ref = v.arg({"type": "externref", "value": "7"})
    assert ref is v.arg({"type": "externref", "value": "7"})  # one host object per k
    assert v.matches({"type": "externref", "value": "7"}, ref)
    assert not v.matches({"type": "externref", "value": "7"}, run.HostRef(7))  # identity, not a look-alike
    assert not v.matches({"type": "externref", "value": "8"}, ref)
    assert v.matches({"type": "externref"}, ref) and not v.matches({"type": "externref"}, None)
    assert v.matches({"type": "funcref", "value": "null"}, None)
    assert v.matches({"type": "funcref"}, object()) and not v.matches({"type": "funcref"}, ref)
    assert v.arg({"type": "funcref", "value": "null"}) is None


def test_error_messages_match_loosely():
    assert run.message_matches("unknown global 0", "unknown global")
    assert run.message_matches("unexpected end", "unexpected end of section or function")
    assert run.message_matches("type mismatch", "type mismatch: expected i32, got f64")
    assert not run.message_matches("integer overflow", "integer divide by zero")


def _perturb(commands, pick, change):
    for cmd in commands:
        if cmd["type"] == "assert_return" and pick(cmd):
            change(cmd)
            return cmd["line"]
    raise AssertionError("no command to perturb")


def test_runner_fails_wrong_expectations(spec_dir, tmp_path):
    """Copies of a few scripts with one expectation made wrong each: the runner must fail exactly those."""
    import json
    import shutil

    def first_value(kind):
        return lambda c: c["expected"] and c["expected"][0]["type"] == kind and "value" in c["expected"][0]

    def bump(c):
        c["expected"][0]["value"] = str(int(c["expected"][0]["value"]) + 1)

    def to_trap(c):
        c["type"] = "assert_trap"
        c["text"] = "unreachable"
        del c["expected"]

    perturbations = {
        "linking": [(lambda c: c["action"]["type"] == "get", bump)],  # get-action on a global
        "select": [(lambda c: any(e["type"] == "externref" and e.get("value", "null") != "null"
                                  for e in c["expected"]),
                    lambda c: c["expected"][0].update(value="99"))],  # another host reference
        "f32": [(lambda c: c["expected"] and c["expected"][0].get("value") == "1065353216",
                 lambda c: c["expected"][0].update(value="nan:arithmetic")),  # 1.0 is no NaN
                (lambda c: c["expected"] and c["expected"][0].get("value") == "nan:canonical",
                 lambda c: c["expected"][0].update(type="f64"))],  # an f32 NaN is no f64 NaN
        "block": [(lambda c: len(c["expected"]) == 3, lambda c: c["expected"].pop())],  # multi-value arity
        "i32": [(first_value("i32"), to_trap)],  # a value is not a trap
    }
    expected_lines = set()
    for name, changes in perturbations.items():
        shutil.copytree(os.path.join(spec_dir, "json", name), str(tmp_path / "json" / name))
        path = tmp_path / "json" / name / (name + ".json")
        data = json.loads(path.read_text())
        for pick, change in changes:
            expected_lines.add("%s:%d" % (name, _perturb(data["commands"], pick, change)))
        path.write_text(json.dumps(data))
    r = subprocess.run([sys.executable, RUN_PY, "-v"] + sorted(perturbations), capture_output=True, text=True,
                       timeout=600, env=dict(os.environ, MPWASI_SPEC_DIR=str(tmp_path)))
    failed = set(m.group(2) + ":" + m.group(3) for m in map(FAIL.match, r.stdout.splitlines())
                 if m and m.group(1) == "FAIL")
    assert failed == expected_lines, r.stdout[-3000:] + r.stderr[-2000:]
    assert r.returncode == 1
    assert re.match(r"spec: \d+ passed, %d failed, \d+ skipped$" % len(expected_lines),
                    r.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- running the suite

LINE = re.compile(r"^(\S+): (\d+) passed, (\d+) failed, (\d+) skipped")
FAIL = re.compile(r"^  (FAIL|MESSAGE) ([^:\s]+):(\d+) ")

MODES = {
    "interp": ["--tier=interp"],
    "fused": ["--tier=interp", "--fuse=always"],  # every function in superinstructions
    "nofuse": ["--tier=interp", "--fuse=never"],  # the module's own bytes (a board short of heap)
    "softfloat": ["--softfloat", "--tier=interp"],
    "fast": ["--tier=fast"],
    "auto": ["--tier=auto"],  # CPython's default tier
    # (MicroPython) i32 functions as @micropython.viper code, the rest in the fast tier; -strict:
    # the code for boards that fault on unaligned words (armv6m, xtensa, rv32)
    "viper": ["--tier=viper"],
    "viper-strict": ["--tier=viper-strict"],
    "paged": ["--paged", "--tier=interp", "--fuse=always"],  # pages allocated on first write
    "paged-fast": ["--paged", "--tier=fast"],
}


def engine_has_set_tier():
    try:
        import mpwasi
    except Exception:
        return False
    return hasattr(mpwasi, "set_tier")


class Batch:
    """One runner process over some scripts; resumes after a script whose run kills the process."""

    def __init__(self, interp, mode, scripts):
        self.interp = interp
        self.mode = mode
        self.scripts = scripts

    def command(self, names):
        args = [RUN_PY, "-v"] + MODES[self.mode] + names
        if self.interp == "cpython":
            return [sys.executable] + args
        heap = MP_HEAP
        for n in names:
            heap = MP_HEAP_LARGE.get(n, heap)
        return micropython_command(args, heap)

    def run(self, results):
        remaining = list(self.scripts)
        while remaining:
            cmd = self.command(remaining)
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
            try:
                out, err = proc.communicate(timeout=BATCH_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                err += "\n[killed after %d s]" % BATCH_TIMEOUT
            details = {}
            done = set()
            for line in out.splitlines():
                m = FAIL.match(line)
                if m:
                    details.setdefault(m.group(2), []).append(line.strip())
                    continue
                m = LINE.match(line)
                if m and m.group(1) in remaining:
                    name = m.group(1)
                    results[name] = {"passed": int(m.group(2)), "failed": int(m.group(3)),
                                     "skipped": int(m.group(4)), "details": details.get(name, [])}
                    done.add(name)
            remaining = [n for n in remaining if n not in done]
            if remaining:
                # The process ended before reporting this script: blame it, go on with the rest.
                culprit = remaining.pop(0)
                tail = "\n".join((out.strip().splitlines() + err.strip().splitlines())[-25:])
                results[culprit] = {"crash": "runner exited with status %s before finishing %s (rerun: %s)\n%s"
                                             % (proc.returncode, culprit, " ".join(self.command([culprit])),
                                                tail),
                                    "details": details.get(culprit, [])}


class SuiteRuns:
    """Runs each (interpreter, mode) once per session, over the scripts the session selected."""

    def __init__(self):
        self.results = {}
        self.lock = threading.Lock()

    def get(self, request, interp, mode, script):
        key = (interp, mode)
        with self.lock:
            if key not in self.results:
                self.results[key] = self.run_all(interp, mode, self.selected(request, interp, mode))
        return self.results[key].get(script)

    @staticmethod
    def selected(request, interp, mode):
        names = []
        for item in request.session.items:
            cs = getattr(item, "callspec", None)
            if cs is None or item.originalname != "test_spec_script":
                continue
            p = cs.params
            if p.get("interp") == interp and p.get("mode") == mode:
                names.append(p["script"])
        return names

    @staticmethod
    def run_all(interp, mode, scripts):
        spec_dir = require_spec_dir()
        sizes = {n: os.path.getsize(os.path.join(spec_dir, "json", n, n + ".json")) for n in scripts}
        chunks = [[] for _ in range(CHUNKS)]
        loads = [0] * CHUNKS
        for n in sorted(scripts, key=lambda n: -sizes[n]):
            if n in OWN_PROCESS:
                continue
            i = loads.index(min(loads))
            chunks[i].append(n)
            loads[i] += sizes[n]
        order = {n: i for i, n in enumerate(scripts)}
        batches = [[n] for n in OWN_PROCESS if n in scripts]
        batches += [sorted(chunk, key=order.get) for chunk in chunks]
        results = {}
        with ThreadPoolExecutor(WORKERS) as pool:
            jobs = [pool.submit(Batch(interp, mode, b).run, results) for b in batches if b]
            for j in jobs:
                j.result()
        return results


_RUNS = SuiteRuns()

PARAMS = []
for _interp in ("cpython", "micropython"):
    for _mode in ("interp", "fused", "softfloat", "fast", "paged") + (
            ("auto", "nofuse", "paged-fast") if _interp == "cpython" else ("viper", "viper-strict")):
        for _script in SCRIPTS:
            PARAMS.append(pytest.param(_interp, _mode, _script, id="%s-%s-%s" % (_interp, _mode, _script)))


@pytest.mark.parametrize("interp,mode,script", PARAMS)
def test_spec_script(request, interp, mode, script):
    spec_dir = require_spec_dir()
    if interp == "micropython" and find_micropython() is None:
        request.getfixturevalue("micropython")  # skips (or fails under CI=true) with its message
    if mode in ("fast", "auto") and not engine_has_set_tier():
        pytest.skip("the fast tier is not available: mpwasi has no set_tier() yet")
    res = _RUNS.get(request, interp, mode, script)
    assert res is not None, "the runner reported nothing for %s" % script
    if "crash" in res:
        pytest.fail(res["crash"], pytrace=False)
    countable, skipped = run.count_script(spec_dir, script)
    fails = [d for d in res["details"] if d.startswith("FAIL")]
    msg = "%s (%s, %s): %d failed of %d\n%s" % (script, interp, mode, res["failed"], countable,
                                                 "\n".join(fails[:40]))
    if len(fails) > 40:
        msg += "\n... and %d more" % (len(fails) - 40)
    if res["failed"]:
        pytest.fail(msg, pytrace=False)
    assert (res["passed"], res["skipped"]) == (countable, skipped), "commands went uncounted in %s" % script
