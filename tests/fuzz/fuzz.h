/* tests/fuzz/fuzz.h — what the fuzz targets share. Each fuzz_<name>.c defines the libFuzzer entry
 * point LLVMFuzzerTestOneInput for one reader of files that strangers make; it returns 0 and
 * calls fuzz_check() on every property that must hold for any input (a violated one aborts, so
 * libFuzzer and the replay driver report it). The same file links either with libFuzzer (clang,
 * KRAIT_FUZZ=ON) or with replay.c, which feeds it the committed corpus and regression inputs as
 * an ordinary ctest case in every build. Nothing here is used by krait itself. */
#ifndef KRAIT_FUZZ_H
#define KRAIT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with "fuzz property failed: what (file:line)" when ok is 0. */
#define fuzz_check(ok, what) ((ok) ? (void)0 : fuzz_fail(what, __FILE__, __LINE__))
void fuzz_fail(const char *what, const char *file, int line);

/* Once per process: silence krait_log (the readers log one line per rejected input). */
void fuzz_quiet(void);

/* Write data to this process's scratch file whose name ends in suffix (".safetensors",
 * ".jsonl.gz", ...; at most 16 different suffixes) and return its path (valid until the next
 * call with the same suffix). The folder is $KRAIT_FUZZ_TMP, else /dev/shm, else $TMPDIR or /tmp. */
const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix);

/* A NUL-terminated malloc'd copy of data (caller frees). */
char *fuzz_cstr(const uint8_t *data, size_t size);

#endif /* KRAIT_FUZZ_H */
