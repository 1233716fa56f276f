/* core/model_io.c — load and save model folders; see model_io.h for the rules.
 *
 * Loading is two passes over the opened safetensors model: a plan (each entry of the model's
 * tensor table matched to a file tensor, names, shapes and dtypes checked, nothing left over)
 * and then the reads, one tensor at a time through a host staging buffer the size of the
 * largest tensor, uploaded into the parameter arena. Inspection is the plan alone, against a
 * table-only model (krait_model_init with no backend). */
#include "model_io.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bf16.h"
#include "fsutil.h"
#include "log.h"
#include "safetensors.h"

#define EMB_HF "backbone.embeddings.weight"
#define EMB_ORIG "backbone.embedding.weight"
#define LM_HEAD "lm_head.weight"

int krait_dtype_from_name(krait_dtype *out, const char *name)
{
    static const struct { const char *a, *b; krait_dtype t; } names[] = {
        { "f32", "float32", KRAIT_DTYPE_F32 },
        { "bf16", "bfloat16", KRAIT_DTYPE_BF16 },
        { "f16", "float16", KRAIT_DTYPE_F16 },
    };
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].a) || !strcmp(name, names[i].b)) {
            *out = names[i].t;
            return 1;
        }
    return 0;
}

const char *krait_dtype_torch_name(krait_dtype t)
{
    switch (t) {
    case KRAIT_DTYPE_F32: return "float32";
    case KRAIT_DTYPE_BF16: return "bfloat16";
    case KRAIT_DTYPE_F16: return "float16";
    default: return NULL;
    }
}

/* krait_config_same_shape, with the two values of a numeric key that differs (NAN for the
 * string keys krait.head and krait.pooling) */
static int same_shape(const krait_config *a, const krait_config *b, const char **key, double *va, double *vb)
{
#define SAME(field, name)                                                                          \
    if (a->field != b->field) {                                                                    \
        if (key) *key = name;                                                                      \
        *va = (double)a->field, *vb = (double)b->field;                                            \
        return 0;                                                                                  \
    }
    *va = *vb = NAN;
    SAME(d_model, "hidden_size");
    SAME(n_layer, "num_hidden_layers");
    SAME(vocab_size, "vocab_size");
    SAME(d_state, "state_size");
    SAME(d_conv, "conv_kernel");
    SAME(d_inner, "intermediate_size");
    SAME(dt_rank, "time_step_rank");
    SAME(use_bias, "use_bias");
    SAME(use_conv_bias, "use_conv_bias");
    SAME(tie_embeddings, "tie_word_embeddings");
    SAME(norm_eps, "layer_norm_epsilon");
    SAME(n_classes, "krait.classes");
    SAME(bidirectional, "krait.bidirectional");
    SAME(input_dim, "krait.input_dim");
#undef SAME
    if (strcmp(a->head, b->head)) {
        if (key) *key = "krait.head";
        return 0;
    }
    if (strcmp(a->pooling, b->pooling)) {
        if (key) *key = "krait.pooling";
        return 0;
    }
    return 1;
}

int krait_config_same_shape(const krait_config *a, const krait_config *b, const char **key)
{
    double va, vb;
    return same_shape(a, b, key, &va, &vb);
}

/* The config.json that goes with path (a folder, or a file inside one). malloc'd. */
static char *config_path_of(const char *path)
{
    if (krait_fs_is_dir(path)) return krait_fs_join(path, "config.json");
    if (!strchr(path, '/')) return strdup("config.json");
    char *dir = krait_fs_dirname(path);
    char *p = dir ? krait_fs_join(dir, "config.json") : NULL;
    free(dir);
    return p;
}

