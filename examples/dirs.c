/* dirs: makes, renames and removes directories, printing what each step answers.
   Works inside the directory argv[1] (default "."); leaves tree/kept/inner/file.txt behind. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char buf[4][256];

static const char *p(int slot, const char *dir, const char *rel) {
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", dir, rel);
    return buf[slot];
}

static void report(const char *what, int rc) {
    printf("%-28s %s\n", what, rc == 0 ? "ok" : strerror(errno));
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    report("mkdir tree", mkdir(p(0, dir, "tree"), 0755));
    report("mkdir tree again", mkdir(p(0, dir, "tree"), 0755));
    report("mkdir tree/a", mkdir(p(0, dir, "tree/a"), 0755));
    report("mkdir tree/a/inner", mkdir(p(0, dir, "tree/a/inner"), 0755));
    report("mkdir missing/x", mkdir(p(0, dir, "missing/x"), 0755));
    FILE *f = fopen(p(0, dir, "tree/a/inner/file.txt"), "w");
    if (f) { fputs("inside\n", f); fclose(f); }
    report("rmdir non-empty tree/a", rmdir(p(0, dir, "tree/a")));
    report("rename tree/a -> tree/kept", rename(p(0, dir, "tree/a"), p(1, dir, "tree/kept")));
    report("rename missing -> x", rename(p(0, dir, "tree/nothing"), p(1, dir, "tree/x")));
    report("mkdir tree/gone", mkdir(p(0, dir, "tree/gone"), 0755));
    report("rmdir tree/gone", rmdir(p(0, dir, "tree/gone")));
    report("rmdir tree/gone again", rmdir(p(0, dir, "tree/gone")));
    report("rmdir file", rmdir(p(0, dir, "tree/kept/inner/file.txt")));
    report("unlink dir", unlink(p(0, dir, "tree/kept")));
    struct stat st;
    report("stat tree/kept/inner", stat(p(0, dir, "tree/kept/inner"), &st));
    printf("is dir: %d\n", S_ISDIR(st.st_mode));
    report("stat tree/a (renamed away)", stat(p(0, dir, "tree/a"), &st));
    f = fopen(p(0, dir, "tree/tmp.txt"), "w");
    if (f) { fputs("temporary\n", f); fclose(f); }
    report("unlink tree/tmp.txt", unlink(p(0, dir, "tree/tmp.txt")));
    report("unlink tree/tmp.txt again", unlink(p(0, dir, "tree/tmp.txt")));
    return 0;
}
