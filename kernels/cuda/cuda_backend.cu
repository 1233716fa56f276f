/* kernels/cuda/cuda_backend.cu — the CUDA backend object: device selection, the stream, the
 * cuBLASLt handle and workspace, scratch (reserve), memory (alloc/free/upload/download/copy/zero),
 * capabilities (supports), the vtable, and the error reporting every op uses.
 *
 * All work of one backend goes to its own non-blocking stream, in call order; upload and download
 * wait for it. Nothing lives in globals: two backends on two devices do not share anything but the
 * CUDA runtime's per-thread current device, which init sets (callers that drive several devices
 * from one thread must call cudaSetDevice themselves). The ops live in the other cuda_*.cu files.
 */
#include "cuda_common.cuh"
#include "cuda_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CUDA_WORKSPACE_BYTES ((size_t)32 << 20)   /* cuBLASLt workspace (Hopper guidance) */
#define CUDA_SMALL_DOUBLES 4096

/* ---- error reporting ---------------------------------------------------------------------- */
krait_status cuda_fail(cudaError_t e, const char *call, const char *file, int line)
{
    KRAIT_ERROR("CUDA error '%s' (%s) in %s at %s:%d", cudaGetErrorString(e), cudaGetErrorName(e),
                call, file, line);
    return KRAIT_STATUS_DEVICE;
}

krait_status cublas_fail(cublasStatus_t s, const char *call, const char *file, int line)
{
    KRAIT_ERROR("cuBLAS error '%s' (%d) in %s at %s:%d", cublasGetStatusString(s), (int)s, call,
                file, line);
    return KRAIT_STATUS_DEVICE;
}

krait_status cuda_after_launch(krait_backend *be, const char *kernel, const char *file, int line)
{
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return cuda_fail(e, kernel, file, line);
    if (cuda_im(be)->debug_sync && !cuda_im(be)->capturing) {
        e = cudaStreamSynchronize(cuda_stream(be));
        if (e != cudaSuccess) return cuda_fail(e, kernel, file, line);
    }
    return KRAIT_STATUS_OK;
}

void *cuda_scratch(krait_backend *be, size_t bytes, const char *op)
{
    cuda_impl *im = cuda_im(be);
    if (bytes == 0) bytes = 1;
    if (!im->scratch || im->scratch_bytes < bytes) {
        KRAIT_ERROR("cuda: %s needs %zu bytes of scratch but reserve() provided %zu; call "
                    "be->reserve() with the largest sizes first", op, bytes, im->scratch_bytes);
        return NULL;
    }
    return im->scratch;
}

void cuda_prof_begin(krait_backend *be, cuda_prof *p)
{
    p->on = cuda_im(be)->profile;
    p->n = 0;
    if (p->on) cuda_prof_mark(be, p, "start");
}

void cuda_prof_mark(krait_backend *be, cuda_prof *p, const char *stage)
{
    if (!p->on || p->n >= CUDA_PROF_MAX) return;
    if (cudaEventCreate(&p->ev[p->n]) != cudaSuccess) {
        cudaGetLastError();
        p->on = 0;
        return;
    }
    cudaEventRecord(p->ev[p->n], cuda_stream(be)); /* profiling (KRAIT_CUDA_PROFILE) is best effort:
                                                     * its calls are not checked, the error state is
                                                     * cleared in cuda_prof_end */
    p->stage[p->n++] = stage;
}

void cuda_prof_end(krait_backend *be, cuda_prof *p, const char *op)
{
    if (!p->on) return;
    char line[512];
    int len = snprintf(line, sizeof line, "cuda profile %s:", op);
    cudaEventSynchronize(p->ev[p->n - 1]);
    for (int i = 1; i < p->n && len < (int)sizeof line; i++) {
        float ms = 0.0f;
        cudaEventElapsedTime(&ms, p->ev[i - 1], p->ev[i]);
        len += snprintf(line + len, sizeof line - len, " %s %.4f ms", p->stage[i], ms);
    }
    for (int i = 0; i < p->n; i++) cudaEventDestroy(p->ev[i]);
    cudaGetLastError();
    KRAIT_INFO("%s", line);
}

