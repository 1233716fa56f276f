/* tests/cpu/test_ref_grad_ops.c — the reference embedding, add+RMSNorm, linear, softplus, gate,
 * cross-entropy and AdamW against double-precision versions written here; every backward
 * against central finite differences of the double forward; plus the memory functions.
 *
 * Loss = sum(w_out * out) with random w_out (for cross-entropy: scale * sum of row losses).
 * FD eps 1e-6 in double (error < 1e-9 relative); the fp32 outputs dominate. Tolerances:
 * forward rtol 1e-5, backward rtol 1e-4, absolute floor 1e-5 x the tensor's largest entry;
 * AdamW rtol 1e-5 after 5 steps (fp32 state rounding, ~1e-7 per step).
 */
#include "cpu_internal.h"
#include "cpu_testutil.h"
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FD_EPS 1e-6
#define FWD_RTOL 1e-5
#define BWD_RTOL 1e-4
#define ATOL_REL 1e-5

/* ---- embedding: linear in W, so FD recovers dW exactly; checks += and repeated ids -------- */
static void embedding_case(krait_backend *be, int M, int V, int D)
{
    printf("embedding M%d V%d D%d\n", M, V, D);
    int32_t *ids = malloc(M * sizeof *ids);
    for (int r = 0; r < M; r++) ids[r] = (int32_t)(tu_next() % (uint64_t)V);
    ids[M - 1] = ids[0];   /* a repeated id */
    size_t nW = (size_t)V * D, nO = (size_t)M * D;
    float *W = malloc(nW * 4), *dout = malloc(nO * 4), *dW = malloc(nW * 4), *dW0 = malloc(nW * 4);
    tu_fill_normal(W, nW, 0, 1);
    tu_fill_normal(dout, nO, 0, 1);
    tu_fill_normal(dW0, nW, 0, 1);
    memcpy(dW, dW0, nW * 4);
    float *out = tu_alloc_guarded(nO);
    be->embedding_fwd(be, out, ids, W, M, D);
    double *want = zeros_d(nO), *gW = zeros_d(nW);
    for (int r = 0; r < M; r++)
        for (int d = 0; d < D; d++) {
            want[(size_t)r * D + d] = W[(size_t)ids[r] * D + d];
            gW[(size_t)ids[r] * D + d] += dout[(size_t)r * D + d];
        }
    grad_close("fwd out", out, want, nO, 0.0, 0.0);
    tu_guard_ok("out", out, nO);
    be->embedding_bwd(be, dW, dout, ids, M, D);
    for (size_t i = 0; i < nW; i++) dW[i] -= dW0[i];
    grad_close("bwd dW (+=)", dW, gW, nW, BWD_RTOL, ATOL_REL);
    free(ids); free(W); free(dout); free(dW); free(dW0); free(want); free(gW);
    tu_free_guarded(out);
}

/* ---- add + RMSNorm ------------------------------------------------------------------------ */
typedef struct norm_ctx {
    int M, D;
    double eps;
    double *r_in, *x, *w;    /* (M, D), (M, D) or NULL, (D) */
    double *wy, *wr;         /* loss weights on y and on r_out (the residual path) */
    double *y, *r, *rstd;
} norm_ctx;

static void norm_fwd_d(norm_ctx *c)
{
    for (int i = 0; i < c->M; i++) {
        double ss = 0.0;
        for (int d = 0; d < c->D; d++) {
            size_t k = (size_t)i * c->D + d;
            c->r[k] = c->r_in[k] + (c->x ? c->x[k] : 0.0);
            ss += c->r[k] * c->r[k];
        }
        c->rstd[i] = 1.0 / sqrt(ss / c->D + c->eps);
        for (int d = 0; d < c->D; d++) {
            size_t k = (size_t)i * c->D + d;
            c->y[k] = c->r[k] * c->rstd[i] * c->w[d];
        }
    }
}

