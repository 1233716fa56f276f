/* tests/gpu/bench_ops_gpu.c — the CUDA backend against this GPU's own limits, measured in the
 * same process: the device copy bandwidth (large D2D copy, bytes read + written), the cuBLASLt
 * bf16 GEMM rate (8192^3 and the mamba-130m training shapes), then the selective scan forward
 * and backward at B=8, L=2048, E=1536, N=16 (bf16) as a fraction of the bandwidth bound (minimal
 * bytes: every input read once, every output written once) and of the special-function-unit
 * bound (one exp per (t, e, n) in each direction at 16 exp/clk/SM), and the other memory-bound
 * training ops at 130m shapes as fractions of the copy bandwidth. Each scan shape also times the
 * inference forward (no h_chunks: what prefill runs, cut in time for small B*E) as scan_fwd_infer.
 * The batch-1 decode products (one row) are timed on gemv_kernel and on cuBLASLt against the copy
 * bandwidth over the weight bytes.
 *
 * Timing: CUDA events on the backend's stream around each call, 3 warm-ups, median of the
 * repeats, on random data (never zeros). One JSON object per line on stdout; progress and the
 * device name on stderr. Exit 77 without a device, 1 if any call fails.
 */
#include "cuda_private.h"
#include "gpu_testutil.h"

#include <cuda_runtime_api.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WARM 3
#define MAXREP 64

static krait_backend *be;
static cudaStream_t stream;
static cudaEvent_t ev0, ev1;
static int failed;

static void ok(krait_status st, const char *what)
{
    if (st != KRAIT_STATUS_OK) {
        fprintf(stderr, "bench: %s failed: %s\n", what, krait_status_string(st));
        failed = 1;
    }
}

static int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Median milliseconds of `reps` timed runs of STMT (after WARM untimed ones). */
#define TIME_MS(result, reps, STMT)                                                           \
    do {                                                                                      \
        float t_[MAXREP];                                                                     \
        for (int w_ = 0; w_ < WARM; w_++) { STMT; }                                           \
        for (int r_ = 0; r_ < (reps); r_++) {                                                 \
            cudaEventRecord(ev0, stream);                                                     \
            STMT;                                                                             \
            cudaEventRecord(ev1, stream);                                                     \
            cudaEventSynchronize(ev1);                                                        \
            cudaEventElapsedTime(&t_[r_], ev0, ev1);                                          \
        }                                                                                     \
        qsort(t_, (reps), sizeof t_[0], cmp_f);                                               \
        (result) = t_[(reps) / 2];                                                            \
    } while (0)

