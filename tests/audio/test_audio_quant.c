/* tests/audio/test_audio_quant.c — mu-law and linear 8-bit quantisation: known values, the
 * G.711-style formula (mu = 255) on fresh random samples, round trips, clipping. */
#include <math.h>
#include <stdio.h>

#include "quant.h"
#include "testutil.h"

/* The formula written out independently: y = sign(x) ln(1 + 255|x|) / ln 256. */
static int mulaw_ref(double x)
{
    double y = (x < 0 ? -1 : 1) * log(1 + 255 * fabs(x)) / log(256.0);
    return (int)floor((y + 1) / 2 * 255 + 0.5);
}

static double mulaw_inv_ref(int id)
{
    double y = 2.0 * id / 255 - 1;
    return (y < 0 ? -1 : 1) * (pow(256.0, fabs(y)) - 1) / 255;
}

int main(void)
{
    tu_init("test_audio_quant");
    krait_quant q;
    tu_check(krait_quant_from_name(&q, "mulaw") && q == KRAIT_QUANT_MULAW, "name mulaw");
    tu_check(krait_quant_from_name(&q, "linear8") && q == KRAIT_QUANT_LINEAR8, "name linear8");
    tu_check(!krait_quant_from_name(&q, "alaw"), "unknown name refused");
    /* the spelled-out aliases */
    q = KRAIT_QUANT_LINEAR8;
    tu_check(krait_quant_from_name(&q, "mu-law") && q == KRAIT_QUANT_MULAW, "name mu-law");
    q = KRAIT_QUANT_MULAW;
    tu_check(krait_quant_from_name(&q, "linear") && q == KRAIT_QUANT_LINEAR8, "name linear");

    /* known values */
    tu_check(krait_quant_encode1(KRAIT_QUANT_MULAW, 0.0f) == 128, "mulaw(0) = 128, got %d", krait_quant_encode1(KRAIT_QUANT_MULAW, 0.0f));
    tu_check(krait_quant_encode1(KRAIT_QUANT_MULAW, 1.0f) == 255, "mulaw(1) = 255");
    tu_check(krait_quant_encode1(KRAIT_QUANT_MULAW, -1.0f) == 0, "mulaw(-1) = 0");
    tu_check(krait_quant_encode1(KRAIT_QUANT_MULAW, 7.0f) == 255 && krait_quant_encode1(KRAIT_QUANT_MULAW, -3.0f) == 0,
             "out of range clipped");
    tu_check(krait_quant_encode1(KRAIT_QUANT_MULAW, NAN) == 128, "NaN -> silence");
    tu_check(fabsf(krait_quant_decode1(KRAIT_QUANT_MULAW, 255) - 1.0f) < 1e-6f &&
             fabsf(krait_quant_decode1(KRAIT_QUANT_MULAW, 0) + 1.0f) < 1e-6f, "decode ends are +-1");
    /* ids outside 0..255 are clamped (quant.h), not extrapolated */
    tu_check(krait_quant_decode1(KRAIT_QUANT_MULAW, 300) == krait_quant_decode1(KRAIT_QUANT_MULAW, 255) &&
             fabsf(krait_quant_decode1(KRAIT_QUANT_MULAW, 300) - 1.0f) < 1e-6f,
             "mulaw decode of id 300 = that of 255 = 1 (got %g)", krait_quant_decode1(KRAIT_QUANT_MULAW, 300));
    tu_check(fabsf(krait_quant_decode1(KRAIT_QUANT_MULAW, -5) + 1.0f) < 1e-6f,
             "mulaw decode of id -5 = -1 (got %g)", krait_quant_decode1(KRAIT_QUANT_MULAW, -5));
    tu_check(fabsf(krait_quant_decode1(KRAIT_QUANT_LINEAR8, 999) - 1.0f) < 1e-6f &&
             fabsf(krait_quant_decode1(KRAIT_QUANT_LINEAR8, -7) + 1.0f) < 1e-6f,
             "linear8 decode of ids 999 and -7 = +-1 (got %g, %g)", krait_quant_decode1(KRAIT_QUANT_LINEAR8, 999),
             krait_quant_decode1(KRAIT_QUANT_LINEAR8, -7));
    int32_t wild[3] = { -5, 300, 999 };
    float back3[3];
    krait_quant_decode(KRAIT_QUANT_MULAW, back3, wild, 3);
    tu_check(fabsf(back3[0] + 1.0f) < 1e-6f && fabsf(back3[1] - 1.0f) < 1e-6f && fabsf(back3[2] - 1.0f) < 1e-6f, "array decode clamps ids too");
    tu_check(krait_quant_encode1(KRAIT_QUANT_LINEAR8, 0.0f) == 128 && krait_quant_encode1(KRAIT_QUANT_LINEAR8, 1.0f) == 255 &&
             krait_quant_encode1(KRAIT_QUANT_LINEAR8, -1.0f) == 0, "linear8 ends and silence");

    /* fresh random samples against the formula; quiet samples (where mu-law spends its levels) too */
    int bad = 0, bad_inv = 0;
    for (int i = 0; i < 200000; i++) {
        double x = i % 2 ? tu_uniform(-1, 1) : tu_uniform(-0.01, 0.01);
        int got = krait_quant_encode1(KRAIT_QUANT_MULAW, (float)x), want = mulaw_ref((float)x);
        if (got != want && bad++ < 5) printf("x %.9g: id %d, formula %d\n", x, got, want);
    }
    tu_check(bad == 0, "mu-law ids equal the formula on 200000 random samples (%d differ)", bad);
    for (int id = 0; id < 256; id++) {
        double back = krait_quant_decode1(KRAIT_QUANT_MULAW, id);
        if (fabs(back - mulaw_inv_ref(id)) > 1e-6) bad_inv++;
        if (krait_quant_encode1(KRAIT_QUANT_MULAW, (float)back) != id) bad_inv++;
        if (krait_quant_encode1(KRAIT_QUANT_LINEAR8, krait_quant_decode1(KRAIT_QUANT_LINEAR8, id)) != id) bad_inv++;
    }
    tu_check(bad_inv == 0, "every id decodes to the inverse formula and encodes back to itself (mulaw, linear8): %d bad", bad_inv);
    /* round trip error: mu-law is fine near 0, linear is uniform */
    double worst_small = 0, worst_lin = 0;
    for (int i = 0; i < 100000; i++) {
        float x = (float)tu_uniform(-0.01, 0.01);
        float y = krait_quant_decode1(KRAIT_QUANT_MULAW, krait_quant_encode1(KRAIT_QUANT_MULAW, x));
        worst_small = fmax(worst_small, fabs(y - x));
        float u = (float)tu_uniform(-1, 1);
        float v = krait_quant_decode1(KRAIT_QUANT_LINEAR8, krait_quant_encode1(KRAIT_QUANT_LINEAR8, u));
        worst_lin = fmax(worst_lin, fabs(v - u));
    }
    tu_check(worst_small < 0.0004, "mu-law round trip on |x| <= 0.01 within 4e-4 (worst %.6f)", worst_small);
    tu_check(worst_lin <= 1.0 / 255 + 1e-6, "linear8 round trip within half a step (worst %.6f)", worst_lin);
    /* monotone */
    int mono = 1;
    for (int id = 1; id < 256; id++) mono &= krait_quant_decode1(KRAIT_QUANT_MULAW, id) > krait_quant_decode1(KRAIT_QUANT_MULAW, id - 1);
    tu_check(mono, "mu-law decode is increasing");
    /* arrays */
    float xs[5] = { -1, -0.5f, 0, 0.5f, 1 }, ys[5];
    int32_t ids[5];
    krait_quant_encode(KRAIT_QUANT_MULAW, ids, xs, 5);
    krait_quant_decode(KRAIT_QUANT_MULAW, ys, ids, 5);
    tu_check(ids[2] == 128 && fabsf(ys[3] - 0.5f) < 0.02f, "array encode/decode");
    return tu_finish();
}
