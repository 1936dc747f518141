"""The board kernels (bench/programs/board/*.c, each exporting run(n)) hand-written with
@micropython.viper: the yardstick of the viper tier (bench/board.py). Written as one writes
viper for the unix port (x86-64: a viper int is 64 bits, so 32-bit wrap and sign are explicit
where the algorithm needs them), same algorithm and same result as the C kernel's run(n).

    micropython bench/viper_kernels.py crc32 1
"""
import array
import sys

import micropython

M32 = 0xFFFFFFFF


@micropython.viper
def _fib(n: int) -> int:
    if n < 2:
        return n
    return int(_fib(n - 1)) + int(_fib(n - 2))


def fib(n):
    return _fib(n) & M32


@micropython.viper
def _sieve(buf, n: int) -> int:
    f = ptr8(buf)
    total = 0
    p = 0
    while p < n:
        i = 0
        while i < 8192:
            f[i] = 0
            i += 1
        count = 0
        i = 2
        while i < 8192:
            if f[i] == 0:
                count += 1
                j = i + i
                while j < 8192:
                    f[j] = 1
                    j += i
            i += 1
        total += count
        p += 1
    return total


def sieve(n):
    return _sieve(bytearray(8192), n) & M32


@micropython.viper
def _crc32(table, buf, n: int) -> int:
    t = ptr32(table)
    b = ptr8(buf)
    m = int(0xFFFFFFFF)
    poly = int(0xEDB88320)
    i = 0
    while i < 256:
        c = i
        k = 0
        while k < 8:
            if c & 1:
                c = poly ^ (c >> 1)
            else:
                c = c >> 1
            k += 1
        t[i] = c
        i += 1
    seed = 1
    i = 0
    while i < 16384:
        seed = (seed * 1664525 + int(1013904223)) & m
        b[i] = seed >> 24
        i += 1
    crc = m
    p = 0
    while p < n:
        i = 0
        while i < 16384:
            crc = t[(crc ^ b[i]) & 0xFF] ^ (crc >> 8)
            i += 1
        p += 1
    return crc ^ m


def crc32(n):
    return _crc32(array.array("I", bytes(1024)), bytearray(16384), n) & M32


@micropython.viper
def _matmul(a, b, c, n: int) -> int:
    pa = ptr32(a)
    pb = ptr32(b)
    pc = ptr32(c)
    m = int(0xFFFFFFFF)
    mul = int(1103515245)
    seed = 12345
    i = 0
    while i < n * n:
        seed = (seed * mul + 12345) & m
        pa[i] = ((seed >> 16) & 0x7FFF) - 16384
        seed = (seed * mul + 12345) & m
        pb[i] = ((seed >> 16) & 0x7FFF) - 16384
        i += 1
    i = 0
    while i < n:
        j = 0
        while j < n:
            s = 0
            k = 0
            while k < n:
                s += pa[i * n + k] * pb[k * n + j]
                k += 1
            pc[i * n + j] = s
            j += 1
        i += 1
    total = 0
    i = 0
    while i < n * n:
        total = (total * 31 + pc[i]) & m
        i += 1
    return total


def matmul(n):
    n = min(n, 64)
    return _matmul(array.array("i", bytes(4 * n * n)), array.array("i", bytes(4 * n * n)),
                   array.array("i", bytes(4 * n * n)), n) & M32


@micropython.viper
def _sort(buf, lo: int, hi: int):
    v = ptr32(buf)
    while lo < hi:
        p = v[(lo + hi) >> 1] << 32 >> 32
        i = lo
        j = hi
        while i <= j:
            while (v[i] << 32 >> 32) < p:
                i += 1
            while (v[j] << 32 >> 32) > p:
                j -= 1
            if i <= j:
                t = v[i]
                v[i] = v[j]
                v[j] = t
                i += 1
                j -= 1
        if j - lo < hi - i:
            _sort(buf, lo, j)
            lo = i
        else:
            _sort(buf, i, hi)
            hi = j


@micropython.viper
def _qs_fill(buf, n: int):
    v = ptr32(buf)
    m = int(0xFFFFFFFF)
    seed = 42
    i = 0
    while i < n:
        seed = (seed * 1664525 + int(1013904223)) & m
        v[i] = seed
        i += 1


@micropython.viper
def _qs_sum(buf, n: int) -> int:
    v = ptr32(buf)
    m = int(0xFFFFFFFF)
    total = 0
    i = 0
    while i < n:
        if i and (v[i - 1] << 32 >> 32) > (v[i] << 32 >> 32):
            return 0
        total = (total * 31 + v[i]) & m
        i += 1
    return total


def quicksort(n):
    n = min(n, 4096)
    buf = array.array("i", bytes(4 * n))
    _qs_fill(buf, n)
    _sort(buf, 0, n - 1)
    return _qs_sum(buf, n) & M32


KERNELS = {"fib": fib, "sieve": sieve, "crc32": crc32, "matmul": matmul, "quicksort": quicksort}

if __name__ == "__main__":
    print(KERNELS[sys.argv[1]](int(sys.argv[2])))
