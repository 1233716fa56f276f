/* core/forward.c — the Mamba LM forward and backward over a backend, and its activations.
 *
 * Forward per layer (letters as in DESIGN.md; every call is one backend op):
 *   r_i = r_{i-1} + out_{i-1};  h = RMSNorm(r_i)            add_rmsnorm_fwd (fused)
 *   xz = h W_in^T                                           linear_fwd      (M, 2E)
 *   u = silu(conv1d(x = xz[:, :E]))                         conv1d_fwd      (M, E)
 *   dbc = u W_x^T                                           linear_fwd      (M, R + 2N)
 *   delta = softplus(dbc[:, :R] W_dt^T + dt_bias)           linear_fwd, softplus_fwd
 *   y = scan(u, delta, A_log, Bm, Cm, D)                    ssm_scan_fwd
 *   out = (y * silu(z = xz[:, E:])) W_out^T                 gate_fwd, linear_fwd
 * A decode step (L = 1 with a state, not training) uses the backend's fused conv1d_step and
 * ssm_step (dt_proj + softplus + scan + gate) when it has both: 6 ops per layer instead of 9.
 * Training activations may drop out the first residual and each mixer output (out, before the
 * next add); backward applies the same masks to their gradients.
 * Backward walks the same calls in reverse. h and the gated output are recomputed in backward
 * rather than stored (one norm and one elementwise op); the scan keeps only chunk-boundary
 * states. The LM head runs over row blocks, forward and backward fused per block, so the
 * (M, V) logits never exist at once.
 *
 * This file does not own parameters (model.c) or update them (optim.c). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model.h"

#define TRY KRAIT_TRY

/* Element offset into an activation buffer. */
static inline void *aoff(const krait_model *m, const void *p, size_t elems)
{
    return (char *)p + elems * krait_dtype_size(m->be->act_dtype);
}

static inline const float *par(const krait_model *m, size_t off) { return m->params + off; }
static inline float *grad_or_null(float *g, size_t off) { return off == SIZE_MAX ? NULL : g + off; }
static inline const float *par_or_null(const krait_model *m, size_t off)
{
    return off == SIZE_MAX ? NULL : m->params + off;
}

/* ---- activations ----------------------------------------------------------------------------- */

typedef struct carver {
    char *base;
    size_t used;
} carver;

static void *carve(carver *c, size_t bytes)
{
    void *p = c->base ? c->base + c->used : NULL;
    c->used += (bytes + 255) / 256 * 256;
    return p;
}

/* Lay out every buffer; with c->base == NULL this only measures. */
static void layout_acts(const krait_model *m, krait_acts *a, carver *c)
{
    const krait_config *cf = &m->cfg;
    const size_t M = (size_t)a->M, D = cf->d_model, E = cf->d_inner, N = cf->d_state;
    const size_t R = cf->dt_rank, V = cf->vocab_size, as = krait_dtype_size(m->be->act_dtype);
    const size_t nchunks = ((size_t)a->L + a->chunk - 1) / a->chunk;
    int nsets = a->train ? cf->n_layer : 1;
    for (int i = 0; i < nsets; i++) {
        krait_layer_acts *la = &a->layer[i];
        la->r = carve(c, M * D * 4);
        la->rstd = carve(c, M * 4);
        la->xz = carve(c, M * 2 * E * as);
        la->u = carve(c, M * E * as);
        la->dbc = carve(c, M * (R + 2 * N) * as);
        la->dtl = carve(c, M * E * as);
        la->delta = carve(c, M * E * as);
        la->y = carve(c, M * E * as);
        la->h_chunks = a->train ? carve(c, (size_t)a->B * nchunks * E * N * 4) : NULL;
    }
    for (int i = nsets; i < cf->n_layer; i++) a->layer[i] = a->layer[0];
    a->r_f = carve(c, M * D * 4);
    a->rstd_f = carve(c, M * 4);
    a->hf = carve(c, M * D * as);
    a->h = carve(c, M * D * as);
    a->g = carve(c, M * E * as);
    a->out = carve(c, M * D * as);
    a->ids = carve(c, M * 4);
    a->targets = carve(c, M * 4);
    a->feats_f32 = a->feats = NULL;
    if (cf->input_dim > 0) {
        a->feats_f32 = carve(c, M * cf->input_dim * 4);
        a->feats = as == 4 ? (void *)a->feats_f32 : carve(c, M * cf->input_dim * as);
    }
    a->pool_f32 = krait_model_is_classifier(m) ? carve(c, M * D * 4) : NULL;
    a->logits = krait_model_is_classifier(m) ? NULL : carve(c, (size_t)a->head_rows * V * as);
    a->loss = carve(c, M * 4);
    a->pred = carve(c, M * 4);
    if (a->train) {
        a->dr = carve(c, M * D * 4);
        a->dx = carve(c, M * D * as);
        a->dh = carve(c, M * D * as);
        a->dhf = carve(c, M * D * as);
        a->dg = carve(c, M * E * as);
        a->dy = carve(c, M * E * as);
        a->ddelta = carve(c, M * E * as);
        a->du = carve(c, M * E * as);
        a->dxz = carve(c, M * 2 * E * as);
        a->ddbc = carve(c, M * (R + 2 * N) * as);
    }
}