/* ---- memory ------------------------------------------------------------------------------- */
static void *alloc_cuda(krait_backend *be, size_t bytes)
{
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        cudaGetLastError();
        KRAIT_ERROR("cuda: cudaMalloc of %zu bytes failed: %s", bytes, cudaGetErrorString(e));
        return NULL;
    }
    return p;
}

static void free_cuda(krait_backend *be, void *p)
{
    if (!p) return;
    cudaError_t e = cudaFree(p);
    if (e != cudaSuccess) cuda_fail(e, "cudaFree(p)", __FILE__, __LINE__);
}

static krait_status upload_cuda(krait_backend *be, void *dst, const void *src, size_t bytes)
{
    if (!bytes) return KRAIT_STATUS_OK;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, cuda_stream(be)));
    CUDA_CHECK(cudaStreamSynchronize(cuda_stream(be)));
    return KRAIT_STATUS_OK;
}

static krait_status download_cuda(krait_backend *be, void *dst, const void *src, size_t bytes)
{
    if (!bytes) return KRAIT_STATUS_OK;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, cuda_stream(be)));
    CUDA_CHECK(cudaStreamSynchronize(cuda_stream(be)));
    return KRAIT_STATUS_OK;
}

static krait_status copy_cuda(krait_backend *be, void *dst, const void *src, size_t bytes)
{
    if (!bytes || dst == src) return KRAIT_STATUS_OK;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cuda_stream(be)));
    return KRAIT_STATUS_OK;
}

static krait_status zero_cuda(krait_backend *be, void *dst, size_t bytes)
{
    if (!bytes) return KRAIT_STATUS_OK;
    CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, cuda_stream(be)));
    return KRAIT_STATUS_OK;
}

static krait_status sync_cuda(krait_backend *be)
{
    CUDA_CHECK(cudaStreamSynchronize(cuda_stream(be)));
    return KRAIT_STATUS_OK;
}

/* ---- graphs ----------------------------------------------------------------------------------- */
/* Stream capture in thread-local mode: only this thread's calls are checked, so another thread
 * driving another backend is not disturbed. A failed capture leaves the stream usable. */
static krait_status graph_begin_cuda(krait_backend *be)
{
    cuda_impl *im = cuda_im(be);
    CUDA_CHECK(cudaStreamBeginCapture(im->stream, cudaStreamCaptureModeThreadLocal));
    im->capturing = 1;
    return KRAIT_STATUS_OK;
}

static krait_status graph_end_cuda(krait_backend *be, void **graph)
{
    cuda_impl *im = cuda_im(be);
    cudaGraph_t g = NULL;
    cudaGraphExec_t x = NULL;
    *graph = NULL;
    im->capturing = 0;
    cudaError_t e = cudaStreamEndCapture(im->stream, &g);
    if (e != cudaSuccess || !g) {
        cudaGetLastError();
        if (g) cudaGraphDestroy(g);
        return cuda_fail(e != cudaSuccess ? e : cudaErrorUnknown, "cudaStreamEndCapture", __FILE__,
                         __LINE__);
    }
    e = cudaGraphInstantiate(&x, g, 0);
    cudaGraphDestroy(g);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return cuda_fail(e, "cudaGraphInstantiate", __FILE__, __LINE__);
    }
    *graph = (void *)x;
    return KRAIT_STATUS_OK;
}

static krait_status graph_launch_cuda(krait_backend *be, void *graph)
{
    CUDA_CHECK(cudaGraphLaunch((cudaGraphExec_t)graph, cuda_stream(be)));
    if (cuda_im(be)->debug_sync) CUDA_CHECK(cudaStreamSynchronize(cuda_stream(be)));
    return KRAIT_STATUS_OK;
}

static void graph_free_cuda(krait_backend *be, void *graph)
{
    (void)be;
    if (graph && cudaGraphExecDestroy((cudaGraphExec_t)graph) != cudaSuccess) cudaGetLastError();
}

