/* kernels/cpu/ref_backend.c — the plain-C reference backend "cpu-ref": its vtable, its one
 * scratch buffer, and the host-memory functions that both CPU backends share (alloc is a
 * 64-byte aligned malloc; upload, download and copy are memcpy; the activation dtype is fp32,
 * so to_act/from_act are copies).
 *
 * The reference exists to be trusted by the tests: every op is a direct transcription of the
 * math in backend.h, single-threaded, with no intrinsics and no BLAS. It is deliberately slow.
 * Its only scratch is the chunk of recomputed states that the scan backward needs; it is
 * allocated at init for chunk * N <= REF_SCRATCH_DEFAULT and grown by reserve().
 */
#include "cpu_internal.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* doubles: enough for chunk 256 with N 64, or chunk 1024 with N 16, without reserve(). */
#define REF_SCRATCH_DEFAULT (258 * 64)

typedef struct ref_impl {
    double *scratch;
    size_t scratch_doubles;
} ref_impl;

/* ---- host memory, shared with the fast CPU backend ------------------------------------- */

void *mem_alloc_cpu(krait_backend *be, size_t bytes)
{
    (void)be;
    void *p = NULL;
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
    if (posix_memalign(&p, 64, rounded) != 0) return NULL;
    return p;
}

void mem_free_cpu(krait_backend *be, void *p)
{
    (void)be;
    free(p);
}

krait_status mem_copy_cpu(krait_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    if (bytes && dst != src) memmove(dst, src, bytes);
    return KRAIT_STATUS_OK;
}

krait_status mem_zero_cpu(krait_backend *be, void *dst, size_t bytes)
{
    (void)be;
    if (bytes) memset(dst, 0, bytes);
    return KRAIT_STATUS_OK;
}

krait_status sync_cpu(krait_backend *be)
{
    (void)be;
    return KRAIT_STATUS_OK;
}

krait_status to_act_cpu(krait_backend *be, void *dst, const float *src, size_t n)
{
    return mem_copy_cpu(be, dst, src, n * sizeof(float));
}

krait_status from_act_cpu(krait_backend *be, float *dst, const void *src, size_t n)
{
    return mem_copy_cpu(be, dst, src, n * sizeof(float));
}

/* ---- the reference backend ------------------------------------------------------------- */

krait_status sumsq_ref(krait_backend *be, double *out_host, const float *x, size_t n)
{
    (void)be;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    *out_host = s;
    return KRAIT_STATUS_OK;
}

static int grow_scratch(ref_impl *im, size_t ndoubles)
{
    if (ndoubles <= im->scratch_doubles) return 1;
    double *p = mem_alloc_cpu(NULL, ndoubles * sizeof(double));
    if (!p) return 0;
    free(im->scratch);
    im->scratch = p;
    im->scratch_doubles = ndoubles;
    return 1;
}

double *ref_scratch(krait_backend *be, size_t ndoubles, const char *op)
{
    ref_impl *im = be->impl;
    if (ndoubles <= im->scratch_doubles) return im->scratch;
    KRAIT_ERROR("cpu-ref: %s needs %zu doubles of scratch but only %zu are reserved "
                "(call reserve() with the chunk and N you use)", op, ndoubles, im->scratch_doubles);
    return NULL;
}

static int supports_ref(const krait_backend *be, krait_op op, const krait_dims *d)
{
    (void)be;
    (void)d;
    return op >= 0 && op < KRAIT_OP_COUNT;
}

static krait_status reserve_ref(krait_backend *be, const krait_dims *max)
{
    size_t chunk = max->chunk > 0 ? (size_t)max->chunk : 0, n = max->N > 0 ? (size_t)max->N : 0;
    size_t need = (chunk + 2) * n;
    if (!grow_scratch(be->impl, need)) {
        KRAIT_ERROR("cpu-ref: out of memory reserving %zu doubles of scan scratch", need);
        return KRAIT_STATUS_NO_MEMORY;
    }
    return KRAIT_STATUS_OK;
}

static krait_status upload_ref(krait_backend *be, void *dst, const void *src, size_t bytes)
{
    return mem_copy_cpu(be, dst, src, bytes);
}

static krait_status download_ref(krait_backend *be, void *dst, const void *src, size_t bytes)
{
    return mem_copy_cpu(be, dst, src, bytes);
}

static void destroy_ref(krait_backend *be)
{
    if (!be) return;
    ref_impl *im = be->impl;
    if (im) free(im->scratch);
    free(im);
    free(be);
}

krait_backend *krait_backend_cpu_ref_init(void)
{
    krait_backend *be = calloc(1, sizeof *be);
    ref_impl *im = calloc(1, sizeof *im);
    if (!be || !im) goto fail;
    if (!grow_scratch(im, REF_SCRATCH_DEFAULT)) goto fail;

    be->name = "cpu-ref";
    be->act_dtype = KRAIT_DTYPE_F32;
    be->scan_chunk = 64;
    be->impl = im;

    be->destroy = destroy_ref;
    be->supports = supports_ref;
    be->reserve = reserve_ref;
    be->alloc = mem_alloc_cpu;
    be->free = mem_free_cpu;
    be->upload = upload_ref;
    be->download = download_ref;
    be->copy = mem_copy_cpu;
    be->zero = mem_zero_cpu;
    be->sync = sync_cpu;
    be->to_act = to_act_cpu;
    be->from_act = from_act_cpu;
    be->sumsq = sumsq_ref;

    be->embedding_fwd = embedding_fwd_ref;
    be->embedding_bwd = embedding_bwd_ref;
    be->add_rmsnorm_fwd = add_rmsnorm_fwd_ref;
    be->add_rmsnorm_bwd = add_rmsnorm_bwd_ref;
    be->linear_fwd = linear_fwd_ref;
    be->linear_bwd_data = linear_bwd_data_ref;
    be->linear_bwd_weight = linear_bwd_weight_ref;
    be->conv1d_fwd = conv1d_fwd_ref;
    be->conv1d_bwd = conv1d_bwd_ref;
    be->softplus_fwd = softplus_fwd_ref;
    be->softplus_bwd = softplus_bwd_ref;
    be->ssm_scan_fwd = ssm_scan_fwd_ref;
    be->ssm_scan_bwd = ssm_scan_bwd_ref;
    be->gate_fwd = gate_fwd_ref;
    be->gate_bwd = gate_bwd_ref;
    be->cross_entropy = cross_entropy_ref;
    be->adamw = adamw_ref;
    be->dropout = dropout_ref;
    be->conv1d_step = conv1d_step_ref;
    be->ssm_step = ssm_step_ref;
    return be;

fail:
    if (im) free(im->scratch);
    free(im);
    free(be);
    KRAIT_ERROR("cpu-ref: out of memory creating the backend");
    return NULL;
}
