/* tests/fuzz/fuzz_util.c — scratch files, quiet logging and property checks for the fuzz
 * targets; see fuzz.h. */
#include "fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", what, file, line);
    abort();
}

static void drop(krait_log_level level, const char *msg, void *user)
{
    (void)level, (void)msg, (void)user;
}

void fuzz_quiet(void)
{
    static int done;
    if (done) return;
    done = 1;
    if (!getenv("KRAIT_FUZZ_VERBOSE")) krait_log_set(drop, NULL, KRAIT_LOG_ERROR);
}

static const char *scratch_dir(void)
{
    const char *d = getenv("KRAIT_FUZZ_TMP");
    if (d && *d) return d;
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0) return "/dev/shm";
    d = getenv("TMPDIR");
    return d && *d ? d : "/tmp";
}

static void remove_scratch(void);

static struct { char suffix[24]; char path[512]; } slots[16];
static int n_slots;

static void remove_scratch(void)
{
    for (int i = 0; i < n_slots; i++) unlink(slots[i].path);
}

const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix)
{
    int i = 0;
    while (i < n_slots && strcmp(slots[i].suffix, suffix) != 0) i++;
    if (i == n_slots) {
        fuzz_check(n_slots < 16 && strlen(suffix) < sizeof slots[0].suffix, "fuzz_file: too many suffixes");
        snprintf(slots[i].suffix, sizeof slots[i].suffix, "%s", suffix);
        snprintf(slots[i].path, sizeof slots[i].path, "%s/krait-fuzz-%ld-%d%s", scratch_dir(),
                 (long)getpid(), i, suffix);
        if (n_slots++ == 0) atexit(remove_scratch);
    }
    int fd = open(slots[i].path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    fuzz_check(fd >= 0, "fuzz_file: cannot create the scratch file");
    for (size_t done = 0; done < size;) {
        ssize_t w = write(fd, data + done, size - done);
        fuzz_check(w > 0, "fuzz_file: cannot write the scratch file");
        done += (size_t)w;
    }
    close(fd);
    return slots[i].path;
}

char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    fuzz_check(s != NULL, "out of memory");
    if (size) memcpy(s, data, size);
    s[size] = 0;
    return s;
}
