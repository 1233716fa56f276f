/* tests/cpu/cpu_testutil.h — helpers shared by the CPU backend tests: central finite differences
 * in double, gradient comparison with a tolerance scaled to the tensor, float/double copies, and
 * strided gathers. Built into each cpu test next to its own source; no op math lives here. */
#ifndef KRAIT_CPU_TESTUTIL_H
#define KRAIT_CPU_TESTUTIL_H

#include <stddef.h>

typedef double (*fd_loss_fn)(void *ctx);

/* (f(p + eps) - f(p - eps)) / (2 eps) with *p perturbed in place and restored. */
double fd_at(double *p, double eps, fd_loss_fn f, void *ctx);

/* Compares a float gradient with a double reference: |got - want| <= rtol |want| + atol_rel *
 * max|want| (plus 1e-30). Scaling atol to the tensor keeps near-zero entries (cancellation) from
 * failing a purely relative test while still catching a wrong entry. Returns 1 if ok. */
int grad_close(const char *what, const float *got, const double *want, size_t n,
               double rtol, double atol_rel);

/* The same test for two float tensors (fast backend vs reference), plus its relative L2 error
 * against l2_tol (negative: not checked). Returns 1 if ok. */
int fast_close(const char *what, const float *got, const float *want, size_t n, double rtol,
               double atol_rel, double l2_tol);
/* Bitwise equality of two runs. */
int same_bits(const char *what, const float *a, const float *b, size_t n);

double *dup_d(const float *x, size_t n);              /* malloc'd double copy (exits on OOM) */
float *dup_f(const double *x, size_t n);              /* malloc'd float copy */
void to_d(double *dst, const float *src, size_t n);
void to_f(float *dst, const double *src, size_t n);
double *zeros_d(size_t n);
float *zeros_f(size_t n);
/* dst[r * cols + c] = src[r * ld + c] for r < rows, c < cols. */
void gather_f(float *dst, const float *src, size_t rows, size_t cols, size_t ld);
double dot_d(const double *a, const double *b, size_t n);

#endif /* KRAIT_CPU_TESTUTIL_H */
