/* kernels/cpu/cpu_simd.h — the fast CPU backend's vector type and vectorised math.
 *
 * `vf` is 16 floats as a GCC/Clang vector extension: with AVX-512 it is one zmm register, with
 * AVX2 two ymm, with SSE four xmm, and plain scalar code elsewhere, so there is one code path and
 * no per-ISA copies. The only ISA-specific lines are min/max, which use the AVX-512 instruction
 * when it is there and a compare-and-blend otherwise.
 *
 * Math (all branch-free, for use inside vector loops):
 *   vexp      e^x by Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, degree-7 Taylor for e^r,
 *             2^n by adding n to the exponent bits. x is clamped to [-86.5, 88]
 *             (e^-86.5 ~ 2.6e-38, never 0 or denormal). Max relative error 7.7e-8 measured
 *             over the range (test_cpu_math checks <= 1.5e-7 against libm in double).
 *   vexp2_np  2^x for x <= 0 (the scan's exp(delta A) with A pre-scaled by log2 e), clamped
 *             below at -125. Same polynomial; max relative error 7.1e-8 measured.
 *   vlog1p01  log(1 + y) for y in [0, 1] as 2 atanh(y / (2 + y)) (odd series to s^15).
 *   vsoftplus max(v, 0) + log1p(e^-|v|): for v > 20 this rounds to v, PyTorch's threshold.
 *             Max relative error 2.6e-7 measured on [-80, 80].
 *   vsigmoid  1 / (1 + e^-x); max relative error 1.4e-7 measured on [-80, 80] (below -86.5
 *             the clamp makes it ~6e-39 instead of e^x: right in absolute terms only).
 * Not here: anything that needs libm inside a vector loop; the scalar fallbacks are these same
 * functions on a vector of 16.
 */
#ifndef KRAIT_CPU_SIMD_H
#define KRAIT_CPU_SIMD_H

#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#define VL 16   /* floats per vf */

typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));

static inline vf vset1(float s)
{
    vf v = { 0 };
    return v + s;
}

static inline vf vload(const float *p)
{
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }

/* The first w (<= VL) lanes from p, the rest zero. */
static inline vf vload_n(const float *p, int w)
{
    if (w == VL) return vload(p);
    vf v = { 0 };
    memcpy(&v, p, (size_t)w * sizeof(float));
    return v;
}

static inline void vstore_n(float *p, vf v, int w)
{
    if (w == VL) {
        vstore(p, v);
        return;
    }
    memcpy(p, &v, (size_t)w * sizeof(float));
}

/* Sum of the lanes, always in lane order (deterministic). */
static inline float vhsum(vf v)
{
    float s = 0.0f;
    for (int i = 0; i < VL; i++) s += v[i];
    return s;
}

static inline vf vmax(vf a, vf b)
{
#if defined(__AVX512F__)
    return _mm512_max_ps(a, b);
#else
    vi m = a > b;
    return (vf)((m & (vi)a) | (~m & (vi)b));
#endif
}

static inline vf vmin(vf a, vf b)
{
#if defined(__AVX512F__)
    return _mm512_min_ps(a, b);
#else
    vi m = a < b;
    return (vf)((m & (vi)a) | (~m & (vi)b));
#endif
}

/* Lane-wise m ? a : b for a comparison mask m. */
static inline vf vselect(vi m, vf a, vf b) { return (vf)((m & (vi)a) | (~m & (vi)b)); }

#define KRAIT_ROUND_MAGIC 12582912.0f   /* 1.5 * 2^23: x + magic rounds x to an integer */

/* 2^r for |r| <= 1/2: Taylor series of e^(r ln 2) to degree 7 (truncation < 5.2e-9). */
static inline vf vexp2_poly(vf r)
{
    vf p = vset1(1.5252733804059840e-05f);
    p = p * r + 1.5403530393381606e-04f;
    p = p * r + 1.3333558146428443e-03f;
    p = p * r + 9.6181291076284772e-03f;
    p = p * r + 5.5504108664821580e-02f;
    p = p * r + 2.4022650695910071e-01f;
    p = p * r + 6.9314718055994531e-01f;
    p = p * r + 1.0f;
    return p;
}

/* 2^x for x <= 0 (x below -125 gives 2^-125). */
static inline vf vexp2_np(vf x)
{
    x = vmax(x, vset1(-125.0f));
    vf t = x + KRAIT_ROUND_MAGIC;
    vi n = (vi)t - (vi)vset1(KRAIT_ROUND_MAGIC);
    vf r = x - (t - KRAIT_ROUND_MAGIC);
    return (vf)((vi)vexp2_poly(r) + (n << 23));
}

/* e^x, x clamped to [-86.5, 88]. */
static inline vf vexp(vf x)
{
    x = vmin(vmax(x, vset1(-86.5f)), vset1(88.0f));
    vf t = x * 1.44269504088896341f + KRAIT_ROUND_MAGIC;
    vf nf = t - KRAIT_ROUND_MAGIC;
    vi n = (vi)t - (vi)vset1(KRAIT_ROUND_MAGIC);
    vf r = x - nf * 0.693145751953125f;          /* ln 2 high part (exact in nf * hi) */
    r = r - nf * 1.428606765330187e-06f;         /* ln 2 low part */
    vf p = vset1(1.9841269841269841e-04f);       /* 1/7! ... 1/0!: |r| <= 0.347, trunc < 5.2e-9 */
    p = p * r + 1.3888888888888889e-03f;
    p = p * r + 8.3333333333333333e-03f;
    p = p * r + 4.1666666666666667e-02f;
    p = p * r + 1.6666666666666667e-01f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    return (vf)((vi)p + (n << 23));
}

/* log(1 + y) for y in [0, 1]: s = y / (2 + y) <= 1/3, log1p(y) = 2 (s + s^3/3 + ... + s^15/15). */
static inline vf vlog1p01(vf y)
{
    vf s = y / (y + 2.0f);
    vf z = s * s;
    vf p = vset1(1.0f / 15.0f);
    p = p * z + 1.0f / 13.0f;
    p = p * z + 1.0f / 11.0f;
    p = p * z + 1.0f / 9.0f;
    p = p * z + 1.0f / 7.0f;
    p = p * z + 1.0f / 5.0f;
    p = p * z + 1.0f / 3.0f;
    p = p * z + 1.0f;
    return (s + s) * p;
}

static inline vf vabs(vf x) { return (vf)((vi)x & 0x7fffffff); }

/* softplus(v) = max(v, 0) + log1p(e^-|v|); for v > 20 the second term is < 2.1e-9, below half
 * an ulp of v, so the result rounds to v exactly as PyTorch's threshold gives. */
static inline vf vsoftplus(vf v) { return vmax(v, vset1(0.0f)) + vlog1p01(vexp(-vabs(v))); }

static inline vf vsigmoid(vf x) { return 1.0f / (1.0f + vexp(-x)); }

#endif /* KRAIT_CPU_SIMD_H */
