#!/bin/sh
# Rebuild the benchmark programs: bench/programs/*.c -> bench/programs/*.wasm (wasm32-wasi).
# The .wasm files are committed, so running the benchmarks never needs clang; run this only
# after changing a program. Needs clang, lld and wasi-libc (Debian: clang lld wasi-libc
# libclang-rt-dev-wasm32). Set WASI_SYSROOT if wasi-libc is not under /usr.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/programs"

sysroot=${WASI_SYSROOT:-}
if [ -z "$sysroot" ]; then
    for candidate in /usr /opt/wasi-sdk/share/wasi-sysroot /usr/share/wasi-sysroot; do
        if [ -f "$candidate/lib/wasm32-wasi/libc.a" ] || [ -f "$candidate/lib/wasm32-wasip1/libc.a" ]; then
            sysroot=$candidate
            break
        fi
    done
fi
if [ -z "$sysroot" ]; then
    echo "build.sh: wasi-libc not found; install wasi-libc or set WASI_SYSROOT" >&2
    exit 1
fi
CC=${CC_WASM:-clang}

# The two generated programs (sizes chosen so the .wasm is about 100 KB and 64 KB).
python3 "$here/gen_bigmodule.py" 272 4096 > bigmodule.c
python3 "$here/gen_bigmodule.py" 120 2200 > module64k.c

for src in *.c; do
    out=${src%.c}.wasm
    extra=
    # hello is the heap benchmark's program (bench/heap.py): a small stack (8 KiB instead of
    # 64 KiB) as one would link for a board, so its memory fits in one page or less.
    # (hello_default.c keeps wasm-ld's defaults: two pages, for the board-memory tests.)
    [ "$src" = hello.c ] && extra="-Wl,-z,stack-size=8192"
    # --strip-debug: wasi-libc's archive carries DWARF; keep the name section only.
    "$CC" --target=wasm32-wasi --sysroot="$sysroot" -O2 -Wl,--strip-debug $extra -o "$out" "$src" -lm
    echo "built $out ($(wc -c < "$out") bytes)"
done
