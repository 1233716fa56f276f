/* modalities/audio/quant.c — mu-law and linear 8-bit quantisation; see quant.h. */
#include <math.h>
#include <string.h>

#include "quant.h"

#define MU 255.0

int krait_quant_from_name(krait_quant *q, const char *name)
{
    if (!strcmp(name, "mulaw") || !strcmp(name, "mu-law")) {
        *q = KRAIT_QUANT_MULAW;
        return 1;
    }
    if (!strcmp(name, "linear8") || !strcmp(name, "linear")) {
        *q = KRAIT_QUANT_LINEAR8;
        return 1;
    }
    return 0;
}

const char *krait_quant_name(krait_quant q) { return q == KRAIT_QUANT_MULAW ? "mulaw" : "linear8"; }

int32_t krait_quant_encode1(krait_quant q, float xf)
{
    double x = isnan(xf) ? 0.0 : xf;
    x = x > 1.0 ? 1.0 : x < -1.0 ? -1.0 : x;
    double y = x;
    if (q == KRAIT_QUANT_MULAW) y = (x < 0 ? -1.0 : 1.0) * log1p(MU * fabs(x)) / log1p(MU);
    int32_t id = (int32_t)floor((y + 1.0) / 2.0 * MU + 0.5);
    return id < 0 ? 0 : id > 255 ? 255 : id;
}

float krait_quant_decode1(krait_quant q, int32_t id)
{
    id = id < 0 ? 0 : id > 255 ? 255 : id;
    double y = id / MU * 2.0 - 1.0;
    if (q == KRAIT_QUANT_LINEAR8) return (float)y;
    return (float)((y < 0 ? -1.0 : 1.0) * expm1(fabs(y) * log1p(MU)) / MU);
}

void krait_quant_encode(krait_quant q, int32_t *ids, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) ids[i] = krait_quant_encode1(q, x[i]);
}

void krait_quant_decode(krait_quant q, float *x, const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = krait_quant_decode1(q, ids[i]);
}
