/* tests/testutil.c — see testutil.h. */
#include "testutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"

static uint64_t rng_s[4];
static int n_checks, n_failed;
static const char *test_name = "test";
static uint64_t run_seed;   /* repeated on failure: ctest's log may keep only the last lines */

uint64_t tu_init(const char *name)
{
    test_name = name;
    uint64_t seed;
    const char *env = getenv("KRAIT_TEST_SEED");
    if (env && *env) {
        seed = strtoull(env, NULL, 10);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec;
        seed %= 1000000007u;
    }
    run_seed = seed;
    for (int i = 0; i < 4; i++) rng_s[i] = krait_mix64(seed, (uint64_t)i); /* splitmix64 from seed */
    printf("%s: seed %llu (KRAIT_TEST_SEED=%llu replays this run)\n", name,
           (unsigned long long)seed, (unsigned long long)seed);
    return seed;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t tu_next(void)
{
    uint64_t r = rotl(rng_s[1] * 5, 7) * 9, t = rng_s[1] << 17;
    rng_s[2] ^= rng_s[0];
    rng_s[3] ^= rng_s[1];
    rng_s[1] ^= rng_s[2];
    rng_s[0] ^= rng_s[3];
    rng_s[2] ^= t;
    rng_s[3] = rotl(rng_s[3], 45);
    return r;
}

double tu_uniform(double lo, double hi) { return lo + (hi - lo) * ((tu_next() >> 11) * 0x1.0p-53); }

double tu_normal(void)
{
    double u1 = tu_uniform(0, 1), u2 = tu_uniform(0, 1);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void tu_fill_uniform(float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)tu_uniform(lo, hi);
}

void tu_fill_normal(float *x, size_t n, float mean, float std)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)(mean + std * tu_normal());
}

void tu_fill_uniform_d(double *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) x[i] = tu_uniform(lo, hi);
}

static int close_impl(const char *what, size_t n, double rtol, double atol,
                      double (*got)(const void *, size_t), const void *g,
                      double (*want)(const void *, size_t), const void *w)
{
    double max_abs = 0, max_rel = 0, worst = 0;   /* worst: largest d / (atol + rtol |want|) */
    size_t bad = (size_t)-1, nbad = 0;
    for (size_t i = 0; i < n; i++) {
        double a = got(g, i), b = want(w, i), d = fabs(a - b), lim = atol + rtol * fabs(b);
        int ok = isfinite(a) && d <= lim;
        if (!isfinite(b) && a == b) ok = 1;
        if (d > max_abs || isnan(d)) max_abs = d;
        if (fabs(b) > 1e-30 && d / fabs(b) > max_rel) max_rel = d / fabs(b);
        if (ok && lim > 0 && d / lim > worst) worst = d / lim;
        if (!ok) {
            if (bad == (size_t)-1) bad = i;
            nbad++;
        }
    }
    n_checks++;
    if (nbad) {
        n_failed++;
        printf("  FAIL %-40s n=%zu bad=%zu max_abs=%.3g max_rel=%.3g first bad [%zu]: got %.9g want %.9g\n",
               what, n, nbad, max_abs, max_rel, bad, got(g, bad), want(w, bad));
        return 0;
    }
    /* how close the closest element came: a check that passes at 0.9 is a flake in waiting */
    printf("  ok   %-40s n=%zu max_abs=%.3g max_rel=%.3g (%.2g of tol)\n", what, n, max_abs,
           max_rel, worst);
    return 1;
}

static double get_f(const void *p, size_t i) { return ((const float *)p)[i]; }
static double get_d(const void *p, size_t i) { return ((const double *)p)[i]; }

int tu_close(const char *what, const float *got, const float *want, size_t n, double rtol, double atol)
{
    return close_impl(what, n, rtol, atol, get_f, got, get_f, want);
}

int tu_close_d(const char *what, const double *got, const double *want, size_t n, double rtol, double atol)
{
    return close_impl(what, n, rtol, atol, get_d, got, get_d, want);
}

double tu_rel_l2(const float *got, const float *want, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        if (!isfinite(got[i])) return INFINITY;
        num += d * d;
        den += (double)want[i] * want[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

int tu_rel_l2_ok(const char *what, const float *got, const float *want, size_t n, double tol)
{
    double e = tu_rel_l2(got, want, n);
    n_checks++;
    if (!(e <= tol)) {
        n_failed++;
        printf("  FAIL %-40s n=%zu rel_l2=%.3g > %.3g\n", what, n, e, tol);
        return 0;
    }
    printf("  ok   %-40s n=%zu rel_l2=%.3g (%.2g of tol)\n", what, n, e, tol > 0 ? e / tol : 0.0);
    return 1;
}

int tu_check(int cond, const char *fmt, ...)
{
    n_checks++;
    if (cond) return 1;
    n_failed++;
    va_list ap;
    va_start(ap, fmt);
    printf("  FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    return 0;
}

#define GUARD_FLOATS 64
static const uint32_t guard_bits = 0x7fc0dead; /* a NaN pattern no op writes */

float *tu_alloc_guarded(size_t n)
{
    float *p = malloc((n + GUARD_FLOATS) * sizeof(float));
    if (!p) {
        fprintf(stderr, "%s: out of memory for %zu floats\n", test_name, n);
        exit(2);
    }
    for (size_t i = 0; i < n; i++) p[i] = NAN;
    for (size_t i = 0; i < GUARD_FLOATS; i++) memcpy(&p[n + i], &guard_bits, 4);
    return p;
}

int tu_guard_ok(const char *what, const float *p, size_t n)
{
    for (size_t i = 0; i < GUARD_FLOATS; i++)
        if (memcmp(&p[n + i], &guard_bits, 4) != 0)
            return tu_check(0, "%s: guard zone overwritten at +%zu", what, i);
    n_checks++;
    return 1;
}

void tu_free_guarded(float *p) { free(p); }

int tu_failures(void) { return n_failed; }

int tu_finish(void)
{
    if (n_failed)
        printf("%s: %d checks, %d failed -> FAIL (seed %llu: KRAIT_TEST_SEED=%llu replays it)\n",
               test_name, n_checks, n_failed, (unsigned long long)run_seed,
               (unsigned long long)run_seed);
    else
        printf("%s: %d checks, 0 failed -> PASS\n", test_name, n_checks);
    return n_failed ? 1 : 0;
}
