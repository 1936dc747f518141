;; Blink in WAT (the same as blink.c): pin 2 on for 100 ms, off for 900 ms; setup prints a line.
;;   mpwasi run blink_wat.wasm --pin 2 --trace-pins --loops 3
(module
  (import "wiring" "pinMode" (func $pinMode (param i32 i32)))
  (import "wiring" "digitalWrite" (func $digitalWrite (param i32 i32)))
  (import "wiring" "delay" (func $delay (param i32)))
  (import "wiring" "print" (func $print (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "blink (wat): LED on pin 2\n")
  (func $setup (export "setup")
    (call $print (i32.const 16) (i32.const 26))
    (call $pinMode (i32.const 2) (i32.const 1)))
  (func $loop (export "loop")
    (call $digitalWrite (i32.const 2) (i32.const 1))
    (call $delay (i32.const 100))
    (call $digitalWrite (i32.const 2) (i32.const 0))
    (call $delay (i32.const 900))))
