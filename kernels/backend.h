/* kernels/backend.h — the one interface between the model (core/) and the ops.
 *
 * A backend is a struct of function pointers: memory (alloc, free, upload, download, copy, zero,
 * sync), dtype conversion, a reduction, and every op of the Mamba LM forward and backward.
 * core/ is written only against this struct, so the plain-C reference backend, the fast CPU
 * backend and the CUDA backend run the same model code. This header does not know about
 * configs, files or the model; it only fixes the math, the layouts and who owns what.
 *
 * Letters (everywhere): B batch, L sequence length, M = B*L rows, D d_model, E d_inner,
 * N d_state, K conv width, R dt_rank, V vocab, NL layers.
 *
 * Layout. Every activation is row-major with its channel dimension contiguous: a (B, L, C)
 * tensor is M = B*L rows of C values, row r = b*L + t. Some inputs are column views into a wider
 * buffer (x and z inside xz, dt/Bm/Cm inside dbc); those take a row stride `ld*` in elements.
 *
 * Element types. Pointers typed `void *` are activations in the backend's activation dtype
 * (be->act_dtype: f32 on the CPU; bf16 or f32 on CUDA). Pointers typed `float *` are always
 * fp32: the residual stream and its gradient, RMSNorm statistics, SSM and conv states, the
 * master copy of every parameter, every parameter gradient and the optimizer moments.
 * GEMM weights are read from a compute copy in the activation dtype (`const void *W`); on f32
 * backends that copy is the master array itself.
 *
 * Ownership. Every pointer passed to an op is device memory of that backend (host memory for
 * the CPU backends), allocated with be->alloc. Ops never allocate: scratch is sized once by
 * be->reserve(). Parameter gradients always accumulate (+=); core zeroes them once per step.
 * Activation outputs are overwritten (=) unless an op says otherwise.
 *
 * Errors. Every function returns a krait_status; the CPU ops cannot fail once reserve() has
 * succeeded. Bad shapes are the caller's broken invariant (core validates user input first).
 */
#ifndef KRAIT_BACKEND_H
#define KRAIT_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum krait_status {
    KRAIT_STATUS_OK = 0,
    KRAIT_STATUS_BAD_INPUT = 1,     /* a file or option a user gave is wrong */
    KRAIT_STATUS_NO_MEMORY = 2,
    KRAIT_STATUS_IO = 3,            /* reading or writing a file failed */
    KRAIT_STATUS_UNSUPPORTED = 4,   /* the backend cannot do this op at these sizes */
    KRAIT_STATUS_DEVICE = 5,        /* a CUDA / cuBLAS call failed */
    KRAIT_STATUS_NUMERIC = 6,       /* a NaN or Inf where there must be none */
    KRAIT_STATUS_INTERRUPTED = 7
} krait_status;

const char *krait_status_string(krait_status s);
/* rel (e.g. "../share/krait/configs") joined to the folder of the running program (Linux:
 * /proc/self/exe), malloc'd; NULL when that folder cannot be known. The installed commands find
 * their presets and the CUDA backend library this way, wherever the tree was installed. */
char *krait_exe_relative(const char *rel);

/* Return the status of call from the enclosing function when it is not OK. */
#define KRAIT_TRY(call)                                                                            \
    do {                                                                                           \
        krait_status krait_try_s_ = (call);                                                        \
        if (krait_try_s_) return krait_try_s_;                                                     \
    } while (0)

typedef enum krait_dtype {
    KRAIT_DTYPE_F32 = 0,
    KRAIT_DTYPE_BF16 = 1,
    KRAIT_DTYPE_F16 = 2,
    KRAIT_DTYPE_I32 = 3
} krait_dtype;

size_t krait_dtype_size(krait_dtype t);
const char *krait_dtype_name(krait_dtype t);

typedef enum krait_op {
    KRAIT_OP_EMBEDDING = 0,
    KRAIT_OP_ADD_RMSNORM,
    KRAIT_OP_LINEAR,
    KRAIT_OP_CONV1D,
    KRAIT_OP_SOFTPLUS,
    KRAIT_OP_SSM_SCAN,
    KRAIT_OP_GATE,
    KRAIT_OP_CROSS_ENTROPY,
    KRAIT_OP_ADAMW,
    KRAIT_OP_COUNT
} krait_op;

