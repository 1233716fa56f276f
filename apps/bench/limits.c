/* apps/bench/limits.c — this machine's own limits, measured through the backend: the GEMM
 * rate (what linear_fwd reaches on a large square product) and the copy bandwidth (what the
 * backend's copy reaches on a buffer far larger than the caches). Best of a few repeats after
 * a warm-up, so the figures are the machine's ceiling rather than a noisy average. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "train.h"

double bench_sgemm_gflops(krait_backend *be)
{
    /* 2048^3 saturates the CPU; a GPU needs a larger product to reach its rate */
    const int n = strcmp(be->name, "cuda") == 0 ? 8192 : 2048;
    size_t as = krait_dtype_size(be->act_dtype), elems = (size_t)n * n;
    float *h = malloc(elems * sizeof *h);
    void *X = be->alloc(be, elems * as), *W = be->alloc(be, elems * as), *Y = be->alloc(be, elems * as);
    float *tmp = be->alloc(be, elems * sizeof(float));
    double best = 0;
    if (!h || !X || !W || !Y || !tmp) /* no rate, no fraction: a result against 0 would mislead */
        krait_cli_die(1, "cannot allocate the %d x %d GEMM that measures this machine's rate", n, n);
    for (size_t i = 0; i < elems; i++) h[i] = (float)((i * 2654435761u % 1000) / 1000.0 - 0.5);
    be->upload(be, tmp, h, elems * sizeof(float));
    be->to_act(be, X, tmp, elems);
    be->to_act(be, W, tmp, elems);
    be->linear_fwd(be, Y, n, X, n, W, NULL, n, n, n, 0.0f); /* warm-up */
    be->sync(be);
    for (int rep = 0; rep < 4; rep++) {
        double t0 = krait_now();
        be->linear_fwd(be, Y, n, X, n, W, NULL, n, n, n, 0.0f);
        be->sync(be);
        double dt = krait_now() - t0, g = 2.0 * n * n * (double)n / dt / 1e9;
        if (g > best) best = g;
    }
    free(h);
    if (X) be->free(be, X);
    if (W) be->free(be, W);
    if (Y) be->free(be, Y);
    if (tmp) be->free(be, tmp);
    return best;
}

const char *bench_gemm_name(const krait_backend *be)
{
    return be->act_dtype == KRAIT_DTYPE_BF16 ? "bf16 GEMM" : "sgemm";
}

double bench_copy_gbps(krait_backend *be)
{
    const size_t bytes = (size_t)512 << 20;
    void *a = be->alloc(be, bytes), *b = be->alloc(be, bytes);
    double best = 0;
    if (!a || !b) krait_cli_die(1, "cannot allocate the 2 x %zu MB that measure this machine's copy bandwidth", bytes >> 20);
    be->zero(be, a, bytes);
    be->zero(be, b, bytes);
    be->copy(be, b, a, bytes);
    be->sync(be);
    for (int rep = 0; rep < 5; rep++) {
        double t0 = krait_now();
        be->copy(be, b, a, bytes);
        be->sync(be);
        double dt = krait_now() - t0, g = 2.0 * bytes / dt / 1e9;
        if (g > best) best = g;
    }
    if (a) be->free(be, a);
    if (b) be->free(be, b);
    return best;
}
