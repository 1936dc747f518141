/* hello: the smallest WASI program: one line on stdout. */
#include <stdio.h>

int main(void) {
    printf("Hello, world!\n");
    return 0;
}