/* The largest sizes a model will call the backend with (for reserve) or the sizes of one call
 * (for supports). Unused letters are 0. */
typedef struct krait_dims {
    int B, L, D, E, N, K, R, V;
    int chunk;   /* scan chunk length the caller will use */
    int rows;    /* largest M of any row-wise op (linear, cross-entropy, norms) */
} krait_dims;

/* AdamW hyper-parameters for one update (PyTorch semantics, decoupled weight decay):
 *   g' = grad_scale * g;  m = b1 m + (1-b1) g';  v = b2 v + (1-b2) g'^2
 *   p = p * (1 - lr * weight_decay) - lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps) */
typedef struct krait_adamw_params {
    float lr, beta1, beta2, eps, weight_decay, grad_scale;
    int step;    /* 1-based */
} krait_adamw_params;

typedef struct krait_backend krait_backend;

struct krait_backend {
    const char *name;         /* "cpu-ref", "cpu", "cuda" */
    krait_dtype act_dtype;    /* dtype of every `void *` activation */
    int scan_chunk;           /* the chunk length this backend's scan prefers */
    void *impl;               /* backend-private state (threads, streams, handles, scratch) */

    /* ---- lifetime, capabilities, memory ---------------------------------------------- */
    void (*destroy)(krait_backend *be);
    /* 1 if the op runs at these sizes on this backend, else 0. */
    int (*supports)(const krait_backend *be, krait_op op, const krait_dims *d);
    /* Size the backend's scratch for the largest calls that will follow. Call again to grow. */
    krait_status (*reserve)(krait_backend *be, const krait_dims *max);
    void *(*alloc)(krait_backend *be, size_t bytes);             /* NULL on failure */
    void (*free)(krait_backend *be, void *p);
    krait_status (*upload)(krait_backend *be, void *dst, const void *host_src, size_t bytes);
    krait_status (*download)(krait_backend *be, void *host_dst, const void *src, size_t bytes);
    krait_status (*copy)(krait_backend *be, void *dst, const void *src, size_t bytes);
    krait_status (*zero)(krait_backend *be, void *dst, size_t bytes);
    krait_status (*sync)(krait_backend *be);

    /* ---- conversions and reductions ----------------------------------------------------- */
    /* dst (n, act dtype) = src (n, fp32), round to nearest even. */
    krait_status (*to_act)(krait_backend *be, void *dst, const float *src, size_t n);
    /* dst (n, fp32) = src (n, act dtype). */
    krait_status (*from_act)(krait_backend *be, float *dst, const void *src, size_t n);
    /* *out_host = sum of x[i]^2 accumulated in double, in a fixed order (deterministic). */
    krait_status (*sumsq)(krait_backend *be, double *out_host, const float *x, size_t n);

    /* ---- embedding ----------------------------------------------------------------------- */
    /* out[r,:] = W[ids[r],:].  ids in [0, V) (the caller checks). */
    krait_status (*embedding_fwd)(krait_backend *be,
                                  float *out,            /* (M, D) */
                                  const int32_t *ids,    /* (M) */
                                  const float *W,        /* (V, D) fp32 master */
                                  int M, int D);
    /* dW[ids[r],:] += dout[r,:] in row order (deterministic). */
    krait_status (*embedding_bwd)(krait_backend *be,
                                  float *dW,             /* (V, D) += */
                                  const float *dout,     /* (M, D) */
                                  const int32_t *ids,    /* (M) */
                                  int M, int D);

    /* ---- residual add + RMSNorm (fused) --------------------------------------------------- */
    /* r_out = r_in + x (x may be NULL: r_out = r_in; r_out may alias r_in);
     * rstd = 1 / sqrt(mean_d(r_out^2) + eps);  y = r_out * rstd * w. */
    krait_status (*add_rmsnorm_fwd)(krait_backend *be,
                                    float *r_out,        /* (M, D) */
                                    void *y,             /* (M, D) act */
                                    float *rstd,         /* (M) */
                                    const float *r_in,   /* (M, D) */
                                    const void *x,       /* (M, D) act, or NULL */
                                    const float *w,      /* (D) */
                                    int M, int D, float eps);
    /* On entry dr holds dL/dr_out that reaches r_out along the residual path (zeros for the
     * final norm). On return dr holds dL/dr_out in full (residual path + through the norm),
     * which is also dL/dr_in and dL/dx. dx (act) receives a copy of the returned dr, or is NULL;
     * on f32 backends dx may alias dr. dw += dL/dw. */
    krait_status (*add_rmsnorm_bwd)(krait_backend *be,
                                    float *dr,           /* (M, D) in/out */
                                    void *dx,            /* (M, D) act, or NULL */
                                    float *dw,           /* (D) += */
                                    const void *dy,      /* (M, D) act */
                                    const float *r_out,  /* (M, D) saved by fwd */
                                    const float *rstd,   /* (M) saved by fwd */
                                    const float *w,      /* (D) */
                                    int M, int D);

