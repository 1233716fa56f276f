/* kernels/cpu/cpu_internal.h — private declarations shared by the two CPU backends (the plain-C
 * reference "cpu-ref" and the fast "cpu") and by their tests.
 *
 * Every op here has exactly the signature of the matching krait_backend member, so the vtables
 * are plain assignments and the tests can call one backend's op directly. On both CPU backends
 * the activation dtype is fp32, so every `void *` activation is a `float *`.
 * This header is not installed and not part of the public interface; core/ never includes it.
 */
#ifndef KRAIT_CPU_INTERNAL_H
#define KRAIT_CPU_INTERNAL_H

#include "backend.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- scalar math of the reference, in double, rounded once to fp32 by the caller ---------- */
static inline double ref_sigmoid(double v) { return 1.0 / (1.0 + exp(-v)); }
static inline double ref_silu(double v) { return v * ref_sigmoid(v); }
/* d silu(v) / dv = s (1 + v (1 - s)) with s = sigmoid(v). */
static inline double ref_dsilu(double v)
{
    double s = ref_sigmoid(v);
    return s * (1.0 + v * (1.0 - s));
}
/* PyTorch's softplus with threshold 20. */
static inline double ref_softplus(double v) { return v > 20.0 ? v : log1p(exp(v)); }

/* ---- memory and conversions shared by both CPU backends (ref_backend.c) ------------------- */
void *mem_alloc_cpu(krait_backend *be, size_t bytes);      /* 64-byte aligned, NULL on failure */
void mem_free_cpu(krait_backend *be, void *p);
krait_status mem_copy_cpu(krait_backend *be, void *dst, const void *src, size_t bytes);
krait_status mem_zero_cpu(krait_backend *be, void *dst, size_t bytes);
krait_status sync_cpu(krait_backend *be);
krait_status to_act_cpu(krait_backend *be, void *dst, const float *src, size_t n);
krait_status from_act_cpu(krait_backend *be, float *dst, const void *src, size_t n);

/* ---- reference ops (ref_*.c) ------------------------------------------------------------ */
krait_status sumsq_ref(krait_backend *be, double *out_host, const float *x, size_t n);

krait_status embedding_fwd_ref(krait_backend *be, float *out, const int32_t *ids, const float *W,
                               int M, int D);
krait_status embedding_bwd_ref(krait_backend *be, float *dW, const float *dout, const int32_t *ids,
                               int M, int D);
krait_status add_rmsnorm_fwd_ref(krait_backend *be, float *r_out, void *y, float *rstd,
                                 const float *r_in, const void *x, const float *w,
                                 int M, int D, float eps);
krait_status add_rmsnorm_bwd_ref(krait_backend *be, float *dr, void *dx, float *dw, const void *dy,
                                 const float *r_out, const float *rstd, const float *w,
                                 int M, int D);

krait_status linear_fwd_ref(krait_backend *be, void *Y, int ldy, const void *X, int ldx,
                            const void *W, const float *bias, int M, int Nout, int K, float beta);
krait_status linear_bwd_data_ref(krait_backend *be, void *dX, int ldx, const void *dY, int ldy,
                                 const void *W, int M, int Nout, int K, float beta);
krait_status linear_bwd_weight_ref(krait_backend *be, float *dW, float *dbias, const void *dY,
                                   int ldy, const void *X, int ldx, int M, int Nout, int K);

krait_status conv1d_fwd_ref(krait_backend *be, void *out, float *state_out, const void *x, int ldx,
                            const float *w, const float *bias, const float *state_in,
                            int B, int L, int E, int K, int silu);
krait_status conv1d_bwd_ref(krait_backend *be, void *dx, int ldx, float *dw, float *dbias,
                            const void *dout, const void *x, const float *w, const float *bias,
                            const float *state_in, int B, int L, int E, int K, int silu);

krait_status softplus_fwd_ref(krait_backend *be, void *delta, const void *x, const float *bias,
                              int M, int E);
krait_status softplus_bwd_ref(krait_backend *be, void *dx, float *dbias, const void *ddelta,
                              const void *x, const float *bias, int M, int E);
krait_status gate_fwd_ref(krait_backend *be, void *out, const void *y, const void *z, int ldz,
                          int M, int E);
krait_status gate_bwd_ref(krait_backend *be, void *dy, void *dz, int ldz, const void *dout,
                          const void *y, const void *z, int M, int E);
krait_status dropout_ref(krait_backend *be, void *x, int f32, size_t n, uint32_t threshold, float scale,
                         uint64_t seed);

/* ref_decode.c: the optional decode ops (backend.h); sample_rows_ref is for tests only. */
krait_status conv1d_step_ref(krait_backend *be, void *u, float *state, const void *x, int ldx,
                             const float *w, const float *bias, int B, int E, int K);
