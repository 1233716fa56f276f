/* tests/io/io_util.h — helpers for the file-format tests: a private temporary folder, raw file
 * writing and reading, and capture of krait_log lines so a test can assert that a failure
 * produced exactly one error line containing an expected fragment. */
#ifndef KRAIT_IO_UTIL_H
#define KRAIT_IO_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* Creates a fresh folder under $TMPDIR (or /tmp) and returns its path (static storage). */
const char *io_tmpdir(const char *tag);
/* Removes every plain file in dir, then dir itself. */
void io_rmdir(const char *dir);
/* dir + "/" + name in a static rotating buffer (valid for the next 7 calls). */
const char *io_path(const char *dir, const char *name);
int io_write(const char *path, const void *bytes, size_t n);   /* 1 if written */
/* Reads a whole file (malloc'd, caller frees); NULL if it cannot. */
uint8_t *io_read(const char *path, size_t *n);
int io_exists(const char *path);
/* Number of entries in dir whose name contains frag. */
int io_count_names(const char *dir, const char *frag);

/* Log capture: io_cap_begin() installs a callback that counts lines per level and keeps the
 * last error line; io_cap_end() restores the default. */
typedef struct io_cap {
    int errors, warnings, others;
    char last_error[1024];
} io_cap;
void io_cap_begin(io_cap *c);
void io_cap_end(void);
/* 1 if exactly one error line was logged since c was reset and it contains frag (prints the
 * line either way when it does not). Resets c. */
int io_cap_one_error(io_cap *c, const char *what, const char *frag);
void io_cap_reset(io_cap *c);

#endif /* KRAIT_IO_UTIL_H */
