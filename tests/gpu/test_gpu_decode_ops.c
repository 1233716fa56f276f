/* tests/gpu/test_gpu_decode_ops.c — the optional decode ops of the CUDA backend (conv1d_step,
 * ssm_step, sample_rows; kernels/cuda/cuda_decode.cu) against the plain-C reference
 * (kernels/cpu/ref_decode.c) on fresh random inputs in the ops' real domains: the 130m and 1.4b
 * layer shapes at batch 1 and 64, and odd ones (E not a multiple of the block, N = 4, K = 2,
 * strided x/z views inside xz, dbc rows wider than R + 2N). Label gpu; exit 77 without a device;
 * KRAIT_GPU_TEST_STANDIN=emu runs the real kernels on the CPU emulator.
 *
 * Tolerances: conv and ssm outputs rel 1e-5 (fp32; the sums are fp32 in another order than the
 * reference's double) or 1e-2 (bf16: one rounding of the output, a half-ulp flip of delta or
 * dtl changes the state by ~0.4%); the state rel 1e-4 / 2e-2 after 3 chained steps. The conv
 * state shift is a copy: bit for bit. sample_rows: greedy bit for bit (the same arg-max with
 * the lowest id on ties, ties planted); stochastic draws equal the reference's for every row
 * (both use krait_sample_uniform and sum the same masses in double; a draw could only differ
 * within ~1e-15 of a boundary), the counter advances by 1 per draw and not for greedy, and the
 * seen set gains exactly the sampled id. */
#include "gpu_testutil.h"

