/* core/generate.h — batched generation: B prompts of any lengths, one sampler each, decoded
 * together with the recurrent step.
 *
 * Each prompt is prefilled into its own state row (no padding: a prompt never sees another's
 * tokens or pad positions), then every live row advances one token per step. A row stops on
 * EOS, on one of the stop sequences, on max_tokens, or when the callback asks (a token that
 * meets several is reported by the first of these that applies); stopped rows
 * leave the batch (the live rows are packed to the front of the state), so later steps only
 * pay for live rows. Sequence i samples with its own generator seeded from (seed, i) or from
 * seeds[i]: with the same seeds, a sequence's tokens are the same whether it is generated
 * alone or in any batch of up to 32 live rows (rows never interact in the backend ops; bit for
 * bit on the reference backend at any batch size and on the fast CPU one up to 32 rows, tested).
 * Above 32 rows the fast CPU step's dense layers are OpenBLAS GEMMs, whose rounding depends on
 * the row count: a row's scores move by about 1e-6 relative, so a draw that falls that close to
 * a boundary between two ids can differ (cuBLAS may choose by the row count too).
 *
 * This file does not tokenize or detokenize; token ids in, token ids out. */
#ifndef KRAIT_GENERATE_H
#define KRAIT_GENERATE_H

#include <stdint.h>

#include "infer.h"
#include "sample.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum krait_stop_reason {
    KRAIT_STOP_NONE = 0,        /* not stopped (only seen from inside the callback) */
    KRAIT_STOP_MAX_TOKENS = 1,
    KRAIT_STOP_EOS = 2,         /* the EOS token was generated (it is in the output) */
    KRAIT_STOP_SEQUENCE = 3,    /* a stop sequence was generated (it is in the output) */
    KRAIT_STOP_CALLBACK = 4     /* the callback returned non-zero */
} krait_stop_reason;

const char *krait_stop_reason_name(krait_stop_reason r);

typedef struct krait_gen_params {
    krait_sample_params sample;
    int max_tokens;             /* new tokens per sequence (>= 1); default 64 */
    int32_t eos_id;             /* -1: none */
    int n_stop;                 /* stop sequences, matched against the generated tokens */
    const int32_t *const *stop; /* (n_stop) -> (stop_len[i]) */
    const int *stop_len;        /* (n_stop) */
    uint64_t seed;              /* sequence i: krait_rng_init_stream(seed, i) ... */
    const uint64_t *seeds;      /* (B) ... unless given here: krait_rng_init(seeds[i]) */
    int sample_on_host;         /* 1: always krait_sampler on the host; 0 (default): on the
                                 * device when krait_infer_device_sampling allows it (greedy gives
                                 * the same tokens either way; stochastic draws use another
                                 * generator there, see infer.h) */
    int n_forbid;               /* ids never generated (krait_sampler_forbid), e.g. ids the */
    const int32_t *forbid;      /* tokenizer has no token for; any forces host sampling */
    /* or NULL: called after each piece (128 chunks of the infer's) of a prompt longer than one
     * piece, with the tokens of sequence seq fed so far (synchronised: they are done) */
    void (*on_prefill)(void *user, int seq, long done, long total);
    void *prefill_user;
} krait_gen_params;

/* Plain sampling (krait_sample_default_params), max_tokens 64, no EOS, no stop sequences, seed 1. */
krait_gen_params krait_gen_default_params(void);

/* Called for every generated token, in order per sequence: sequence seq's index-th new token.
 * Return non-zero to stop that sequence (the token is kept). */
typedef int (*krait_gen_token_fn)(void *user, int seq, int index, int32_t token);

typedef struct krait_gen_stats {
    double prefill_s;           /* wall time of the prefills */
    double decode_s;            /* wall time from the end of prefill to the last token */
    long long prefill_tokens;   /* prompt tokens fed */
    long long steps;            /* decode steps run */
    long long step_tokens;      /* tokens fed by those steps (sum of live rows) */
} krait_gen_stats;

/* About the memory krait_generate allocates for B sequences, with inf = krait_infer_init(m, B,
 * chunk) included (SIZE_MAX: too large), so a command can refuse a batch that cannot fit. */
size_t krait_generate_bytes(const krait_model *m, int B, int chunk);

/* Generate from B prompts (prompts[i] of prompt_len[i] >= 1 tokens), B <= max batch of inf.
 * out (B, max_tokens) receives the new tokens of sequence i in row i, n_out[i] how many,
 * reason[i] (or NULL) why it stopped; stats (or NULL) the timing. */
krait_status krait_generate(krait_infer *inf,
                            int32_t *out,               /* (B, max_tokens) */
                            int *n_out,                 /* (B) */
                            krait_stop_reason *reason,  /* (B) or NULL */
                            krait_gen_stats *stats,     /* or NULL */
                            const int32_t *const *prompts, const int *prompt_len, int B,
                            const krait_gen_params *p, krait_gen_token_fn on_token, void *user);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_GENERATE_H */
