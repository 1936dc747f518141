/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) over a buffer:
   table lookups, shifts and xors over bytes of linear memory.
   Usage: crc32 N   (default 10000) -- N bytes from a linear congruential
   generator; prints the CRC. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

static uint32_t table[256];

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
    unsigned char *buf = malloc(n ? n : 1);
    uint32_t seed = 1, crc = 0xffffffffu;
    if (!buf)
        return 1;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    for (unsigned i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        buf[i] = (unsigned char)(seed >> 24);
    }
    for (unsigned i = 0; i < n; i++)
        crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
    printf("crc32 of %u bytes: %08x\n", n, crc ^ 0xffffffffu);
    free(buf);
    return 0;
}
