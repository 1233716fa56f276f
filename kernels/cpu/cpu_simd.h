/* kernels/cpu/cpu_simd.h — the fast CPU backend's vector type and vectorised math.
 *
 * `vf` is 16 floats as a GCC/Clang vector extension: with AVX-512 it is one zmm register, with
 * AVX2 two ymm, with SSE four xmm, and plain scalar code elsewhere, so there is one code path and
 * no per-ISA copies. The only ISA-specific lines are min/max, rounding and scaling by 2^k, which
 * use one AVX-512 instruction each when it is there and compare-and-blend or exponent-bit
 * arithmetic otherwise, and the x86 control register that flushes denormals.
 *
 * Math (all branch-free, for use inside vector loops):
 *   vexp      e^x by Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, degree-6 minimax for e^r,
 *             2^n by vscalefps (or by adding n to the exponent bits). x is clamped to [-86.5, 88]
 *             (e^-86.5 ~ 2.6e-38, never 0 or denormal). Max relative error 8.5e-8 measured
 *             over the range (test_cpu_math checks <= 1.5e-7 against libm in double).
 *   vexp2_np  2^x for x <= 0 (the scan's exp(delta A) with A pre-scaled by log2 e), clamped
 *             below at -60 (see there). Max relative error 7.9e-8 measured.
 *   vlog1p01  log(1 + y) for y in [0, 1] as 2 atanh(y / (2 + y)) (odd series to s^15).
 *   vsoftplus max(v, 0) + log1p(e^-|v|): for v > 20 this rounds to v, PyTorch's threshold.
 *             Max relative error 2.6e-7 measured on [-80, 80].
 *   vsigmoid  1 / (1 + e^-x); max relative error 1.5e-7 measured on [-80, 80]; 0 below -88
 *             (e^x there is under FLT_MIN), so x sigmoid(x) is -0 as in double.
 * Lane sums: vhsum (one vector -> a float) and vhsum16_* (sixteen vectors -> one vector of their
 * sums, a transposing tree of 30 shuffles and 15 adds, bitwise equal to vhsum of each).
 * Denormals: vfp_flush_denormals() sets flush-to-zero and denormals-are-zero for the calling
 * thread (x86; elsewhere a no-op) until vfp_restore(); a loop whose values decay geometrically
 * (the scan's adjoint where dy is zero) otherwise pays a microcode assist per denormal operand.
 * Not here: anything that needs libm inside a vector loop; the scalar fallbacks are these same
 * functions on a vector of 16.
 */
#ifndef KRAIT_CPU_SIMD_H
#define KRAIT_CPU_SIMD_H

#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#elif defined(__SSE__)
#include <xmmintrin.h>
#endif

#define VL 16   /* floats per vf */

typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
typedef uint32_t vu __attribute__((vector_size(64))); /* bit arithmetic that wraps (no signed overflow) */

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

/* Sum of the lanes as a fixed pairwise tree (deterministic, short dependency chain). */
static inline float vhsum(vf v)
{
    float t[VL];
    vstore(t, v);
    for (int w = VL / 2; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) t[j] += t[j + w];
    return t[0];
}

