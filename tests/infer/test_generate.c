/* tests/infer/test_generate.c — batched generation, on every CPU backend:
 *   1. greedy, 6 prompts of lengths 1..41 with an EOS that some sequences hit and a callback
 *      that stops three of them at tokens 4, 12 and 26 (so rows leave the batch from its middle
 *      and the live rows are packed): batched == each sequence generated alone,
 *      token for token, with the same lengths and stop reasons;
 *   2. the same with sampling (temperature, top-k, top-p, min-p, repetition penalty) and
 *      per-sequence seeds;
 *   3. greedy generation == a hand loop of prefill + argmax + step (the loop itself adds nothing);
 *   4. stops: max tokens, EOS (kept in the output; the reason even when the callback also asks
 *      to stop there), a stop sequence (kept), the callback (which sees every token in order);
 *      without per-sequence seeds, equal prompts still sample differently (a stream each); ids
 *      left out (krait_gen_params.forbid) are never generated, greedy or sampled; bad requests
 *      are refused with BAD_INPUT;
 *   5. the repetition penalty covers the prompt's ids, its first and its last included: with a
 *      large penalty, greedy's first token is the argmax of the logits with every prompt id
 *      penalized, on prompts whose unpenalized argmax is their last or (only) their first id;
 *   6. NaN scores (a model whose numbers overflowed) end generation with KRAIT_STATUS_NUMERIC.
 * Exactness: rows never interact, so on the reference backend a sequence's tokens cannot depend
 * on the batch; the comparison is exact on every backend (a backend whose GEMM rounds a row
 * differently with the batch size would fail 1 and 2, which is what they guard). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "infer_testutil.h"
#include "testutil.h"

#define NSEQ 6
#define MAXT 40
#ifndef DT_MIN
#define DT_MIN 0.005f
#define DT_MAX 0.05f
#endif
#ifndef MIXER_GAIN
#define MIXER_GAIN 8.0f
#endif

typedef struct cb_log {
    int n[NSEQ];
    int in_order;
    int32_t tok[NSEQ][MAXT];
    int stop_seq, stop_at;    /* ask sequence stop_seq to stop at its stop_at-th token */
} cb_log;

static int on_token(void *user, int seq, int index, int32_t token)
{
    cb_log *l = user;
    if (index != l->n[seq]) l->in_order = 0;
    if (index < MAXT) l->tok[seq][index] = token;
    l->n[seq] = index + 1;
    return seq == l->stop_seq && index == l->stop_at;
}

/* Stops sequence base + seq at its stop_at[]-th token (-1: never): rows leave mid-batch. */
typedef struct cb_stop {
    int base;
    int stop_at[NSEQ];
} cb_stop;

static int stop_some(void *user, int seq, int index, int32_t token)
{
    (void)token;
    const cb_stop *c = user;
    return index == c->stop_at[c->base + seq];
}

typedef struct run {
    int32_t out[NSEQ][MAXT];
    int n[NSEQ];
    krait_stop_reason why[NSEQ];
} run;

