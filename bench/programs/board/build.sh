#!/bin/sh
# Rebuild the libc-free board kernels: bench/programs/board/*.c -> *.wasm (each exports run(n)).
# Needs clang and lld only (no wasi-libc). The .wasm files are committed.
set -eu
cd "$(dirname "$0")"
for src in *.c; do
    clang --target=wasm32 -O2 -ffreestanding -fno-builtin -nostdlib -Wl,--no-entry -Wl,-z,stack-size=16384 \
        -Wl,--initial-memory=131072 -o "${src%.c}.wasm" "$src"
done
