/* WASI and wiring together: a reactor (wasi-libc's _initialize runs first), printf through WASI's
 * fd_write, the clock and the pins through `wiring`. Each loop toggles pin 2 and prints the uptime.
 *   mpwasi run uptime.wasm --pin 2 --loops 3 */
#include <stdio.h>
#include "wiring.h"

static unsigned level = LOW;
static unsigned count = 0;

void setup(void) {
    pinMode(2, OUTPUT);
    printf("uptime: setup at %u ms\n", (unsigned)millis());
}

void loop(void) {
    level = level == LOW ? HIGH : LOW;
    digitalWrite(2, level);
    count++;
    printf("loop %u: pin 2 = %u, %s\n", count, level, millis() < 60000 ? "under a minute" : "a while");
    fflush(stdout);
    delay(50);
}
