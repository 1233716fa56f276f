/* core/state.c — the per-sequence recurrent state: allocation, views, and the row operations;
 * see state.h.
 *
 * The sizes of a sequence's rows (conv (K-1, E), SSM (E, N) per layer) come from conv_row and
 * ssm_row only (floats_per_seq sums them): allocation, views, bytes_per_seq and every row
 * operation use them. Rows are contiguous inside each layer's arrays, so every row operation
 * is two backend copies (or zeroings) per layer. This file does not run the model (forward.c,
 * infer.c) and does not save states to files. */
#include "state_impl.h"

#include <stdlib.h>

#include "log.h"
#include "model.h"

#define TRY KRAIT_TRY

/* Floats of one sequence's conv rows (K-1, E) and SSM state (E, N) in one layer. */
static size_t conv_row(const krait_model *m) { return (size_t)(m->cfg.d_conv - 1) * m->cfg.d_inner; }
static size_t ssm_row(const krait_model *m) { return (size_t)m->cfg.d_inner * m->cfg.d_state; }
/* Floats of one sequence over all layers (krait_state.per_seq). */
static size_t floats_per_seq(const krait_model *m)
{
    return (conv_row(m) + ssm_row(m)) * (size_t)m->cfg.n_layer;
}

/* s->per_seq and the per-layer pointer tables of s; 0 when out of memory. */
static int alloc_tables(const krait_model *m, krait_state *s)
{
    s->per_seq = floats_per_seq(m);
    s->conv = calloc((size_t)m->cfg.n_layer, sizeof *s->conv);
    s->ssm = calloc((size_t)m->cfg.n_layer, sizeof *s->ssm);
    return s->conv && s->ssm;
}

/* ---- owning states ----------------------------------------------------------------------------- */

krait_state *krait_state_init(const krait_model *m, int B)
{
    const int NL = m->cfg.n_layer;
    krait_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->B = B;
    const size_t conv = (size_t)B * conv_row(m), ssm = (size_t)B * ssm_row(m);
    const int tables = alloc_tables(m, s);
    s->buf = m->be->alloc(m->be, (conv + ssm) * NL * sizeof(float) + 64);
    if (!tables || !s->buf) {
        KRAIT_ERROR("cannot allocate the recurrent state for %d sequences", B);
        krait_state_free(m, s);
        return NULL;
    }
    for (int i = 0; i < NL; i++) {
        s->conv[i] = s->buf + (conv + ssm) * i;
        s->ssm[i] = s->conv[i] + conv;
    }
    if (krait_state_reset(m, s)) {
        krait_state_free(m, s);
        return NULL;
    }
    return s;
}

void krait_state_free(const krait_model *m, krait_state *s)
{
    if (!s) return;
    if (s->buf) m->be->free(m->be, s->buf);
    free(s->conv);
    free(s->ssm);
    free(s);
}

krait_status krait_state_reset(const krait_model *m, krait_state *s)
{
    /* layer by layer: a view's rows are contiguous within each layer only */
    const size_t conv = (size_t)s->B * conv_row(m), ssm = (size_t)s->B * ssm_row(m);
    for (int i = 0; i < m->cfg.n_layer; i++) {
        krait_status st = m->be->zero(m->be, s->conv[i], conv * sizeof(float));
        if (!st) st = m->be->zero(m->be, s->ssm[i], ssm * sizeof(float));
        if (st) return st;
    }
    return KRAIT_STATUS_OK;
}

size_t krait_state_bytes_per_seq(const krait_model *m)
{
    return floats_per_seq(m) * sizeof(float);
}

/* ---- views ------------------------------------------------------------------------------------- */

krait_state *krait_state_view_alloc(const krait_model *m)
{
    krait_state *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    if (!alloc_tables(m, v)) {
        krait_state_free(m, v);
        return NULL;
    }
    return v;
}

static int range_ok(const krait_state *s, int row, int n, const char *what)
{
    if (row >= 0 && n >= 1 && row <= s->B - n) return 1;
    KRAIT_ERROR("%s: rows [%d, %d) are outside a state of %d sequences", what, row, row + n, s->B);
    return 0;
}

