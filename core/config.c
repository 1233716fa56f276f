/* core/config.c — JSON configs with HF MambaConfig keys; see config.h for the rules.
 *
 * Keys are described by tables (name, type, where the value goes, its lower bound), so the
 * parser, the alias checks and the messages all come from one place. The "ssm_cfg", "krait"
 * and "train" objects have their own tables. This file does not know about weights. */
#include "config.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"

typedef enum { K_INT, K_FLOAT, K_DOUBLE, K_BOOL, K_STR, K_SEED, K_IGNORE } key_type;

typedef struct key_desc {
    const char *name;
    key_type type;
    size_t off;          /* into krait_config or krait_train_config */
    double min;          /* lower bound (inclusive) for numbers */
    size_t cap;          /* buffer size for strings */
} key_desc;

#define CF(f) offsetof(krait_config, f)
#define TF(f) offsetof(krait_train_config, f)
#define STR(f) K_STR, CF(f), 0, sizeof(((krait_config *)0)->f)

/* Top-level model keys (HF names first, then the state-spaces names). Sizes: min 1. */
static const key_desc model_keys[] = {
    { "hidden_size", K_INT, CF(d_model), 1, 0 },
    { "d_model", K_INT, CF(d_model), 1, 0 },
    { "num_hidden_layers", K_INT, CF(n_layer), 1, 0 },
    { "n_layer", K_INT, CF(n_layer), 1, 0 },
    { "vocab_size", K_INT, CF(vocab_size_raw), 2, 0 },
    { "state_size", K_INT, CF(d_state), 1, 0 },
    { "conv_kernel", K_INT, CF(d_conv), 1, 0 },
    { "expand", K_FLOAT, CF(expand), 1e-9, 0 },
    { "intermediate_size", K_INT, CF(d_inner), 1, 0 },
    { "d_inner", K_INT, CF(d_inner), 1, 0 },
    { "layer_norm_epsilon", K_FLOAT, CF(norm_eps), 1e-30, 0 },
    { "norm_epsilon", K_FLOAT, CF(norm_eps), 1e-30, 0 },
    { "use_bias", K_BOOL, CF(use_bias), 0, 0 },
    { "use_conv_bias", K_BOOL, CF(use_conv_bias), 0, 0 },
    { "tie_word_embeddings", K_BOOL, CF(tie_embeddings), 0, 0 },
    { "tie_embeddings", K_BOOL, CF(tie_embeddings), 0, 0 },
    { "pad_vocab_size_multiple", K_INT, CF(pad_vocab_multiple), 1, 0 },
    { "time_step_min", K_FLOAT, CF(dt_min), 1e-30, 0 },
    { "time_step_max", K_FLOAT, CF(dt_max), 1e-30, 0 },
    { "time_step_floor", K_FLOAT, CF(dt_init_floor), 0, 0 },
    { "time_step_scale", K_FLOAT, CF(dt_scale), 0, 0 },
    /* known to HF / state-spaces, no effect on krait's math (or checked specially below) */
    { "architectures", K_IGNORE, 0, 0, 0 },      { "model_type", K_IGNORE, 0, 0, 0 },
    { "torch_dtype", K_IGNORE, 0, 0, 0 },        { "dtype", K_IGNORE, 0, 0, 0 },
    { "transformers_version", K_IGNORE, 0, 0, 0 }, { "_name_or_path", K_IGNORE, 0, 0, 0 },
    { "bos_token_id", K_IGNORE, 0, 0, 0 },       { "eos_token_id", K_IGNORE, 0, 0, 0 },
    { "pad_token_id", K_IGNORE, 0, 0, 0 },       { "use_cache", K_IGNORE, 0, 0, 0 },
    { "use_mambapy", K_IGNORE, 0, 0, 0 },        { "residual_in_fp32", K_IGNORE, 0, 0, 0 },
    { "fused_add_norm", K_IGNORE, 0, 0, 0 },     { "initializer_range", K_IGNORE, 0, 0, 0 },
    { "rescale_prenorm_residual", K_IGNORE, 0, 0, 0 },
};

static const key_desc ssm_keys[] = {
    { "d_state", K_INT, CF(d_state), 1, 0 },
    { "d_conv", K_INT, CF(d_conv), 1, 0 },
    { "expand", K_FLOAT, CF(expand), 1e-9, 0 },
    { "dt_min", K_FLOAT, CF(dt_min), 1e-30, 0 },
    { "dt_max", K_FLOAT, CF(dt_max), 1e-30, 0 },
    { "dt_scale", K_FLOAT, CF(dt_scale), 0, 0 },
    { "dt_init_floor", K_FLOAT, CF(dt_init_floor), 0, 0 },
    { "conv_bias", K_BOOL, CF(use_conv_bias), 0, 0 },
    { "bias", K_BOOL, CF(use_bias), 0, 0 },
    { "use_fast_path", K_IGNORE, 0, 0, 0 },
    { "dt_rank", K_IGNORE, 0, 0, 0 },   /* "auto" or an integer: apply_rank */
    { "dt_init", K_IGNORE, 0, 0, 0 },   /* "random" or "constant": apply_init_scheme */
    { "layer", K_IGNORE, 0, 0, 0 },     /* must be "Mamba1" */
};

