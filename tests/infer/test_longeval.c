/* tests/infer/test_longeval.c — evaluation of long sequences in constant memory:
 *   1. position buckets: every scored position lands in bucket floor(log2(p + 1)) (counts
 *      checked exactly for 2 sequences of 5000 tokens), the buckets add up to the total loss,
 *      and chunking does not change them (chunks of 1000 vs 333);
 *   1b. unscored positions (target < 0: a sequence's first stretch, whole chunks of it, and
 *      scattered ignored ids) count nowhere: not in n_scored, n_correct, the loss or the
 *      buckets; two complementary masks add up to the unmasked evaluation, and a fully masked
 *      one is all zeros;
 *   2. peak resident memory (getrusage ru_maxrss) of a process evaluating LONG tokens is within
 *      5% of one evaluating 10,000 tokens with the same model and chunk (default LONG is
 *      1,000,000). Each evaluation runs in a child forked from the same parent (which builds
 *      its own backend and the same model), so both start from the same allocator state (in one process, glibc's moving mmap threshold makes later
 *      runs fragment the heap whatever their length). The process is small, so 5% is ~200 KB:
 *      a per-position array of 4-byte values would add 4 MB and fail.
 * The tokens come from a hash of the position, generated chunk by chunk, never stored. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evaluate.h"
#include "hash.h"
#include "infer_testutil.h"
#include "testutil.h"

#ifndef LONG_TOKENS
#define LONG_TOKENS 1000000L
#endif

static int32_t token_at(long long p, int V)
{
    return (int32_t)(krait_mix64(0, (uint64_t)p) % (uint64_t)V);
}

static krait_status fill(void *ctx, int32_t *ids, int32_t *tg, int B, long t0, int len)
{
    int V = *(int *)ctx;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < len; i++) {
            long long p = (long long)b * 1000003 + t0 + i; /* sequence b is another stretch of the stream */
            ids[b * len + i] = token_at(p, V);
            tg[b * len + i] = token_at(p + 1, V);
        }
    return KRAIT_STATUS_OK;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void buckets(krait_model *m)
{
    int V = m->cfg.vocab_size_raw;
    const int B = 2;
    const long L = 5000;
    krait_eval_result r1, r2;
    if (krait_eval_stream(m, B, L, 1000, fill, &V, &r1, NULL, NULL)) exit(1);
    if (krait_eval_stream(m, B, L, 333, fill, &V, &r2, NULL, NULL)) exit(1);
    double sum = 0;
    long long n = 0;
    int counts_ok = 1, same = 1;
    for (int b = 0; b < KRAIT_EVAL_BUCKETS; b++) {
        long long lo = krait_eval_bucket_start(b), hi = krait_eval_bucket_start(b + 1);
        long long want = lo >= L ? 0 : B * ((hi < L ? hi : L) - lo);
        counts_ok &= r1.bucket_n[b] == want;
        sum += r1.bucket_loss[b];
        n += r1.bucket_n[b];
        same &= r1.bucket_n[b] == r2.bucket_n[b] &&
                fabs(r1.bucket_loss[b] - r2.bucket_loss[b]) <= 1e-5 * fabs(r1.bucket_loss[b]) + 1e-6;
    }
    tu_check(counts_ok && n == r1.n_scored && n == B * L, "bucket b holds the positions [2^b - 1, 2^(b+1) - 1)");
    tu_check(fabs(sum - r1.loss_sum) <= 1e-9 * fabs(r1.loss_sum), "buckets add up to the loss (%.9g vs %.9g)", sum,
             r1.loss_sum);
    tu_check(same, "chunks of 1000 and 333 give the same buckets");
    tu_check(krait_eval_bucket(0) == 0 && krait_eval_bucket(1) == 1 && krait_eval_bucket(2) == 1 &&
                 krait_eval_bucket(3) == 2 && krait_eval_bucket(999999) == 19,
             "bucket of positions 0, 1, 2, 3, 999999");
    printf("  buckets over 2 x %ld tokens: loss %.4f/token; first buckets", L, r1.loss_sum / r1.n_scored);
    for (int b = 0; b < 6; b++) printf(" %.3f", r1.bucket_loss[b] / r1.bucket_n[b]);
    printf("\n");
}

typedef struct masked {
    int V;
    int mode; /* 0: every target scored; 1: positions < 200 and p % 7 == 3 unscored; 2: the others; 3: none scored */
} masked;

static int scored_in(int mode, long long p)
{
    int a = p < 200 || p % 7 == 3;
    return mode == 0 ? 1 : mode == 1 ? !a : mode == 2 ? a : 0;
}

static krait_status fill_masked(void *ctx, int32_t *ids, int32_t *tg, int B, long t0, int len)
{
    masked *mk = ctx;
    krait_status s = fill(&mk->V, ids, tg, B, t0, len);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < len; i++)
            if (!scored_in(mk->mode, t0 + i)) tg[b * len + i] = -1;
    return s;
}

