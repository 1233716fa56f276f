/* tests/testutil.h — the small harness every krait test uses: a seeded RNG that draws fresh
 * inputs on each run (the seed is printed, KRAIT_TEST_SEED replays it), tolerance checks that
 * report the worst element and catch NaN, guard zones after outputs, and a pass/fail count
 * that becomes the exit code. It deliberately has no test discovery or fixtures. */
#ifndef KRAIT_TESTUTIL_H
#define KRAIT_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TU_SKIP 77   /* ctest SKIP_RETURN_CODE */

/* Seed from KRAIT_TEST_SEED or the clock; prints "seed N" once. Call first in main(). */
uint64_t tu_init(const char *test_name);
uint64_t tu_next(void);                 /* 64 random bits */
double tu_uniform(double lo, double hi);
double tu_normal(void);
void tu_fill_uniform(float *x, size_t n, float lo, float hi);
void tu_fill_normal(float *x, size_t n, float mean, float std);
void tu_fill_uniform_d(double *x, size_t n, double lo, double hi);

/* |got - want| <= atol + rtol * |want| for every element, and no NaN/Inf in got.
 * Prints "ok"/"FAIL" with the max abs and rel error and the first bad index ("ok" also says how
 * close the worst element came to its tolerance). Returns 1 if ok. */
int tu_close(const char *what, const float *got, const float *want, size_t n, double rtol, double atol);
int tu_close_d(const char *what, const double *got, const double *want, size_t n, double rtol, double atol);
/* Relative L2 error ||got - want|| / ||want||, and its check against tol. */
double tu_rel_l2(const float *got, const float *want, size_t n);
int tu_rel_l2_ok(const char *what, const float *got, const float *want, size_t n, double tol);

/* Record one check; prints the message on failure. Returns cond. */
int tu_check(int cond, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Host buffers with a guard zone after n floats (filled with a sentinel) and a NaN-filled body
 * (so unwritten outputs show). tu_guard_ok checks that the zone is intact. */
float *tu_alloc_guarded(size_t n);
int tu_guard_ok(const char *what, const float *p, size_t n);
void tu_free_guarded(float *p);

int tu_failures(void);
/* Prints the summary line (on failure with the seed and how to replay it) and returns the
 * process exit code (0 pass, 1 fail). */
int tu_finish(void);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_TESTUTIL_H */
