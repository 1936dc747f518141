/* Recursive Fibonacci: call-heavy (function calls, i32 arithmetic, branches).
   Usage: fib N   (default 20) -- prints fib(N) mod 2^32. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static unsigned fib(unsigned n)
{
    if (n < 2)
        return n;
    unsigned a = fib(n - 1), b = fib(n - 2);
    /* An empty asm barrier: it stops the compiler from turning the second call into a
       loop (tail-recursion elimination with an accumulator), so the program really
       makes both recursive calls, like the hand-written Python kernel. */
    __asm__ volatile("" : "+r"(b));
    return a + b;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 20;
    printf("fib(%u) = %u\n", n, fib(n));
    return 0;
}
