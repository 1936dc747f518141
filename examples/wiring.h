/* The `wiring` imports (Arduino-style pins and time) as mpwasi provides them (firmware/mpwasi/wiring.py),
 * the convention of wasm3's embedded-wasm-apps plus its documented superset. Every pin an app uses
 * must be granted: `mpwasi run app.wasm --pin 2`. */
#ifndef MPWASI_WIRING_H
#define MPWASI_WIRING_H
#include <stdint.h>

#define WIRING(name) __attribute__((import_module("wiring"), import_name(#name)))
#define APP_EXPORT(name) __attribute__((export_name(#name)))

#define LOW 0
#define HIGH 1
#define INPUT 0
#define OUTPUT 1
#define INPUT_PULLUP 2

WIRING(millis) uint32_t millis(void);
WIRING(micros) uint32_t micros(void);
WIRING(delay) void delay(uint32_t ms);
WIRING(pinMode) void pinMode(uint32_t pin, uint32_t mode);
WIRING(digitalWrite) void digitalWrite(uint32_t pin, uint32_t value);
WIRING(digitalRead) uint32_t digitalRead(uint32_t pin);
WIRING(analogRead) uint32_t analogRead(uint32_t pin);
WIRING(analogWrite) void analogWrite(uint32_t pin, uint32_t value);
WIRING(print) void print_bytes(const char *s, uint32_t len);
WIRING(stopWdt) void stopWdt(void);

static inline void print(const char *s) {
    uint32_t n = 0;
    while (s[n]) n++;
    print_bytes(s, n);
}

APP_EXPORT(setup) void setup(void);
APP_EXPORT(loop) void loop(void);
#endif
