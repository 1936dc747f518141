/* Hello world linked with wasm-ld's defaults (a 64 KiB stack: two pages of memory, the stack at the
   top of them), as most C programs are built: the board-memory tests run it on a small board's
   heap (tests/test_board_memory.py). */
#include <stdio.h>

int main(void)
{
    printf("hello from a default-built program\n");
    return 0;
}
