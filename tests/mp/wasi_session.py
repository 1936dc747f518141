"""Runs WASI work under the MicroPython unix port over a littlefs image, as on a board's flash.

    micropython tests/mp/wasi_session.py CONFIG.json      (firmware/ and tests/mp on MICROPYPATH)

The image is a littlefs2 file system (vfs.VfsLfs2) on a RAM block device with 4 KB erase blocks,
mounted at /flash. CONFIG (JSON) holds:
  "tree": {path: hex content | null (a directory)}   created under /flash before the run
  "mode": "run"    -> mpwasi.wasi.run(wasm, args, env, dirs=[["/flash/" + host, guest], ...]);
                      the guest's stdout/stderr are this process's; the exit status is ours
           "probe" -> wasi_probe.run_attempts over the "attempts", the preopen "/flash/" + root
  "wasm", "args", "env", "dirs" ([[host under /flash, guest]]), "attempts", "root"
  "result": a host path where the final /flash tree (and probe results) are written as JSON
  "posix_root": instead of littlefs, use this host directory as /flash's stand-in (VfsPosix)
"""
import json
import os
import sys

import vfs

BLOCK = 4096


class RAMBlockDevice:
    """The extended block-device protocol (offsets within blocks), as littlefs on a board uses."""

    def __init__(self, blocks):
        self.blocks = blocks
        self.data = bytearray(BLOCK * blocks)

    def readblocks(self, block, buf, offset=0):
        at = block * BLOCK + offset
        buf[:] = memoryview(self.data)[at:at + len(buf)]

    def writeblocks(self, block, buf, offset=None):
        if offset is None:  # a whole-block write erases first
            offset = 0
        at = block * BLOCK + offset
        self.data[at:at + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.blocks
        if op == 5:  # block size
            return BLOCK
        if op == 6:  # erase
            at = arg * BLOCK
            self.data[at:at + BLOCK] = b"\xff" * BLOCK
            return 0
        return 0


def unhex(text):
    out = bytearray()
    for i in range(0, len(text), 2):
        out.append(int(text[i:i + 2], 16))
    return bytes(out)


def tohex(data):
    return "".join("%02x" % b for b in data)


def make_tree(base, tree):
    for path in sorted(tree):
        full = base + "/" + path
        content = tree[path]
        if content is None:
            os.mkdir(full)
        else:
            with open(full, "wb") as f:
                f.write(unhex(content))


def dump_tree(base, rel=""):
    out = {}
    here = base + ("/" + rel if rel else "")
    for entry in os.ilistdir(here):
        name, kind = entry[0], entry[1]
        path = rel + "/" + name if rel else name
        if kind == 0x4000:
            out[path] = None
            out.update(dump_tree(base, path))
        elif kind == 0xA000:
            out[path] = "symlink"
        else:
            with open(base + "/" + path, "rb") as f:
                out[path] = tohex(f.read())
    return out


def main():
    with open(sys.argv[1]) as f:
        config = json.load(f)
    if config.get("posix_root"):
        base = config["posix_root"]
    else:
        bdev = RAMBlockDevice(config.get("blocks", 128))
        vfs.VfsLfs2.mkfs(bdev)
        vfs.mount(vfs.VfsLfs2(bdev, mtime=True), "/flash")
        base = "/flash"
        make_tree(base, config.get("tree", {}))
    result = {}
    status = 0
    from mpwasi import wasi

    if config["mode"] == "run":
        dirs = [(base + "/" + host if host else base, guest) for host, guest in config.get("dirs", ())]
        status = wasi.run(config["wasm"], config.get("args", ()), config.get("env"), dirs)
    else:
        import wasi_probe

        with open(config["wasm"], "rb") as f:
            wasm = f.read()
        root = base + "/" + config["root"]

        def make_wasi():
            return wasi.Wasi(["probe"], None, [(root, ".")])

        result["attempts"] = wasi_probe.run_attempts(wasm, make_wasi, config["attempts"])
    result["tree"] = dump_tree(base)
    result["status"] = status
    with open(config["result"], "w") as f:
        json.dump(result, f)
    sys.exit(status)


main()