static double norm_loss(void *ctx)
{
    norm_ctx *c = ctx;
    norm_fwd_d(c);
    size_t n = (size_t)c->M * c->D;
    return dot_d(c->wy, c->y, n) + dot_d(c->wr, c->r, n);
}

static void norm_case(krait_backend *be, int M, int D, int with_x, int dx_mode)
{
    printf("add_rmsnorm M%d D%d x=%d dx=%s\n", M, D, with_x,
           dx_mode == 0 ? "NULL" : dx_mode == 1 ? "separate" : "alias dr");
    size_t n = (size_t)M * D;
    float eps = 1e-5f;
    float *r_in = malloc(n * 4), *x = malloc(n * 4), *w = malloc(D * 4), *wy = malloc(n * 4);
    float *wr = malloc(n * 4);
    tu_fill_normal(r_in, n, 0, 1);
    tu_fill_normal(x, n, 0, 1);
    tu_fill_uniform(w, D, 0.5f, 1.5f);
    tu_fill_normal(wy, n, 0, 1);
    tu_fill_normal(wr, n, 0, 1);
    norm_ctx c = { M, D, eps, dup_d(r_in, n), with_x ? dup_d(x, n) : NULL, dup_d(w, D),
                   dup_d(wy, n), dup_d(wr, n), zeros_d(n), zeros_d(n), zeros_d(M) };
    norm_fwd_d(&c);

    float *r = tu_alloc_guarded(n), *y = tu_alloc_guarded(n), *rstd = tu_alloc_guarded(M);
    be->add_rmsnorm_fwd(be, r, y, rstd, r_in, with_x ? x : NULL, w, M, D, eps);
    grad_close("fwd r_out", r, c.r, n, FWD_RTOL, ATOL_REL);
    grad_close("fwd y", y, c.y, n, FWD_RTOL, ATOL_REL);
    grad_close("fwd rstd", rstd, c.rstd, M, FWD_RTOL, ATOL_REL);
    tu_guard_ok("r_out", r, n);
    tu_guard_ok("y", y, n);
    tu_guard_ok("rstd", rstd, M);
    float *r2 = malloc(n * 4);   /* r_out aliasing r_in */
    memcpy(r2, r_in, n * 4);
    float *y2 = malloc(n * 4), *rstd2 = malloc(M * 4);
    be->add_rmsnorm_fwd(be, r2, y2, rstd2, r2, with_x ? x : NULL, w, M, D, eps);
    tu_check(memcmp(r2, r, n * 4) == 0 && memcmp(y2, y, n * 4) == 0,
             "add_rmsnorm: r_out aliasing r_in changes the result");

    float *dr = tu_alloc_guarded(n), *dx = tu_alloc_guarded(n), *dw = malloc(D * 4), *dw0 = malloc(D * 4);
    memcpy(dr, wr, n * 4);
    tu_fill_normal(dw0, D, 0, 1);
    memcpy(dw, dw0, D * 4);
    void *dxp = dx_mode == 0 ? NULL : dx_mode == 1 ? (void *)dx : (void *)dr;
    be->add_rmsnorm_bwd(be, dr, dxp, dw, wy, r, rstd, w, M, D);
    for (int d = 0; d < D; d++) dw[d] -= dw0[d];
    double *g_r = zeros_d(n), *g_x = zeros_d(n), *g_w = zeros_d(D);
    for (size_t i = 0; i < n; i++) g_r[i] = fd_at(&c.r_in[i], FD_EPS, norm_loss, &c);
    if (with_x)
        for (size_t i = 0; i < n; i++) g_x[i] = fd_at(&c.x[i], FD_EPS, norm_loss, &c);
    for (int d = 0; d < D; d++) g_w[d] = fd_at(&c.w[d], FD_EPS, norm_loss, &c);
    grad_close("bwd dr (= dL/dr_in)", dr, g_r, n, BWD_RTOL, ATOL_REL);
    if (with_x) grad_close("bwd dr vs dL/dx", dr, g_x, n, BWD_RTOL, ATOL_REL);
    if (dx_mode == 1) tu_check(memcmp(dx, dr, n * 4) == 0, "add_rmsnorm: dx is not a copy of dr");
    grad_close("bwd dw (+=)", dw, g_w, D, BWD_RTOL, ATOL_REL);
    tu_guard_ok("dr", dr, n);
    tu_guard_ok("dx", dx, n);

    free(r_in); free(x); free(w); free(wy); free(wr); free(r2); free(y2); free(rstd2);
    free(c.r_in); free(c.x); free(c.w); free(c.wy); free(c.wr); free(c.y); free(c.r); free(c.rstd);
    tu_free_guarded(r); tu_free_guarded(y); tu_free_guarded(rstd); tu_free_guarded(dr);
    tu_free_guarded(dx); free(dw); free(dw0); free(g_r); free(g_x); free(g_w);
}