/* Read config.json for path into cfg; *cfg_path receives its path (caller frees). */
static krait_status read_config(krait_config *cfg, char **cfg_path, const char *path)
{
    *cfg_path = NULL;
    if (!krait_fs_is_dir(path) && !krait_fs_is_file(path)) {
        KRAIT_ERROR("%s: no such model folder or file", path);
        return KRAIT_STATUS_BAD_INPUT;
    }
    size_t n = strlen(path);
    if (krait_fs_is_file(path) && n >= 5 && !strcmp(path + n - 5, ".json")) {
        KRAIT_ERROR("%s: a JSON file, not a model: give the model folder (config.json + model.safetensors) or "
                    "its .safetensors file", path);
        return KRAIT_STATUS_BAD_INPUT;
    }
    char *cp = config_path_of(path);
    if (!cp) return KRAIT_STATUS_NO_MEMORY;
    if (!krait_fs_is_file(cp) && !krait_fs_is_dir(cp)) { /* the user named another file: say both */
        if (krait_fs_is_dir(path))
            KRAIT_ERROR("%s: not a model folder: no %s in it", path, cp);
        else
            KRAIT_ERROR("%s: not a model: a model file is a .safetensors with config.json beside it, and there "
                        "is no %s", path, cp);
        free(cp);
        return KRAIT_STATUS_BAD_INPUT;
    }
    krait_config_default(cfg);
    krait_status s = krait_config_load(cfg, NULL, cp);
    if (!s && !strcmp(cfg->head, "classify") && cfg->n_classes < 2) {
        KRAIT_ERROR("%s: a classifier needs \"krait\": {\"classes\": C} with C >= 2", cp);
        s = KRAIT_STATUS_BAD_INPUT;
    }
    if (s) {
        free(cp);
        return s;
    }
    *cfg_path = cp;
    return KRAIT_STATUS_OK;
}

/* ---- the plan: table entry -> file tensor --------------------------------------------------- */

typedef struct plan {
    krait_st_model *st;
    const krait_st_tensor **src;       /* (n_tensors of the model) */
    const krait_st_tensor *tied_head;  /* lm_head.weight stored beside a tied embedding, or NULL */
    int emb_rows;
} plan;

static void plan_free(plan *p)
{
    krait_st_model_close(p->st);
    free(p->src);
    memset(p, 0, sizeof *p);
}

static int is_head_rows(const krait_model *m, const krait_tensor_info *ti)
{
    return ti->offset == m->emb || (!m->cfg.tie_embeddings && ti->offset == m->lm_head);
}

/* One table entry against its file tensor t (non-NULL): dtype and shape. */
static krait_status check_tensor(const krait_model *m, const krait_tensor_info *ti,
                                 const krait_st_tensor *t, const char *cfg_path)
{
    const char *file = krait_st_path(t->file);
    krait_dtype kd;
    if (!krait_st_dtype_to_krait(&kd, t->dtype) || kd == KRAIT_DTYPE_I32) {
        KRAIT_ERROR("%s: tensor '%s' has dtype %s; krait reads F32, F16 and BF16", file, t->name,
                    krait_st_dtype_to_string(t->dtype));
        return KRAIT_STATUS_BAD_INPUT;
    }
    int ok = krait_st_shape_equal(t->shape, t->rank, ti->shape, ti->ndim);
    /* the embedding and an untied head may hold the unpadded vocabulary (pad rows become 0) */
    if (!ok && is_head_rows(m, ti) && t->rank == 2 && t->shape[1] == ti->shape[1] &&
        t->shape[0] == m->cfg.vocab_size_raw && m->cfg.vocab_size_raw < m->cfg.vocab_size)
        ok = 1;
    if (!ok) {
        char got[96], want[96];
        krait_st_shape_str(got, sizeof got, t->shape, t->rank);
        krait_st_shape_str(want, sizeof want, ti->shape, ti->ndim);
        KRAIT_ERROR("%s: tensor '%s' has shape %s where %s needs %s%s", file, t->name, got,
                    cfg_path, want, is_head_rows(m, ti) && m->cfg.vocab_size_raw < m->cfg.vocab_size
                                        ? " (or the unpadded vocab_size rows)" : "");
        return KRAIT_STATUS_BAD_INPUT;
    }
    return KRAIT_STATUS_OK;
}

/* A short reason why a leftover tensor is not used, for the message. */
static const char *unused_hint(const krait_config *c, const char *name)
{
    if (strstr(name, "in_proj.bias") || strstr(name, "out_proj.bias"))
        return c->use_bias ? "" : " (the config has use_bias false)";
    if (strstr(name, "conv1d.bias")) return " (the config has use_conv_bias false)";
    if (strstr(name, "backbone.layers.")) return " (more layers than num_hidden_layers?)";
    return "";
}

/* Match m's tensor table against the files at path. Logs one line and fails on the first
 * problem: both embedding names, a missing tensor, a wrong dtype or shape, a leftover. */
