/* tests/cpu/test_cpu_math.c — accuracy of the fast backend's vectorised math (cpu_simd.h, as
 * compiled into the library) against libm in double, on dense sweeps of each function's range:
 *   vexp       [-86.5, 88]            max relative error <= 1.5e-7  (measured 8.5e-8)
 *   vexp2_np   [-60, 0]               max relative error <= 1.5e-7  (measured 7.9e-8)
 *   vsoftplus  [-80, 80] (incl. the threshold 20)  max relative error <= 5e-7  (measured 2.6e-7)
 *   vsigmoid   [-80, 80]              max relative error <= 3e-7  (measured 1.5e-7)
 * The bounds hold the polynomial error (< 2e-9) plus fp32 rounding of the polynomial and the
 * argument reduction; a wrong coefficient or reduction shows up as 1e-4 or worse. Also checks
 * that odd lengths (tails of a vector) are handled and the clamps give finite results.
 */
#include "cpu_internal.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*array_fn)(float *y, const float *x, size_t n);

static double max_rel_err(array_fn fn, double (*ref)(double), double lo, double hi, size_t n,
                          double *worst_x)
{
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * (double)i / (double)(n - 1));
    fn(y, x, n);
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double want = ref(x[i]), err = fabs(y[i] - want) / fabs(want);
        if (!(err <= worst)) {   /* also catches NaN */
            worst = isnan(err) ? INFINITY : err;
            *worst_x = x[i];
        }
    }
    free(x);
    free(y);
    return worst;
}

static double ref_exp2(double x) { return exp2(x); }

static void check(const char *name, array_fn fn, double (*ref)(double), double lo, double hi,
                  double bound)
{
    double wx = 0.0, e = max_rel_err(fn, ref, lo, hi, 2000003, &wx);
    tu_check(e <= bound, "%s on [%g, %g]: max rel error %.3g at x = %.9g > %.3g", name, lo, hi, e, wx, bound);
    printf("  %-10s [%g, %g]: max rel error %.3g (at %.6g), bound %.3g\n", name, lo, hi, e, wx, bound);
}

int main(void)
{
    tu_init("test_cpu_math");
    check("vexp", vexp_array_cpu, exp, -86.5, 88.0, 1.5e-7);
    check("vexp", vexp_array_cpu, exp, -1.0, 1.0, 1.5e-7);
    check("vexp2_np", vexp2_np_array_cpu, ref_exp2, -60.0, 0.0, 1.5e-7);
    check("vexp2_np", vexp2_np_array_cpu, ref_exp2, -1.0, 0.0, 1.5e-7);
    check("vsoftplus", vsoftplus_array_cpu, ref_softplus, -80.0, 80.0, 5e-7);
    check("vsoftplus", vsoftplus_array_cpu, ref_softplus, 19.0, 21.0, 5e-7);
    check("vsigmoid", vsigmoid_array_cpu, ref_sigmoid, -80.0, 80.0, 3e-7);

    /* clamps and tails: 37 elements (2 full vectors + 5) of extreme inputs stay finite */
    float x[37], y[37];
    for (int i = 0; i < 37; i++) x[i] = (i % 2 ? 1.0f : -1.0f) * 1e30f;
    vexp_array_cpu(y, x, 37);
    int ok = 1;
    for (int i = 0; i < 37; i++) ok &= isfinite(y[i]) && y[i] >= 0.0f;
    vsigmoid_array_cpu(y, x, 37);
    for (int i = 0; i < 37; i++) ok &= y[i] >= 0.0f && y[i] <= 1.0f;
    vsoftplus_array_cpu(y, x, 37);
    for (int i = 0; i < 37; i++) ok &= i % 2 ? y[i] == x[i] : y[i] >= 0.0f && y[i] < 1e-30f;
    vexp2_np_array_cpu(y, x, 37);
    for (int i = 0; i < 37; i += 2) ok &= y[i] == 0x1p-60f;   /* the floor */
    tu_check(ok, "extreme inputs give finite, in-range results");
    return tu_finish();
}