/* ---- linear ---------------------------------------------------------------------------- */
/* Rows so small (r ~ 1e-3) that eps (1e-5) outweighs their mean square (1e-6): y against the
 * double formula r w / sqrt(mean r^2 + eps), where dropping eps would triple y. */
static void norm_small_case(krait_backend *be)
{
    enum { M = 3, D = 16 };
    const float eps = 1e-5f;
    float r_in[M * D], w[D], r[M * D], y[M * D], rstd[M];
    tu_fill_normal(r_in, M * D, 0, 1e-3f);
    tu_fill_uniform(w, D, 0.5f, 1.5f);
    be->add_rmsnorm_fwd(be, r, y, rstd, r_in, NULL, w, M, D, eps);
    double want[M * D];
    for (int m = 0; m < M; m++) {
        double ss = 0;
        for (int d = 0; d < D; d++) ss += (double)r_in[m * D + d] * r_in[m * D + d];
        double s = 1.0 / sqrt(ss / D + eps);
        for (int d = 0; d < D; d++) want[m * D + d] = r_in[m * D + d] * s * w[d];
    }
    printf("add_rmsnorm M%d D%d, rows of 1e-3 (eps dominates)\n", M, D);
    grad_close("fwd y, small rows", y, want, M * D, FWD_RTOL, ATOL_REL);
}

/* Each element is dropped (0) or kept and scaled, exactly x * scale, by the documented mask. */
static void dropout_case(krait_backend *be, size_t n, float p)
{
    printf("dropout n%zu p%g\n", n, p);
    float *x = malloc(n * 4), *x0 = malloc(n * 4);
    tu_fill_normal(x0, n, 0, 1);
    memcpy(x, x0, n * 4);
    const uint32_t th = krait_dropout_threshold(p);
    const float scale = krait_dropout_scale(p);
    const uint64_t seed = tu_next();
    be->dropout(be, x, 1, n, th, scale, seed);
    size_t bad = 0, kept = 0;
    for (size_t i = 0; i < n; i++) {
        int keep = krait_dropout_keep(seed, i, th);
        kept += keep;
        bad += x[i] != (keep ? x0[i] * scale : 0.0f);
    }
    tu_check(!bad, "dropout p %g: %zu of %zu elements are not x * %g (kept) or 0 (dropped)", p, bad, n, scale);
    tu_check(kept > n * (1 - p) * 0.9 && kept < n * (1 - p) * 1.1, "dropout p %g: %zu of %zu kept", p, kept, n);
    free(x);
    free(x0);
}