static const key_desc krait_keys[] = {
    { "modality", STR(modality) },
    { "head", STR(head) },
    { "classes", K_INT, CF(n_classes), 0, 0 },
    { "n_classes", K_INT, CF(n_classes), 0, 0 },
    { "input_dim", K_INT, CF(input_dim), 0, 0 },
    { "pooling", STR(pooling) },
    { "bidirectional", K_BOOL, CF(bidirectional), 0, 0 },
    { "tokenizer", STR(tokenizer) },
    { "vocab_size_raw", K_IGNORE, 0, 0, 0 }, /* after every key: apply_vocab_raw */
    { "init_std", K_FLOAT, CF(init_std), 0, 0 },
    { "rescale_prenorm_residual", K_BOOL, CF(rescale_prenorm_residual), 0, 0 },
};

static const key_desc train_keys[] = {
    { "steps", K_INT, TF(steps), 0, 0 },
    { "minutes", K_DOUBLE, TF(minutes), 0, 0 },
    { "batch", K_INT, TF(batch), 1, 0 },
    { "seq_len", K_INT, TF(seq_len), 1, 0 },
    { "lr", K_FLOAT, TF(lr), 1e-30, 0 },
    { "min_lr", K_FLOAT, TF(min_lr), 0, 0 },
    { "warmup", K_INT, TF(warmup), 0, 0 },
    { "weight_decay", K_FLOAT, TF(weight_decay), 0, 0 },
    { "beta1", K_FLOAT, TF(beta1), 0, 0 },
    { "beta2", K_FLOAT, TF(beta2), 0, 0 },
    { "eps", K_FLOAT, TF(eps), 1e-30, 0 },
    { "grad_clip", K_FLOAT, TF(grad_clip), 0, 0 },
    { "embed_dropout", K_FLOAT, TF(embed_dropout), 0, 0 },
    { "resid_dropout", K_FLOAT, TF(resid_dropout), 0, 0 },
    { "seed", K_SEED, TF(seed), 0, 0 },
    { "log_every", K_INT, TF(log_every), 1, 0 },
    { "eval_every", K_INT, TF(eval_every), 0, 0 },
    { "ckpt_every", K_INT, TF(ckpt_every), 0, 0 },
    { "keep_ckpts", K_INT, TF(keep_ckpts), 0, 0 }, /* 0: keep all */
    { "on_nonfinite", K_STR, TF(on_nonfinite), 0, sizeof(((krait_train_config *)0)->on_nonfinite) },
};

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

void krait_config_default(krait_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->d_state = 16;
    cfg->d_conv = 4;
    cfg->expand = 2.0f;
    cfg->norm_eps = 1e-5f;
    cfg->use_bias = 0;
    cfg->use_conv_bias = 1;
    cfg->tie_embeddings = 1;
    cfg->pad_vocab_multiple = 8;
    cfg->dt_min = 1e-3f;
    cfg->dt_max = 1e-1f;
    cfg->dt_init_floor = 1e-4f;
    cfg->dt_scale = 1.0f;
    cfg->dt_init_random = 1;
    cfg->init_std = 0.02f;
    cfg->rescale_prenorm_residual = 1;
    cfg->modality[0] = '\0'; /* unknown until a config or a trainer says (a HF LM folder says nothing) */
    strcpy(cfg->head, "lm");
    strcpy(cfg->pooling, "mean");
}

void krait_train_default(krait_train_config *tc)
{
    memset(tc, 0, sizeof *tc);
    tc->steps = 1000;
    tc->batch = 8;
    tc->seq_len = 256;
    tc->lr = 1e-3f;
    tc->min_lr = 1e-5f;
    tc->warmup = 100;
    tc->weight_decay = 0.1f;
    tc->beta1 = 0.9f;
    tc->beta2 = 0.95f;
    tc->eps = 1e-8f;
    tc->grad_clip = 1.0f;
    tc->seed = 1;
    tc->log_every = 10;
    tc->eval_every = 0;
    tc->ckpt_every = 0;
    tc->keep_ckpts = 3;
    strcpy(tc->on_nonfinite, "stop");
}

static const key_desc *find_key(const key_desc *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0) return &t[i];
    return NULL;
}

