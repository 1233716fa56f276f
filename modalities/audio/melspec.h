/* modalities/audio/melspec.h — log-mel spectrogram features (FFTW): the classifier's front-end
 * and the spectrogram of the pictures.
 *
 * Frames of `win` samples every `hop` samples (frame t covers [t hop, t hop + win), zero past the
 * end; a clip shorter than one window is one frame), a Hann window, the power spectrum of an FFT
 * of the next power of two >= win, triangular mel filters (HTK mel scale, fmin .. fmax, unit
 * peak), then log(energy + 1e-6). Per-utterance normalisation: cmvn = 1 shifts and scales the
 * clip's whole spectrogram to zero mean and unit variance (band levels relative to each other
 * kept); cmvn = 2 does it band by band (removes each band's average level: a steady tone becomes
 * flat); 0 leaves the log energies as they are.
 *
 * A krait_mel holds the FFT plan and scratch; one per thread. This file does not read audio. */
#ifndef KRAIT_AUDIO_MELSPEC_H
#define KRAIT_AUDIO_MELSPEC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_mel_params {
    int rate;          /* Hz */
    int win, hop;      /* samples */
    int n_mels;
    float fmin, fmax;  /* Hz; fmax <= 0: rate / 2 */
    int cmvn;          /* 0 none, 1 whole clip, 2 per band */
} krait_mel_params;

/* 25 ms windows, 10 ms hop, 40 bands, 0 .. rate/2, cmvn on, at rate. */
krait_mel_params krait_mel_default_params(int rate);

typedef struct krait_mel krait_mel;

/* NULL (logged) on bad parameters or out of memory. */
krait_mel *krait_mel_init(const krait_mel_params *p);
void krait_mel_free(krait_mel *m);
/* Frames for n samples: 1 + ceil(max(0, n - win) / hop). */
int krait_mel_frames(const krait_mel *m, size_t n);
/* out (frames, n_mels) for the n samples of x. */
void krait_mel_compute(krait_mel *m, float *out, const float *x, size_t n);
/* The band index (fractional; 0 .. n_mels - 1 inside the range) whose filter peaks at hz under p
 * (fmax <= 0: rate / 2): where a frequency sits on a spectrogram's axis. */
double krait_mel_band_at(const krait_mel_params *p, double hz);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_AUDIO_MELSPEC_H */
