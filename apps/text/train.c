/* apps/text/train.c — `krait-text train`: a language model on a prepared data folder.
 *
 * Batches are random crops of seq_len + 1 ids from the memory-mapped train.bin, drawn with the
 * trainer's data RNG (so a checkpoint's RNG state is the whole data position and --resume is
 * exact). Every --eval-every steps and at the end, the validation loss is measured on a fixed
 * set of windows: val.bin tiled into consecutive windows of seq_len + 1 ids (each scored from
 * a fresh state, as in training), all of them or --val-tokens' worth evenly spaced, streamed
 * through core/evaluate.h. Bits per byte = loss x val ids / (val text bytes x ln 2), from the
 * counts prepare recorded (for the byte tokenizer: loss / ln 2).
 *
 * The run folder (--out) is the one every krait trainer writes (apps/common/runfiles.h: the
 * latest model at the top level, checkpoints, metrics.jsonl with one line per step and one
 * {"step", "val_loss", "val_bpb", ...} line per validation) plus curves.svg (train and
 * validation loss against steps, rewritten at every validation) and, for BPE data,
 * tokenizer.json; config.json records the tokenizer under "krait" so that generate and eval
 * load the folder as it is. SIGINT writes a checkpoint and exits 130. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "checkpoint.h"
#include "cli.h"
#include "evaluate.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "model.h"
#include "plot.h"
#include "runfiles.h"
#include "runfolder.h"
#include "trainopts.h"
#include "textapp.h"
#include "tokfile.h"
#include "train.h"

typedef struct crop_source {
    const krait_tokfile *f;
    uint64_t n;
    const char *path;      /* for messages */
    int vocab;             /* the model's rows: an id past them is a damaged or foreign file */
} crop_source;

/* ids[0..n) read from path at offset `at`: bad input (one line naming the file and the offset)
 * when one is not a row of the model. */
static krait_status check_ids(const int32_t *ids, size_t n, int vocab, const char *path, uint64_t at)
{
    for (size_t j = 0; j < n; j++)
        if (ids[j] < 0 || ids[j] >= vocab) {
            KRAIT_ERROR("%s: id %d at offset %llu is not in the model's vocabulary (0..%d): the file is damaged "
                        "or was prepared for another model", path, (int)ids[j], (unsigned long long)(at + j), vocab - 1);
            return KRAIT_STATUS_BAD_INPUT;
        }
    return KRAIT_STATUS_OK;
}

static krait_status crop_batch(void *ctx, int32_t *ids, int32_t *targets, int B, int L, krait_rng *rng)
{
    crop_source *c = ctx;
    uint64_t span = c->n - (uint64_t)L; /* starts 0 .. n - L - 1 */
    for (int b = 0; b < B; b++) {
        uint64_t start = span <= UINT32_MAX ? krait_rng_below(rng, (uint32_t)span)
                                             : krait_rng_u64(rng) % span;
        krait_tokfile_read(c->f, ids + (size_t)b * L, start, (size_t)L);
        krait_tokfile_read(c->f, targets + (size_t)b * L, start + 1, (size_t)L);
        krait_status s = check_ids(ids + (size_t)b * L, (size_t)L, c->vocab, c->path, start);
        if (!s) s = check_ids(targets + (size_t)b * L + L - 1, 1, c->vocab, c->path, start + (uint64_t)L);
        if (s) return s;
    }
    return KRAIT_STATUS_OK;
}

/* The validation windows: window w starts at w_stride * w x seq_len in val.bin. */
typedef struct val_set {
    const krait_tokfile *f;
    const char *path;
    int vocab;
    int L;
    long n_windows;        /* windows scored */
    double stride;         /* in windows: > 1 when --val-tokens keeps a subset */
    long first;            /* first window of the current group */
    int group, chunk;      /* windows scored at once, in chunks of positions: group x chunk <= batch x L */
    double ids_per_byte;   /* val ids / val text bytes (0: unknown) */
} val_set;

static uint64_t window_start(const val_set *v, long w) { return (uint64_t)(w * v->stride) * (uint64_t)v->L; }