static krait_status plan_build(plan *p, const krait_model *m, const char *path, const char *cfg_path)
{
    memset(p, 0, sizeof *p);
    krait_status s;
    p->st = krait_st_model_open(path, &s);
    if (!p->st) return s;
    p->src = calloc((size_t)m->n_tensors, sizeof *p->src);
    if (!p->src) {
        plan_free(p);
        return KRAIT_STATUS_NO_MEMORY;
    }
    const krait_st_tensor *e_hf = krait_st_model_find(p->st, EMB_HF);
    const krait_st_tensor *e_orig = krait_st_model_find(p->st, EMB_ORIG);
    if (e_hf && e_orig) {
        KRAIT_ERROR("%s: both '%s' and '%s' are present; a model has one embedding",
                    krait_st_path(e_orig->file), EMB_HF, EMB_ORIG);
        s = KRAIT_STATUS_BAD_INPUT;
        goto fail;
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const krait_tensor_info *ti = &m->tensors[i];
        const krait_st_tensor *t = ti->offset == m->emb ? (e_hf ? e_hf : e_orig)
                                                        : krait_st_model_find(p->st, ti->name);
        if (!t) {
            KRAIT_ERROR("%s: tensor '%s' is missing (%s needs it)", path, ti->name, cfg_path);
            s = KRAIT_STATUS_BAD_INPUT;
            goto fail;
        }
        if ((s = check_tensor(m, ti, t, cfg_path))) goto fail;
        p->src[i] = t;
        if (ti->offset == m->emb) p->emb_rows = (int)t->shape[0];
    }
    /* a stored head is the tied copy only where the model has a tied LM head (a classifier's
     * lm_head.weight, or one beside no embedding at all, is a tensor krait would not use) */
    const krait_st_tensor *head = krait_st_model_find(p->st, LM_HEAD);
    if (m->cfg.tie_embeddings && head && m->emb != SIZE_MAX && m->lm_head == m->emb) {
        const krait_st_tensor *e = e_hf ? e_hf : e_orig;
        if (!krait_st_shape_equal(head->shape, head->rank, e->shape, e->rank)) {
            char got[96], want[96];
            KRAIT_ERROR("%s: tensor '%s' has shape %s but the embedding it is tied to has %s",
                        krait_st_path(head->file), LM_HEAD,
                        krait_st_shape_str(got, sizeof got, head->shape, head->rank),
                        krait_st_shape_str(want, sizeof want, e->shape, e->rank));
            s = KRAIT_STATUS_BAD_INPUT;
            goto fail;
        }
        p->tied_head = head;
    }
    for (size_t j = 0; j < krait_st_model_count(p->st); j++) {
        const krait_st_tensor *t = krait_st_model_tensor_at(p->st, j);
        int used = t == p->tied_head;
        for (int i = 0; i < m->n_tensors && !used; i++) used = p->src[i] == t;
        if (!used) {
            KRAIT_ERROR("%s: tensor '%s' is not part of the Mamba model %s describes%s",
                        krait_st_path(t->file), t->name, cfg_path, unused_hint(&m->cfg, t->name));
            s = KRAIT_STATUS_BAD_INPUT;
            goto fail;
        }
    }
    return KRAIT_STATUS_OK;
fail:
    plan_free(p);
    return s;
}

/* Read every planned tensor into m's arena (pad rows zero) and refresh the compute copy. */
/* Index of the first NaN or Inf in x, or n (an exponent of all ones; integer ops vectorise). */
static inline int nonfinite_bits(const float *x)
{
    uint32_t u;
    memcpy(&u, x, sizeof u); /* the bits, without breaking aliasing rules */
    return (u & 0x7f800000u) == 0x7f800000u;
}

static size_t first_nonfinite(const float *x, size_t n)
{
    for (size_t b = 0; b < n; b += 4096) { /* blocks: a cheap all-clear test, then the exact place */
        size_t e = b + 4096 < n ? b + 4096 : n;
        int bad = 0;
        for (size_t i = b; i < e; i++) bad |= nonfinite_bits(x + i);
        if (bad)
            for (size_t i = b; i < e; i++)
                if (nonfinite_bits(x + i)) return i;
    }
    return n;
}

