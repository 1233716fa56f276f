/* tests/infer/test_sample.c — the sampler, one rule at a time, on logits whose answer is known:
 * greedy and its tie rule; the repetition penalty on positive and negative logits; top-k,
 * top-p and min-p supports (every draw inside the allowed set, every allowed id drawn);
 * top-k 5 of 6 leaves out exactly the worst id wherever it sits; min-p 1 keeps only the ids tied
 * at the largest probability; top-p 0.5 reached exactly by equal ids keeps just those, and the id
 * that crosses 0.5 is kept (as HF's TopPLogitsWarper does);
 * temperature (empirical frequencies vs softmax(l / T), within 5 standard errors; a temperature
 * so small that l / T overflows gives the argmax); top-p on a
 * 50280-id vocabulary against a brute-force nucleus; seeds (same seed same draws, another seed
 * other draws); out-of-range options refused; left-out ids (krait_sampler_forbid) never drawn,
 * by any rule, and every rule applied to the ids that are left. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "testutil.h"

static krait_sampler *make(int V, float T, int k, float top_p, float min_p, float pen, uint64_t seed)
{
    krait_sample_params p = krait_sample_default_params();
    p.temperature = T;
    p.top_k = k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.repetition_penalty = pen;
    krait_sampler *s = krait_sampler_init(V, &p, seed);
    if (!s) exit(1);
    return s;
}

/* counts[v] of n draws (the seen set is reset before each draw so no penalty builds up) */
static void draw(krait_sampler *s, const float *logits, int V, int n, long *counts, uint64_t seed)
{
    memset(counts, 0, (size_t)V * sizeof *counts);
    krait_sampler_reset(s, seed);
    for (int i = 0; i < n; i++) {
        int32_t t = krait_sampler_sample(s, logits);
        if (t < 0 || t >= V) {
            tu_check(0, "draw %d out of range", t);
            return;
        }
        counts[t]++;
    }
}

/* every draw inside allowed[], every allowed id drawn at least once */
static void check_support(const char *what, const long *counts, const int *allowed, int V)
{
    int ok = 1;
    for (int v = 0; v < V; v++) ok &= allowed[v] ? counts[v] > 0 : counts[v] == 0;
    tu_check(ok, "%s: draws fall exactly on the allowed ids", what);
    printf("  %-34s counts", what);
    for (int v = 0; v < V; v++) printf(" %ld", counts[v]);
    printf("\n");
}

static const float *sorted_logits; /* qsort has no context argument */
static int by_logit_desc(const void *a, const void *b)
{
    float x = sorted_logits[*(const int32_t *)a], y = sorted_logits[*(const int32_t *)b];
    return x < y ? 1 : x > y ? -1 : 0;
}