static krait_status val_fill(void *ctx, int32_t *ids, int32_t *targets, int B, long t0, int len)
{
    val_set *v = ctx;
    for (int b = 0; b < B; b++) {
        uint64_t s = window_start(v, v->first + b) + (uint64_t)t0;
        krait_tokfile_read(v->f, ids + (size_t)b * len, s, (size_t)len);
        krait_tokfile_read(v->f, targets + (size_t)b * len, s + 1, (size_t)len);
        krait_status st = check_ids(ids + (size_t)b * len, (size_t)len, v->vocab, v->path, s);
        if (!st) st = check_ids(targets + (size_t)b * len + len - 1, 1, v->vocab, v->path, s + (uint64_t)len);
        if (st) return st;
    }
    return KRAIT_STATUS_OK;
}

static krait_status validate(const krait_model *m, val_set *v, double *loss)
{
    double sum = 0;
    long long n = 0;
    const int G = v->group;
    for (long w = 0; w < v->n_windows; w += G) {
        int B = v->n_windows - w < G ? (int)(v->n_windows - w) : G;
        v->first = w;
        krait_eval_result r;
        krait_status s = krait_eval_stream(m, B, v->L, v->chunk, val_fill, v, &r, NULL, NULL);
        if (s) return s;
        sum += r.loss_sum;
        n += r.n_scored;
    }
    *loss = n ? sum / n : NAN;
    return KRAIT_STATUS_OK;
}

typedef struct run_ctx {
    val_set *val;
    double last_val, last_bpb;
    long long data_tokens;
    uint64_t data_hash;        /* data_fingerprint of train.bin, checked on --resume */
    int vocab;
    const char *tokenizer;
} run_ctx;

/* curves.svg from metrics.jsonl (apps/common/runfiles.h). */
static void write_curves(krait_run *r)
{
    const krait_train_config *tc = &r->t->tc;
    char xl[160], title[300];
    snprintf(xl, sizeof xl, "step (%d x %d = %d tokens per step)", tc->batch, tc->seq_len, tc->batch * tc->seq_len);
    snprintf(title, sizeof title, "krait-text train: %s", r->o->out);
    krait_run_files_curves(r->o->out, title, xl, "loss (nats per token)", "val_loss", "validation loss");
}

static void on_step(krait_run *r, const krait_step_info *i)
{
    const run_ctx *c = r->user;
    char eta[32], tot[32] = "", val[32] = "-";
    if (i->total_steps > 0) snprintf(tot, sizeof tot, "/%d", i->total_steps);
    if (isfinite(c->last_val)) snprintf(val, sizeof val, "%.4f", c->last_val);
    krait_progress_line(&r->prog, 0, "step %d%s loss %.4f val loss %s lr %.2e %.0f tok/s elapsed %.0fs ETA %s", i->step,
                        tot, i->loss, val, i->lr, i->tokens_per_s, i->elapsed_s,
                        krait_fmt_duration(i->eta_s, eta));
}

static krait_status on_eval(krait_run *r)
{
    run_ctx *c = r->user;
    const krait_trainer *t = r->t;
    double t0 = krait_now(), loss;
    krait_status s = validate(t->model, c->val, &loss);
    if (s) return s;
    c->last_val = loss;
    c->last_bpb = c->val->ids_per_byte > 0 ? loss * c->val->ids_per_byte / log(2.0) : NAN;
    krait_run_files_val(&r->rf, t, 2, (const char *[]){ "val_loss", "val_bpb" }, (double[]){ loss, c->last_bpb });
    krait_progress_line(&r->prog, 1, "step %d: validation loss %.4f nats, %.4f bits per byte (%ld windows, %.1fs)",
                        t->opt->step, loss, c->last_bpb, c->val->n_windows, krait_now() - t0);
    return KRAIT_STATUS_OK;
}

/* A fingerprint of train.bin's ids (FNV-1a over up to 4,096 ids spread evenly through the file),
 * so that --resume notices other data of the same size. */
static uint64_t data_fingerprint(const krait_tokfile *f)
{
    uint64_t n = krait_tokfile_count(f), h = KRAIT_FINGERPRINT_INIT;
    const uint64_t picks = n < 4096 ? n : 4096;
    for (uint64_t k = 0; k < picks; k++) {
        int32_t id;
        krait_tokfile_read(f, &id, picks < n ? k * (n / picks) : k, 1);
        h = krait_fnv1a(h, (uint32_t)id);
    }
    return h;
}