/* ---- capabilities and scratch -------------------------------------------------------------- */
static int supports_cuda(const krait_backend *be, krait_op op, const krait_dims *d)
{
    switch (op) {
    case KRAIT_OP_SSM_SCAN: return scan_fits((krait_backend *)be, d->N);
    case KRAIT_OP_CONV1D: return d->K >= 1 && d->K <= CUDA_CONV_KMAX;
    case KRAIT_OP_EMBEDDING:
    case KRAIT_OP_ADD_RMSNORM:
    case KRAIT_OP_LINEAR:
    case KRAIT_OP_SOFTPLUS:
    case KRAIT_OP_GATE:
    case KRAIT_OP_CROSS_ENTROPY:
    case KRAIT_OP_ADAMW: return 1;
    case KRAIT_OP_COUNT: break;
    }
    return 0;
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

static krait_status reserve_cuda(krait_backend *be, const krait_dims *d)
{
    cuda_impl *im = cuda_im(be);
    int M = d->rows > d->B * d->L ? d->rows : d->B * d->L;
    int cols = 2 * d->E;
    if (d->V > cols) cols = d->V;
    if (d->D > cols) cols = d->D;
    if (d->R + 2 * d->N > cols) cols = d->R + 2 * d->N;
    size_t need = 0;
    need = max_sz(need, embedding_scratch_bytes(M));
    need = max_sz(need, rmsnorm_scratch_bytes(M, d->D));
    need = max_sz(need, colsum_scratch_bytes(M, cols));
    if (d->B > 0 && d->L > 0 && d->E > 0) {
        if (d->K > 0) need = max_sz(need, conv1d_scratch_bytes(d->B, d->L, d->E, d->K));
        if (d->N > 0 && d->N <= CUDA_SCAN_NMAX)
            need = max_sz(need, scan_scratch_bytes(d->B, d->L, d->E, d->N,
                                                   d->chunk > 0 ? d->chunk : be->scan_chunk));
    }
    if (need <= im->scratch_bytes) return KRAIT_STATUS_OK;
    if (im->scratch) {
        CUDA_CHECK(cudaStreamSynchronize(im->stream));
        CUDA_CHECK(cudaFree(im->scratch));
        im->scratch = NULL;
        im->scratch_bytes = 0;
    }
    cudaError_t e = cudaMalloc(&im->scratch, need);
    if (e != cudaSuccess) {
        cudaGetLastError();
        im->scratch = NULL;
        KRAIT_ERROR("cuda: reserve could not allocate %zu bytes of scratch: %s", need,
                    cudaGetErrorString(e));
        return KRAIT_STATUS_NO_MEMORY;
    }
    im->scratch_bytes = need;
    return KRAIT_STATUS_OK;
}

/* ---- lifetime ---------------------------------------------------------------------------- */
static void destroy_cuda(krait_backend *be)
{
    if (!be) return;
    cuda_impl *im = cuda_im(be);
    if (im) { /* teardown: nothing to report to (the backend is going), so the calls are not checked */
        if (im->stream) cudaStreamSynchronize(im->stream);
        if (im->scratch) cudaFree(im->scratch);
        if (im->small) cudaFree(im->small);
        if (im->workspace) cudaFree(im->workspace);
        if (im->lt) cublasLtDestroy(im->lt);
        if (im->stream) cudaStreamDestroy(im->stream);
        cudaGetLastError();
        free(im);
    }
    free(be);
}

extern "C" int krait_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();   /* no driver or no device: clear the sticky error, stay quiet */
        return 0;
    }
    return n;
}

extern "C" int krait_cuda_compiled(void) { return 1; }

extern "C" krait_backend *krait_backend_cuda_init(int device, krait_dtype act_dtype)
{
    if (act_dtype != KRAIT_DTYPE_BF16 && act_dtype != KRAIT_DTYPE_F32) {
        KRAIT_ERROR("cuda: activation dtype %s is not supported (use bf16 or f32)",
                    krait_dtype_name(act_dtype));
        return NULL;
    }
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        cudaGetLastError();
        KRAIT_ERROR("cuda: no CUDA device available (%s)",
                    e != cudaSuccess ? cudaGetErrorString(e) : "the driver reports 0 devices");
        return NULL;
    }
    if (device < 0 || device >= n) {
        KRAIT_ERROR("cuda: device %d does not exist (this machine has %d)", device, n);
        return NULL;
    }
    krait_backend *be = (krait_backend *)calloc(1, sizeof *be);
    cuda_impl *im = (cuda_impl *)calloc(1, sizeof *im);
    if (!be || !im) {
        free(be);
        free(im);
        KRAIT_ERROR("cuda: out of host memory creating the backend");
        return NULL;
    }
    be->impl = im;
    im->device = device;
    const char *env = getenv("KRAIT_CUDA_SYNC");
    im->debug_sync = env && *env && strcmp(env, "0") != 0;
    env = getenv("KRAIT_CUDA_PROFILE");
    im->profile = env && *env && strcmp(env, "0") != 0;
    env = getenv("KRAIT_CUDA_GEMV");
    im->gemv_off = env && strcmp(env, "0") == 0;

