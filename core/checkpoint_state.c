/* core/checkpoint_state.c — the two state files of a checkpoint: optimizer.safetensors (AdamW
 * moments, named after the parameters) and trainer_state.json (step, counters, RNG states, data
 * position, configs). Writing and strict reading; the folder protocol is in checkpoint.c.
 *
 * RNG states are the four xoshiro256** words as 16-digit hex strings (JSON numbers are doubles
 * and would round them). Doubles (elapsed time, last loss) are written with 17 significant
 * digits, which read back the same value (cJSON's own printing may drop the last bit). */
#include "checkpoint_impl.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "log.h"
#include "safetensors.h"

#define STATE_FORMAT "krait-trainer-state"
#define STATE_VERSION 1

/* ---- writing ---------------------------------------------------------------------------------- */

static krait_status write_moments(const krait_trainer *t, const char *dir)
{
    const krait_model *m = t->model;
    size_t n = m->n_params;
    float *hm = malloc(n * sizeof *hm), *hv = malloc(n * sizeof *hv);
    krait_st_writer *w = krait_st_writer_init();
    char *path = krait_fs_join(dir, KRAIT_CKPT_OPTIM);
    char step[24], name[sizeof m->tensors->name + 16];
    krait_status s = KRAIT_STATUS_NO_MEMORY;
    if (!hm || !hv || !w || !path) {
        KRAIT_ERROR("%s: out of memory for the optimizer state", dir);
        goto fail;
    }
    if ((s = m->be->download(m->be, hm, t->opt->m, n * sizeof *hm)) ||
        (s = m->be->download(m->be, hv, t->opt->v, n * sizeof *hv)))
        goto fail;
    for (int i = 0; i < m->n_tensors; i++) {
        const krait_tensor_info *ti = &m->tensors[i];
        snprintf(name, sizeof name, "%s.exp_avg", ti->name);
        if ((s = krait_st_writer_add_f32(w, name, KRAIT_ST_DTYPE_F32, hm + ti->offset, ti->shape, ti->ndim)))
            goto fail;
        snprintf(name, sizeof name, "%s.exp_avg_sq", ti->name);
        if ((s = krait_st_writer_add_f32(w, name, KRAIT_ST_DTYPE_F32, hv + ti->offset, ti->shape, ti->ndim)))
            goto fail;
    }
    snprintf(step, sizeof step, "%d", t->opt->step);
    if ((s = krait_st_writer_set_metadata(w, "krait_step", step))) goto fail;
    s = krait_st_writer_write(w, path);
fail:
    free(path);
    krait_st_writer_free(w);
    free(hv);
    free(hm);
    return s;
}

/* A finite double as a JSON number that reads back bit for bit. */
static void add_exact(cJSON *obj, const char *key, double v)
{
    char num[40];
    krait_json_number(num, sizeof num, v, 0);
    cJSON_AddRawToObject(obj, key, num);
}

static cJSON *rng_json(const krait_rng *r)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < 4; i++) {
        char hex[20];
        snprintf(hex, sizeof hex, "%016" PRIx64, r->s[i]);
        cJSON_AddItemToArray(a, cJSON_CreateString(hex));
    }
    return a;
}

/* Attach JSON text (NULL -> null) under key; BAD_INPUT (logged) when it does not parse. */
static krait_status add_json(cJSON *obj, const char *key, const char *text, const char *dir,
                             const char *what)
{
    if (!text) {
        cJSON_AddNullToObject(obj, key);
        return KRAIT_STATUS_OK;
    }
    cJSON *v = cJSON_Parse(text);
    if (!v) {
        KRAIT_ERROR("%s: the %s to save is not one JSON value", dir, what);
        return KRAIT_STATUS_BAD_INPUT;
    }
    cJSON_Delete(v);
    /* as written (a parse and print again would turn 1.0 into 1) */
    cJSON_AddRawToObject(obj, key, text);
    return KRAIT_STATUS_OK;
}