/* Store one JSON value through its descriptor. where = "key" or "section.key" for messages. */
static krait_status apply_value(void *base, const key_desc *k, const cJSON *v, const char *origin,
                                const char *where)
{
    char *p = (char *)base + k->off;
    switch (k->type) {
    case K_IGNORE:
        return KRAIT_STATUS_OK;
    case K_BOOL:
        if (!cJSON_IsBool(v)) {
            KRAIT_ERROR("%s: key \"%s\" must be true or false", origin, where);
            return KRAIT_STATUS_BAD_INPUT;
        }
        *(int *)p = cJSON_IsTrue(v);
        return KRAIT_STATUS_OK;
    case K_STR:
        if (!cJSON_IsString(v) || strlen(v->valuestring) >= k->cap) {
            KRAIT_ERROR("%s: key \"%s\" must be a string of at most %zu characters", origin,
                        where, k->cap - 1);
            return KRAIT_STATUS_BAD_INPUT;
        }
        strcpy(p, v->valuestring);
        return KRAIT_STATUS_OK;
    case K_INT:
    case K_SEED: {
        double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        double hi = k->type == K_SEED ? 9007199254740992.0 : 2147483647.0;
        if (!cJSON_IsNumber(v) || d != floor(d) || d < k->min || d > hi) {
            char want[48];
            if (k->min > 1) snprintf(want, sizeof want, "an integer >= %.0f", k->min);
            else snprintf(want, sizeof want, "%s", k->min == 1 ? "a positive integer" : "a non-negative integer");
            if (cJSON_IsNumber(v) && d == floor(d) && d < k->min)
                KRAIT_ERROR("%s: key \"%s\" must be %s (got %.0f)", origin, where, want, d);
            else
                KRAIT_ERROR("%s: key \"%s\" must be %s", origin, where, want);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (k->type == K_SEED)
            *(uint64_t *)p = (uint64_t)d;
        else
            *(int *)p = (int)d;
        return KRAIT_STATUS_OK;
    }
    case K_FLOAT:
    case K_DOUBLE: {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < k->min) {
            if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble > 0 && k->min > 0) /* too small */
                KRAIT_ERROR("%s: key \"%s\" is %g, below the smallest krait takes (%g)", origin, where, v->valuedouble,
                            k->min);
            else
                KRAIT_ERROR("%s: key \"%s\" must be a %s number", origin, where, k->min > 0 ? "positive" : "non-negative");
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (k->type == K_FLOAT && v->valuedouble > FLT_MAX) {
            KRAIT_ERROR("%s: key \"%s\" is %g, more than a float holds (%g)", origin, where, v->valuedouble, (double)FLT_MAX);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (k->type == K_DOUBLE)
            *(double *)p = v->valuedouble;
        else
            *(float *)p = (float)v->valuedouble;
        return KRAIT_STATUS_OK;
    }
    }
    return KRAIT_STATUS_BAD_INPUT;
}

/* Apply every member of a JSON object through a key table. */
/* A key given twice in one object (JSON parsers keep both; which one counts is a guess). */
static krait_status check_twice(const cJSON *obj, const char *origin, const char *section)
{
    for (const cJSON *it = obj->child; it; it = it->next)
        for (const cJSON *before = obj->child; before != it; before = before->next)
            if (!strcmp(before->string, it->string)) {
                KRAIT_ERROR("%s: key \"%s%s%s\" is given twice", origin, section ? section : "", section ? "." : "",
                            it->string);
                return KRAIT_STATUS_BAD_INPUT;
            }
    return KRAIT_STATUS_OK;
}

static krait_status apply_object(void *base, const key_desc *t, size_t n, const cJSON *obj,
                                 const char *origin, const char *section, int lenient)
{
    if (!cJSON_IsObject(obj)) {
        KRAIT_ERROR("%s: \"%s\" must be a JSON object", origin, section);
        return KRAIT_STATUS_BAD_INPUT;
    }
    krait_status twice = check_twice(obj, origin, section);
    if (twice) return twice;
    for (const cJSON *it = obj->child; it; it = it->next) {
        char where[160];
        snprintf(where, sizeof where, "%s.%s", section, it->string);
        const key_desc *k = find_key(t, n, it->string);
        if (!k) {
            if (lenient) continue;
            KRAIT_ERROR("%s: unknown key \"%s\"", origin, where);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (base) {
            krait_status s = apply_value(base, k, it, origin, where);
            if (s) return s;
        }
    }
    return KRAIT_STATUS_OK;
}

/* A number or a boolean (1 or 0) into *d, and as text for a message into buf; 0 when v is
 * neither. */
static int scalar_of(const cJSON *v, double *d, char *buf, size_t n)
{
    if (cJSON_IsBool(v)) *d = cJSON_IsTrue(v), snprintf(buf, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNumber(v)) *d = v->valuedouble, snprintf(buf, n, "%g", v->valuedouble);
    else return 0;
    return 1;
}

/* Values given under two names for one field (numbers or booleans) must agree: which one wins
 * would otherwise depend on their order in the file. prefix_b is "" or "ssm_cfg.". */
static krait_status check_same(const cJSON *va, const cJSON *vb, const char *a, const char *prefix_b,
                               const char *b, const char *origin)
{
    char ta[32], tb[32];
    double da, db;
    if (!va || !vb || !scalar_of(va, &da, ta, sizeof ta) || !scalar_of(vb, &db, tb, sizeof tb) || da == db)
        return KRAIT_STATUS_OK;
    KRAIT_ERROR("%s: keys \"%s\" (%s) and \"%s%s\" (%s) disagree", origin, a, ta, prefix_b, b, tb);
    return KRAIT_STATUS_BAD_INPUT;
}

/* Two names for one field (hidden_size / d_model) must agree when both are given. */
static krait_status check_alias(const cJSON *root, const char *a, const char *b, const char *origin)
{
    return check_same(cJSON_GetObjectItemCaseSensitive(root, a), cJSON_GetObjectItemCaseSensitive(root, b), a, "",
                      b, origin);
}

/* A top-level key and its ssm_cfg twin (state_size / ssm_cfg.d_state) must agree when both are
 * given. */
static krait_status check_ssm_alias(const cJSON *root, const char *top, const char *ssm, const char *origin)
{
    return check_same(cJSON_GetObjectItemCaseSensitive(root, top),
                      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "ssm_cfg"), ssm), top,
                      "ssm_cfg.", ssm, origin);
}