static void linear_case(krait_backend *be, int M, int Nout, int K, int ldx, int ldy, int with_bias)
{
    printf("linear M%d Nout%d K%d ldx%d ldy%d bias=%d\n", M, Nout, K, ldx, ldy, with_bias);
    size_t nX = (size_t)M * ldx, nY = (size_t)M * ldy, nW = (size_t)Nout * K;
    float *X = malloc(nX * 4), *W = malloc(nW * 4), *bias = malloc(Nout * 4), *dY = malloc(nY * 4);
    tu_fill_normal(X, nX, 0, 1);
    tu_fill_normal(W, nW, 0, 1);
    tu_fill_normal(bias, Nout, 0, 1);
    tu_fill_normal(dY, nY, 0, 1);
    /* Y = X W^T + b is linear, so the exact double products are the FD-free truth:
     * dL/dX = dY W, dL/dW = dY^T X, dL/db = column sums of dY. */
    double *Yd = zeros_d((size_t)M * Nout), *gX = zeros_d((size_t)M * K);
    double *gW = zeros_d(nW), *gb = zeros_d(Nout);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < Nout; j++) {
            double acc = with_bias ? bias[j] : 0.0, gy = dY[(size_t)i * ldy + j];
            for (int k = 0; k < K; k++) {
                acc += (double)X[(size_t)i * ldx + k] * W[(size_t)j * K + k];
                gX[(size_t)i * K + k] += gy * W[(size_t)j * K + k];
                gW[(size_t)j * K + k] += gy * X[(size_t)i * ldx + k];
            }
            Yd[(size_t)i * Nout + j] = acc;
            gb[j] += gy;
        }
    float *Y = tu_alloc_guarded(nY), *g = malloc((size_t)M * (Nout > K ? Nout : K) * 4);
    be->linear_fwd(be, Y, ldy, X, ldx, W, with_bias ? bias : NULL, M, Nout, K, 0.0f);
    gather_f(g, Y, M, Nout, ldy);
    grad_close("fwd Y (beta 0)", g, Yd, (size_t)M * Nout, FWD_RTOL, ATOL_REL);
    tu_guard_ok("Y", Y, nY);
    /* beta 1 adds onto what is there: running it again doubles Y */
    be->linear_fwd(be, Y, ldy, X, ldx, W, with_bias ? bias : NULL, M, Nout, K, 1.0f);
    gather_f(g, Y, M, Nout, ldy);
    for (size_t i = 0; i < (size_t)M * Nout; i++) Yd[i] *= 2.0;
    grad_close("fwd Y (beta 1)", g, Yd, (size_t)M * Nout, FWD_RTOL, ATOL_REL);

    float *dX = tu_alloc_guarded(nX);
    be->linear_bwd_data(be, dX, ldx, dY, ldy, W, M, Nout, K, 0.0f);
    gather_f(g, dX, M, K, ldx);
    grad_close("bwd_data dX (beta 0)", g, gX, (size_t)M * K, FWD_RTOL, ATOL_REL);
    be->linear_bwd_data(be, dX, ldx, dY, ldy, W, M, Nout, K, 1.0f);
    gather_f(g, dX, M, K, ldx);
    for (size_t i = 0; i < (size_t)M * K; i++) gX[i] *= 2.0;
    grad_close("bwd_data dX (beta 1)", g, gX, (size_t)M * K, FWD_RTOL, ATOL_REL);
    int untouched = 1;
    for (int i = 0; i < M; i++)
        for (int k = K; k < ldx; k++) untouched &= isnan(dX[(size_t)i * ldx + k]);
    tu_check(untouched, "linear_bwd_data wrote outside its K columns");
    tu_guard_ok("dX", dX, nX);

    float *dW = malloc(nW * 4), *dW0 = malloc(nW * 4), *db = malloc(Nout * 4), *db0 = malloc(Nout * 4);
    tu_fill_normal(dW0, nW, 0, 1);
    tu_fill_normal(db0, Nout, 0, 1);
    memcpy(dW, dW0, nW * 4);
    memcpy(db, db0, Nout * 4);
    be->linear_bwd_weight(be, dW, with_bias ? db : NULL, dY, ldy, X, ldx, M, Nout, K);
    for (size_t i = 0; i < nW; i++) dW[i] -= dW0[i];
    for (int j = 0; j < Nout; j++) db[j] -= db0[j];
    grad_close("bwd_weight dW (+=)", dW, gW, nW, BWD_RTOL, ATOL_REL);
    if (with_bias) grad_close("bwd_weight dbias (+=)", db, gb, Nout, BWD_RTOL, ATOL_REL);

    free(X); free(W); free(bias); free(dY); free(Yd); free(gX); free(gW); free(gb); free(g);
    tu_free_guarded(Y); tu_free_guarded(dX); free(dW); free(dW0); free(db); free(db0);
}

