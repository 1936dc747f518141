/* Board kernel: CRC-32 (reflected, polynomial 0xEDB88320) with a 256-entry table over 16 KB of
   pseudo-random bytes, libc-free. run(n) -> the CRC after n passes over the buffer. */
#define SIZE 16384
static unsigned table[256];
static unsigned char buf[SIZE];

__attribute__((export_name("run"))) unsigned run(unsigned n)
{
    unsigned seed = 1, crc = 0xffffffffu;
    for (unsigned i = 0; i < 256; i++) {
        unsigned c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    for (unsigned i = 0; i < SIZE; i++) {
        seed = seed * 1664525u + 1013904223u;
        buf[i] = (unsigned char)(seed >> 24);
    }
    for (unsigned pass = 0; pass < n; pass++)
        for (unsigned i = 0; i < SIZE; i++)
            crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}
