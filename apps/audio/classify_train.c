/* apps/audio/classify_train.c — `krait-audio classify-train`: a clip classifier (core/classify.h)
 * on labelled audio: a folder with labels from file names (--label-regex) or folder names
 * (--label-from-dir), or a manifest TSV with labels.
 *
 * Inputs, by the preset's "audio" section: log-mel frames ("input": "logmel"; FFTW, 25 ms windows
 * every 10 ms, 40 bands, per-clip mean/variance normalised: ~50 frames for a 0.4 s digit) through
 * the model's input projection ("input_dim" = bands), or the quantised samples themselves
 * ("input": "tokens"). Every train clip's inputs are computed once and kept in memory. A batch
 * row is a clip drawn uniformly (with the trainer's data RNG: --resume is exact), right-padded to
 * the longest clip (a clip longer than seq_len is randomly cropped), its label at its positions
 * and -1 at the padding.
 *
 * Every --eval-every steps and at the end the test clips of the split are classified (loss and
 * accuracy into metrics.jsonl and the progress line; nothing is selected on them). The run folder
 * is a model folder (config.json + model.safetensors + audio.json with the class names) with
 * checkpoints/, metrics.jsonl, curves.svg, and at the end test_metrics.json (accuracy, MCC,
 * macro F1, confusion matrix) and confusion.svg. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audioapp.h"
#include "checkpoint.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "metrics.h"
#include "plot.h"
#include "runfiles.h"
#include "runfolder.h"
#include "trainopts.h"
#include "train.h"

typedef struct clip_source {
    const audio_cls_data *d;
} clip_source;

/* Row b: clip j (uniform), a random crop of at most L positions; label at 0..len-1, -1 after. */
static int pick(const audio_cls_data *d, int L, krait_rng *rng, int *start)
{
    int j = (int)krait_rng_below(rng, (uint32_t)d->n);
    int len = d->len[j];
    *start = len > L ? (int)krait_rng_below(rng, (uint32_t)(len - L + 1)) : 0;
    return j;
}

static krait_status batch_ids(void *ctx, int32_t *ids, int32_t *targets, int B, int L, krait_rng *rng)
{
    const audio_cls_data *d = ((clip_source *)ctx)->d;
    for (int b = 0; b < B; b++) {
        int s0, j = pick(d, L, rng, &s0), n = d->len[j] - s0 < L ? d->len[j] - s0 : L;
        for (int t = 0; t < L; t++) {
            ids[(size_t)b * L + t] = t < n ? d->ids[j][s0 + t] : 0;
            targets[(size_t)b * L + t] = t < n ? d->label[j] : -1;
        }
    }
    return KRAIT_STATUS_OK;
}

static krait_status batch_feats(void *ctx, float *feats, int32_t *targets, int B, int L, krait_rng *rng)
{
    const audio_cls_data *d = ((clip_source *)ctx)->d;
    int F = d->F;
    for (int b = 0; b < B; b++) {
        int s0, j = pick(d, L, rng, &s0), n = d->len[j] - s0 < L ? d->len[j] - s0 : L;
        float *row = feats + (size_t)b * L * F;
        memcpy(row, d->feats[j] + (size_t)s0 * F, sizeof *row * (size_t)n * F);
        memset(row + (size_t)n * F, 0, sizeof *row * (size_t)(L - n) * F);
        for (int t = 0; t < L; t++) targets[(size_t)b * L + t] = t < n ? d->label[j] : -1;
    }
    return KRAIT_STATUS_OK;
}

typedef struct run_ctx {
    const audio_cls_data *test;
    float *probs;             /* (test n, C) */
    int long_len;
    double last_loss, last_acc;
    long long data_clips;
    uint64_t data_hash;        /* clips_fingerprint of the train clips: the same on --resume */
    const audio_frontend *fe;  /* its classes, kept in the checkpoint for --resume to compare */
} run_ctx;

static void write_curves(krait_run *r)
{
    char xl[160], title[300];
    snprintf(xl, sizeof xl, "step (%d clips per step)", r->t->tc.batch);
    snprintf(title, sizeof title, "krait-audio classify-train: %s", r->o->out);
    krait_run_files_curves(r->o->out, title, xl, "cross-entropy (nats per clip)", "val_loss", "test loss");
}