static void *dalloc(size_t bytes)
{
    void *p = be->alloc(be, bytes);
    if (!p) {
        fprintf(stderr, "bench: out of device memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

/* Random device data without generating billions of host samples: a pool of POOL random
 * fp32 values (drawn once per distribution) is uploaded slice by slice, scaled and shifted on
 * the host side of each slice, and cast to the act dtype on the device. Repeats every POOL
 * elements, which does not matter for timing; never zeros. */
#define POOL ((size_t)1 << 22)

static float *pool_normal, *pool_unit;

static void fill_dev(void *d, size_t n, int act, int uniform, float a, float b)
{
    float *h = gt_hmalloc(POOL), *stage = dalloc(POOL * 4);
    if (!pool_normal) {
        pool_normal = gt_hmalloc(POOL);
        pool_unit = gt_hmalloc(POOL);
        tu_fill_normal(pool_normal, POOL, 0, 1);
        tu_fill_uniform(pool_unit, POOL, 0, 1);
    }
    for (size_t i = 0; i < POOL; i++)
        h[i] = uniform ? a + (b - a) * pool_unit[i] : a + b * pool_normal[i];
    for (size_t off = 0; off < n; off += POOL) {
        const size_t m = n - off < POOL ? n - off : POOL;
        if (act) {
            ok(be->upload(be, stage, h, m * 4), "upload");
            ok(be->to_act(be, (char *)d + off * 2, stage, m), "to_act");
        } else {
            ok(be->upload(be, (float *)d + off, h, m * 4), "upload");
        }
    }
    ok(be->sync(be), "sync");
    be->free(be, stage);
    free(h);
}

/* n act values ~ N(a, b) (or uniform in [a, b) when uniform). */
static void *rand_act(size_t n, int uniform, float a, float b)
{
    void *d = dalloc(n * 2);
    fill_dev(d, n, 1, uniform, a, b);
    return d;
}

static float *rand_f32(size_t n, float mean, float std)
{
    float *d = dalloc(n * 4);
    fill_dev(d, n, 0, 0, mean, std);
    return d;
}

static double copy_gbps;

static void bench_copy(void)
{
    const size_t bytes = (size_t)2 << 30;
    void *a = rand_act(bytes / 2, 0, 0, 1), *b = dalloc(bytes);
    float ms;
    TIME_MS(ms, 20, ok(be->copy(be, b, a, bytes), "copy"));
    copy_gbps = 2.0 * bytes / (ms * 1e-3) / 1e9;
    printf("{\"bench\":\"copy\",\"bytes\":%zu,\"ms\":%.4f,\"gbps\":%.1f}\n", bytes, ms, copy_gbps);
    be->free(be, a);
    be->free(be, b);
}

static void bench_gemm(const char *name, int M, int N, int K)
{
    void *X = rand_act((size_t)M * K, 0, 0, 1), *W = rand_act((size_t)N * K, 0, 0, 0.05f);
    void *Y = dalloc((size_t)M * N * 2);
    float ms;
    TIME_MS(ms, 10, ok(be->linear_fwd(be, Y, N, X, K, W, NULL, M, N, K, 0.0f), name));
    const double tf = 2.0 * M * N * K / (ms * 1e-3) / 1e12;
    printf("{\"bench\":\"gemm_bf16\",\"shape\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"ms\":%.4f,"
           "\"tflops\":%.1f}\n", name, M, N, K, ms, tf);
    be->free(be, X);
    be->free(be, W);
    be->free(be, Y);
}

/* A batch-1 decode product (one row) on gemv_kernel and on cuBLASLt (a second backend made with
 * KRAIT_CUDA_GEMV=0), as a fraction of the copy bandwidth over the bytes it must move (W once,
 * x and y). The call is cycled over copies of W filling 512 MB, so that W comes from memory
 * as in a decode step (48 layers of 1.4b weights), not from the 50 MB L2. */
static krait_backend *be_lt;

static void bench_gemv(const char *name, int N, int K)
{
    const size_t wbytes = (size_t)N * K * 2;
    int nw = (int)(((size_t)512 << 20) / wbytes);
    nw = nw < 2 ? 2 : nw > 64 ? 64 : nw;
    void *W[64];
    for (int i = 0; i < nw; i++) W[i] = rand_act((size_t)N * K, 0, 0, 0.05f);
    void *X = rand_act((size_t)K, 0, 0, 1), *Y = dalloc((size_t)N * 2);
    const double bytes = (double)wbytes + 2.0 * ((double)K + N);
    float ms[2];
    for (int v = 0; v < 2; v++) {
        krait_backend *b = v == 0 ? be : be_lt;
        if (!b) {
            ms[v] = 0.0f;
            continue;
        }
        stream = (cudaStream_t)krait_cuda_stream_of(b);   /* the events on b's own stream */
        TIME_MS(ms[v], 10, for (int i = 0; i < nw; i++)
                              ok(b->linear_fwd(b, Y, N, X, K, W[i], NULL, 1, N, K, 0.0f), name));
        ms[v] /= (float)nw;
        stream = (cudaStream_t)krait_cuda_stream_of(be);
    }
    const double gbps = bytes / (ms[0] * 1e-3) / 1e9;
    printf("{\"bench\":\"gemv_bf16\",\"shape\":\"%s\",\"m\":1,\"n\":%d,\"k\":%d,\"ms\":%.4f,"
           "\"gbps\":%.1f,\"bw_fraction\":%.3f,\"cublaslt_ms\":%.4f,\"cublaslt_bw_fraction\":%.3f}\n",
           name, N, K, ms[0], gbps, gbps / copy_gbps, ms[1],
           ms[1] > 0 ? bytes / (ms[1] * 1e-3) / 1e9 / copy_gbps : 0.0);
    for (int i = 0; i < nw; i++) be->free(be, W[i]);
    be->free(be, X);
    be->free(be, Y);
}

static void report_bw(const char *name, float ms, double bytes)
{
    const double gbps = bytes / (ms * 1e-3) / 1e9;
    printf("{\"bench\":\"%s\",\"ms\":%.4f,\"bytes\":%.0f,\"gbps\":%.1f,\"bw_fraction\":%.3f}\n",
           name, ms, bytes, gbps, gbps / copy_gbps);
}

static void bench_scan(int B, int L, int E, int N, int chunk)
{
    const int R = 48, ldbc = R + 2 * N, nc = (L + chunk - 1) / chunk;
    const size_t nME = (size_t)B * L * E, nbc = (size_t)B * L * ldbc, nEN = (size_t)E * N;
    krait_dims d = { .B = B, .L = L, .E = E, .N = N, .R = R, .chunk = chunk, .rows = B * L };
    ok(be->reserve(be, &d), "reserve");
    void *u = rand_act(nME, 0, 0, 1), *dy = rand_act(nME, 0, 0, 1), *dbc = rand_act(nbc, 0, 0, 1);
    void *delta = rand_act(nME, 1, 1e-3f, 0.2f);
    float *hA = gt_hmalloc(nEN);
    for (int e = 0; e < E; e++)
        for (int n = 0; n < N; n++) hA[(size_t)e * N + n] = (float)(log(n + 1.0) + 0.1 * tu_normal());
    float *A_log = dalloc(nEN * 4), *D = rand_f32(E, 1, 0.1f);
    ok(be->upload(be, A_log, hA, nEN * 4), "upload");
    float *dA = rand_f32(nEN, 0, 1), *dD = rand_f32(E, 0, 1);
    float *hc = dalloc((size_t)B * nc * E * N * 4);
    void *y = dalloc(nME * 2), *du = dalloc(nME * 2), *dd = dalloc(nME * 2), *ddbc = dalloc(nbc * 2);
    char *bc = dbc, *dbcg = ddbc;
    float fwd, bwd;
    TIME_MS(fwd, 10, ok(be->ssm_scan_fwd(be, y, NULL, hc, u, delta, A_log, bc + 2 * R,
                                         bc + 2 * (R + N), ldbc, D, NULL, B, L, E, N, chunk),
                        "scan fwd"));
    TIME_MS(bwd, 10, ok(be->ssm_scan_bwd(be, du, dd, dbcg + 2 * R, dbcg + 2 * (R + N), dA, dD, dy,
                                         u, delta, A_log, bc + 2 * R, bc + 2 * (R + N), ldbc, D,
                                         hc, B, L, E, N, chunk),
                        "scan bwd"));
    /* inference: no h_chunks, the end state kept; the backend may cut the sequence in time
     * (cuda_scan_fwd.cu), so this is the figure prefill sees */
    float *hl = dalloc((size_t)B * E * N * 4), inf;
    TIME_MS(inf, 10, ok(be->ssm_scan_fwd(be, y, hl, NULL, u, delta, A_log, bc + 2 * R, bc + 2 * (R + N), ldbc,
                                         D, NULL, B, L, E, N, chunk),
                        "scan fwd (inference)"));
    const double act = 2.0, BLE = nME, BLN = (double)B * L * N, hcb = (double)B * nc * E * N * 4;
    const double fwd_bytes = 3 * BLE * act + 2 * BLN * act + hcb + nEN * 4 + E * 4;
    const double bwd_bytes = 5 * BLE * act + 4 * BLN * act + hcb + 3 * nEN * 4 + 3 * E * 4;
    int dev = krait_cuda_device_of(be), sms = 0, khz = 0;
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
    cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, dev);
    const double exps = BLE * N, exp_rate = (double)sms * 16.0 * khz * 1e3;
    const double bw_fwd = fwd_bytes / (copy_gbps * 1e9) * 1e3, bw_bwd = bwd_bytes / (copy_gbps * 1e9) * 1e3;
    const double sfu_ms = exps / exp_rate * 1e3;   /* per direction, one exp per element */
    printf("{\"bench\":\"scan_fwd\",\"B\":%d,\"L\":%d,\"E\":%d,\"N\":%d,\"chunk\":%d,\"ms\":%.4f,"
           "\"bytes\":%.0f,\"bw_bound_ms\":%.4f,\"bw_fraction\":%.3f,\"sfu_bound_ms\":%.4f,"
           "\"sfu_fraction\":%.3f}\n", B, L, E, N, chunk, fwd, fwd_bytes, bw_fwd, bw_fwd / fwd,
           sfu_ms, sfu_ms / fwd);
    printf("{\"bench\":\"scan_fwd_infer\",\"B\":%d,\"L\":%d,\"E\":%d,\"N\":%d,\"ms\":%.4f,"
           "\"train_fwd_ms\":%.4f,\"sfu_bound_ms\":%.4f,\"sfu_fraction\":%.3f}\n", B, L, E, N, inf, fwd,
           sfu_ms, sfu_ms / inf);
    printf("{\"bench\":\"scan_bwd\",\"B\":%d,\"L\":%d,\"E\":%d,\"N\":%d,\"chunk\":%d,\"ms\":%.4f,"
           "\"bytes\":%.0f,\"bw_bound_ms\":%.4f,\"bw_fraction\":%.3f,\"sfu_bound_ms\":%.4f,"
           "\"sfu_fraction\":%.3f}\n", B, L, E, N, chunk, bwd, bwd_bytes, bw_bwd, bw_bwd / bwd,
           sfu_ms, sfu_ms / bwd);
    printf("{\"bench\":\"scan_fwd_bwd\",\"B\":%d,\"L\":%d,\"E\":%d,\"N\":%d,\"chunk\":%d,"
           "\"ms\":%.4f,\"bw_bound_ms\":%.4f,\"bw_fraction\":%.3f,\"sfu_bound_ms\":%.4f,"
           "\"sfu_fraction\":%.3f,\"sms\":%d,\"clock_mhz\":%.0f}\n", B, L, E, N, chunk,
           fwd + bwd, bw_fwd + bw_bwd, (bw_fwd + bw_bwd) / (fwd + bwd), 2 * sfu_ms,
           2 * sfu_ms / (fwd + bwd), sms, khz / 1e3);
    /* one more backward on a profiling backend: its stages' times go to stderr */
    setenv("KRAIT_CUDA_PROFILE", "1", 1);
    krait_backend *pb = krait_backend_cuda_init(krait_cuda_device_of(be), KRAIT_DTYPE_BF16);
    unsetenv("KRAIT_CUDA_PROFILE");
    if (pb && pb->reserve(pb, &d) == KRAIT_STATUS_OK) {
        fprintf(stderr, "profile B%d L%d E%d N%d chunk %d: ", B, L, E, N, chunk);
        ok(pb->ssm_scan_bwd(pb, du, dd, dbcg + 2 * R, dbcg + 2 * (R + N), dA, dD, dy, u, delta,
                            A_log, bc + 2 * R, bc + 2 * (R + N), ldbc, D, hc, B, L, E, N, chunk),
           "scan bwd (profiled)");
    }
    krait_backend_destroy(pb);
    be->free(be, u); be->free(be, dy); be->free(be, dbc); be->free(be, delta);
    be->free(be, A_log); be->free(be, D); be->free(be, dA); be->free(be, dD); be->free(be, hc);
    be->free(be, y); be->free(be, hl); be->free(be, du); be->free(be, dd); be->free(be, ddbc);
    free(hA);
}

/* The other memory-bound ops of a mamba-130m training step (B*L = 16384 rows). */
static void bench_ops(void)
{
    const int M = 16384, Dm = 768, E = 1536, V = 50280, B = 8, L = 2048, K = 4;
    krait_dims d = { .B = B, .L = L, .D = Dm, .E = E, .N = 16, .K = K, .R = 48, .V = V,
                     .chunk = be->scan_chunk, .rows = M };
    ok(be->reserve(be, &d), "reserve");
    float ms;
    {   /* conv (x inside xz) */
        void *xz = rand_act((size_t)M * 2 * E, 0, 0, 1), *out = dalloc((size_t)M * E * 2);
        void *dout = rand_act((size_t)M * E, 0, 0, 1), *dxz = dalloc((size_t)M * 2 * E * 2);
        float *w = rand_f32((size_t)E * K, 0, 0.3f), *bias = rand_f32(E, 0, 0.3f);
        float *dw = rand_f32((size_t)E * K, 0, 1), *db = rand_f32(E, 0, 1);
        TIME_MS(ms, 10, ok(be->conv1d_fwd(be, out, NULL, xz, 2 * E, w, bias, NULL, B, L, E, K, 1), "conv fwd"));
        report_bw("conv1d_fwd", ms, 2.0 * M * E * 2);
        TIME_MS(ms, 10, ok(be->conv1d_bwd(be, dxz, 2 * E, dw, db, dout, xz, w, bias, NULL, B, L, E, K, 1), "conv bwd"));
        report_bw("conv1d_bwd", ms, 3.0 * M * E * 2);
        TIME_MS(ms, 10, ok(be->gate_fwd(be, out, dout, (char *)xz + 2 * E, 2 * E, M, E), "gate fwd"));
        report_bw("gate_fwd", ms, 3.0 * M * E * 2);
        TIME_MS(ms, 10, ok(be->gate_bwd(be, out, (char *)dxz + 2 * E, 2 * E, dout, dout, (char *)xz + 2 * E, M, E), "gate bwd"));
        report_bw("gate_bwd", ms, 5.0 * M * E * 2);
        TIME_MS(ms, 10, ok(be->softplus_fwd(be, out, dout, bias, M, E), "softplus fwd"));
        report_bw("softplus_fwd", ms, 2.0 * M * E * 2);
        TIME_MS(ms, 10, ok(be->softplus_bwd(be, out, db, dout, dout, bias, M, E), "softplus bwd"));
        report_bw("softplus_bwd", ms, 3.0 * M * E * 2);
        be->free(be, xz); be->free(be, out); be->free(be, dout); be->free(be, dxz);
        be->free(be, w); be->free(be, bias); be->free(be, dw); be->free(be, db);
    }
    {   /* residual add + RMSNorm */
        float *r = rand_f32((size_t)M * Dm, 0, 1), *ro = dalloc((size_t)M * Dm * 4);
        float *rs = dalloc((size_t)M * 4), *w = rand_f32(Dm, 1, 0.1f), *dw = rand_f32(Dm, 0, 1);
        float *dr = rand_f32((size_t)M * Dm, 0, 1);
        void *x = rand_act((size_t)M * Dm, 0, 0, 1), *y = dalloc((size_t)M * Dm * 2);
        TIME_MS(ms, 10, ok(be->add_rmsnorm_fwd(be, ro, y, rs, r, x, w, M, Dm, 1e-5f), "rmsnorm fwd"));
        report_bw("add_rmsnorm_fwd", ms, (double)M * Dm * (4 + 2 + 4 + 2));
        TIME_MS(ms, 10, ok(be->add_rmsnorm_bwd(be, dr, y, dw, x, ro, rs, w, M, Dm), "rmsnorm bwd"));
        report_bw("add_rmsnorm_bwd", ms, (double)M * Dm * (4 + 2 + 4 + 4 + 2));
        be->free(be, r); be->free(be, ro); be->free(be, rs); be->free(be, w); be->free(be, dw);
        be->free(be, dr); be->free(be, x); be->free(be, y);
    }
    {   /* cross-entropy over the vocabulary, dlogits in place (8192 rows) */
        const int Mc = 8192;
        void *lg = rand_act((size_t)Mc * V, 0, 0, 2);
        float *loss = dalloc((size_t)Mc * 4);
        int32_t *tg = dalloc((size_t)Mc * 4), *ht = malloc((size_t)Mc * 4);
        for (int i = 0; i < Mc; i++) ht[i] = (int32_t)(tu_next() % V);
        ok(be->upload(be, tg, ht, (size_t)Mc * 4), "upload");
        TIME_MS(ms, 5, ok(be->cross_entropy(be, loss, lg, NULL, lg, tg, Mc, V, V, 1.0f / Mc), "ce"));
        report_bw("cross_entropy", ms, 2.0 * Mc * V * 2);   /* read once, write once (in place) */
        be->free(be, lg); be->free(be, loss); be->free(be, tg);
        free(ht);
    }
    {   /* AdamW over 130M parameters with the bf16 copy */
        const size_t n = 130000000;
        float *p = rand_f32(n, 0, 0.02f), *m = rand_f32(n, 0, 1e-3f), *v = dalloc(n * 4);
        float *g = rand_f32(n, 0, 1e-2f);
        void *pa = dalloc(n * 2);
        ok(be->zero(be, v, n * 4), "zero");
        krait_adamw_params hp = { 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f, 3 };
        TIME_MS(ms, 5, ok(be->adamw(be, p, m, v, pa, g, n, &hp), "adamw"));
        report_bw("adamw", ms, (double)n * (4 * 4 + 3 * 4 + 2));
        be->free(be, p); be->free(be, m); be->free(be, v); be->free(be, g); be->free(be, pa);
    }
}

int main(int argc, char **argv)
{
    tu_init("bench_ops_gpu");
    if (krait_cuda_device_count() == 0) {
        fprintf(stderr, "bench_ops_gpu: no CUDA device: skipped\n");
        return 77;
    }
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    be = krait_backend_cuda_init(0, KRAIT_DTYPE_BF16);
    if (!be) return 1;
    stream = (cudaStream_t)krait_cuda_stream_of(be);
    cudaEventCreate(&ev0);
    cudaEventCreate(&ev1);
    struct cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, krait_cuda_device_of(be));
    fprintf(stderr, "bench_ops_gpu: %s, %d SMs, %.0f MB L2\n", prop.name,
            prop.multiProcessorCount, prop.l2CacheSize / 1e6);
    bench_copy();
    bench_gemm("8192^3", 8192, 8192, 8192);
    bench_gemm("130m in_proj", 16384, 3072, 768);
    bench_gemm("130m out_proj", 16384, 768, 1536);
    bench_gemm("130m x_proj", 16384, 80, 1536);
    bench_gemm("130m dt_proj", 16384, 1536, 48);
    bench_gemm("130m lm_head", 16384, 50280, 768);
    /* the batch-1 decode products of mamba-1.4b (D 2048, E 4096, R 128) and -130m;
     * cuBLASLt's time from a backend that leaves them to it (the streams are ordered: the two
     * backends never run at once here) */
    setenv("KRAIT_CUDA_GEMV", "0", 1);
    be_lt = krait_backend_cuda_init(0, KRAIT_DTYPE_BF16);
    unsetenv("KRAIT_CUDA_GEMV");
    bench_gemv("1.4b in_proj", 8192, 2048);
    bench_gemv("1.4b x_proj", 160, 4096);
    bench_gemv("1.4b dt_proj", 4096, 128);
    bench_gemv("1.4b out_proj", 2048, 4096);
    bench_gemv("1.4b lm_head", 50280, 2048);
    bench_gemv("130m in_proj", 3072, 768);
    bench_gemv("130m out_proj", 768, 1536);
    if (be_lt) krait_backend_destroy(be_lt);
    bench_scan(8, 2048, 1536, 16, be->scan_chunk);
    if (!quick) {
        bench_scan(8, 2048, 1536, 16, 8);                /* h_chunks every 8 steps: no pass A */
        bench_scan(8, 2048, 2048, 16, be->scan_chunk);   /* mamba-370m width */
        bench_scan(1, 2048, 1536, 16, be->scan_chunk);   /* one sequence: few blocks */
        bench_scan(1, 4096, 1536, 16, be->scan_chunk);   /* one 130m prefill chunk */
        bench_scan(1, 4096, 4096, 16, be->scan_chunk);   /* one 1.4b prefill chunk */
        bench_ops();
    }
    cudaEventDestroy(ev0);
    cudaEventDestroy(ev1);
    krait_backend_destroy(be);
    free(pool_normal);
    free(pool_unit);
    return failed;
}
