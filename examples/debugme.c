/* debugme: a small program for the debugger (its tests and the README session).
   fib() recurses; scale() multiplies its two parameters (change one with `set local` and the
   printed result changes); checked_div() divides, so it traps when the divisor is 0:
       debugme.wasm [N [DIVISOR]]   prints fib(N), scale(fib(N), 3), a message copied into a
                                    static buffer and, with a divisor, the quotient.
   No printf: the module stays small (16 KB), as a board's heap wants it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char message[32];
static char line[64];

__attribute__((export_name("fib"), noinline)) int fib(int n) {
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

__attribute__((export_name("scale"), noinline)) int scale(int value, int factor) {
    return value * factor;
}

__attribute__((export_name("checked_div"), noinline)) int checked_div(int a, int b) {
    return a / b;
}

/* appends the decimal digits of v at p; returns the end */
static char *put_int(char *p, int v) {
    char digits[12];
    int n = 0;
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    if (v < 0)
        *p++ = '-';
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n)
        *p++ = digits[--n];
    return p;
}

static char *put_str(char *p, const char *s) {
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* prints "NAME(A) = R" or "NAME(A, B) = R" */
static void show(const char *name, int a, int b, int two, int r) {
    char *p = put_int(put_str(line, name), a);
    if (two)
        p = put_int(put_str(p, ", "), b);
    *put_int(put_str(p, ") = "), r) = 0;
    puts(line);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 6;
    strcpy(message, "hello, debugger");
    int f = fib(n);
    int s = scale(f, 3);
    show("fib(", n, 0, 0, f);
    show("scale(", f, 3, 1, s);
    puts(message);
    if (argc > 2)
        show("checked_div(", s, atoi(argv[2]), 1, checked_div(s, atoi(argv[2])));
    return 0;
}
