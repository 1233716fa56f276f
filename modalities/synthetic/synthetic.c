/* modalities/synthetic/synthetic.c — see synthetic.h. */
#include "synthetic.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

int krait_synth_task_from_name(const char *name)
{
    if (!strcmp(name, "induction")) return KRAIT_SYNTH_INDUCTION;
    if (!strcmp(name, "selective-copy")) return KRAIT_SYNTH_SELECTIVE_COPY;
    return -1;
}

const char *krait_synth_task_name(krait_synth_task t)
{
    return t == KRAIT_SYNTH_INDUCTION ? "induction" : "selective-copy";
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

krait_status krait_synth_init(krait_synth *s, krait_synth_task task, int vocab, long len, int n_data,
                              int B, krait_rng *rng)
{
    memset(s, 0, sizeof *s);
    if (task == KRAIT_SYNTH_INDUCTION) n_data = 1;
    const int min_vocab = task == KRAIT_SYNTH_INDUCTION ? 3 : 4;
    const long min_len = task == KRAIT_SYNTH_INDUCTION ? 4 : 2L * (n_data > 0 ? n_data : 1) + 1;
    if (vocab < min_vocab || n_data < 1 || len < min_len) {
        KRAIT_ERROR("synthetic %s: vocab %d, length %ld and %d data tokens do not make a task (it needs vocab >= %d, "
                    "data tokens >= 1 and length >= %ld%s)", krait_synth_task_name(task), vocab, len, n_data,
                    min_vocab, min_len, task == KRAIT_SYNTH_INDUCTION ? "" : ", 2 x the data tokens + 1");
        return KRAIT_STATUS_BAD_INPUT;
    }
    s->task = task;
    s->vocab = vocab;
    s->len = len;
    s->n_data = n_data;
    s->B = B;
    s->pos = malloc((size_t)B * n_data * sizeof *s->pos);
    s->tok = malloc((size_t)B * n_data * sizeof *s->tok);
    if (!s->pos || !s->tok) {
        krait_synth_free(s);
        return KRAIT_STATUS_NO_MEMORY;
    }
    for (int b = 0; b < B; b++) {
        long *p = s->pos + (size_t)b * n_data;
        int32_t *t = s->tok + (size_t)b * n_data;
        if (task == KRAIT_SYNTH_INDUCTION) {
            /* trigger at p, value at p + 1, both before the final trigger at len - 1 */
            p[0] = (long)(krait_rng_uniform(rng) * (double)(len - 2));
            if (p[0] > len - 3) p[0] = len - 3;
            t[0] = 1 + (int32_t)krait_rng_below(rng, (uint32_t)(vocab - 1));
        } else {
            /* n_data distinct positions in the noise stretch [0, len - n_data), in order of
             * appearance (tokens are i.i.d., so drawing them after sorting changes nothing) */
            long span = len - n_data;
            for (int i = 0; i < n_data; i++) {
                for (;;) {
                    long q = (long)(krait_rng_uniform(rng) * (double)span);
                    int dup = 0;
                    for (int j = 0; j < i; j++) dup |= p[j] == q;
                    if (!dup) {
                        p[i] = q;
                        break;
                    }
                }
            }
            qsort(p, (size_t)n_data, sizeof *p, cmp_long);
            for (int i = 0; i < n_data; i++) t[i] = 2 + (int32_t)krait_rng_below(rng, (uint32_t)(vocab - 2));
        }
    }
    krait_rng_init(&s->rng, krait_rng_u64(rng));
    return KRAIT_STATUS_OK;
}

void krait_synth_free(krait_synth *s)
{
    free(s->pos);
    free(s->tok);
    s->pos = NULL;
    s->tok = NULL;
}

void krait_synth_fill(krait_synth *s, int32_t *ids, int32_t *targets, long t0, int n)
{
    const long L = s->len;
    for (int b = 0; b < s->B; b++) {
        const long *p = s->pos + (size_t)b * s->n_data;
        const int32_t *tk = s->tok + (size_t)b * s->n_data;
        int32_t *id = ids + (size_t)b * n, *tg = targets + (size_t)b * n;
        if (s->task == KRAIT_SYNTH_INDUCTION) {
            for (int i = 0; i < n; i++) {
                long t = t0 + i;
                int32_t v = 1 + (int32_t)krait_rng_below(&s->rng, (uint32_t)(s->vocab - 1));
                if (t == p[0] || t == L - 1) v = 0;
                else if (t == p[0] + 1) v = tk[0];
                id[i] = v;
                tg[i] = t == L - 1 ? tk[0] : -1;
            }
        } else {
            const long span = L - s->n_data;
            /* first data index at or after t0 (positions are sorted) */
            int k = 0;
            while (k < s->n_data && p[k] < t0) k++;
            for (int i = 0; i < n; i++) {
                long t = t0 + i;
                if (t < span) {
                    if (k < s->n_data && p[k] == t) id[i] = tk[k++];
                    else id[i] = 0;
                    tg[i] = -1;
                } else {
                    id[i] = 1;
                    tg[i] = tk[t - span];
                }
            }
        }
    }
}
