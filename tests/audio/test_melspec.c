/* tests/audio/test_melspec.c — the log-mel front-end against a direct double-precision reading
 * of its definition (melspec.h): frames of win samples every hop samples (zero past the end), a
 * periodic Hann window, the power spectrum of an nfft-point DFT (nfft the next power of two >=
 * win; here a plain O(nfft^2) sum instead of FFTW), triangular filters whose edges are evenly
 * spaced on the HTK mel scale (written here as 1127 ln(1 + f / 700), the same scale as
 * 2595 log10(1 + f / 700)), log(energy + 1e-6). On random clips of several lengths (shorter than
 * a window, ragged last frame) and two settings (8 kHz defaults; 16 kHz with fmin/fmax), with no
 * normalisation; then the two normalisations' defining properties and the frame count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "melspec.h"
#include "testutil.h"

static double mel(double f) { return 1127.0 * log(1.0 + f / 700.0); }
static double hz(double m) { return 700.0 * (exp(m / 1127.0) - 1.0); }

/* out (T, F) by the definition; returns T */
static int reference(double *out, const float *x, size_t n, const krait_mel_params *p)
{
    double fmax = p->fmax > 0 ? p->fmax : p->rate / 2.0;
    int nfft = 1;
    while (nfft < p->win) nfft *= 2;
    int nbin = nfft / 2 + 1, T = n <= (size_t)p->win ? 1 : 1 + (int)((n - p->win + p->hop - 1) / p->hop);
    double *power = malloc(sizeof *power * (size_t)nbin), *frame = calloc((size_t)nfft, sizeof *frame);
    double lo = mel(p->fmin), hi = mel(fmax), step = (hi - lo) / (p->n_mels + 1);
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < nfft; i++) {
            size_t at = (size_t)t * p->hop + (size_t)i;
            frame[i] = i < p->win && at < n ? x[at] * (0.5 - 0.5 * cos(2 * M_PI * i / p->win)) : 0.0;
        }
        for (int k = 0; k < nbin; k++) {
            double re = 0, im = 0;
            for (int i = 0; i < nfft; i++) {
                re += frame[i] * cos(2 * M_PI * (double)k * i / nfft);
                im -= frame[i] * sin(2 * M_PI * (double)k * i / nfft);
            }
            power[k] = re * re + im * im;
        }
        for (int b = 0; b < p->n_mels; b++) {
            double f0 = hz(lo + step * b), f1 = hz(lo + step * (b + 1)), f2 = hz(lo + step * (b + 2)), e = 0;
            for (int k = 0; k < nbin; k++) {
                double f = (double)k * p->rate / nfft;
                double w = f > f0 && f <= f1 ? (f - f0) / (f1 - f0) : f > f1 && f < f2 ? (f2 - f) / (f2 - f1) : 0.0;
                e += w * power[k];
            }
            out[(size_t)t * p->n_mels + b] = log(e + 1e-6);
        }
    }
    free(power);
    free(frame);
    return T;
}

static void compare(const krait_mel_params *p, size_t n, const char *what)
{
    float *x = malloc(sizeof *x * (n ? n : 1));
    for (size_t i = 0; i < n; i++) x[i] = (float)tu_uniform(-0.5, 0.5);
    krait_mel *m = krait_mel_init(p);
    tu_check(m != NULL, "%s: init", what);
    if (!m) return;
    int T = krait_mel_frames(m, n);
    float *got = malloc(sizeof *got * (size_t)T * p->n_mels);
    double *want = malloc(sizeof *want * (size_t)(T + 1) * p->n_mels);
    krait_mel_compute(m, got, x, n);
    int Tr = reference(want, x, n, p);
    double worst = 0;
    for (size_t i = 0; Tr == T && i < (size_t)T * p->n_mels; i++) worst = fmax(worst, fabs(got[i] - want[i]));
    /* log energies: an absolute error in the log is a relative error in the energy */
    tu_check(Tr == T && worst < 2e-3, "%s: %d frames (definition: %d), largest log-energy difference %.2g", what, T,
             Tr, worst);
    free(x);
    free(got);
    free(want);
    krait_mel_free(m);
}

/* cmvn 1 shifts and scales the whole clip, cmvn 2 each band, to mean 0 and variance 1 (the
 * variance floored by 1e-5): checked against that formula applied to the cmvn 0 output. */
