/* write_read: writes a file, appends to it, reads it back, seeks in it and truncates a second file.
   Leaves notes.txt and short.txt behind in the current directory (or the directory in argv[1]). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char path_buf[256];

static const char *in_dir(const char *dir, const char *name) {
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    return path_buf;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    FILE *f = fopen(in_dir(dir, "notes.txt"), "w");
    if (!f) { perror("fopen w"); return 1; }
    for (int i = 1; i <= 5; i++)
        fprintf(f, "line %d: %d squared is %d\n", i, i, i * i);
    fclose(f);

    f = fopen(in_dir(dir, "notes.txt"), "a");
    if (!f) { perror("fopen a"); return 1; }
    fputs("appended line\n", f);
    fclose(f);

    f = fopen(in_dir(dir, "notes.txt"), "r");
    if (!f) { perror("fopen r"); return 1; }
    char line[128];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        printf("read: %s", line);
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 8, SEEK_SET);
    size_t got = fread(line, 1, 10, f);
    line[got] = 0;
    printf("lines=%d size=%ld at8=[%s]\n", n, size, line);
    fclose(f);

    int fd = open(in_dir(dir, "short.txt"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror("open short"); return 1; }
    write(fd, "0123456789abcdef", 16);
    if (ftruncate(fd, 6) != 0) perror("ftruncate");
    struct stat st;
    fstat(fd, &st);
    printf("short size after truncate=%lld\n", (long long)st.st_size);
    char back[32] = {0};
    ssize_t r = pread(fd, back, sizeof back - 1, 2);
    printf("pread(2)=%zd [%s]\n", r, back);
    pwrite(fd, "XY", 2, 4);
    lseek(fd, 0, SEEK_SET);
    r = read(fd, back, sizeof back - 1);
    back[r] = 0;
    printf("after pwrite=[%s]\n", back);
    close(fd);

    if (open(in_dir(dir, "short.txt"), O_CREAT | O_EXCL | O_WRONLY, 0644) < 0)
        printf("O_EXCL on existing: %s\n", strerror(errno));
    if (open(in_dir(dir, "missing.txt"), O_RDONLY) < 0)
        printf("open missing: %s\n", strerror(errno));
    return 0;
}
