/* tests/cpu/cpu_testutil.c — see cpu_testutil.h. */
#include "cpu_testutil.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double fd_at(double *p, double eps, fd_loss_fn f, void *ctx)
{
    double keep = *p;
    *p = keep + eps;
    double fp = f(ctx);
    *p = keep - eps;
    double fm = f(ctx);
    *p = keep;
    return (fp - fm) / (2.0 * eps);
}

int grad_close(const char *what, const float *got, const double *want, size_t n,
               double rtol, double atol_rel)
{
    double scale = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
    double *g = dup_d(got, n);
    int ok = tu_close_d(what, g, want, n, rtol, atol_rel * scale + 1e-30);
    free(g);
    return ok;
}

int fast_close(const char *what, const float *got, const float *want, size_t n, double rtol,
               double atol_rel, double l2_tol)
{
    double *w = dup_d(want, n);
    int ok = grad_close(what, got, w, n, rtol, atol_rel);
    free(w);
    if (l2_tol >= 0.0) {
        char name[128];
        snprintf(name, sizeof name, "%s (rel l2)", what);
        ok &= tu_rel_l2_ok(name, got, want, n, l2_tol);
    }
    return ok;
}

int same_bits(const char *what, const float *a, const float *b, size_t n)
{
    return tu_check(memcmp(a, b, n * sizeof *a) == 0, "%s: two runs differ bitwise", what);
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", bytes);
        exit(2);
    }
    return p;
}

double *dup_d(const float *x, size_t n)
{
    double *d = xmalloc(n * sizeof *d);
    to_d(d, x, n);
    return d;
}

float *dup_f(const double *x, size_t n)
{
    float *f = xmalloc(n * sizeof *f);
    to_f(f, x, n);
    return f;
}

void to_d(double *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
}

void to_f(float *dst, const double *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = (float)src[i];
}

double *zeros_d(size_t n)
{
    double *d = xmalloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = 0.0;
    return d;
}

float *zeros_f(size_t n)
{
    float *f = xmalloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = 0.0f;
    return f;
}

void gather_f(float *dst, const float *src, size_t rows, size_t cols, size_t ld)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) dst[r * cols + c] = src[r * ld + c];
}

double dot_d(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
