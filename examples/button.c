/* A button on pin 3 (to ground, with the internal pull-up: pressed reads LOW) lights the LED on
 * pin 2 while it is held; each press and release is printed.
 *   mpwasi run button.wasm --pin 2 --pin 3 --pin-input 3=0 --trace-pins --loops 5 */
#include "wiring.h"

#define LED 2
#define BUTTON 3

static uint32_t was = HIGH;

void setup(void) {
    pinMode(LED, OUTPUT);
    pinMode(BUTTON, INPUT_PULLUP);
    print("button: hold the button on pin 3 to light pin 2\n");
}

void loop(void) {
    uint32_t now = digitalRead(BUTTON);
    digitalWrite(LED, now == LOW ? HIGH : LOW);
    if (now != was) {
        print(now == LOW ? "pressed\n" : "released\n");
        was = now;
    }
    delay(20);
}
