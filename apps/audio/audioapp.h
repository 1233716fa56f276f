/* apps/audio/audioapp.h — the krait-audio commands (one file each) and what they share: the
 * front-end settings a model folder keeps in audio.json, presets with an "audio" section, the
 * dataset options (--data, labels, split) and scoring one file in constant memory. */
#ifndef KRAIT_AUDIOAPP_H
#define KRAIT_AUDIOAPP_H

#include <stdint.h>

#include "audio_data.h"
#include "cli.h"
#include "config.h"
#include "evaluate.h"
#include "melspec.h"
#include "model.h"
#include "quant.h"

int audio_cmd_train(int argc, char **argv);          /* train.c */
int audio_cmd_eval(int argc, char **argv);           /* eval.c */
int audio_cmd_generate(int argc, char **argv);       /* generate.c */
int audio_cmd_encode(int argc, char **argv);         /* encode.c */
int audio_cmd_classify_train(int argc, char **argv); /* classify_train.c */
int audio_cmd_classify(int argc, char **argv);       /* classify.c */

/* The front-end: how files become model inputs. Kept in the model folder as audio.json and in
 * presets as the "audio" object:
 *   {"rate": 8000, "quantization": "mulaw"|"linear8", "normalize": "peak"|"none",
 *    "input": "tokens"|"logmel", "mel": {"win", "hop", "bands", "fmin", "fmax", "cmvn"},
 *    "classes": ["0", "1", ...],   (classifiers only)
 *    "data": {"test_regex" | "test_fraction", "label_regex", "label_from_dir"}}   (as trained) */
typedef struct audio_frontend {
    int rate;
    krait_quant quant;
    int normalize;            /* 1: each file scaled to peak 1 */
    int logmel;               /* 1: log-mel frames (input_dim = mel.n_mels); 0: quantised ids */
    krait_mel_params mel;
    char **classes;           /* (n_classes) or NULL */
    int n_classes;
    /* how the training run split and labelled its data ("data" in audio.json): eval and
     * classify use it when given no split or label options of their own */
    struct {
        int set;
        char *test_regex, *label_regex; /* or NULL */
        double test_fraction;           /* without test_regex */
        int label_from_dir;
    } data;
} audio_frontend;

void audio_fe_default(audio_frontend *fe);
void audio_fe_free(audio_frontend *fe);
void audio_fe_clear_classes(audio_frontend *fe);
/* Apply a JSON object's keys (unknown key or bad value: exit 2 naming origin and the key). */
void audio_fe_apply_json(audio_frontend *fe, const void *cjson_obj, const char *origin);
/* Write DIR/audio.json (atomically); exits 1/2 with one line on failure. */
void audio_fe_save(const audio_frontend *fe, const char *dir);
/* Read DIR/audio.json; exits 2 with one line when missing or malformed. */
void audio_fe_load(audio_frontend *fe, const char *dir);
/* "mulaw 8 kHz, peak-normalised" style summary (static buffer). */
const char *audio_fe_describe(const audio_frontend *fe);
/* A checkpoint's record of the front-end (audio_fe_describe) in its app state, and the check on
 * --resume: a run continued with another rate, quantization, normalisation or log-mel setting
 * would train the rest on other inputs (one error line, 0, when they differ; older checkpoints
 * carry none: 1). */
struct cJSON;
void audio_state_add_front_end(struct cJSON *o, const audio_frontend *fe);
int audio_state_same_front_end(const struct cJSON *o, const audio_frontend *fe, const char *dir);
/* --init DIR: a warning when DIR's audio.json (if it has one) describes other inputs than fe (the
 * copied weights learnt another rate, quantisation or features). */
void audio_fe_check_init(const audio_frontend *fe, const char *init_dir);

/* A preset or config file: the model and "train" keys into cfg/tc, the "audio" object into fe.
 * --set KEY=V overrides (audio.KEY=V for the front-end). fe_dir (or NULL): the model folder whose
 * config.json path is (--init without --config): its audio.json's front-end (rate, samples or
 * log-mel settings; not its classes or data split) is the start. Exits 2 with one line on bad
 * input. */
void audio_load_config(krait_config *cfg, krait_train_config *tc, audio_frontend *fe, const char *path,
                       const char *fe_dir, const krait_str_list *sets);

/* The dataset options every command shares. */
typedef struct audio_data_opts {
    const char *data;          /* folder or manifest */
    const char *label_regex;   /* labels from file names (capture 1) */
    int label_from_dir;        /* labels from folder names */
    const char *test_regex;    /* test files by name */
    double test_fraction;      /* else by name hash (default 0.1) */
    const char *split;         /* "train" | "test" | "all" (commands that read one part) */
    int labels_as_trained;     /* the label options came from the model: names they do not fit
                                * leave the files unlabelled (no accuracy) rather than an error */
} audio_data_opts;
#define AUDIO_DATA_OPTS(o)                                                                                         \
    { "--data", OPT_STR, &(o).data, "DIR|TSV", "a folder of audio files (recursive) or a manifest TSV (path[<TAB>label])" }, \
    { "--test-regex", OPT_STR, &(o).test_regex, "RE", "test files: names matching RE (e.g. FSDD's '_[0-4]\\.wav$')" }, \
    { "--test-fraction", OPT_DOUBLE, &(o).test_fraction, "F", "without --test-regex: this fraction by name hash (default 0.1)" }
