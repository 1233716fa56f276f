/* core/generate.c — the batched generation loop; see generate.h.
 *
 * Slots: row k of the state and of the logits belongs to sequence seq[k] while it is live.
 * After each round of sampling, live rows are packed to the front (row k <- row j, j > k, in
 * increasing k, so no source is overwritten before it is read) and the step runs on a view of
 * the first n_live rows. With device sampling (infer.h) the sampler rows move with the state
 * rows, and only the sampled ids come back to the host each step. */
#include "generate.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "train.h"

const char *krait_stop_reason_name(krait_stop_reason r)
{
    switch (r) {
    case KRAIT_STOP_NONE: return "none";
    case KRAIT_STOP_MAX_TOKENS: return "max_tokens";
    case KRAIT_STOP_EOS: return "eos";
    case KRAIT_STOP_SEQUENCE: return "stop_sequence";
    case KRAIT_STOP_CALLBACK: return "callback";
    }
    return "?";
}

krait_gen_params krait_gen_default_params(void)
{
    krait_gen_params p;
    memset(&p, 0, sizeof p);
    p.sample = krait_sample_default_params();
    p.max_tokens = 64;
    p.eos_id = -1;
    p.seed = 1;
    return p;
}

static krait_status check_request(const krait_infer *inf, const int32_t *const *prompts,
                                  const int *prompt_len, int B, const krait_gen_params *p)
{
    if (B < 1 || B > krait_infer_max_batch(inf)) {
        KRAIT_ERROR("generate: %d sequences, but the inference scratch holds 1 to %d", B,
                    krait_infer_max_batch(inf));
        return KRAIT_STATUS_BAD_INPUT;
    }
    if (p->n_forbid < 0 || (p->n_forbid && !p->forbid)) {
        KRAIT_ERROR("generate: %d ids to leave out, but no list of them", p->n_forbid);
        return KRAIT_STATUS_BAD_INPUT;
    }
    if (p->max_tokens < 1) {
        KRAIT_ERROR("generate: max tokens must be >= 1 (got %d)", p->max_tokens);
        return KRAIT_STATUS_BAD_INPUT;
    }
    for (int i = 0; i < B; i++) {
        if (!prompts[i] || prompt_len[i] < 1) {
            KRAIT_ERROR("generate: prompt %d is empty (a prompt needs at least one token, e.g. BOS)", i);
            return KRAIT_STATUS_BAD_INPUT;
        }
    }
    for (int i = 0; i < p->n_stop; i++) {
        if (!p->stop || !p->stop_len || !p->stop[i] || p->stop_len[i] < 1) {
            KRAIT_ERROR("generate: stop sequence %d is empty", i);
            return KRAIT_STATUS_BAD_INPUT;
        }
    }
    return krait_sample_check(&p->sample);
}

/* Does the generated sequence g[0..n) end with one of the stop sequences? */
static int ends_with_stop(const int32_t *g, int n, const krait_gen_params *p)
{
    for (int s = 0; s < p->n_stop; s++) {
        int len = p->stop_len[s];
        if (len <= n && !memcmp(g + n - len, p->stop[s], (size_t)len * sizeof *g)) return 1;
    }
    return 0;
}

size_t krait_generate_bytes(const krait_model *m, int B, int chunk)
{
    const size_t inf = krait_infer_bytes(m, B, chunk);
    if (inf == SIZE_MAX) return SIZE_MAX;
    const int V = m->cfg.vocab_size;
    const int Vs = krait_model_vocab_used(m);
    /* the state, the host logits and a sampler per sequence (the host path; device sampling needs less) */
    const size_t per_seq = krait_state_bytes_per_seq(m) + (size_t)V * sizeof(float) + 3 * sizeof(int32_t) +
                           sizeof(void *) + krait_sampler_bytes(Vs);
    return inf + (size_t)B * per_seq;
}

