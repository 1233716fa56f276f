/* tests/cpu/bench_cpu_ops.c — times the fast CPU backend's ops at one layer of mamba-130m
 * (default B 4, L 1024: M = 4096 rows) against the layer's GEMMs, and the fast scan against the
 * reference scan. Not a test (no pass/fail): a measuring tool, built beside the tests.
 *
 *   OPENBLAS_CORETYPE=SkylakeX ./bench_cpu_ops [B L threads [scan]]
 * With "scan" it times only the fast scan (best of 7, or of 40 when B*L <= 1024), for tuning on a shared machine.
 *
 * Each fast op: one warm-up call, then the best of 3. The reference scan runs once. The
 * per-model ops (embedding, cross-entropy over V = 50280, AdamW over all 129M parameters) are
 * timed on a slice and scaled linearly, and compared with the lm_head GEMM (timed on a slice).
 */
#include "cpu_internal.h"
#include "testutil.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* CPU time of the calling thread: with one thread, robust against other processes on a shared
 * machine (time they take from this core is not counted). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static krait_backend *g_be;   /* buffers come from the backend's allocator (64-byte aligned) */

static float *buf(size_t n, float mean, float std)
{
    float *p = g_be->alloc(g_be, n * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < n; i++) p[i] = mean + std * (float)((tu_next() >> 40) * 0x1.0p-24 - 0.5) * 3.4f;
    return p;
}

#define TIME_BEST(var, stmt)                               \
    do {                                                   \
        stmt;                                              \
        var = 1e30;                                        \
        for (int rep_ = 0; rep_ < 3; rep_++) {             \
            double t0_ = now();                            \
            stmt;                                          \
            double t_ = now() - t0_;                       \
            if (t_ < var) var = t_;                        \
        }                                                  \
    } while (0)