static void on_step(krait_run *r, const krait_step_info *i)
{
    const run_ctx *c = r->user;
    char eta[32], tot[32] = "", val[32] = "-";
    if (i->total_steps > 0) snprintf(tot, sizeof tot, "/%d", i->total_steps);
    if (isfinite(c->last_acc)) snprintf(val, sizeof val, "%.4f", c->last_acc);
    krait_progress_line(&r->prog, 0, "step %d%s loss %.4f test accuracy %s lr %.2e elapsed %.0fs ETA %s", i->step, tot,
                        i->loss, val, i->lr, i->elapsed_s, krait_fmt_duration(i->eta_s, eta));
}

static krait_status on_eval(krait_run *r)
{
    run_ctx *c = r->user;
    const krait_trainer *t = r->t;
    double t0 = krait_now();
    krait_status s = audio_cls_predict(t->model, c->test, c->probs, c->long_len, 1024, NULL);
    if (s) return s;
    krait_cls_metrics mt; /* the figures krait-audio eval and krait-dna report, by one definition */
    if ((s = krait_cls_metrics_compute(c->test->label, c->probs, c->test->n, t->model->cfg.n_classes, &mt))) return s;
    c->last_loss = mt.log_loss;
    c->last_acc = mt.accuracy;
    krait_cls_metrics_free(&mt);
    krait_run_files_val(&r->rf, t, 2, (const char *[]){ "val_loss", "val_accuracy" },
                        (double[]){ c->last_loss, c->last_acc });
    krait_progress_line(&r->prog, 1, "step %d: %d test clips, accuracy %.4f, loss %.4f (%.1fs)", t->opt->step,
                        c->test->n, c->last_acc, c->last_loss, krait_now() - t0);
    return KRAIT_STATUS_OK;
}

static char *app_state(void *user)
{
    const run_ctx *c = user;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "data_train_clips", (double)c->data_clips);
    krait_run_state_add_fingerprint(o, c->data_hash);
    audio_state_add_front_end(o, c->fe);
    cJSON_AddItemToObject(o, "classes",
                          cJSON_CreateStringArray((const char *const *)c->fe->classes, c->fe->n_classes));
    char *j = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return j;
}

/* The checkpoint's train clip count and (when it has them: older ones do not) its classes, in
 * order, must be those of --data: other labels would silently relabel the model. */
static krait_status check_app_state(void *user, const char *json, const char *dir)
{
    const run_ctx *c = user;
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "data_train_clips");
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(o, "classes");
    int ok = cJSON_IsNumber(n) && (long long)n->valuedouble == c->data_clips;
    if (!ok) KRAIT_ERROR("--resume %s: the checkpoint was trained on other data (train clips differ from --data)", dir);
    ok = ok && audio_state_same_front_end(o, c->fe, dir);
    if (ok && cJSON_IsArray(cl)) {
        ok = cJSON_GetArraySize(cl) == c->fe->n_classes;
        for (int k = 0; ok && k < c->fe->n_classes; k++) {
            const cJSON *e = cJSON_GetArrayItem(cl, k);
            ok = cJSON_IsString(e) && !strcmp(e->valuestring, c->fe->classes[k]);
        }
        if (!ok)
            KRAIT_ERROR("--resume %s: the checkpoint was trained on other classes than --data's labels give", dir);
    }
    if (ok && !krait_run_state_same_fingerprint(o, c->data_hash)) {
        KRAIT_ERROR("--resume %s: the checkpoint was trained on other data (as many clips, but other labels, samples "
                    "or order)", dir);
        ok = 0;
    }
    cJSON_Delete(o);
    return ok ? KRAIT_STATUS_OK : KRAIT_STATUS_BAD_INPUT;
}

/* The train clips' labels, lengths and samples (as 16-bit PCM: the features are made from
 * them), in order. */
static uint64_t clips_fingerprint(const krait_audio_set *set)
{
    uint64_t h = KRAIT_FINGERPRINT_INIT;
    for (int i = 0; i < set->n; i++) {
        const krait_audio_clip *k = &set->clips[i];
        const int64_t head[2] = { k->cls, (int64_t)k->n };
        h = krait_run_fingerprint(h, head, sizeof head);
        for (size_t j = 0; j < k->n; j++) {
            const float v = k->x[j] > 1.f ? 1.f : k->x[j] < -1.f ? -1.f : k->x[j];
            const int16_t q = (int16_t)lrintf(v * 32767.f);
            h = krait_run_fingerprint(h, &q, sizeof q);
        }
    }
    return h;
}