/* Two-source lane shuffle with constant indices (0..15 from x, 16..31 from y). */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define VSHUF2(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#else
#define VSHUF2(x, y, ...) __builtin_shuffle(x, y, (vi){ __VA_ARGS__ })
#endif

/* One level of the transposing lane-sum tree. Each input holds, in groups of 2w lanes, partial
 * sums of 2w lanes of some original vectors; the output holds them in groups of w lanes, lane i
 * of a group added to lane i + w (the order of vhsum), x's groups and y's interleaved. */
static inline vf vpair8(vf x, vf y)
{
    return VSHUF2(x, y, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
           VSHUF2(x, y, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
}
static inline vf vpair4(vf x, vf y)
{
    return VSHUF2(x, y, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27) +
           VSHUF2(x, y, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
}
static inline vf vpair2(vf x, vf y)
{
    return VSHUF2(x, y, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29) +
           VSHUF2(x, y, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
}
static inline vf vpair1(vf x, vf y)
{
    return VSHUF2(x, y, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30) +
           VSHUF2(x, y, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
}

/* Lane sums of sixteen vectors p0..p15 into lanes 0..15 of one vector, lane j = vhsum(p_j)
 * bitwise. In two steps so that a loop can fold its products four at a time as it makes them
 * (few live registers): vhsum16_4 on p_{4m..4m+3} for m = 0..3, then vhsum16_end on the four
 * results. The tree leaves p_j in lane bitrev4(j); the last shuffle puts it in lane j. */
static inline vf vhsum16_4(vf p0, vf p1, vf p2, vf p3) { return vpair4(vpair8(p0, p1), vpair8(p2, p3)); }

static inline vf vhsum16_end(vf r0, vf r1, vf r2, vf r3)
{
    vf x = vpair1(vpair2(r0, r1), vpair2(r2, r3));
    return VSHUF2(x, x, 0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15);
}

/* Flush-to-zero and denormals-are-zero for this thread; returns the state vfp_restore() puts
 * back. Every parallel region that sets it restores it before it ends (the OpenMP threads are
 * shared with OpenBLAS). */
static inline unsigned vfp_flush_denormals(void)
{
#if defined(__SSE__)
    unsigned old = _mm_getcsr();
    _mm_setcsr(old | 0x8040u);   /* FTZ (bit 15) | DAZ (bit 6) */
    return old;
#else
    return 0;
#endif
}

static inline void vfp_restore(unsigned old)
{
#if defined(__SSE__)
    _mm_setcsr(old);
#else
    (void)old;
#endif
}

/* vmax / vmin return b where a and b do not compare (a NaN in either), as maxps/minps do: put the
 * value that may be NaN second so that a NaN goes through (a clamp like vmax(vset1(c), x)). */
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

/* 2^r for |r| <= 1/2: degree-6 minimax polynomial (relative error of the polynomial 1.9e-9;
 * coefficients by a Remez fit in 40-digit arithmetic). */
static inline vf vexp2_poly(vf r)
{
    vf p = vset1(1.5345812158740182e-04f);
    p = p * r + 1.3399931209474140e-03f;
    p = p * r + 9.6184889565227916e-03f;
    p = p * r + 5.5503287769976638e-02f;
    p = p * r + 2.4022646890639572e-01f;
    p = p * r + 6.9314720573725268e-01f;
    p = p * r + 1.0f;
    return p;
}

/* n * 2^k for integer-valued k (|k| < 2^22), and round-to-nearest of x: one instruction each on
 * AVX-512 (vscalefps, vrndscaleps), bit arithmetic elsewhere. */
static inline vf vround(vf x)
{
#if defined(__AVX512F__)
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else
    return (x + KRAIT_ROUND_MAGIC) - KRAIT_ROUND_MAGIC;
#endif
}

static inline vf vscale2(vf p, vf k)
{
#if defined(__AVX512F__)
    return _mm512_scalef_ps(p, k);
#else
    vu ki = (vu)(k + KRAIT_ROUND_MAGIC) - (vu)vset1(KRAIT_ROUND_MAGIC); /* k as an integer, mod 2^32 */
    return (vf)((vu)p + (ki << 23));
#endif
}

/* 2^x for x <= 0, with x clamped below at -60: the scan's decay exp(delta A) with A pre-scaled
 * by log2 e. The floor (2^-60 ~ 8.7e-19 instead of something smaller) keeps every product with
 * the decay clear of denormals, which cost a microcode assist each; next to fp32 states it is
 * invisible. */
static inline vf vexp2_np(vf x)
{
    x = vmax(vset1(-60.0f), x); /* x second: a NaN stays NaN */
    vf k = vround(x);
    return vscale2(vexp2_poly(x - k), k);
}

/* e^x, x clamped to [-86.5, 88]; NaN gives NaN. */
static inline vf vexp(vf x)
{
    x = vmin(vset1(88.0f), vmax(vset1(-86.5f), x));
    vf k = vround(x * 1.44269504088896341f);
    vf r = x - k * 0.693145751953125f;           /* ln 2 high part (exact in k * hi) */
    r = r - k * 1.428606765330187e-06f;          /* ln 2 low part */
    vf p = vset1(1.3836846134577056e-03f);       /* e^r, |r| <= ln2/2: degree-6 minimax, */
    p = p * r + 8.3748157983017933e-03f;         /* polynomial error 1.9e-9 (Remez fit) */
    p = p * r + 4.1668225566922838e-02f;
    p = p * r + 1.6666420169946367e-01f;
    p = p * r + 4.9999992079828019e-01f;
    p = p * r + 1.0000000363231765f;
    p = p * r + 1.0f;
    return vscale2(p, k);
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
static inline vf vsoftplus(vf v) { return vmax(vset1(0.0f), v) + vlog1p01(vexp(-vabs(v))); }

/* Below -88 the clamped e^-x would leave ~6e-39 where the true value is below FLT_MIN, and
 * silu(x) = x sigmoid(x) would then be x / e^88 (-2 at -3.4e38) instead of -0: the reference's
 * value. A NaN stays NaN (the comparison is false). */
static inline vf vsigmoid(vf x) { return vselect(x < -88.0f, vset1(0.0f), 1.0f / (1.0f + vexp(-x))); }

#endif /* KRAIT_CPU_SIMD_H */
