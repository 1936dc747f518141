/* Hello world: the smallest useful WASI command (heap measurement in bench/heap.py). */
#include <stdio.h>

int main(void)
{
    printf("hello, world\n");
    return 0;
}