static krait_status plan_read(const plan *p, krait_model *m)
{
    krait_backend *be = m->be;
    krait_status s = KRAIT_STATUS_NO_MEMORY;
    float *buf = malloc(krait_model_max_numel(m) * sizeof *buf), *head = NULL;
    if (!buf) goto fail;
    for (int i = 0; i < m->n_tensors; i++) {
        const krait_tensor_info *ti = &m->tensors[i];
        const krait_st_tensor *t = p->src[i];
        size_t n = (size_t)t->numel;
        if ((s = krait_st_tensor_read_f32(t, buf, n))) goto fail;
        size_t bad = first_nonfinite(buf, n);
        if (bad < n) {
            KRAIT_ERROR("%s: tensor '%s' holds a non-finite value (%g at element %zu): the weights are damaged",
                        krait_st_path(t->file), t->name, (double)buf[bad], bad);
            s = KRAIT_STATUS_BAD_INPUT;
            goto fail;
        }
        if (n < ti->numel) memset(buf + n, 0, (ti->numel - n) * sizeof *buf);
        if (ti->offset == m->emb && p->tied_head) {
            s = KRAIT_STATUS_NO_MEMORY;
            if (!(head = malloc(n * sizeof *head))) goto fail;
            if ((s = krait_st_tensor_read_f32(p->tied_head, head, n))) goto fail;
            if (memcmp(head, buf, n * sizeof *buf) != 0) {
                KRAIT_ERROR("%s: tensor '%s' differs from the embedding '%s', but the config ties "
                            "them (tie_word_embeddings true); set it false to load an untied head",
                            krait_st_path(p->tied_head->file), LM_HEAD, t->name);
                s = KRAIT_STATUS_BAD_INPUT;
                goto fail;
            }
            free(head);
            head = NULL;
        }
        if ((s = be->upload(be, m->params + ti->offset, buf, ti->numel * sizeof *buf))) goto fail;
    }
    s = krait_model_sync_act(m);
fail:
    free(head);
    free(buf);
    return s;
}

/* ---- public ----------------------------------------------------------------------------------- */

krait_status krait_model_copy_matching(krait_model *dst, const krait_model *src, const char *src_name, int *n_copied)
{
    int n = 0;
    krait_status s = KRAIT_STATUS_OK;
    float *buf = NULL;
    for (int i = 0; i < dst->n_tensors && !s; i++) {
        const krait_tensor_info *d = &dst->tensors[i], *t = krait_model_find(src, d->name);
        if (!t) continue;
        if (!krait_st_shape_equal(t->shape, t->ndim, d->shape, d->ndim)) {
            char got[96], want[96];
            KRAIT_ERROR("%s: tensor '%s' has shape %s there but %s in this model (it was made with hidden_size %d, "
                        "num_hidden_layers %d, state_size %d: a model started from it needs its sizes)", src_name,
                        d->name, krait_st_shape_str(got, sizeof got, t->shape, t->ndim),
                        krait_st_shape_str(want, sizeof want, d->shape, d->ndim), src->cfg.d_model, src->cfg.n_layer,
                        src->cfg.d_state);
            s = KRAIT_STATUS_BAD_INPUT;
            break;
        }
        float *nb = realloc(buf, d->numel * sizeof *buf);
        if (!nb) {
            s = KRAIT_STATUS_NO_MEMORY;
            break;
        }
        buf = nb;
        s = src->be->download(src->be, buf, src->params + t->offset, d->numel * sizeof *buf);
        if (!s) s = dst->be->upload(dst->be, dst->params + d->offset, buf, d->numel * sizeof *buf);
        n += !s;
    }
    free(buf);
    if (!s) s = krait_model_sync_act(dst);
    if (n_copied) *n_copied = n;
    return s;
}

krait_model *krait_model_load(const char *path, krait_backend *be, krait_status *status)
{
    krait_config cfg;
    char *cfg_path = NULL;
    krait_model *m = NULL;
    plan p = { 0 };
    krait_status s = read_config(&cfg, &cfg_path, path);
    if (s) goto fail;
    /* the files checked against the config's tensor table first: a config.json that claims a
     * far larger model than its weights is refused before that model is allocated */
    if (!(m = krait_model_init(&cfg, NULL))) {
        s = KRAIT_STATUS_NO_MEMORY;
        goto fail;
    }
    s = plan_build(&p, m, path, cfg_path);
    plan_free(&p);
    krait_model_free(m);
    m = NULL;
    if (s) goto fail;
    if (!(m = krait_model_init(&cfg, be))) {
        s = KRAIT_STATUS_NO_MEMORY;
        goto fail;
    }
    if ((s = plan_build(&p, m, path, cfg_path))) goto fail;
    s = plan_read(&p, m);
fail:
    plan_free(&p);
    free(cfg_path);
    if (s) {
        krait_model_free(m);
        m = NULL;
    }
    if (status) *status = s;
    return m;
}