/* test_metrics.json and confusion.svg from the last test predictions. */
static void write_test_results(const char *out, const audio_frontend *fe, krait_cls_metrics *mt)
{
    char *j = krait_cli_json_utf8(krait_cls_metrics_json(mt, (const char *const *)fe->classes));
    char *mp = krait_fs_join(out, "test_metrics.json"), *cp = krait_fs_join(out, "confusion.svg");
    if (!j || !mp || !cp) krait_cli_die(1, "out of memory");
    size_t jn = strlen(j);
    char *jl = realloc(j, jn + 2); /* a text file: its last line ends */
    if (!jl) krait_cli_die(1, "out of memory");
    j = jl, j[jn] = '\n', j[jn + 1] = '\0';
    krait_status s = krait_fs_write_atomic(mp, j, jn + 1);
    char title[400];
    snprintf(title, sizeof title, "test confusion matrix: accuracy %.4f (%d clips)", mt->accuracy, mt->n);
    if (!s) s = krait_plot_confusion_svg(cp, title, (const char *const *)fe->classes, mt->C, mt->confusion);
    if (s) exit(krait_cli_exit_code(s));
    free(j), free(mp), free(cp);
}

static int cmp_int32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Every batch is padded to seq_len: a warning when one clip far longer than the rest sets it
 * (one 3-minute clip among 1-second ones made each step 160 times slower and 15 GB large). */
static void warn_long_clip(const audio_cls_data *d, int seq_len)
{
    if (d->n < 2) return;
    int32_t *lens = malloc(sizeof *lens * (size_t)d->n);
    if (!lens) krait_cli_die(1, "out of memory");
    memcpy(lens, d->len, sizeof *lens * (size_t)d->n);
    qsort(lens, (size_t)d->n, sizeof *lens, cmp_int32);
    const int32_t median = lens[d->n / 2];
    free(lens);
    int longest = 0;
    for (int i = 1; i < d->n; i++)
        if (d->len[i] > d->len[longest]) longest = i;
    if (median > 0 && seq_len >= 4 * median && d->len[longest] >= seq_len)
        KRAIT_WARN("every batch is padded to %d positions, %.0fx the median clip's %d: %s is that long; --seq-len "
                   "N crops the clips (classification reads them whole)", seq_len, (double)seq_len / median, median,
                   d->path[longest]);
}

