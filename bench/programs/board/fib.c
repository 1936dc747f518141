/* Board kernel: recursive Fibonacci, libc-free. run(n) -> fib(n) mod 2^32. */
__attribute__((noinline)) static unsigned fib(unsigned n)
{
    if (n < 2)
        return n;
    unsigned a = fib(n - 1), b = fib(n - 2);
    __asm__ volatile("" : "+r"(b));  /* keep both recursive calls (no accumulator loop) */
    return a + b;
}

__attribute__((export_name("run"))) unsigned run(unsigned n)
{
    return fib(n);
}