static char *app_state(void *user)
{
    const run_ctx *c = user;
    cJSON *o = cJSON_CreateObject();
    krait_run_state_add_fingerprint(o, c->data_hash);
    cJSON_AddNumberToObject(o, "data_train_tokens", (double)c->data_tokens);
    cJSON_AddNumberToObject(o, "data_vocab", c->vocab);
    cJSON_AddStringToObject(o, "tokenizer", c->tokenizer);
    char *j = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return j;
}

static krait_status check_app_state(void *user, const char *json, const char *dir)
{
    const run_ctx *c = user;
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "data_train_tokens");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "data_vocab");
    int ok = cJSON_IsNumber(n) && (long long)n->valuedouble == c->data_tokens && cJSON_IsNumber(v) &&
             (int)v->valuedouble == c->vocab;
    ok = ok && krait_run_state_same_fingerprint(o, c->data_hash);
    if (!ok)
        KRAIT_ERROR("--resume %s: the checkpoint was trained on other data (train ids or vocab differ from --data)", dir);
    cJSON_Delete(o);
    return ok ? KRAIT_STATUS_OK : KRAIT_STATUS_BAD_INPUT;
}

static krait_tokfile *open_split(const char *dir, const char *name)
{
    char *p = krait_fs_join(dir, name);
    krait_tokfile *f = NULL;
    krait_status s = p ? krait_tokfile_open(p, &f) : KRAIT_STATUS_NO_MEMORY;
    free(p);
    if (s) exit(krait_cli_exit_code(s));
    return f;
}

/* --init DIR: the pretrained model must read the ids as the data means them. Exits 2 when one
 * side is byte-level and the other a tokenizer.json; warns when both have a tokenizer.json and
 * the files differ (the same tokenizer may be written differently). A folder whose tokenizer is
 * unknown (no tokenizer.json, not byte-level) is not checked. */
static void check_init_tokenizer(const char *init, const char *data, const text_data_meta *meta)
{
    char *itj = krait_fs_join(init, "tokenizer.json"), *icj = krait_fs_join(init, "config.json");
    char *dtj = krait_fs_join(data, "tokenizer.json");
    if (!itj || !icj || !dtj) krait_cli_die(1, "out of memory");
    krait_config icfg;
    krait_config_default(&icfg);
    const char *init_kind = NULL;
    if (krait_fs_is_file(itj)) init_kind = "tokenizer.json";
    else if (!krait_config_load(&icfg, NULL, icj) && krait_config_byte_level(&icfg))
        init_kind = "bytes";
    if (init_kind && strcmp(init_kind, meta->tokenizer))
        krait_cli_die(2, "--init %s: the model reads %s ids but %s was prepared with %s; prepare the data with the "
                      "model's tokenizer (krait-text prepare --tokenizer %s)", init,
                      !strcmp(init_kind, "bytes") ? "byte" : "tokenizer.json", data,
                      !strcmp(meta->tokenizer, "bytes") ? "the byte tokenizer" : "a tokenizer.json",
                      !strcmp(init_kind, "bytes") ? "bytes" : itj);
    if (init_kind && !strcmp(init_kind, "tokenizer.json")) {
        krait_status s;
        char *x = krait_fs_read_text(itj, 64 << 20, &s), *y = x ? krait_fs_read_text(dtj, 64 << 20, &s) : NULL;
        if (x && y && strcmp(x, y))
            KRAIT_WARN("train: %s and %s differ; the ids must mean the same tokens in both", itj, dtj);
        free(x), free(y);
    }
    free(itj), free(icj), free(dtj);
}

