/* ls: lists a directory (argv[1], default ".") sorted by name: type, size of files, name. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_ENTRIES 128

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "ls: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char *names[MAX_ENTRIES];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAX_ENTRIES) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    char path[512];
    for (int i = 0; i < n; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) != 0) {
            printf("? %s (%s)\n", names[i], strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            printf("d %s/\n", names[i]);
        } else {
            printf("f %6lld %s\n", (long long)st.st_size, names[i]);
        }
        free(names[i]);
    }
    printf("%d entries\n", n);
    return 0;
}
