/* tests/io/io_util.c — see io_util.h. */
#include "io_util.h"

#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *io_tmpdir(const char *tag)
{
    static char buf[512];
    const char *base = getenv("TMPDIR");
    snprintf(buf, sizeof buf, "%s/krait-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        exit(1);
    }
    return buf;
}

void io_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        unlink(io_path(dir, e->d_name));
    }
    closedir(d);
    rmdir(dir);
}

const char *io_path(const char *dir, const char *name)
{
    static char buf[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

int io_write(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(bytes, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

uint8_t *io_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(len > 0 ? (size_t)len : 1);
    if (p && fread(p, 1, (size_t)len, f) != (size_t)len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return p;
}

int io_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

int io_count_names(const char *dir, const char *frag)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, frag)) n++;
    closedir(d);
    return n;
}

static void cap_fn(krait_log_level level, const char *msg, void *user)
{
    io_cap *c = user;
    if (level == KRAIT_LOG_ERROR) {
        c->errors++;
        snprintf(c->last_error, sizeof c->last_error, "%s", msg);
    } else if (level == KRAIT_LOG_WARN) {
        c->warnings++;
    } else {
        c->others++;
    }
}

void io_cap_reset(io_cap *c)
{
    c->errors = c->warnings = c->others = 0;
    c->last_error[0] = '\0';
}

void io_cap_begin(io_cap *c)
{
    io_cap_reset(c);
    krait_log_set(cap_fn, c, KRAIT_LOG_DEBUG);
}

void io_cap_end(void) { krait_log_set(NULL, NULL, KRAIT_LOG_INFO); }

int io_cap_one_error(io_cap *c, const char *what, const char *frag)
{
    int ok = c->errors == 1 && strstr(c->last_error, frag) != NULL && !strchr(c->last_error, '\n');
    tu_check(ok, "%s: want one error line containing \"%s\"; got %d line(s), last: \"%s\"", what,
             frag, c->errors, c->last_error);
    io_cap_reset(c);
    return ok;
}
