/* random: fills buffers from random_get and prints them in hex; two draws must differ. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void hex(const char *label, const unsigned char *b, int n) {
    printf("%s=", label);
    for (int i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

int main(void) {
    unsigned char a[16], b[16];
    if (getentropy(a, sizeof a) != 0 || getentropy(b, sizeof b) != 0) {
        perror("getentropy");
        return 1;
    }
    hex("first", a, sizeof a);
    hex("second", b, sizeof b);
    printf("draws differ: %s\n", memcmp(a, b, sizeof a) != 0 ? "yes" : "no");
    return 0;
}
