/* core/infer.c — state operations, chunked prefill and the recurrent step; see infer.h.
 *
 * Rows of a state are contiguous inside each layer's conv (B, K-1, E) and SSM (B, E, N) arrays,
 * so every row operation is two backend copies per layer. Prefill runs each row on its own
 * through a one-row view, so a prompt's state and logits are the same whatever else is in the
 * batch. The logits come from the head (tied embedding or lm_head) over the final-norm rows
 * that are needed: the last prompt position, or the one position of a step. */
#include "infer.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

#define TRY(call)                                                                                  \
    do {                                                                                           \
        krait_status s_ = (call);                                                                  \
        if (s_) return s_;                                                                         \
    } while (0)

#define DEFAULT_CHUNK 512

struct krait_infer {
    const krait_model *m;
    int max_batch, chunk;
    krait_acts *step;      /* (max_batch, 1) */
    krait_acts *pre;       /* (1, chunk) */
    krait_state *row;      /* one-row view, re-pointed by prefill */
    float *logits32;       /* (head_rows, V) device fp32, only when the act dtype is not f32 */
};

/* ---- state operations ------------------------------------------------------------------------ */

static size_t conv_row(const krait_model *m) { return (size_t)(m->cfg.d_conv - 1) * m->cfg.d_inner; }
static size_t ssm_row(const krait_model *m) { return (size_t)m->cfg.d_inner * m->cfg.d_state; }

size_t krait_state_bytes_per_seq(const krait_model *m)
{
    return (conv_row(m) + ssm_row(m)) * (size_t)m->cfg.n_layer * sizeof(float);
}

static krait_state *view_alloc(const krait_model *m)
{
    krait_state *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->conv = calloc((size_t)m->cfg.n_layer, sizeof *v->conv);
    v->ssm = calloc((size_t)m->cfg.n_layer, sizeof *v->ssm);
    if (!v->conv || !v->ssm) {
        krait_state_free(m, v);
        return NULL;
    }
    v->per_seq = (conv_row(m) + ssm_row(m)) * (size_t)m->cfg.n_layer;
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
    krait_state *v = view_alloc(m);
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
    const size_t cr = conv_row(m), sr = ssm_row(m), per = (cr + sr) * (size_t)m->cfg.n_layer;
    for (int b = 0; b < s->B; b++) {
        float *h = host + (size_t)b * per;
        for (int i = 0; i < m->cfg.n_layer; i++, h += cr + sr) {
            TRY(be->download(be, h, s->conv[i] + (size_t)b * cr, cr * sizeof(float)));
            TRY(be->download(be, h + cr, s->ssm[i] + (size_t)b * sr, sr * sizeof(float)));
        }
    }
    return KRAIT_STATUS_OK;
}

/* ---- the inference context ------------------------------------------------------------------- */

krait_infer *krait_infer_init(const krait_model *m, int max_batch, int chunk)
{
    if (max_batch < 1) {
        KRAIT_ERROR("inference: the batch must hold at least one sequence (got %d)", max_batch);
        return NULL;
    }
    krait_infer *inf = calloc(1, sizeof *inf);
    if (!inf) return NULL;
    inf->m = m;
    inf->max_batch = max_batch;
    inf->chunk = chunk > 0 ? chunk : DEFAULT_CHUNK;
    inf->step = krait_acts_init(m, max_batch, 1, 0);
    inf->pre = inf->step ? krait_acts_init(m, 1, inf->chunk, 0) : NULL;
    inf->row = view_alloc(m);
    if (!inf->step || !inf->pre || !inf->row) goto fail;
    if (m->be->act_dtype != KRAIT_DTYPE_F32) {
        int rows = inf->step->head_rows > inf->pre->head_rows ? inf->step->head_rows : inf->pre->head_rows;
        inf->logits32 = m->be->alloc(m->be, (size_t)rows * m->cfg.vocab_size * sizeof(float));
        if (!inf->logits32) goto fail;
    }
    return inf;
fail:
    KRAIT_ERROR("inference: cannot allocate scratch for %d sequences and chunks of %d tokens",
                max_batch, inf->chunk);
    krait_infer_free(inf);
    return NULL;
}

