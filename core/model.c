/* core/model.c — the parameter arena: tensor table in HF order, the official initialisation,
 * the compute copy. Forward/backward live in forward.c, the per-sequence recurrent state in
 * state.c.
 *
 * Every tensor starts at a multiple of 16 elements so each one is 64-byte aligned in fp32 and
 * 32-byte aligned in bf16; gradients and optimizer moments use the same offsets. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define ALIGN_ELEMS 16

typedef struct table_builder {
    krait_tensor_info *t;
    int n, cap;
    size_t next;
} table_builder;

static size_t add_tensor(table_builder *tb, const char *name, int decay, int ndim, int64_t d0,
                         int64_t d1, int64_t d2)
{
    krait_tensor_info *ti = &tb->t[tb->n++];
    KRAIT_ASSERT(tb->n <= tb->cap);
    snprintf(ti->name, sizeof ti->name, "%s", name);
    ti->ndim = ndim;
    int64_t d[3] = { d0, d1, d2 };
    ti->numel = 1;
    for (int i = 0; i < 4; i++) ti->shape[i] = 0;
    for (int i = 0; i < ndim; i++) {
        ti->shape[i] = d[i];
        ti->numel *= (size_t)d[i];
    }
    ti->decay = decay;
    ti->offset = tb->next;
    tb->next += (ti->numel + ALIGN_ELEMS - 1) / ALIGN_ELEMS * ALIGN_ELEMS;
    return ti->offset;
}

krait_model *krait_model_init(const krait_config *cfg, krait_backend *be)
{
    /* the derived sizes are krait_config_finalize's: a config built by hand and not finalised
     * has d_inner = dt_rank = 0 and would make a model of zero-width layers */
    if (cfg->d_model < 1 || cfg->n_layer < 1 || cfg->d_inner < 1 || cfg->dt_rank < 1 || cfg->d_state < 1 ||
        cfg->d_conv < 1 || (cfg->vocab_size < 1 && cfg->input_dim < 1)) {
        KRAIT_ERROR("krait_model_init: the config is not finalised (d_model %d, n_layer %d, d_inner %d, "
                    "dt_rank %d, d_state %d, d_conv %d, vocab_size %d): call krait_config_finalize first",
                    cfg->d_model, cfg->n_layer, cfg->d_inner, cfg->dt_rank, cfg->d_state, cfg->d_conv,
                    cfg->vocab_size);
        return NULL;
    }
    krait_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->cfg = *cfg;
    m->be = be;
    const int D = cfg->d_model, E = cfg->d_inner, N = cfg->d_state, K = cfg->d_conv;
    const int R = cfg->dt_rank, V = cfg->vocab_size, NL = cfg->n_layer, F = cfg->input_dim;
    table_builder tb = { .cap = 5 + 13 * NL };
    tb.t = calloc((size_t)tb.cap, sizeof *tb.t);
    m->layers = calloc((size_t)NL, sizeof *m->layers);
    if (!tb.t || !m->layers) goto fail;

    m->emb = m->inp_w = m->inp_b = m->lm_head = m->cls_w = m->cls_b = SIZE_MAX;
    if (F > 0) {
        m->inp_w = add_tensor(&tb, "backbone.input_proj.weight", 1, 2, D, F, 0);
        m->inp_b = add_tensor(&tb, "backbone.input_proj.bias", 0, 1, D, 0, 0);
    } else {
        m->emb = add_tensor(&tb, "backbone.embeddings.weight", 1, 2, V, D, 0);
    }
    for (int i = 0; i < NL; i++) {
        krait_layer_offsets *lo = &m->layers[i];
        char p[32], name[sizeof tb.t->name];
        snprintf(p, sizeof p, "backbone.layers.%d.", i);
#define T(field, suffix, decay, ndim, a, b, c)                                                     \
    (snprintf(name, sizeof name, "%s%s", p, suffix), lo->field = add_tensor(&tb, name, decay, ndim, a, b, c))
        T(norm_w, "norm.weight", 0, 1, D, 0, 0);
        T(in_w, "mixer.in_proj.weight", 1, 2, 2 * E, D, 0);
        lo->in_b = SIZE_MAX;
        if (cfg->use_bias) T(in_b, "mixer.in_proj.bias", 0, 1, 2 * E, 0, 0);
        T(conv_w, "mixer.conv1d.weight", 1, 3, E, 1, K);
        lo->conv_b = SIZE_MAX;
        if (cfg->use_conv_bias) T(conv_b, "mixer.conv1d.bias", 0, 1, E, 0, 0);
        T(x_w, "mixer.x_proj.weight", 1, 2, R + 2 * N, E, 0);
        T(dt_w, "mixer.dt_proj.weight", 1, 2, E, R, 0);
        T(dt_b, "mixer.dt_proj.bias", 0, 1, E, 0, 0);
        T(A_log, "mixer.A_log", 0, 2, E, N, 0);
        T(Dskip, "mixer.D", 0, 1, E, 0, 0);
        T(out_w, "mixer.out_proj.weight", 1, 2, D, E, 0);
        lo->out_b = SIZE_MAX;
        if (cfg->use_bias) T(out_b, "mixer.out_proj.bias", 0, 1, D, 0, 0);
#undef T
    }
    m->norm_f = add_tensor(&tb, "backbone.norm_f.weight", 0, 1, D, 0, 0);
    if (!strcmp(cfg->head, "classify")) {
        m->cls_w = add_tensor(&tb, "classifier.weight", 1, 2, cfg->n_classes, D, 0);
        m->cls_b = add_tensor(&tb, "classifier.bias", 0, 1, cfg->n_classes, 0, 0);
    } else {
        m->lm_head = cfg->tie_embeddings ? m->emb : add_tensor(&tb, "lm_head.weight", 1, 2, V, D, 0);
    }
    m->tensors = tb.t;
    m->n_tensors = tb.n;
    m->n_params = tb.next;
    if (!be) return m; /* the tensor table only (model_io.c checks files against it) */

    m->params = be->alloc(be, m->n_params * sizeof(float));
    if (!m->params) {
        KRAIT_ERROR("cannot allocate %.1f MB of parameters on %s", m->n_params * 4.0 / 1e6, be->name);
        goto fail;
    }
    be->zero(be, m->params, m->n_params * sizeof(float));
    if (be->act_dtype == KRAIT_DTYPE_F32) {
        m->params_act = m->params;
    } else {
        m->params_act = be->alloc(be, m->n_params * krait_dtype_size(be->act_dtype));
        if (!m->params_act) goto fail;
        be->zero(be, m->params_act, m->n_params * krait_dtype_size(be->act_dtype));
    }
    return m;
