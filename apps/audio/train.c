/* apps/audio/train.c — `krait-audio train`: an autoregressive waveform model (SaShiMi / Mamba
 * paper style: 8-bit mu-law or linear ids, next-sample prediction) on a folder or manifest.
 *
 * The train files of the split are read once (audio_io.h: any format, mono, resampled to the
 * front-end's rate, optionally peak-normalised) and quantised into memory. A batch row is a
 * random crop of seq_len + 1 samples: a file drawn with probability proportional to its
 * length, then a uniform start (a file shorter than the crop is padded, the padding unscored).
 * Crops are drawn with the trainer's data RNG, so the RNG state is the whole data position and
 * --resume is exact. Every --eval-every steps and at the end, up to --val-files test files
 * (evenly spaced over the test split) are scored whole, streamed from disk in chunks with the
 * state carried (audioapp.h: audio_score_file).
 *
 * Bits per sample = (summed next-sample loss / ln 2 + 8 bits for each file's first sample,
 * which has no context) / samples: the cost of coding every sample of the files.
 *
 * The run folder (--out) is a model folder: config.json + model.safetensors, audio.json (the
 * front-end), checkpoints/, metrics.jsonl and curves.svg. SIGINT writes a checkpoint and exits
 * 130. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audio_io.h"
#include "audioapp.h"
#include "checkpoint.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "runfiles.h"
#include "runfolder.h"
#include "trainopts.h"
#include "train.h"

typedef struct crop_source {
    uint8_t *ids;           /* every train clip's ids, one after another */
    long long *start;       /* (n + 1) clip offsets */
    int n;
} crop_source;

static krait_status crop_batch(void *ctx, int32_t *ids, int32_t *targets, int B, int L, krait_rng *rng)
{
    crop_source *c = ctx;
    long long total = c->start[c->n];
    for (int b = 0; b < B; b++) {
        int lo;
        long long len;
        do { /* the clip holding a random position; again for a clip of one sample (nothing to predict) */
            long long p = (long long)(krait_rng_uniform(rng) * (double)total);
            int hi = c->n - 1;
            lo = 0;
            while (lo < hi) {
                int mid = (lo + hi + 1) / 2;
                if (c->start[mid] <= p) lo = mid;
                else hi = mid - 1;
            }
            len = c->start[lo + 1] - c->start[lo];
        } while (len < 2); /* the trainer starts only when some clip has 2 or more */
        long long span = len - (L + 1);
        long long s0 = span <= 0 ? 0 : span < UINT32_MAX ? (long long)krait_rng_below(rng, (uint32_t)(span + 1))
                                                   : (long long)(krait_rng_u64(rng) % (uint64_t)(span + 1));
        const uint8_t *x = c->ids + c->start[lo] + s0;
        long long have = len - s0;
        int32_t *row = ids + (size_t)b * L, *trow = targets + (size_t)b * L;
        for (int t = 0; t < L; t++) {
            row[t] = t < have ? x[t] : KRAIT_QUANT_SILENCE;
            trow[t] = t + 1 < have ? x[t + 1] : -1;
        }
    }
    return KRAIT_STATUS_OK;
}

/* A crop from a file shorter than seq_len + 1 samples is padded: the padding is not scored, but
 * the samples counted (and samples/s) include it, so a crop far longer than the files is a
 * warning, with the expected share: a clip is drawn in proportion to its length and scores
 * min(len - 1, seq_len) positions (clips of one sample are never drawn). */
static void warn_padding(const crop_source *c, int seq_len)
{
    double scored = 0, weight = 0;
    for (int i = 0; i < c->n; i++) {
        long long len = c->start[i + 1] - c->start[i];
        if (len < 2) continue;
        scored += (double)len * (double)(len - 1 < seq_len ? len - 1 : seq_len);
        weight += (double)len;
    }
    double pad = weight > 0 ? 1.0 - scored / (weight * seq_len) : 0;
    if (pad > 0.25)
        KRAIT_WARN("train.seq_len %d: about %.0f%% of each crop is padding (the train files are shorter); it is not "
                   "scored, but the samples counted and samples/s include it: a shorter --seq-len trains faster",
                   seq_len, 100 * pad);
}

typedef struct run_ctx {
    const audio_frontend *fe;
    const char **val_paths;
    int n_val;
    double last_val, last_bps;
    long long data_samples;
    uint64_t data_hash;        /* of the quantised train samples and their clips: the same on --resume */
} run_ctx;

