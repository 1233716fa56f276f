/* kernels/cuda/cuda_gemm.cu — the three linear ops through cuBLASLt.
 *
 * krait's matrices are row-major with leading dimensions; cuBLASLt is column-major. A row-major
 * (rows, cols, ld) matrix is the column-major (cols, rows, ld) matrix, so every product is written
 * transposed:
 *   linear_fwd         Y  = X W^T       ->  Y^T  (Nout x M) = op_T(W)  (Nout x K) * X^T  (K x M)
 *   linear_bwd_data    dX = dY W        ->  dX^T (K x M)    = W^T      (K x Nout) * dY^T (Nout x M)
 *   linear_bwd_weight  dW += dY^T X     ->  dW^T (K x Nout) = X^T      (K x M)    * op_T(dY^T)
 * bf16 mode: bf16 A/B, fp32 accumulate (CUBLAS_COMPUTE_32F), bf16 C for fwd/bwd_data and fp32 C
 * (beta = 1) for the weight gradient. f32 mode: everything fp32 with CUBLAS_COMPUTE_32F, which
 * never uses TF32, so GEMMs are true fp32. The bias (fp32) is added by a small kernel after the
 * product; dbias uses the deterministic column sum of cuda_reduce.cu.
 * Heuristic results are cached per shape/alignment in the backend (no global state). Layouts
 * cuBLASLt declines (odd leading dimensions or misaligned views) run on a plain fp32-accumulate
 * kernel instead, with one warning per backend: slow, but never a wrong or missing result.
 */
#include "cuda_common.cuh"

#include <string.h>

KRAIT_CUDA_NS_BEGIN

#ifndef KRAIT_CUDA_EMU
static int ptr_align(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    int al = 256;
    while (al > 1 && (a % (uintptr_t)al) != 0) al >>= 1;
    return al;
}
#endif

/* C (m x n, ldc) = op(A) op(B) + beta C, column-major, one thread per element, fp32 sums. */
template <typename TA, typename TC>
__global__ void gemm_fallback_kernel(int ta, int tb, int m, int n, int k, const TA *A, int lda,
                                     const TA *B, int ldb, TC *C, int ldc, float beta)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x, j = blockIdx.y * blockDim.y + threadIdx.y;
    if (i >= m || j >= n) return;
    float acc = 0.0f;
    for (int p = 0; p < k; p++) {
        const float a = ldf(ta ? A + (size_t)i * lda + p : A + (size_t)p * lda + i);
        const float b = ldf(tb ? B + (size_t)p * ldb + j : B + (size_t)j * ldb + p);
        acc = fmaf(a, b, acc);
    }
    TC *c = C + (size_t)j * ldc + i;
    stf(c, beta != 0.0f ? acc + beta * ldf(c) : acc);
}