int text_cmd_train(int argc, char **argv)
{
    const char *data = NULL;
    krait_train_opts a = KRAIT_TRAIN_OPTS_INIT("train", 250);
    long val_tokens = 131072;
    int val_tokens_i = -1;
    krait_opt opts[] = {
        { "--config", OPT_STR, &a.config, "FILE", "model + train config: a path or a preset in configs/ (required unless --init DIR: then DIR's config.json)" },
        { "--data", OPT_STR, &data, "DIR", "a folder from krait-text prepare (required)" },
        { "--out", OPT_STR, &a.out, "DIR", "run folder: latest model, checkpoints, metrics.jsonl, curves.svg" },
        KRAIT_TRAIN_OPTS(&a, "validate every N steps (default: config train.eval_every, else 250; 0: only at the end)",
                         "override any config key (hidden_size=128, train.warmup=50, ...)"),
        { "--val-tokens", OPT_INT, &val_tokens_i, "N", "ids scored per validation (default 131072; 0: all of val.bin)" },
        { "--seq-len", OPT_INT, &a.seq_len, "N", "override train.seq_len" },
        { "--stop-at", OPT_INT, &a.stop_at, "N", "stop with a checkpoint after step N (the schedule is unchanged)" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-text train --config FILE --data DIR --out DIR [--steps N | --minutes M] [--resume DIR]\n"
                    "       krait-text train --init MODEL_DIR --data DIR --out DIR --steps N     (fine-tune MODEL_DIR)\n"
                    "Train a language model on random crops of DIR/train.bin, validating on DIR/val.bin.");
    krait_train_opts_check(&a, "--data", data != NULL);
    krait_run_refuse_inputs(a.out, "--data", &data, 1);
    if (val_tokens_i >= 0) val_tokens = val_tokens_i;

    text_data_meta meta;
    text_read_meta(&meta, data);
    krait_config cfg;
    krait_train_config tc;
    const char *cpath = krait_train_opts_load(&a, &cfg, &tc);
    krait_train_opts_apply(&a, &tc, &c);
    if (a.init) check_init_tokenizer(a.init, data, &meta); /* first: the cause of a vocabulary misfit */
    if (!strcmp(meta.tokenizer, "tokenizer.json")) { /* copied into the run folder: it must be there now */
        char *tj = krait_fs_join(data, "tokenizer.json");
        if (!tj) krait_cli_die(1, "out of memory");
        if (!krait_fs_is_file(tj))
            krait_cli_die(2, "%s: missing: %s/meta.json says the ids are this BPE tokenizer's (prepare again, or copy "
                          "the tokenizer.json that was used)", tj, data);
        free(tj);
    }
    if (!a.init && cfg.tokenizer[0] && strcmp(cfg.tokenizer, meta.tokenizer)) /* a config that names its tokenizer */
        krait_cli_die(2, "%s: the config's krait.tokenizer is \"%s\" but %s was prepared with %s; prepare the data "
                      "with the config's tokenizer, or choose a config for this data", cpath, cfg.tokenizer, data,
                      !strcmp(meta.tokenizer, "bytes") ? "the byte tokenizer" : "a tokenizer.json");
    if (strcmp(meta.tokenizer, "tokenizer.json") && a.out && !krait_run_clearing()) {
        /* a byte-level run: generate and eval would take a tokenizer.json in OUT for the model's
         * (--overwrite of an old run removes that run's; one of no run stays, so it is refused) */
        char *tj = krait_fs_join(a.out, "tokenizer.json");
        if (!tj) krait_cli_die(1, "out of memory");
        if (krait_fs_is_file(tj))
            krait_cli_die(2, "--out %s holds a tokenizer.json, but the data in %s is byte-level: generate and eval "
                          "would read the model's ids with it (another --out, or remove it)", a.out, data);
        free(tj);
    }
    /* the vocabulary's place in the messages below: the last --set that gives it, else the config */
    const char *vplace = cpath;
    char vset[160];
    for (int k = 0; k < a.sets.n; k++)
        if (!strncmp(a.sets.items[k], "vocab_size=", 11))
            snprintf(vset, sizeof vset, "--set %s", a.sets.items[k]), vplace = vset;
    /* the ids the data uses must have rows (a tokenizer's unused added tokens need none) */
    int need = meta.max_id >= 0 ? meta.max_id + 1 : meta.vocab;
    if (need > cfg.vocab_size_raw)
        krait_cli_die(2, "%s: vocab_size %d is too small for the data in %s (tokenizer %s, ids up to %d): set vocab_size >= %d",
                      vplace, cfg.vocab_size_raw, data, meta.tokenizer, need - 1, need);
    /* and the model must fit the tokenizer that generate and eval will load with it */
    int fit = 256; /* the byte tokenizer: 256 byte ids (and an added end-of-text) */
    if (!strcmp(meta.tokenizer, "tokenizer.json")) {
        char *tj = krait_fs_join(data, "tokenizer.json");
        krait_tokenizer *tok = NULL;
        krait_status ts = tj ? krait_tokenizer_load(tj, &tok) : KRAIT_STATUS_NO_MEMORY;
        if (ts) return krait_cli_exit_code(ts);
        fit = krait_tokenizer_min_vocab(tok);
        krait_tokenizer_free(tok);
        free(tj);
    }
    if (fit > cfg.vocab_size_raw)
        krait_cli_die(2, "%s: vocab_size %d is too small for the tokenizer of %s (%s): generate and eval need a row "
                      "for every id up to its last that is not an added token, %d: set vocab_size >= %d", vplace,
                      cfg.vocab_size_raw, data, meta.tokenizer, fit - 1, fit);
    if (strcmp(cfg.head, "lm")) krait_cli_die(2, "%s: krait-text trains language models (\"krait\": {\"head\": \"lm\"})", cpath);
    snprintf(cfg.tokenizer, sizeof cfg.tokenizer, "%s", meta.tokenizer);
    krait_train_opts_modality(&cfg, cpath, "text");
    if (meta.eos >= 0) cfg.eos_token_id = meta.eos; /* the tokenizer's, for tools that read config.json */
    krait_status s;
    if ((s = krait_config_finalize(&cfg, cpath))) return krait_cli_exit_code(s);

    krait_tokfile *train_f = open_split(data, "train.bin"), *val_f = open_split(data, "val.bin");
    uint64_t n_train = krait_tokfile_count(train_f), n_val = krait_tokfile_count(val_f);
    if ((long long)meta.train_tokens != (long long)n_train || (long long)meta.val_tokens != (long long)n_val)
        krait_cli_die(2, "%s: meta.json counts %lld train / %lld validation ids, train.bin and val.bin hold %llu / %llu: "
                      "files of different prepares (prepare again)", data, meta.train_tokens, meta.val_tokens,
                      (unsigned long long)n_train, (unsigned long long)n_val);
    if (n_train < (uint64_t)tc.seq_len + 2)
        krait_cli_die(2, "%s/train.bin: %llu ids; crops of seq_len + 1 = %lld ids at a random start need at least %lld",
                      data, (unsigned long long)n_train, (long long)tc.seq_len + 1, (long long)tc.seq_len + 2);
    char *train_path = krait_fs_join(data, "train.bin"), *val_path = krait_fs_join(data, "val.bin");
    if (!train_path || !val_path) krait_cli_die(1, "out of memory");
    val_set vs = { .f = val_f, .path = val_path, .vocab = cfg.vocab_size_raw, .L = tc.seq_len, .stride = 1 };
    vs.n_windows = n_val > 1 ? (long)((n_val - 1) / (uint64_t)tc.seq_len) : 0;
    long want = val_tokens > 0 ? (val_tokens + tc.seq_len - 1) / tc.seq_len : vs.n_windows;
    if (want < vs.n_windows) vs.stride = (double)vs.n_windows / want, vs.n_windows = want;
    vs.ids_per_byte = meta.val_bytes > 0 ? (double)meta.val_tokens / meta.val_bytes : 0;
    /* Validation holds no more positions at once than a training batch (the memory check before
     * the run counts that): windows in chunks of at most 2048 positions (the state carried: the
     * same loss), up to 16 windows at a time. (It ran 16 whole windows at once: at --batch 1
     * --seq-len 262144, 11 GB for a run that trained in 1.9 GB.) */
    vs.chunk = tc.seq_len < 2048 ? tc.seq_len : 2048;
    const long long per_group = (long long)tc.batch * tc.seq_len / vs.chunk;
    vs.group = per_group < 1 ? 1 : per_group > 16 ? 16 : (int)per_group;
    if (!vs.n_windows)
        KRAIT_WARN("%s/val.bin has %llu ids, fewer than seq_len + 1: no validation", data,
                (unsigned long long)n_val);

    krait_backend *be = krait_cli_backend(&c, "f32");
    krait_model *m = krait_run_model(&cfg, &tc, be, a.init, "--seq-len");
    crop_source cs = { train_f, n_train, train_path, cfg.vocab_size_raw };
    krait_data_source ds = { .ctx = &cs, .next_batch = crop_batch };
    run_ctx rc_ = { .val = &vs, .last_val = NAN, .last_bpb = NAN, .data_tokens = (long long)n_train,
                    .data_hash = data_fingerprint(train_f),
                    .vocab = meta.vocab, .tokenizer = meta.tokenizer };
    krait_run r = { .ds = &ds, .o = &a, .user = &rc_, .step_line = on_step, .validate = vs.n_windows ? on_eval : NULL,
                    .curves = write_curves, .app_state = app_state, .check_state = check_app_state };
    const char *out = a.out;
    int rc = krait_run_start(&r, m, &tc);
    if (rc) goto done;
    if (!strcmp(meta.tokenizer, "tokenizer.json")) { /* the run folder is a loadable model folder */
        char *src = krait_fs_join(data, "tokenizer.json"), *dst = krait_fs_join(out, "tokenizer.json");
        if (!src || !dst) krait_cli_die(1, "out of memory");
        if ((s = krait_fs_publish(dst, src))) exit(krait_cli_exit_code(s)); /* it said why */
        free(src);
        free(dst);
    }
    fprintf(stderr, "krait-text: %d layers, d_model %d, vocab %d (%s), %.2fM params; batch %d x %d, lr %g; "
                    "%llu train ids, %ld validation windows; %s\n",
            cfg.n_layer, cfg.d_model, cfg.vocab_size, meta.tokenizer, m->n_params / 1e6, tc.batch, tc.seq_len, tc.lr,
            (unsigned long long)n_train, vs.n_windows, krait_train_budget((char[64]){ 0 }, 64, tc.minutes, tc.steps));
    if ((rc = krait_run_train(&r))) goto done;
    const krait_trainer *tr = r.t;
    int finished = r.finished;
    double secs = krait_now() - r.t0, run_train_s = tr->elapsed_s - tr->run_elapsed0;
    double tps = run_train_s > 0 ? (tr->tokens - tr->run_tokens0) / run_train_s : 0;
    if (!finished) {
        krait_run_say_stopped(tr->opt->step, out, NULL);
    } else {
        char val[96] = "no validation (val.bin is too short for one window)";
        if (isfinite(rc_.last_val))
            snprintf(val, sizeof val, "validation loss %.4f nats = %.4f bits per byte", rc_.last_val, rc_.last_bpb);
        printf("trained %d steps (%lld tokens) in %.0fs (%.0fs training, %.0f tokens/s; %.0fs validating): "
               "train loss %.4f, %s; model in %s\n",
               tr->opt->step, tr->tokens, secs, run_train_s, tps, r.eval_s, tr->last_loss, val, out);
    }
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "steps", tr->opt->step);
        cJSON_AddNumberToObject(o, "skipped_batches", (double)tr->skipped);
        cJSON_AddNumberToObject(o, "tokens", (double)tr->tokens);
        cJSON_AddNumberToObject(o, "train_loss", tr->last_loss);
        if (finished && isfinite(rc_.last_val)) cJSON_AddNumberToObject(o, "val_loss", rc_.last_val);
        if (finished && isfinite(rc_.last_bpb)) cJSON_AddNumberToObject(o, "val_bpb", rc_.last_bpb);
        cJSON_AddNumberToObject(o, "tokens_per_s", tps);
        cJSON_AddNumberToObject(o, "train_seconds", tr->elapsed_s);
        cJSON_AddNumberToObject(o, "seconds", secs);
        cJSON_AddStringToObject(o, "out", out);
        if (!finished) cJSON_AddNumberToObject(o, "stopped_at", tr->opt->step);
        krait_cli_print_json(o);
    }
done:
    krait_run_free(&r);
    krait_model_free(m);
    krait_backend_destroy(be);
    krait_tokfile_close(train_f);
    krait_tokfile_close(val_f);
    free(train_path), free(val_path);
    return rc;
}