    /* ---- linear (GEMM) ------------------------------------------------------------------- */
    /* Y = beta * Y + X W^T (+ bias). beta is 0 or 1. Y may not overlap X or W. */
    krait_status (*linear_fwd)(krait_backend *be,
                               void *Y, int ldy,         /* (M, Nout) act */
                               const void *X, int ldx,   /* (M, K) act */
                               const void *W,            /* (Nout, K) act compute copy */
                               const float *bias,        /* (Nout) or NULL */
                               int M, int Nout, int K, float beta);
    /* dX = beta * dX + dY W. */
    krait_status (*linear_bwd_data)(krait_backend *be,
                                    void *dX, int ldx,   /* (M, K) act */
                                    const void *dY, int ldy, /* (M, Nout) act */
                                    const void *W,       /* (Nout, K) act */
                                    int M, int Nout, int K, float beta);
    /* dW += dY^T X;  dbias += sum over rows of dY (if dbias). */
    krait_status (*linear_bwd_weight)(krait_backend *be,
                                      float *dW,         /* (Nout, K) += */
                                      float *dbias,      /* (Nout) += or NULL */
                                      const void *dY, int ldy, /* (M, Nout) act */
                                      const void *X, int ldx,  /* (M, K) act */
                                      int M, int Nout, int K);

    /* ---- causal depthwise conv1d (+ optional fused SiLU) --------------------------------- */
    /* For each sequence b and step t:
     *   pre[b,t,e] = bias[e] + sum_{k<K} w[e,k] * xx[b, t-(K-1)+k, e]
     *   out[b,t,e] = silu ? silu(pre) : pre
     * where xx[b,s,e] = x[b,s,e] for s >= 0 and state_in[b, (K-1)+s, e] for s < 0 (zeros when
     * state_in is NULL). The state is the K-1 previous input rows, oldest first.
     * state_out (B, K-1, E) receives the last K-1 rows of xx (may alias state_in). */
    krait_status (*conv1d_fwd)(krait_backend *be,
                               void *out,                /* (B, L, E) act, contiguous */
                               float *state_out,         /* (B, K-1, E) or NULL */
                               const void *x, int ldx,   /* (B, L, E) act, row stride ldx */
                               const float *w,           /* (E, K) */
                               const float *bias,        /* (E) or NULL */
                               const float *state_in,    /* (B, K-1, E) or NULL */
                               int B, int L, int E, int K, int silu);
    /* dx = dL/dx (written, row stride ldx); dw, dbias +=. Recomputes pre when silu is set.
     * The state is treated as a constant (no gradient flows into state_in). */
    krait_status (*conv1d_bwd)(krait_backend *be,
                               void *dx, int ldx,        /* (B, L, E) act */
                               float *dw,                /* (E, K) += */
                               float *dbias,             /* (E) += or NULL */
                               const void *dout,         /* (B, L, E) act, contiguous */
                               const void *x,            /* (B, L, E) act, row stride ldx */
                               const float *w, const float *bias,
                               const float *state_in,    /* (B, K-1, E) or NULL */
                               int B, int L, int E, int K, int silu);

    /* ---- softplus with bias: delta = softplus(x + bias) ---------------------------------- */
    /* softplus(v) = v > 20 ? v : log1p(exp(v))  (PyTorch threshold 20). */
    krait_status (*softplus_fwd)(krait_backend *be,
                                 void *delta,            /* (M, E) act */
                                 const void *x,          /* (M, E) act */
                                 const float *bias,      /* (E) or NULL */
                                 int M, int E);
    /* dx = ddelta * sigmoid(x + bias) (dx may alias ddelta); dbias += sum over rows of dx. */
    krait_status (*softplus_bwd)(krait_backend *be,
                                 void *dx,               /* (M, E) act */
                                 float *dbias,           /* (E) += or NULL */
                                 const void *ddelta,     /* (M, E) act */
                                 const void *x,          /* (M, E) act */
                                 const float *bias,      /* (E) or NULL */
                                 int M, int E);

