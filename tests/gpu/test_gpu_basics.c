/* tests/gpu/test_gpu_basics.c — the CUDA backend object itself: init in both activation dtypes
 * (and a clear NULL for a device that does not exist), memory round trips (upload, download,
 * copy, zero), the dtype casts (bit-exact against the host's round-to-nearest-even, including
 * ties, subnormals, Inf and NaN), sumsq against the reference in double (and bitwise repeatable),
 * supports(), zero-size calls, and the error paths (unsupported sizes, scratch not reserved)
 * that must return a status instead of crashing.
 */
#include "gpu_testutil.h"

#include "bf16.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void memory_case(gt *t)
{
    printf("memory %s\n", t->dn);
    const size_t n = 1000003;
    unsigned char *h = malloc(n), *h2 = malloc(n);
    for (size_t i = 0; i < n; i++) h[i] = (unsigned char)(tu_next() & 0xff);
    void *a = gt_dev(t, n, "a"), *b = gt_dev(t, n, "b");
    gt_upf(t, a, h, n);
    gt_downf(t, h2, a, n);
    gt_same("upload/download round trip", h2, h, n);
    tu_check(t->g->copy(t->g, b, a, n) == KRAIT_STATUS_OK, "copy status");
    gt_downf(t, h2, b, n);
    gt_same("copy", h2, h, n);
    tu_check(t->g->zero(t->g, (char *)b + 7, n - 14) == KRAIT_STATUS_OK, "zero status");
    gt_downf(t, h2, b, n);
    int ok = 1;
    for (size_t i = 0; i < n; i++) ok &= h2[i] == ((i < 7 || i >= n - 7) ? h[i] : 0);
    tu_check(ok, "zero: wrong bytes (only [7, n-7) must be zero)");
    tu_check(t->g->sync(t->g) == KRAIT_STATUS_OK, "sync");
    gt_guards(t, "memory");
    gt_free_all(t);
    free(h);
    free(h2);
}

static void cast_case(gt *t)
{
    printf("casts %s\n", t->dn);
    const size_t n = 4099;
    float *x = gt_hmalloc(n), *back = gt_hmalloc(n);
    tu_fill_normal(x, n, 0, 3);
    /* ties to even, subnormals, extremes, specials */
    const uint32_t special[] = { 0x3f808000u, 0x3f818000u, 0x3f80c000u, 0x00000001u, 0x80400000u,
                                 0x7f7fffffu, 0xff7fffffu, 0x7f800000u, 0xff800000u, 0x7fc00000u,
                                 0x00000000u, 0x80000000u, 0x3f7fffffu, 0x477fe000u };
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) memcpy(&x[i], &special[i], 4);
    float *d_f = gt_dev(t, n * 4, "f32 src");
    void *d_a = gt_dev(t, n * gt_esz(t), "act");
    float *d_b = gt_dev(t, n * 4, "f32 back");
    gt_upf(t, d_f, x, n * 4);
    tu_check(t->g->to_act(t->g, d_a, d_f, n) == KRAIT_STATUS_OK, "to_act status");
    tu_check(t->g->from_act(t->g, d_b, d_a, n) == KRAIT_STATUS_OK, "from_act status");
    if (t->dt == KRAIT_DTYPE_BF16) {
        uint16_t *bits = malloc(n * 2), *want = malloc(n * 2);
        gt_downf(t, bits, d_a, n * 2);
        int bad = -1;
        for (size_t i = 0; i < n; i++) {
            want[i] = krait_f32_to_bf16(x[i]);
            int nan_both = isnan(x[i]) && (bits[i] & 0x7fff) > 0x7f80;
            if (bits[i] != want[i] && !nan_both && bad < 0) bad = (int)i;
        }
        tu_check(bad < 0, "to_act bf16: element %d: got 0x%04x want 0x%04x", bad,
                 bad >= 0 ? bits[bad] : 0, bad >= 0 ? want[bad] : 0);
        free(bits);
        free(want);
    }
    gt_downf(t, back, d_b, n * 4);
    int bad = -1;
    for (size_t i = 0; i < n; i++) {
        float w = t->dt == KRAIT_DTYPE_BF16 ? krait_bf16_to_f32(krait_f32_to_bf16(x[i])) : x[i];
        int same = memcmp(&w, &back[i], 4) == 0 || (isnan(w) && isnan(back[i]));
        if (!same && bad < 0) bad = (int)i;
    }
    tu_check(bad < 0, "to_act/from_act round trip: element %d: got %g want %g", bad,
             bad >= 0 ? back[bad] : 0.0, bad >= 0 ? x[bad] : 0.0);
    if (bad < 0) printf("  ok   casts: %zu values round trip exactly\n", n);
    gt_guards(t, "casts");
    gt_free_all(t);
    free(x);
    free(back);
}

