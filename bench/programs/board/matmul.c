/* Board kernel: n x n integer matrix product (n <= 64), libc-free.
   run(n) -> a checksum of C = A * B (i32 arithmetic, wrapping). */
#define MAX 64
static int a[MAX * MAX], b[MAX * MAX], c[MAX * MAX];

__attribute__((export_name("run"))) unsigned run(unsigned n)
{
    unsigned seed = 12345, sum = 0;
    if (n > MAX)
        n = MAX;
    for (unsigned i = 0; i < n * n; i++) {
        seed = seed * 1103515245u + 12345u;
        a[i] = (int)((seed >> 16) & 0x7fff) - 16384;
        seed = seed * 1103515245u + 12345u;
        b[i] = (int)((seed >> 16) & 0x7fff) - 16384;
    }
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = 0; j < n; j++) {
            int s = 0;
            for (unsigned k = 0; k < n; k++)
                s += a[i * n + k] * b[k * n + j];
            c[i * n + j] = s;
        }
    for (unsigned i = 0; i < n * n; i++)
        sum = sum * 31u + (unsigned)c[i];
    return sum;
}