    /* ---- selective scan -------------------------------------------------------------------- */
    /* A = -exp(A_log). For each sequence b, channel e, state n, step t (h_{-1} = h0 or 0):
     *   h_t = exp(delta_t * A) * h_{t-1} + delta_t * Bm_t[n] * u_t
     *   y_t = sum_n Cm_t[n] h_t[n] + Dskip[e] * u_t
     * All state math is fp32. Bm and Cm are shared by all E channels (one N-vector per token).
     * h_last (B, E, N) receives the final state (may alias h0).
     * h_chunks (B, ceil(L/chunk), E, N) receives the state *before* each chunk of `chunk`
     * steps (chunk 0 holds h0); backward restarts from it. NULL when no backward follows. */
    krait_status (*ssm_scan_fwd)(krait_backend *be,
                                 void *y,                /* (B, L, E) act */
                                 float *h_last,          /* (B, E, N) or NULL */
                                 float *h_chunks,        /* (B, nchunks, E, N) or NULL */
                                 const void *u,          /* (B, L, E) act */
                                 const void *delta,      /* (B, L, E) act, > 0 */
                                 const float *A_log,     /* (E, N) */
                                 const void *Bm,         /* (B, L, N) act, row stride ldbc */
                                 const void *Cm,         /* (B, L, N) act, row stride ldbc */
                                 int ldbc,
                                 const float *Dskip,     /* (E) or NULL */
                                 const float *h0,        /* (B, E, N) or NULL */
                                 int B, int L, int E, int N, int chunk);
    /* du, ddelta, dBm, dCm written (=); dA_log, dD +=. Never stores (B, L, E, N): recomputes
     * states chunk by chunk from h_chunks. The initial state is treated as a constant. */
    krait_status (*ssm_scan_bwd)(krait_backend *be,
                                 void *du,               /* (B, L, E) act */
                                 void *ddelta,           /* (B, L, E) act */
                                 void *dBm,              /* (B, L, N) act, row stride ldbc */
                                 void *dCm,              /* (B, L, N) act, row stride ldbc */
                                 float *dA_log,          /* (E, N) += */
                                 float *dD,              /* (E) += or NULL */
                                 const void *dy,         /* (B, L, E) act */
                                 const void *u, const void *delta, const float *A_log,
                                 const void *Bm, const void *Cm, int ldbc,
                                 const float *Dskip,
                                 const float *h_chunks,  /* (B, nchunks, E, N) from fwd */
                                 int B, int L, int E, int N, int chunk);

    /* ---- gating: out = y * silu(z) ------------------------------------------------------ */
    krait_status (*gate_fwd)(krait_backend *be,
                             void *out,                  /* (M, E) act */
                             const void *y,              /* (M, E) act */
                             const void *z, int ldz,     /* (M, E) act, row stride ldz */
                             int M, int E);
    krait_status (*gate_bwd)(krait_backend *be,
                             void *dy,                   /* (M, E) act */
                             void *dz, int ldz,          /* (M, E) act, row stride ldz */
                             const void *dout,           /* (M, E) act */
                             const void *y, const void *z, /* z row stride ldz */
                             int M, int E);

    /* ---- fused softmax cross-entropy ----------------------------------------------------- */
    /* Per row r of logits (row stride ld): loss[r] = logsumexp(logits[r,:V]) - logits[r,t_r]
     * with t_r = targets[r]; rows with t_r < 0 give loss 0 and a zero gradient row.
     * dlogits (may alias logits, or NULL) = scale * (softmax(logits[r]) - onehot(t_r)).
     * pred (or NULL) receives argmax_v logits[r,v] (lowest index on ties). */
    krait_status (*cross_entropy)(krait_backend *be,
                                  float *loss,           /* (M) */
                                  void *dlogits,         /* (M, V) act, row stride ld, or NULL */
                                  int32_t *pred,         /* (M) or NULL */
                                  const void *logits,    /* (M, V) act, row stride ld */
                                  const int32_t *targets,/* (M) */
                                  int M, int V, int ld, float scale);