#define INIT_CHECK(call)                                                                      \
    do {                                                                                      \
        cudaError_t ie_ = (call);                                                             \
        if (ie_ != cudaSuccess) {                                                             \
            cuda_fail(ie_, #call, __FILE__, __LINE__);                                        \
            goto fail;                                                                        \
        }                                                                                     \
    } while (0)

    INIT_CHECK(cudaSetDevice(device));
    INIT_CHECK(cudaDeviceGetAttribute(&im->sm_count, cudaDevAttrMultiProcessorCount, device));
    INIT_CHECK(cudaDeviceGetAttribute(&im->smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin,
                                      device));
    INIT_CHECK(cudaStreamCreateWithFlags(&im->stream, cudaStreamNonBlocking));
    {
        cublasStatus_t s = cublasLtCreate(&im->lt);
        if (s != CUBLAS_STATUS_SUCCESS) {
            cublas_fail(s, "cublasLtCreate(&im->lt)", __FILE__, __LINE__);
            im->lt = NULL;
            goto fail;
        }
    }
    im->workspace_bytes = CUDA_WORKSPACE_BYTES;
    INIT_CHECK(cudaMalloc(&im->workspace, im->workspace_bytes));
    INIT_CHECK(cudaMalloc((void **)&im->small, CUDA_SMALL_DOUBLES * sizeof(double)));
#undef INIT_CHECK

    be->name = "cuda";
    be->act_dtype = act_dtype;
    be->scan_chunk = CUDA_SCAN_CHUNK;
    be->destroy = destroy_cuda;
    be->supports = supports_cuda;
    be->reserve = reserve_cuda;
    be->alloc = alloc_cuda;
    be->free = free_cuda;
    be->upload = upload_cuda;
    be->download = download_cuda;
    be->copy = copy_cuda;
    be->zero = zero_cuda;
    be->sync = sync_cuda;
    be->to_act = to_act_cuda;
    be->from_act = from_act_cuda;
    be->sumsq = sumsq_cuda;
    be->embedding_fwd = embedding_fwd_cuda;
    be->embedding_bwd = embedding_bwd_cuda;
    be->add_rmsnorm_fwd = add_rmsnorm_fwd_cuda;
    be->add_rmsnorm_bwd = add_rmsnorm_bwd_cuda;
    be->linear_fwd = linear_fwd_cuda;
    be->linear_bwd_data = linear_bwd_data_cuda;
    be->linear_bwd_weight = linear_bwd_weight_cuda;
    be->conv1d_fwd = conv1d_fwd_cuda;
    be->conv1d_bwd = conv1d_bwd_cuda;
    be->softplus_fwd = softplus_fwd_cuda;
    be->softplus_bwd = softplus_bwd_cuda;
    be->ssm_scan_fwd = ssm_scan_fwd_cuda;
    be->ssm_scan_bwd = ssm_scan_bwd_cuda;
    be->gate_fwd = gate_fwd_cuda;
    be->gate_bwd = gate_bwd_cuda;
    be->cross_entropy = cross_entropy_cuda;
    be->adamw = adamw_cuda;
    be->dropout = dropout_cuda;
    be->conv1d_step = conv1d_step_cuda;
    be->ssm_step = ssm_step_cuda;
    be->sample_rows = sample_rows_cuda;
    be->graph_begin = graph_begin_cuda;
    be->graph_end = graph_end_cuda;
    be->graph_launch = graph_launch_cuda;
    be->graph_free = graph_free_cuda;
    return be;

fail:
    destroy_cuda(be);
    return NULL;
}

/* Private accessors for the GPU benchmark (kernels/cuda/cuda_private.h). */
extern "C" void *krait_cuda_stream_of(krait_backend *be) { return (void *)cuda_stream(be); }
extern "C" int krait_cuda_device_of(krait_backend *be) { return cuda_im(be)->device; }
