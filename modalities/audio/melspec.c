/* modalities/audio/melspec.c — log-mel features with FFTW; see melspec.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "log.h"
#include "melspec.h"

struct krait_mel {
    krait_mel_params p;
    int nfft, nbin;
    float *window;         /* (win) */
    float *fb;             /* (n_mels, nbin) filter weights */
    float *frame;          /* (nfft) FFT input */
    fftwf_complex *spec;   /* (nbin) */
    float *power;          /* (nbin) */
    fftwf_plan plan;
};

krait_mel_params krait_mel_default_params(int rate)
{
    krait_mel_params p = { .rate = rate, .win = (int)lround(rate * 0.025), .hop = (int)lround(rate * 0.010),
                           .n_mels = 40, .fmin = 0, .fmax = 0, .cmvn = 1 };
    return p;
}

static double hz_to_mel(double f) { return 2595.0 * log10(1.0 + f / 700.0); }
static double mel_to_hz(double m) { return 700.0 * (pow(10.0, m / 2595.0) - 1.0); }

krait_mel *krait_mel_init(const krait_mel_params *p)
{
    krait_mel_params q = *p;
    if (q.fmax <= 0) q.fmax = q.rate / 2.0f;
    if (q.rate <= 0 || q.win < 2 || q.hop < 1 || q.n_mels < 1 || q.n_mels > 512 || q.fmin < 0 || q.fmax <= q.fmin ||
        q.fmax > q.rate / 2.0f + 1e-3f) {
        KRAIT_ERROR("log-mel settings: rate %d, window %d, hop %d, %d bands, %g..%g Hz are not usable", q.rate, q.win,
                    q.hop, q.n_mels, q.fmin, q.fmax);
        return NULL;
    }
    krait_mel *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->p = q;
    m->nfft = 1;
    while (m->nfft < q.win) m->nfft *= 2;
    m->nbin = m->nfft / 2 + 1;
    m->window = malloc(sizeof *m->window * (size_t)q.win);
    m->fb = calloc((size_t)q.n_mels * (size_t)m->nbin, sizeof *m->fb);
    m->frame = fftwf_malloc(sizeof *m->frame * (size_t)m->nfft);
    m->spec = fftwf_malloc(sizeof *m->spec * (size_t)m->nbin);
    m->power = malloc(sizeof *m->power * (size_t)m->nbin);
    if (!m->window || !m->fb || !m->frame || !m->spec || !m->power) {
        krait_mel_free(m);
        return NULL;
    }
    m->plan = fftwf_plan_dft_r2c_1d(m->nfft, m->frame, m->spec, FFTW_ESTIMATE);
    if (!m->plan) {
        krait_mel_free(m);
        return NULL;
    }
    for (int i = 0; i < q.win; i++) m->window[i] = (float)(0.5 - 0.5 * cos(2 * M_PI * i / q.win)); /* periodic Hann */
    /* triangular filters between mel-spaced edges, on the FFT bin frequencies */
    double lo = hz_to_mel(q.fmin), hi = hz_to_mel(q.fmax);
    for (int b = 0; b < q.n_mels; b++) {
        double f0 = mel_to_hz(lo + (hi - lo) * b / (q.n_mels + 1));
        double f1 = mel_to_hz(lo + (hi - lo) * (b + 1) / (q.n_mels + 1));
        double f2 = mel_to_hz(lo + (hi - lo) * (b + 2) / (q.n_mels + 1));
        for (int k = 0; k < m->nbin; k++) {
            double f = (double)k * q.rate / m->nfft, w = 0;
            if (f > f0 && f <= f1) w = (f - f0) / (f1 - f0);
            else if (f > f1 && f < f2) w = (f2 - f) / (f2 - f1);
            m->fb[(size_t)b * m->nbin + k] = (float)w;
        }
    }
    return m;
}

double krait_mel_band_at(const krait_mel_params *p, double hz)
{
    const double fmax = p->fmax > 0 ? p->fmax : p->rate / 2.0, lo = hz_to_mel(p->fmin), hi = hz_to_mel(fmax);
    return (hz_to_mel(hz) - lo) / (hi - lo) * (p->n_mels + 1) - 1;
}

void krait_mel_free(krait_mel *m)
{
    if (!m) return;
    if (m->plan) fftwf_destroy_plan(m->plan);
    fftwf_free(m->frame);
    fftwf_free(m->spec);
    free(m->window);
    free(m->fb);
    free(m->power);
    free(m);
}

int krait_mel_frames(const krait_mel *m, size_t n)
{
    size_t w = (size_t)m->p.win, h = (size_t)m->p.hop;
    return n <= w ? 1 : 1 + (int)((n - w + h - 1) / h);
}

void krait_mel_compute(krait_mel *m, float *out, const float *x, size_t n)
{
    int T = krait_mel_frames(m, n), F = m->p.n_mels;
    for (int t = 0; t < T; t++) {
        size_t start = (size_t)t * (size_t)m->p.hop;
        memset(m->frame, 0, sizeof *m->frame * (size_t)m->nfft);
        for (int i = 0; i < m->p.win && start + (size_t)i < n; i++) m->frame[i] = x[start + i] * m->window[i];
        fftwf_execute(m->plan);
        for (int k = 0; k < m->nbin; k++) m->power[k] = m->spec[k][0] * m->spec[k][0] + m->spec[k][1] * m->spec[k][1];
        for (int b = 0; b < F; b++) {
            const float *w = m->fb + (size_t)b * m->nbin;
            double e = 0;
            for (int k = 0; k < m->nbin; k++) e += (double)w[k] * m->power[k];
            out[(size_t)t * F + b] = (float)log(e + 1e-6);
        }
    }
    if (!m->p.cmvn) return;
    /* cmvn 1: one mean and variance over the clip (keeps the spectral shape); 2: per band */
    int groups = m->p.cmvn == 2 ? F : 1, width = m->p.cmvn == 2 ? 1 : F;
    for (int g = 0; g < groups; g++) {
        double s = 0, ss = 0;
        long cnt = (long)T * width;
        for (int t = 0; t < T; t++)
            for (int b = g; b < g + width; b++) s += out[(size_t)t * F + b];
        double mean = s / cnt;
        for (int t = 0; t < T; t++)
            for (int b = g; b < g + width; b++) {
                double d = out[(size_t)t * F + b] - mean;
                ss += d * d;
            }
        double inv = 1.0 / sqrt(ss / cnt + 1e-5);
        for (int t = 0; t < T; t++)
            for (int b = g; b < g + width; b++) out[(size_t)t * F + b] = (float)((out[(size_t)t * F + b] - mean) * inv);
    }
}