krait_status krait_model_load_weights(krait_model *m, const char *path)
{
    krait_config cfg;
    char *cfg_path = NULL;
    plan p = { 0 };
    const char *key = NULL;
    krait_status s = read_config(&cfg, &cfg_path, path);
    if (s) return s;
    double va, vb;
    if (!same_shape(&cfg, &m->cfg, &key, &va, &vb)) {
        char there[64], here[64];
        const int pool = !strcmp(key, "krait.pooling");
        if (isnan(va)) snprintf(there, sizeof there, "%s", pool ? cfg.pooling : cfg.head);
        else snprintf(there, sizeof there, "%g", va);
        if (isnan(vb)) snprintf(here, sizeof here, "%s", pool ? m->cfg.pooling : m->cfg.head);
        else snprintf(here, sizeof here, "%g", vb);
        KRAIT_ERROR("%s: \"%s\" is %s there but %s in the model being loaded into (the same shapes are needed)",
                    cfg_path, key, there, here);
        s = KRAIT_STATUS_BAD_INPUT;
        goto fail;
    }
    if ((s = plan_build(&p, m, path, cfg_path))) goto fail;
    s = plan_read(&p, m);
fail:
    plan_free(&p);
    free(cfg_path);
    return s;
}

krait_status krait_model_inspect(krait_model_file_info *info, const char *path)
{
    memset(info, 0, sizeof *info);
    char *cfg_path = NULL;
    krait_model *m = NULL;
    plan p = { 0 };
    krait_status s = read_config(&info->cfg, &cfg_path, path);
    if (s) return s;
    if (!(m = krait_model_init(&info->cfg, NULL))) {
        s = KRAIT_STATUS_NO_MEMORY;
        goto fail;
    }
    if ((s = plan_build(&p, m, path, cfg_path))) goto fail;
    info->n_tensors = (int)krait_st_model_count(p.st);
    info->n_files = (int)krait_st_model_file_count(p.st);
    for (int i = 0; i < m->n_tensors; i++) info->n_params += m->tensors[i].numel;
    int seen[KRAIT_ST_DTYPE_COUNT] = { 0 };
    for (int j = 0; j < info->n_tensors; j++) {
        const krait_st_tensor *t = krait_st_model_tensor_at(p.st, (size_t)j);
        info->tensor_bytes += t->nbytes;
        seen[t->dtype] = 1;
        if (!strcmp(t->name, LM_HEAD)) info->lm_head_stored = 1;
        if (!strcmp(t->name, EMB_HF) || !strcmp(t->name, EMB_ORIG))
            snprintf(info->embedding, sizeof info->embedding, "%s", t->name);
    }
    for (int d = 0; d < KRAIT_ST_DTYPE_COUNT; d++) {
        if (!seen[d]) continue;
        size_t k = strlen(info->dtypes);
        snprintf(info->dtypes + k, sizeof info->dtypes - k, "%s%s", k ? "+" : "",
                 krait_st_dtype_to_string((krait_st_dtype)d));
    }
    info->embedding_rows = p.emb_rows;
fail:
    plan_free(&p);
    krait_model_free(m);
    free(cfg_path);
    return s;
}

/* Saved as f16 or bf16, a finite weight must stay finite: f16 ends at 65504 (bf16 near 3.4e38). */
static krait_status check_range(const krait_model *m, const float *host, krait_dtype dtype, const char *dir)
{
    if (dtype == KRAIT_DTYPE_F32) return KRAIT_STATUS_OK;
    for (int t = 0; t < m->n_tensors; t++) {
        const krait_tensor_info *ti = &m->tensors[t];
        for (size_t i = 0; i < ti->numel; i++) {
            const float x = host[ti->offset + i];
            int inf = dtype == KRAIT_DTYPE_F16 ? (krait_f32_to_f16(x) & 0x7c00) == 0x7c00
                                               : (krait_f32_to_bf16(x) & 0x7f80) == 0x7f80;
            if (inf && isfinite(x)) {
                KRAIT_ERROR("%s: tensor '%s' holds %g (element %zu), beyond the range of %s: save the model as %s",
                            dir, ti->name, x, i, krait_dtype_name(dtype), dtype == KRAIT_DTYPE_F16 ? "bf16 or f32" : "f32");
                return KRAIT_STATUS_BAD_INPUT;
            }
        }
    }
    return KRAIT_STATUS_OK;
}

