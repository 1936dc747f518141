/* Board kernel: sieve of Eratosthenes over an 8 KB byte array, libc-free.
   run(n) -> n passes; the number of primes below 8192 times n plus the sum of the last pass. */
#define SIZE 8192
static unsigned char flags[SIZE];

__attribute__((export_name("run"))) unsigned run(unsigned n)
{
    unsigned total = 0;
    for (unsigned pass = 0; pass < n; pass++) {
        unsigned count = 0;
        for (unsigned i = 0; i < SIZE; i++)
            flags[i] = 0;
        for (unsigned i = 2; i < SIZE; i++) {
            if (flags[i])
                continue;
            count++;
            for (unsigned j = i + i; j < SIZE; j += i)
                flags[j] = 1;
        }
        total += count;
    }
    return total;
}