fail:
    m->tensors = tb.t;
    krait_model_free(m);
    return NULL;
}

void krait_model_free(krait_model *m)
{
    if (!m) return;
    if (!m->owner && m->params_act && m->params_act != m->params) m->be->free(m->be, m->params_act);
    if (!m->owner && m->params) m->be->free(m->be, m->params);
    free(m->tensors);
    free(m->layers);
    free(m);
}

krait_model *krait_model_share(const krait_model *m, krait_backend *be)
{
    if (!m || !be || !m->params) {
        KRAIT_ERROR("krait_model_share: %s", !m || !m->params ? "no model with weights to share" : "no backend");
        return NULL;
    }
    if (strcmp(be->name, m->be->name) != 0 || be->act_dtype != m->be->act_dtype ||
        (!strcmp(be->name, "cuda") && krait_cuda_device_of(be) != krait_cuda_device_of(m->be))) {
        KRAIT_ERROR("krait_model_share: the model is on a %s backend (%s), the view's is %s (%s): a view "
                    "needs the same kind, dtype and device", m->be->name, krait_dtype_name(m->be->act_dtype),
                    be->name, krait_dtype_name(be->act_dtype));
        return NULL;
    }
    krait_model *v = malloc(sizeof *v);
    krait_tensor_info *t = malloc((size_t)m->n_tensors * sizeof *t);
    krait_layer_offsets *l = malloc((size_t)(m->cfg.n_layer > 0 ? m->cfg.n_layer : 1) * sizeof *l);
    if (!v || !t || !l) {
        free(v);
        free(t);
        free(l);
        KRAIT_ERROR("krait_model_share: out of memory");
        return NULL;
    }
    *v = *m;
    memcpy(t, m->tensors, (size_t)m->n_tensors * sizeof *t);
    memcpy(l, m->layers, (size_t)m->cfg.n_layer * sizeof *l);
    v->tensors = t;
    v->layers = l;
    v->be = be;
    v->owner = m->owner ? m->owner : m;
    return v;
}