krait_status ssm_step_ref(krait_backend *be, void *out, float *h, const void *u, const void *dbc,
                          int ldbc, const void *dt_w, const float *dt_bias, const float *A_log,
                          const float *Dskip, const void *z, int ldz, int B, int E, int N, int R);
krait_status sample_rows_ref(krait_backend *be, int32_t *tokens, uint8_t *seen, uint64_t *rng,
                             const void *logits, int ld, int B, int V, float temperature,
                             float min_p, float repetition_penalty);

krait_status ssm_scan_fwd_ref(krait_backend *be, void *y, float *h_last, float *h_chunks,
                              const void *u, const void *delta, const float *A_log,
                              const void *Bm, const void *Cm, int ldbc, const float *Dskip,
                              const float *h0, int B, int L, int E, int N, int chunk);
krait_status ssm_scan_bwd_ref(krait_backend *be, void *du, void *ddelta, void *dBm, void *dCm,
                              float *dA_log, float *dD, const void *dy, const void *u,
                              const void *delta, const float *A_log, const void *Bm,
                              const void *Cm, int ldbc, const float *Dskip,
                              const float *h_chunks, int B, int L, int E, int N, int chunk);

krait_status cross_entropy_ref(krait_backend *be, float *loss, void *dlogits, int32_t *pred,
                               const void *logits, const int32_t *targets, int M, int V, int ld,
                               float scale);
krait_status adamw_ref(krait_backend *be, float *p, float *m, float *v, void *p_act, const float *g,
                       size_t n, const krait_adamw_params *hp);

/* The reference backend's scratch: at least ndoubles doubles, or NULL (logged) when reserve()
 * was not called with large enough sizes. Used by ssm_scan_bwd_ref ((chunk + 2) * N doubles). */
double *ref_scratch(krait_backend *be, size_t ndoubles, const char *op);

/* ---- the fast CPU backend "cpu" (cpu_*.c) -------------------------------------------------- */
/* Backend-private state. The backend runs one op at a time (ops are not re-entrant): every op
 * that needs scratch carves it from the one buffer that reserve() sized. */
typedef struct cpu_impl {
    int nthreads;          /* OpenMP team size of large ops' parallel regions, and OpenBLAS threads */
    double grain;          /* float operations worth each extra thread (cpu_threads_for) */
    float *scratch;        /* 64-byte aligned */
    size_t scratch_floats;
} cpu_impl;

/* Scratch of at least nfloats floats, or NULL (logged) if reserve() did not provide it. */
float *cpu_scratch(krait_backend *be, size_t nfloats, const char *op);
/* Floats of scratch each op needs at the sizes in d (reserve() takes the largest). */
size_t scan_fwd_scratch_cpu(const krait_dims *d, int nthreads);
size_t scan_bwd_scratch_cpu(const krait_dims *d, int nthreads);
size_t conv_scratch_cpu(const krait_dims *d, int nthreads);
size_t norm_scratch_cpu(const krait_dims *d, int nthreads);

/* Even split of [0, n) into nth parts; part tid is [*lo, *hi). */
static inline void cpu_split(int n, int nth, int tid, int *lo, int *hi)
{
    int q = n / nth, r = n % nth;
    *lo = tid * q + (tid < r ? tid : r);
    *hi = *lo + q + (tid < r ? 1 : 0);
}

static inline int cpu_threads(const krait_backend *be) { return ((const cpu_impl *)be->impl)->nthreads; }

/* Threads for an op of about `work` float operations: one more thread per grain (CPU_PAR_GRAIN
 * unless krait_backend_cpu_set_grain said otherwise), up to
 * the backend's count. Small ops (decode steps, small models) stay on the calling thread: a
 * second thread saves microseconds there, while on a busy machine every parallel region waits at
 * its end for a thread the kernel may have set aside for a whole time slice (seen in CI: a 5 s
 * test of tiny models took over 120 s while other tests ran). The count depends on the shapes
 * only, so a run is still the same bits each time. */
#define CPU_PAR_GRAIN 32768.0
static inline int cpu_threads_for(const krait_backend *be, double work)
{
    const cpu_impl *im = be->impl;
    int nth = im->nthreads;
    if (im->grain <= 0) return nth;
    double want = work / im->grain;
    if (want < nth) nth = want < 1.0 ? 1 : (int)want;
    return nth;
}

/* The vectorised math of cpu_simd.h over arrays (for the tests; cpu_math.c). */
void vexp_array_cpu(float *y, const float *x, size_t n);
void vexp2_np_array_cpu(float *y, const float *x, size_t n);
void vsoftplus_array_cpu(float *y, const float *x, size_t n);
void vsigmoid_array_cpu(float *y, const float *x, size_t n);

