/* apps/dna/train.c — `krait-dna train`: a sequence classifier (core/classify.h) on labelled DNA.
 *
 * Classes are --classes or the sorted distinct training labels; they are written to
 * OUT/classes.txt, which predict and eval read. A batch row is a training sequence drawn
 * uniformly with the trainer's data RNG (so --resume is exact), right-padded to seq_len (the
 * longest training sequence, or --max-len: longer ones are cropped at a random offset) with its
 * label at its positions and -1 at the padding, reverse-complemented with probability 1/2
 * (--rc-aug). --init DIR copies a pretrained model's matching tensors (embedding, layers,
 * norm_f) by name (krait_model_copy_matching). With --valid, every --eval-every steps and at
 * the end the validation set is classified (RC-averaged with --rc-avg 1, as predict does) and
 * its accuracy, MCC, macro F1 and AUROC go to metrics.jsonl, curves.svg and --json. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dna_seq.h"
#include "dnaapp.h"
#include "fsutil.h"
#include "log.h"
#include "metrics.h"
#include "trainloop.h"

typedef struct cls_src {
    const krait_dna_set *s;
    int rc_aug;
} cls_src;

static krait_status cls_batch(void *ctx, int32_t *ids, int32_t *targets, int B, int L, krait_rng *rng)
{
    cls_src *c = ctx;
    for (int b = 0; b < B; b++) {
        size_t i = (size_t)(krait_rng_u64(rng) % c->s->n), len = krait_dna_set_len(c->s, i), start = 0;
        if (len > (size_t)L) start = (size_t)(krait_rng_u64(rng) % (len - (size_t)L + 1)), len = (size_t)L;
        int32_t *row = ids + (size_t)b * L, *tg = targets + (size_t)b * L;
        const uint8_t *src = c->s->ids + c->s->off[i] + start;
        for (size_t t = 0; t < (size_t)L; t++) {
            row[t] = t < len ? src[t] : KRAIT_DNA_N;
            tg[t] = t < len ? c->s->y[i] : -1;
        }
        if (c->rc_aug && (krait_rng_u64(rng) & 1)) krait_dna_revcomp(row, len);
    }
    return KRAIT_STATUS_OK;
}

typedef struct train_ctx {
    const krait_dna_set *valid;
    const krait_dna_classes *cl;
    int rc_avg;
    long long n_train;
} train_ctx;

static krait_status validate(void *user, const krait_model *m, double *value, cJSON *o)
{
    train_ctx *t = user;
    const int C = t->cl->n;
    float *p = malloc(t->valid->n * (size_t)C * sizeof *p);
    if (!p) return KRAIT_STATUS_NO_MEMORY;
    krait_status s = dna_classify_set(m, t->valid, t->rc_avg, 16384, 4096, p);
    krait_cls_metrics mt;
    if (!s) s = krait_cls_metrics_compute(t->valid->y, p, (int)t->valid->n, C, &mt);
    free(p);
    if (s) return s;
    *value = mt.accuracy;
    cJSON_AddNumberToObject(o, "val_accuracy", mt.accuracy);
    cJSON_AddNumberToObject(o, "val_mcc", mt.mcc);
    cJSON_AddNumberToObject(o, "val_macro_f1", mt.macro_f1);
    if (C == 2 && isfinite(mt.auroc)) cJSON_AddNumberToObject(o, "val_auroc", mt.auroc);
    krait_cls_metrics_free(&mt);
    return KRAIT_STATUS_OK;
}

static char *app_state(void *user)
{
    const train_ctx *t = user;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n_train", (double)t->n_train);
    cJSON_AddNumberToObject(o, "n_classes", t->cl->n);
    char *j = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return j;
}

static krait_status check_state(void *user, const char *json, const char *dir)
{
    const train_ctx *t = user;
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "n_train"), *k = cJSON_GetObjectItemCaseSensitive(o, "n_classes");
    int ok = cJSON_IsNumber(n) && (long long)n->valuedouble == t->n_train && cJSON_IsNumber(k) &&
             (int)k->valuedouble == t->cl->n;
    cJSON_Delete(o);
    if (!ok) KRAIT_ERROR("--resume %s: the checkpoint was trained on other data (sequence or class count differs)", dir);
    return ok ? KRAIT_STATUS_OK : KRAIT_STATUS_BAD_INPUT;
}

int dna_cmd_train(int argc, char **argv)
{
    krait_train_opts a = KRAIT_TRAIN_OPTS_INIT("train", 200);
    krait_str_list train = { 0 }, valid = { 0 };
    const char *classes = NULL, *init = NULL;
    int rc_aug = 1, rc_avg = 1, max_len = -1;   /* -1: not given (the longest) */
    dna_inputs in = { 0 };
    krait_opt opts[] = {
        { "--train", OPT_LIST, &train, "SRC", "labelled training sequences (repeatable; CLASS=FILE) (required)" },
        { "--valid", OPT_LIST, &valid, "SRC", "labelled validation sequences (repeatable)" },
        { "--init", OPT_STR, &init, "DIR", "start from a pretrained model (krait-dna pretrain): matching tensors" },
        DNA_TRAIN_OPTS(&a),
        { "--classes", OPT_STR, &classes, "A,B,...", "the class list (default: the training labels, sorted)" },
        { "--max-len", OPT_INT, &max_len, "N", "crop training sequences to N bases (default: the longest)" },
        { "--rc-aug", OPT_INT, &rc_aug, "0|1", "reverse-complement half the training rows (default 1)" },
        { "--rc-avg", OPT_INT, &rc_avg, "0|1", "validation averages with the reverse complement (default 1)" },
        DNA_INPUT_OPTS(&in),
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-dna train --config FILE --train SRC... [--valid SRC...] --out DIR [--init DIR]\n"
                    "                       [--steps N | --minutes M] [--resume DIR]\n"
                    "Train a sequence classifier; OUT is a model folder for predict and eval.");
    krait_train_opts_check(&a, "--train", train.n > 0);
    if (max_len == 0 || (rc_aug & ~1) || (rc_avg & ~1)) krait_cli_die(2, "train: --max-len > 0, --rc-aug and --rc-avg 0 or 1");
    krait_config cfg;
    krait_train_config tc;
    dna_inputs_open(&in);
    krait_dna_set tr, va;
    krait_dna_set_init(&tr);
    krait_dna_set_init(&va);
    dna_load_sources(&tr, &train, &in);
    dna_load_sources(&va, &valid, &in);
    krait_dna_classes cl;
    krait_status s = classes ? krait_dna_classes_parse(&cl, classes) : krait_dna_classes_from_set(&cl, &tr, train.items[0]);
    if (!s) s = krait_dna_set_map(&tr, &cl, 1, train.items[0]);
    if (!s && valid.n) s = krait_dna_set_map(&va, &cl, 1, valid.items[0]);
    if (s) dna_die_status(s);
    char nc[32];
    snprintf(nc, sizeof nc, "krait.n_classes=%d", cl.n);
    if (a.sets.n < 64) a.sets.items[a.sets.n++] = nc;
    const char *cpath = dna_train_config(&cfg, &tc, &a, &c, "classify");
    tc.seq_len = max_len > 0 && (size_t)max_len < tr.max_len ? max_len : (int)tr.max_len;
    if (krait_fs_mkdirs(a.out)) krait_cli_die(2, "%s: cannot create the run folder", a.out);
    char *cp = krait_fs_join(a.out, "classes.txt");
    if (!cp || (s = krait_dna_classes_save(&cl, cp))) dna_die_status(s ? s : KRAIT_STATUS_NO_MEMORY);
    free(cp);

    krait_backend *be = krait_cli_backend(&c, "f32");
    krait_model *m = dna_train_model(&cfg, &tc, be, init);
    fprintf(stderr, "krait-dna train: %s: %d layers, d_model %d, %s pooling%s, %.2fM params; %zu train / %zu valid "
                    "sequences, %d classes, length <= %d; batch %d, lr %g; budget %g min / %d steps\n",
            cpath, cfg.n_layer, cfg.d_model, cfg.pooling, cfg.bidirectional ? ", bidirectional" : "", m->n_params / 1e6,
            tr.n, va.n, cl.n, tc.seq_len, tc.batch, tc.lr, tc.minutes, tc.steps);
    cls_src src = { &tr, rc_aug };
    krait_data_source ds = { .ctx = &src, .next_batch = cls_batch };
    train_ctx t = { &va, &cl, rc_avg, (long long)tr.n };
    dna_run r = { .prog = "train", .val_name = "validation accuracy", .val_key = "val_accuracy", .validate = valid.n ? validate : NULL, .user = &t,
                  .app_state = app_state, .check_state = check_state };
    int rc = dna_train_run(&r, m, &tc, &ds, &a, &c);
    cJSON_Delete(r.last_val);
    krait_model_free(m);
    krait_backend_destroy(be);
    krait_dna_classes_free(&cl);
    krait_dna_set_free(&tr);
    krait_dna_set_free(&va);
    dna_inputs_close(&in);
    return rc;
}
