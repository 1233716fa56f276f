/* apps/audio/eval.c — `krait-audio eval`: negative log-likelihood of audio files under a
 * waveform model, in bits per sample, each file whole, in constant memory.
 *
 * --data is one audio file, a folder or a manifest; with a split (--split test and the split
 * options) only that part is scored. Each file is streamed from disk through the model folder's
 * front-end (audio.json: rate, normalisation, quantisation) and scored in chunks with the state
 * carried (audioapp.h: audio_score_file), so memory depends on --chunk, never on the length.
 *
 *   bits per sample = (sum of next-sample losses / ln 2 + 8 per file) / samples
 * charges every sample, the first of each file (no context) at 8 bits: comparable with a
 * compressor's output over the same byte streams (krait-audio encode). "bits per predicted
 * sample" leaves the first samples out. --tsv FILE writes one line per file. In a folder or
 * manifest an unreadable file is skipped with a warning and counted; a single --data file that
 * cannot be read exits 2. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audioapp.h"
#include "fsutil.h"
#include "model_io.h"
#include "train.h"

/* Progress inside one (long) file: its positions scored so far. */
typedef struct in_file {
    krait_progress *prog;
    int done, total;          /* files before this one, files in all */
    long long samples;        /* samples of the files before */
    double t0;
} in_file;

static void on_positions(void *user, long pos, long n)
{
    const in_file *f = user;
    double dt = krait_now() - f->t0;
    krait_progress_line(f->prog, 0, "eval: file %d/%d: %ld/%ld samples, %.0f samples/s", f->done + 1, f->total, pos, n,
                        dt > 0 ? (f->samples + pos) / dt : 0);
}