static void sumsq_case(gt *t, size_t n)
{
    printf("sumsq %s n=%zu\n", t->dn, n);
    float *x = gt_hmalloc(n);
    tu_fill_normal(x, n, 0, 2);
    float *d = gt_dev(t, n * 4, "x");
    gt_upf(t, d, x, n * 4);
    double want = 0, got = -1, got2 = -2;
    t->r->sumsq(t->r, &want, x, n);
    tu_check(t->g->sumsq(t->g, &got, d, n) == KRAIT_STATUS_OK, "sumsq status");
    tu_check(t->g->sumsq(t->g, &got2, d, n) == KRAIT_STATUS_OK, "sumsq status (2nd)");
    tu_close_d("sumsq vs reference", &got, &want, 1, 1e-12, 1e-300);
    gt_same("sumsq twice", &got, &got2, sizeof got);
    gt_free_all(t);
    free(x);
}

static void errors_case(gt *t)
{
    printf("capabilities and error paths %s\n", t->dn);
    krait_dims d = { .N = 16, .K = 4 };
    tu_check(t->g->supports(t->g, KRAIT_OP_SSM_SCAN, &d), "supports scan N=16");
    tu_check(t->g->supports(t->g, KRAIT_OP_CONV1D, &d), "supports conv K=4");
    d.N = 64;
    tu_check(t->g->supports(t->g, KRAIT_OP_SSM_SCAN, &d), "supports scan N=64");
    d.N = 65;
    d.K = 9;
    if (strcmp(t->g->name, "cuda") == 0) {
        tu_check(!t->g->supports(t->g, KRAIT_OP_SSM_SCAN, &d), "does not claim scan N=65");
        tu_check(!t->g->supports(t->g, KRAIT_OP_CONV1D, &d), "does not claim conv K=9");
        /* unsupported sizes give a status, not a crash */
        krait_status st = t->g->ssm_scan_fwd(t->g, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                             16, NULL, NULL, 1, 8, 8, 100, 8);
        tu_check(st == KRAIT_STATUS_UNSUPPORTED, "scan N=100: status %s", krait_status_string(st));
        /* a fresh backend without reserve(): ops that need scratch say so */
        krait_backend *f = krait_backend_cuda_init(0, t->dt);
        if (tu_check(f != NULL, "second backend")) {
            void *buf = f->alloc(f, 1 << 20);
            st = f->ssm_scan_bwd(f, buf, buf, buf, buf, buf, NULL, buf, buf, buf, buf, buf, buf,
                                 32, NULL, buf, 1, 64, 64, 16, 64);
            tu_check(st == KRAIT_STATUS_NO_MEMORY, "scan bwd without reserve: status %s",
                     krait_status_string(st));
            f->free(f, buf);
            krait_backend_destroy(f);
        }
        int n = krait_cuda_device_count();
        tu_check(krait_backend_cuda_init(n + 3, t->dt) == NULL, "init of device %d is NULL", n + 3);
    }
    /* zero-size calls are no-ops */
    krait_status st = t->g->gate_fwd(t->g, NULL, NULL, NULL, 8, 0, 8);
    st |= t->g->softplus_fwd(t->g, NULL, NULL, NULL, 0, 8);
    st |= t->g->linear_fwd(t->g, NULL, 8, NULL, 8, NULL, NULL, 0, 8, 8, 0.0f);
    st |= t->g->sumsq(t->g, &(double){ 0 }, NULL, 0);
    st |= t->g->adamw(t->g, NULL, NULL, NULL, NULL, NULL, 0,
                      &(krait_adamw_params){ 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f, 1 });
    tu_check(st == KRAIT_STATUS_OK, "zero-size calls return ok");
}

int main(void)
{
    if (!gt_begin("test_gpu_basics")) return TU_SKIP;
    printf("CUDA devices: %d\n", krait_cuda_device_count());
    krait_dtype dts[2];
    const int ndt = gt_dtypes(dts);
    for (int k = 0; k < ndt; k++) {
        gt t;
        krait_dims max = { .B = 1, .L = 64, .E = 64, .N = 16, .K = 4, .D = 64, .chunk = 64 };
        if (!gt_open(&t, dts[k], &max)) continue;
        printf("backend %s act %s scan_chunk %d\n", t.g->name, t.dn, t.g->scan_chunk);
        tu_check(t.g->act_dtype == dts[k], "act_dtype");
        tu_check(t.g->scan_chunk >= 1, "scan_chunk");
        memory_case(&t);
        cast_case(&t);
        sumsq_case(&t, 1);
        sumsq_case(&t, 1000);
        sumsq_case(&t, 10000019);
        errors_case(&t);
        gt_close(&t);
    }
    return tu_finish();
}
