/* kernels/cuda/cuda_common.cuh — what every CUDA op file shares: the backend's private state
 * (stream, cuBLASLt handle and workspace, scratch), the checked-call macros that log the call,
 * file and line and return KRAIT_STATUS_DEVICE, device-side load/store helpers for the two
 * activation dtypes, deterministic warp/block reductions, and the declarations of every op.
 *
 * Device code reads activations through ldf() and writes them through stf(), so each kernel is
 * written once as a template over T = float or __nv_bfloat16; the launchers dispatch on
 * be->act_dtype. Nothing here allocates or keeps global state. Not a public header.
 */
#ifndef KRAIT_CUDA_COMMON_CUH
#define KRAIT_CUDA_COMMON_CUH

#include "cuda_device.cuh"
#ifndef KRAIT_CUDA_EMU
#include <cublasLt.h>
#include <cuda_runtime.h>
#endif

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "log.h"

KRAIT_CUDA_NS_BEGIN

/* ---- private state --------------------------------------------------------------------- */
#define CUDA_GEMM_CACHE 64

struct cuda_gemm_key {
    int ta, tb, m, n, k, lda, ldb, ldc;
    int ab_type, c_type;      /* cudaDataType */
    int align_a, align_b, align_c, beta_one;
};

struct cuda_gemm_entry {
    int used;
    cuda_gemm_key key;
    cublasLtMatmulAlgo_t algo;
};

struct cuda_impl {
    int device;
    int sm_count;
    int smem_optin;            /* largest dynamic shared memory a block may opt into */
    int debug_sync;            /* KRAIT_CUDA_SYNC=1: synchronize after every launch */
    int gemm_fallback_warned;  /* the slow GEMM fallback was announced once */
    int profile;               /* KRAIT_CUDA_PROFILE=1: ops that have stages log their times */
    int gemv_off;              /* KRAIT_CUDA_GEMV=0: one-row products on cuBLASLt too */
    int scan_cut_warned;       /* a cut scan fell back for lack of scratch: said once */
    int capturing;             /* between graph_begin and graph_end: no synchronisation */
    cudaStream_t stream;
    cublasLtHandle_t lt;
    void *workspace;           /* cuBLASLt workspace */
    size_t workspace_bytes;
    void *scratch;             /* sized by reserve() */
    size_t scratch_bytes;
    double *small;             /* fixed small device buffer (sumsq partials and result) */
    int gemm_next;
    cuda_gemm_entry gemm[CUDA_GEMM_CACHE];
};

static inline cuda_impl *cuda_im(krait_backend *be) { return (cuda_impl *)be->impl; }
static inline cudaStream_t cuda_stream(krait_backend *be) { return cuda_im(be)->stream; }
static inline int cuda_bf16(const krait_backend *be) { return be->act_dtype == KRAIT_DTYPE_BF16; }

/* ---- checked calls ------------------------------------------------------------------------ */
krait_status cuda_fail(cudaError_t e, const char *call, const char *file, int line);
krait_status cublas_fail(cublasStatus_t s, const char *call, const char *file, int line);
/* After a launch: the launch error, and with KRAIT_CUDA_SYNC=1 the kernel's own error. */
krait_status cuda_after_launch(krait_backend *be, const char *kernel, const char *file, int line);