/* The label options: the classifier's commands only (a waveform model uses no labels). */
#define AUDIO_LABEL_OPTS(o)                                                                                        \
    { "--label-regex", OPT_STR, &(o).label_regex, "RE", "label = capture group 1 of RE on the file name, or the whole match when RE has no group (e.g. '^([0-9])_')" }, \
    { "--label-from-dir", OPT_FLAG, &(o).label_from_dir, NULL, "label = the name of the folder holding the file" }

/* Training: record o's split and labels in fe (saved in audio.json). */
void audio_fe_record_data(audio_frontend *fe, const audio_data_opts *o);
/* eval/classify: without --test-regex/--test-fraction, the split the model was trained with;
 * with labels = 1, no label options and a folder as --data, its labels too (says so on stderr). */
void audio_data_as_trained(audio_data_opts *o, const audio_frontend *fe, int labels);

/* List the dataset and mark the test files (is_test, malloc'd, l->n). Exits 2 on bad input. */
void audio_list_split(krait_audio_list *l, int **is_test, const audio_data_opts *o);
/* Exit 2 with one line when path, a file the command is about to write (opt its option), is one of
 * the audio files the listing names: a folder or manifest given as --data may hold the outputs,
 * never in place of its own audio. */
void audio_refuse_overwrite_listed(const char *path, const char *opt, const krait_audio_list *l);
/* Exit 2 for a set that came out empty: "no readable files" when the split chose some (all
 * skipped), "the split is empty" when it chose none (a --test-regex that matches nothing). */
void audio_die_empty(const krait_audio_list *l, const int *want, const char *data, const char *what)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;
/* Load the items with want[i] at the front-end's rate and normalisation, with progress; says
 * how many were skipped. Exits on failure; what names the part ("train", "test"). */
void audio_load_set(krait_audio_set *set, const krait_audio_list *l, const int *want, const audio_frontend *fe,
                    const char *what);
/* "PROG: WHAT: skipped N unreadable files (warnings above); M read" on stderr, when N > 0. */
void audio_say_skipped(const char *what, int skipped, int read);

/* Score one file as the language model sees it: mu-law/linear ids streamed from the file,
 * next-sample loss summed over positions 1..n-1, in chunks with the state carried (memory does
 * not depend on the length). *samples = n. BAD_INPUT (logged) for an unreadable file.
 * progress (may be NULL) is told the positions scored within the file. */
krait_status audio_score_file(const krait_model *m, const audio_frontend *fe, const char *path, int chunk,
                              double *nll_sum, long long *n_scored, long long *samples,
                              krait_eval_progress_fn progress, void *progress_user);

/* Bits per sample of `files` whole files of `samples` samples in all, from the model's summed
 * next-sample loss (nats): each file's first sample, which nothing predicts, costs 8 bits (one of
 * 256 ids, uniform). NAN for no samples. */
double audio_bits_per_sample(double nll_sum, long long files, long long samples);

/* Quantised ids of a whole clip (malloc'd). */
int32_t *audio_clip_ids(const audio_frontend *fe, const float *x, size_t n);

/* ---- classification (cls_util.c) ---------------------------------------------------------------- */
/* Model inputs of labelled clips: log-mel frames (T, F) or quantised ids (T), by the front-end. */
typedef struct audio_cls_data {
    int n, F;                 /* clips; F = feature size (0 for ids) */
    float **feats;            /* (n) -> (len[i], F), or NULL */
    int32_t **ids;            /* (n) -> (len[i]), or NULL */
    int32_t *len, *label;     /* (n) */
    const char **path;        /* (n) the list's strings */
    int max_len;
    int cap;                  /* clips the arrays hold */
    krait_mel *mel;           /* the log-mel front-end, or NULL */
} audio_cls_data;

/* Inputs of every clip of set (labels: clip cls); each clip's samples are freed once its
 * features are made (set keeps the paths and labels). Exits on failure. */
void audio_cls_prepare(audio_cls_data *d, const audio_frontend *fe, krait_audio_set *set);
/* The same one clip at a time: room for cap clips, then each added (its samples freed). */
void audio_cls_init(audio_cls_data *d, const audio_frontend *fe, int cap);
void audio_cls_add(audio_cls_data *d, const audio_frontend *fe, krait_audio_clip *c);
void audio_cls_free(audio_cls_data *d);
/* probs (n, C) of every clip: batches of short clips through krait_classify, clips longer than
 * long_len streamed in chunks of chunk positions (krait_cls_stream) in bounded memory. progress
 * may be NULL. */
krait_status audio_cls_predict(const krait_model *m, const audio_cls_data *d, float *probs, int long_len, int chunk,
                               krait_progress *progress);

#endif /* KRAIT_AUDIOAPP_H */