krait_status krait_ckpt_write_state(const krait_trainer *t, const krait_data_source *ds,
                                    const char *app_state, const char *dir)
{
    krait_status s = write_moments(t, dir);
    if (s) return s;
    cJSON *r = cJSON_CreateObject();
    char *data_pos = NULL, *train = krait_train_to_json(&t->tc);
    char *model = krait_config_to_json(&t->model->cfg, "float32"), *text = NULL, *path = NULL;
    s = KRAIT_STATUS_NO_MEMORY;
    if (!r || !train || !model) goto fail;
    if (ds && ds->save_state && !(data_pos = ds->save_state(ds->ctx))) {
        KRAIT_ERROR("%s: the data source could not report its position", dir);
        goto fail;
    }
    cJSON_AddStringToObject(r, "format", STATE_FORMAT);
    cJSON_AddNumberToObject(r, "version", STATE_VERSION);
    cJSON_AddNumberToObject(r, "step", t->opt->step);
    cJSON_AddNumberToObject(r, "tokens", (double)t->tokens);
    cJSON_AddNumberToObject(r, "skipped", (double)t->skipped);
    cJSON_AddNumberToObject(r, "skipped_in_row", t->skipped_in_row);
    add_exact(r, "elapsed_s", t->elapsed_s);
    add_exact(r, "last_loss", isfinite(t->last_loss) ? t->last_loss : 0.0);
    cJSON *rng = cJSON_AddObjectToObject(r, "rng");
    cJSON_AddItemToObject(rng, "data", rng_json(&t->data_rng));
    cJSON_AddItemToObject(rng, "eval", rng_json(&t->eval_rng));
    cJSON_AddStringToObject(r, "backend", t->model->be->name);
    if ((s = add_json(r, "data_position", data_pos, dir, "data position")) ||
        (s = add_json(r, "app", app_state, dir, "app state")) ||
        (s = add_json(r, "train", train, dir, "train config")) ||
        (s = add_json(r, "model", model, dir, "model config")))
        goto fail;
    s = KRAIT_STATUS_NO_MEMORY;
    text = cJSON_Print(r);
    path = krait_fs_join(dir, KRAIT_CKPT_STATE);
    if (!text || !path) goto fail;
    size_t n = strlen(text);
    text[n] = '\n';
    s = krait_fs_write_atomic(path, text, n + 1);
fail:
    if (s == KRAIT_STATUS_NO_MEMORY) KRAIT_ERROR("%s: out of memory for the trainer state", dir);
    free(path);
    free(text);
    free(model);
    free(train);
    free(data_pos);
    cJSON_Delete(r);
    return s;
}

/* ---- reading ---------------------------------------------------------------------------------- */

static int parse_rng(krait_rng *r, const cJSON *a)
{
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 4) return 0;
    for (int i = 0; i < 4; i++) {
        const cJSON *h = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsString(h) || strlen(h->valuestring) != 16) return 0;
        uint64_t v = 0;
        for (const char *c = h->valuestring; *c; c++) {
            int d = *c >= '0' && *c <= '9' ? *c - '0' : *c >= 'a' && *c <= 'f' ? *c - 'a' + 10 : -1;
            if (d < 0) return 0;
            v = v << 4 | (uint64_t)d;
        }
        r->s[i] = v;
    }
    return (r->s[0] | r->s[1] | r->s[2] | r->s[3]) != 0; /* all zero is not a xoshiro state */
}

/* A number member with lo <= value (and integral when integral). */
static int get_num(double *out, const cJSON *obj, const char *key, double lo, int integral)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
        (integral && (v->valuedouble != floor(v->valuedouble) || v->valuedouble > 9007199254740992.0)))
        return 0;
    *out = v->valuedouble;
    return 1;
}

/* JSON text of member key, or NULL for a JSON null; *bad set when it cannot be printed. */
static char *member_text(const cJSON *obj, const char *key, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return NULL;
    char *p = cJSON_PrintUnformatted(v);
    if (!p) *bad = 1;
    return p;
}

