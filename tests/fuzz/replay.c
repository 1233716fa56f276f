/* tests/fuzz/replay.c — the fuzz targets without libFuzzer: `replay_<name> PATH...` feeds every
 * file named (folders: every file inside, not recursing) to LLVMFuzzerTestOneInput, one by one,
 * so the seed corpus and every past finding (regressions/) run as an ordinary ctest case in every
 * build, with any compiler. A property failure or a crash fails the test; exit 1 also when no
 * input was found at all (a corpus that went missing) or one could not be read. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf) return -1;
    /* an exact-size copy, so that a read past the input is caught by ASan as under libFuzzer */
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *p = malloc(len);
        snprintf(p, len, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(p) < 0) count = -1000000;
            else count++;
        }
        free(p);
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
    int total = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s does not exist\n", argv[i]);
            bad = 1;
        } else if (S_ISDIR(st.st_mode)) {
            int c = run_dir(argv[i]);
            if (c < 0) {
                fprintf(stderr, "replay: cannot read every input in %s\n", argv[i]);
                bad = 1;
            } else {
                printf("replay: %d inputs from %s\n", c, argv[i]);
                total += c;
            }
        } else if (run_file(argv[i]) < 0) {
            bad = 1;
        } else {
            total++;
        }
    }
    if (total == 0) {
        fprintf(stderr, "replay: no input at all (a corpus went missing?)\n");
        return 1;
    }
    printf("replay: %d inputs, all properties held\n", total);
    return bad;
}