static void batched_equals_alone(krait_model *m, const char *bname, const krait_gen_params *base, const char *what)
{
    const int lens[NSEQ] = { 1, 7, 41, 3, 16, 9 };
    int32_t prompts[NSEQ][41];
    const int32_t *pp[NSEQ];
    uint64_t seeds[NSEQ];
    for (int i = 0; i < NSEQ; i++) {
        for (int t = 0; t < lens[i]; t++) prompts[i][t] = (int32_t)(tu_next() % 23);
        pp[i] = prompts[i];
        seeds[i] = tu_next();
    }
    krait_gen_params p = *base;
    p.max_tokens = MAXT;
    p.seeds = seeds;
    krait_infer *inf = krait_infer_init(m, NSEQ, 8);
    run all, one;
    memset(&all, 0, sizeof all);
    memset(&one, 0, sizeof one);
    krait_gen_stats st;
    /* EOS: an id that some but not all sequences generate, preferably first met mid-way by a
     * sequence that is not the last row, so rows leave the batch from its middle */
    p.eos_id = -1;
    if (krait_generate(inf, &all.out[0][0], all.n, all.why, &st, pp, lens, NSEQ, &p, NULL, NULL)) exit(1);
    int best = -1;
    for (int32_t v = 0; v < 23; v++) {
        int has = 0, mid = 0;
        for (int i = 0; i < NSEQ; i++) {
            int first = -1;
            for (int t = 0; t < MAXT - 1 && first < 0; t++)
                if (all.out[i][t] == v) first = t;
            has += first >= 0;
            mid += i < NSEQ - 1 && first >= 2 && first < 30;
        }
        if (has >= 1 && has < NSEQ && 4 * mid + has > best) {
            best = 4 * mid + has;
            p.eos_id = v;
        }
    }
    cb_stop cs = { 0, { 3, -1, 11, -1, 25, -1 } };
    if (krait_generate(inf, &all.out[0][0], all.n, all.why, &st, pp, lens, NSEQ, &p, stop_some, &cs)) exit(1);
    for (int i = 0; i < NSEQ; i++) {
        krait_gen_params q = p;
        q.seeds = &seeds[i];
        cs.base = i;
        if (krait_generate(inf, one.out[i], &one.n[i], &one.why[i], NULL, &pp[i], &lens[i], 1, &q, stop_some, &cs))
            exit(1);
    }
    int same = 1, stopped_early = 0;
    for (int i = 0; i < NSEQ; i++) {
        same &= all.n[i] == one.n[i] && all.why[i] == one.why[i] &&
                !memcmp(all.out[i], one.out[i], (size_t)all.n[i] * sizeof(int32_t));
        stopped_early += all.n[i] < MAXT;
    }
    tu_check(same, "%s: %s batched == one at a time, token for token", bname, what);
    tu_check(stopped_early >= 3, "%s: %s: at least the three the callback stops end early (%d)",
             bname, what, stopped_early);
    printf("  %-8s %-9s batched == alone: %s (%d of %d stopped early; %lld steps, %lld step tokens)\n", bname,
           what, same ? "yes" : "NO", stopped_early, NSEQ, st.steps, st.step_tokens);
    for (int i = 0; i < NSEQ && !same; i++) {
        printf("    seq %d batched n %d (%s):", i, all.n[i], krait_stop_reason_name(all.why[i]));
        for (int t = 0; t < all.n[i]; t++) printf(" %d", all.out[i][t]);
        printf("\n    seq %d alone   n %d (%s):", i, one.n[i], krait_stop_reason_name(one.why[i]));
        for (int t = 0; t < one.n[i]; t++) printf(" %d", one.out[i][t]);
        printf("\n");
    }
    tu_check(st.prefill_tokens == 1 + 7 + 41 + 3 + 16 + 9, "%s: stats count the prompt tokens", bname);
    krait_infer_free(inf);
}

typedef struct prefill_log {
    int calls;
    long done[8], total;
} prefill_log;

static void log_prefill(void *user, int seq, long done, long total)
{
    prefill_log *l = user;
    if (seq == 0 && l->calls < 8) l->done[l->calls] = done;
    l->calls++, l->total = total;
}

/* Greedy generate == prefill + argmax + step by hand; with chunk 1 and a 300-token prompt
 * generate feeds it in pieces of 128 chunks (128 + 128 + 44 tokens), each reported. */
static void equals_hand_loop(krait_model *m, const char *bname, int P, int chunk)
{
    const int V = m->cfg.vocab_size, Vr = m->cfg.vocab_size_raw;
    int32_t prompt[300], out[MAXT], hand[MAXT];
    for (int t = 0; t < P; t++) prompt[t] = (int32_t)(tu_next() % 23);
    const int32_t *pp = prompt;
    krait_gen_params p = krait_gen_default_params();
    p.sample.temperature = 0;
    p.max_tokens = MAXT;
    prefill_log pl = { 0 };
    p.on_prefill = log_prefill, p.prefill_user = &pl;
    krait_infer *inf = krait_infer_init(m, 1, chunk);
    int n;
    if (krait_generate(inf, out, &n, NULL, NULL, &pp, &P, 1, &p, NULL, NULL)) exit(1);
    if (P > 128 * chunk)
        tu_check(pl.calls == 3 && pl.done[0] == 128 && pl.done[1] == 256 && pl.done[2] == 300 && pl.total == 300,
                 "%s: a 300-token prompt in pieces of 128 chunks of 1: %d reports (%ld, %ld, %ld of %ld)", bname, pl.calls,
                 pl.done[0], pl.done[1], pl.done[2], pl.total);
    else
        tu_check(pl.calls == 0, "%s: a prompt of one piece is not reported (%d calls)", bname, pl.calls);
    krait_state *s = krait_state_init(m, 1);
    float *lg = malloc((size_t)V * sizeof *lg);
    if (krait_prefill(inf, lg, s, prompt, 1, P)) exit(1);
    for (int t = 0; t < MAXT; t++) {
        hand[t] = it_argmax(lg, Vr);
        if (t + 1 < MAXT && krait_step(inf, lg, s, &hand[t])) exit(1);
    }
    tu_check(n == MAXT && !memcmp(out, hand, sizeof out),
             "%s: greedy generate == prefill + argmax + step by hand (prompt %d, chunk %d)", bname, P, chunk);
    free(lg);
    krait_state_free(m, s);
    krait_infer_free(inf);
}