static void normalisation(void)
{
    const size_t n = 4000;
    float *x = malloc(sizeof *x * n);
    for (size_t i = 0; i < n; i++) x[i] = (float)(sin(2 * M_PI * 440.0 * i / 8000) * 0.3 + tu_uniform(-0.025, 0.025));
    krait_mel_params p = krait_mel_default_params(8000);
    p.cmvn = 0;
    krait_mel *m = krait_mel_init(&p);
    const int T = krait_mel_frames(m, n), F = p.n_mels;
    float *raw = malloc(sizeof *raw * (size_t)T * F), *o = malloc(sizeof *o * (size_t)T * F);
    krait_mel_compute(m, raw, x, n);
    krait_mel_free(m);
    for (int cmvn = 1; cmvn <= 2; cmvn++) {
        p.cmvn = cmvn;
        m = krait_mel_init(&p);
        krait_mel_compute(m, o, x, n);
        krait_mel_free(m);
        double worst = 0;
        int groups = cmvn == 2 ? F : 1, width = cmvn == 2 ? 1 : F;
        for (int g = 0; g < groups; g++) {
            double s = 0, ss = 0, cnt = (double)T * width;
            for (int t = 0; t < T; t++)
                for (int b = g; b < g + width; b++) s += raw[(size_t)t * F + b];
            double mean = s / cnt;
            for (int t = 0; t < T; t++)
                for (int b = g; b < g + width; b++) {
                    double d = raw[(size_t)t * F + b] - mean;
                    ss += d * d;
                }
            double inv = 1 / sqrt(ss / cnt + 1e-5);
            for (int t = 0; t < T; t++)
                for (int b = g; b < g + width; b++)
                    worst = fmax(worst, fabs(o[(size_t)t * F + b] - (raw[(size_t)t * F + b] - mean) * inv));
        }
        tu_check(worst < 1e-4, "cmvn %d: (log energy - mean) / sqrt(variance + 1e-5) %s (worst difference %.2g)", cmvn,
                 cmvn == 2 ? "per band" : "over the whole clip", worst);
    }
    free(raw);
    free(o);
    free(x);
}

int main(void)
{
    tu_init("test_melspec");
    krait_mel_params a = krait_mel_default_params(8000); /* win 200, hop 80, nfft 256, 40 bands */
    a.cmvn = 0;
    compare(&a, 100, "8 kHz, a clip shorter than one window");
    compare(&a, 200, "8 kHz, exactly one window");
    compare(&a, 1234, "8 kHz, a ragged last frame");
    krait_mel_params b = krait_mel_default_params(16000); /* win 400, hop 160, nfft 512 */
    b.cmvn = 0, b.n_mels = 23, b.fmin = 60, b.fmax = 7000;
    compare(&b, 2000, "16 kHz, 23 bands over 60..7000 Hz");
    krait_mel *m = krait_mel_init(&a);
    tu_check(krait_mel_frames(m, 8000) == 1 + (8000 - 200 + 79) / 80 && krait_mel_frames(m, 201) == 2 &&
                 krait_mel_frames(m, 1) == 1,
             "frame count: 1 + ceil((n - win) / hop), at least 1");
    krait_mel_free(m);
    /* krait_mel_band_at places a frequency where the filters see it: a pure tone's loudest band */
    m = krait_mel_init(&b);
    static const double tones[] = { 300, 1000, 2000, 3500, 6000 };
    const size_t n = 1600;
    float *x = malloc(sizeof *x * n), *spec = malloc(sizeof *spec * (size_t)krait_mel_frames(m, n) * b.n_mels);
    for (size_t k = 0; m && x && spec && k < sizeof tones / sizeof *tones; k++) {
        for (size_t i = 0; i < n; i++) x[i] = (float)sin(2 * M_PI * tones[k] * (double)i / b.rate);
        krait_mel_compute(m, spec, x, n);
        const float *f = spec + (size_t)(krait_mel_frames(m, n) / 2) * b.n_mels; /* a frame inside the tone */
        int loud = 0;
        for (int j = 1; j < b.n_mels; j++) loud = f[j] > f[loud] ? j : loud;
        const double at = krait_mel_band_at(&b, tones[k]);
        tu_check(fabs(at - loud) <= 1.0, "a %g Hz tone: loudest band %d, krait_mel_band_at %.2f", tones[k], loud, at);
    }
    free(x), free(spec);
    krait_mel_free(m);
    normalisation();
    return tu_finish();
}