int main(int argc, char **argv)
{
    int B = argc > 2 ? atoi(argv[1]) : 4, L = argc > 2 ? atoi(argv[2]) : 1024;
    int threads = argc > 3 ? atoi(argv[3]) : 0;
    const int D = 768, E = 1536, N = 16, K = 4, R = 48, V = 50280, NL = 24;
    const int M = B * L, ldbc = R + 2 * N;
    tu_init("bench_cpu_ops");
    krait_backend *be = krait_backend_cpu_init(threads), *ref = krait_backend_cpu_ref_init();
    if (!be || !ref) return 1;
    g_be = be;
    krait_dims dims = { .B = B, .L = L, .D = D, .E = E, .N = N, .K = K, .R = R, .V = V,
                        .chunk = be->scan_chunk, .rows = M };
    if (be->reserve(be, &dims) || ref->reserve(ref, &dims)) return 1;
    printf("threads %d, OpenBLAS core %s, B %d L %d (M %d), chunk %d\n",
           ((cpu_impl *)be->impl)->nthreads, openblas_get_corename(), B, L, M, be->scan_chunk);

    int nch = (L + be->scan_chunk - 1) / be->scan_chunk;
    float *h = buf((size_t)M * D, 0, 1), *xz = buf((size_t)M * 2 * E, 0, 1), *dxz = buf((size_t)M * 2 * E, 0, 1);
    float *u = buf((size_t)M * E, 0, 1), *du = buf((size_t)M * E, 0, 1), *dbc = buf((size_t)M * ldbc, 0, 1);
    float *ddbc = buf((size_t)M * ldbc, 0, 1), *delta = buf((size_t)M * E, 0, 1), *dd = buf((size_t)M * E, 0, 1);
    float *y = buf((size_t)M * E, 0, 1), *dy = buf((size_t)M * E, 0, 1), *g = buf((size_t)M * E, 0, 1);
    float *out = buf((size_t)M * D, 0, 1), *r = buf((size_t)M * D, 0, 1), *dr = buf((size_t)M * D, 0, 1);
    float *rstd = buf(M, 1, 0), *nw = buf(D, 1, 0.1f), *dnw = buf(D, 0, 0);
    float *W_in = buf((size_t)2 * E * D, 0, 0.03f), *dW_in = buf((size_t)2 * E * D, 0, 0);
    float *W_x = buf((size_t)ldbc * E, 0, 0.03f), *dW_x = buf((size_t)ldbc * E, 0, 0);
    float *W_dt = buf((size_t)E * R, 0, 0.1f), *dW_dt = buf((size_t)E * R, 0, 0);
    float *W_out = buf((size_t)D * E, 0, 0.03f), *dW_out = buf((size_t)D * E, 0, 0);
    float *cw = buf((size_t)E * K, 0, 0.3f), *cb = buf(E, 0, 0.3f), *dcw = buf((size_t)E * K, 0, 0), *dcb = buf(E, 0, 0);
    float *dtb = buf(E, -4, 0.5f), *ddtb = buf(E, 0, 0), *A_log = malloc((size_t)E * N * 4), *dA = buf((size_t)E * N, 0, 0);
    float *Dsk = buf(E, 1, 0), *dDsk = buf(E, 0, 0), *hc = buf((size_t)B * nch * E * N, 0, 0);
    for (int e = 0; e < E; e++)
        for (int n = 0; n < N; n++) A_log[(size_t)e * N + n] = logf(n + 1.0f);
    for (size_t i = 0; i < (size_t)M * E; i++) delta[i] = log1pf(expf(-4.0f + 3.0f * (delta[i] + 1.7f) / 3.4f));
    float *Bm = dbc + R, *Cm = dbc + R + N;

    if (argc > 4 && !strcmp(argv[4], "scan")) {
        double best_f = 1e30, best_b = 1e30, cpu_f = 1e30, cpu_b = 1e30;
        int reps = (double)B * L <= 1024 ? 40 : 7;
        for (int rep = 0; rep < reps; rep++) {
            double t0 = now(), c0 = cpu_now();
            be->ssm_scan_fwd(be, y, NULL, hc, u, delta, A_log, Bm, Cm, ldbc, Dsk, NULL, B, L, E, N, be->scan_chunk);
            double t1 = now(), c1 = cpu_now();
            be->ssm_scan_bwd(be, du, dd, ddbc + R, ddbc + R + N, dA, dDsk, dy, u, delta, A_log, Bm, Cm, ldbc, Dsk, hc, B, L, E, N, be->scan_chunk);
            double t2 = now(), c2 = cpu_now();
            best_f = t1 - t0 < best_f ? t1 - t0 : best_f;
            best_b = t2 - t1 < best_b ? t2 - t1 : best_b;
            cpu_f = c1 - c0 < cpu_f ? c1 - c0 : cpu_f;
            cpu_b = c2 - c1 < cpu_b ? c2 - c1 : cpu_b;
        }
        printf("fast scan: fwd %.2f ms, bwd %.2f ms (wall); main thread cpu: fwd %.2f ms, bwd %.2f ms\n",
               1e3 * best_f, 1e3 * best_b, 1e3 * cpu_f, 1e3 * cpu_b);
        return 0;
    }
    double t[32];
    int k = 0;
    const char *name[32];
#define OP(label, stmt) do { name[k] = label; TIME_BEST(t[k], stmt); k++; } while (0)
    /* GEMMs of one layer, fwd + bwd */
    OP("in_proj fwd", be->linear_fwd(be, xz, 2 * E, h, D, W_in, NULL, M, 2 * E, D, 0.0f));
    OP("in_proj bwd_data", be->linear_bwd_data(be, out, D, dxz, 2 * E, W_in, M, 2 * E, D, 0.0f));
    OP("in_proj bwd_weight", be->linear_bwd_weight(be, dW_in, NULL, dxz, 2 * E, h, D, M, 2 * E, D));
    OP("x_proj fwd", be->linear_fwd(be, dbc, ldbc, u, E, W_x, NULL, M, ldbc, E, 0.0f));
    OP("x_proj bwd_data", be->linear_bwd_data(be, du, E, ddbc, ldbc, W_x, M, ldbc, E, 1.0f));
    OP("x_proj bwd_weight", be->linear_bwd_weight(be, dW_x, NULL, ddbc, ldbc, u, E, M, ldbc, E));
    OP("dt_proj fwd", be->linear_fwd(be, g, E, dbc, ldbc, W_dt, NULL, M, E, R, 0.0f));
    OP("dt_proj bwd_data", be->linear_bwd_data(be, ddbc, ldbc, dd, E, W_dt, M, E, R, 0.0f));
    OP("dt_proj bwd_weight", be->linear_bwd_weight(be, dW_dt, NULL, dd, E, dbc, ldbc, M, E, R));
    OP("out_proj fwd", be->linear_fwd(be, out, D, y, E, W_out, NULL, M, D, E, 0.0f));
    OP("out_proj bwd_data", be->linear_bwd_data(be, dy, E, dr, D, W_out, M, D, E, 0.0f));
    OP("out_proj bwd_weight", be->linear_bwd_weight(be, dW_out, NULL, dr, D, y, E, M, D, E));
    int ngemm = k;
    /* everything else in one layer, fwd + bwd */
    OP("add_rmsnorm fwd", be->add_rmsnorm_fwd(be, r, out, rstd, r, h, nw, M, D, 1e-5f));
    OP("add_rmsnorm bwd", be->add_rmsnorm_bwd(be, dr, dr, dnw, out, r, rstd, nw, M, D));
    OP("conv1d fwd (silu)", be->conv1d_fwd(be, u, NULL, xz, 2 * E, cw, cb, NULL, B, L, E, K, 1));
    OP("conv1d bwd (silu)", be->conv1d_bwd(be, dxz, 2 * E, dcw, dcb, du, xz, cw, cb, NULL, B, L, E, K, 1));
    OP("softplus fwd", be->softplus_fwd(be, g, g, dtb, M, E));
    OP("softplus bwd", be->softplus_bwd(be, dd, ddtb, dd, g, dtb, M, E));
    OP("ssm_scan fwd", be->ssm_scan_fwd(be, y, NULL, hc, u, delta, A_log, Bm, Cm, ldbc, Dsk, NULL, B, L, E, N, be->scan_chunk));
    OP("ssm_scan bwd", be->ssm_scan_bwd(be, du, dd, ddbc + R, ddbc + R + N, dA, dDsk, dy, u, delta, A_log, Bm, Cm, ldbc, Dsk, hc, B, L, E, N, be->scan_chunk));
    OP("gate fwd", be->gate_fwd(be, g, y, xz + E, 2 * E, M, E));
    OP("gate bwd", be->gate_bwd(be, dy, dxz + E, 2 * E, dy, y, xz + E, M, E));

    double gemm = 0, rest = 0, flops = 2.0 * M * ((double)2 * E * D + (double)ldbc * E + (double)E * R + (double)D * E) * 3;
    for (int i = 0; i < k; i++) {
        if (i < ngemm) gemm += t[i]; else rest += t[i];
        printf("  %-22s %9.2f ms   %6.3f x in_proj fwd\n", name[i], 1e3 * t[i], t[i] / t[0]);
    }
    printf("in_proj fwd: %.1f GFLOP/s\n", 2.0 * M * 2 * E * D / t[0] * 1e-9);
    printf("layer GEMMs: %.1f ms (%.1f GFLOP/s); other ops: %.1f ms = %.1f%% of GEMM time, %.2f x in_proj fwd\n",
           1e3 * gemm, flops / gemm * 1e-9, 1e3 * rest, 100 * rest / gemm, rest / t[0]);
    printf("scan fwd+bwd: %.1f ms\n", 1e3 * (t[ngemm + 6] + t[ngemm + 7]));

    /* per-model ops on slices, scaled */
    int Mc = M < 512 ? M : 512;
    float *logits = buf((size_t)Mc * V, 0, 2), *loss = buf(Mc, 0, 0), *W_emb = buf((size_t)V * D, 0, 0.02f);
    float *dW_emb = buf((size_t)V * D, 0, 0);
    int32_t *ids = malloc((size_t)M * 4);
    for (int i = 0; i < M; i++) ids[i] = (int32_t)(tu_next() % (uint64_t)V);
    double t_ce, t_head, t_embf, t_embb, t_adam;
    TIME_BEST(t_head, be->linear_fwd(be, logits, V, h, D, W_emb, NULL, Mc, V, D, 0.0f));
    TIME_BEST(t_ce, be->cross_entropy(be, loss, logits, NULL, logits, ids, Mc, V, V, 1.0f / M));
    TIME_BEST(t_embf, be->embedding_fwd(be, r, ids, W_emb, M, D));
    TIME_BEST(t_embb, be->embedding_bwd(be, dW_emb, dr, ids, M, D));
    size_t np = (size_t)16 << 20;
    float *p = buf(np, 0, 1), *m = buf(np, 0, 0), *v = buf(np, 0, 0), *gg = buf(np, 0, 1);
    for (size_t i = 0; i < np; i++) v[i] = fabsf(v[i]);
    krait_adamw_params hp = { 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f, 10 };
    TIME_BEST(t_adam, be->adamw(be, p, m, v, NULL, gg, np, &hp));
    double scale = (double)M / Mc, head3 = 3 * t_head * scale, ce = t_ce * scale;
    double adam = t_adam * 129135360.0 / (double)np;
    printf("per model (M %d): lm_head GEMM fwd+bwd ~%.0f ms; cross-entropy %.1f ms; embedding fwd %.2f + bwd %.2f ms;"
           " adamw (129M params) %.1f ms\n", M, 1e3 * head3, 1e3 * ce, 1e3 * t_embf, 1e3 * t_embb, 1e3 * adam);
    double step_gemm = NL * gemm + head3, step_rest = NL * rest + ce + t_embf + t_embb + adam;
    printf("whole step (NL %d): GEMMs %.2f s, everything else %.2f s = %.1f%% of GEMM time\n", NL,
           step_gemm, step_rest, 100 * step_rest / step_gemm);

    /* the reference scan, once */
    double t0 = now();
    ref->ssm_scan_fwd(ref, y, NULL, hc, u, delta, A_log, Bm, Cm, ldbc, Dsk, NULL, B, L, E, N, be->scan_chunk);
    double t_rf = now() - t0;
    t0 = now();
    ref->ssm_scan_bwd(ref, du, dd, ddbc + R, ddbc + R + N, dA, dDsk, dy, u, delta, A_log, Bm, Cm, ldbc, Dsk, hc, B, L, E, N, be->scan_chunk);
    double t_rb = now() - t0;
    printf("reference scan: fwd %.0f ms, bwd %.0f ms; fast: fwd %.1f ms (%.0fx), bwd %.1f ms (%.0fx)\n",
           1e3 * t_rf, 1e3 * t_rb, 1e3 * t[ngemm + 6], t_rf / t[ngemm + 6], 1e3 * t[ngemm + 7], t_rb / t[ngemm + 7]);
    krait_backend_destroy(be);
    krait_backend_destroy(ref);
    return 0;
}