int main(void)
{
    uint64_t seed = tu_init("test_sample");
    long counts[16];

    /* greedy: argmax, lowest id on ties; top_k 1 is greedy too */
    float tie[5] = { 0.5f, 2.0f, -1.0f, 2.0f, 1.0f };
    krait_sampler *g = make(5, 0.0f, 0, 1.0f, 0.0f, 1.0f, seed);
    tu_check(krait_sampler_sample(g, tie) == 1, "greedy picks the argmax, lowest id on ties");
    krait_sampler *k1 = make(5, 1.5f, 1, 1.0f, 0.0f, 1.0f, seed);
    tu_check(krait_sampler_sample(k1, tie) == 1, "top-k 1 is greedy");

    /* a NaN logit anywhere (first, middle, the only large one): no distribution, -1, whatever the
     * rule; the sampler is unharmed and draws normally after it */
    const float nan_mid[5] = { 1.0f, 2.0f, NAN, 3.0f, 0.0f }, nan_first[5] = { NAN, 1.0f, 2.0f, 3.0f, 4.0f };
    krait_sampler *ns[3] = { make(5, 0.0f, 0, 1.0f, 0.0f, 1.0f, seed), make(5, 1.0f, 0, 1.0f, 0.0f, 1.0f, seed),
                             make(5, 1.0f, 2, 0.9f, 0.0f, 1.0f, seed) };
    for (int k = 0; k < 3; k++) {
        tu_check(krait_sampler_sample(ns[k], nan_mid) == -1 && krait_sampler_sample(ns[k], nan_first) == -1,
                 "rule %d: a NaN logit gives -1 (no id)", k);
        tu_check(krait_sampler_sample(ns[k], tie) >= 0, "rule %d: draws again after a NaN", k);
        krait_sampler_free(ns[k]);
    }

    /* repetition penalty: positive logits divided, negative multiplied */
    float pos[3] = { 2.0f, 1.9f, 0.0f }, neg[3] = { -1.0f, -1.1f, -5.0f };
    krait_sampler *rp = make(3, 0.0f, 0, 1.0f, 0.0f, 1.2f, seed);
    int32_t zero = 0;
    tu_check(krait_sampler_sample(rp, pos) == 0, "without a seen id the penalty does nothing");
    krait_sampler_reset(rp, seed);
    krait_sampler_observe(rp, &zero, 1);
    tu_check(krait_sampler_sample(rp, pos) == 1, "penalty 1.2 divides a seen positive logit (2 -> 1.67 < 1.9)");
    krait_sampler_reset(rp, seed);
    krait_sampler_observe(rp, &zero, 1);
    tu_check(krait_sampler_sample(rp, neg) == 1, "penalty 1.2 multiplies a seen negative logit (-1 -> -1.2 < -1.1)");
    krait_sampler_reset(rp, seed);
    tu_check(krait_sampler_sample(rp, pos) == 0 && krait_sampler_sample(rp, pos) == 1,
             "a sampled id counts as seen for the next draw");

    /* supports. probabilities 0.4 0.25 0.15 0.1 0.06 0.04 */
    const int V = 6;
    const double pr[6] = { 0.4, 0.25, 0.15, 0.1, 0.06, 0.04 };
    float lg[6];
    int order[6] = { 3, 0, 5, 1, 4, 2 }; /* id order[i] gets probability pr[i]: not sorted by id */
    for (int i = 0; i < V; i++) lg[order[i]] = (float)log(pr[i]);
    int allowed[6];
    struct { const char *what; int k; float top_p, min_p; int n_allowed; } cases[] = {
        { "plain sampling", 0, 1.0f, 0.0f, 6 },
        { "top-k 3", 3, 1.0f, 0.0f, 3 },
        { "top-p 0.6 (0.4 + 0.25)", 0, 0.6f, 0.0f, 2 },
        { "top-p 0.7 (+0.15)", 0, 0.7f, 0.0f, 3 },
        { "min-p 0.3 (p >= 0.12)", 0, 1.0f, 0.3f, 3 },
        { "min-p 0.2 (p >= 0.08)", 0, 1.0f, 0.2f, 4 },
        { "top-k 4, top-p 0.8 of the 4", 4, 0.8f, 0.0f, 3 },     /* 0.4/0.9 + 0.25/0.9 = 0.72 < 0.8 */
        { "top-p 0.95, min-p 0.2", 0, 0.95f, 0.2f, 4 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        krait_sampler *s = make(V, 1.0f, cases[c].k, cases[c].top_p, cases[c].min_p, 1.0f, seed + c);
        draw(s, lg, V, 4000, counts, seed + c);
        for (int i = 0; i < V; i++) allowed[order[i]] = i < cases[c].n_allowed;
        check_support(cases[c].what, counts, allowed, V);
        krait_sampler_free(s);
    }

    /* left-out ids (krait_sampler_forbid): the best id, 3 (0.4), is never drawn; every rule works
     * on what is left, 0.25 0.15 0.1 0.06 0.04 of ids 0 5 1 4 2 (0.417 0.25 0.167 0.1 0.067) */
    struct { const char *what; float T; int k; float top_p, min_p; int n_allowed; } fcases[] = {
        { "left out: plain sampling", 1.0f, 0, 1.0f, 0.0f, 5 },
        { "left out: top-k 2", 1.0f, 2, 1.0f, 0.0f, 2 },
        { "left out: top-k 6 (all)", 1.0f, 6, 1.0f, 0.0f, 5 },
        { "left out: top-p 0.6", 1.0f, 0, 0.6f, 0.0f, 2 },
        { "left out: min-p 0.5 (p >= 0.21)", 1.0f, 0, 1.0f, 0.5f, 2 },
        { "left out: greedy", 0.0f, 0, 1.0f, 0.0f, 1 },
    };
    const int32_t best = order[0];
    for (size_t c = 0; c < sizeof fcases / sizeof fcases[0]; c++) {
        krait_sampler *s = make(V, fcases[c].T, fcases[c].k, fcases[c].top_p, fcases[c].min_p, 1.0f, seed + c);
        tu_check(krait_sampler_forbid(s, &best, 1) == KRAIT_STATUS_OK, "%s: id %d left out", fcases[c].what, best);
        draw(s, lg, V, 4000, counts, seed + c); /* draw() resets the sampler: the left-out ids stay */
        for (int i = 0; i < V; i++) allowed[order[i]] = i >= 1 && i <= fcases[c].n_allowed;
        check_support(fcases[c].what, counts, allowed, V);
        krait_sampler_free(s);
    }
    krait_sampler *fb = make(V, 1.0f, 0, 1.0f, 0.0f, 1.0f, seed);
    const int32_t five[5] = { 0, 1, 2, 3, 4 }, out_of_range = 6;
    tu_check(krait_sampler_forbid(fb, five, 5) == KRAIT_STATUS_OK, "five of six ids left out");
    const float inf_but_5[6] = { 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, -INFINITY };
    tu_check(krait_sampler_sample(fb, lg) == 5 && krait_sampler_sample(fb, inf_but_5) == 5,
             "with five of six left out the sixth is drawn, even when its logit is -inf");
    tu_check(krait_sampler_forbid(fb, five + 5 - 1, 1) == KRAIT_STATUS_OK, "leaving out an id twice is fine");
    const int32_t last = 5;
    tu_check(krait_sampler_forbid(fb, &last, 1) == KRAIT_STATUS_BAD_INPUT, "leaving out every id is refused");
    tu_check(krait_sampler_forbid(fb, &out_of_range, 1) == KRAIT_STATUS_BAD_INPUT, "an id past V is refused");
    krait_sampler_free(fb);

    /* top-p at its boundary: four equal logits, top_p 0.75 is reached exactly by three of them
     * (the nucleus holds ids whose cumulative probability reaches top_p; ties go to lower ids) */
    float eq[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    krait_sampler *tp = make(4, 1.0f, 0, 0.75f, 0.0f, 1.0f, seed);
    draw(tp, eq, 4, 2000, counts, seed);
    int eq_allowed[4] = { 1, 1, 1, 0 };
    check_support("top-p 0.75 of four equal ids", counts, eq_allowed, 4);
    krait_sampler_free(tp);

    /* top-k 5 of 6: exactly the worst id is left out, wherever it sits among the ids (the heap
     * of k ids must see every id, the last one included) */
    for (int j = 0; j < V; j++) {
        float lk[6];
        int ok_allowed[6];
        for (int i = 0; i < V; i++) {
            lk[(j + i) % V] = (float)log(pr[i]); /* id (j + 5) % 6 is the worst */
            ok_allowed[(j + i) % V] = i < V - 1;
        }
        krait_sampler *s = make(V, 1.0f, 5, 1.0f, 0.0f, 1.0f, seed + 100 + (uint64_t)j);
        draw(s, lk, V, 3000, counts, seed + (uint64_t)j);
        char what[64];
        snprintf(what, sizeof what, "top-k 5 of 6 (worst id %d)", (j + V - 1) % V);
        check_support(what, counts, ok_allowed, V);
        krait_sampler_free(s);
    }

    /* min-p 1: only ids whose probability equals the largest remain (two tied, or one) */
    const float mp_tied[6] = { 1.0f, 3.0f, 0.0f, 3.0f, 2.9f, -1.0f }, mp_one[6] = { 1.0f, 2.9f, 0.0f, 3.0f, 2.9f, -1.0f };
    const int mp_tied_allowed[6] = { 0, 1, 0, 1, 0, 0 }, mp_one_allowed[6] = { 0, 0, 0, 1, 0, 0 };
    krait_sampler *mp = make(V, 1.0f, 0, 1.0f, 1.0f, 1.0f, seed);
    draw(mp, mp_tied, V, 2000, counts, seed);
    check_support("min-p 1, two ids tied at the max", counts, mp_tied_allowed, V);
    draw(mp, mp_one, V, 2000, counts, seed);
    check_support("min-p 1, one max", counts, mp_one_allowed, V);
    krait_sampler_free(mp);

    /* top-p 0.5 at its exact boundary: equal ids whose mass reaches 0.5 exactly are the whole
     * nucleus (the next equal id is not needed; ties go to lower ids; -inf ids weigh nothing) */
    struct { const char *what; int n; float l[8]; int allowed[8]; } half[] = {
        { "top-p 0.5 of four equal ids", 4, { 0, 0, 0, 0 }, { 1, 1, 0, 0 } },
        { "top-p 0.5 of eight equal ids", 8, { 2, 2, 2, 2, 2, 2, 2, 2 }, { 1, 1, 1, 1, 0, 0, 0, 0 } },
        { "top-p 0.5 of four equal, two -inf", 6, { -INFINITY, 1, -INFINITY, 1, 1, 1 }, { 0, 1, 0, 1, 0, 0 } },
    };
    for (size_t c = 0; c < sizeof half / sizeof half[0]; c++) {
        krait_sampler *s = make(half[c].n, 1.0f, 0, 0.5f, 0.0f, 1.0f, seed + c);
        draw(s, half[c].l, half[c].n, 2000, counts, seed + c);
        check_support(half[c].what, counts, half[c].allowed, half[c].n);
        krait_sampler_free(s);
    }
    /* the id that crosses 0.5 is kept: 0.4 < 0.5 <= 0.4 + 0.25 keeps the two best */
    krait_sampler *tp5 = make(V, 1.0f, 0, 0.5f, 0.0f, 1.0f, seed);
    draw(tp5, lg, V, 4000, counts, seed);
    for (int i = 0; i < V; i++) allowed[order[i]] = i < 2;
    check_support("top-p 0.5 (0.4, then 0.25 crosses)", counts, allowed, V);
    krait_sampler_free(tp5);

    /* temperature: frequencies follow softmax(l / T) */
    float tl[4] = { 1.0f, 0.0f, -0.5f, 2.0f };
    const float T = 2.0f;
    const int n = 40000;
    krait_sampler *ts = make(4, T, 0, 1.0f, 0.0f, 1.0f, seed);
    draw(ts, tl, 4, n, counts, seed);
    double Z = 0, worst = 0;
    for (int v = 0; v < 4; v++) Z += exp(tl[v] / T);
    for (int v = 0; v < 4; v++) {
        double p = exp(tl[v] / T) / Z, se = sqrt(p * (1 - p) / n), z = fabs(counts[v] / (double)n - p) / se;
        if (z > worst) worst = z;
    }
    tu_check(worst < 5.0, "temperature 2: frequencies within %.2f standard errors of softmax(l/T) (limit 5)", worst);
    printf("  temperature %.1f: worst deviation %.2f standard errors\n", T, worst);

    /* temperatures so small that l / T overflows a float (1e-38, and a subnormal 1e-45): the
     * draws are the argmax, never an id out of range or a NaN weight's pick */
    const float tiny[2] = { 1e-38f, 1e-45f };
    for (int i = 0; i < 2; i++) {
        krait_sampler *tz = make(4, tiny[i], 0, 0.9f, 0.0f, 1.0f, seed);
        draw(tz, tl, 4, 200, counts, seed);
        tu_check(counts[3] == 200, "temperature %g: every draw is the argmax (3 drawn %ld of 200 times)",
                 (double)tiny[i], counts[3]);
        krait_sampler_free(tz);
    }

    /* a large vocabulary: every top-p draw lies in the brute-force nucleus */
    const int VL = 50280;
    float *big = malloc(VL * sizeof *big);
    int32_t *rank = malloc(VL * sizeof *rank);
    for (int v = 0; v < VL; v++) big[v] = (float)(3.0 * tu_normal());
    /* brute force: sort all ids by logit, take the smallest prefix holding 0.9 of the mass */
    double Zb = 0, mx = -INFINITY;
    for (int v = 0; v < VL; v++) mx = fmax(mx, big[v]);
    for (int v = 0; v < VL; v++) Zb += exp(big[v] - mx);
    for (int v = 0; v < VL; v++) rank[v] = v;
    sorted_logits = big;
    qsort(rank, VL, sizeof *rank, by_logit_desc);
    char *in = calloc(VL, 1);
    double cum = 0;
    int n_nucleus = 0;
    while (cum < 0.9 * Zb) {
        in[rank[n_nucleus]] = 1;
        cum += exp(big[rank[n_nucleus++]] - mx);
    }
    krait_sampler *bs = make(VL, 1.0f, 0, 0.9f, 0.0f, 1.0f, seed);
    int inside = 1;
    for (int i = 0; i < 300; i++) {
        krait_sampler_reset(bs, seed + (uint64_t)i);
        int32_t t = krait_sampler_sample(bs, big);
        inside &= t >= 0 && t < VL && in[t];
    }
    tu_check(inside, "top-p 0.9 over %d ids: 300 draws all inside the %d-id nucleus", VL, n_nucleus);
    printf("  top-p 0.9 over %d ids: nucleus of %d ids, draws inside: %s\n", VL, n_nucleus, inside ? "yes" : "NO");

    /* seeds: same seed, same draws; another seed, other draws */
    int32_t a[100], b[100], c2[100];
    krait_sampler *s1 = make(VL, 1.0f, 50, 1.0f, 0.0f, 1.0f, 7), *s2 = make(VL, 1.0f, 50, 1.0f, 0.0f, 1.0f, 7),
                  *s3 = make(VL, 1.0f, 50, 1.0f, 0.0f, 1.0f, 8);
    for (int i = 0; i < 100; i++) {
        a[i] = krait_sampler_sample(s1, big);
        b[i] = krait_sampler_sample(s2, big);
        c2[i] = krait_sampler_sample(s3, big);
    }
    tu_check(!memcmp(a, b, sizeof a), "the same seed gives the same 100 draws");
    tu_check(memcmp(a, c2, sizeof a) != 0, "another seed gives other draws");

    /* options out of range */
    krait_sample_params bad = krait_sample_default_params();
    bad.top_p = 0.0f;
    tu_check(krait_sampler_init(10, &bad, 1) == NULL, "top-p 0 is refused");
    bad = krait_sample_default_params();
    bad.temperature = -1.0f;
    tu_check(krait_sample_check(&bad) == KRAIT_STATUS_BAD_INPUT, "a negative temperature is refused");
    bad = krait_sample_default_params();
    bad.repetition_penalty = 0.0f;
    tu_check(krait_sample_check(&bad) == KRAIT_STATUS_BAD_INPUT, "penalty 0 is refused");

    free(big);
    free(rank);
    free(in);
    krait_sampler_free(g);
    krait_sampler_free(k1);
    krait_sampler_free(rp);
    krait_sampler_free(ts);
    krait_sampler_free(bs);
    krait_sampler_free(s1);
    krait_sampler_free(s2);
    krait_sampler_free(s3);
    return tu_finish();
}