    /* ---- AdamW ---------------------------------------------------------------------------- */
    /* Updates n parameters in place (see krait_adamw_params); p_act (act, or NULL) receives
     * the updated parameters in the activation dtype (the GEMM compute copy). */
    krait_status (*adamw)(krait_backend *be,
                          float *p, float *m, float *v,  /* (n) */
                          void *p_act,                   /* (n) act or NULL */
                          const float *g,                /* (n) */
                          size_t n, const krait_adamw_params *hp);

    /* ---- dropout (training only) ----------------------------------------------------------- */
    /* In place over n elements: x[i] = krait_dropout_keep(seed, i, threshold) ? x[i] * scale : 0,
     * one fp32 multiply (then rounded to the act dtype), with threshold and scale from
     * krait_dropout_threshold / krait_dropout_scale (below). The mask is a function of (seed, i)
     * alone, the same on every backend, so the backward is the same call on the gradient.
     * x is fp32 when f32 != 0, else in the act dtype. */
    krait_status (*dropout)(krait_backend *be,
                            void *x,                     /* (n) fp32 or act, in/out */
                            int f32, size_t n,
                            uint32_t threshold, float scale, uint64_t seed);

    /* ==== optional members: NULL when the backend does not provide them ==================== */
    /* Core checks each pointer before use and falls back to the ops above (or to the host), so a
     * backend that leaves them NULL runs the same model with more launches. */

    /* ---- decode: one token per sequence (L = 1), state updated in place ------------------- */
    /* conv1d_fwd with L = 1, silu = 1 and state_in = state_out = state, in one op:
     *   u[b,e] = silu(bias[e] + sum_{k<K-1} w[e,k] state[b,k,e] + w[e,K-1] x[b,e])
     *   then state[b,k,e] = state[b,k+1,e] for k < K-2 and state[b,K-2,e] = x[b,e] (as fp32). */
    krait_status (*conv1d_step)(krait_backend *be,
                                void *u,                 /* (B, E) act */
                                float *state,            /* (B, K-1, E) in/out */
                                const void *x, int ldx,  /* (B, E) act, row stride ldx */
                                const float *w,          /* (E, K) */
                                const float *bias,       /* (E) or NULL */
                                int B, int E, int K);
    /* dt_proj + softplus_fwd + ssm_scan_fwd (L = 1, h0 = h_last = h) + gate_fwd in one op, with
     * dbc = [dt (R) | Bm (N) | Cm (N)] per row (row stride ldbc >= R + 2N). Rounded to the act
     * dtype at the same points as the unfused ops store their outputs:
     *   dtl   = act(sum_r dt_w[e,r] dbc[b,r])
     *   delta = act(softplus(dtl + dt_bias[e]))          (threshold 20, as softplus_fwd)
     *   h[b,e,n] = exp(delta A[e,n]) h[b,e,n] + delta Bm[b,n] u[b,e],  A = -exp(A_log)
     *   y     = act(sum_n Cm[b,n] h[b,e,n] + Dskip[e] u[b,e])
     *   out[b,e] = act(y silu(z[b,e]))
     * All state math fp32. Sums may run in any fixed order (results agree with the unfused
     * path to rounding, not bit for bit). */
    krait_status (*ssm_step)(krait_backend *be,
                             void *out,                  /* (B, E) act */
                             float *h,                   /* (B, E, N) in/out */
                             const void *u,              /* (B, E) act */
                             const void *dbc, int ldbc,  /* (B, R + 2N) act, row stride ldbc */
                             const void *dt_w,           /* (E, R) act compute copy */
                             const float *dt_bias,       /* (E) */
                             const float *A_log,         /* (E, N) */
                             const float *Dskip,         /* (E) or NULL */
                             const void *z, int ldz,     /* (B, E) act, row stride ldz */
                             int B, int E, int N, int R);

