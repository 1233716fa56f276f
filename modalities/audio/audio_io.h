/* modalities/audio/audio_io.h — audio files in and out, through libsndfile and libsamplerate.
 *
 * Reading: every format libsndfile reads (WAV, FLAC, OGG/Vorbis, AIFF, AU, CAF, W64, ...), any
 * channel count and sample rate. The reader streams: each read returns mono float samples in
 * [-1, 1] (channels averaged) at the rate asked for (libsamplerate's sinc resampler, carried
 * across reads), times an optional gain. Memory depends on the read size, never on the file.
 *
 * Problems are found as early as possible and each is logged as one line naming the file:
 *   a zero-byte file ("zero-length file"), a format libsndfile does not know ("unsupported or
 *   unrecognised audio format"), a damaged header ("malformed audio"), a header with no sample
 *   frames ("zero-length audio: no samples"), a file shorter than its header says or a decoder
 *   that stops early ("truncated").
 * All of these are KRAIT_STATUS_BAD_INPUT; only a failing OS read is KRAIT_STATUS_IO.
 *
 * Writing: 16-bit PCM WAV (.wav) or FLAC (.flac), chosen by the file name, written under a
 * temporary name and renamed into place. This file does not quantise (quant.h) or list
 * datasets (audio_data.h). */
#ifndef KRAIT_AUDIO_IO_H
#define KRAIT_AUDIO_IO_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"   /* krait_status */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_audio_reader krait_audio_reader;

typedef struct krait_audio_file_info {
    int channels;
    int rate;               /* the file's own sample rate */
    long long frames;       /* frames in the file at its own rate; -1 when libsndfile cannot tell (a cut Ogg) */
    char format[48];        /* libsndfile's name for the major format, e.g. "WAV (Microsoft)" */
} krait_audio_file_info;

/* Open path for reading mono at out_rate (<= 0: the file's own rate). NULL (logged) on any of
 * the problems above; *status (may be NULL) says which. */
krait_audio_reader *krait_audio_reader_open(const char *path, int out_rate, krait_status *status);
void krait_audio_reader_close(krait_audio_reader *r);
const krait_audio_file_info *krait_audio_reader_info(const krait_audio_reader *r);
/* Multiply every sample read from now on by gain (default 1). */
void krait_audio_reader_set_gain(krait_audio_reader *r, float gain);
/* Up to n mono samples at out_rate into out; returns how many (0 at the end), or -1 (logged:
 * truncated or a read error). */
long krait_audio_reader_read(krait_audio_reader *r, float *out, long n);
/* Back to the start (the resampler restarts). */
krait_status krait_audio_reader_rewind(krait_audio_reader *r);
/* Why a file that has samples gives none at the output rate (one or a few samples resampled
 * down), as "too short: its N samples at R Hz make none at OUT Hz", into buf. */
void krait_audio_reader_too_short(const krait_audio_reader *r, char *buf, size_t size);
/* The largest |sample| of the mono signal as reading gives it, at the output rate (a resampling
 * filter rings a little above the file's own peak), ignoring the gain: a pass over the file,
 * then back to the start. */
krait_status krait_audio_reader_peak(krait_audio_reader *r, float *peak);
/* Peak normalisation's gain for a file of that peak: 1 / peak, at most KRAIT_AUDIO_MAX_GAIN
 * (60 dB), so a near-silent file (dither of a bit or two) stays quiet instead of becoming
 * full-scale noise; 1 for a silent one. */
#define KRAIT_AUDIO_MAX_GAIN 1000.0f
float krait_audio_peak_gain(float peak);

/* The whole file as mono floats at out_rate: *x (malloc'd) of *n samples. Fails like open;
 * with normalize = 1 the samples are scaled so that the peak is 1 (silence stays 0). */
krait_status krait_audio_read_all(const char *path, int out_rate, int normalize, float **x, size_t *n);

/* The same, with the one-line problem written into err (err_size bytes) instead of the log:
 * for callers that skip bad files with a warning of their own. */
krait_status krait_audio_read_all_err(const char *path, int out_rate, int normalize, float **x, size_t *n, char *err,
                                      size_t err_size);

/* Write n mono samples (clipped to [-1, 1]) at rate as 16-bit PCM: .wav or .flac by the name
 * (any case); another extension is BAD_INPUT (logged). Written to a temporary in the same folder,
 * renamed over path once whole; temp_made / temp_gone (may be NULL) hear of the temporary, so
 * that a program stopped meanwhile can remove it. */
krait_status krait_audio_write(const char *path, const float *x, size_t n, int rate);
void krait_audio_set_temp_hooks(void (*temp_made)(const char *path), void (*temp_gone)(const char *path));

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_AUDIO_IO_H */
