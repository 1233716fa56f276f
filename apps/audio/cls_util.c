/* apps/audio/cls_util.c — clip classification inputs and batched prediction; see audioapp.h. */
#include <stdlib.h>
#include <string.h>

#include "audioapp.h"
#include "classify.h"
#include "train.h"

void audio_cls_init(audio_cls_data *d, const audio_frontend *fe, int cap)
{
    memset(d, 0, sizeof *d);
    d->cap = cap > 0 ? cap : 1;
    d->F = fe->logmel ? fe->mel.n_mels : 0;
    const size_t n = (size_t)d->cap;
    d->len = malloc(sizeof *d->len * n);
    d->label = malloc(sizeof *d->label * n);
    d->path = malloc(sizeof *d->path * n);
    if (fe->logmel) d->feats = calloc(n, sizeof *d->feats);
    else d->ids = calloc(n, sizeof *d->ids);
    if (!d->len || !d->label || !d->path || (!d->feats && !d->ids)) krait_cli_die(1, "out of memory");
    if (fe->logmel && !(d->mel = krait_mel_init(&fe->mel))) exit(2); /* krait_mel_init said why */
}

void audio_cls_add(audio_cls_data *d, const audio_frontend *fe, krait_audio_clip *c)
{
    if (d->n == d->cap) krait_cli_die(1, "internal: more clips than audio_cls_init made room for");
    const int i = d->n++;
    if (d->mel) {
        int T = krait_mel_frames(d->mel, c->n);
        d->feats[i] = malloc(sizeof **d->feats * (size_t)T * (size_t)d->F);
        if (!d->feats[i]) krait_cli_die(1, "out of memory");
        krait_mel_compute(d->mel, d->feats[i], c->x, c->n);
        d->len[i] = T;
    } else {
        d->ids[i] = audio_clip_ids(fe, c->x, c->n);
        d->len[i] = (int32_t)c->n;
    }
    free(c->x); /* its features are made: the samples are not needed again */
    c->x = NULL;
    d->label[i] = c->cls;
    d->path[i] = c->path;
    if (d->len[i] > d->max_len) d->max_len = d->len[i];
}

void audio_cls_prepare(audio_cls_data *d, const audio_frontend *fe, krait_audio_set *set)
{
    audio_cls_init(d, fe, set->n);
    for (int i = 0; i < set->n; i++) audio_cls_add(d, fe, &set->clips[i]);
}

void audio_cls_free(audio_cls_data *d)
{
    for (int i = 0; i < d->n; i++) {
        if (d->feats) free(d->feats[i]);
        if (d->ids) free(d->ids[i]);
    }
    krait_mel_free(d->mel);
    free(d->feats), free(d->ids), free(d->len), free(d->label), free(d->path);
    memset(d, 0, sizeof *d);
}

static krait_status predict_long(krait_cls_stream *s, const krait_model *m, const audio_cls_data *d, int i,
                                 float *probs, float *rev_f, int32_t *rev_i, int chunk)
{
    long L = d->len[i];
    int F = d->F;
    krait_status st = KRAIT_STATUS_OK;
    for (long t = 0; !st && t < L; t += chunk) {
        long k = L - t < chunk ? L - t : chunk;
        st = krait_cls_stream_feed(s, d->ids ? d->ids[i] + t : NULL, d->feats ? d->feats[i] + (size_t)t * F : NULL, k, 0);
    }
    if (m->cfg.bidirectional)
        for (long t = 0; !st && t < L; t += chunk) { /* the reversed sequence, chunk by chunk */
            long k = L - t < chunk ? L - t : chunk;
            for (long j = 0; j < k; j++) {
                long src = L - 1 - (t + j);
                if (d->ids) rev_i[j] = d->ids[i][src];
                else memcpy(rev_f + (size_t)j * F, d->feats[i] + (size_t)src * F, sizeof *rev_f * (size_t)F);
            }
            st = krait_cls_stream_feed(s, d->ids ? rev_i : NULL, d->feats ? rev_f : NULL, k, 1);
        }
    return st ? st : krait_cls_stream_finish(s, probs);
}

krait_status audio_cls_predict(const krait_model *m, const audio_cls_data *d, float *probs, int long_len, int chunk,
                               krait_progress *progress)
{
    const int C = m->cfg.n_classes, F = d->F;
    int Lmax = 1, n_short = 0;
    for (int i = 0; i < d->n; i++)
        if (d->len[i] <= long_len) n_short++, Lmax = d->len[i] > Lmax ? d->len[i] : Lmax;
    const int BM = n_short < 32 ? (n_short > 0 ? n_short : 1) : 32; /* batches of up to 32 (memory for as many) */
    krait_acts *a = krait_acts_init(m, BM, Lmax, 0);
    krait_cls_stream *s = krait_cls_stream_init(m, chunk);
    float *fb = F ? malloc(sizeof *fb * (size_t)BM * Lmax * F) : NULL;
    int32_t *ib = malloc(sizeof *ib * (size_t)BM * Lmax), *lens = malloc(sizeof *lens * BM);
    float *rev_f = F ? malloc(sizeof *rev_f * (size_t)chunk * F) : NULL;
    int32_t *rev_i = malloc(sizeof *rev_i * chunk);
    int *idx = malloc(sizeof *idx * BM);
    krait_status st = KRAIT_STATUS_OK;
    if (!a || !s || (F && (!fb || !rev_f)) || !ib || !lens || !rev_i || !idx) {
        st = KRAIT_STATUS_NO_MEMORY;
        goto done;
    }
    double t0 = krait_now();
    for (int i = 0, nb = 0; !st && i <= d->n; i++) {
        if (i < d->n && d->len[i] > long_len) {
            st = predict_long(s, m, d, i, probs + (size_t)i * C, rev_f, rev_i, chunk);
            continue;
        }
        if (i < d->n) idx[nb++] = i;
        if (nb == BM || (i == d->n && nb)) {
            int Lp = 1;
            for (int b = 0; b < nb; b++) Lp = d->len[idx[b]] > Lp ? d->len[idx[b]] : Lp;
            for (int b = 0; b < nb; b++) {
                int j = idx[b], l = d->len[j];
                lens[b] = l;
                if (F) {
                    memcpy(fb + (size_t)b * Lp * F, d->feats[j], sizeof *fb * (size_t)l * F);
                    memset(fb + ((size_t)b * Lp + l) * F, 0, sizeof *fb * (size_t)(Lp - l) * F);
                } else {
                    memcpy(ib + (size_t)b * Lp, d->ids[j], sizeof *ib * (size_t)l);
                    for (int t = l; t < Lp; t++) ib[(size_t)b * Lp + t] = 0;
                }
            }
            float *pb = malloc(sizeof *pb * (size_t)nb * C);
            if (!pb) {
                st = KRAIT_STATUS_NO_MEMORY;
                break;
            }
            st = krait_classify(m, a, F ? NULL : ib, F ? fb : NULL, lens, nb, pb);
            for (int b = 0; !st && b < nb; b++) memcpy(probs + (size_t)idx[b] * C, pb + (size_t)b * C, sizeof *pb * C);
            free(pb);
            nb = 0;
            if (progress) {
                double dt = krait_now() - t0;
                krait_progress_line(progress, i == d->n, "classify: %d/%d clips, %.0f clips/s", i < d->n ? i + 1 : d->n,
                                    d->n, dt > 0 ? i / dt : 0);
            }
        }
    }
done:
    krait_acts_free(m, a);
    krait_cls_stream_free(s);
    free(fb), free(ib), free(lens), free(rev_f), free(rev_i), free(idx);
    return st;
}