/* Keys whose only allowed value is the plain Mamba-1 LM (no MLP, no attention, RMSNorm). */
static krait_status check_structure(const cJSON *root, const char *origin)
{
    const cJSON *v;
    /* another architecture's config (Mamba-2, FalconMamba, Jamba, ...) shares many key names:
     * building a Mamba-1 model from it would be silently wrong */
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "model_type")) &&
        !(cJSON_IsString(v) && strcmp(v->valuestring, "mamba") == 0)) {
        KRAIT_ERROR("%s: \"model_type\" is %s%s%s: krait implements Mamba-1 (\"mamba\") only", origin,
                    cJSON_IsString(v) ? "\"" : "", cJSON_IsString(v) ? v->valuestring : "not a string",
                    cJSON_IsString(v) ? "\"" : "");
        return KRAIT_STATUS_UNSUPPORTED;
    }
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(root, "architectures")) {
        if (cJSON_IsString(a) && strncmp(a->valuestring, "Mamba", 5) == 0 && strncmp(a->valuestring, "Mamba2", 6))
            continue;
        KRAIT_ERROR("%s: \"architectures\" names %s%s%s: krait implements Mamba-1 (MambaForCausalLM) only", origin,
                    cJSON_IsString(a) ? "\"" : "", cJSON_IsString(a) ? a->valuestring : "a non-string",
                    cJSON_IsString(a) ? "\"" : "");
        return KRAIT_STATUS_UNSUPPORTED;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "d_intermediate")) &&
        !(cJSON_IsNumber(v) && v->valuedouble == 0)) {
        KRAIT_ERROR("%s: \"d_intermediate\" must be 0 (krait has no MLP blocks)", origin);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "attn_layer_idx")) &&
        !(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 0)) {
        KRAIT_ERROR("%s: \"attn_layer_idx\" must be empty (krait has no attention layers)", origin);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "rms_norm")) && !cJSON_IsTrue(v)) {
        KRAIT_ERROR("%s: \"rms_norm\" must be true (krait implements RMSNorm only)", origin);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "hidden_act")) &&
        !(cJSON_IsString(v) && strcmp(v->valuestring, "silu") == 0)) {
        KRAIT_ERROR("%s: \"hidden_act\" must be \"silu\"", origin);
        return KRAIT_STATUS_UNSUPPORTED;
    }
    return KRAIT_STATUS_OK;
}

/* "auto" or a positive integer, for time_step_rank / ssm_cfg.dt_rank. */
/* "krait.vocab_size_raw": the ids a model really has when "vocab_size" counts its padded
 * embedding rows (a state-spaces model of 50277 ids in 50280 rows, saved here with the rows in
 * "vocab_size" as transformers reads it). Read after every key, whatever their order. */
static krait_status apply_vocab_raw(krait_config *cfg, const cJSON *kb, const char *origin)
{
    const cJSON *raw = cJSON_GetObjectItemCaseSensitive(kb, "vocab_size_raw");
    if (!raw) return KRAIT_STATUS_OK;
    const long long rows = cfg->vocab_size_raw, mult = cfg->pad_vocab_multiple > 0 ? cfg->pad_vocab_multiple : 1;
    const double v = cJSON_IsNumber(raw) ? raw->valuedouble : -1;
    if (!(v >= 2 && v <= rows && v == floor(v))) {
        KRAIT_ERROR("%s: \"krait.vocab_size_raw\" must be an integer from 2 to \"vocab_size\" (%lld)", origin, rows);
        return KRAIT_STATUS_BAD_INPUT;
    }
    const long long n = (long long)v, padded = (n + mult - 1) / mult * mult;
    if (padded != rows) {
        KRAIT_ERROR("%s: \"krait.vocab_size_raw\" %lld pads to %lld rows (pad_vocab_size_multiple %lld), not "
                    "\"vocab_size\" %lld", origin, n, padded, mult, rows);
        return KRAIT_STATUS_BAD_INPUT;
    }
    cfg->vocab_size_raw = (int)n;
    return KRAIT_STATUS_OK;
}

static krait_status apply_rank(krait_config *cfg, const cJSON *v, const char *origin, const char *key)
{
    if (cJSON_IsString(v) && strcmp(v->valuestring, "auto") == 0) {
        cfg->dt_rank_set = 0;
        return KRAIT_STATUS_OK;
    }
    if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && v->valuedouble >= 1 &&
        v->valuedouble < 1e9) {
        cfg->dt_rank = (int)v->valuedouble;
        cfg->dt_rank_set = 1;
        return KRAIT_STATUS_OK;
    }
    KRAIT_ERROR("%s: key \"%s\" must be \"auto\" or a positive integer", origin, key);
    return KRAIT_STATUS_BAD_INPUT;
}

static krait_status apply_init_scheme(krait_config *cfg, const cJSON *v, const char *origin,
                                      const char *key)
{
    if (cJSON_IsString(v) && strcmp(v->valuestring, "random") == 0) cfg->dt_init_random = 1;
    else if (cJSON_IsString(v) && strcmp(v->valuestring, "constant") == 0) cfg->dt_init_random = 0;
    else {
        KRAIT_ERROR("%s: key \"%s\" must be \"random\" or \"constant\"", origin, key);
        return KRAIT_STATUS_BAD_INPUT;
    }
    return KRAIT_STATUS_OK;
}