/* ---- softplus and gate ---------------------------------------------------------------------- */
typedef struct ew_ctx {
    int M, E, ldz;
    double *a, *b;       /* softplus: x (M,E), bias (E) | gate: y (M,E), z (M,ldz) */
    double *wo;          /* (M, E) */
    int gate;
} ew_ctx;

static double ew_loss(void *ctx)
{
    ew_ctx *c = ctx;
    double s = 0.0;
    for (int r = 0; r < c->M; r++)
        for (int e = 0; e < c->E; e++) {
            size_t i = (size_t)r * c->E + e;
            double o;
            if (c->gate) {
                double z = c->b[(size_t)r * c->ldz + e];
                o = c->a[i] * z / (1.0 + exp(-z));
            } else {
                double v = c->a[i] + (c->b ? c->b[e] : 0.0);
                o = v > 20.0 ? v : log1p(exp(v));
            }
            s += c->wo[i] * o;
        }
    return s;
}

static void softplus_case(krait_backend *be, int M, int E, int with_bias, int alias)
{
    printf("softplus M%d E%d bias=%d alias=%d\n", M, E, with_bias, alias);
    size_t n = (size_t)M * E;
    float *x = malloc(n * 4), *bias = malloc(E * 4), *wo = malloc(n * 4);
    tu_fill_uniform(x, n, -8.0f, 8.0f);
    x[0] = 25.0f;   /* above the threshold: identity */
    x[n - 1] = -30.0f;
    tu_fill_uniform(bias, E, -3.0f, 1.0f);
    tu_fill_normal(wo, n, 0, 1);
    ew_ctx c = { M, E, 0, dup_d(x, n), with_bias ? dup_d(bias, E) : NULL, dup_d(wo, n), 0 };
    double *want = zeros_d(n);
    for (size_t i = 0; i < n; i++) {
        double v = c.a[i] + (c.b ? c.b[i % E] : 0.0);
        want[i] = v > 20.0 ? v : log1p(exp(v));
    }
    float *delta = tu_alloc_guarded(n);
    be->softplus_fwd(be, delta, x, with_bias ? bias : NULL, M, E);
    grad_close("fwd delta", delta, want, n, FWD_RTOL, 0.0);
    tu_guard_ok("delta", delta, n);

    float *dx = tu_alloc_guarded(n), *db = malloc(E * 4), *db0 = malloc(E * 4);
    tu_fill_normal(db0, E, 0, 1);
    memcpy(db, db0, E * 4);
    if (alias) memcpy(dx, wo, n * 4);
    be->softplus_bwd(be, dx, with_bias ? db : NULL, alias ? dx : wo, x, with_bias ? bias : NULL, M, E);
    for (int e = 0; e < E; e++) db[e] -= db0[e];
    double *gx = zeros_d(n), *gb = zeros_d(E);
    for (size_t i = 0; i < n; i++) gx[i] = fd_at(&c.a[i], FD_EPS, ew_loss, &c);
    if (with_bias)
        for (int e = 0; e < E; e++) gb[e] = fd_at(&c.b[e], FD_EPS, ew_loss, &c);
    grad_close("bwd dx", dx, gx, n, BWD_RTOL, ATOL_REL);
    if (with_bias) grad_close("bwd dbias (+=)", db, gb, E, BWD_RTOL, ATOL_REL);
    tu_guard_ok("dx", dx, n);
    free(x); free(bias); free(wo); free(c.a); free(c.b); free(c.wo); free(want);
    tu_free_guarded(delta); tu_free_guarded(dx); free(db); free(db0); free(gx); free(gb);
}

