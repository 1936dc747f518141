"""The benchmark kernels of bench/programs/*.c hand-written in plain Python.

Each function takes the same size argument as the C program and returns exactly the text
the C program prints, so bench/run.py can check every runtime against every other. They
are written the way one writes Python (lists, bytearray, range loops), not transliterated
wasm, because they are the yardstick for "within N times of hand-written Python". The
float kernels evaluate their expressions in the same order as the C source, so the f64
results are bit-identical to the wasm ones.

Runs on CPython 3.10+ and MicroPython:

    python3 bench/python_kernels.py fib 20
    micropython bench/python_kernels.py fib 20
"""
import math
import struct
import sys

MASK32 = 0xFFFFFFFF


def fib(n):
    def f(k):
        if k < 2:
            return k
        return f(k - 1) + f(k - 2)

    return "fib(%d) = %d\n" % (n, f(n) & MASK32)


def sieve(n):
    composite = bytearray(n + 1)
    count = 0
    total = 0
    for i in range(2, n):
        if composite[i]:
            continue
        count += 1
        total += i
        for j in range(i * 2, n, i):
            composite[j] = 1
    return "primes below %d: %d, sum %d\n" % (n, count, total & MASK32)


def matmul(n):
    seed = 12345
    values = []
    for _ in range(2 * n * n):
        seed = (seed * 1103515245 + 12345) & MASK32
        values.append((seed >> 16) & 0x7FFF)
    a = values[:n * n]
    b = values[n * n:]
    c = [0] * (n * n)
    for i in range(n):
        row = i * n
        for j in range(n):
            s = 0
            for k in range(n):
                s += a[row + k] * b[k * n + j]
            c[row + j] = s & MASK32
    check = 0
    for v in c:
        check = ((check * 31) & MASK32) ^ v
    return "matmul %d: %08x\n" % (n, check)


def crc32(n):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            if c & 1:
                c = 0xEDB88320 ^ (c >> 1)
            else:
                c >>= 1
        table.append(c)
    buf = bytearray(n)
    seed = 1
    for i in range(n):
        seed = (seed * 1664525 + 1013904223) & MASK32
        buf[i] = seed >> 24
    crc = MASK32
    for byte in buf:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return "crc32 of %d bytes: %08x\n" % (n, crc ^ MASK32)


def mandelbrot(n):
    total = 0
    inside = 0
    for py in range(n):
        ci = -1.5 + 3.0 * py / n
        for px in range(n):
            cr = -2.0 + 3.0 * px / n
            zr = 0.0
            zi = 0.0
            it = 0
            while it < 50:
                zr2 = zr * zr
                zi2 = zi * zi
                if zr2 + zi2 > 4.0:
                    break
                zi = 2.0 * zr * zi + ci
                zr = zr2 - zi2 + cr
                it += 1
            total += it
            if it == 50:
                inside += 1
    return "mandelbrot %d: iterations %d, inside %d\n" % (n, total, inside)


PI = 3.141592653589793
SOLAR_MASS = 4 * PI * PI
DAYS_PER_YEAR = 365.24


def _bodies():
    # x, y, z, vx, vy, vz, mass -- as in nbody.c
    return [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, SOLAR_MASS],
        [4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
         1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,
         -6.90460016972063023e-05 * DAYS_PER_YEAR, 9.54791938424326609e-04 * SOLAR_MASS],
        [8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
         -2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,
         2.30417297573763929e-05 * DAYS_PER_YEAR, 2.85885980666130812e-04 * SOLAR_MASS],
        [1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
         2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,
         -2.96589568540237556e-05 * DAYS_PER_YEAR, 4.36624404335156298e-05 * SOLAR_MASS],
        [1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
         2.68067772490389322e-03 * DAYS_PER_YEAR, 1.62824170038242295e-03 * DAYS_PER_YEAR,
         -9.51592254519715870e-05 * DAYS_PER_YEAR, 5.15138902046611451e-05 * SOLAR_MASS],
    ]


def _energy(bodies):
    e = 0.0
    nb = len(bodies)
    for i in range(nb):
        b = bodies[i]
        e += 0.5 * b[6] * (b[3] * b[3] + b[4] * b[4] + b[5] * b[5])
        for j in range(i + 1, nb):
            b2 = bodies[j]
            dx = b[0] - b2[0]
            dy = b[1] - b2[1]
            dz = b[2] - b2[2]
            e -= (b[6] * b2[6]) / math.sqrt(dx * dx + dy * dy + dz * dz)
    return e


def _advance(bodies, dt):
    nb = len(bodies)
    for i in range(nb):
        b = bodies[i]
        for j in range(i + 1, nb):
            b2 = bodies[j]
            dx = b[0] - b2[0]
            dy = b[1] - b2[1]
            dz = b[2] - b2[2]
            d2 = dx * dx + dy * dy + dz * dz
            mag = dt / (d2 * math.sqrt(d2))
            b[3] -= dx * b2[6] * mag
            b[4] -= dy * b2[6] * mag
            b[5] -= dz * b2[6] * mag
            b2[3] += dx * b[6] * mag
            b2[4] += dy * b[6] * mag
            b2[5] += dz * b[6] * mag
    for b in bodies:
        b[0] += dt * b[3]
        b[1] += dt * b[4]
        b[2] += dt * b[5]


def _bits(d):
    return struct.unpack("<Q", struct.pack("<d", d))[0]


def nbody(n):
    bodies = _bodies()
    px = py = pz = 0.0
    for b in bodies:
        px += b[3] * b[6]
        py += b[4] * b[6]
        pz += b[5] * b[6]
    bodies[0][3] = -px / SOLAR_MASS
    bodies[0][4] = -py / SOLAR_MASS
    bodies[0][5] = -pz / SOLAR_MASS
    e0 = _energy(bodies)
    for _ in range(n):
        _advance(bodies, 0.01)
    e1 = _energy(bodies)
    return "nbody %d: %016x %016x\nenergy %.9f %.9f\n" % (n, _bits(e0), _bits(e1), e0, e1)


def _quicksort(a, lo, hi):
    while lo < hi:
        pivot = a[lo + (hi - lo) // 2]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        # recurse into the smaller part, loop on the larger one
        if j - lo < hi - i:
            _quicksort(a, lo, j)
            lo = i
        else:
            _quicksort(a, i, hi)
            hi = j


def quicksort(n):
    seed = 42
    a = []
    for _ in range(n):
        seed = (seed * 1103515245 + 12345) & MASK32
        signed = seed - 0x100000000 if seed & 0x80000000 else seed
        a.append(signed >> 4)
    _quicksort(a, 0, n - 1)
    check = 0
    ok = True
    for i in range(n):
        check = (check * 33 + (a[i] & MASK32)) & MASK32
        if i and a[i - 1] > a[i]:
            ok = False
    return "quicksort %d: %08x %s\n" % (n, check, "sorted" if ok else "NOT SORTED")


KERNELS = {
    "fib": fib,
    "sieve": sieve,
    "matmul": matmul,
    "crc32": crc32,
    "mandelbrot": mandelbrot,
    "nbody": nbody,
    "quicksort": quicksort,
}


def main(argv):
    if len(argv) != 3 or argv[1] not in KERNELS:
        print("usage: python_kernels.py {%s} SIZE" % ",".join(sorted(KERNELS)))
        sys.exit(2)
    sys.stdout.write(KERNELS[argv[1]](int(argv[2])))


if __name__ == "__main__":
    main(sys.argv)
