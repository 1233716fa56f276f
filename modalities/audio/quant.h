/* modalities/audio/quant.h — samples <-> 8-bit ids: mu-law (mu = 255, as G.711 / WaveNet /
 * SaShiMi) and linear. Samples are floats in [-1, 1] (clipped); ids are 0..255.
 *
 *   mu-law:  y = sign(x) ln(1 + 255 |x|) / ln(256);  id = floor((y + 1) / 2 x 255 + 0.5)
 *            back: y = id / 255 x 2 - 1;  x = sign(y) (256^|y| - 1) / 255
 *   linear:  id = floor((x + 1) / 2 x 255 + 0.5);  back: x = id / 255 x 2 - 1
 *
 * Silence (x = 0) is id 128 in both. This file does not read or write audio files. */
#ifndef KRAIT_AUDIO_QUANT_H
#define KRAIT_AUDIO_QUANT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum krait_quant { KRAIT_QUANT_MULAW = 0, KRAIT_QUANT_LINEAR8 = 1 } krait_quant;

/* "mulaw" (also "mu-law") / "linear8" (also "linear") -> kind; 1 if known. */
int krait_quant_from_name(krait_quant *q, const char *name);
const char *krait_quant_name(krait_quant q);

/* The id of silence (128). */
#define KRAIT_QUANT_SILENCE 128

int32_t krait_quant_encode1(krait_quant q, float x);
float krait_quant_decode1(krait_quant q, int32_t id);
/* ids (n) = quantised x (n); x (n) = dequantised ids (n) (ids outside 0..255 are clamped). */
void krait_quant_encode(krait_quant q, int32_t *ids, const float *x, size_t n);
void krait_quant_decode(krait_quant q, float *x, const int32_t *ids, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_AUDIO_QUANT_H */