static void report_parse_error(const char *json, const char *err, const char *origin)
{
    int line = 1, col = 1;
    for (const char *p = json; err && p < err && *p; p++) {
        if (*p == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    KRAIT_ERROR("%s: malformed JSON at line %d, column %d", origin, line, col);
}

/* check_twice in obj and every object inside it */
static krait_status check_twice_deep(const cJSON *obj, const char *origin)
{
    if (cJSON_IsObject(obj) && check_twice(obj, origin, NULL)) return KRAIT_STATUS_BAD_INPUT;
    for (const cJSON *it = obj->child; it; it = it->next)
        if ((cJSON_IsObject(it) || cJSON_IsArray(it)) && check_twice_deep(it, origin)) return KRAIT_STATUS_BAD_INPUT;
    return KRAIT_STATUS_OK;
}

cJSON *krait_json_parse_object(const char *text, const char *origin)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        report_parse_error(text, end ? end : cJSON_GetErrorPtr(), origin);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        KRAIT_ERROR("%s: not a JSON object", origin);
    } else if (!check_twice_deep(root, origin)) {
        return root;
    }
    cJSON_Delete(root);
    return NULL;
}

static krait_status parse_json(krait_config *cfg, krait_train_config *tc, const char *json, const char *origin,
                               int finalize);

krait_status krait_config_parse(krait_config *cfg, krait_train_config *tc, const char *json,
                                const char *origin)
{
    return parse_json(cfg, tc, json, origin, 1);
}

/* The keys of json onto cfg and tc; the checks of the whole (krait_config_finalize) when
 * finalize is set. */
static krait_status parse_json(krait_config *cfg, krait_train_config *tc, const char *json, const char *origin,
                               int finalize)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
    if (!root) {
        report_parse_error(json, end ? end : cJSON_GetErrorPtr(), origin);
        return KRAIT_STATUS_BAD_INPUT;
    }
    krait_status s = KRAIT_STATUS_OK;
    if (!cJSON_IsObject(root)) {
        KRAIT_ERROR("%s: a config must be a JSON object", origin);
        s = KRAIT_STATUS_BAD_INPUT;
        goto done;
    }
    /* transformers writes keys krait does not know; tolerate those (with one warning). krait's
     * own saved configs carry "architectures" too (for transformers) but also a "krait" object and
     * no "transformers_version": they stay strict, so a misspelt key in one is an error. */
    int from_hf = cJSON_HasObjectItem(root, "transformers_version") ||
                  (cJSON_HasObjectItem(root, "architectures") && !cJSON_HasObjectItem(root, "krait"));
    static const char *aliases[][2] = { { "hidden_size", "d_model" },
                                        { "num_hidden_layers", "n_layer" },
                                        { "intermediate_size", "d_inner" },
                                        { "layer_norm_epsilon", "norm_epsilon" },
                                        { "tie_word_embeddings", "tie_embeddings" } };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if ((s = check_alias(root, aliases[i][0], aliases[i][1], origin))) goto done;
    static const char *ssm_aliases[][2] = { { "state_size", "d_state" }, { "conv_kernel", "d_conv" },
                                            { "expand", "expand" }, { "use_bias", "bias" },
                                            { "use_conv_bias", "conv_bias" } };
    for (size_t i = 0; i < sizeof ssm_aliases / sizeof ssm_aliases[0]; i++)
        if ((s = check_ssm_alias(root, ssm_aliases[i][0], ssm_aliases[i][1], origin))) goto done;
    if ((s = check_structure(root, origin)) || (s = check_twice(root, origin, NULL))) goto done;
    const cJSON *fp32 = cJSON_GetObjectItemCaseSensitive(root, "residual_in_fp32");
    if (cJSON_IsFalse(fp32))
        KRAIT_WARN("%s: \"residual_in_fp32\" is false, but krait always keeps the residual stream in fp32 (a "
                   "model trained with a 16-bit residual gives slightly different numbers here)", origin);

    int n_unknown = 0;
    const char *first_unknown = NULL;
    for (const cJSON *it = root->child; it; it = it->next) {
        const char *key = it->string;
        if (strcmp(key, "ssm_cfg") == 0) {
            if ((s = apply_object(cfg, ssm_keys, NKEYS(ssm_keys), it, origin, "ssm_cfg", 0))) goto done;
            const cJSON *v;
            if ((v = cJSON_GetObjectItemCaseSensitive(it, "dt_rank")) &&
                (s = apply_rank(cfg, v, origin, "ssm_cfg.dt_rank")))
                goto done;
            if ((v = cJSON_GetObjectItemCaseSensitive(it, "dt_init")) &&
                (s = apply_init_scheme(cfg, v, origin, "ssm_cfg.dt_init")))
                goto done;
            if ((v = cJSON_GetObjectItemCaseSensitive(it, "layer")) &&
                !(cJSON_IsString(v) && strcmp(v->valuestring, "Mamba1") == 0)) {
                KRAIT_ERROR("%s: \"ssm_cfg.layer\" must be \"Mamba1\" (krait implements Mamba-1)", origin);
                s = KRAIT_STATUS_UNSUPPORTED;
                goto done;
            }
            continue;
        }
        if (strcmp(key, "krait") == 0) {
            if ((s = apply_object(cfg, krait_keys, NKEYS(krait_keys), it, origin, "krait", 0))) goto done;
            continue;
        }
        if (strcmp(key, "eos_token_id") == 0) { /* kept when a number; HF files may hold null or a list */
            if (cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble < 1e9) cfg->eos_token_id = it->valueint;
            continue;
        }
        if (strcmp(key, "train") == 0) {
            krait_train_config scratch;
            krait_train_default(&scratch);
            krait_train_config *dst = tc ? tc : &scratch;
            if ((s = apply_object(dst, train_keys, NKEYS(train_keys), it, origin, "train", 0))) goto done;
            if (cJSON_GetObjectItemCaseSensitive(it, "seq_len")) dst->seq_len_set = 1;
            if (strcmp(dst->on_nonfinite, "stop") != 0 && strcmp(dst->on_nonfinite, "skip") != 0) {
                KRAIT_ERROR("%s: key \"train.on_nonfinite\" must be \"stop\" or \"skip\"", origin);
                s = KRAIT_STATUS_BAD_INPUT;
                goto done;
            }
            const struct { const char *key, *what; float v; } below_one[] = {
                { "embed_dropout", "a probability", dst->embed_dropout },
                { "resid_dropout", "a probability", dst->resid_dropout },
                { "beta1", "an AdamW decay rate: at 1 its bias correction divides by 0", dst->beta1 },
                { "beta2", "an AdamW decay rate: at 1 its bias correction divides by 0", dst->beta2 },
            };
            for (size_t i = 0; i < sizeof below_one / sizeof below_one[0]; i++) {
                if (below_one[i].v < 1.0f) continue;
                KRAIT_ERROR("%s: key \"train.%s\" must be below 1 (%s)", origin, below_one[i].key, below_one[i].what);
                s = KRAIT_STATUS_BAD_INPUT;
                goto done;
            }
            continue;
        }
        if (strcmp(key, "time_step_rank") == 0 || strcmp(key, "dt_rank") == 0) {
            if ((s = apply_rank(cfg, it, origin, key))) goto done;
            continue;
        }
        if (strcmp(key, "time_step_init_scheme") == 0) {
            if ((s = apply_init_scheme(cfg, it, origin, key))) goto done;
            continue;
        }
        if (!strcmp(key, "d_intermediate") || !strcmp(key, "attn_layer_idx") ||
            !strcmp(key, "attn_cfg") || !strcmp(key, "rms_norm") || !strcmp(key, "hidden_act"))
            continue; /* checked in check_structure */
        const key_desc *k = find_key(model_keys, NKEYS(model_keys), key);
        if (!k) {
            if (!from_hf) {
                KRAIT_ERROR("%s: unknown key \"%s\"", origin, key);
                s = KRAIT_STATUS_BAD_INPUT;
                goto done;
            }
            if (!n_unknown++) first_unknown = key;
            continue;
        }
        if ((s = apply_value(cfg, k, it, origin, key))) goto done;
        if (k->off == CF(d_inner)) cfg->d_inner_set = 1;
    }
    /* transformers uses vocab_size as written (it does not pad; the -hf repos store 50280) */
    const cJSON *kb = cJSON_GetObjectItemCaseSensitive(root, "krait");
    if (from_hf && !cJSON_GetObjectItemCaseSensitive(kb, "vocab_size_raw"))
        cfg->pad_vocab_multiple = 1; /* (krait's file, saved again by transformers: its multiple pads the raw ids) */
    if ((s = apply_vocab_raw(cfg, kb, origin))) goto done;
    if (n_unknown)
        KRAIT_WARN("%s: ignored %d key%s krait does not use (first: \"%s\")", origin, n_unknown,
                   n_unknown > 1 ? "s" : "", first_unknown);
    if (finalize) s = krait_config_finalize(cfg, origin);