    /* ---- sampling on the device ---------------------------------------------------------- */
    /* One token per row from logits[b, :V] (act, row stride ld >= V), in this order:
     *   1. seen != NULL: a seen id's logit l becomes l / rp if l > 0, else l * rp
     *      (rp = repetition_penalty);
     *   2. temperature == 0: the argmax (lowest id on ties); no draw, the counter is unchanged;
     *   3. otherwise p_v = exp((l_v - max) / temperature); with min_p > 0 ids whose p_v < min_p
     *      are dropped (p_max = 1); u = krait_sample_uniform(rng[2b], rng[2b+1]) and the counter
     *      rng[2b+1] += 1; the token is the lowest id v whose cumulative kept mass (ids in
     *      increasing order) exceeds u x the total kept mass (the last kept id if rounding
     *      leaves none).
     * tokens[b] receives the token; with seen, seen[b * V + token] = 1. A row with a NaN logit
     * (after the penalty) has no distribution: tokens[b] = -1, its seen and counter unchanged.
     * Everything stays on the
     * device (no host synchronisation), so a graph may contain it. No top-k / top-p here: core
     * samples those on the host. */
    krait_status (*sample_rows)(krait_backend *be,
                                int32_t *tokens,         /* (B) */
                                uint8_t *seen,           /* (B, V) in/out, or NULL */
                                uint64_t *rng,           /* (B, 2): seed, counter; in/out */
                                const void *logits, int ld, /* (B, V) act, row stride ld */
                                int B, int V, float temperature, float min_p,
                                float repetition_penalty);

    /* ---- graphs: record a sequence of ops once, replay it many times ------------------------ */
    /* After graph_begin the ops that follow are recorded, not run, until graph_end. Recorded ops
     * must not upload, download, sync, alloc or reserve. graph_end stores an executable graph
     * in *graph (NULL with a non-OK status when recording failed; the backend runs ops
     * normally again in both cases). graph_launch runs the recorded ops with the pointers,
     * sizes and scalars they were recorded with, on the buffers' current contents. */
    krait_status (*graph_begin)(krait_backend *be);
    krait_status (*graph_end)(krait_backend *be, void **graph);
    krait_status (*graph_launch)(krait_backend *be, void *graph);
    void (*graph_free)(krait_backend *be, void *graph);
};

/* sample_rows and dropout draw from krait_mix64 (hash.h), the same on every backend. */

/* The uniform draw of sample_rows: 53 bits of krait_mix64 -> [0, 1). */
static inline KRAIT_HOST_DEVICE double krait_sample_uniform(uint64_t seed, uint64_t counter)
{
    return (double)(krait_mix64(seed, counter) >> 11) * (1.0 / 9007199254740992.0);
}

/* Dropout with probability p (0 <= p < 1): element i is kept when the high 32 bits of
 * krait_mix64(seed, i) are >= threshold = floor(p 2^32), and kept values are multiplied by
 * scale = 1 / (1 - p) (in fp32), so the expectation is unchanged. */
static inline uint32_t krait_dropout_threshold(float p) { return (uint32_t)((double)p * 4294967296.0); }
static inline float krait_dropout_scale(float p) { return (float)(1.0 / (1.0 - (double)p)); }
static inline KRAIT_HOST_DEVICE int krait_dropout_keep(uint64_t seed, uint64_t i, uint32_t threshold)
{
    return (uint32_t)(krait_mix64(seed, i) >> 32) >= threshold;
}

/* Backends that are always built. Each returns NULL (and says why through the log) on failure.
 * nthreads <= 0 means all cores. A backend is used by one thread at a time (its ops share its
 * scratch; threads take a backend each, and krait_model_share a view of one model on it). The CPU backend sets OpenBLAS's thread count (openblas_set_num_threads: with the
 * OpenMP build of OpenBLAS, the calling thread's OpenMP default too) and does not restore it. */
krait_backend *krait_backend_cpu_ref_init(void);
krait_backend *krait_backend_cpu_init(int nthreads);
/* The CPU backend runs an op on one more thread per `grain` float operations of its work, up to
 * nthreads (default 32768: small ops stay on the calling thread). grain <= 0: every op on all
 * nthreads, which the tests use to run the thread splits at small sizes. Other backends: no-op. */
void krait_backend_cpu_set_grain(krait_backend *be, double grain);

/* Built only with KRAIT_CUDA; elsewhere these return NULL / 0 with a one-line reason. */
krait_backend *krait_backend_cuda_init(int device, krait_dtype act_dtype);
int krait_cuda_device_count(void);
int krait_cuda_compiled(void);
int krait_cuda_device_of(krait_backend *be); /* a CUDA backend's device (-1 without CUDA) */

static inline void krait_backend_destroy(krait_backend *be) { if (be) be->destroy(be); }

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_BACKEND_H */
