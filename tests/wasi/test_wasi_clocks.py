"""The clocks under WASI: the monotonic clock keeps counting up across time.ticks_us wrap-around
(as on a board, where ticks wrap every 2**30 us), and realtime is seconds since 1970 whatever the
port's epoch. The wrap is driven with a tick sequence given to compat.TicksClock; on MicroPython the
port's own ticks_add/ticks_diff do the arithmetic."""
import os
import subprocess

from wasi_support import FIRMWARE
from mp.runner import micropython_command

from mpwasi import compat

BOARD_PERIOD = 1 << 30


def board_ticks_diff(a, b):
    """MicroPython's ticks_diff for a 2**30 period: the signed distance in [-period/2, period/2)."""
    return ((a - b + BOARD_PERIOD // 2) % BOARD_PERIOD) - BOARD_PERIOD // 2


def clock_over(readings):
    values = iter(readings)
    clock = compat.TicksClock(lambda: next(values), board_ticks_diff, BOARD_PERIOD)
    return clock, [clock.ns() for _ in readings[1:]]


def test_monotonic_counts_up_across_wraparound():
    start = BOARD_PERIOD - 1000
    readings = [start, start + 400, (start + 1500) % BOARD_PERIOD, 900, 5000]
    clock, ns = clock_over(readings)
    assert ns == [400 * 1000, 1500 * 1000, 1900 * 1000, 6000 * 1000]


def test_monotonic_over_a_gap_longer_than_half_a_period_still_counts_up():
    gap = BOARD_PERIOD * 3 // 4  # ticks_diff sees this as negative
    clock, ns = clock_over([0, gap, (gap + 10) % BOARD_PERIOD])
    assert ns == [gap * 1000, (gap + 10) * 1000]


def test_monotonic_never_goes_back_over_many_wraps():
    readings, t = [0], 0
    for step in [7, BOARD_PERIOD // 3, 123456, BOARD_PERIOD // 2 - 1, 1, BOARD_PERIOD // 3] * 20:
        t += step
        readings.append(t % BOARD_PERIOD)
    clock, ns = clock_over(readings)
    assert ns == sorted(ns) and ns[-1] == t * 1000


def test_epoch_offsets():
    assert compat.epoch_offset_s(1970) == 0
    assert compat.epoch_offset_s(2000) == 946684800  # 2000-01-01 in seconds since 1970
    assert compat.epoch_s_to_ns(0) == 0  # littlefs files without a time stay at 0


MP_WRAP = """
import time
from mpwasi import compat
period = time.ticks_add(0, -1) + 1
start = time.ticks_add(0, -1000)
seq = [start, time.ticks_add(start, 400), time.ticks_add(start, 1500), time.ticks_add(start, 1900)]
it = iter(seq)
clock = compat.TicksClock(lambda: next(it), time.ticks_diff, period)
print([clock.ns() for _ in seq[1:]])
a = compat.monotonic_ns(); b = compat.monotonic_ns()
print(b >= a, compat.realtime_ns() > 1577836800 * 10**9)
"""


def test_monotonic_across_wraparound_with_micropythons_ticks(micropython):
    env = dict(os.environ, MICROPYPATH=".frozen:" + FIRMWARE)
    r = subprocess.run(micropython_command(["-c", MP_WRAP]), capture_output=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().split("\n")[:2] == ["[400000, 1500000, 1900000]", "True True"]