/* The saved train settings against the running ones: the math must be the same. */
static krait_status check_train(const cJSON *tr, const krait_train_config *tc, const char *path)
{
    /* must: 1 the same or refused; 0 may change (warned); 2 as 1, but a checkpoint without the
     * key (written before it existed: dropout) counts as 0 */
    static const struct { const char *key; size_t off; char type; int must; } keys[] = {
#define F(k, f, t, m) { k, offsetof(krait_train_config, f), t, m }
        F("batch", batch, 'i', 1), F("seq_len", seq_len, 'i', 1), F("lr", lr, 'f', 1),
        F("min_lr", min_lr, 'f', 1), F("warmup", warmup, 'i', 1), F("weight_decay", weight_decay, 'f', 1),
        F("beta1", beta1, 'f', 1), F("beta2", beta2, 'f', 1), F("eps", eps, 'f', 1),
        F("grad_clip", grad_clip, 'f', 1), F("seed", seed, 'u', 1), F("steps", steps, 'i', 0),
        F("minutes", minutes, 'd', 0), F("embed_dropout", embed_dropout, 'f', 2),
        F("resid_dropout", resid_dropout, 'f', 2),
#undef F
    };
    const cJSON zero = { .type = cJSON_Number };
    if (!cJSON_IsObject(tr)) {
        KRAIT_ERROR("%s: \"train\" must be an object", path);
        return KRAIT_STATUS_BAD_INPUT;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(tr, keys[i].key);
        const char *p = (const char *)tc + keys[i].off;
        double now = keys[i].type == 'i' ? *(const int *)p
                     : keys[i].type == 'f' ? *(const float *)p
                     : keys[i].type == 'u' ? (double)*(const uint64_t *)p : *(const double *)p;
        if (!v && keys[i].must == 2) v = &zero;
        if (!cJSON_IsNumber(v)) {
            KRAIT_ERROR("%s: \"train.%s\" is missing or not a number", path, keys[i].key);
            return KRAIT_STATUS_BAD_INPUT;
        }
        double saved = keys[i].type == 'f' ? (double)(float)v->valuedouble : v->valuedouble;
        if (saved == now) continue;
        if (keys[i].must) {
            KRAIT_ERROR("%s: \"train.%s\" is %.9g in the checkpoint but %.9g in this run; resume "
                        "with the same settings", path, keys[i].key, saved, now);
            return KRAIT_STATUS_BAD_INPUT;
        }
        KRAIT_WARN("%s: \"train.%s\" was %g and is now %g: the learning-rate schedule changes",
                   path, keys[i].key, saved, now);
    }
    return KRAIT_STATUS_OK;
}

void krait_ckpt_state_free(krait_ckpt_state *st)
{
    free(st->data_position);
    free(st->app);
    memset(st, 0, sizeof *st);
}

krait_status krait_ckpt_read_state(krait_ckpt_state *st, const krait_trainer *t, const char *dir)
{
    memset(st, 0, sizeof *st);
    krait_status s;
    char *path = krait_fs_join(dir, KRAIT_CKPT_STATE);
    if (!path) return KRAIT_STATUS_NO_MEMORY;
    char *text = krait_fs_read_text(path, 64u << 20, &s);
    cJSON *r = text ? cJSON_ParseWithOpts(text, NULL, 1) : NULL;
    if (!text) goto fail;
    s = KRAIT_STATUS_BAD_INPUT;
    const cJSON *fmt = r ? cJSON_GetObjectItemCaseSensitive(r, "format") : NULL;
    double ver = 0, step = 0, tokens = 0;
    if (!cJSON_IsObject(r) || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, STATE_FORMAT)) {
        KRAIT_ERROR("%s: not a krait trainer state (%s)", path, r ? "no \"format\": \"" STATE_FORMAT "\""
                                                                  : "malformed JSON");
        goto fail;
    }
    if (!get_num(&ver, r, "version", 0, 1) || ver != STATE_VERSION) {
        KRAIT_ERROR("%s: \"version\" must be %d", path, STATE_VERSION);
        goto fail;
    }
    if (!get_num(&step, r, "step", 0, 1) || step > 2147483647.0 || !get_num(&tokens, r, "tokens", 0, 1) ||
        !get_num(&st->elapsed_s, r, "elapsed_s", 0, 0) || !get_num(&st->last_loss, r, "last_loss", -INFINITY, 0)) {
        KRAIT_ERROR("%s: \"step\", \"tokens\" and \"elapsed_s\" must be non-negative numbers (step and tokens "
                    "integers), \"last_loss\" a number", path);
        goto fail;
    }
    st->step = (int)step;
    st->tokens = (long long)tokens;
    /* the run's skipped batches: absent in older states (0) */
    double skipped = 0, in_row = 0;
    const int has_skipped = cJSON_GetObjectItemCaseSensitive(r, "skipped") != NULL,
              has_in_row = cJSON_GetObjectItemCaseSensitive(r, "skipped_in_row") != NULL;
    if ((has_skipped && !get_num(&skipped, r, "skipped", 0, 1)) ||
        (has_in_row && (!get_num(&in_row, r, "skipped_in_row", 0, 1) || in_row > 2147483647.0))) {
        KRAIT_ERROR("%s: \"skipped\" and \"skipped_in_row\" must be non-negative integers", path);
        goto fail;
    }
    st->skipped = (long long)skipped;
    st->skipped_in_row = (int)in_row;
    const cJSON *rng = cJSON_GetObjectItemCaseSensitive(r, "rng");
    if (!parse_rng(&st->data_rng, cJSON_GetObjectItemCaseSensitive(rng, "data")) ||
        !parse_rng(&st->eval_rng, cJSON_GetObjectItemCaseSensitive(rng, "eval"))) {
        KRAIT_ERROR("%s: \"rng.data\" and \"rng.eval\" must each be 4 hex strings of 16 digits "
                    "(not all zero)", path);
        goto fail;
    }
    if ((s = check_train(cJSON_GetObjectItemCaseSensitive(r, "train"), &t->tc, path))) goto fail;
    int bad = 0;
    st->data_position = member_text(r, "data_position", &bad);
    st->app = member_text(r, "app", &bad);
    s = bad ? KRAIT_STATUS_NO_MEMORY : KRAIT_STATUS_OK;
