/* apps/dna/pretrain.c — `krait-dna pretrain`: a next-base language model on a genome (a FASTA or
 * FASTQ, any compression: every record's bases; or any other input krait-dna reads, such as a
 * classification TSV, whose labels are ignored), as HyenaDNA and Caduceus pretrain before
 * fine-tuning. A batch row is a window of seq_len + 1 bases at a uniformly random position
 * (windows stay inside one record; shorter records are skipped), reverse-complemented with
 * probability 1/2 (--rc-aug 0 turns that off), drawn with the trainer's data RNG (so --resume is
 * exact). The run folder is a model folder that `krait-dna train --init DIR` starts from. There
 * is no validation set: the figure is the training loss (nats per base; ln 4 = 1.386 is
 * chance for A C G T). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dna_seq.h"
#include "dnaapp.h"
#include "log.h"
#include "runfiles.h"
#include "runfolder.h"
#include "trainloop.h"

typedef struct genome_src {
    const krait_dna_set *s;
    size_t *rec;            /* records with at least L + 1 bases */
    long long *cum;         /* (n_rec + 1) window starts before each, cumulative */
    size_t n_rec;
    int rc_aug;
    int32_t *win;           /* (L + 1) scratch */
    uint64_t data_hash;     /* dna_set_fingerprint: the same on --resume */
} genome_src;

/* --resume: the checkpoint's data must be this data (the record and base counts; the windows
 * drawn depend on both) */
static char *app_state(void *user)
{
    const genome_src *g = user;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n_records", (double)g->s->n);
    cJSON_AddNumberToObject(o, "n_bases", (double)g->s->n_ids);
    cJSON_AddNumberToObject(o, "rc_aug", g->rc_aug);
    krait_run_state_add_fingerprint(o, g->data_hash);
    char *j = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return j;
}

static krait_status check_state(void *user, const char *json, const char *dir)
{
    const genome_src *g = user;
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "n_records"), *b = cJSON_GetObjectItemCaseSensitive(o, "n_bases");
    /* a checkpoint written before pretrain recorded its data carries neither: nothing to compare */
    int ok = !cJSON_IsNumber(r) || !cJSON_IsNumber(b) ||
             ((size_t)r->valuedouble == g->s->n && (size_t)b->valuedouble == g->s->n_ids);
    if (!ok)
        KRAIT_ERROR("--resume %s: the checkpoint was pretrained on other data (%.0f records, %.0f bases; these are "
                    "%zu, %zu)", dir, r->valuedouble, b->valuedouble, g->s->n, g->s->n_ids);
    else if (!krait_run_state_same_fingerprint(o, g->data_hash)) {
        KRAIT_ERROR("--resume %s: the checkpoint was pretrained on other data (as many records and bases, but other "
                    "sequences or order)", dir);
        ok = 0;
    }
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(o, "rc_aug"); /* absent in older checkpoints */
    if (ok && cJSON_IsNumber(rc) && (int)rc->valuedouble != g->rc_aug) {
        KRAIT_ERROR("--resume %s: the checkpoint was pretrained with --rc-aug %d; this run asks --rc-aug %d: the same "
                    "continues it", dir, (int)rc->valuedouble, g->rc_aug);
        ok = 0;
    }
    cJSON_Delete(o);
    return ok ? KRAIT_STATUS_OK : KRAIT_STATUS_BAD_INPUT;
}

static krait_status genome_batch(void *ctx, int32_t *ids, int32_t *targets, int B, int L, krait_rng *rng)
{
    genome_src *g = ctx;
    long long total = g->cum[g->n_rec];
    for (int b = 0; b < B; b++) {
        long long u = (long long)(krait_rng_u64(rng) % (uint64_t)total);
        size_t lo = 0, hi = g->n_rec; /* the record whose range holds u */
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (g->cum[mid] <= u) lo = mid;
            else hi = mid;
        }
        const uint8_t *w = g->s->ids + g->s->off[g->rec[lo]] + (u - g->cum[lo]);
        int32_t *win = g->win;
        for (int t = 0; t <= L; t++) win[t] = w[t];
        if (g->rc_aug && (krait_rng_u64(rng) & 1)) krait_dna_revcomp(win, (size_t)L + 1);
        memcpy(ids + (size_t)b * L, win, (size_t)L * sizeof *ids);
        memcpy(targets + (size_t)b * L, win + 1, (size_t)L * sizeof *targets);
    }
    return KRAIT_STATUS_OK;
}

