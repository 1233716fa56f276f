/* kernels/cpu/cpu_backend.c — the fast CPU backend "cpu": its vtable, thread count, scratch
 * (sized by reserve(), carved by the ops), and the deterministic sum of squares.
 *
 * Every op runs its own OpenMP parallel region with num_threads(nthreads); GEMMs go to OpenBLAS,
 * whose thread count is set here once (we link the OpenMP build, so both share one pool, and we
 * never call BLAS from inside our own parallel regions). Memory functions are the host ones
 * shared with the reference (ref_backend.c). The backend runs one op at a time.
 * Not here: any op's math (cpu_<op>.c), and any allocation after reserve(). Note that the
 * OpenBLAS thread count is set by openblas_set_num_threads, which in the OpenMP build is the
 * calling thread's omp_set_num_threads: the last backend created on a thread sets it there, and
 * other threads keep their own (backend.h tells callers).
 */
#include "cpu_internal.h"
#include "cpu_simd.h"
#include "log.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

float *cpu_scratch(krait_backend *be, size_t nfloats, const char *op)
{
    cpu_impl *im = be->impl;
    if (nfloats <= im->scratch_floats) return im->scratch;
    KRAIT_ERROR("cpu: %s needs %zu floats of scratch but reserve() provided %zu "
                "(call reserve() with the largest sizes you use)", op, nfloats, im->scratch_floats);
    return NULL;
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

static krait_status reserve_cpu(krait_backend *be, const krait_dims *max)
{
    cpu_impl *im = be->impl;
    krait_dims d = *max;
    if (d.chunk <= 0) d.chunk = be->scan_chunk;
    size_t need = scan_fwd_scratch_cpu(&d, im->nthreads);
    need = max_sz(need, scan_bwd_scratch_cpu(&d, im->nthreads));
    need = max_sz(need, conv_scratch_cpu(&d, im->nthreads));
    need = max_sz(need, norm_scratch_cpu(&d, im->nthreads));
    if (need <= im->scratch_floats) return KRAIT_STATUS_OK;
    float *p = mem_alloc_cpu(be, need * sizeof(float));
    if (!p) {
        KRAIT_ERROR("cpu: out of memory reserving %zu MB of scratch", need * sizeof(float) >> 20);
        return KRAIT_STATUS_NO_MEMORY;
    }
    free(im->scratch);
    im->scratch = p;
    im->scratch_floats = need;
    return KRAIT_STATUS_OK;
}

static int supports_cpu(const krait_backend *be, krait_op op, const krait_dims *d)
{
    (void)be;
    (void)d;
    return op >= 0 && op < KRAIT_OP_COUNT;
}

/* 64 fixed parts (whatever the thread count), each summed in double with a fixed lane pattern,
 * then the parts in order: the same bits for any number of threads. */
#define SUMSQ_PARTS 64
krait_status sumsq_cpu(krait_backend *be, double *out_host, const float *x, size_t n)
{
    double part[SUMSQ_PARTS];
    size_t step = (n + SUMSQ_PARTS - 1) / SUMSQ_PARTS;
#pragma omp parallel for num_threads(cpu_threads_for(be, (double)n)) schedule(static)
    for (int p = 0; p < SUMSQ_PARTS; p++) {
        size_t lo = (size_t)p * step, hi = lo + step < n ? lo + step : n;
        double acc[8] = { 0 };
        size_t i = lo;
        for (; i + 8 <= hi; i += 8)
            for (int j = 0; j < 8; j++) acc[j] += (double)x[i + j] * x[i + j];
        for (; i < hi; i++) acc[0] += (double)x[i] * x[i];
        part[p] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
    double s = 0.0;
    for (int p = 0; p < SUMSQ_PARTS; p++) s += part[p];
    *out_host = s;
    return KRAIT_STATUS_OK;
}

/* Large copies on all threads: one core alone cannot draw the machine's memory bandwidth, and
 * krait-bench reports decode speed against what this copy reaches. Overlapping ranges (which
 * the interface does not promise to support) fall back to one memmove. */
static krait_status copy_par_cpu(krait_backend *be, void *dst, const void *src, size_t bytes)
{
    const char *s = src;
    char *d = dst;
    int nt = cpu_threads(be);
    if (bytes < ((size_t)4 << 20) || nt < 2 || (d < s + bytes && s < d + bytes))
        return mem_copy_cpu(be, dst, src, bytes);
    size_t part = (bytes / (size_t)nt + 63) / 64 * 64;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < nt; t++) {
        size_t lo = (size_t)t * part, hi = lo + part < bytes ? lo + part : bytes;
        if (lo < hi) memcpy(d + lo, s + lo, hi - lo);
    }
    return KRAIT_STATUS_OK;
}

static krait_status upload_cpu(krait_backend *be, void *dst, const void *src, size_t bytes)
{
    return mem_copy_cpu(be, dst, src, bytes);
}

static krait_status download_cpu(krait_backend *be, void *dst, const void *src, size_t bytes)
{
    return mem_copy_cpu(be, dst, src, bytes);
}

static void destroy_cpu(krait_backend *be)
{
    if (!be) return;
    cpu_impl *im = be->impl;
    if (im) free(im->scratch);
    free(im);
    free(be);
}

void krait_backend_cpu_set_grain(krait_backend *be, double grain)
{
    if (be && be->destroy == destroy_cpu) ((cpu_impl *)be->impl)->grain = grain;
}

krait_backend *krait_backend_cpu_init(int nthreads)
{
    krait_backend *be = calloc(1, sizeof *be);
    cpu_impl *im = calloc(1, sizeof *im);
    if (!be || !im) {
        free(be);
        free(im);
        KRAIT_ERROR("cpu: out of memory creating the backend");
        return NULL;
    }
    im->nthreads = nthreads > 0 ? nthreads : omp_get_num_procs();
    im->grain = CPU_PAR_GRAIN;
    openblas_set_num_threads(im->nthreads);

    be->name = "cpu";
    be->act_dtype = KRAIT_DTYPE_F32;
    be->scan_chunk = 64;
    be->impl = im;

    be->destroy = destroy_cpu;
    be->supports = supports_cpu;
    be->reserve = reserve_cpu;
    be->alloc = mem_alloc_cpu;
    be->free = mem_free_cpu;
    be->upload = upload_cpu;
    be->download = download_cpu;
    be->copy = copy_par_cpu;
    be->zero = mem_zero_cpu;
    be->sync = sync_cpu;
    be->to_act = to_act_cpu;
    be->from_act = from_act_cpu;
    be->sumsq = sumsq_cpu;

    be->embedding_fwd = embedding_fwd_cpu;
    be->embedding_bwd = embedding_bwd_cpu;
    be->add_rmsnorm_fwd = add_rmsnorm_fwd_cpu;
    be->add_rmsnorm_bwd = add_rmsnorm_bwd_cpu;
    be->linear_fwd = linear_fwd_cpu;
    be->linear_bwd_data = linear_bwd_data_cpu;
    be->linear_bwd_weight = linear_bwd_weight_cpu;
    be->conv1d_fwd = conv1d_fwd_cpu;
    be->conv1d_bwd = conv1d_bwd_cpu;
    be->softplus_fwd = softplus_fwd_cpu;
    be->softplus_bwd = softplus_bwd_cpu;
    be->ssm_scan_fwd = ssm_scan_fwd_cpu;
    be->ssm_scan_bwd = ssm_scan_bwd_cpu;
    be->gate_fwd = gate_fwd_cpu;
    be->gate_bwd = gate_bwd_cpu;
    be->cross_entropy = cross_entropy_cpu;
    be->adamw = adamw_cpu;
    be->dropout = dropout_cpu;
    return be;
}