/* The sizes of a (no buffers yet): 0 when B x L positions do not fit an int. */
static int acts_shape(const krait_model *m, krait_acts *a, int B, int L, int train)
{
    const krait_config *cf = &m->cfg;
    if ((long long)B * L > INT_MAX) return 0;
    a->L = a->L_max = L;
    a->B = a->B_max = B;
    a->M = B * L;
    a->train = train;
    a->chunk = m->be->scan_chunk > 0 ? m->be->scan_chunk : 64;
    /* Head rows per block: about 16M logits at a time, at least 64 rows. */
    long hr = cf->vocab_size > 0 ? (16L << 20) / cf->vocab_size : a->M;
    if (hr < 64) hr = 64;
    a->head_rows = hr < a->M ? (int)hr : a->M;
    return 1;
}

size_t krait_acts_bytes(const krait_model *m, int B, int L, int train)
{
    krait_acts a = { 0 };
    if (!acts_shape(m, &a, B, L, train)) return SIZE_MAX;
    a.layer = calloc((size_t)m->cfg.n_layer, sizeof *a.layer);
    if (!a.layer) return SIZE_MAX;
    carver c = { 0 };
    layout_acts(m, &a, &c);
    free(a.layer);
    return c.used;
}

krait_acts *krait_acts_init(const krait_model *m, int B, int L, int train)
{
    const krait_config *cf = &m->cfg;
    krait_backend *be = m->be;
    krait_acts *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    if (!acts_shape(m, a, B, L, train)) {
        KRAIT_ERROR("batch %d x %d is %.3g positions, more than krait handles at once (2^31)", B, L, (double)B * L);
        free(a);
        return NULL;
    }
    a->layer = calloc((size_t)cf->n_layer, sizeof *a->layer);
    if (!a->layer) goto fail;
    carver c = { 0 };
    layout_acts(m, a, &c);
    a->bytes = c.used;
    a->arena = be->alloc(be, a->bytes);
    if (!a->arena) {
        KRAIT_ERROR("cannot allocate %.1f MB of activations for batch %d x %d on %s",
                    a->bytes / 1e6, B, L, be->name);
        goto fail;
    }
    c = (carver){ a->arena, 0 };
    layout_acts(m, a, &c);
    krait_dims d = { .B = B, .L = L, .D = cf->d_model, .E = cf->d_inner, .N = cf->d_state,
                     .K = cf->d_conv, .R = cf->dt_rank, .V = cf->vocab_size > 0 ? cf->vocab_size : 1,
                     .chunk = a->chunk,
                     .rows = a->M };
    if (be->reserve(be, &d)) goto fail;
    return a;
fail:
    krait_acts_free(m, a);
    return NULL;
}

