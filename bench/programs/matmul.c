/* Integer matrix multiply: i32 loads/stores and multiply-add in nested loops.
   Usage: matmul N   (default 24) -- C = A x B for N x N matrices of int32
   filled from a linear congruential generator; prints a checksum of C. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

static uint32_t seed = 12345;

static uint32_t next(void)
{
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) & 0x7fff;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 24;
    uint32_t *a = malloc(n * n * 4), *b = malloc(n * n * 4), *c = malloc(n * n * 4);
    uint32_t check = 0;
    if (!a || !b || !c)
        return 1;
    for (unsigned i = 0; i < n * n; i++)
        a[i] = next();
    for (unsigned i = 0; i < n * n; i++)
        b[i] = next();
    for (unsigned i = 0; i < n; i++) {
        for (unsigned j = 0; j < n; j++) {
            uint32_t s = 0;
            for (unsigned k = 0; k < n; k++)
                s += a[i * n + k] * b[k * n + j];
            c[i * n + j] = s;
        }
    }
    for (unsigned i = 0; i < n * n; i++)
        check = (check * 31u) ^ c[i];
    printf("matmul %u: %08x\n", n, check);
    return 0;
}