fail:
    if (s) krait_ckpt_state_free(st);
    cJSON_Delete(r);
    free(text);
    free(path);
    return s;
}

krait_status krait_ckpt_read_moments(krait_trainer *t, const char *dir, int step)
{
    const krait_model *m = t->model;
    krait_status s;
    char *path = krait_fs_join(dir, KRAIT_CKPT_OPTIM);
    if (!path) return KRAIT_STATUS_NO_MEMORY;
    krait_st_file *f = krait_st_open(path, &s);
    float *buf = NULL;
    if (!f) goto fail;
    s = KRAIT_STATUS_BAD_INPUT;
    const char *meta = krait_st_metadata_get(f, "krait_step");
    char want[24];
    snprintf(want, sizeof want, "%d", step);
    if (!meta || strcmp(meta, want)) {
        KRAIT_ERROR("%s: __metadata__ \"krait_step\" is %s%s%s where trainer_state.json says %d", path,
                    meta ? "\"" : "", meta ? meta : "missing", meta ? "\"" : "", step);
        goto fail;
    }
    if (krait_st_count(f) != 2 * (size_t)m->n_tensors) {
        KRAIT_ERROR("%s: %zu tensors where the model needs %d (exp_avg and exp_avg_sq per parameter)",
                    path, krait_st_count(f), 2 * m->n_tensors);
        goto fail;
    }
    s = KRAIT_STATUS_NO_MEMORY;
    if (!(buf = malloc(krait_model_max_numel(m) * sizeof *buf))) goto fail;
    for (int i = 0; i < m->n_tensors; i++) {
        const krait_tensor_info *ti = &m->tensors[i];
        for (int k = 0; k < 2; k++) {
            char name[sizeof ti->name + 16];
            snprintf(name, sizeof name, "%s.%s", ti->name, k ? "exp_avg_sq" : "exp_avg");
            const krait_st_tensor *tt = krait_st_find(f, name);
            if (tt && tt->dtype != KRAIT_ST_DTYPE_F32) {
                KRAIT_ERROR("%s: tensor '%s' must be F32 (moments are kept exactly)", path, name);
                s = KRAIT_STATUS_BAD_INPUT;
                goto fail;
            }
            if ((s = krait_st_read_f32_shape(f, buf, name, ti->shape, ti->ndim))) goto fail;
            float *dst = (k ? t->opt->v : t->opt->m) + ti->offset;
            if ((s = m->be->upload(m->be, dst, buf, ti->numel * sizeof *buf))) goto fail;
        }
    }
    s = KRAIT_STATUS_OK;
fail:
    free(buf);
    krait_st_close(f);
    free(path);
    return s;
}
