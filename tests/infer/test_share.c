/* tests/infer/test_share.c — one model's weights serving several threads at once
 * (krait_model_share): each thread takes its own CPU backend (2 threads of its own, so OpenMP
 * and OpenBLAS run inside every one), a view of the model, an infer and a state, and decodes
 * greedily from its own prompt, many times over, while the others do the same. Every run must
 * give the tokens of the same decoding done alone beforehand, bit for bit (the same backend kind
 * and thread count give the same sums). Also: the views read the model's arena (no copy), freeing
 * them leaves the model working, and a view onto another kind of backend is refused in one
 * line. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer.h"
#include "infer_testutil.h"
#include "log.h"
#include "state.h"
#include "testutil.h"

enum { NTHREADS = 4, PROMPT = 12, NEW = 40, REPEATS = 12, V = 96 };

typedef struct job {
    const krait_model *m;   /* the shared model */
    int32_t prompt[PROMPT];
    int32_t want[NEW];      /* decoded alone */
    int runs_ok, runs, failed_setup;
    const void *arena;      /* the view's params, to check nothing was copied */
} job;

/* Greedy decoding of NEW tokens after the prompt on model m. */
static int decode(const krait_model *m, const int32_t *prompt, int32_t *out)
{
    krait_infer *inf = krait_infer_init(m, 1, PROMPT);
    krait_state *st = krait_state_init(m, 1);
    float *logits = malloc((size_t)m->cfg.vocab_size * sizeof *logits);
    int ok = inf && st && logits && krait_prefill(inf, logits, st, prompt, 1, PROMPT) == KRAIT_STATUS_OK;
    for (int i = 0; ok && i < NEW; i++) {
        out[i] = it_argmax(logits, krait_model_vocab_used(m));
        ok = krait_step(inf, logits, st, &out[i]) == KRAIT_STATUS_OK;
    }
    free(logits);
    krait_state_free(m, st);
    krait_infer_free(inf);
    return ok;
}

static void *worker(void *arg)
{
    job *j = arg;
    krait_backend *be = krait_backend_cpu_init(2);
    krait_backend_cpu_set_grain(be, 0); /* every op on both threads, even at this size */
    krait_model *v = be ? krait_model_share(j->m, be) : NULL;
    if (!v) {
        j->failed_setup = 1;
    } else {
        j->arena = v->params;
        for (int r = 0; r < REPEATS; r++) {
            int32_t got[NEW];
            j->runs++;
            if (decode(v, j->prompt, got) && !memcmp(got, j->want, sizeof got)) j->runs_ok++;
        }
    }
    krait_model_free(v);
    krait_backend_destroy(be);
    return NULL;
}

static int n_errors;
static char last_error[512];
static void capture(krait_log_level level, const char *msg, void *user)
{
    (void)user;
    if (level == KRAIT_LOG_ERROR) n_errors++, snprintf(last_error, sizeof last_error, "%s", msg);
}

int main(void)
{
    const uint64_t seed = tu_init("test_share");
    krait_backend *be = krait_backend_cpu_init(2);
    krait_backend_cpu_set_grain(be, 0);
    krait_model *m = it_tiny_model(be, 64, 3, V, seed);
    if (!tu_check(be && m, "a model on the CPU backend")) return tu_finish();
    it_amplify_mixer(m, 3.0f);

    job jobs[NTHREADS];
    memset(jobs, 0, sizeof jobs);
    int distinct = 0;
    for (int k = 0; k < NTHREADS; k++) {
        jobs[k].m = m;
        for (int i = 0; i < PROMPT; i++) jobs[k].prompt[i] = (int32_t)((7 * k + 13 * i + k * i) % V);
        tu_check(decode(m, jobs[k].prompt, jobs[k].want), "thread %d's decoding alone", k);
        if (k && memcmp(jobs[k].want, jobs[0].want, sizeof jobs[0].want)) distinct++;
    }
    tu_check(distinct > 0, "the prompts lead to different continuations (else the check below is weak)");

    pthread_t th[NTHREADS];
    for (int k = 0; k < NTHREADS; k++)
        tu_check(pthread_create(&th[k], NULL, worker, &jobs[k]) == 0, "start thread %d", k);
    for (int k = 0; k < NTHREADS; k++) pthread_join(th[k], NULL);
    for (int k = 0; k < NTHREADS; k++) {
        tu_check(!jobs[k].failed_setup, "thread %d: its backend and view", k);
        tu_check(jobs[k].runs == REPEATS && jobs[k].runs_ok == REPEATS,
                 "thread %d: %d of %d concurrent decodings gave the tokens of the one alone", k, jobs[k].runs_ok,
                 jobs[k].runs);
        tu_check(jobs[k].arena == m->params, "thread %d's view reads the model's own arena (no copy)", k);
    }

    /* the views are gone; the model still decodes as before */
    int32_t again[NEW];
    tu_check(decode(m, jobs[1].prompt, again) && !memcmp(again, jobs[1].want, sizeof again),
             "the model after its views were freed: the same tokens");

    /* a view onto another kind of backend: refused, one line */
    krait_log_set(capture, NULL, KRAIT_LOG_WARN);
    krait_backend *ref = krait_backend_cpu_ref_init();
    krait_model *bad = krait_model_share(m, ref);
    tu_check(!bad && n_errors == 1 && strstr(last_error, "cpu") && strstr(last_error, "cpu-ref"),
             "a view on a cpu-ref backend of a cpu model is refused in one line: %s", last_error);
    krait_model_free(bad);
    krait_backend_destroy(ref);
    krait_log_set(NULL, NULL, KRAIT_LOG_INFO);

    krait_model_free(m);
    krait_backend_destroy(be);
    return tu_finish();
}
