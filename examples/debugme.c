/* debugme: a small program for the debugger (tests and the README session).
   fib() recurses, scale() multiplies its two parameters (change one with `set local` and the
   printed result changes), checked_div() divides and so traps when its divisor is 0:
       debugme.wasm [N [DIVISOR]]   prints fib(N), 3 * fib(N), a message and, with a divisor,
                                    the quotient (DIVISOR 0: "integer divide by zero"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char message[32];

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

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 6;
    strcpy(message, "hello, debugger");
    int f = fib(n);
    int s = scale(f, 3);
    printf("fib(%d) = %d\n", n, f);
    printf("scale(%d, 3) = %d\n", f, s);
    printf("%s\n", message);
    if (argc > 2)
        printf("%d / %s = %d\n", s, argv[2], checked_div(s, atoi(argv[2])));
    return 0;
}