krait_status sumsq_cpu(krait_backend *be, double *out_host, const float *x, size_t n);
krait_status embedding_fwd_cpu(krait_backend *be, float *out, const int32_t *ids, const float *W,
                               int M, int D);
krait_status embedding_bwd_cpu(krait_backend *be, float *dW, const float *dout, const int32_t *ids,
                               int M, int D);
krait_status add_rmsnorm_fwd_cpu(krait_backend *be, float *r_out, void *y, float *rstd,
                                 const float *r_in, const void *x, const float *w,
                                 int M, int D, float eps);
krait_status add_rmsnorm_bwd_cpu(krait_backend *be, float *dr, void *dx, float *dw, const void *dy,
                                 const float *r_out, const float *rstd, const float *w,
                                 int M, int D);
/* Decode-step kernels (cpu_decode.c). The forward dense layer for M <= LINEAR_SMALL_M_CPU rows
 * (W streamed once, each output's arithmetic independent of M and of the thread count;
 * linear_fwd_cpu calls it) and the scan for L = 1 with N == 16 (ssm_scan_fwd_cpu calls it);
 * same arguments as the ops they stand in for. */
#define LINEAR_SMALL_M_CPU 32
krait_status linear_fwd_small_cpu(krait_backend *be, void *Y, int ldy, const void *X, int ldx,
                                  const void *W, const float *bias, int M, int Nout, int K, float beta);
krait_status ssm_scan_step_cpu(krait_backend *be, void *y, float *h_last, float *h_chunks, const void *u,
                               const void *delta, const float *A_log, const void *Bm, const void *Cm,
                               int ldbc, const float *Dskip, const float *h0, int B, int E, int N);
krait_status linear_fwd_cpu(krait_backend *be, void *Y, int ldy, const void *X, int ldx,
                            const void *W, const float *bias, int M, int Nout, int K, float beta);
krait_status linear_bwd_data_cpu(krait_backend *be, void *dX, int ldx, const void *dY, int ldy,
                                 const void *W, int M, int Nout, int K, float beta);
krait_status linear_bwd_weight_cpu(krait_backend *be, float *dW, float *dbias, const void *dY,
                                   int ldy, const void *X, int ldx, int M, int Nout, int K);
krait_status conv1d_fwd_cpu(krait_backend *be, void *out, float *state_out, const void *x, int ldx,
                            const float *w, const float *bias, const float *state_in,
                            int B, int L, int E, int K, int silu);
krait_status conv1d_bwd_cpu(krait_backend *be, void *dx, int ldx, float *dw, float *dbias,
                            const void *dout, const void *x, const float *w, const float *bias,
                            const float *state_in, int B, int L, int E, int K, int silu);
krait_status softplus_fwd_cpu(krait_backend *be, void *delta, const void *x, const float *bias,
                              int M, int E);
krait_status softplus_bwd_cpu(krait_backend *be, void *dx, float *dbias, const void *ddelta,
                              const void *x, const float *bias, int M, int E);
krait_status gate_fwd_cpu(krait_backend *be, void *out, const void *y, const void *z, int ldz,
                          int M, int E);
krait_status gate_bwd_cpu(krait_backend *be, void *dy, void *dz, int ldz, const void *dout,
                          const void *y, const void *z, int M, int E);
krait_status dropout_cpu(krait_backend *be, void *x, int f32, size_t n, uint32_t threshold, float scale,
                         uint64_t seed);
krait_status ssm_scan_fwd_cpu(krait_backend *be, void *y, float *h_last, float *h_chunks,
                              const void *u, const void *delta, const float *A_log,
                              const void *Bm, const void *Cm, int ldbc, const float *Dskip,
                              const float *h0, int B, int L, int E, int N, int chunk);
krait_status ssm_scan_bwd_cpu(krait_backend *be, void *du, void *ddelta, void *dBm, void *dCm,
                              float *dA_log, float *dD, const void *dy, const void *u,
                              const void *delta, const float *A_log, const void *Bm,
                              const void *Cm, int ldbc, const float *Dskip,
                              const float *h_chunks, int B, int L, int E, int N, int chunk);
krait_status cross_entropy_cpu(krait_backend *be, float *loss, void *dlogits, int32_t *pred,
                               const void *logits, const int32_t *targets, int M, int V, int ld,
                               float scale);
krait_status adamw_cpu(krait_backend *be, float *p, float *m, float *v, void *p_act, const float *g,
                       size_t n, const krait_adamw_params *hp);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_CPU_INTERNAL_H */