template <typename TA, typename TC>
static krait_status gemm_fallback_t(krait_backend *be, int ta, int tb, int m, int n, int k,
                                    const void *A, int lda, const void *B, int ldb, void *C,
                                    int ldc, float beta)
{
    dim3 block(32, 8), grid(cuda_cdiv(m, 32), cuda_cdiv(n, 8));
    if (grid.y > 65535) {
        KRAIT_ERROR("cuda: fallback GEMM: n=%d too large", n);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    KRAIT_LAUNCH((gemm_fallback_kernel<TA, TC>), grid, block, 0, cuda_stream(be), ta, tb, m, n, k,
                 (const TA *)A, lda, (const TA *)B, ldb, (TC *)C, ldc, beta);
    LAUNCH_CHECK(be, "gemm_fallback_kernel");
    return KRAIT_STATUS_OK;
}

static krait_status gemm_fallback(krait_backend *be, cublasOperation_t ta, cublasOperation_t tb,
                                  int m, int n, int k, const void *A, int lda, const void *B,
                                  int ldb, cudaDataType ab_type, void *C, int ldc,
                                  cudaDataType c_type, float beta)
{
    cuda_impl *im = cuda_im(be);
    if (!im->gemm_fallback_warned) {
        KRAIT_WARN("cuda: cuBLASLt declined a GEMM (m=%d n=%d k=%d lda=%d ldb=%d ldc=%d); using "
                   "the slow fallback kernel for such layouts", m, n, k, lda, ldb, ldc);
        im->gemm_fallback_warned = 1;
    }
    const int a = ta == CUBLAS_OP_T, b = tb == CUBLAS_OP_T;
    if (ab_type == CUDA_R_16BF && c_type == CUDA_R_16BF)
        return gemm_fallback_t<bf16, bf16>(be, a, b, m, n, k, A, lda, B, ldb, C, ldc, beta);
    if (ab_type == CUDA_R_16BF)
        return gemm_fallback_t<bf16, float>(be, a, b, m, n, k, A, lda, B, ldb, C, ldc, beta);
    return gemm_fallback_t<float, float>(be, a, b, m, n, k, A, lda, B, ldb, C, ldc, beta);
}

#ifdef KRAIT_CUDA_EMU
/* Under the emulator (tests/gpu/cuda_emu.h) every product runs on the fallback kernel, which
 * takes exactly the arguments cuBLASLt gets: this checks the row-major -> column-major mapping. */
static krait_status gemm_lt(krait_backend *be, cublasOperation_t ta, cublasOperation_t tb,
                            int m, int n, int k, const void *A, int lda, const void *B, int ldb,
                            cudaDataType ab_type, void *C, int ldc, cudaDataType c_type,
                            float beta)
{
    cuda_im(be)->gemm_fallback_warned = 1;
    return gemm_fallback(be, ta, tb, m, n, k, A, lda, B, ldb, ab_type, C, ldc, c_type, beta);
}
#else
#define LT_TRY(call)                                                                          \
    do {                                                                                      \
        cublasStatus_t s_ = (call);                                                           \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                    \
            st = cublas_fail(s_, #call, __FILE__, __LINE__);                                  \
            goto done;                                                                        \
        }                                                                                     \
    } while (0)

/* C (m x n, ldc, column-major) = op(A) op(B) + beta C. */
static krait_status gemm_lt(krait_backend *be, cublasOperation_t ta, cublasOperation_t tb,
                            int m, int n, int k, const void *A, int lda, const void *B, int ldb,
                            cudaDataType ab_type, void *C, int ldc, cudaDataType c_type,
                            float beta)
{
    cuda_impl *im = cuda_im(be);
    krait_status st = KRAIT_STATUS_OK;
    float alpha = 1.0f;
    cublasLtMatmulDesc_t op = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
    cublasLtMatmulPreference_t pref = NULL;
    cuda_gemm_key key;
    cublasLtMatmulAlgo_t algo;
    int found = -1, use_fallback = 0;

    memset(&key, 0, sizeof key);
    key.ta = (int)ta;
    key.tb = (int)tb;
    key.m = m;
    key.n = n;
    key.k = k;
    key.lda = lda;
    key.ldb = ldb;
    key.ldc = ldc;
    key.ab_type = (int)ab_type;
    key.c_type = (int)c_type;
    key.align_a = ptr_align(A);
    key.align_b = ptr_align(B);
    key.align_c = ptr_align(C);
    key.beta_one = beta != 0.0f;

    LT_TRY(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    LT_TRY(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    LT_TRY(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    LT_TRY(cublasLtMatrixLayoutCreate(&la, ab_type, ta == CUBLAS_OP_N ? m : k,
                                      ta == CUBLAS_OP_N ? k : m, lda));
    LT_TRY(cublasLtMatrixLayoutCreate(&lb, ab_type, tb == CUBLAS_OP_N ? k : n,
                                      tb == CUBLAS_OP_N ? n : k, ldb));
    LT_TRY(cublasLtMatrixLayoutCreate(&lc, c_type, m, n, ldc));

    for (int i = 0; i < CUDA_GEMM_CACHE; i++)
        if (im->gemm[i].used && memcmp(&im->gemm[i].key, &key, sizeof key) == 0) {
            found = i;
            break;
        }
    if (found >= 0) {
        algo = im->gemm[found].algo;
    } else {
        cublasLtMatmulHeuristicResult_t res;
        int nres = 0;
        uint64_t ws = im->workspace_bytes;
        uint32_t aa = (uint32_t)key.align_a, ab = (uint32_t)key.align_b,
                 ac = (uint32_t)key.align_c;
        LT_TRY(cublasLtMatmulPreferenceCreate(&pref));
        LT_TRY(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                    &ws, sizeof ws));
        LT_TRY(cublasLtMatmulPreferenceSetAttribute(pref,
                                                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                                                    &aa, sizeof aa));
        LT_TRY(cublasLtMatmulPreferenceSetAttribute(pref,
                                                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                                    &ab, sizeof ab));
        LT_TRY(cublasLtMatmulPreferenceSetAttribute(pref,
                                                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                                                    &ac, sizeof ac));
        LT_TRY(cublasLtMatmulPreferenceSetAttribute(pref,
                                                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                                                    &ac, sizeof ac));
        cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(im->lt, op, la, lb, lc, lc, pref, 1,
                                                           &res, &nres);
        if (hs != CUBLAS_STATUS_SUCCESS && hs != CUBLAS_STATUS_NOT_SUPPORTED) {
            st = cublas_fail(hs, "cublasLtMatmulAlgoGetHeuristic", __FILE__, __LINE__);
            goto done;
        }
        if (hs == CUBLAS_STATUS_NOT_SUPPORTED || nres < 1) {
            use_fallback = 1;
            goto done;
        }
        algo = res.algo;
        cuda_gemm_entry *slot = &im->gemm[im->gemm_next];
        im->gemm_next = (im->gemm_next + 1) % CUDA_GEMM_CACHE;
        slot->used = 1;
        slot->key = key;
        slot->algo = algo;
    }
    {
        cublasStatus_t s_ = cublasLtMatmul(im->lt, op, &alpha, A, la, B, lb, &beta, C, lc, C, lc,
                                           &algo, im->workspace, im->workspace_bytes, im->stream);
        if (s_ == CUBLAS_STATUS_NOT_SUPPORTED) {
            use_fallback = 1;
            goto done;
        }
        if (s_ != CUBLAS_STATUS_SUCCESS) {
            st = cublas_fail(s_, "cublasLtMatmul", __FILE__, __LINE__);
            goto done;
        }
    }
    if (im->debug_sync && !im->capturing) {
        cudaError_t e = cudaStreamSynchronize(im->stream);
        if (e != cudaSuccess)
            st = cuda_fail(e, "cublasLtMatmul (synchronized)", __FILE__, __LINE__);
    }
done: /* the descriptors' destroys are not checked: they free host objects and cannot leave the
       * GEMM's result wrong; the status already says how the GEMM went */
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (op) cublasLtMatmulDescDestroy(op);
    if (use_fallback && st == KRAIT_STATUS_OK)
        return gemm_fallback(be, ta, tb, m, n, k, A, lda, B, ldb, ab_type, C, ldc, c_type, beta);
    return st;
}
#endif /* KRAIT_CUDA_EMU */

/* Y = beta * Y + bias  (beta 0 never reads Y). Y (M, Nout) act with row stride ldy. */
template <typename T>
__global__ void scale_bias_kernel(T *Y, int ldy, const float *bias, int M, int Nout, float beta)
{
    for (int r = blockIdx.y; r < M; r += gridDim.y)
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < Nout; c += gridDim.x * blockDim.x) {
            T *p = Y + (size_t)r * ldy + c;
            float v = beta != 0.0f ? beta * ldf(p) : 0.0f;
            if (bias) v += bias[c];
            stf(p, v);
        }
}

static krait_status scale_bias(krait_backend *be, void *Y, int ldy, const float *bias, int M,
                               int Nout, float beta)
{
    dim3 grid(cuda_cdiv(Nout, 256) < 64 ? cuda_cdiv(Nout, 256) : 64, M < 4096 ? M : 4096);
    if (cuda_bf16(be))
        KRAIT_LAUNCH((scale_bias_kernel), grid, 256, 0, cuda_stream(be), (bf16 *)Y, ldy, bias, M,
                     Nout, beta);
    else
        KRAIT_LAUNCH((scale_bias_kernel), grid, 256, 0, cuda_stream(be), (float *)Y, ldy, bias, M,
                     Nout, beta);
    LAUNCH_CHECK(be, "scale_bias_kernel");
    return KRAIT_STATUS_OK;
}

/* ---- one-row products (batch-1 decode) -------------------------------------------------------
 * y = beta y + W x + bias for one row x. A batch-1 decode step is all such products; they read
 * each weight once, so their time is the weights' bytes over the memory bandwidth. cuBLASLt ran
 * them as split-K GEMMs (two kernels each): on the H200, x_proj, dt_proj and out_proj of 1.4b took
 * 15.4 / 11.1 / 15.9 us where this kernel takes 5.0 / 5.2 / 7.6, and a batch-1 decode step went
 * from 2.01 to 1.74 ms (bench_ops_gpu and run.sh --ab, same run). Each output column gets tpr
 * threads (32, 64 or 128, by K; a block of GEMV_THREADS serves 128 / tpr columns), which walk
 * the weight row in 16-byte loads, sum in fp32 and add their partial sums in a fixed order
 * (lanes, then warps), so the result does not depend on timing. Only one row: at 4 rows (the
 * 1.4b in_proj) it measured 17.4 us against cuBLASLt's 11.9, so batches go to cuBLASLt. */
#define GEMV_THREADS 128

template <typename T> struct alignas(16) gemv_vec {
    T v[16 / sizeof(T)];
};

template <typename T>
__global__ void __launch_bounds__(GEMV_THREADS)
gemv_kernel(T *y, const T *x, const T *W, const float *bias, int Nout, int K, float beta,
            int tpr_log2)
{
    constexpr int VEC = 16 / sizeof(T);
    __shared__ float red[GEMV_THREADS / 32];
    const int tpr = 1 << tpr_log2, t = threadIdx.x & (tpr - 1);
    const int c = blockIdx.x * (GEMV_THREADS >> tpr_log2) + (threadIdx.x >> tpr_log2);
    float acc = 0.0f;
    if (c < Nout) {
        const T *w = W + (size_t)c * K;
#pragma unroll 4
        for (int k = t * VEC; k < K; k += tpr * VEC) {
            const gemv_vec<T> wv = *(const gemv_vec<T> *)(w + k);
            const gemv_vec<T> xv = *(const gemv_vec<T> *)(x + k);
#pragma unroll
            for (int j = 0; j < VEC; j++) acc = fmaf(tof(wv.v[j]), tof(xv.v[j]), acc);
        }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    acc = warp_sum(acc);
    if (lane == 0) red[warp] = acc;
    __syncthreads();
    if (t != 0 || c >= Nout) return;
    float s = red[warp];                      /* the column's warps, from `warp` on */
    for (int i = 1; i < (tpr >> 5); i++) s += red[warp + i];
    if (bias) s += bias[c];
    if (beta != 0.0f) s += beta * ldf(y + c);
    stf(y + c, s);
}

template <typename T>
static krait_status gemv_t(krait_backend *be, void *y, const void *x, const void *W,
                           const float *bias, int Nout, int K, float beta)
{
    const int nv = K / (int)(16 / sizeof(T));  /* 16-byte steps per row */
    const int tpr_log2 = nv <= 64 ? 5 : nv <= 256 ? 6 : 7;
    KRAIT_LAUNCH((gemv_kernel<T>), cuda_cdiv(Nout, GEMV_THREADS >> tpr_log2), GEMV_THREADS, 0,
                 cuda_stream(be), (T *)y, (const T *)x, (const T *)W, bias, Nout, K, beta,
                 tpr_log2);
    LAUNCH_CHECK(be, "gemv_kernel");
    return KRAIT_STATUS_OK;
}

/* 1 when Y = X W^T runs on gemv_kernel: one row, x and W 16-byte aligned and K a whole number
 * of 16-byte steps (other layouts go to cuBLASLt). */
static int gemv_fits(krait_backend *be, const void *X, const void *W, int M, int K)
{
    const int vec = cuda_bf16(be) ? 8 : 4;
    return !cuda_im(be)->gemv_off && M == 1 && K % vec == 0 && (uintptr_t)X % 16 == 0 &&
           (uintptr_t)W % 16 == 0;
}

static cudaDataType act_type(const krait_backend *be)
{
    return cuda_bf16(be) ? CUDA_R_16BF : CUDA_R_32F;
}

krait_status linear_fwd_cuda(krait_backend *be, void *Y, int ldy, const void *X, int ldx,
                             const void *W, const float *bias, int M, int Nout, int K, float beta)
{
    if (M <= 0 || Nout <= 0) return KRAIT_STATUS_OK;
    if (K <= 0) return scale_bias(be, Y, ldy, bias, M, Nout, beta);
    if (gemv_fits(be, X, W, M, K))
        return cuda_bf16(be) ? gemv_t<bf16>(be, Y, X, W, bias, Nout, K, beta)
                             : gemv_t<float>(be, Y, X, W, bias, Nout, K, beta);
    RETURN_IF(gemm_lt(be, CUBLAS_OP_T, CUBLAS_OP_N, Nout, M, K, W, K, X, ldx, act_type(be), Y, ldy,
                      act_type(be), beta));
    if (bias) return scale_bias(be, Y, ldy, bias, M, Nout, 1.0f);
    return KRAIT_STATUS_OK;
}

krait_status linear_bwd_data_cuda(krait_backend *be, void *dX, int ldx, const void *dY, int ldy,
                                  const void *W, int M, int Nout, int K, float beta)
{
    if (M <= 0 || K <= 0) return KRAIT_STATUS_OK;
    if (Nout <= 0) return scale_bias(be, dX, ldx, NULL, M, K, beta);
    return gemm_lt(be, CUBLAS_OP_N, CUBLAS_OP_N, K, M, Nout, W, K, dY, ldy, act_type(be), dX, ldx,
                   act_type(be), beta);
}

krait_status linear_bwd_weight_cuda(krait_backend *be, float *dW, float *dbias, const void *dY,
                                    int ldy, const void *X, int ldx, int M, int Nout, int K)
{
    if (M <= 0 || Nout <= 0) return KRAIT_STATUS_OK;
    if (K > 0)
        RETURN_IF(gemm_lt(be, CUBLAS_OP_N, CUBLAS_OP_T, K, Nout, M, X, ldx, dY, ldy, act_type(be),
                          dW, K, CUDA_R_32F, 1.0f));
    if (dbias) return colsum_act_cuda(be, dbias, dY, ldy, M, Nout, "linear_bwd_weight (dbias)");
    return KRAIT_STATUS_OK;
}

KRAIT_CUDA_NS_END