int dna_cmd_pretrain(int argc, char **argv)
{
    krait_train_opts a = KRAIT_TRAIN_OPTS_INIT("pretrain", 200);
    krait_str_list fasta = { 0 };
    int rc_aug = 1;
    dna_inputs in = DNA_INPUTS_INIT;
    krait_opt opts[] = {
        { "--fasta", OPT_LIST, &fasta, "FILE", "sequences to learn: a genome FASTA/FASTQ (plain, gzip or bgzip), SAM/BAM, a TSV (labels ignored) or BED regions of --genome (repeatable) (required)" },
        DNA_TRAIN_OPTS(&a, NULL), /* no validation set: --eval-every refused */
        { "--seq-len", OPT_INT, &a.seq_len, "N", "override train.seq_len (the window)" },
        { "--stop-at", OPT_INT, &a.stop_at, "N", "stop with a checkpoint after step N (the schedule is unchanged)" },
        { "--rc-aug", OPT_INT, &rc_aug, "0|1", "reverse-complement half the windows (default 1)" },
        DNA_UNLABELLED_OPTS(&in),
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-dna pretrain --config FILE --fasta GENOME --out DIR [--steps N | --minutes M]\n"
                    "A next-base language model on random windows of a genome (for train --init DIR).");
    krait_train_opts_check(&a, "--fasta", fasta.n > 0);
    krait_run_refuse_inputs(a.out, "--fasta", (const char *const *)fasta.items, fasta.n);
    krait_run_refuse_inputs(a.out, "--reference", &in.reference, 1);
    krait_run_refuse_inputs(a.out, "--genome", &in.genome, 1);
    if (a.eval_every >= 0)
        krait_cli_die(2, "pretrain: --eval-every: pretraining has no validation set (the figure is the training loss)");
    krait_config cfg;
    krait_train_config tc;
    dna_train_config(&cfg, &tc, &a, &c, "lm", 0, NULL);

    if (rc_aug != 0 && rc_aug != 1) krait_cli_die(2, "pretrain: --rc-aug must be 0 or 1 (got %d)", rc_aug);
    dna_inputs_open(&in);
    dna_warn_unused_genome(&in, &fasta, NULL);
    krait_dna_set s;
    krait_dna_set_init(&s);
    dna_load_sources(&s, &fasta, &in, "--fasta");
    genome_src g = { .s = &s, .rc_aug = rc_aug, .data_hash = dna_set_fingerprint(&s, 0) };
    g.rec = malloc(s.n * sizeof *g.rec);
    g.cum = malloc((s.n + 1) * sizeof *g.cum);
    g.win = malloc(((size_t)tc.seq_len + 1) * sizeof *g.win);
    if (!g.rec || !g.cum || !g.win) krait_cli_die(1, "out of memory");
    g.cum[0] = 0;
    size_t used_bases = 0;
    for (size_t i = 0; i < s.n; i++) {
        size_t len = krait_dna_set_len(&s, i);
        if (len < (size_t)tc.seq_len + 1) continue; /* no whole window in it */
        used_bases += len;
        g.rec[g.n_rec] = i;
        g.cum[g.n_rec + 1] = g.cum[g.n_rec] + (long long)(len - (size_t)tc.seq_len);
        g.n_rec++;
    }
    if (!g.n_rec)
        krait_cli_die(2, "%s: no record has seq_len + 1 = %d bases (the longest has %zu)", fasta.items[0], tc.seq_len + 1,
                      s.max_len);
    if (g.n_rec < s.n)
        KRAIT_WARN("pretrain: %zu of %zu records (%zu bases) are shorter than seq_len + 1 = %d bases and are not "
                   "used (lower --seq-len to use them)", s.n - g.n_rec, s.n, s.n_ids - used_bases, tc.seq_len + 1);
    krait_backend *be = krait_cli_backend(&c, "f32");
    krait_model *m = krait_run_model(&cfg, &tc, be, a.init, "--seq-len");
    fprintf(stderr, "krait-dna pretrain: %d layers, d_model %d, %.2fM params; %zu records, %zu bases; windows of %d, "
                    "batch %d, lr %g; %s\n", cfg.n_layer, cfg.d_model, m->n_params / 1e6, g.n_rec,
            used_bases, tc.seq_len, tc.batch, tc.lr, krait_train_budget((char[64]){ 0 }, 64, tc.minutes, tc.steps));
    krait_data_source ds = { .ctx = &g, .next_batch = genome_batch };
    tc.eval_every = 0;
    dna_run r = { .prog = "pretrain", .val_name = "", .user = &g, .app_state = app_state, .check_state = check_state };
    int rc = dna_train_run(&r, m, &tc, &ds, &a, &c);
    krait_model_free(m);
    krait_backend_destroy(be);
    free(g.rec), free(g.cum), free(g.win);
    krait_dna_set_free(&s);
    dna_inputs_close(&in);
    return rc;
}