static void stops(krait_model *m, const char *bname)
{
    const int P = 5;
    int32_t prompt[5] = { 1, 2, 3, 4, 5 };
    const int32_t *pp[3] = { prompt, prompt, prompt };
    const int lens[3] = { P, P, P };
    krait_infer *inf = krait_infer_init(m, 3, 4);
    krait_gen_params p = krait_gen_default_params();
    p.sample.temperature = 0;
    p.max_tokens = MAXT;
    run r;
    /* the free-running greedy continuation, to pick stops from */
    if (krait_generate(inf, r.out[0], r.n, r.why, NULL, pp, lens, 1, &p, NULL, NULL)) exit(1);
    tu_check(r.n[0] == MAXT && r.why[0] == KRAIT_STOP_MAX_TOKENS, "%s: max tokens stops at %d", bname, MAXT);
    int32_t free_run[MAXT];
    memcpy(free_run, r.out[0], sizeof free_run);

    /* EOS = the 6th token: it is generated, kept, and ends the sequence there (or earlier if it occurs before) */
    p.eos_id = free_run[5];
    int first = 0;
    while (free_run[first] != p.eos_id) first++;
    if (krait_generate(inf, r.out[0], r.n, r.why, NULL, pp, lens, 1, &p, NULL, NULL)) exit(1);
    tu_check(r.n[0] == first + 1 && r.out[0][first] == p.eos_id && r.why[0] == KRAIT_STOP_EOS,
             "%s: EOS stops after %d tokens, kept in the output (got %d, %s)", bname, first + 1, r.n[0],
             krait_stop_reason_name(r.why[0]));
    /* a callback asking to stop at that same token: the token's own reason wins (EOS) */
    cb_log l;
    memset(&l, 0, sizeof l);
    l.stop_seq = 0;
    l.stop_at = first;
    if (krait_generate(inf, r.out[0], r.n, r.why, NULL, pp, lens, 1, &p, on_token, &l)) exit(1);
    tu_check(r.n[0] == first + 1 && r.why[0] == KRAIT_STOP_EOS,
             "%s: EOS and the callback on one token: the reason is EOS (got %s)", bname, krait_stop_reason_name(r.why[0]));
    p.eos_id = -1;

    /* a stop sequence: tokens 10..12 of the free run */
    const int32_t *stop[1] = { free_run + 10 };
    const int stop_len[1] = { 3 };
    p.n_stop = 1;
    p.stop = stop;
    p.stop_len = stop_len;
    if (krait_generate(inf, r.out[0], r.n, r.why, NULL, pp, lens, 1, &p, NULL, NULL)) exit(1);
    int end = 3;
    while (memcmp(free_run + end - 3, stop[0], 3 * sizeof(int32_t))) end++;
    tu_check(r.n[0] == end && r.why[0] == KRAIT_STOP_SEQUENCE && !memcmp(r.out[0], free_run, (size_t)end * 4),
             "%s: a stop sequence ends the sequence after %d tokens (got %d, %s)", bname, end, r.n[0],
             krait_stop_reason_name(r.why[0]));
    p.n_stop = 0;

    /* the callback: sees every token in order, and stops sequence 1 at its 8th token */
    memset(&l, 0, sizeof l);
    l.in_order = 1;
    l.stop_seq = 1;
    l.stop_at = 7;
    if (krait_generate(inf, &r.out[0][0], r.n, r.why, NULL, pp, lens, 3, &p, on_token, &l)) exit(1);
    int ok = l.in_order;
    for (int i = 0; i < 3; i++) ok &= l.n[i] == r.n[i] && !memcmp(l.tok[i], r.out[i], (size_t)r.n[i] * 4);
    tu_check(ok, "%s: the callback sees every token of every sequence, in order", bname);
    tu_check(r.n[1] == 8 && r.why[1] == KRAIT_STOP_CALLBACK && r.n[0] == MAXT && r.n[2] == MAXT,
             "%s: the callback stops only its sequence (n %d %d %d)", bname, r.n[0], r.n[1], r.n[2]);

    /* no per-sequence seeds: sequence i draws from stream i of p.seed, so three equal prompts
     * sampled at temperature 2 take three different paths */
    p.sample.temperature = 2.0f;
    p.seeds = NULL;
    if (krait_generate(inf, &r.out[0][0], r.n, r.why, NULL, pp, lens, 3, &p, NULL, NULL)) exit(1);
    tu_check(memcmp(r.out[0], r.out[1], sizeof r.out[0]) && memcmp(r.out[1], r.out[2], sizeof r.out[0]) &&
                 memcmp(r.out[0], r.out[2], sizeof r.out[0]),
             "%s: without seeds, equal prompts sample on streams of their own", bname);
    p.sample.temperature = 0;

    /* left-out ids: greedy takes another first token when the free run's first is left out, and
     * at temperature 2 none of ids 0..10 is ever generated when they are left out */
    p.n_forbid = 1;
    p.forbid = free_run;
    if (krait_generate(inf, r.out[0], r.n, r.why, NULL, pp, lens, 1, &p, NULL, NULL)) exit(1);
    int hit = 0;
    for (int t = 0; t < r.n[0]; t++) hit |= r.out[0][t] == free_run[0];
    tu_check(!hit, "%s: greedy never generates the left-out id %d (free run's first token)", bname, free_run[0]);
    const int32_t low[11] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    p.n_forbid = 11;
    p.forbid = low;
    p.sample.temperature = 2.0f;
    if (krait_generate(inf, &r.out[0][0], r.n, r.why, NULL, pp, lens, 3, &p, NULL, NULL)) exit(1);
    hit = 0;
    for (int i = 0; i < 3; i++)
        for (int t = 0; t < r.n[i]; t++) hit |= r.out[i][t] <= 10;
    tu_check(!hit, "%s: sampling at temperature 2 never generates the 11 left-out ids", bname);
    p.sample.temperature = 0;
    p.forbid = NULL;
    tu_check(krait_generate(inf, r.out[0], r.n, NULL, NULL, pp, lens, 1, &p, NULL, NULL) == KRAIT_STATUS_BAD_INPUT,
             "ids to leave out without their list is refused");
    p.n_forbid = 0;

    /* bad requests */
    int zero = 0;
    tu_check(krait_generate(inf, r.out[0], r.n, NULL, NULL, pp, &zero, 1, &p, NULL, NULL) == KRAIT_STATUS_BAD_INPUT,
             "an empty prompt is refused");
    int four[4] = { P, P, P, P };
    const int32_t *p4[4] = { prompt, prompt, prompt, prompt };
    tu_check(krait_generate(inf, &r.out[0][0], r.n, NULL, NULL, p4, four, 4, &p, NULL, NULL) == KRAIT_STATUS_BAD_INPUT,
             "more sequences than the scratch holds is refused");
    p.max_tokens = 0;
    tu_check(krait_generate(inf, r.out[0], r.n, NULL, NULL, pp, lens, 1, &p, NULL, NULL) == KRAIT_STATUS_BAD_INPUT,
             "max tokens 0 is refused");
    krait_infer_free(inf);
}