krait_status krait_model_save(const krait_model *m, const char *dir, krait_dtype dtype)
{
    krait_st_dtype sd = dtype == KRAIT_DTYPE_F32 ? KRAIT_ST_DTYPE_F32
                        : dtype == KRAIT_DTYPE_BF16 ? KRAIT_ST_DTYPE_BF16
                        : dtype == KRAIT_DTYPE_F16 ? KRAIT_ST_DTYPE_F16 : KRAIT_ST_DTYPE_COUNT;
    if (sd == KRAIT_ST_DTYPE_COUNT) {
        KRAIT_ERROR("%s: a model is saved as f32, bf16 or f16, not %s", dir, krait_dtype_name(dtype));
        return KRAIT_STATUS_BAD_INPUT;
    }
    float *host = malloc(m->n_params * sizeof *host);
    krait_st_writer *w = krait_st_writer_init();
    char *json = NULL, *cfg_path = NULL;
    krait_status s = KRAIT_STATUS_NO_MEMORY;
    if (!host || !w) {
        KRAIT_ERROR("%s: out of memory for %.1f MB of weights", dir, m->n_params * 4.0 / 1e6);
        goto fail;
    }
    if ((s = m->be->download(m->be, host, m->params, m->n_params * sizeof *host))) goto fail;
    if ((s = check_range(m, host, dtype, dir)) || (s = krait_fs_mkdirs(dir))) goto fail;
    for (int i = 0; i < m->n_tensors; i++) {
        const krait_tensor_info *ti = &m->tensors[i];
        if ((s = krait_st_writer_add_f32(w, ti->name, sd, host + ti->offset, ti->shape, ti->ndim)))
            goto fail;
    }
    s = KRAIT_STATUS_NO_MEMORY;
    json = krait_config_to_json(&m->cfg, krait_dtype_torch_name(dtype));
    cfg_path = krait_fs_join(dir, "config.json");
    if (!json || !cfg_path) goto fail;
    size_t n = strlen(json);
    json[n] = '\n'; /* the NUL is replaced by a final newline; n + 1 bytes written */
    /* the new config written whole beside config.json first, the weights next (renamed into
     * place once whole), then the config renamed: a failure or a stop while the weights are
     * written leaves the model before it whole, not new weights beside the old config (only the
     * moment between the two renames pairs them) */
    char *cfg_tmp = NULL;
    int fd = krait_fs_temp_beside(cfg_path, ".json", &cfg_tmp), slot = krait_fs_temp_track(cfg_tmp);
    if (fd < 0) {
        const int err = errno; /* before the log's own calls */
        KRAIT_ERROR("%s: cannot create a temporary file beside it (%s)", cfg_path, strerror(err));
        s = krait_fs_errno_status(err);
        goto fail;
    }
    int ok = write(fd, json, n + 1) == (ssize_t)(n + 1) && fsync(fd) == 0;
    const int err = errno;
    if (close(fd) != 0 || !ok) {
        KRAIT_ERROR("%s: write failed (%s)", cfg_path, strerror(err));
        unlink(cfg_tmp), krait_fs_temp_untrack(slot), free(cfg_tmp);
        s = krait_fs_errno_status(err);
        goto fail;
    }
    /* one file whatever the size (transformers reads any size); removes an older index/shards */
    if ((s = krait_st_writer_write_sharded(w, dir, UINT64_MAX))) {
        unlink(cfg_tmp), krait_fs_temp_untrack(slot), free(cfg_tmp);
        goto fail;
    }
    if (rename(cfg_tmp, cfg_path) != 0) {
        KRAIT_ERROR("%s: cannot rename %s over it (%s)", cfg_path, cfg_tmp, strerror(errno));
        s = KRAIT_STATUS_IO;
        unlink(cfg_tmp);
    } else {
        s = krait_fs_sync_dir(dir); /* the rename on disk, as the weights' is */
    }
    krait_fs_temp_untrack(slot);
    free(cfg_tmp);
fail:
    free(cfg_path);
    free(json);
    krait_st_writer_free(w);
    free(host);
    return s;
}