#include "cpu/cpu_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int quick(void)
{
    const char *q = getenv("KRAIT_GPU_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

static void conv_step_case(gt *t, int B, int E, int K, int ldx)
{
    const int bf = t->dt == KRAIT_DTYPE_BF16;
    printf("conv_step %s B%d E%d K%d ldx%d\n", t->dn, B, E, K, ldx);
    const size_t nx = (size_t)B * ldx, nu = (size_t)B * E, nS = (size_t)B * (K - 1) * E + 1, es = gt_esz(t);
    float *x = gt_hmalloc(nx), *w = gt_hmalloc((size_t)E * K), *bias = gt_hmalloc(E), *s = gt_hmalloc(nS);
    tu_fill_normal(x, nx, 0, 1);
    tu_fill_uniform(w, (size_t)E * K, -0.5f, 0.5f);
    tu_fill_uniform(bias, E, -0.5f, 0.5f);
    tu_fill_normal(s, nS, 0, 1);
    gt_round(t, x, nx);
    float *ru = gt_hmalloc(nu), *rs = gt_hcopy(s, nS);
    void *d_x = gt_dev(t, nx * es, "x"), *d_u = gt_dev(t, nu * es, "u");
    float *d_w = gt_dev(t, (size_t)E * K * 4, "w"), *d_b = gt_dev(t, (size_t)E * 4, "bias");
    float *d_s = gt_dev(t, nS * 4, "state");
    gt_up(t, d_x, x, nx);
    gt_upf(t, d_w, w, (size_t)E * K * 4);
    gt_upf(t, d_b, bias, (size_t)E * 4);
    gt_upf(t, d_s, s, nS * 4);
    float *gu = gt_hmalloc(nu), *gs = gt_hmalloc(nS);
    for (int rep = 0; rep < 3; rep++) {   /* three chained steps: the shifted state feeds the next */
        conv1d_step_ref(t->r, ru, rs, x, ldx, w, bias, B, E, K);
        krait_status st = t->g->conv1d_step(t->g, d_u, d_s, d_x, ldx, d_w, d_b, B, E, K);
        tu_check(st == KRAIT_STATUS_OK, "conv1d_step status %s", krait_status_string(st));
    }
    gt_down(t, gu, d_u, nu);
    gt_downf(t, gs, d_s, nS * 4);
    gt_cmp("conv_step u", gu, ru, nu, bf ? 1e-2 : 1e-5, bf ? 2e-3 : 1e-6, bf ? 5e-3 : 1e-6);
    gt_same("conv_step state (shift + new row)", gs, rs, (nS - 1) * 4);
    gt_guards(t, "conv_step");
    gt_free_all(t);
    free(x); free(w); free(bias); free(s); free(ru); free(rs); free(gu); free(gs);
}

static void ssm_step_case(gt *t, int B, int E, int N, int R, int ldbc, int ldz, int with_d)
{
    const int bf = t->dt == KRAIT_DTYPE_BF16;
    printf("ssm_step %s B%d E%d N%d R%d ldbc%d ldz%d D=%d\n", t->dn, B, E, N, R, ldbc, ldz, with_d);
    const size_t nu = (size_t)B * E, nz = (size_t)B * ldz, nd = (size_t)B * ldbc, nh = (size_t)B * E * N;
    const size_t es = gt_esz(t);
    float *u = gt_hmalloc(nu), *z = gt_hmalloc(nz), *dbc = gt_hmalloc(nd), *dtw = gt_hmalloc((size_t)E * R);
    float *dtb = gt_hmalloc(E), *alog = gt_hmalloc((size_t)E * N), *dsk = gt_hmalloc(E), *h = gt_hmalloc(nh);
    tu_fill_normal(u, nu, 0, 1);
    tu_fill_normal(z, nz, 0, 1);
    tu_fill_normal(dbc, nd, 0, 1);
    tu_fill_uniform(dtw, (size_t)E * R, -1.0f / sqrtf((float)R), 1.0f / sqrtf((float)R));
    for (int e = 0; e < E; e++) dtb[e] = logf(expm1f(0.001f + 0.099f * (float)tu_uniform(0, 1)));  /* dt in [1e-3, 0.1] */
    for (int e = 0; e < E; e++)
        for (int n = 0; n < N; n++) alog[(size_t)e * N + n] = logf((float)(n + 1));
    tu_fill_uniform(dsk, E, 0.5f, 1.5f);
    tu_fill_normal(h, nh, 0, 1);
    gt_round(t, u, nu);
    gt_round(t, z, nz);
    gt_round(t, dbc, nd);
    gt_round(t, dtw, (size_t)E * R);
    float *rout = gt_hmalloc(nu), *rh = gt_hcopy(h, nh);
    void *d_u = gt_dev(t, nu * es, "u"), *d_z = gt_dev(t, nz * es, "z"), *d_dbc = gt_dev(t, nd * es, "dbc");
    void *d_dtw = gt_dev(t, (size_t)E * R * es, "dt_w"), *d_out = gt_dev(t, nu * es, "out");
    float *d_dtb = gt_dev(t, (size_t)E * 4, "dt_bias"), *d_al = gt_dev(t, (size_t)E * N * 4, "A_log");
    float *d_dsk = gt_dev(t, (size_t)E * 4, "D"), *d_h = gt_dev(t, nh * 4, "h");
    gt_up(t, d_u, u, nu);
    gt_up(t, d_z, z, nz);
    gt_up(t, d_dbc, dbc, nd);
    gt_up(t, d_dtw, dtw, (size_t)E * R);
    gt_upf(t, d_dtb, dtb, (size_t)E * 4);
    gt_upf(t, d_al, alog, (size_t)E * N * 4);
    gt_upf(t, d_dsk, dsk, (size_t)E * 4);
    gt_upf(t, d_h, h, nh * 4);
    for (int rep = 0; rep < 3; rep++) {
        ssm_step_ref(t->r, rout, rh, u, dbc, ldbc, dtw, dtb, alog, with_d ? dsk : NULL, z, ldz, B, E, N, R);
        krait_status st = t->g->ssm_step(t->g, d_out, d_h, d_u, d_dbc, ldbc, d_dtw, d_dtb, d_al,
                                         with_d ? d_dsk : NULL, d_z, ldz, B, E, N, R);
        tu_check(st == KRAIT_STATUS_OK, "ssm_step status %s", krait_status_string(st));
    }
    float *gout = gt_hmalloc(nu), *gh = gt_hmalloc(nh);
    gt_down(t, gout, d_out, nu);
    gt_downf(t, gh, d_h, nh * 4);
    gt_cmp("ssm_step out", gout, rout, nu, bf ? 2e-2 : 1e-5, bf ? 4e-3 : 1e-6, bf ? 1e-2 : 1e-6);
    gt_cmp("ssm_step state (3 steps)", gh, rh, nh, bf ? 2e-2 : 1e-4, bf ? 4e-3 : 1e-6, bf ? 1e-2 : 1e-6);
    gt_guards(t, "ssm_step");
    gt_free_all(t);
    free(u); free(z); free(dbc); free(dtw); free(dtb); free(alog); free(dsk); free(h);
    free(rout); free(rh); free(gout); free(gh);
}

/* nan: every third row (from row 1) holds a NaN logit: token -1, its seen and counter untouched */
static void sample_case(gt *t, int B, int V, int ld, float temp, float min_p, float rp, int nan)
{
    printf("sample_rows %s B%d V%d ld%d T%.2f min_p%.2f rp%.2f%s\n", t->dn, B, V, ld, temp, min_p, rp,
           nan ? " NaN rows" : "");
    const size_t nl = (size_t)B * ld, ns = (size_t)B * V;
    float *l = gt_hmalloc(nl);
    tu_fill_normal(l, nl, 0, 3);
    for (int b = 0; b < B; b++) {   /* a planted tie for the arg-max, at two ids */
        float *row = l + (size_t)b * ld;
        int i0 = (b * 7919) % V, i1 = (b * 104729 + V / 2) % V;
        row[i0] = row[i1] = 30.0f;
        if (nan && b % 3 == 1) row[(b * 31 + 5) % V] = NAN;
    }
    gt_round(t, l, nl);
    uint8_t *seen = calloc(ns, 1), *rseen;
    for (size_t i = 0; i < ns; i++) seen[i] = tu_uniform(0, 1) < 0.05;
    uint64_t *rng = malloc((size_t)B * 2 * sizeof *rng), *rrng;
    for (int b = 0; b < B; b++) {
        rng[2 * b] = 0x1234567ull * (uint64_t)(b + 1);
        rng[2 * b + 1] = (uint64_t)b;
    }
    rseen = malloc(ns);
    memcpy(rseen, seen, ns);
    rrng = malloc((size_t)B * 2 * sizeof *rrng);
    memcpy(rrng, rng, (size_t)B * 2 * sizeof *rng);
    int32_t *rtok = malloc((size_t)B * 4), *gtok = malloc((size_t)B * 4);
    sample_rows_ref(t->r, rtok, rp != 1.0f ? rseen : NULL, rrng, l, ld, B, V, temp, min_p, rp);
    void *d_l = gt_dev(t, nl * gt_esz(t), "logits");
    int32_t *d_tok = gt_dev(t, (size_t)B * 4, "tokens");
    uint8_t *d_seen = gt_dev(t, ns, "seen");
    uint64_t *d_rng = gt_dev(t, (size_t)B * 16, "rng");
    gt_up(t, d_l, l, nl);
    gt_upf(t, d_seen, seen, ns);
    gt_upf(t, d_rng, rng, (size_t)B * 16);
    krait_status st = t->g->sample_rows(t->g, d_tok, rp != 1.0f ? d_seen : NULL, d_rng, d_l, ld, B, V, temp,
                                        min_p, rp);
    tu_check(st == KRAIT_STATUS_OK, "sample_rows status %s", krait_status_string(st));
    uint8_t *gseen = malloc(ns);
    uint64_t *grng = malloc((size_t)B * 16);
    gt_downf(t, gtok, d_tok, (size_t)B * 4);
    gt_downf(t, gseen, d_seen, ns);
    gt_downf(t, grng, d_rng, (size_t)B * 16);
    int same = 0, nan_ok = 1;
    for (int b = 0; b < B; b++) same += gtok[b] == rtok[b];
    for (int b = 0; b < B; b++) nan_ok &= (gtok[b] == -1) == (nan && b % 3 == 1);
    tu_check(same == B, "sample_rows: %d of %d rows draw the reference's token", same, B);
    tu_check(nan_ok, "sample_rows: -1 exactly on the rows with a NaN logit");
    if (nan) { /* a NaN row draws nothing: its counter and seen set as they were */
        int kept = 1;
        for (int b = 1; b < B; b += 3) kept &= grng[2 * b + 1] == rng[2 * b + 1] && !memcmp(gseen + (size_t)b * V, seen + (size_t)b * V, (size_t)V);
        tu_check(kept, "sample_rows: NaN rows leave their counter and seen set");
    }
    gt_same("sample_rows counters", grng, rrng, (size_t)B * 16);
    if (rp != 1.0f) gt_same("sample_rows seen sets", gseen, rseen, ns);
    if (temp == 0.0f) {
        int low = 1;   /* the planted tie resolves to the lower id unless a penalty moved it */
        for (int b = 0; b < B; b++) {
            int i0 = (b * 7919) % V, i1 = (b * 104729 + V / 2) % V, lo = i0 < i1 ? i0 : i1;
            if (rp == 1.0f && !(nan && b % 3 == 1)) low &= gtok[b] == lo;
        }
        tu_check(low, "greedy: ties go to the lowest id");
    }
    gt_guards(t, "sample_rows");
    gt_free_all(t);
    free(l); free(seen); free(rseen); free(rng); free(rrng); free(rtok); free(gtok); free(gseen); free(grng);
}

int main(void)
{
    if (!gt_begin("test_gpu_decode_ops")) return TU_SKIP;
    if (!krait_cuda_compiled() && !getenv("KRAIT_GPU_TEST_STANDIN")) return TU_SKIP;
    krait_dtype dts[2];
    const int ndt = gt_dtypes(dts), q = quick();
    for (int k = 0; k < ndt; k++) {
        gt t;
        krait_dims max = { .B = 64, .L = 1, .E = 4096, .K = 4, .N = 16, .R = 128, .V = 50280, .rows = 64 };
        if (!gt_open(&t, dts[k], &max)) continue;
        if (!tu_check(t.g->conv1d_step && t.g->ssm_step && t.g->sample_rows, "%s has the decode ops", t.g->name)) {
            gt_close(&t);
            continue;
        }
        /*                B     E  K   ldx */
        conv_step_case(&t, 1, 1536, 4, 3072);     /* 130m, x inside xz */
        conv_step_case(&t, q ? 4 : 64, 4096, 4, 8192);   /* 1.4b */
        conv_step_case(&t, 3, 133, 2, 300);       /* ragged E, K = 2 */
        conv_step_case(&t, 2, 37, 1, 37);         /* K = 1: no state */
        /*               B     E   N    R  ldbc   ldz  D */
        ssm_step_case(&t, 1, 1536, 16, 48, 80, 3072, 1);          /* 130m */
        ssm_step_case(&t, q ? 4 : 64, 4096, 16, 128, 160, 8192, 1); /* 1.4b */
        ssm_step_case(&t, 3, 133, 4, 5, 20, 300, 0);              /* ragged, N = 4, no D */
        /* the lanes per channel (a power of two >= N, at most 32): 1, 8 with idle lanes and
         * R < lanes, 32 with two states per lane, 32 with a partial second state */
        ssm_step_case(&t, 2, 70, 1, 3, 5, 70, 1);
        ssm_step_case(&t, 2, 45, 5, 2, 12, 45, 1);
        ssm_step_case(&t, 1, 40, 64, 4, 132, 40, 1);
        ssm_step_case(&t, 1, 33, 48, 7, 103, 33, 0);
        /*              B      V     ld    T    min_p  rp */
        sample_case(&t, 4, 50280, 50280, 0.0f, 0.0f, 1.0f, 0);      /* greedy */
        sample_case(&t, 4, 50277, 50280, 0.0f, 0.0f, 1.3f, 0);      /* greedy + penalty, V < ld */
        sample_case(&t, q ? 8 : 64, 50280, 50280, 1.0f, 0.0f, 1.0f, 0);
        sample_case(&t, 8, 50280, 50280, 0.7f, 0.05f, 1.2f, 0);
        sample_case(&t, 5, 300, 304, 2.0f, 0.0f, 0.8f, 0);          /* small vocabulary, rp < 1 */
        sample_case(&t, 3, 7, 8, 1.0f, 0.5f, 1.0f, 0);              /* fewer ids than threads */
        sample_case(&t, 7, 50280, 50280, 0.0f, 0.0f, 1.0f, 1);      /* NaN rows, greedy */
        sample_case(&t, 7, 300, 304, 1.0f, 0.05f, 1.3f, 1);         /* NaN rows, sampled + penalty */
        gt_close(&t);
    }
    return tu_finish();
}
