/* apps/audio/picture.h — a picture of a waveform: the waveform (min/max envelope per pixel
 * column) above its log-mel spectrogram (64 bands, 25 ms windows), as one PNG (libpng).
 * Samples before `mark` (a prompt) are drawn on a grey background, with a red line at the
 * boundary. Axes: amplitude (-1..+1) and frequency (Hz, on the mel scale) at the left, time in
 * seconds below, labelled in a 3 x 5 pixel font of its own; the title goes in a PNG tEXt chunk. */
#ifndef KRAIT_AUDIO_PICTURE_H
#define KRAIT_AUDIO_PICTURE_H

#include <stddef.h>

#include "backend.h"

/* BAD_INPUT/IO (logged with the path) when it cannot be written. */
krait_status audio_picture_png(const char *path, const float *x, size_t n, int rate, size_t mark, const char *title);

#endif /* KRAIT_AUDIO_PICTURE_H */