void krait_acts_free(const krait_model *m, krait_acts *a)
{
    if (!a) return;
    if (a->arena) m->be->free(m->be, a->arena);
    free(a->layer);
    free(a->host);
    free(a);
}

float *krait_acts_host(krait_acts *a, size_t n)
{
    if (n > a->host_n) {
        float *p = realloc(a->host, n * sizeof *p);
        if (!p) return NULL;
        a->host = p, a->host_n = n;
    }
    return a->host;
}

krait_status krait_acts_set_len(krait_acts *a, int L)
{
    if (L < 1 || L > a->L_max || (a->train && L != a->L_max)) {
        KRAIT_ERROR("activations hold sequences of up to %d tokens%s; asked for %d", a->L_max,
                    a->train ? " (exactly, for training)" : "", L);
        return KRAIT_STATUS_BAD_INPUT;
    }
    a->L = L;
    a->M = a->B * L;
    return KRAIT_STATUS_OK;
}

krait_status krait_acts_set_shape(krait_acts *a, int B, int L)
{
    if (a->train || B < 1 || B > a->B_max || L < 1 || L > a->L_max) {
        KRAIT_ERROR("activations hold up to %d x %d tokens%s; asked for %d x %d", a->B_max, a->L_max,
                    a->train ? " (exactly, for training)" : "", B, L);
        return KRAIT_STATUS_BAD_INPUT;
    }
    a->B = B;
    a->L = L;
    a->M = B * L;
    return KRAIT_STATUS_OK;
}