const krait_tensor_info *krait_model_find(const krait_model *m, const char *name)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

krait_status krait_model_sync_act(krait_model *m)
{
    if (m->params_act == m->params) return KRAIT_STATUS_OK;
    return m->be->to_act(m->be, m->params_act, m->params, m->n_params);
}

static void fill_uniform(float *x, size_t n, double bound, krait_rng *rng)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)((2.0 * krait_rng_uniform(rng) - 1.0) * bound);
}

static void fill_const(float *x, size_t n, float v)
{
    for (size_t i = 0; i < n; i++) x[i] = v;
}

krait_status krait_model_init_weights(krait_model *m, krait_rng *rng)
{
    const krait_config *c = &m->cfg;
    const int D = c->d_model, E = c->d_inner, N = c->d_state, K = c->d_conv, R = c->dt_rank;
    float *h = calloc(m->n_params, sizeof(float));
    if (!h) return KRAIT_STATUS_NO_MEMORY;

    /* nn.Embedding -> N(0, init_std); a feature input is an nn.Linear (bias zeroed) */
    if (m->emb != SIZE_MAX)
        for (size_t i = 0; i < (size_t)c->vocab_size * D; i++)
            h[m->emb + i] = (float)(c->init_std * krait_rng_normal(rng));
    else
        fill_uniform(h + m->inp_w, (size_t)D * c->input_dim, 1.0 / sqrt(c->input_dim), rng);
    for (int l = 0; l < c->n_layer; l++) {
        const krait_layer_offsets *lo = &m->layers[l];
        fill_const(h + lo->norm_w, (size_t)D, 1.0f);
        /* nn.Linear default (kaiming_uniform a=sqrt(5)): U(+-1/sqrt(fan_in)); biases zeroed */
        fill_uniform(h + lo->in_w, (size_t)2 * E * D, 1.0 / sqrt(D), rng);
        /* nn.Conv1d(groups=E): fan_in = K for weight and bias */
        fill_uniform(h + lo->conv_w, (size_t)E * K, 1.0 / sqrt(K), rng);
        if (lo->conv_b != SIZE_MAX) fill_uniform(h + lo->conv_b, (size_t)E, 1.0 / sqrt(K), rng);
        fill_uniform(h + lo->x_w, (size_t)(R + 2 * N) * E, 1.0 / sqrt(E), rng);
        double dt_std = pow(R, -0.5) * c->dt_scale;
        if (c->dt_init_random)
            fill_uniform(h + lo->dt_w, (size_t)E * R, dt_std, rng);
        else
            fill_const(h + lo->dt_w, (size_t)E * R, (float)dt_std);
        /* dt_proj.bias = inverse softplus of dt ~ logU(dt_min, dt_max), floored */
        for (int e = 0; e < E; e++) {
            double lmin = log(c->dt_min), lmax = log(c->dt_max);
            double dt = exp(krait_rng_uniform(rng) * (lmax - lmin) + lmin);
            if (dt < c->dt_init_floor) dt = c->dt_init_floor;
            h[lo->dt_b + e] = (float)(dt + log(-expm1(-dt)));
        }
        /* S4D-real: A = 1..N per channel, stored as log */
        for (int e = 0; e < E; e++)
            for (int n = 0; n < N; n++) h[lo->A_log + (size_t)e * N + n] = logf((float)(n + 1));
        fill_const(h + lo->Dskip, (size_t)E, 1.0f);
        /* out_proj: kaiming uniform, then / sqrt(n_layer) (rescale_prenorm_residual) */
        double ob = 1.0 / sqrt(E);
        if (c->rescale_prenorm_residual) ob /= sqrt(c->n_layer);
        fill_uniform(h + lo->out_w, (size_t)D * E, ob, rng);
    }
    fill_const(h + m->norm_f, (size_t)D, 1.0f);
    if (m->lm_head != SIZE_MAX && m->lm_head != m->emb)
        fill_uniform(h + m->lm_head, (size_t)c->vocab_size * D, 1.0 / sqrt(D), rng);
    if (m->cls_w != SIZE_MAX) fill_uniform(h + m->cls_w, (size_t)c->n_classes * D, 1.0 / sqrt(D), rng);

    krait_status s = m->be->upload(m->be, m->params, h, m->n_params * sizeof(float));
    free(h);
    if (s) return s;
    return krait_model_sync_act(m);
}
