"""The host-board protocol (firmware/mpwasi/protocol.py): what the board's runner writes, the host's
decoder gives back byte for byte (stdout and stderr apart, through a console that cooks line ends
or one that does not), input chunks reach the program whole with their end of file; the board side
runs the same under MicroPython."""
import io

import pytest

from mpwasi import protocol
from mp.runner import run_code

NASTY = b"plain\nCR LF\r\nbare CR\rESC\x1e EOT\x04 ETX\x03 mark\x1e\x1fmpwasi-exit:0\x1e end"


class Pipe:
    """What the board writes, as the host reads it (cook: a console turning LF into CR LF)."""

    def __init__(self, cook=False):
        self.data = bytearray()
        self.cook = cook

    def write(self, b):
        self.data += b.replace(b"\n", b"\r\n") if self.cook else b


def decode(wire, chunk=1):
    out, err = io.BytesIO(), io.BytesIO()
    dec = protocol.Decoder(out, err)
    for i in range(0, len(wire), chunk):
        dec.feed(bytes(wire[i:i + chunk]))
    return dec, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("cook", [False, True])
@pytest.mark.parametrize("chunk", [1, 3, 4096])
def test_stdout_and_stderr_come_back_byte_for_byte_and_apart(cook, chunk):
    pipe = Pipe(cook)
    out, err = protocol.Output(pipe), protocol.Output(pipe, err=True)
    out.write(NASTY)
    err.write(b"to stderr\r\n\x1e")
    assert out.write(memoryview(b"more\n")) == 5
    err.write("a trap: text\n")
    pipe.write((protocol.EXIT_MARK + "42" + protocol.ESC).encode())
    assert b"\x04" not in pipe.data            # the raw REPL's end of output stays unambiguous
    dec, o, e = decode(pipe.data, chunk)
    assert o == NASTY + b"more\n"
    assert e == b"to stderr\r\n\x1ea trap: text\n"
    assert dec.status == 42 and dec.errors == []


def test_error_marks_and_input_requests_are_seen():
    pipe = Pipe(True)
    protocol.report(pipe, "LinkError", "no import\nnamed x\x1e")
    pipe.write(b"\x1e?")
    dec, o, e = decode(pipe.data, 2)
    assert dec.errors == [("LinkError", "no import named x ")]
    assert dec.wants == 1 and o == e == b""


class Line:
    """The board's console input: bytes the host sent."""

    def __init__(self, data):
        self.f = io.BytesIO(data)

    def read(self, n):
        return self.f.read(n)


def test_input_chunks_reach_the_program_whole_then_its_end_of_file():
    data = bytes(range(256)) * 3
    room = protocol.input_room()
    wire = b""
    for i in range(0, len(data), room):
        chunk = protocol.encode_input(data[i:i + room])
        assert len(chunk) <= protocol.INPUT_CHUNK
        wire += chunk
    wire += protocol.encode_input(b"", eof=True)
    asked = Pipe()
    inp = protocol.Input(Line(wire), asked)
    got = b""
    while True:
        b = inp.read(7)
        if not b:
            break
        got += b
    assert got == data and inp.read(1) == b""
    assert asked.data == b"\x1e?" * (len(range(0, len(data), room)) + 1)  # one request per chunk


def test_runner_passes_a_thousand_arguments_as_one_constant():
    code = protocol.runner("/apps/a.wasm", ["arg%d" % i for i in range(1000)], ["K=V"], [("/d", "/g")])
    assert code.count("arg999") == 1 and code.count("'") < 40
    seen = []
    exec(code.replace("from mpwasi.protocol import run_program as _mrp",
                      "_mrp = lambda *a: seen.append(a)"), {"seen": seen})
    run, path, args, env, dirs = seen[0]
    import mpwasi
    assert run is mpwasi.run
    assert path == "/apps/a.wasm" and args.split("\0")[1:] == ["arg%d" % i for i in range(1000)]
    assert env.split("\0")[1:] == ["K=V"] and dirs == [("/d", "/g")]


BOARD_SIDE = r"""
import io
from mpwasi import protocol
class P:
    def __init__(self): self.data = b""
    def write(self, b): self.data += b
p = P()
protocol.Output(p).write(b"a\r\nb\x1ec\x04")
protocol.Output(p, True).write("err\n")
inp = protocol.Input(io.BytesIO(protocol.encode_input(b"x\x03\x1ey") + protocol.encode_input(b"", True)), p)
got = inp.read(10)
print(repr(p.data), repr(got), repr(inp.read(1)))
"""


def test_board_side_under_micropython(micropython):
    r = run_code(BOARD_SIDE)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (r"b'a\x1er\nb\x1e\x1ec\x1ed\x1e2err\n\x1e1\x1e?' b'x\x03\x1ey' b''")