static void write_curves(krait_run *r)
{
    const krait_train_config *tc = &r->t->tc;
    char xl[160], title[300];
    snprintf(xl, sizeof xl, "step (%d x %d = %d samples per step)", tc->batch, tc->seq_len, tc->batch * tc->seq_len);
    snprintf(title, sizeof title, "krait-audio train: %s", r->o->out);
    krait_run_files_curves(r->o->out, title, xl, "loss (nats per sample)", "val_loss", "test-file loss");
}

static void on_step(krait_run *r, const krait_step_info *i)
{
    const run_ctx *c = r->user;
    char eta[32], tot[32] = "", val[32] = "-";
    if (i->total_steps > 0) snprintf(tot, sizeof tot, "/%d", i->total_steps);
    if (isfinite(c->last_bps)) snprintf(val, sizeof val, "%.4f", c->last_bps);
    krait_progress_line(&r->prog, 0, "step %d%s loss %.4f (%.3f bits) val %s bits/sample lr %.2e %.0f samples/s "
                        "elapsed %.0fs ETA %s", i->step, tot, i->loss, i->loss / log(2.0), val, i->lr,
                        i->tokens_per_s, i->elapsed_s, krait_fmt_duration(i->eta_s, eta));
}

static krait_status on_eval(krait_run *r)
{
    run_ctx *c = r->user;
    const krait_trainer *t = r->t;
    double t0 = krait_now(), nll = 0;
    long long scored = 0, samples = 0;
    for (int i = 0; i < c->n_val; i++) {
        double l;
        long long k, n;
        krait_status s = audio_score_file(t->model, c->fe, c->val_paths[i], 4096, &l, &k, &n, NULL, NULL);
        if (s) return s;
        nll += l, scored += k, samples += n;
    }
    c->last_val = scored ? nll / scored : NAN;
    c->last_bps = audio_bits_per_sample(nll, c->n_val, samples);
    krait_run_files_val(&r->rf, t, 2, (const char *[]){ "val_loss", "val_bits_per_sample" },
                        (double[]){ c->last_val, c->last_bps });
    krait_progress_line(&r->prog, 1, "step %d: %d test files, %.4f bits per sample (loss %.4f nats per predicted "
                        "sample, %.1fs)", t->opt->step, c->n_val, c->last_bps, c->last_val, krait_now() - t0);
    return KRAIT_STATUS_OK;
}

static char *app_state(void *user)
{
    const run_ctx *c = user;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "data_train_samples", (double)c->data_samples);
    krait_run_state_add_fingerprint(o, c->data_hash);
    audio_state_add_front_end(o, c->fe);
    char *j = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return j;
}

static krait_status check_app_state(void *user, const char *json, const char *dir)
{
    const run_ctx *c = user;
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "data_train_samples");
    int ok = cJSON_IsNumber(n) && (long long)n->valuedouble == c->data_samples;
    if (!ok) KRAIT_ERROR("--resume %s: the checkpoint was trained on other data (train samples differ from --data)", dir);
    ok = ok && audio_state_same_front_end(o, c->fe, dir); /* (other settings also give other samples) */
    if (ok && !krait_run_state_same_fingerprint(o, c->data_hash)) {
        KRAIT_ERROR("--resume %s: the checkpoint was trained on other data (as many samples, but others or in another "
                    "order)", dir);
        ok = 0;
    }
    cJSON_Delete(o);
    return ok ? KRAIT_STATUS_OK : KRAIT_STATUS_BAD_INPUT;
}