int audio_cmd_eval(int argc, char **argv)
{
    const char *model_dir = NULL, *tsv = NULL;
    int chunk = 4096;
    audio_data_opts d = { .test_fraction = -1, .split = "all" };
    krait_opt opts[] = {
        { "--model", OPT_STR, &model_dir, "DIR", "model folder (a krait-audio train run folder)" },
        AUDIO_DATA_OPTS(d),
        { "--split", OPT_STR, &d.split, "PART", "which files of a folder or manifest: all (default), train or test" },
        { "--chunk", OPT_INT, &chunk, "N", "samples per forward chunk (default 4096; memory depends on it)" },
        { "--tsv", OPT_STR, &tsv, "FILE", "one line per file: path, samples, bits per sample" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-audio eval --model DIR --data FILE|DIR|TSV [--split test --test-regex RE] [--tsv FILE]\n"
                    "Bits per sample of whole audio files under a waveform model.");
    if (!model_dir || !d.data) krait_cli_die(2, "eval: --model and --data are required");
    if (chunk < 1) krait_cli_die(2, "eval: --chunk must be >= 1");
    if (strcmp(d.split, "all") && strcmp(d.split, "train") && strcmp(d.split, "test"))
        krait_cli_die(2, "eval: --split must be all, train or test (not '%s')", d.split);
    const char *reads[2] = { model_dir, krait_fs_is_dir(d.data) ? NULL : d.data }; /* a data folder may hold outputs */
    krait_cli_refuse_overwrite(tsv, "--tsv", reads, 2);
    audio_frontend fe;
    audio_fe_load(&fe, model_dir);
    audio_data_as_trained(&d, &fe, 0);
    if (fe.logmel) krait_cli_die(2, "%s: a classifier (log-mel input); use krait-audio classify", model_dir);

    int single = !krait_fs_is_dir(d.data) && krait_audio_is_audio_name(d.data);
    krait_audio_list list = { 0 };
    int *is_test = NULL;
    if (single) {
        krait_audio_item it = { strdup(d.data), NULL, -1, 0 };
        list.items = malloc(sizeof *list.items);
        if (!it.path || !list.items) krait_cli_die(1, "out of memory");
        list.items[0] = it, list.n = list.cap = 1;
    } else {
        audio_list_split(&list, &is_test, &d);
        audio_refuse_overwrite_listed(tsv, "--tsv", &list);
    }
    krait_backend *be = krait_cli_backend(&c, "f32");
    krait_status s = KRAIT_STATUS_OK;
    krait_model *m = krait_model_load(model_dir, be, &s);
    if (!m) return krait_cli_exit_code(s ? s : KRAIT_STATUS_BAD_INPUT);
    if (strcmp(m->cfg.head, "lm")) krait_cli_die(2, "%s: not a waveform model (head \"%s\")", model_dir, m->cfg.head);
    char what[80]; /* the chunk's activations, refused before the work when they cannot fit */
    snprintf(what, sizeof what, "evaluating in chunks of %d samples", chunk);
    krait_cli_check_memory(be, krait_acts_bytes(m, 1, chunk, 0), what, "lower --chunk");
    FILE *tf = NULL;
    if (tsv) {
        tf = krait_cli_output_open(tsv);
        fprintf(tf, "path\tsamples\tbits_per_sample\n");
    }
    int want_test = !strcmp(d.split, "test"), all = !strcmp(d.split, "all") || single, total = 0;
    for (int i = 0; i < list.n; i++) total += all || is_test[i] == want_test;
    krait_progress prog;
    krait_progress_init(&prog, KRAIT_PROGRESS_FORCED_ONLY);
    double nll = 0, t0 = krait_now();
    long long scored = 0, samples = 0;
    int files = 0, skipped = 0, done = 0;
    for (int i = 0; i < list.n; i++) {
        if (!all && is_test[i] != want_test) continue;
        double l;
        long long k, n;
        krait_cli_errors_hold();
        in_file ctx = { &prog, done, total, samples, t0 };
        s = audio_score_file(m, &fe, list.items[i].path, chunk, &l, &k, &n, on_positions, &ctx);
        char at[1100];
        krait_cli_errors_release_at(s == KRAIT_STATUS_BAD_INPUT && !single, krait_audio_item_where(&list, i, at, sizeof at));
        done++;
        if (s == KRAIT_STATUS_BAD_INPUT && !single) {
            skipped++;
            continue;
        }
        if (s) return krait_cli_exit_code(s);
        nll += l, scored += k, samples += n, files++;
        if (tf) {
            krait_cli_tsv_field(tf, list.items[i].path);
            fprintf(tf, "\t%lld\t%.6f\n", n, audio_bits_per_sample(l, 1, n));
        }
        double dt = krait_now() - t0;
        krait_progress_line(&prog, done == total, "eval: %d/%d files, %lld samples, %.0f samples/s, %.4f bits per sample",
                            done, total, samples, dt > 0 ? samples / dt : 0,
                            audio_bits_per_sample(nll, files, samples));
    }
    krait_progress_done(&prog);
    if (tf) krait_cli_output_close(tf);
    if (!files && !total)
        krait_cli_die(2, "%s: the %s split is empty: none of the %d files falls in it (see --test-regex, "
                      "--test-fraction, --split)", d.data, d.split, list.n);
    if (!files) krait_cli_die(2, "%s: no readable audio files to score (%d skipped)", d.data, skipped);
    double bps = audio_bits_per_sample(nll, files, samples);
    double bpp = scored ? nll / log(2.0) / (double)scored : NAN;
    char pred[96] = "no sample after a file's first to predict"; /* clips of one sample each */
    /* five decimals: the two figures differ only by the files' first samples */
    if (scored) snprintf(pred, sizeof pred, "%.5f bits per predicted sample, loss %.4f nats", bpp, nll / scored);
    printf("%s: %d file%s, %lld samples (%.1f s at %d Hz): %.5f bits per sample (%s)%s\n", d.data, files, files == 1 ? "" : "s", samples,
           samples / (double)fe.rate, fe.rate, bps, pred, skipped ? "; some files skipped" : "");
    if (skipped) fprintf(stderr, "%s: skipped %d unreadable file%s\n", krait_cli_prog(), skipped, skipped == 1 ? "" : "s");
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "files", files);
        cJSON_AddNumberToObject(o, "skipped", skipped);
        cJSON_AddNumberToObject(o, "samples", (double)samples);
        cJSON_AddNumberToObject(o, "audio_seconds", samples / (double)fe.rate); /* "seconds" is the time eval took */
        cJSON_AddNumberToObject(o, "bits_per_sample", bps);
        cJSON_AddNumberToObject(o, "bits_per_predicted_sample", bpp);
        cJSON_AddNumberToObject(o, "loss", scored ? nll / scored : NAN);
        cJSON_AddNumberToObject(o, "seconds", krait_now() - t0);
        krait_cli_print_json(o);
    }
    krait_model_free(m);
    krait_backend_destroy(be);
    krait_audio_list_free(&list);
    free(is_test);
    audio_fe_free(&fe);
    return 0;
}