static void unscored(krait_model *m)
{
    const int B = 2;
    const long L = 1000;
    krait_eval_result r[4];
    masked mk = { m->cfg.vocab_size_raw, 0 };
    for (mk.mode = 0; mk.mode < 4; mk.mode++) /* chunks of 100: positions 0..199 are two whole unscored chunks */
        if (krait_eval_stream(m, B, L, 100, fill_masked, &mk, &r[mk.mode], NULL, NULL)) exit(1);
    for (int mode = 1; mode < 3; mode++) {
        long long want_n = 0, want_b[KRAIT_EVAL_BUCKETS] = { 0 }, got_n = 0;
        for (long p = 0; p < L; p++)
            if (scored_in(mode, p)) want_n += B, want_b[krait_eval_bucket(p)] += B;
        int buckets_ok = 1;
        for (int b = 0; b < KRAIT_EVAL_BUCKETS; b++) {
            buckets_ok &= r[mode].bucket_n[b] == want_b[b];
            got_n += r[mode].bucket_n[b];
        }
        tu_check(r[mode].n_scored == want_n, "mask %d: n_scored %lld counts only the %lld scored positions", mode,
                 r[mode].n_scored, want_n);
        tu_check(buckets_ok, "mask %d: the buckets count only scored positions (%lld in all, want %lld)", mode, got_n,
                 want_n);
    }
    long long nc = r[1].n_correct + r[2].n_correct, ns = r[1].n_scored + r[2].n_scored;
    double ls = r[1].loss_sum + r[2].loss_sum;
    int bl_ok = 1;
    for (int b = 0; b < KRAIT_EVAL_BUCKETS; b++)
        bl_ok &= fabs(r[1].bucket_loss[b] + r[2].bucket_loss[b] - r[0].bucket_loss[b]) <=
                 1e-5 * fabs(r[0].bucket_loss[b]) + 1e-6;
    tu_check(ns == r[0].n_scored && ns == B * L, "two complementary masks score %lld positions (unmasked %lld)", ns,
             r[0].n_scored);
    tu_check(nc == r[0].n_correct, "two complementary masks: %lld + %lld correct == %lld unmasked", r[1].n_correct,
             r[2].n_correct, r[0].n_correct);
    tu_check(fabs(ls - r[0].loss_sum) <= 1e-5 * fabs(r[0].loss_sum) && bl_ok,
             "two complementary masks: loss %.9g + %.9g == %.9g unmasked, bucket by bucket", r[1].loss_sum,
             r[2].loss_sum, r[0].loss_sum);
    long long bn = 0;
    double bls = 0;
    for (int b = 0; b < KRAIT_EVAL_BUCKETS; b++) bn += r[3].bucket_n[b], bls += fabs(r[3].bucket_loss[b]);
    tu_check(r[3].n_scored == 0 && r[3].n_correct == 0 && r[3].loss_sum == 0 && bn == 0 && bls == 0,
             "no target scored: n_scored %lld, n_correct %lld, loss %g, bucket positions %lld (all want 0)",
             r[3].n_scored, r[3].n_correct, r[3].loss_sum, bn);
}

/* Peak RSS (KB) of a child process that evaluates L tokens, forked from this one, so both
 * lengths start from the same process and allocator state; -1 on failure. */
static long child_peak_kb(uint64_t seed, long L, double *loss_per_token)
{
    int fd[2];
    if (pipe(fd)) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fd[0]);
        /* the reference backend: on an 8-wide model every op is call overhead, which the
         * reference has least of (the fast backend's memory use is checked by krait-bench
         * longeval); the chunked evaluation code is the same */
        krait_backend *be = it_backend(0);
        krait_model *m = be ? it_tiny_model(be, 8, 2, 20, seed) : NULL;
        int V = 20;
        krait_eval_result r;
        double msg[2] = { -1, 0 };
        if (m && !krait_eval_stream(m, 1, L, 1024, fill, &V, &r, NULL, NULL) && r.n_scored == L && isfinite(r.loss_sum)) {
            msg[0] = (double)peak_rss_kb();
            msg[1] = r.loss_sum / r.n_scored;
        }
        ssize_t w = write(fd[1], msg, sizeof msg);
        _exit(w == (ssize_t)sizeof msg ? 0 : 1);
    }
    close(fd[1]);
    double msg[2] = { -1, 0 };
    ssize_t got = read(fd[0], msg, sizeof msg);
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof msg || !WIFEXITED(status) || WEXITSTATUS(status)) return -1;
    *loss_per_token = msg[1];
    return (long)msg[0];
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void constant_memory(uint64_t seed)
{
#ifdef UNDER_ASAN
    /* AddressSanitizer's quarantine keeps freed blocks resident, so RSS grows with the number of
     * chunks whatever the code does: nothing to measure */
    printf("  peak RSS check skipped under AddressSanitizer\n");
    (void)seed;
    return;
#endif
    double l_short, l_long;
    long short_kb = child_peak_kb(seed, 10000, &l_short), long_kb = child_peak_kb(seed, LONG_TOKENS, &l_long);
    tu_check(short_kb > 0 && long_kb > 0, "both evaluations ran (10,000 and %ld tokens, finite loss)", LONG_TOKENS);
    tu_check(long_kb <= short_kb * 1.05, "peak RSS evaluating %ld tokens %ld KB <= 1.05 x evaluating 10,000 (%ld KB)",
             LONG_TOKENS, long_kb, short_kb);
    printf("  peak RSS: 10,000 tokens %ld KB, %ld tokens %ld KB (ratio %.4f); loss %.4f / %.4f per token\n",
           short_kb, LONG_TOKENS, long_kb, (double)long_kb / short_kb, l_short, l_long);
}

int main(void)
{
    tu_init("test_longeval");
    uint64_t seed = tu_next();
    /* first, before this process starts any OpenMP threads (a forked child of a process that
     * has used OpenMP cannot start its own); each child builds its backend and model */
    constant_memory(seed);
    krait_backend *be = it_backend(1); /* the fast backend */
    krait_model *m = it_tiny_model(be, 8, 2, 20, seed);
    buckets(m);
    unscored(m);
    krait_model_free(m);
    krait_backend_destroy(be);
    return tu_finish();
}