static void gate_case(krait_backend *be, int M, int E, int ldz)
{
    printf("gate M%d E%d ldz%d\n", M, E, ldz);
    size_t n = (size_t)M * E, nz = (size_t)M * ldz;
    float *y = malloc(n * 4), *z = malloc(nz * 4), *wo = malloc(n * 4);
    tu_fill_normal(y, n, 0, 1);
    tu_fill_normal(z, nz, 0, 3);
    tu_fill_normal(wo, n, 0, 1);
    ew_ctx c = { M, E, ldz, dup_d(y, n), dup_d(z, nz), dup_d(wo, n), 1 };
    double *want = zeros_d(n);
    for (int r = 0; r < M; r++)
        for (int e = 0; e < E; e++) {
            double zv = c.b[(size_t)r * ldz + e];
            want[(size_t)r * E + e] = c.a[(size_t)r * E + e] * zv / (1.0 + exp(-zv));
        }
    float *out = tu_alloc_guarded(n);
    be->gate_fwd(be, out, y, z, ldz, M, E);
    grad_close("fwd out", out, want, n, FWD_RTOL, ATOL_REL);
    tu_guard_ok("out", out, n);
    float *dy = tu_alloc_guarded(n), *dz = tu_alloc_guarded(nz), *g = malloc(n * 4);
    be->gate_bwd(be, dy, dz, ldz, wo, y, z, M, E);
    double *gy = zeros_d(n), *gz = zeros_d(n);
    for (int r = 0; r < M; r++)
        for (int e = 0; e < E; e++) {
            gy[(size_t)r * E + e] = fd_at(&c.a[(size_t)r * E + e], FD_EPS, ew_loss, &c);
            gz[(size_t)r * E + e] = fd_at(&c.b[(size_t)r * ldz + e], FD_EPS, ew_loss, &c);
        }
    grad_close("bwd dy", dy, gy, n, BWD_RTOL, ATOL_REL);
    gather_f(g, dz, M, E, ldz);
    grad_close("bwd dz", g, gz, n, BWD_RTOL, ATOL_REL);
    int untouched = 1;
    for (int r = 0; r < M; r++)
        for (int k = E; k < ldz; k++) untouched &= isnan(dz[(size_t)r * ldz + k]);
    tu_check(untouched, "gate_bwd wrote dz outside its E columns");
    tu_guard_ok("dy", dy, n);
    tu_guard_ok("dz", dz, nz);
    free(y); free(z); free(wo); free(c.a); free(c.b); free(c.wo); free(want);
    tu_free_guarded(out); tu_free_guarded(dy); tu_free_guarded(dz); free(g); free(gy); free(gz);
}

/* ---- cross-entropy ---------------------------------------------------------------------- */
typedef struct ce_ctx {
    int M, V, ld;
    double *logits;
    const int32_t *tgt;
    double scale;
} ce_ctx;

static double ce_row_loss(const double *x, int V, int t)
{
    double mx = x[0], s = 0.0;
    for (int v = 1; v < V; v++) mx = x[v] > mx ? x[v] : mx;
    for (int v = 0; v < V; v++) s += exp(x[v] - mx);
    return mx + log(s) - x[t];
}

static double ce_loss(void *ctx)
{
    ce_ctx *c = ctx;
    double s = 0.0;
    for (int r = 0; r < c->M; r++)
        if (c->tgt[r] >= 0) s += ce_row_loss(c->logits + (size_t)r * c->ld, c->V, c->tgt[r]);
    return c->scale * s;
}

