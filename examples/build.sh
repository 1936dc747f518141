#!/bin/sh
# Rebuilds the example .wasm files from their C and WAT sources.
# Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32 (C), and wabt (WAT).
# The built .wasm files are committed, so running the examples never needs this script.
# Debug sections are stripped (they do not matter to the examples); the "name" section is kept,
# so a trap's backtrace names the functions.
# The stack is 16 KB (not wasm-ld's 64 KB) so most examples fit one 64 KB page: boards have little RAM.
set -e
cd "$(dirname "$0")"
SYSROOT=${WASI_SYSROOT:-/usr}
CC=${CC:-clang}
# Arduino-style apps (wiring.h: setup/loop over the `wiring` imports): no libc, no WASI, no _start.
WIRING_APPS="blink.c button.c fade.c"
for src in $WIRING_APPS; do
    out=${src%.c}.wasm
    echo "cc  $src -> $out (wiring)"
    "$CC" --target=wasm32 -nostdlib -O2 -Wall -Wl,--no-entry -Wl,--strip-debug -Wl,-z,stack-size=4096 -o "$out" "$src"
done
# WASI and wiring together: a reactor (exports _initialize, setup, loop; no _start).
echo "cc  uptime.c -> uptime.wasm (wasi reactor + wiring)"
"$CC" --target=wasm32-wasi --sysroot="$SYSROOT" -mexec-model=reactor -O2 -Wall -Wl,--strip-debug -Wl,-z,stack-size=16384 -o uptime.wasm uptime.c
for src in *.c; do
    case " $WIRING_APPS uptime.c " in *" $src "*) continue ;; esac
    out=${src%.c}.wasm
    echo "cc  $src -> $out"
    case $src in debugme.c) opt=-O1 ;; *) opt=-O2 ;; esac  # debugme: recursion kept for the debugger
    "$CC" --target=wasm32-wasi --sysroot="$SYSROOT" $opt -Wall -Wl,--strip-debug -Wl,-z,stack-size=16384 -o "$out" "$src" -lm
done
for src in *.wat; do
    [ -e "$src" ] || continue
    out=${src%.wat}.wasm
    echo "wat $src -> $out"
    wat2wasm --debug-names -o "$out" "$src"
done
