/* Mandelbrot set (f64): float multiply/add/compare in a tight loop.
   Usage: mandelbrot N   (default 32) -- an N x N grid over [-2,1] x [-1.5,1.5],
   at most 50 iterations per point; prints the total iteration count and the
   number of points inside the set. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 32;
    unsigned total = 0, inside = 0;
    for (int py = 0; py < n; py++) {
        double ci = -1.5 + 3.0 * py / n;
        for (int px = 0; px < n; px++) {
            double cr = -2.0 + 3.0 * px / n;
            double zr = 0.0, zi = 0.0;
            int it = 0;
            while (it < 50) {
                double zr2 = zr * zr, zi2 = zi * zi;
                if (zr2 + zi2 > 4.0)
                    break;
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                it++;
            }
            total += it;
            if (it == 50)
                inside++;
        }
    }
    printf("mandelbrot %d: iterations %u, inside %u\n", n, total, inside);
    return 0;
}