krait_status krait_state_view_set(const krait_model *m, krait_state *view, krait_state *parent,
                                  int row, int n)
{
    if (!range_ok(parent, row, n, "state view")) return KRAIT_STATUS_BAD_INPUT;
    if (view->buf) {
        KRAIT_ERROR("state view: the target owns its memory (it is not a view)");
        return KRAIT_STATUS_BAD_INPUT;
    }
    for (int i = 0; i < m->cfg.n_layer; i++) {
        view->conv[i] = parent->conv[i] + (size_t)row * conv_row(m);
        view->ssm[i] = parent->ssm[i] + (size_t)row * ssm_row(m);
    }
    view->B = n;
    return KRAIT_STATUS_OK;
}

krait_state *krait_state_view(const krait_model *m, krait_state *parent, int row, int n)
{
    krait_state *v = krait_state_view_alloc(m);
    if (!v) {
        KRAIT_ERROR("state view: out of memory");
        return NULL;
    }
    if (krait_state_view_set(m, v, parent, row, n)) {
        krait_state_free(m, v);
        return NULL;
    }
    return v;
}

/* ---- row operations ---------------------------------------------------------------------------- */

krait_status krait_state_reset_rows(const krait_model *m, krait_state *s, int row, int n)
{
    if (!range_ok(s, row, n, "state reset")) return KRAIT_STATUS_BAD_INPUT;
    krait_backend *be = m->be;
    for (int i = 0; i < m->cfg.n_layer; i++) {
        TRY(be->zero(be, s->conv[i] + (size_t)row * conv_row(m), (size_t)n * conv_row(m) * sizeof(float)));
        TRY(be->zero(be, s->ssm[i] + (size_t)row * ssm_row(m), (size_t)n * ssm_row(m) * sizeof(float)));
    }
    return KRAIT_STATUS_OK;
}

krait_status krait_state_copy_rows(const krait_model *m, krait_state *dst, int dst_row,
                                   const krait_state *src, int src_row, int n)
{
    if (!range_ok(dst, dst_row, n, "state copy (destination)") ||
        !range_ok(src, src_row, n, "state copy (source)"))
        return KRAIT_STATUS_BAD_INPUT;
    krait_backend *be = m->be;
    const size_t cr = conv_row(m), sr = ssm_row(m);
    for (int i = 0; i < m->cfg.n_layer; i++) {
        TRY(be->copy(be, dst->conv[i] + (size_t)dst_row * cr, src->conv[i] + (size_t)src_row * cr,
                     (size_t)n * cr * sizeof(float)));
        TRY(be->copy(be, dst->ssm[i] + (size_t)dst_row * sr, src->ssm[i] + (size_t)src_row * sr,
                     (size_t)n * sr * sizeof(float)));
    }
    return KRAIT_STATUS_OK;
}

krait_status krait_state_copy(const krait_model *m, krait_state *dst, const krait_state *src)
{
    if (dst->B != src->B) {
        KRAIT_ERROR("state copy: the destination holds %d sequences, the source %d", dst->B, src->B);
        return KRAIT_STATUS_BAD_INPUT;
    }
    return krait_state_copy_rows(m, dst, 0, src, 0, src->B);
}

krait_status krait_state_fork(const krait_model *m, krait_state *dst, const krait_state *src, int src_row)
{
    for (int j = 0; j < dst->B; j++) TRY(krait_state_copy_rows(m, dst, j, src, src_row, 1));
    return KRAIT_STATUS_OK;
}

krait_status krait_state_gather(const krait_model *m, krait_state *dst, const krait_state *src,
                                const int *idx)
{
    for (int j = 0; j < dst->B; j++) TRY(krait_state_copy_rows(m, dst, j, src, idx[j], 1));
    return KRAIT_STATUS_OK;
}

krait_status krait_state_scatter(const krait_model *m, krait_state *dst, const int *idx,
                                 const krait_state *src)
{
    for (int j = 0; j < src->B; j++) TRY(krait_state_copy_rows(m, dst, idx[j], src, j, 1));
    return KRAIT_STATUS_OK;
}

krait_status krait_state_download(const krait_model *m, float *host, const krait_state *s)
{
    krait_backend *be = m->be;
    const size_t cr = conv_row(m), sr = ssm_row(m), per = floats_per_seq(m);
    for (int b = 0; b < s->B; b++) {
        float *h = host + (size_t)b * per;
        for (int i = 0; i < m->cfg.n_layer; i++, h += cr + sr) {
            TRY(be->download(be, h, s->conv[i] + (size_t)b * cr, cr * sizeof(float)));
            TRY(be->download(be, h + cr, s->ssm[i] + (size_t)b * sr, sr * sizeof(float)));
        }
    }
    return KRAIT_STATUS_OK;
}