#define CUDA_CHECK(call)                                                                      \
    do {                                                                                      \
        cudaError_t e_ = (call);                                                              \
        if (e_ != cudaSuccess) return cuda_fail(e_, #call, __FILE__, __LINE__);               \
    } while (0)

#define CUBLAS_CHECK(call)                                                                    \
    do {                                                                                      \
        cublasStatus_t s_ = (call);                                                           \
        if (s_ != CUBLAS_STATUS_SUCCESS) return cublas_fail(s_, #call, __FILE__, __LINE__);   \
    } while (0)

#define LAUNCH_CHECK(be, kernel)                                                              \
    do {                                                                                      \
        krait_status st_ = cuda_after_launch((be), (kernel), __FILE__, __LINE__);             \
        if (st_ != KRAIT_STATUS_OK) return st_;                                               \
    } while (0)

#define RETURN_IF(st)                                                                         \
    do {                                                                                      \
        krait_status r_ = (st);                                                               \
        if (r_ != KRAIT_STATUS_OK) return r_;                                                 \
    } while (0)

/* Stage timing for KRAIT_CUDA_PROFILE=1 (one INFO line per call, e.g. the scan backward's kernels).
 * Synchronizes the stream at the end, so it is for diagnosis, never on by default. */
#define CUDA_PROF_MAX 8
struct cuda_prof {
    int on, n;
    cudaEvent_t ev[CUDA_PROF_MAX];
    const char *stage[CUDA_PROF_MAX];
};
void cuda_prof_begin(krait_backend *be, cuda_prof *p);
void cuda_prof_mark(krait_backend *be, cuda_prof *p, const char *stage);
void cuda_prof_end(krait_backend *be, cuda_prof *p, const char *op);

/* Scratch of at least `bytes` (sized by reserve), or NULL with one logged line naming the op. */
void *cuda_scratch(krait_backend *be, size_t bytes, const char *op);

static inline size_t cuda_align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }
static inline int cuda_cdiv(long long a, long long b) { return (int)((a + b - 1) / b); }

/* The scan, conv and decode kernels put the batch in grid y or z, which CUDA caps at 65535:
 * more sequences at once is refused with one line (the caller splits the batch), not launched. */
#define CUDA_BATCH_MAX 65535
static inline krait_status cuda_batch_fits(int B, const char *op)
{
    if (B <= CUDA_BATCH_MAX) return KRAIT_STATUS_OK;
    KRAIT_ERROR("cuda: %s: a batch of %d sequences is more than the %d the kernels take at once (split the batch)",
                op, B, CUDA_BATCH_MAX);
    return KRAIT_STATUS_UNSUPPORTED;
}

/* ---- ops (one file per family; all with the krait_backend member signature) --------------- */
/* cuda_backend.cu */
krait_status to_act_cuda(krait_backend *be, void *dst, const float *src, size_t n);
krait_status from_act_cuda(krait_backend *be, float *dst, const void *src, size_t n);
/* cuda_reduce.cu: deterministic column sums shared by several backward ops */
krait_status sumsq_cuda(krait_backend *be, double *out_host, const float *x, size_t n);
/* Rows handled per partial in colsum_* (fixed, so results do not depend on the device). */
#define CUDA_COLSUM_SEGS 256
/* out[c] += sum_r x[r*ld + c]  over M rows, C columns (x in act dtype). */
krait_status colsum_act_cuda(krait_backend *be, float *out, const void *x, int ld, int M, int C,
                             const char *op);
/* out[c] += sum_s part[s*C + c]  for s < S, in order of s (fp32 partials). */
krait_status colsum_partials_cuda(krait_backend *be, float *out, const float *part, int S, int C);
size_t colsum_scratch_bytes(int M, int C);

krait_status embedding_fwd_cuda(krait_backend *be, float *out, const int32_t *ids, const float *W,
                                int M, int D);
krait_status embedding_bwd_cuda(krait_backend *be, float *dW, const float *dout,
                                const int32_t *ids, int M, int D);
size_t embedding_scratch_bytes(int M);

krait_status add_rmsnorm_fwd_cuda(krait_backend *be, float *r_out, void *y, float *rstd,
                                  const float *r_in, const void *x, const float *w, int M, int D,
                                  float eps);
krait_status add_rmsnorm_bwd_cuda(krait_backend *be, float *dr, void *dx, float *dw,
                                  const void *dy, const float *r_out, const float *rstd,
                                  const float *w, int M, int D);
size_t rmsnorm_scratch_bytes(int M, int D);

krait_status linear_fwd_cuda(krait_backend *be, void *Y, int ldy, const void *X, int ldx,
                             const void *W, const float *bias, int M, int Nout, int K, float beta);
krait_status linear_bwd_data_cuda(krait_backend *be, void *dX, int ldx, const void *dY, int ldy,
                                  const void *W, int M, int Nout, int K, float beta);
krait_status linear_bwd_weight_cuda(krait_backend *be, float *dW, float *dbias, const void *dY,
                                    int ldy, const void *X, int ldx, int M, int Nout, int K);

krait_status conv1d_fwd_cuda(krait_backend *be, void *out, float *state_out, const void *x,
                             int ldx, const float *w, const float *bias, const float *state_in,
                             int B, int L, int E, int K, int silu);
krait_status conv1d_bwd_cuda(krait_backend *be, void *dx, int ldx, float *dw, float *dbias,
                             const void *dout, const void *x, const float *w, const float *bias,
                             const float *state_in, int B, int L, int E, int K, int silu);
size_t conv1d_scratch_bytes(int B, int L, int E, int K);
#define CUDA_CONV_KMAX 8

krait_status softplus_fwd_cuda(krait_backend *be, void *delta, const void *x, const float *bias,
                               int M, int E);
krait_status softplus_bwd_cuda(krait_backend *be, void *dx, float *dbias, const void *ddelta,
                               const void *x, const float *bias, int M, int E);
krait_status gate_fwd_cuda(krait_backend *be, void *out, const void *y, const void *z, int ldz,
                           int M, int E);
krait_status gate_bwd_cuda(krait_backend *be, void *dy, void *dz, int ldz, const void *dout,
                           const void *y, const void *z, int M, int E);
krait_status dropout_cuda(krait_backend *be, void *x, int f32, size_t n, uint32_t threshold, float scale,
                          uint64_t seed);

krait_status cross_entropy_cuda(krait_backend *be, float *loss, void *dlogits, int32_t *pred,
                                const void *logits, const int32_t *targets, int M, int V, int ld,
                                float scale);
krait_status adamw_cuda(krait_backend *be, float *p, float *m, float *v, void *p_act,
                        const float *g, size_t n, const krait_adamw_params *hp);

/* cuda_decode.cu: the optional decode ops */
krait_status conv1d_step_cuda(krait_backend *be, void *u, float *state, const void *x, int ldx,
                              const float *w, const float *bias, int B, int E, int K);
krait_status ssm_step_cuda(krait_backend *be, void *out, float *h, const void *u, const void *dbc,
                           int ldbc, const void *dt_w, const float *dt_bias, const float *A_log,
                           const float *Dskip, const void *z, int ldz, int B, int E, int N, int R);
krait_status sample_rows_cuda(krait_backend *be, int32_t *tokens, uint8_t *seen, uint64_t *rng,
                              const void *logits, int ld, int B, int V, float temperature,
                              float min_p, float repetition_penalty);

/* cuda_scan_fwd.cu / cuda_scan_bwd.cu */
#define CUDA_SCAN_NMAX 64      /* largest d_state the scan kernels handle */
#define CUDA_SCAN_CHUNK 64     /* preferred chunk (h_chunks spacing); longer chunks are refined */
krait_status ssm_scan_fwd_cuda(krait_backend *be, void *y, float *h_last, float *h_chunks,
                               const void *u, const void *delta, const float *A_log,
                               const void *Bm, const void *Cm, int ldbc, const float *Dskip,
                               const float *h0, int B, int L, int E, int N, int chunk);
krait_status ssm_scan_bwd_cuda(krait_backend *be, void *du, void *ddelta, void *dBm, void *dCm,
                               float *dA_log, float *dD, const void *dy, const void *u,
                               const void *delta, const float *A_log, const void *Bm,
                               const void *Cm, int ldbc, const float *Dskip,
                               const float *h_chunks, int B, int L, int E, int N, int chunk);
size_t scan_scratch_bytes(int B, int L, int E, int N, int chunk);
size_t scan_split_scratch_bytes(int B, int L, int E, int N); /* the forward cut in time */
/* 1 if this device's shared memory fits the scan kernels for d_state N (N <= 64). */
int scan_fits(krait_backend *be, int N);
/* The forward with an initial state whose batch stride is h0_bstride floats (the backward
 * uses it to refine long chunks: h0 = slot 0 of h_chunks). y may be NULL. */
krait_status ssm_scan_fwd_launch(krait_backend *be, void *y, float *h_last, float *h_chunks,
                                 const void *u, const void *delta, const float *A_log,
                                 const void *Bm, const void *Cm, int ldbc, const float *Dskip,
                                 const float *h0, size_t h0_bstride, int B, int L, int E, int N,
                                 int chunk);

KRAIT_CUDA_NS_END

#endif /* KRAIT_CUDA_COMMON_CUH */