krait_status krait_acts_set_batch(const krait_model *m, krait_acts *a, const int32_t *ids,
                                  const int32_t *targets)
{
    const int V = m->cfg.vocab_size;
    for (int i = 0; i < a->M; i++) {
        if (ids[i] < 0 || ids[i] >= V) {
            KRAIT_ERROR("token id %d at position %d is outside the vocabulary (0..%d)", ids[i], i, V - 1);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (targets && targets[i] >= V) {
            KRAIT_ERROR("target id %d at position %d is outside the vocabulary (0..%d)", targets[i], i, V - 1);
            return KRAIT_STATUS_BAD_INPUT;
        }
    }
    TRY(m->be->upload(m->be, a->ids, ids, (size_t)a->M * 4));
    if (targets) TRY(m->be->upload(m->be, a->targets, targets, (size_t)a->M * 4));
    return KRAIT_STATUS_OK;
}

krait_status krait_acts_set_features(const krait_model *m, krait_acts *a, const float *feats)
{
    const size_t n = (size_t)a->M * m->cfg.input_dim;
    if (!a->feats_f32) {
        KRAIT_ERROR("this model reads token ids, not feature vectors");
        return KRAIT_STATUS_BAD_INPUT;
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(feats[i])) {
            KRAIT_ERROR("input feature %zu of row %zu is not finite (%g)", i % m->cfg.input_dim,
                        i / m->cfg.input_dim, feats[i]);
            return KRAIT_STATUS_BAD_INPUT;
        }
    TRY(m->be->upload(m->be, a->feats_f32, feats, n * sizeof *feats));
    if (a->feats != (void *)a->feats_f32) TRY(m->be->to_act(m->be, a->feats, a->feats_f32, n));
    return KRAIT_STATUS_OK;
}

/* ---- forward --------------------------------------------------------------------------------- */

/* Dropout at site 0 (the first residual, fp32) or 1 + i (mixer i's output, act dtype): the same
 * mask in forward and on the gradient in backward. Nothing without train activations. */
static krait_status dropout_site(const krait_model *m, const krait_acts *a, void *x, int site)
{
    const float p = site == 0 ? a->drop_embed : a->drop_resid;
    if (!a->train || p <= 0.0f) return KRAIT_STATUS_OK;
    return m->be->dropout(m->be, x, site == 0, (size_t)a->M * m->cfg.d_model, krait_dropout_threshold(p),
                          krait_dropout_scale(p), krait_mix64(a->drop_seed, (uint64_t)site));
}

/* The first residual: the embedding rows of a->ids, or the input projection of a->feats (computed
 * in the act dtype into a->out, which is free until the first mixer, then widened to fp32). */
static krait_status input_forward(const krait_model *m, krait_acts *a, float *r)
{
    krait_backend *be = m->be;
    const int M = a->M, D = m->cfg.d_model, F = m->cfg.input_dim;
    if (F == 0) return be->embedding_fwd(be, r, a->ids, par(m, m->emb), M, D);
    TRY(be->linear_fwd(be, a->out, D, a->feats, F, krait_act_at(m, m->inp_w), par(m, m->inp_b), M, D, F, 0.0f));
    return be->from_act(be, r, a->out, (size_t)M * D);
}

/* Gradient of the input parameters from dr = dL/d(first residual). */
static krait_status input_backward(const krait_model *m, krait_acts *a, float *g)
{
    krait_backend *be = m->be;
    const int M = a->M, D = m->cfg.d_model, F = m->cfg.input_dim;
    if (F == 0) return be->embedding_bwd(be, g + m->emb, a->dr, a->ids, M, D);
    const void *dy = a->dr;
    if (be->act_dtype != KRAIT_DTYPE_F32) {
        TRY(be->to_act(be, a->dx, a->dr, (size_t)M * D));
        dy = a->dx;
    }
    return be->linear_bwd_weight(be, g + m->inp_w, g + m->inp_b, dy, D, a->feats, F, M, D, F);
}

static krait_status mixer_forward(const krait_model *m, int i, krait_acts *a, krait_state *st)
{
    krait_backend *be = m->be;
    const krait_config *c = &m->cfg;
    const krait_layer_offsets *lo = &m->layers[i];
    krait_layer_acts *la = &a->layer[i];
    const int M = a->M, D = c->d_model, E = c->d_inner, N = c->d_state, R = c->dt_rank;
    const int ldbc = R + 2 * N;
    float *conv_state = st ? st->conv[i] : NULL, *ssm_state = st ? st->ssm[i] : NULL;

    TRY(be->linear_fwd(be, la->xz, 2 * E, a->h, D, krait_act_at(m, lo->in_w), par_or_null(m, lo->in_b),
                       M, 2 * E, D, 0.0f));
    if (a->L == 1 && st && !a->train && be->conv1d_step && be->ssm_step) {
        /* decode: the fused one-token ops, state updated in place */
        TRY(be->conv1d_step(be, la->u, conv_state, la->xz, 2 * E, par(m, lo->conv_w),
                            par_or_null(m, lo->conv_b), a->B, E, c->d_conv));
        TRY(be->linear_fwd(be, la->dbc, ldbc, la->u, E, krait_act_at(m, lo->x_w), NULL, M, ldbc, E, 0.0f));
        TRY(be->ssm_step(be, a->g, ssm_state, la->u, la->dbc, ldbc, krait_act_at(m, lo->dt_w),
                         par(m, lo->dt_b), par(m, lo->A_log), par(m, lo->Dskip), aoff(m, la->xz, (size_t)E),
                         2 * E, a->B, E, N, R));
        return be->linear_fwd(be, a->out, D, a->g, E, krait_act_at(m, lo->out_w), par_or_null(m, lo->out_b),
                              M, D, E, 0.0f);
    }
    TRY(be->conv1d_fwd(be, la->u, conv_state, la->xz, 2 * E, par(m, lo->conv_w), par_or_null(m, lo->conv_b),
                       conv_state, a->B, a->L, E, c->d_conv, 1));
    TRY(be->linear_fwd(be, la->dbc, ldbc, la->u, E, krait_act_at(m, lo->x_w), NULL, M, ldbc, E, 0.0f));
    TRY(be->linear_fwd(be, la->dtl, E, la->dbc, ldbc, krait_act_at(m, lo->dt_w), NULL, M, E, R, 0.0f));
    TRY(be->softplus_fwd(be, la->delta, la->dtl, par(m, lo->dt_b), M, E));
    TRY(be->ssm_scan_fwd(be, la->y, ssm_state, a->train ? la->h_chunks : NULL, la->u, la->delta,
                         par(m, lo->A_log), aoff(m, la->dbc, (size_t)R), aoff(m, la->dbc, (size_t)R + N),
                         ldbc, par(m, lo->Dskip), ssm_state, a->B, a->L, E, N, a->chunk));
    TRY(be->gate_fwd(be, a->g, la->y, aoff(m, la->xz, (size_t)E), 2 * E, M, E));
    TRY(be->linear_fwd(be, a->out, D, a->g, E, krait_act_at(m, lo->out_w), par_or_null(m, lo->out_b),
                       M, D, E, 0.0f));
    return KRAIT_STATUS_OK;
}

krait_status krait_model_forward(const krait_model *m, krait_acts *a, krait_state *st)
{
    krait_backend *be = m->be;
    const krait_config *c = &m->cfg;
    const int M = a->M, D = c->d_model;
    if (st && st->B != a->B) {
        KRAIT_ERROR("state holds %d sequences but the batch has %d", st->B, a->B);
        return KRAIT_STATUS_BAD_INPUT;
    }
    TRY(input_forward(m, a, a->layer[0].r));
    TRY(dropout_site(m, a, a->layer[0].r, 0));
    for (int i = 0; i < c->n_layer; i++) {
        krait_layer_acts *la = &a->layer[i];
        const krait_layer_offsets *lo = &m->layers[i];
        if (i == 0)
            TRY(be->add_rmsnorm_fwd(be, la->r, a->h, la->rstd, la->r, NULL, par(m, lo->norm_w), M, D,
                                    c->norm_eps));
        else
            TRY(be->add_rmsnorm_fwd(be, la->r, a->h, la->rstd, a->layer[i - 1].r, a->out,
                                    par(m, lo->norm_w), M, D, c->norm_eps));
        TRY(mixer_forward(m, i, a, st));
        TRY(dropout_site(m, a, a->out, 1 + i));
    }
    return be->add_rmsnorm_fwd(be, a->r_f, a->hf, a->rstd_f, a->layer[c->n_layer - 1].r, a->out,
                               par(m, m->norm_f), M, D, c->norm_eps);
}

/* ---- LM head ---------------------------------------------------------------------------------- */

krait_status krait_lm_head(const krait_model *m, krait_acts *a, float *grads, double *loss_sum,
                           long *n_valid, int32_t *pred_host)
{
    krait_backend *be = m->be;
    const int M = a->M, D = m->cfg.d_model, V = m->cfg.vocab_size;
    if (m->lm_head == SIZE_MAX) {
        KRAIT_ERROR("this model has a classification head, not a language-model head");
        return KRAIT_STATUS_BAD_INPUT;
    }
    /* targets and per-row losses staged on the host, in the acts' buffer (no allocation per
     * call): allocated storage takes the type of what is stored, so int32 ids fit as well */
    float *loss = krait_acts_host(a, 2 * (size_t)M);
    if (!loss) return KRAIT_STATUS_NO_MEMORY;
    int32_t *t = (int32_t *)(loss + M);
    krait_status s;
    if ((s = be->download(be, t, a->targets, (size_t)M * 4))) return s;
    long nv = 0;
    for (int r = 0; r < M; r++) nv += t[r] >= 0;
    float scale = nv ? 1.0f / (float)nv : 0.0f;
    const void *W = krait_act_at(m, m->lm_head);
    for (int r0 = 0; r0 < M; r0 += a->head_rows) {
        int rows = M - r0 < a->head_rows ? M - r0 : a->head_rows;
        int any = 0;
        for (int r = r0; r < r0 + rows && !any; r++) any = t[r] >= 0;
        void *hf = aoff(m, a->hf, (size_t)r0 * D);
        if (!any) { /* nothing scored in this block: no logits needed */
            for (int r = r0; r < r0 + rows; r++) {
                loss[r] = 0;
                if (pred_host) pred_host[r] = -1;
            }
            if (grads && (s = be->zero(be, aoff(m, a->dhf, (size_t)r0 * D),
                                       (size_t)rows * D * krait_dtype_size(be->act_dtype))))
                return s;
            continue;
        }
        if ((s = be->linear_fwd(be, a->logits, V, hf, D, W, NULL, rows, V, D, 0.0f))) return s;
        if ((s = be->cross_entropy(be, a->loss + r0, grads ? a->logits : NULL, a->pred + r0, a->logits,
                                   a->targets + r0, rows, V, V, scale)))
            return s;
        if ((s = be->download(be, loss + r0, a->loss + r0, (size_t)rows * 4))) return s;
        if (pred_host && (s = be->download(be, pred_host + r0, a->pred + r0, (size_t)rows * 4))) return s;
        if (grads) {
            if ((s = be->linear_bwd_data(be, aoff(m, a->dhf, (size_t)r0 * D), D, a->logits, V, W, rows,
                                         V, D, 0.0f)))
                return s;
            if ((s = be->linear_bwd_weight(be, grads + m->lm_head, NULL, a->logits, V, hf, D, rows, V, D)))
                return s;
        }
    }
    double sum = 0;
    for (int r = 0; r < M; r++)
        if (t[r] >= 0) sum += loss[r];
    if (!isfinite(sum) && !grads) { /* training hands it back: the trainer names the step */
        KRAIT_ERROR("the loss is not finite (%g)", sum);
        return KRAIT_STATUS_NUMERIC;
    }
    *loss_sum = sum;
    *n_valid = nv;
    return KRAIT_STATUS_OK;
}

/* ---- backward -------------------------------------------------------------------------------- */

/* d_out = a->dx (gradient of this layer's mixer output); writes a->dh (gradient of h). */
static krait_status mixer_backward(const krait_model *m, int i, krait_acts *a, float *g)
{
    krait_backend *be = m->be;
    const krait_config *c = &m->cfg;
    const krait_layer_offsets *lo = &m->layers[i];
    krait_layer_acts *la = &a->layer[i];
    const int M = a->M, D = c->d_model, E = c->d_inner, N = c->d_state, R = c->dt_rank;
    const int ldbc = R + 2 * N;
    void *z = aoff(m, la->xz, (size_t)E), *dz = aoff(m, a->dxz, (size_t)E);

    /* recompute what forward did not keep: h = RMSNorm(r_i) and the gated output */
    TRY(be->add_rmsnorm_fwd(be, la->r, a->h, la->rstd, la->r, NULL, par(m, lo->norm_w), M, D, c->norm_eps));
    TRY(be->gate_fwd(be, a->g, la->y, z, 2 * E, M, E));

    TRY(be->linear_bwd_weight(be, g + lo->out_w, grad_or_null(g, lo->out_b), a->dx, D, a->g, E, M, D, E));
    TRY(be->linear_bwd_data(be, a->dg, E, a->dx, D, krait_act_at(m, lo->out_w), M, D, E, 0.0f));
    TRY(be->gate_bwd(be, a->dy, dz, 2 * E, a->dg, la->y, z, M, E));
    TRY(be->ssm_scan_bwd(be, a->du, a->ddelta, aoff(m, a->ddbc, (size_t)R), aoff(m, a->ddbc, (size_t)R + N),
                         g + lo->A_log, g + lo->Dskip, a->dy, la->u, la->delta, par(m, lo->A_log),
                         aoff(m, la->dbc, (size_t)R), aoff(m, la->dbc, (size_t)R + N), ldbc,
                         par(m, lo->Dskip), la->h_chunks, a->B, a->L, E, N, a->chunk));
    /* ddelta -> d(dt_proj output), in place */
    TRY(be->softplus_bwd(be, a->ddelta, g + lo->dt_b, a->ddelta, la->dtl, par(m, lo->dt_b), M, E));
    TRY(be->linear_bwd_weight(be, g + lo->dt_w, NULL, a->ddelta, E, la->dbc, ldbc, M, E, R));
    TRY(be->linear_bwd_data(be, a->ddbc, ldbc, a->ddelta, E, krait_act_at(m, lo->dt_w), M, E, R, 0.0f));
    TRY(be->linear_bwd_weight(be, g + lo->x_w, NULL, a->ddbc, ldbc, la->u, E, M, ldbc, E));
    TRY(be->linear_bwd_data(be, a->du, E, a->ddbc, ldbc, krait_act_at(m, lo->x_w), M, ldbc, E, 1.0f));
    TRY(be->conv1d_bwd(be, a->dxz, 2 * E, g + lo->conv_w, grad_or_null(g, lo->conv_b), a->du, la->xz,
                       par(m, lo->conv_w), par_or_null(m, lo->conv_b), NULL, a->B, a->L, E, c->d_conv, 1));
    TRY(be->linear_bwd_weight(be, g + lo->in_w, grad_or_null(g, lo->in_b), a->dxz, 2 * E, a->h, D, M, 2 * E, D));
    TRY(be->linear_bwd_data(be, a->dh, D, a->dxz, 2 * E, krait_act_at(m, lo->in_w), M, 2 * E, D, 0.0f));
    return KRAIT_STATUS_OK;
}

krait_status krait_model_backward(const krait_model *m, krait_acts *a, float *g)
{
    krait_backend *be = m->be;
    const krait_config *c = &m->cfg;
    const int M = a->M, D = c->d_model;
    if (!a->train) {
        KRAIT_ERROR("backward needs activations made with train = 1");
        return KRAIT_STATUS_BAD_INPUT;
    }
    TRY(be->zero(be, a->dr, (size_t)M * D * sizeof(float)));
    TRY(be->add_rmsnorm_bwd(be, a->dr, a->dx, g + m->norm_f, a->dhf, a->r_f, a->rstd_f, par(m, m->norm_f), M, D));
    for (int i = c->n_layer - 1; i >= 0; i--) {
        const krait_layer_offsets *lo = &m->layers[i];
        krait_layer_acts *la = &a->layer[i];
        TRY(dropout_site(m, a, a->dx, 1 + i));
        TRY(mixer_backward(m, i, a, g));
        TRY(be->add_rmsnorm_bwd(be, a->dr, i > 0 ? a->dx : NULL, g + lo->norm_w, a->dh, la->r, la->rstd,
                                par(m, lo->norm_w), M, D));
    }
    TRY(dropout_site(m, a, a->dr, 0));
    return input_backward(m, a, g);
}

krait_status krait_lm_forward_backward(const krait_model *m, krait_acts *a, float *grads,
                                       const int32_t *ids, const int32_t *targets, double *loss,
                                       long *n_valid)
{
    double sum = 0;
    long nv = 0;
    TRY(krait_acts_set_batch(m, a, ids, targets));
    TRY(krait_model_forward(m, a, NULL));
    TRY(krait_lm_head(m, a, grads, &sum, &nv, NULL));
    if (grads) TRY(krait_model_backward(m, a, grads));
    *loss = nv ? sum / nv : 0.0;
    if (n_valid) *n_valid = nv;
    return KRAIT_STATUS_OK;
}