int audio_cmd_train(int argc, char **argv)
{
    krait_train_opts a = KRAIT_TRAIN_OPTS_INIT("train", 250);
    int val_files = 30;
    audio_data_opts d = { .test_fraction = -1 };
    krait_opt opts[] = {
        { "--config", OPT_STR, &a.config, "FILE", "model + train + audio config: a path or a preset in configs/ (required unless --init DIR: then DIR's config.json)" },
        AUDIO_DATA_OPTS(d),
        { "--out", OPT_STR, &a.out, "DIR", "run folder: latest model, audio.json, checkpoints, metrics.jsonl, curves.svg" },
        KRAIT_TRAIN_OPTS(&a, "score the test files every N steps (default: config, else 250; 0: only at the end)",
                         "override a config key (hidden_size=128, train.warmup=50, audio.rate=16000)"),
        { "--val-files", OPT_INT, &val_files, "N", "test files scored per validation, evenly spaced (default 30; 0: all)" },
        { "--seq-len", OPT_INT, &a.seq_len, "N", "override train.seq_len (samples per crop)" },
        { "--stop-at", OPT_INT, &a.stop_at, "N", "stop with a checkpoint after step N (the schedule is unchanged)" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-audio train --config FILE --data DIR|TSV --out DIR [--steps N | --minutes M] [--resume DIR]\n"
                    "Train an autoregressive waveform model on random crops of the train files.");
    krait_train_opts_check(&a, "--data", d.data != NULL);
    krait_run_refuse_inputs(a.out, "--data", &d.data, 1);

    const char *cpath = krait_cli_config_path(a.config);
    krait_config cfg;
    krait_train_config tc;
    audio_frontend fe;
    audio_load_config(&cfg, &tc, &fe, cpath, a.config_from_init ? a.init : NULL, &a.sets);
    krait_train_opts_apply(&a, &tc, &c);
    if (strcmp(cfg.head, "lm")) krait_cli_die(2, "%s: krait-audio train trains waveform models (\"head\": \"lm\"); "
                                                  "classifiers: krait-audio classify-train", cpath);
    if (fe.logmel) krait_cli_die(2, "%s: a waveform model reads quantised samples (\"audio\": {\"input\": \"tokens\"})", cpath);
    if (cfg.vocab_size_raw != 256) krait_cli_die(2, "%s: vocab_size must be 256 (8-bit samples), not %d", cpath, cfg.vocab_size_raw);
    snprintf(cfg.tokenizer, sizeof cfg.tokenizer, "%s", krait_quant_name(fe.quant));
    krait_status s;
    if ((s = krait_config_finalize(&cfg, cpath))) return krait_cli_exit_code(s);

    krait_audio_list list;
    int *is_test;
    audio_data_as_trained(&d, &fe, 0); /* a preset's "audio": {"data"} split as defaults */
    audio_list_split(&list, &is_test, &d);
    int *is_train = malloc(sizeof *is_train * (size_t)list.n);
    if (!is_train) krait_cli_die(1, "out of memory");
    int n_test = 0;
    for (int i = 0; i < list.n; i++) is_train[i] = !is_test[i], n_test += is_test[i];
    krait_audio_set train_set;
    audio_load_set(&train_set, &list, is_train, &fe, "train");
    if (!train_set.n) audio_die_empty(&list, is_train, d.data, "train");
    int learnable = 0; /* a clip of one sample has no next sample to predict */
    for (int i = 0; i < train_set.n; i++) learnable += train_set.clips[i].n >= 2;
    if (!learnable)
        krait_cli_die(2, "%s: every train file has fewer than 2 samples at %d Hz: no next sample to learn", d.data,
                      fe.rate);
    crop_source cs = { .n = train_set.n };
    cs.ids = malloc((size_t)train_set.samples);
    cs.start = malloc(sizeof *cs.start * (size_t)(train_set.n + 1));
    if (!cs.ids || !cs.start) krait_cli_die(1, "out of memory");
    cs.start[0] = 0;
    for (int i = 0; i < train_set.n; i++) {
        const krait_audio_clip *k = &train_set.clips[i];
        for (size_t j = 0; j < k->n; j++) cs.ids[cs.start[i] + (long long)j] = (uint8_t)krait_quant_encode1(fe.quant, k->x[j]);
        cs.start[i + 1] = cs.start[i] + (long long)k->n;
    }
    long long n_train = train_set.samples;
    int n_files = train_set.n, skipped = train_set.skipped; /* unreadable files, said above; in the summary too */
    krait_audio_set_free(&train_set);
    /* validation: evenly spaced test files, read from disk at every validation */
    int n_val = val_files == 0 || val_files > n_test ? n_test : val_files;
    const char **val_paths = malloc(sizeof *val_paths * (size_t)(n_val ? n_val : 1));
    if (!val_paths) krait_cli_die(1, "out of memory");
    for (int v = 0, k = 0, i = 0; i < list.n && v < n_val; i++)
        if (is_test[i] && (k++ == (int)((double)v * n_test / n_val))) val_paths[v++] = list.items[i].path;
    /* a test file that cannot be scored is skipped now, as a train file is, not found at the first
     * validation (which would end the run, perhaps at its last step, without a model) */
    int kept = 0, unreadable = 0;
    for (int v = 0; v < n_val; v++) {
        char why[600];
        float *x = NULL;
        size_t n = 0;
        krait_status rs = krait_audio_read_all_err(val_paths[v], fe.rate, fe.normalize, &x, &n, why, sizeof why);
        free(x);
        if (rs == KRAIT_STATUS_BAD_INPUT || (!rs && n < 2)) {
            if (!rs) snprintf(why, sizeof why, "%s: %zu sample%s at %d Hz: nothing to score", val_paths[v], n,
                             n == 1 ? "" : "s", fe.rate);
            KRAIT_WARN("skipped test file %s", why);
            unreadable++;
        } else if (rs) {
            return krait_cli_exit_code(rs);
        } else {
            val_paths[kept++] = val_paths[v];
        }
    }
    if (unreadable)
        fprintf(stderr, "krait-audio: test: skipped %d unreadable file%s (warnings above); %d kept for validation\n",
                unreadable, unreadable == 1 ? "" : "s", kept);
    n_val = kept;
    skipped += unreadable;
    if (!n_val) KRAIT_WARN("no test files in the split: no validation");

    krait_backend *be = krait_cli_backend(&c, "f32");
    audio_fe_check_init(&fe, a.resume ? NULL : a.init);
    krait_model *m = krait_run_model(&cfg, &tc, be, a.init, "--seq-len");
    warn_padding(&cs, tc.seq_len);
    krait_data_source ds = { .ctx = &cs, .next_batch = crop_batch };
    run_ctx rc_ = { .fe = &fe, .val_paths = val_paths, .n_val = n_val, .last_val = NAN, .last_bps = NAN,
                    .data_samples = n_train,
                    .data_hash = krait_run_fingerprint(krait_run_fingerprint(KRAIT_FINGERPRINT_INIT, cs.ids, (size_t)n_train),
                                                       cs.start, sizeof *cs.start * (size_t)(cs.n + 1)) };
    krait_run r = { .ds = &ds, .o = &a, .user = &rc_, .step_line = on_step, .validate = n_val ? on_eval : NULL,
                    .curves = write_curves, .app_state = app_state, .check_state = check_app_state };
    const char *out = a.out;
    int rc = krait_run_start(&r, m, &tc);
    if (rc) goto done;
    audio_fe_record_data(&fe, &d);
    audio_fe_save(&fe, out);
    fprintf(stderr, "krait-audio: %d layers, d_model %d, %.2fM params; %s; batch %d x %d, lr %g; %d train files "
                    "(%lld samples, %.1f min), %d validation files; %s\n",
            cfg.n_layer, cfg.d_model, m->n_params / 1e6, audio_fe_describe(&fe), tc.batch, tc.seq_len, tc.lr, n_files,
            n_train, n_train / (60.0 * fe.rate), n_val, krait_train_budget((char[64]){ 0 }, 64, tc.minutes, tc.steps));
    if ((rc = krait_run_train(&r))) goto done;
    const krait_trainer *tr = r.t;
    int finished = r.finished;
    double secs = krait_now() - r.t0, run_train_s = tr->elapsed_s - tr->run_elapsed0;
    double sps = run_train_s > 0 ? (tr->tokens - tr->run_tokens0) / run_train_s : 0;
    if (!finished)
        krait_run_say_stopped(tr->opt->step, out, NULL);
    else {
        char val[64] = "no test files";
        if (isfinite(rc_.last_bps)) snprintf(val, sizeof val, "%d test files %.4f bits per sample", n_val, rc_.last_bps);
        printf("trained %d steps (%lld samples) in %.0fs (%.0fs training, %.0f samples/s; %.0fs validating): train loss "
               "%.4f nats, %s; model in %s%s\n", tr->opt->step, tr->tokens, secs, run_train_s, sps, r.eval_s,
               tr->last_loss, val, out, skipped ? " (unreadable files skipped)" : "");
    }
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "steps", tr->opt->step);
        cJSON_AddNumberToObject(o, "samples", (double)tr->tokens);
        cJSON_AddNumberToObject(o, "skipped", skipped); /* as classify, eval and encode report it */
        cJSON_AddNumberToObject(o, "train_loss", tr->last_loss);
        if (finished && isfinite(rc_.last_val)) cJSON_AddNumberToObject(o, "val_loss", rc_.last_val);
        if (finished && isfinite(rc_.last_bps)) cJSON_AddNumberToObject(o, "val_bits_per_sample", rc_.last_bps);
        cJSON_AddNumberToObject(o, "samples_per_s", sps);
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
    free(cs.ids), free(cs.start), free(val_paths), free(is_test), free(is_train);
    krait_audio_list_free(&list);
    audio_fe_free(&fe);
    return rc;
}
