/* Fade: the LED on pin 9 fades in and out by PWM (analogWrite 0..255), a step every 30 ms.
 *   mpwasi run fade.wasm --pin 9 --trace-pins --loops 20 */
#include "wiring.h"

#define LED 9

static int32_t brightness = 0;
static int32_t step = 5;

void setup(void) {
    pinMode(LED, OUTPUT);
}

void loop(void) {
    analogWrite(LED, (uint32_t)brightness);
    brightness += step;
    if (brightness <= 0 || brightness >= 255) {
        step = -step;
    }
    delay(30);
}
