/* cat: copies each file named on the command line (or stdin for "-" or no argument) to stdout.
   A file that cannot be opened is reported on stderr and makes the exit status 1. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int copy(FILE *in) {
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, stdout);
    return ferror(in) ? 1 : 0;
}

int main(int argc, char **argv) {
    int status = 0;
    if (argc < 2)
        return copy(stdin);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0) {
            status |= copy(stdin);
            continue;
        }
        FILE *f = fopen(argv[i], "r");
        if (!f) {
            fprintf(stderr, "cat: %s: %s\n", argv[i], strerror(errno));
            status = 1;
            continue;
        }
        status |= copy(f);
        fclose(f);
    }
    return status;
}