/* Greedy's unpenalized first token after prompt[0..n) (*pos: its first position in the prompt,
 * -1 if absent), and the argmax once every prompt id's logit is penalized as sample.h says. */
static int32_t first_tokens(krait_infer *inf, const int32_t *prompt, int n, float pen, int *pos, int32_t *penalized)
{
    const krait_model *m = krait_infer_model(inf);
    const int V = m->cfg.vocab_size, Vr = m->cfg.vocab_size_raw;
    krait_state *s = krait_state_init(m, 1);
    float *lg = malloc((size_t)V * sizeof *lg);
    if (!s || !lg || krait_prefill(inf, lg, s, prompt, 1, n)) exit(1);
    int32_t t0 = it_argmax(lg, Vr);
    *pos = -1;
    for (int i = n - 1; i >= 0; i--)
        if (prompt[i] == t0) *pos = i;
    char done[64] = { 0 };
    for (int i = 0; i < n; i++) {
        if (done[prompt[i]]) continue;
        done[prompt[i]] = 1;
        float *l = &lg[prompt[i]];
        *l = *l > 0 ? *l / pen : *l * pen;
    }
    *penalized = it_argmax(lg, Vr);
    free(lg);
    krait_state_free(m, s);
    return t0;
}

static void prompt_penalty(krait_model *m, const char *bname)
{
    const int P = 6;
    const float pen = 50.0f;
    krait_infer *inf = krait_infer_init(m, 1, 4);
    krait_gen_params p = krait_gen_default_params();
    p.sample.temperature = 0;
    p.sample.repetition_penalty = pen;
    p.max_tokens = 1;
    int found_last = 0, found_first = 0, agree = 1, tried = 0;
    for (; tried < 20000 && !(found_last && found_first); tried++) {
        int32_t prompt[6], penalized, out;
        for (int t = 0; t < P; t++) prompt[t] = (int32_t)(tu_next() % 23);
        int pos, n;
        int32_t t0 = first_tokens(inf, prompt, P, pen, &pos, &penalized);
        const int last = pos >= 0 && prompt[P - 1] == t0, first = pos == 0 && prompt[P - 1] != t0;
        int dup = 0; /* the first id only once, so leaving out prompt[0] alone would show */
        for (int t = 1; t < P; t++) dup |= prompt[t] == prompt[0];
        if (penalized == t0 || (!(last && !found_last) && !(first && !dup && !found_first))) continue;
        const int32_t *pp = prompt;
        if (krait_generate(inf, &out, &n, NULL, NULL, &pp, &P, 1, &p, NULL, NULL)) exit(1);
        int ok = n == 1 && out == penalized;
        tu_check(ok, "%s: penalty %g on the prompt's %s id %d: greedy's first token %d, want %d (unpenalized %d)",
                 bname, (double)pen, last ? "last" : "first", t0, out, penalized, t0);
        agree &= ok;
        if (last) found_last = 1;
        else found_first = 1;
    }
    tu_check(found_last && found_first,
             "%s: prompts found whose greedy token is their last id (%s) and only their first id (%s) in %d tries",
             bname, found_last ? "yes" : "no", found_first ? "yes" : "no", tried);
    printf("  %-8s the repetition penalty covers the prompt's first and last ids: %s (%d prompts tried)\n", bname,
           agree ? "yes" : "NO", tried);
    krait_infer_free(inf);
}

