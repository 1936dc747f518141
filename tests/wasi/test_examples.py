"""Every example in examples/, run by mpwasi on CPython (a host directory) and on MicroPython (a
littlefs image), gives the same stdout, stderr, exit status and resulting files as wasmtime running
the same .wasm with the same preopen. Outputs that depend on the clock or the random source are
compared by shape (digits and hex masked), not value."""
import io
import os
import re

import pytest

from wasi_support import example, make_host_tree, run_mp_session, run_wasmtime, shape, snapshot

from mpwasi import wasi

CANARY = b"canary: never touched\n"

# name -> (example, args, env ["K=V"], files under the preopen {path: bytes | None}, stdin, guest name)
CASES = {
    "hello": ("hello", [], [], {}, b"", "."),
    "args_env": ("args_env", ["one", "two words", "\u00fcn\u00efc\u00f6de", ""],
                 ["GREETING=hi there", "EMPTY=", "PATH=/bin", "EQ=a=b"], {}, b"", "."),
    "cat_files": ("cat", ["a.txt", "sub/b.txt", "missing.txt", "sub"],
                  {}, {"a.txt": b"first file\n", "sub": None, "sub/b.txt": b"second\nfile\n" * 40},
                  b"", "."),
    "cat_stdin": ("cat", ["-"], [], {}, b"line one\nline two\n", "."),
    "cat_absolute_guest": ("cat", ["/data/a.txt", "/data/../etc/passwd"], {},
                           {"a.txt": b"via an absolute preopen\n"}, b"", "/data"),
    "write_read": ("write_read", [], [], {}, b"", "."),
    "ls_root": ("ls", ["."], [], {"z.txt": b"zz", "a.txt": b"a" * 1000, "dir": None,
                                  "dir/inner.txt": b"x", "empty": None}, b"", "."),
    "ls_sub": ("ls", ["/sandbox/dir"], [], {"dir": None, "dir/one": b"1", "dir/two": b"22",
                                            "dir/three": None}, b"", "/sandbox"),
    "ls_missing": ("ls", ["nothing"], [], {}, b"", "."),
    "dirs": ("dirs", [], [], {}, b"", "."),
    "clocks": ("clocks", [], [], {}, b"", "."),
    "random": ("random", [], [], {}, b"", "."),
    "exit_default": ("exit_code", [], [], {}, b"", "."),
    "exit_7": ("exit_code", ["7"], [], {}, b"", "."),
    "floats": ("floats", [], [], {}, b"", "."),
    "trap": ("trap", [], [], {}, b"", "."),
}

VARIABLE = {"clocks", "random"}


def setup_dirs(tmp_path, files):
    sandbox = str(tmp_path / "sandbox")
    outside = str(tmp_path / "outside")
    make_host_tree(sandbox, files)
    make_host_tree(outside, {"canary.txt": CANARY})
    return sandbox, outside


_reference = {}


def reference(case, tmp_path_factory):
    if case not in _reference:
        name, args, env, files, stdin, guest = CASES[case]
        tmp = tmp_path_factory.mktemp("wasmtime_" + case)
        sandbox, outside = setup_dirs(tmp, files)
        status, out, err = run_wasmtime(example(name), args, env, [(sandbox, guest)], stdin)
        _reference[case] = (status, out, err, snapshot(sandbox), snapshot(outside))
    return _reference[case]


def check_same(case, ref, status, out, err, tree, outside_tree):
    name = CASES[case][0]
    r_status, r_out, r_err, r_tree, r_outside = ref
    assert status == r_status
    if case in VARIABLE:
        assert shape(case, out) == shape(case, r_out)
        assert ": no\n" not in shape(case, out)
    else:
        assert out == r_out
    if name == "trap":
        # wasmtime's trap report has its own wording: compare that both trapped, and ours names
        # the wasm functions on the way down.
        text = err.decode()
        assert text.startswith("trap: unreachable\n")
        for fn in ("innermost", "middle", "outer", "_start"):
            assert fn in text
        assert text.index("innermost") < text.index("middle") < text.index("outer")
    else:
        assert err == r_err
    assert tree == r_tree
    assert outside_tree == r_outside == {"canary.txt": CANARY}


@pytest.mark.parametrize("case", sorted(CASES))
def test_example_on_cpython_matches_wasmtime(case, tmp_path, tmp_path_factory):
    ref = reference(case, tmp_path_factory)
    name, args, env, files, stdin, guest = CASES[case]
    sandbox, outside = setup_dirs(tmp_path, files)
    out, err = io.BytesIO(), io.BytesIO()
    status = wasi.run(example(name), args, env, [(sandbox, guest)], stdin=io.BytesIO(stdin),
                      stdout=out, stderr=err)
    check_same(case, ref, status, out.getvalue(), err.getvalue(), snapshot(sandbox),
               snapshot(outside))


def run_on_micropython(tmp_path, case, heapsize="2M"):
    """The case under MicroPython over a littlefs image: (status, stdout, stderr, tree, outside)."""
    name, args, env, files, stdin, guest = CASES[case]
    tree = {"sandbox": None, "outside": None, "outside/canary.txt": CANARY.hex()}
    for path, content in files.items():
        tree["sandbox/" + path] = None if content is None else content.hex()
    config = {"mode": "run", "wasm": example(name), "args": args, "env": env,
              "dirs": [["sandbox", guest]], "tree": tree}
    proc, result = run_mp_session(tmp_path, config, heapsize, stdin)
    assert result is not None, proc.stderr.decode()
    assert result["status"] == proc.returncode
    sandbox, outside = {}, {}
    for path, content in result["tree"].items():
        value = None if content is None else bytes.fromhex(content)
        if path.startswith("sandbox/"):
            sandbox[path[len("sandbox/"):]] = value
        elif path.startswith("outside/"):
            outside[path[len("outside/"):]] = value
    return proc.returncode, proc.stdout, proc.stderr, sandbox, outside


@pytest.mark.parametrize("case", sorted(CASES))
def test_example_on_micropython_littlefs_matches_wasmtime(case, tmp_path, tmp_path_factory,
                                                           micropython):
    ref = reference(case, tmp_path_factory)
    status, out, err, tree, outside = run_on_micropython(tmp_path, case)
    check_same(case, ref, status, out, err, tree, outside)
