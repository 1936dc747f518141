"""Drives WASI functions directly through examples/wasi_probe.wasm (which re-exports all 46 imports),
on CPython and on MicroPython alike. A step is a dict:

    {"call": "path_open", "args": [3, 1, "s:../x", 0, 0x1FFFFFFF, 0x1FFFFFFF, 0, "@out"],
     "save": "fd", "read": True}

Arguments: ints as they are; "@out" the address of an 8-byte result slot; "$name" a value saved by an
earlier step; "s:TEXT" / "x:HEX" bytes put in memory, passed as (pointer, length); "iov:TEXT" an
iovec array of one entry over TEXT, passed as (iovs, 1); "riov:N" one iovec over an N-byte read
buffer. "save" keeps the u32 at @out under a name; "read" records the bytes the call read (the
count at @out); "poke": [address, HEX] writes bytes before the call; "peek": N records the N bytes at @out (hex) after the call, "peek_at": [address, N]
those elsewhere. Each step's outcome is its errno, or "trap: <reason>".
"""

OUT = 0x100
IOV = 0x200
STRINGS = 0x1000
BUF = 0x10000
BUF_LEN = 0x8000


def _unhex(text):
    out = bytearray()
    for i in range(0, len(text), 2):
        out.append(int(text[i:i + 2], 16))
    return bytes(out)


def _u32(m, at):
    return m[at] | (m[at + 1] << 8) | (m[at + 2] << 16) | (m[at + 3] << 24)


def _put_u32(m, at, v):
    for i in range(4):
        m[at + i] = (v >> (8 * i)) & 0xFF


def _text(data):
    """Bytes as text, whatever they hold (non-ASCII bytes become '?')."""
    return "".join(chr(b) if 32 <= b < 127 or b == 10 else "?" for b in data)


def new_instance(wasm_bytes, wasi):
    import mpwasi

    return mpwasi.Instance(mpwasi.Module(wasm_bytes), wasi.imports())


def run_steps(instance, steps, trap_types=None):
    """Runs the steps; returns (outcomes, reads, saved); peeks go into saved["peeks"]."""
    if trap_types is None:
        import mpwasi

        trap_types = mpwasi.Trap
    mem = instance.exports["memory"]
    saved = {"peeks": []}
    outcomes = []
    reads = []
    for step in steps:
        m = mem.data
        args = []
        at = STRINGS
        for a in step.get("args", ()):
            if isinstance(a, int):
                args.append(a)
            elif a == "@out":
                args.append(OUT)
            elif a.startswith("$"):
                args.append(saved[a[1:]])
            elif a.startswith("s:") or a.startswith("x:"):
                data = a[2:].encode() if a[0] == "s" else _unhex(a[2:])
                m[at:at + len(data)] = data
                args.append(at)
                args.append(len(data))
                at += len(data) + 8
            elif a.startswith("iov:"):
                data = a[4:].encode()
                m[at:at + len(data)] = data
                _put_u32(m, IOV, at)
                _put_u32(m, IOV + 4, len(data))
                args.append(IOV)
                args.append(1)
                at += len(data) + 8
            elif a.startswith("riov:"):
                _put_u32(m, IOV, BUF)
                _put_u32(m, IOV + 4, int(a[5:]))
                args.append(IOV)
                args.append(1)
            else:
                raise ValueError("bad probe argument " + a)
        _put_u32(m, OUT, 0xFFFFFFFF)
        if "poke" in step:
            at, data = step["poke"][0], _unhex(step["poke"][1])
            m[at:at + len(data)] = data
        try:
            outcome = instance.exports[step["call"]](*args)
        except trap_types as t:
            outcome = "trap: " + (getattr(t, "reason", None) or str(t).split("\n")[0])
        outcomes.append(outcome)
        m = mem.data
        if "save" in step:
            saved[step["save"]] = _u32(m, OUT)
        if "peek" in step or "peek_at" in step:
            at, n = step.get("peek_at") or (OUT, step["peek"])
            saved["peeks"].append("".join("%02x" % b for b in bytes(m[at:at + n])))
        if step.get("read"):
            n = _u32(m, OUT) if outcome == 0 else 0
            reads.append(_text(bytes(m[BUF:BUF + min(n, BUF_LEN)])))
    return outcomes, reads, saved


def run_attempts(wasm_bytes, make_wasi, attempts):
    """Each attempt in a fresh WASI context (make_wasi()) and instance: [{"name", "outcomes",
    "reads"}]."""
    results = []
    for attempt in attempts:
        wasi = make_wasi()
        instance = new_instance(wasm_bytes, wasi)
        outcomes, reads, saved = run_steps(instance, attempt["steps"])
        wasi.close()
        results.append({"name": attempt["name"], "outcomes": outcomes, "reads": reads,
                        "peeks": saved["peeks"]})
    return results