/* A model whose numbers overflowed (norm_f made NaN here: every logit NaN) stops generation with
 * KRAIT_STATUS_NUMERIC, greedy or sampled, instead of emitting an arbitrary id over and over. */
static void nan_scores(krait_model *m, const char *bname)
{
    const int P = 3;
    int32_t prompt[3] = { 1, 2, 3 }, out[MAXT];
    const int32_t *pp = prompt;
    krait_infer *inf = krait_infer_init(m, 1, 4);
    float nan1 = NAN, keep;
    m->be->download(m->be, &keep, m->params + m->norm_f, sizeof keep);
    m->be->upload(m->be, m->params + m->norm_f, &nan1, sizeof nan1);
    krait_model_sync_act(m);
    krait_gen_params p = krait_gen_default_params();
    p.max_tokens = MAXT;
    for (int k = 0; k < 2; k++) {
        p.sample.temperature = k ? 1.0f : 0.0f;
        int n = -1;
        krait_status s = krait_generate(inf, out, &n, NULL, NULL, &pp, &P, 1, &p, NULL, NULL);
        tu_check(s == KRAIT_STATUS_NUMERIC, "%s: NaN scores (%s) stop generation with NUMERIC (got %s)", bname,
                 k ? "sampled" : "greedy", krait_status_string(s));
    }
    m->be->upload(m->be, m->params + m->norm_f, &keep, sizeof keep);
    krait_model_sync_act(m);
    krait_infer_free(inf);
}

int main(void)
{
    tu_init("test_generate");
    for (int bi = 0; bi < IT_NBACKENDS; bi++) {
        krait_backend *be = it_backend(bi);
        krait_model *m = it_tiny_model_dt(be, 16, 2, 23, tu_next(), DT_MIN, DT_MAX);
        it_amplify_mixer(m, MIXER_GAIN);
        const char *bname = it_backend_name(bi);
        krait_gen_params p = krait_gen_default_params();
        p.sample.temperature = 0;
        batched_equals_alone(m, bname, &p, "greedy");
        p.sample.temperature = 0.9f;
        p.sample.top_k = 12;
        p.sample.top_p = 0.9f;
        p.sample.min_p = 0.05f;
        p.sample.repetition_penalty = 1.3f;
        batched_equals_alone(m, bname, &p, "sampled");
        equals_hand_loop(m, bname, 12, 5);
        equals_hand_loop(m, bname, 300, 1);
        stops(m, bname);
        prompt_penalty(m, bname);
        nan_scores(m, bname);
        krait_model_free(m);
        krait_backend_destroy(be);
    }
    return tu_finish();
}
