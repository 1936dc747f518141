/* Quicksort of int32 values: recursion, compares, loads/stores and swaps.
   Usage: quicksort N   (default 2000) -- sorts N values from a linear
   congruential generator; prints a checksum and whether the result is sorted. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

static void quicksort(int32_t *a, int lo, int hi)
{
    while (lo < hi) {
        int32_t pivot = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                int32_t t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        /* recurse into the smaller part, loop on the larger one */
        if (j - lo < hi - i) {
            quicksort(a, lo, j);
            lo = i;
        } else {
            quicksort(a, i, hi);
            hi = j;
        }
    }
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    int32_t *a = malloc((n ? n : 1) * sizeof(int32_t));
    uint32_t seed = 42, check = 0;
    int sorted = 1;
    if (!a)
        return 1;
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        a[i] = (int32_t)seed >> 4;
    }
    quicksort(a, 0, n - 1);
    for (int i = 0; i < n; i++) {
        check = check * 33u + (uint32_t)a[i];
        if (i && a[i - 1] > a[i])
            sorted = 0;
    }
    printf("quicksort %d: %08x %s\n", n, check, sorted ? "sorted" : "NOT SORTED");
    free(a);
    return 0;
}