krait_status krait_generate(krait_infer *inf, int32_t *out, int *n_out, krait_stop_reason *reason,
                            krait_gen_stats *stats, const int32_t *const *prompts,
                            const int *prompt_len, int B, const krait_gen_params *p,
                            krait_gen_token_fn on_token, void *user)
{
    const krait_model *m = krait_infer_model(inf);
    const int V = m->cfg.vocab_size;
    const int Vs = krait_model_vocab_used(m);
    krait_gen_stats gs;
    memset(&gs, 0, sizeof gs);
    krait_status s = check_request(inf, prompts, prompt_len, B, p);
    if (s) return s;

    s = KRAIT_STATUS_NO_MEMORY;
    krait_state *st = krait_state_init(m, B);
    krait_state *live = st ? krait_state_view(m, st, 0, B) : NULL;
    float *logits = malloc((size_t)B * V * sizeof *logits);        /* (B, V) by slot */
    int *seq = malloc((size_t)B * sizeof *seq);                     /* (B) slot -> sequence */
    int32_t *next = malloc((size_t)B * sizeof *next);               /* (B) by slot */
    int32_t *drawn = malloc((size_t)B * sizeof *drawn);             /* (B) by slot, device sampling */
    krait_sampler **smp = calloc((size_t)B, sizeof *smp);
    const int dev = !p->sample_on_host && !p->n_forbid && krait_infer_device_sampling(inf, &p->sample);
    if (!st || !live || !logits || !seq || !next || !drawn || !smp) goto fail;
    for (int i = 0; i < B; i++) {
        krait_rng r;
        if (p->seeds) krait_rng_init(&r, p->seeds[i]);
        else krait_rng_init_stream(&r, p->seed, (uint64_t)i);
        uint64_t seed = krait_rng_u64(&r);
        if (dev) {
            if ((s = krait_infer_sampler_reset(inf, i, seed, prompts[i], prompt_len[i]))) goto fail;
        } else {
            if (!(smp[i] = krait_sampler_init(Vs, &p->sample, seed))) {
                s = KRAIT_STATUS_NO_MEMORY;
                goto fail;
            }
            if ((s = krait_sampler_forbid(smp[i], p->forbid, p->n_forbid))) goto fail;
            krait_sampler_observe(smp[i], prompts[i], prompt_len[i]);
        }
        n_out[i] = 0;
        if (reason) reason[i] = KRAIT_STOP_NONE;
    }
    s = KRAIT_STATUS_NO_MEMORY;

    double t0 = krait_now();
    /* a long prompt in pieces of whole chunks (the same sums as at once), each reported */
    const long piece = (long)krait_infer_chunk(inf) * 128;
    for (int i = 0; i < B; i++) {
        if ((s = krait_state_view_set(m, live, st, i, 1))) goto fail;
        for (long f0 = 0; f0 < prompt_len[i]; f0 += piece) {
            const long n = prompt_len[i] - f0 < piece ? prompt_len[i] - f0 : piece, done = f0 + n;
            if ((s = krait_prefill(inf, done == prompt_len[i] ? logits + (size_t)i * V : NULL, live, prompts[i] + f0, 1,
                                   n)))
                goto fail;
            if (p->on_prefill && prompt_len[i] > piece) {
                if ((s = m->be->sync(m->be))) goto fail;
                p->on_prefill(p->prefill_user, i, done, prompt_len[i]);
            }
        }
        gs.prefill_tokens += prompt_len[i];
        seq[i] = i;
    }
    if ((s = m->be->sync(m->be))) goto fail;
    double t1 = krait_now();
    gs.prefill_s = t1 - t0;

    int n_live = B;
    if (dev && (s = krait_infer_sample_logits(inf, drawn, logits, B, &p->sample))) goto fail;
    for (;;) {
        int kept = 0;
        for (int k = 0; k < n_live; k++) {
            const int i = seq[k];
            int32_t *g = out + (size_t)i * p->max_tokens;
            int32_t tok = dev ? drawn[k] : krait_sampler_sample(smp[i], logits + (size_t)k * V);
            if (tok < 0) {
                KRAIT_ERROR("generate: the model's scores for token %d of sequence %d are not numbers (NaN: its "
                            "numbers overflowed); nothing more can be drawn", n_out[i] + 1, i + 1);
                s = KRAIT_STATUS_NUMERIC;
                goto fail;
            }
            g[n_out[i]++] = tok;
            krait_stop_reason why = KRAIT_STOP_NONE;
            if (tok == p->eos_id) why = KRAIT_STOP_EOS;
            else if (ends_with_stop(g, n_out[i], p)) why = KRAIT_STOP_SEQUENCE;
            else if (n_out[i] == p->max_tokens) why = KRAIT_STOP_MAX_TOKENS;
            if (on_token && on_token(user, i, n_out[i] - 1, tok) && why == KRAIT_STOP_NONE)
                why = KRAIT_STOP_CALLBACK;
            if (why != KRAIT_STOP_NONE) {
                if (reason) reason[i] = why;
                continue;
            }
            if (kept != k && (s = krait_state_copy_rows(m, st, kept, st, k, 1))) goto fail;
            if (kept != k && dev && (s = krait_infer_sampler_move(inf, kept, k))) goto fail;
            seq[kept] = i;
            next[kept] = tok;
            kept++;
        }
        n_live = kept;
        if (!n_live) break;
        if ((s = krait_state_view_set(m, live, st, 0, n_live))) goto fail;
        if (dev) s = krait_step_sample(inf, drawn, live, next, &p->sample);
        else s = krait_step(inf, logits, live, next);
        if (s) goto fail;
        gs.steps++;
        gs.step_tokens += n_live;
    }
    if ((s = m->be->sync(m->be))) goto fail;
    gs.decode_s = krait_now() - t1;
    if (stats) *stats = gs;
    s = KRAIT_STATUS_OK;
fail:
    if (s == KRAIT_STATUS_NO_MEMORY) KRAIT_ERROR("generate: out of memory for %d sequences", B);
    if (smp)
        for (int i = 0; i < B; i++) krait_sampler_free(smp[i]);
    free(smp);
    free(next);
    free(drawn);
    free(seq);
    free(logits);
    krait_state_free(m, live);
    krait_state_free(m, st);
    return s;
}
