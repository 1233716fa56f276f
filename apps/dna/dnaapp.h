/* apps/dna/dnaapp.h — the krait-dna commands (one file each) and what they share: the input
 * options every command takes (sources, --genome, --label-key, --window, --reference), loading
 * a labelled set from them, and a model folder's class list (classes.txt, one name a line). */
#ifndef KRAIT_DNAAPP_H
#define KRAIT_DNAAPP_H

#include <stdio.h>

#include "cli.h"
#include "dna_read.h"
#include "dna_region.h"
#include "dna_set.h"

int dna_cmd_split(int argc, char **argv);      /* split.c */
int dna_cmd_baseline(int argc, char **argv);   /* baseline.c */
int dna_cmd_pretrain(int argc, char **argv);   /* pretrain.c */
int dna_cmd_train(int argc, char **argv);      /* train.c */
int dna_cmd_predict(int argc, char **argv);    /* predict.c (predict and eval) */

/* The input options: declare a dna_inputs (= DNA_INPUTS_INIT), add DNA_INPUT_OPTS(&in) to a
 * command's option table, then dna_inputs_open() after parsing. */
typedef struct dna_inputs {
    const char *genome, *label_key, *reference, *window_mode;
    int window;                  /* -1: not given (regions as they are); 0 is refused */
    krait_dna_read_opts opts;    /* filled by dna_inputs_open */
} dna_inputs;
#define DNA_INPUTS_INIT { .window = -1 }

#define DNA_INPUT_OPTS(in)                                                                                      \
    { "--label-key", OPT_STR, &(in)->label_key, "KEY", "labels from KEY=value in FASTA/FASTQ headers (a 2-letter aux tag for BAM/CRAM)" }, \
    DNA_UNLABELLED_OPTS(in)
/* The same without --label-key, for a command that reads no labels (pretrain). */
#define DNA_UNLABELLED_OPTS(in)                                                                                 \
    { "--genome", OPT_STR, &(in)->genome, "FASTA", "indexed genome (samtools faidx) for BED inputs" },           \
    { "--window", OPT_INT, &(in)->window, "W", "BED regions resized to W bases" },                                \
    { "--window-mode", OPT_STR, &(in)->window_mode, "center|pad", "the W bases centred on the region; center (default): a longer region is cut, a window past a contig end is an error; pad: a longer region is an error, bases past a contig end are N" }, \
    { "--reference", OPT_STR, &(in)->reference, "FASTA", "CRAM reference" }

/* Open the genome (when given) and fill in->opts; exits 2 with one line on bad options. */
void dna_inputs_open(dna_inputs *in);
/* Exit 2 when two sources of opt name one file (CLASS=FILE forms by their file). */
void dna_refuse_repeated(const krait_str_list *sources, const char *opt);
/* A warning when --genome is given but no source of a or b (b may be NULL) is a BED file. */
void dna_warn_unused_genome(const dna_inputs *in, const krait_str_list *a, const krait_str_list *b);
void dna_inputs_close(dna_inputs *in);
/* Read every source ("PATH" or "CLASS=PATH") into s; exits 2 (bad input) with one line, also when
 * one is given twice in the list (opt names it). */
/* ", AUROC 0.xxxx" for two classes, or why there is none (one class in the labels; scores that
 * are not numbers); nothing for more classes. */
struct krait_cls_metrics;
void dna_print_auroc(const struct krait_cls_metrics *mt);
void dna_load_sources(krait_dna_set *s, const krait_str_list *sources, const dna_inputs *in, const char *opt);

/* A warning when a source of b (opt_b: "--valid") is a file of a's (opt_a: "--train"): figures
 * on the rows trained on say little (a test may want them; a user rarely does). */
void dna_warn_shared(const krait_str_list *a, const char *opt_a, const krait_str_list *b, const char *opt_b);

/* Exits 2 with one line when the file a command is about to write (opt names it: "--output")
 * is one it reads: one of the sources (NULL: none), the genome or the CRAM reference. */
void dna_refuse_overwrite(const char *path, const char *opt, const krait_str_list *a, const krait_str_list *b,
                          const dna_inputs *in);

/* A fingerprint of s's sequences, their lengths and (labels: 1) class indices, in order (for
 * --resume: krait_run_state_add_fingerprint). */
uint64_t dna_set_fingerprint(const krait_dna_set *s, int labels);

/* DIR/classes.txt; exits 2 with one line when missing. */
void dna_model_classes(krait_dna_classes *c, const char *model_dir);
/* Class probabilities probs (s->n, C) for every sequence of s (predict.c): batches of short
 * sequences through krait_classify, sequences longer than stream_above (> 0) streamed in chunks
 * (krait_cls_stream); rc_avg averages each with its reverse complement. progress (may be NULL)
 * gets a line now and then while a long sequence streams. */
#include "model.h"
/* Sequences longer than this are streamed by default (predict's --stream-above): from here on
 * streaming is as fast as a batch and holds far less memory. */
#define DNA_STREAM_ABOVE 4096

krait_status dna_classify_set(const krait_model *m, const krait_dna_set *s, int rc_avg, int stream_above, int chunk,
                              float *probs, krait_progress *progress);
/* The same for an ensemble: probs = the mean of the nm models' probabilities (same classes). */
krait_status dna_classify_ensemble(krait_model *const *ms, int nm, const krait_dna_set *s, int rc_avg,
                                   int stream_above, int chunk, float *probs, krait_progress *progress);
/* A model folder of `krait-dna train --ensemble N` holds no model of its own but member-1 ..
 * member-N, each a model folder: appends copies of DIR's member paths to out, or of DIR itself
 * when it has none (free them with dna_free_models). Exits 2 past DNA_MAX_MEMBERS models or when a member
 * below the highest is missing. */
void dna_expand_models(krait_str_list *out, const char *dir);
void dna_free_models(krait_str_list *list);
/* The most members an ensemble has (eval and predict list them in a krait_str_list of 64). */
#define DNA_MAX_MEMBERS 64
/* DIR/member-K (K from 1), malloc'd; NULL when out of memory. */
char *dna_member_dir(const char *dir, int k);

/* The predictions TSV of predict, eval --output and baseline --output: a header "id  predicted
 * p_CLASS..." and one row per sequence (tab-separated). dna_pred_row returns the predicted
 * class (the most probable, the first on ties). */
void dna_pred_header(FILE *f, const krait_dna_classes *cl);
int dna_pred_row(FILE *f, const char *id, const krait_dna_classes *cl, const float *p);

int dna_cmd_compare(int argc, char **argv);    /* compare.c */

/* Exit with the status's code after a library error already logged. */
void dna_die_status(krait_status s);

#endif /* KRAIT_DNAAPP_H */
