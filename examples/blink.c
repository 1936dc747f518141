/* Blink: the LED on pin 2 on for 100 ms, off for 900 ms, forever (Arduino-style: setup, then loop).
 *   mpwasi run blink.wasm --pin 2 --trace-pins --loops 3 */
#include "wiring.h"

#define LED 2

void setup(void) {
    print("blink: LED on pin 2\n");
    pinMode(LED, OUTPUT);
}

void loop(void) {
    digitalWrite(LED, HIGH);
    delay(100);
    digitalWrite(LED, LOW);
    delay(900);
}
