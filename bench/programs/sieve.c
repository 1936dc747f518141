/* Sieve of Eratosthenes: byte loads/stores in linear memory, tight loops.
   Usage: sieve N   (default 10000) -- counts the primes below N, prints the count
   and a checksum (sum of the primes mod 2^32). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
    unsigned char *composite = calloc(n + 1, 1);
    unsigned count = 0, sum = 0;
    if (!composite)
        return 1;
    for (unsigned i = 2; i < n; i++) {
        if (composite[i])
            continue;
        count++;
        sum += i;
        for (unsigned j = i * 2; j < n; j += i)
            composite[j] = 1;
    }
    printf("primes below %u: %u, sum %u\n", n, count, sum);
    free(composite);
    return 0;
}
