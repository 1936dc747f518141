/* trap: calls down three functions and executes `unreachable` in the innermost one, so the runtime
   prints a trap with a wasm backtrace naming them. */
#include <stdio.h>

__attribute__((noinline)) static void innermost(int depth) {
    if (depth >= 0)
        __builtin_trap();
}

__attribute__((noinline)) static void middle(int depth) {
    innermost(depth + 1);
    printf("not reached\n");
}

__attribute__((noinline)) void outer(int depth) {
    middle(depth + 1);
    printf("not reached\n");
}

int main(void) {
    printf("about to trap\n");
    fflush(stdout);
    outer(0);
    return 0;
}
