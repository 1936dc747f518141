/* Board kernel: recursive quicksort of n pseudo-random signed ints (n <= 4096), libc-free.
   run(n) -> a checksum of the sorted array (0 if it is not sorted). */
#define MAX 4096
static int v[MAX];

__attribute__((noinline)) static void sort(int lo, int hi)
{
    while (lo < hi) {
        int p = v[(lo + hi) >> 1], i = lo, j = hi;
        while (i <= j) {
            while (v[i] < p)
                i++;
            while (v[j] > p)
                j--;
            if (i <= j) {
                int t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        if (j - lo < hi - i) {
            sort(lo, j);
            lo = i;
        } else {
            sort(i, hi);
            hi = j;
        }
    }
}

__attribute__((export_name("run"))) unsigned run(unsigned n)
{
    unsigned seed = 42, sum = 0;
    if (n > MAX)
        n = MAX;
    for (unsigned i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (int)seed;
    }
    sort(0, (int)n - 1);
    for (unsigned i = 0; i < n; i++) {
        if (i && v[i - 1] > v[i])
            return 0;
        sum = sum * 31u + (unsigned)v[i];
    }
    return sum;
}
