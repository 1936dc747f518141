"""The differences between CPython and MicroPython that the WASI and wiring layers need, in one place:
clocks (realtime since 1970 whatever the port's epoch; a monotonic clock (ns, us) that never goes back, over
`time.ticks_us` wrap-around on boards), sleeping, random bytes, and host errno numbers."""
import os
import sys
import time

MICROPYTHON = sys.implementation.name == "micropython"



def epoch_offset_s(epoch_year):
    """Seconds from 1970-01-01 to a port's epoch: MicroPython ports count from 2000 on most boards
    (time.gmtime(0) tells which)."""
    return 946684800 if epoch_year == 2000 else 0


EPOCH_OFFSET_S = epoch_offset_s(time.gmtime(0)[0])
_EPOCH_OFFSET_NS = EPOCH_OFFSET_S * 1000000000


def realtime_ns():
    """Nanoseconds since 1970-01-01 UTC."""
    if hasattr(time, "time_ns"):
        return time.time_ns() + _EPOCH_OFFSET_NS
    return int(time.time()) * 1000000000 + _EPOCH_OFFSET_NS


def epoch_s_to_ns(seconds):
    """A file time in the port's epoch (seconds, as os.stat gives it) -> ns since 1970."""
    if not seconds:
        return 0
    return int(seconds) * 1000000000 + _EPOCH_OFFSET_NS


class TicksClock:
    """A clock that only counts up, over a wrapping microsecond tick counter (time.ticks_us wraps
    every 2**30 us, about 18 minutes, on boards): it adds up the differences between readings. A
    gap of more than one whole period between two readings loses whole periods, but the clock
    still never goes back."""

    def __init__(self, ticks_us, ticks_diff, period):
        self.ticks_us = ticks_us
        self.ticks_diff = ticks_diff
        self.period = period
        self.last = ticks_us()
        self.us = 0

    def now_us(self):
        now = self.ticks_us()
        delta = self.ticks_diff(now, self.last)
        if delta < 0:  # more than half a period went by: ticks_diff wrapped
            delta += self.period
        self.last = now
        self.us += delta
        return self.us

    def ns(self):
        return self.now_us() * 1000


if hasattr(time, "ticks_us"):
    _CLOCK = TicksClock(time.ticks_us, time.ticks_diff, time.ticks_add(0, -1) + 1)
    monotonic_ns = _CLOCK.ns
    monotonic_us = _CLOCK.now_us

    def sleep_ns(ns):
        """Sleeps at least ns: sleep_ms may wake a little early (it does on the unix port), so
        the end is checked on the monotonic clock and the rest slept in microseconds."""
        end = monotonic_ns() + ns
        while True:
            left_us = (end - monotonic_ns() + 999) // 1000
            if left_us <= 0:
                return
            if left_us > 5000:
                time.sleep_ms(left_us // 1000 - 2)
            else:
                time.sleep_us(left_us)

else:

    def monotonic_ns():
        return time.monotonic_ns()

    def monotonic_us():
        return time.monotonic_ns() // 1000

    def sleep_ns(ns):
        if ns > 0:
            time.sleep(ns / 1e9)


def largest_block():
    """The largest block the heap can give now, in bytes (to within 1/64 of it), found by trying
    allocations (each freed at once); None on CPython, which has no fixed heap."""
    if not MICROPYTHON:
        return None
    import gc

    gc.collect()
    lo = 0
    hi = gc.mem_free() + 16
    while hi - lo > 64 + (lo >> 6):
        mid = (lo + hi) // 2
        try:
            b = bytearray(mid)
            b = None
            lo = mid
        except MemoryError:
            hi = mid
    gc.collect()
    return lo


def collect():
    """A garbage collection before a large allocation, on MicroPython (where the heap is small and
    a fragmented one fails large blocks); nothing on CPython."""
    if MICROPYTHON:
        import gc

        gc.collect()


def file_size(f):
    """The size of an open file, by seeking to its end (keeps the position); works for files
    still being written, where a stat of the path may lag on littlefs."""
    pos = f.tell()
    end = f.seek(0, 2)
    if end is None:
        end = f.tell()
    f.seek(pos)
    return end


def random_bytes(n):
    """n bytes from the host's random source: the hardware RNG on boards."""
    if hasattr(os, "urandom"):
        return os.urandom(n)
    import random

    return bytes(random.getrandbits(8) for _ in range(n))


# Host errno numbers. CPython's errno module knows them all; MicroPython's errno module lacks some
# (ENOTDIR, ENOTEMPTY, ...) but littlefs and the unix port raise the Linux numbers for those.
def host_errno_numbers():
    """{name: host errno number} for the names the WASI layer translates."""
    linux = {
        "EPERM": 1, "ENOENT": 2, "EIO": 5, "EBADF": 9, "EAGAIN": 11, "ENOMEM": 12, "EACCES": 13,
        "EBUSY": 16, "EEXIST": 17, "EXDEV": 18, "ENODEV": 19, "ENOTDIR": 20, "EISDIR": 21,
        "EINVAL": 22, "EMFILE": 24, "EFBIG": 27, "ENOSPC": 28, "ESPIPE": 29, "EROFS": 30,
        "ENAMETOOLONG": 36, "ENOTEMPTY": 39, "ELOOP": 40, "EOPNOTSUPP": 95,
    }
    try:
        import errno
    except ImportError:
        return linux
    for name in linux:
        value = getattr(errno, name, None)
        if value is not None:
            linux[name] = value
    return linux