int audio_cmd_classify_train(int argc, char **argv)
{
    krait_train_opts a = KRAIT_TRAIN_OPTS_INIT("classify-train", 200);
    audio_data_opts d = { .test_fraction = -1 };
    krait_opt opts[] = {
        { "--config", OPT_STR, &a.config, "FILE", "classifier + train + audio config: a path or a preset in configs/ (required unless --init DIR: then DIR's config.json)" },
        AUDIO_DATA_OPTS(d),
        AUDIO_LABEL_OPTS(d),
        { "--out", OPT_STR, &a.out, "DIR", "run folder: model, audio.json, checkpoints, metrics, curves.svg, confusion.svg" },
        KRAIT_TRAIN_OPTS(&a, "classify the test clips every N steps (default: config, else 200; 0: at the end)",
                         "override a config key (hidden_size=128, audio.input=tokens)"),
        { "--seq-len", OPT_INT, &a.seq_len, "N", "override train.seq_len (longest input; longer clips are cropped)" },
        { "--stop-at", OPT_INT, &a.stop_at, "N", "stop with a checkpoint after step N" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-audio classify-train --config FILE --data DIR|TSV [--label-regex RE] [--test-regex RE]\n"
                    "                                  --out DIR [--steps N | --minutes M] [--init WAVEFORM_MODEL]\n"
                    "Train a clip classifier; test accuracy and the confusion matrix at the end.");
    krait_train_opts_check(&a, "--data", d.data != NULL);
    krait_run_refuse_inputs(a.out, "--data", &d.data, 1);
    const char *cpath = krait_cli_config_path(a.config);
    krait_config cfg;
    krait_train_config tc;
    audio_frontend fe;
    audio_load_config(&cfg, &tc, &fe, cpath, a.config_from_init ? a.init : NULL, &a.sets);
    krait_train_opts_apply(&a, &tc, &c);
    if (strcmp(cfg.head, "classify")) krait_cli_die(2, "%s: a classifier config needs \"krait\": {\"head\": \"classify\"}", cpath);

    krait_audio_list list;
    int *is_test;
    audio_data_as_trained(&d, &fe, 1); /* a preset's "audio": {"data"} as defaults */
    audio_list_split(&list, &is_test, &d);
    if (list.n_classes == 1)
        krait_cli_die(2, "%s: every file has the label '%s': a classifier needs at least 2 classes", d.data,
                      list.names[0]);
    if (list.n_classes < 2)
        krait_cli_die(2, "%s: no labels: label the files (--label-regex RE, --label-from-dir or a manifest with labels)",
                      d.data);
    krait_train_opts_classes(&cfg, cpath, list.n_classes, d.data);
    krait_train_opts_resume_classes(a.resume, list.n_classes, d.data);
    for (int i = 0; i < list.n; i++)
        if (list.items[i].cls < 0) krait_cli_die(2, "%s: no label", list.items[i].path);
    int *is_train = malloc(sizeof *is_train * (size_t)list.n);
    if (!is_train) krait_cli_die(1, "out of memory");
    for (int i = 0; i < list.n; i++) is_train[i] = !is_test[i];
    audio_fe_clear_classes(&fe); /* the labels' classes replace a preset's */
    fe.classes = calloc((size_t)list.n_classes, sizeof *fe.classes);
    if (!fe.classes) krait_cli_die(1, "out of memory");
    for (int k = 0; k < list.n_classes; k++)
        if (!(fe.classes[k] = strdup(list.names[k]))) krait_cli_die(1, "out of memory");
    fe.n_classes = list.n_classes;
    krait_audio_set train_set, test_set;
    audio_load_set(&train_set, &list, is_train, &fe, "train");
    audio_load_set(&test_set, &list, is_test, &fe, "test");
    const int skipped = train_set.skipped + test_set.skipped; /* unreadable files, said above; in the summary too */
    if (!train_set.n) audio_die_empty(&list, is_train, d.data, "train");
    for (int k = 0; k < list.n_classes; k++) { /* a class seen only in the test files cannot be learnt */
        int seen = 0;
        for (int i = 0; i < train_set.n && !seen; i++) seen = train_set.clips[i].cls == k;
        if (!seen) KRAIT_WARN("class '%s' has no training clip (only test files, or unreadable ones)", list.names[k]);
    }
    audio_cls_data train, test;
    const uint64_t data_hash = clips_fingerprint(&train_set); /* before the samples go */
    audio_cls_prepare(&train, &fe, &train_set);
    audio_cls_prepare(&test, &fe, &test_set);
    krait_audio_set_free(&train_set);
    krait_audio_set_free(&test_set);

    cfg.input_dim = train.F;
    if (train.F) cfg.vocab_size_raw = 0, cfg.vocab_size = 0;
    else if (cfg.vocab_size_raw != 256) krait_cli_die(2, "%s: vocab_size must be 256 for sample input", cpath);
    snprintf(cfg.tokenizer, sizeof cfg.tokenizer, "%s", fe.logmel ? "logmel" : krait_quant_name(fe.quant));
    /* the longest train clip, or the cap when smaller: --seq-len, else train.seq_len (for log-mel
     * frames only when the config sets it: the default 256 counts samples) */
    int cap = a.seq_len > 0 ? a.seq_len : !fe.logmel || tc.seq_len_set ? tc.seq_len : train.max_len;
    tc.seq_len = train.max_len < cap ? train.max_len : cap;
    if (a.seq_len <= 0 && (!fe.logmel || !tc.seq_len_set)) warn_long_clip(&train, tc.seq_len); /* the longest set it */
    krait_status s;
    if ((s = krait_config_finalize(&cfg, cpath))) return krait_cli_exit_code(s);

    if (!test.n)
        KRAIT_WARN("no test clips in the split: no test accuracy, confusion.svg or test_metrics.json%s",
                   d.test_regex && strchr(d.test_regex, '/') ? " (--test-regex is matched against a file's name alone, "
                                                               "never its folders: its '/' cannot match)" : "");
    krait_backend *be = krait_cli_backend(&c, "f32");
    audio_fe_check_init(&fe, a.resume ? NULL : a.init);
    krait_model *m = krait_run_model(&cfg, &tc, be, a.init, "--seq-len");
    clip_source src = { &train };
    krait_data_source ds = { .ctx = &src };
    if (train.F) ds.next_batch_features = batch_feats;
    else ds.next_batch = batch_ids;
    float *probs = malloc(sizeof *probs * (size_t)(test.n ? test.n : 1) * (size_t)cfg.n_classes);
    if (!probs) krait_cli_die(1, "out of memory");
    run_ctx rc_ = { .test = &test, .probs = probs, .long_len = tc.seq_len > 4096 ? tc.seq_len : 4096,
                    .last_loss = NAN, .last_acc = NAN, .data_clips = train.n, .data_hash = data_hash, .fe = &fe };
    krait_run r = { .ds = &ds, .o = &a, .user = &rc_, .step_line = on_step, .validate = test.n ? on_eval : NULL,
                    .curves = write_curves, .app_state = app_state, .check_state = check_app_state };
    const char *out = a.out;
    int rc = krait_run_start(&r, m, &tc);
    if (rc) goto done;
    audio_fe_record_data(&fe, &d);
    audio_fe_save(&fe, out);
    fprintf(stderr, "krait-audio: classifier %d layers, d_model %d, %.3fM params, %d classes, %s pooling%s; input %s; "
                    "batch %d clips (up to %d positions), lr %g; %d train clips, %d test clips; %s\n",
            cfg.n_layer, cfg.d_model, m->n_params / 1e6, cfg.n_classes, cfg.pooling,
            cfg.bidirectional ? ", bidirectional" : "", audio_fe_describe(&fe), tc.batch, tc.seq_len, tc.lr, train.n,
            test.n, krait_train_budget((char[64]){ 0 }, 64, tc.minutes, tc.steps));
    if ((rc = krait_run_train(&r))) goto done;
    const krait_trainer *tr = r.t;
    int finished = r.finished;
    krait_cls_metrics mt = { 0 };
    if (finished && test.n) {
        if ((s = krait_cls_metrics_compute(test.label, probs, test.n, cfg.n_classes, &mt))) {
            rc = krait_cli_exit_code(s);
            goto done;
        }
        write_test_results(out, &fe, &mt);
    }
    double secs = krait_now() - r.t0;
    if (!finished)
        krait_run_say_stopped(tr->opt->step, out, NULL);
    else if (!test.n)
        printf("trained %d steps in %.0fs: train loss %.4f; no test clips; model in %s%s\n", tr->opt->step, secs,
               tr->last_loss, out, skipped ? " (unreadable files skipped)" : "");
    else
        printf("trained %d steps in %.0fs (%.0fs training, %.0fs testing): train loss %.4f; %d test clips: accuracy %.4f, "
               "macro F1 %.4f; model in %s%s\n", tr->opt->step, secs, tr->elapsed_s - tr->run_elapsed0, r.eval_s,
               tr->last_loss, test.n, rc_.last_acc, mt.confusion ? mt.macro_f1 : NAN, out,
               skipped ? " (unreadable files skipped)" : "");
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "steps", tr->opt->step);
        cJSON_AddNumberToObject(o, "train_loss", tr->last_loss);
        cJSON_AddNumberToObject(o, "n", test.n);
        cJSON_AddNumberToObject(o, "skipped", skipped); /* as classify, eval and encode report it */
        if (finished && isfinite(rc_.last_acc)) cJSON_AddNumberToObject(o, "accuracy", rc_.last_acc);
        if (mt.confusion) cJSON_AddNumberToObject(o, "macro_f1", mt.macro_f1);
        if (mt.confusion) cJSON_AddNumberToObject(o, "mcc", mt.mcc); /* as in test_metrics.json and krait-dna's */
        cJSON *cls = cJSON_AddArrayToObject(o, "classes");
        for (int k = 0; cls && k < list.n_classes; k++) cJSON_AddItemToArray(cls, cJSON_CreateString(list.names[k]));
        cJSON_AddNumberToObject(o, "train_seconds", tr->elapsed_s);
        cJSON_AddNumberToObject(o, "seconds", secs);
        cJSON_AddStringToObject(o, "out", out);
        if (!finished) cJSON_AddNumberToObject(o, "stopped_at", tr->opt->step);
        krait_cli_print_json(o);
    }
    krait_cls_metrics_free(&mt);
done:
    krait_run_free(&r);
    krait_model_free(m);
    krait_backend_destroy(be);
    audio_cls_free(&train);
    audio_cls_free(&test);
    free(probs), free(is_test), free(is_train);
    krait_audio_list_free(&list);
    audio_fe_free(&fe);
    return rc;
}