void krait_infer_free(krait_infer *inf)
{
    if (!inf) return;
    const krait_model *m = inf->m;
    if (inf->logits32) m->be->free(m->be, inf->logits32);
    krait_state_free(m, inf->row);
    krait_acts_free(m, inf->pre);
    krait_acts_free(m, inf->step);
    free(inf);
}

const krait_model *krait_infer_model(const krait_infer *inf) { return inf->m; }
int krait_infer_max_batch(const krait_infer *inf) { return inf->max_batch; }
int krait_infer_chunk(const krait_infer *inf) { return inf->chunk; }

/* host logits (rows, V) = head(hf rows), in blocks of a->head_rows rows through a->logits. */
static krait_status head_logits(krait_infer *inf, float *host, krait_acts *a, const void *hf, int rows)
{
    const krait_model *m = inf->m;
    krait_backend *be = m->be;
    const int D = m->cfg.d_model, V = m->cfg.vocab_size;
    const size_t as = krait_dtype_size(be->act_dtype);
    const void *W = krait_act_at(m, m->lm_head);
    for (int r0 = 0; r0 < rows; r0 += a->head_rows) {
        int n = rows - r0 < a->head_rows ? rows - r0 : a->head_rows;
        const void *x = (const char *)hf + (size_t)r0 * D * as;
        float *out = host + (size_t)r0 * V;
        TRY(be->linear_fwd(be, a->logits, V, x, D, W, NULL, n, V, D, 0.0f));
        if (be->act_dtype == KRAIT_DTYPE_F32) {
            TRY(be->download(be, out, a->logits, (size_t)n * V * sizeof(float)));
        } else {
            TRY(be->from_act(be, inf->logits32, a->logits, (size_t)n * V));
            TRY(be->download(be, out, inf->logits32, (size_t)n * V * sizeof(float)));
        }
    }
    return KRAIT_STATUS_OK;
}

krait_status krait_prefill(krait_infer *inf, float *logits, krait_state *st, const int32_t *tokens,
                           int B, long L)
{
    const krait_model *m = inf->m;
    const int D = m->cfg.d_model, V = m->cfg.vocab_size;
    if (B != st->B || L < 1) {
        KRAIT_ERROR("prefill: %d sequences of %ld tokens for a state of %d sequences (need >= 1 token each)",
                    B, L, st->B);
        return KRAIT_STATUS_BAD_INPUT;
    }
    krait_acts *a = inf->pre;
    for (int b = 0; b < B; b++) {
        TRY(krait_state_view_set(m, inf->row, st, b, 1));
        const int32_t *seq = tokens + (size_t)b * (size_t)L;
        for (long t0 = 0; t0 < L; t0 += inf->chunk) {
            int len = L - t0 < inf->chunk ? (int)(L - t0) : inf->chunk;
            TRY(krait_acts_set_shape(a, 1, len));
            TRY(krait_acts_set_batch(m, a, seq + t0, NULL));
            TRY(krait_model_forward(m, a, inf->row));
            if (logits && t0 + len == L) {
                const void *last = (const char *)a->hf + (size_t)(len - 1) * D * krait_dtype_size(m->be->act_dtype);
                TRY(head_logits(inf, logits + (size_t)b * V, a, last, 1));
            }
        }
    }
    return KRAIT_STATUS_OK;
}

krait_status krait_step(krait_infer *inf, float *logits, krait_state *st, const int32_t *tokens)
{
    const krait_model *m = inf->m;
    krait_acts *a = inf->step;
    if (st->B > inf->max_batch) {
        KRAIT_ERROR("step: %d sequences but the inference scratch holds %d", st->B, inf->max_batch);
        return KRAIT_STATUS_BAD_INPUT;
    }
    TRY(krait_acts_set_shape(a, st->B, 1));
    TRY(krait_acts_set_batch(m, a, tokens, NULL));
    TRY(krait_model_forward(m, a, st));
    if (logits) TRY(head_logits(inf, logits, a, a->hf, st->B));
    return KRAIT_STATUS_OK;
}