done:
    cJSON_Delete(root);
    return s;
}

krait_status krait_config_finalize(krait_config *cfg, const char *origin)
{
#define REQUIRE(cond, ...)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            char msg_[256];                                                                        \
            snprintf(msg_, sizeof msg_, __VA_ARGS__);                                              \
            KRAIT_ERROR("%s: %s", origin, msg_);                                                   \
            return KRAIT_STATUS_BAD_INPUT;                                                         \
        }                                                                                          \
    } while (0)
    REQUIRE(cfg->d_model >= 1, "\"hidden_size\" (d_model) must be a positive integer");
    REQUIRE(cfg->n_layer >= 1 && cfg->n_layer <= 100000, "\"num_hidden_layers\" (n_layer) must be in 1..100000");
    REQUIRE(cfg->input_dim >= 0 && cfg->input_dim <= 65536, "\"krait.input_dim\" must be in 0..65536");
    REQUIRE(cfg->input_dim == 0 || !strcmp(cfg->head, "classify"),
            "\"krait.input_dim\" (feature input) needs \"krait.head\": \"classify\"");
    REQUIRE(cfg->vocab_size_raw >= 2 || (cfg->input_dim > 0 && cfg->vocab_size_raw == 0),
            "\"vocab_size\" (krait_config.vocab_size_raw) must be an integer >= 2");
    REQUIRE(cfg->d_state >= 1 && cfg->d_state <= 256, "\"state_size\" must be in 1..256");
    REQUIRE(cfg->d_conv >= 1 && cfg->d_conv <= 16, "\"conv_kernel\" must be in 1..16");
    REQUIRE(cfg->expand > 0, "\"expand\" must be positive");
    REQUIRE(cfg->norm_eps > 0, "\"layer_norm_epsilon\" must be positive");
    REQUIRE(cfg->dt_min > 0 && cfg->dt_max >= cfg->dt_min,
            "time_step_min/max must satisfy 0 < min <= max");
    if (!cfg->d_inner_set) {
        double e = floor((double)cfg->expand * cfg->d_model);
        REQUIRE(e >= 1 && e < 1e8, "expand * hidden_size must be a positive size");
        cfg->d_inner = (int)e;
    }
    REQUIRE(cfg->d_inner >= 1, "\"intermediate_size\" must be a positive integer");
    if (!cfg->dt_rank_set) cfg->dt_rank = (cfg->d_model + 15) / 16;
    REQUIRE(cfg->dt_rank >= 1 && cfg->dt_rank <= 65536, "\"time_step_rank\" must be in 1..65536");
    int mult = cfg->pad_vocab_multiple > 0 ? cfg->pad_vocab_multiple : 1;
    long long v = cfg->vocab_size_raw;
    if (v % mult) v += mult - v % mult;
    REQUIRE(v < 100000000, "\"vocab_size\" is too large");
    cfg->vocab_size = (int)v;
    /* Every op indexes with size_t, but one weight matrix must stay below 2^31 elements. */
    REQUIRE((long long)cfg->vocab_size * cfg->d_model < 2147483647LL &&
                2LL * cfg->d_inner * cfg->d_model < 2147483647LL,
            "model too large: a weight matrix would exceed 2^31 elements");
    REQUIRE(!strcmp(cfg->head, "lm") || !strcmp(cfg->head, "classify"),
            "\"krait.head\" must be \"lm\" or \"classify\"");
    /* 0 (absent) in a training config: the trainer sets it from the labels; a model folder's
     * config must name it (model_io.c) */
    REQUIRE(cfg->n_classes == 0 || (cfg->n_classes >= 2 && cfg->n_classes <= 1000000),
            "\"krait.classes\" (or \"n_classes\") must be in 2..1000000");
    REQUIRE(!strcmp(cfg->pooling, "mean") || !strcmp(cfg->pooling, "last"),
            "\"krait.pooling\" must be \"mean\" or \"last\"");
    static const char *const modalities[] = { "", "text", "audio", "dna", "synthetic" };
    int known = 0;
    for (size_t i = 0; i < sizeof modalities / sizeof *modalities; i++) known |= !strcmp(cfg->modality, modalities[i]);
    REQUIRE(known, "\"krait.modality\" must be \"text\", \"audio\", \"dna\" or \"synthetic\"");
    return KRAIT_STATUS_OK;
