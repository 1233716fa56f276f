/* apps/audio/classify.c — `krait-audio classify`: a trained clip classifier over audio files:
 * predictions (TSV), and when the files carry labels, accuracy, MCC, macro F1 and the confusion
 * matrix (text on stdout, --confusion FILE.svg as a picture).
 *
 * --data is one audio file, a folder or a manifest (labels from the manifest, --label-regex or
 * --label-from-dir; names must be among the model's classes in audio.json); --split test with
 * the split options picks the test part. Clips are read through the model's front-end
 * (audio.json) one at a time, made into features (its samples freed then) and classified in
 * groups; a clip longer than --stream-above N positions is classified in chunks of --chunk positions
 * with the state carried.
 * Memory grows with the longest clip (its samples, then its features), not with the number of
 * clips. In a folder or manifest an unreadable file is skipped with a warning and counted; a
 * single --data file that cannot be read exits 2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audio_io.h"
#include "audioapp.h"
#include "fsutil.h"
#include "metrics.h"
#include "model_io.h"
#include "plot.h"
#include "train.h"

int audio_cmd_classify(int argc, char **argv)
{
    const char *model_dir = NULL, *output = NULL, *confusion = NULL;
    int long_len = 4096, chunk = 1024;
    audio_data_opts d = { .test_fraction = -1, .split = "all" };
    krait_opt opts[] = {
        { "--model", OPT_STR, &model_dir, "DIR", "classifier folder (a krait-audio classify-train run folder)" },
        AUDIO_DATA_OPTS(d),
        AUDIO_LABEL_OPTS(d),
        { "--split", OPT_STR, &d.split, "PART", "which files of a folder or manifest: all (default), train or test" },
        { "--output", OPT_STR, &output, "PRED.tsv", "predictions: path, label, predicted, probability of each class (default for unlabelled clips: stdout)" },
        { "--confusion", OPT_STR, &confusion, "FILE.svg", "draw the confusion matrix (labelled data)" },
        { "--stream-above", OPT_INT, &long_len, "N", "stream clips longer than N positions (samples or frames) in chunks (default 4096)" },
        { "--chunk", OPT_INT, &chunk, "N", "positions per chunk when streaming long clips (default 1024)" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-audio classify --model DIR --data FILE|DIR|TSV [--split test --test-regex RE]\n"
                    "                            [--output PRED.tsv] [--confusion FILE.svg]\n"
                    "Classify audio clips; accuracy and the confusion matrix when they have labels.");
    if (!model_dir || !d.data) krait_cli_die(2, "classify: --model and --data are required");
    if (strcmp(d.split, "all") && strcmp(d.split, "train") && strcmp(d.split, "test"))
        krait_cli_die(2, "classify: --split must be all, train or test (not '%s')", d.split);
    if (long_len < 1) krait_cli_die(2, "classify: --stream-above must be >= 1");
    if (chunk < 1) krait_cli_die(2, "classify: --chunk must be >= 1");
    const char *reads[2] = { model_dir, krait_fs_is_dir(d.data) ? NULL : d.data }; /* a data folder may hold outputs */
    krait_cli_refuse_overwrite(output, "--output", reads, 2);
    krait_cli_refuse_overwrite(confusion, "--confusion", reads, 2);
    krait_cli_refuse_same_output(output, "--output", confusion, "--confusion");
    krait_cli_check_output_path(output, "--output"); /* before the work, not after it */
    krait_cli_check_output_path(confusion, "--confusion");
    audio_frontend fe;
    audio_fe_load(&fe, model_dir);
    audio_data_as_trained(&d, &fe, 1);
    if (fe.n_classes < 2) krait_cli_die(2, "%s/audio.json: no \"classes\": not a classifier", model_dir);
    /* the model before the labels: a label is judged against classes the weights agree with */
    krait_backend *be = krait_cli_backend(&c, "f32");
    krait_status s = KRAIT_STATUS_OK;
    krait_model *m = krait_model_load(model_dir, be, &s);
    if (!m) return krait_cli_exit_code(s ? s : KRAIT_STATUS_BAD_INPUT);
    int C = m->cfg.n_classes, F = fe.logmel ? fe.mel.n_mels : 0;
    if (strcmp(m->cfg.head, "classify") || C != fe.n_classes || m->cfg.input_dim != F)
        krait_cli_die(2, "%s: config.json and audio.json disagree (head %s, %d classes, input_dim %d; audio.json: %d "
                      "classes, %d features)", model_dir, m->cfg.head, C, m->cfg.input_dim, fe.n_classes, F);

    int single = !krait_fs_is_dir(d.data) && krait_audio_is_audio_name(d.data);
    krait_audio_list list = { 0 };
    int *is_test = NULL;
    if (single) { /* one file: its problem is the command's error, not a skip */
        float *x;
        size_t n;
        krait_status rs = krait_audio_read_all(d.data, fe.rate, 0, &x, &n);
        if (rs) return krait_cli_exit_code(rs);
        free(x);
        list.items = malloc(sizeof *list.items);
        if (!list.items) krait_cli_die(1, "out of memory");
        list.items[0] = (krait_audio_item){ strdup(d.data), NULL, -1, 0 };
        list.n = list.cap = 1;
    } else {
        audio_list_split(&list, &is_test, &d);
        audio_refuse_overwrite_listed(output, "--output", &list);
        audio_refuse_overwrite_listed(confusion, "--confusion", &list);
    }
    /* labels -> the model's classes */
    int labelled = 0;
    for (int i = 0; i < list.n; i++) {
        krait_audio_item *it = &list.items[i];
        it->cls = -1;
        if (!it->label) continue;
        labelled++;
        for (int k = 0; k < fe.n_classes; k++)
            if (!strcmp(it->label, fe.classes[k])) it->cls = k;
        if (it->cls < 0 && it->line)
            krait_cli_die(2, "%s:%d: label '%s' (of %s) is not one of the model's %d classes", d.data, it->line, it->label,
                          it->path, fe.n_classes);
        if (it->cls < 0) krait_cli_die(2, "%s: label '%s' is not one of the model's %d classes", it->path, it->label, fe.n_classes);
    }
    if (labelled && labelled != list.n) krait_cli_die(2, "%s: some files have labels and some do not", d.data);
    if (confusion && !labelled) krait_cli_die(2, "--confusion needs labelled data (%s has no labels)", d.data);
    krait_cli_check_picture(confusion, "--confusion", ".svg", "an SVG");
    int *want = malloc(sizeof *want * (size_t)list.n), want_test = !strcmp(d.split, "test");
    if (!want) krait_cli_die(1, "out of memory");
    for (int i = 0; i < list.n; i++) want[i] = single || !strcmp(d.split, "all") || is_test[i] == want_test;

    /* GROUP clips at a time (fewer when they are long): each read and made into features (its
     * samples freed then), then the group classified: memory holds one group's features and one
     * clip's samples, so it grows with the longest clip, not with the folder */
    enum { GROUP = 32 };
    int n_want = 0, n = 0, skipped = 0;
    for (int i = 0; i < list.n; i++) n_want += want[i];
    float *probs = malloc(sizeof *probs * (size_t)(n_want ? n_want : 1) * C);
    int *label = malloc(sizeof *label * (size_t)(n_want ? n_want : 1));
    const char **path = malloc(sizeof *path * (size_t)(n_want ? n_want : 1));
    if (!probs || !label || !path) krait_cli_die(1, "out of memory");
    krait_progress prog;
    krait_progress_init(&prog, KRAIT_PROGRESS_FORCED_ONLY);
    double t0 = krait_now();
    for (int start = 0, seen = 0; start < list.n && !s;) {
        audio_cls_data data;
        audio_cls_init(&data, &fe, GROUP);
        int end = start, k = 0;
        long long positions = 0; /* a group of long clips ends early: their features are large */
        for (; end < list.n && k < GROUP && positions < (long long)GROUP * long_len && !s; end++) {
            if (!want[end]) continue;
            k++;
            krait_audio_list item = { .items = &list.items[end], .n = 1, .cap = 1, .manifest = list.manifest }; /* a view of one entry */
            krait_audio_set one;
            if ((s = krait_audio_set_load(&one, &item, NULL, fe.rate, fe.normalize, NULL, NULL))) break;
            skipped += one.skipped;
            if (one.n) { /* one clip read at a time; its samples freed once its features are made */
                audio_cls_add(&data, &fe, &one.clips[0]);
                positions += data.len[data.n - 1];
            }
            krait_audio_set_free(&one);
        }
        if (!s) s = audio_cls_predict(m, &data, probs + (size_t)n * C, long_len, chunk, NULL);
        for (int i = 0; i < data.n; i++) label[n + i] = data.label[i], path[n + i] = data.path[i];
        n += data.n;
        seen += k;
        audio_cls_free(&data);
        double dt = krait_now() - t0;
        char sk[48] = "";
        if (skipped) snprintf(sk, sizeof sk, " (%d unreadable, skipped)", skipped);
        krait_progress_line(&prog, seen == n_want, "classify: %d/%d clips%s, %.1f clips/s", seen, n_want, sk,
                            dt > 0 ? seen / dt : 0);
        start = end;
    }
    krait_progress_done(&prog);
    if (s) return krait_cli_exit_code(s);
    audio_say_skipped(single ? "input" : d.split, skipped, n);
    if (!n) audio_die_empty(&list, want, d.data, single ? "input" : d.split);

    /* Unlabelled clips without --output: the predictions are the result, so they go to stdout
     * (as krait-dna predict's; with --json before its last line); with labels the result is the
     * accuracy and the confusion matrix. */
    FILE *f = output ? krait_cli_output_open(output) : !labelled && !single ? stdout : NULL;
    if (f) {
        fprintf(f, "path\tlabel\tpredicted");
        for (int k = 0; k < C; k++) fprintf(f, "\tp_%s", fe.classes[k]);
        fprintf(f, "\n");
    }
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * C;
        int best = krait_cls_argmax(p, C);
        if (f) {
            krait_cli_tsv_field(f, path[i]);
            fprintf(f, "\t%s\t%s", label[i] >= 0 ? fe.classes[label[i]] : "", fe.classes[best]);
            for (int k = 0; k < C; k++) fprintf(f, "\t%.6f", p[k]);
            fprintf(f, "\n");
        }
        if (single) printf("%s: %s (probability %.4f)\n", path[i], fe.classes[best], p[best]);
    }
    if (f && f != stdout) krait_cli_output_close(f);
    krait_cls_metrics mt = { 0 };
    if (labelled) {
        if ((s = krait_cls_metrics_compute(label, probs, n, C, &mt))) return krait_cli_exit_code(s);
        printf("%s: %d clip%s, accuracy %.4f, MCC %.4f, macro F1 %.4f%s\n", d.data, mt.n, mt.n == 1 ? "" : "s", mt.accuracy, mt.mcc, mt.macro_f1,
               skipped ? " (some files skipped)" : "");
        krait_cli_print_confusion(stdout, (const char *const *)fe.classes, C, mt.confusion);
        if (confusion) {
            char title[600];
            snprintf(title, sizeof title, "%s: accuracy %.4f (%d clip%s)", d.data, mt.accuracy, mt.n, mt.n == 1 ? "" : "s");
            if ((s = krait_plot_confusion_svg(confusion, title, (const char *const *)fe.classes, C, mt.confusion)))
                return krait_cli_exit_code(s);
        }
    } else if (!single && f != stdout) { /* the predictions are in --output */
        printf("%s: %d clip%s classified%s%s%s\n", d.data, n, n == 1 ? "" : "s", skipped ? " (some files skipped)" : "",
               output ? "; predictions in " : " (give --output FILE for the predictions)", output ? output : "");
    }
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "n", n);
        cJSON_AddNumberToObject(o, "skipped", skipped);
        if (labelled) {
            cJSON_AddNumberToObject(o, "accuracy", mt.accuracy);
            cJSON_AddNumberToObject(o, "mcc", mt.mcc);
            cJSON_AddNumberToObject(o, "macro_f1", mt.macro_f1);
        }
        krait_cli_print_json(o);
    }
    krait_cls_metrics_free(&mt);
    free(probs), free(label), free(path), free(want), free(is_test);
    krait_audio_list_free(&list);
    krait_model_free(m);
    krait_backend_destroy(be);
    audio_fe_free(&fe);
    return 0;
}