static void ce_case(krait_backend *be, int M, int V, int ld, int alias)
{
    printf("cross_entropy M%d V%d ld%d alias=%d\n", M, V, ld, alias);
    size_t n = (size_t)M * ld;
    float *logits = malloc(n * 4), scale = 0.37f;
    int32_t *tgt = malloc(M * 4), *pred = malloc(M * 4);
    tu_fill_normal(logits, n, 0, 3);
    for (int r = 0; r < M; r++) tgt[r] = (int32_t)(tu_next() % (uint64_t)V);
    tgt[0] = 0, tgt[2] = V - 1;        /* the first and last ids (0 is no "ignore") */
    tgt[1] = -1;                       /* ignored rows */
    tgt[M - 1] = -100;
    logits[3] = logits[5] = 50.0f;     /* a tie in row 0: argmax is the lower index */
    ce_ctx c = { M, V, ld, dup_d(logits, n), tgt, scale };
    double *lw = zeros_d(M);
    for (int r = 0; r < M; r++)
        lw[r] = tgt[r] >= 0 ? ce_row_loss(c.logits + (size_t)r * ld, V, tgt[r]) : 0.0;
    double *g = zeros_d((size_t)M * V);
    for (int r = 0; r < M; r++)
        for (int v = 0; v < V; v++)
            g[(size_t)r * V + v] = fd_at(&c.logits[(size_t)r * ld + v], FD_EPS, ce_loss, &c);

    float *loss = tu_alloc_guarded(M), *dl = alias ? logits : tu_alloc_guarded(n);
    float *gg = malloc((size_t)M * V * 4);
    float *lcopy = malloc(n * 4);
    memcpy(lcopy, logits, n * 4);
    be->cross_entropy(be, loss, dl, pred, logits, tgt, M, V, ld, scale);   /* dl may be logits */
    grad_close("loss", loss, lw, M, FWD_RTOL, ATOL_REL);
    gather_f(gg, dl, M, V, ld);
    grad_close("dlogits", gg, g, (size_t)M * V, BWD_RTOL, ATOL_REL);
    int arg_ok = 1;
    for (int r = 0; r < M; r++) {
        int a = 0;
        for (int v = 1; v < V; v++)
            if (lcopy[(size_t)r * ld + v] > lcopy[(size_t)r * ld + a]) a = v;
        arg_ok &= pred[r] == a;
    }
    tu_check(arg_ok && pred[0] == 3, "cross_entropy: argmax wrong (row 0 got %d, want 3)", pred[0]);
    tu_guard_ok("loss", loss, M);
    if (!alias) {
        int untouched = 1;
        for (int r = 0; r < M; r++)
            for (int k = V; k < ld; k++) untouched &= isnan(dl[(size_t)r * ld + k]);
        tu_check(untouched, "cross_entropy wrote dlogits outside its V columns");
        tu_guard_ok("dlogits", dl, n);
        tu_free_guarded(dl);
    }
    free(logits); free(tgt); free(pred); free(c.logits); free(lw); free(g);
    tu_free_guarded(loss); free(gg); free(lcopy);
}

