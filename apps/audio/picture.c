/* apps/audio/picture.c — waveform + spectrogram PNG; see picture.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "log.h"
#include "melspec.h"
#include "picture.h"

#define W 1000
#define HW 200     /* waveform rows */
#define GAP 6
#define HS 256     /* spectrogram rows */
#define H (HW + GAP + HS)

/* A dark-blue -> teal -> yellow colour ramp (viridis-like) at v in [0, 1]. */
static void ramp(unsigned char *rgb, double v)
{
    static const double k[5][3] = { { 68, 1, 84 }, { 59, 82, 139 }, { 33, 145, 140 }, { 94, 201, 98 }, { 253, 231, 37 } };
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    double p = v * 4;
    int i = p >= 4 ? 3 : (int)p;
    double f = p - i;
    for (int c = 0; c < 3; c++) rgb[c] = (unsigned char)lround(k[i][c] + f * (k[i + 1][c] - k[i][c]));
}

static void draw(unsigned char *img, const float *x, size_t n, int rate, size_t mark)
{
    memset(img, 255, (size_t)W * H * 3);
    size_t mark_col = n ? (size_t)((double)mark / n * W) : 0;
    /* waveform */
    for (int col = 0; col < W; col++) {
        size_t a = (size_t)((double)col / W * n), b = (size_t)((double)(col + 1) / W * n);
        if (b <= a) b = a + 1;
        float lo = 0, hi = 0;
        for (size_t i = a; i < b && i < n; i++) lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
        int y0 = (int)lround((1 - hi) / 2 * (HW - 1)), y1 = (int)lround((1 - lo) / 2 * (HW - 1));
        y0 = y0 < 0 ? 0 : y0, y1 = y1 > HW - 1 ? HW - 1 : y1;
        for (int y = 0; y < HW; y++) {
            unsigned char *p = img + ((size_t)y * W + col) * 3;
            if ((size_t)col < mark_col) p[0] = p[1] = p[2] = 232;
            if (y == HW / 2) p[0] = p[1] = p[2] = 180;
            if (y >= y0 && y <= y1) p[0] = 31, p[1] = 119, p[2] = 180;
        }
    }
    /* spectrogram: one frame per column */
    krait_mel_params mp = krait_mel_default_params(rate);
    mp.n_mels = 64, mp.cmvn = 0;
    mp.hop = n / W > 1 ? (int)(n / W) : 1;
    krait_mel *mel = krait_mel_init(&mp);
    if (!mel) return;
    int T = krait_mel_frames(mel, n);
    float *spec = malloc(sizeof *spec * (size_t)T * mp.n_mels);
    if (spec) {
        krait_mel_compute(mel, spec, x, n);
        float mx = -INFINITY;
        for (size_t i = 0; i < (size_t)T * mp.n_mels; i++) mx = spec[i] > mx ? spec[i] : mx;
        const float range = 11.5f; /* natural log: ~50 dB */
        for (int col = 0; col < W; col++) {
            int t = (int)((double)col / W * T);
            for (int y = 0; y < HS; y++) {
                int band = (int)((double)(HS - 1 - y) / HS * mp.n_mels);
                float v = (spec[(size_t)t * mp.n_mels + band] - (mx - range)) / range;
                ramp(img + ((size_t)(HW + GAP + y) * W + col) * 3, v);
            }
        }
    }
    free(spec);
    krait_mel_free(mel);
    if (mark > 0 && mark < n)
        for (int y = 0; y < H; y++) {
            unsigned char *p = img + ((size_t)y * W + (mark_col < W ? mark_col : W - 1)) * 3;
            p[0] = 214, p[1] = 39, p[2] = 40;
        }
}

krait_status audio_picture_png(const char *path, const float *x, size_t n, int rate, size_t mark, const char *title)
{
    unsigned char *img = malloc((size_t)W * H * 3);
    if (!img) return KRAIT_STATUS_NO_MEMORY;
    draw(img, x, n, rate, mark);
    FILE *f = fopen(path, "wb");
    if (!f) {
        KRAIT_ERROR("%s: cannot open for writing (%s)", path, strerror(errno));
        free(img);
        return KRAIT_STATUS_BAD_INPUT;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        free(img);
        KRAIT_ERROR("%s: PNG write failed", path);
        return KRAIT_STATUS_IO;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_text text = { .compression = PNG_TEXT_COMPRESSION_NONE, .key = "Title", .text = (char *)title };
    if (title) png_set_text(png, info, &text, 1);
    png_write_info(png, info);
    for (int y = 0; y < H; y++) png_write_row(png, img + (size_t)y * W * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(img);
    if (fclose(f) != 0) {
        KRAIT_ERROR("%s: write failed", path);
        return KRAIT_STATUS_IO;
    }
    return KRAIT_STATUS_OK;
}
