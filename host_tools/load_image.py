"""The host's half of load images: decode and validate a module on the desktop, and push the result
beside it on the board (mpwasi.image has the format; the board checks it against the module's
SHA-256 and payload hash before using it, and decodes and validates in full without one).

The image is made over the bytes the board's engine will hold: `mpwasi.wasi.read_module` of the file
(custom sections other than "name" dropped), by the same engine code that runs on the board.
"""
import os
import tempfile

from mpwasi import image as _image
from mpwasi.runtime import IMAGE_SUFFIX
from mpwasi.wasi import read_module

__all__ = ["make_image", "image_path", "push_image", "remove_image", "IMAGE_SUFFIX"]


def make_image(data):
    """The load image of the module bytes `data`, or None when the engine rejects the module (the
    board then says why when it decodes the module itself)."""
    from mpwasi import binary, validate
    from mpwasi.errors import WasmError
    fd, tmp = tempfile.mkstemp(suffix=".wasm")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        held = read_module(tmp)
    finally:
        os.unlink(tmp)
    try:
        m = binary.decode(held)
        validate.validate(m)
    except (WasmError, MemoryError, RecursionError, IndexError, ValueError, KeyError, TypeError,
            OverflowError, UnicodeError):
        return None
    return _image.dump(m)


def image_path(dest):
    """Where the image of the board's `dest` module goes."""
    return dest + IMAGE_SUFFIX


def push_image(device, data, dest, progress=None):
    """Makes and pushes the image of `data` (pushed to `dest`); "written", "unchanged", or None when
    the module has none (an image of an earlier module there is removed)."""
    img = make_image(data)
    if img is None:
        remove_image(device, dest)
        return None
    return device.put_bytes(img, image_path(dest), progress=progress)


def remove_image(device, dest):
    """Removes the image beside the board's `dest`, if there is one."""
    from .device import DeviceError
    if device.stat(image_path(dest)) is None:
        return
    try:
        device.remove(image_path(dest))
    except DeviceError:
        pass