/* ---- AdamW --------------------------------------------------------------------------------- */
static void adamw_case(krait_backend *be, size_t n)
{
    printf("adamw n%zu, 5 steps\n", n);
    float *p = malloc(n * 4), *m = zeros_f(n), *v = zeros_f(n), *g = malloc(n * 4);
    float *pa = tu_alloc_guarded(n);
    tu_fill_normal(p, n, 0, 1);
    double *pd = dup_d(p, n), *md = zeros_d(n), *vd = zeros_d(n);
    krait_adamw_params hp = { 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.5f, 0 };
    for (int step = 1; step <= 5; step++) {
        tu_fill_normal(g, n, 0, 1);
        hp.step = step;
        hp.lr = 1e-2f / step;
        be->adamw(be, p, m, v, pa, g, n, &hp);
        double b1 = hp.beta1, b2 = hp.beta2, lr = hp.lr;
        for (size_t i = 0; i < n; i++) {
            double gi = (double)hp.grad_scale * g[i];
            md[i] = b1 * md[i] + (1 - b1) * gi;
            vd[i] = b2 * vd[i] + (1 - b2) * gi * gi;
            double mh = md[i] / (1 - pow(b1, step)), vh = vd[i] / (1 - pow(b2, step));
            pd[i] = pd[i] * (1 - lr * hp.weight_decay) - lr * mh / (sqrt(vh) + hp.eps);
        }
    }
    grad_close("p after 5 steps", p, pd, n, 1e-5, 1e-6);
    grad_close("m after 5 steps", m, md, n, 1e-5, 1e-6);
    grad_close("v after 5 steps", v, vd, n, 1e-5, 1e-6);
    tu_check(memcmp(pa, p, n * 4) == 0, "adamw: p_act is not a copy of p");
    tu_guard_ok("p_act", pa, n);
    free(p); free(m); free(v); free(g); free(pd); free(md); free(vd);
    tu_free_guarded(pa);
}

static void memory_case(krait_backend *be)
{
    printf("memory and conversions\n");
    size_t n = 1001;
    float *a = be->alloc(be, n * 4), *b = be->alloc(be, n * 4);
    tu_check(a && b && ((uintptr_t)a % 64) == 0 && ((uintptr_t)b % 64) == 0, "alloc: 64-byte aligned");
    float *h = malloc(n * 4), *back = malloc(n * 4);
    tu_fill_normal(h, n, 0, 1);
    be->upload(be, a, h, n * 4);
    be->to_act(be, b, a, n);
    be->from_act(be, back, b, n);
    tu_check(memcmp(back, h, n * 4) == 0, "upload/to_act/from_act round trip");
    be->zero(be, b, n * 4);
    be->copy(be, a, b, n * 4);
    be->download(be, back, a, n * 4);
    tu_check(back[0] == 0.0f && back[n - 1] == 0.0f, "zero/copy/download");
    double s = 0.0, want = 0.0;
    for (size_t i = 0; i < n; i++) want += (double)h[i] * h[i];
    be->sumsq(be, &s, h, n);
    tu_check(fabs(s - want) <= 1e-12 * want, "sumsq %.17g want %.17g", s, want);
    tu_check(be->sync(be) == KRAIT_STATUS_OK, "sync");
    for (int op = 0; op < KRAIT_OP_COUNT; op++) {
        krait_dims d = { 2, 8, 16, 32, 16, 4, 2, 50, 4, 16 };
        tu_check(be->supports(be, (krait_op)op, &d), "supports op %d", op);
    }
    be->free(be, a);
    be->free(be, b);
    free(h);
    free(back);
}

int main(void)
{
    tu_init("test_ref_grad_ops");
    krait_backend *be = krait_backend_cpu_ref_init();
    if (!tu_check(be != NULL, "cpu-ref init")) return tu_finish();
    tu_check(be->act_dtype == KRAIT_DTYPE_F32, "act dtype is f32");

    memory_case(be);
    embedding_case(be, 9, 7, 5);
    norm_case(be, 3, 8, 1, 1);
    norm_case(be, 2, 5, 0, 0);
    norm_case(be, 4, 6, 1, 2);
    norm_small_case(be);
    dropout_case(be, 10007, 0.25f);
    linear_case(be, 5, 4, 6, 9, 7, 1);
    linear_case(be, 1, 3, 2, 2, 3, 0);
    softplus_case(be, 4, 6, 1, 0);
    softplus_case(be, 3, 5, 0, 1);
    gate_case(be, 4, 5, 10);
    gate_case(be, 1, 3, 3);
    ce_case(be, 5, 11, 13, 0);
    ce_case(be, 4, 7, 7, 1);
    adamw_case(be, 1000);

    krait_backend_destroy(be);
    return tu_finish();
}