#undef REQUIRE
}

krait_status krait_config_load(krait_config *cfg, krait_train_config *tc, const char *path)
{
    krait_status s;
    char *text = krait_fs_read_text(path, 16 << 20, &s); /* says why: missing, a folder, too large */
    if (!text) return s == KRAIT_STATUS_IO ? KRAIT_STATUS_BAD_INPUT : s;
    s = krait_config_parse(cfg, tc, text, path);
    free(text);
    return s;
}

krait_status krait_config_set(krait_config *cfg, krait_train_config *tc, const char *assignment)
{
    return krait_config_set_many(cfg, tc, &assignment, 1);
}

/* One assignment, its key and value checked on their own (the whole config is not). */
static krait_status set_one(krait_config *cfg, krait_train_config *tc, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        KRAIT_ERROR("--set %s: expected key=value", assignment);
        return KRAIT_STATUS_BAD_INPUT;
    }
    char key[128];
    size_t klen = (size_t)(eq - assignment);
    if (klen >= sizeof key) klen = sizeof key - 1;
    memcpy(key, assignment, klen);
    key[klen] = 0;
    const char *val = eq + 1;
    /* The value is JSON when it parses as JSON (numbers, true/false), else a string. */
    cJSON *v = cJSON_Parse(val);
    if (!v) v = cJSON_CreateString(val);
    cJSON *root = cJSON_CreateObject(), *obj = root;
    char *dot = strchr(key, '.');
    if (dot) {
        *dot = 0;
        obj = cJSON_AddObjectToObject(root, key);
        cJSON_AddItemToObject(obj, dot + 1, v);
    } else {
        cJSON_AddItemToObject(root, key, v);
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json) return KRAIT_STATUS_NO_MEMORY;
    char origin[160];
    snprintf(origin, sizeof origin, "--set %s", assignment);
    krait_status s = parse_json(cfg, tc, json, origin, 0);
    free(json);
    return s;
}

krait_status krait_config_set_many(krait_config *cfg, krait_train_config *tc, const char *const *assignments, int n)
{
    krait_status s = KRAIT_STATUS_OK;
    for (int i = 0; !s && i < n; i++) s = set_one(cfg, tc, assignments[i]);
    if (s || !n) return s;
    char origin[300];
    size_t len = 0;
    origin[0] = '\0';
    for (int i = 0; i < n && len < sizeof origin; i++)
        len += (size_t)snprintf(origin + len, sizeof origin - len, "%s--set %s", i ? " " : "", assignments[i]);
    if (len >= sizeof origin) strcpy(origin + sizeof origin - 4, "...");
    return krait_config_finalize(cfg, origin);
}

int krait_config_byte_level(const krait_config *c)
{
    return !strcmp(c->tokenizer, "bytes") || (!c->tokenizer[0] && (c->vocab_size_raw == 256 || c->vocab_size_raw == 257));
}

void krait_json_number(char *buf, size_t size, double v, int is_float)
{
    for (int digits = is_float ? 6 : 15; digits <= (is_float ? 9 : 17); digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (is_float ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v) break;
    }
    /* printf and strtod agree on the locale's decimal point; JSON wants '.' */
    for (char *c = buf; *c; c++)
        if (!strchr("0123456789+-e", *c)) *c = '.';
    if (!strpbrk(buf, ".e") && strlen(buf) + 3 <= size) strcat(buf, ".0");
}

/* A float as transformers' files write it: 1e-05, 0.001, 1.0 (not 9.99999974737875e-06, not 1). */
static void add_float(cJSON *obj, const char *key, float v)
{
    char buf[40];
    krait_json_number(buf, sizeof buf, v, 1);
    cJSON_AddRawToObject(obj, key, buf);
}

char *krait_config_to_json(const krait_config *c, const char *torch_dtype)
{
    cJSON *r = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(r, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("MambaForCausalLM"));
    cJSON_AddStringToObject(r, "model_type", "mamba");
    cJSON_AddNumberToObject(r, "hidden_size", c->d_model);
    cJSON_AddNumberToObject(r, "num_hidden_layers", c->n_layer);
    if (c->input_dim == 0) cJSON_AddNumberToObject(r, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(r, "state_size", c->d_state);
    cJSON_AddNumberToObject(r, "expand", c->expand);
    cJSON_AddNumberToObject(r, "conv_kernel", c->d_conv);
    cJSON_AddNumberToObject(r, "intermediate_size", c->d_inner);
    cJSON_AddNumberToObject(r, "time_step_rank", c->dt_rank);
    add_float(r, "layer_norm_epsilon", c->norm_eps);
    cJSON_AddBoolToObject(r, "use_bias", c->use_bias);
    cJSON_AddBoolToObject(r, "use_conv_bias", c->use_conv_bias);
    cJSON_AddBoolToObject(r, "tie_word_embeddings", c->tie_embeddings);
    cJSON_AddNumberToObject(r, "pad_vocab_size_multiple", c->pad_vocab_multiple);
    add_float(r, "time_step_min", c->dt_min);
    add_float(r, "time_step_max", c->dt_max);
    add_float(r, "time_step_floor", c->dt_init_floor);
    add_float(r, "time_step_scale", c->dt_scale);
    cJSON_AddStringToObject(r, "time_step_init_scheme", c->dt_init_random ? "random" : "constant");
    cJSON_AddStringToObject(r, "hidden_act", "silu");
    cJSON_AddBoolToObject(r, "residual_in_fp32", 1);
    cJSON_AddBoolToObject(r, "rms_norm", 1);
    cJSON_AddNumberToObject(r, "bos_token_id", 0);
    cJSON_AddNumberToObject(r, "eos_token_id", c->eos_token_id);
    cJSON_AddNumberToObject(r, "pad_token_id", 0);
    cJSON_AddStringToObject(r, "torch_dtype", torch_dtype ? torch_dtype : "float32");
    /* the original state-spaces keys, as the -hf configs carry them */
    cJSON_AddNumberToObject(r, "d_model", c->d_model);
    cJSON_AddNumberToObject(r, "n_layer", c->n_layer);
    cJSON_AddNumberToObject(r, "d_inner", c->d_inner);
    cJSON *k = cJSON_AddObjectToObject(r, "krait");
    if (c->modality[0]) cJSON_AddStringToObject(k, "modality", c->modality);
    cJSON_AddStringToObject(k, "head", c->head);
    if (!strcmp(c->head, "classify")) {
        cJSON_AddNumberToObject(k, "classes", c->n_classes);
        cJSON_AddStringToObject(k, "pooling", c->pooling);
        if (c->input_dim > 0) cJSON_AddNumberToObject(k, "input_dim", c->input_dim);
    }
    if (c->bidirectional) cJSON_AddBoolToObject(k, "bidirectional", 1);
    if (c->tokenizer[0]) cJSON_AddStringToObject(k, "tokenizer", c->tokenizer);
    if (c->input_dim == 0 && c->vocab_size_raw < c->vocab_size) /* "vocab_size" holds the padded rows */
        cJSON_AddNumberToObject(k, "vocab_size_raw", c->vocab_size_raw);
    char *out = cJSON_Print(r);
    cJSON_Delete(r);
    return out;
}

char *krait_train_to_json(const krait_train_config *t)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "steps", t->steps);
    char minutes[40];
    krait_json_number(minutes, sizeof minutes, t->minutes, 0);
    cJSON_AddRawToObject(r, "minutes", minutes);
    cJSON_AddNumberToObject(r, "batch", t->batch);
    cJSON_AddNumberToObject(r, "seq_len", t->seq_len);
    add_float(r, "lr", t->lr);
    add_float(r, "min_lr", t->min_lr);
    cJSON_AddNumberToObject(r, "warmup", t->warmup);
    add_float(r, "weight_decay", t->weight_decay);
    add_float(r, "beta1", t->beta1);
    add_float(r, "beta2", t->beta2);
    add_float(r, "eps", t->eps);
    add_float(r, "grad_clip", t->grad_clip);
    add_float(r, "embed_dropout", t->embed_dropout);
    add_float(r, "resid_dropout", t->resid_dropout);
    cJSON_AddNumberToObject(r, "seed", (double)t->seed);
    cJSON_AddNumberToObject(r, "log_every", t->log_every);
    cJSON_AddNumberToObject(r, "eval_every", t->eval_every);
    cJSON_AddNumberToObject(r, "ckpt_every", t->ckpt_every);
    cJSON_AddNumberToObject(r, "keep_ckpts", t->keep_ckpts);
    cJSON_AddStringToObject(r, "on_nonfinite", t->on_nonfinite);
    char *out = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return out;
}
