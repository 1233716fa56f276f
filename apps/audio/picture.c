/* apps/audio/picture.c — waveform + spectrogram PNG; see picture.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <png.h>

#include "cli.h"
#include "fsutil.h"
#include "log.h"
#include "melspec.h"
#include "picture.h"

#define W 1000
#define HW 200     /* waveform rows */
#define GAP 6
#define HS 256     /* spectrogram rows */
#define H (HW + GAP + HS)
#define ML 48      /* left margin: amplitude and frequency labels */
#define MT 6       /* top margin: room for the +1 label */
#define AX 18      /* bottom strip: the time axis */
#define IW (ML + W)
#define IH (MT + H + AX)

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

/* ---- axis labels: a 3 x 5 pixel font, drawn at twice its size ---------------------------------- */
static const char glyph_chars[] = "0123456789.s-+kHz";
static const unsigned char glyphs[][5] = {
    { 7, 5, 5, 5, 7 }, { 2, 6, 2, 2, 7 }, { 7, 1, 7, 4, 7 }, { 7, 1, 7, 1, 7 }, { 5, 5, 7, 1, 1 }, /* 0-4 */
    { 7, 4, 7, 1, 7 }, { 7, 4, 7, 5, 7 }, { 7, 1, 1, 1, 1 }, { 7, 5, 7, 5, 7 }, { 7, 5, 7, 1, 7 }, /* 5-9 */
    { 0, 0, 0, 0, 2 }, { 3, 4, 2, 1, 6 }, { 0, 0, 7, 0, 0 }, { 0, 2, 7, 2, 0 }, { 4, 5, 6, 5, 5 }, /* . s - + k */
    { 5, 5, 7, 5, 5 }, { 0, 7, 1, 2, 7 },                                                         /* H z */
};
enum { GS = 2, GW = 4 * GS }; /* glyph scale; advance per character */

static int text_w(const char *t) { return (int)strlen(t) * GW - GS; }

/* t at (x, y) = its top left, dark grey, clipped to the image */
static void text_at(unsigned char *img, int x, int y, const char *t)
{
    for (; *t; t++, x += GW) {
        const char *g = strchr(glyph_chars, *t);
        if (!g) continue;
        const unsigned char *rows = glyphs[g - glyph_chars];
        for (int r = 0; r < 5 * GS; r++)
            for (int c = 0; c < 3 * GS; c++) {
                int px = x + c, py = y + r;
                if (px < 0 || px >= IW || py < 0 || py >= IH || !(rows[r / GS] >> (2 - c / GS) & 1)) continue;
                unsigned char *p = img + ((size_t)py * IW + px) * 3;
                p[0] = p[1] = p[2] = 60;
            }
    }
}

static void hline(unsigned char *img, int x0, int x1, int y)
{
    for (int x = x0; x <= x1; x++) {
        unsigned char *p = img + ((size_t)y * IW + x) * 3;
        p[0] = p[1] = p[2] = 60;
    }
}

/* The plot (W x H, from draw) at (ML, MT), the amplitude and frequency labels left of it and the
 * time axis below: ticks at 1-2-5 steps of seconds, about ten over the clip. */
static void frame(unsigned char *img, const unsigned char *plot, size_t n, int rate)
{
    memset(img, 255, (size_t)IW * IH * 3);
    for (int y = 0; y < H; y++) memcpy(img + ((size_t)(MT + y) * IW + ML) * 3, plot + (size_t)y * W * 3, (size_t)W * 3);
    static const struct { int y; const char *t; } amp[] = { { 0, "+1" }, { HW / 2, "0" }, { HW - 1, "-1" } };
    for (int i = 0; i < 3; i++) {
        hline(img, ML - 4, ML - 1, MT + amp[i].y);
        text_at(img, ML - 6 - text_w(amp[i].t), MT + amp[i].y - 5 * GS / 2, amp[i].t);
    }
    krait_mel_params mp = krait_mel_default_params(rate);
    mp.n_mels = 64;
    static const int hz[] = { 250, 500, 1000, 2000, 4000, 8000, 16000, 32000 };
    int last_y = MT + H + 100;
    for (size_t i = 0; i < sizeof hz / sizeof *hz && hz[i] < rate / 2; i++) {
        const double band = krait_mel_band_at(&mp, hz[i]);
        const int y = MT + HW + GAP + HS - 1 - (int)lround((band + 0.5) / mp.n_mels * HS);
        if (y < MT + HW + GAP + 5 || last_y - y < 5 * GS + 6) continue; /* off the picture, or on the label below it */
        char t[16];
        if (hz[i] >= 1000) snprintf(t, sizeof t, "%dkHz", hz[i] / 1000);
        else snprintf(t, sizeof t, "%dHz", hz[i]);
        hline(img, ML - 4, ML - 1, y);
        text_at(img, ML - 6 - text_w(t), y - 5 * GS / 2, t);
        last_y = y;
    }
    const double dur = rate > 0 ? (double)n / rate : 0;
    if (dur <= 0) return;
    double step = 1e-3;
    for (int k = 0; dur / step > 10; k++) step *= k % 3 == 1 ? 2.5 : 2; /* 1, 2, 5, 10, 20, 50 ... ms */
    for (int k = 0; k * step <= dur * (1 + 1e-9); k++) {
        const int x = ML + (int)lround(k * step / dur * (W - 1));
        for (int y = MT + H; y < MT + H + 4; y++) {
            unsigned char *p = img + ((size_t)y * IW + x) * 3;
            p[0] = p[1] = p[2] = 60;
        }
        char t[32];
        snprintf(t, sizeof t, "%gs", k * step);
        int tx = x - text_w(t) / 2;
        if (tx + text_w(t) > IW - 1) tx = IW - 1 - text_w(t);
        text_at(img, tx, MT + H + 6, t);
    }
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

/* libpng's own error line would come before krait's: the error is said once, by the caller */
static void quiet_png_error(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

krait_status audio_picture_png(const char *path, const float *x, size_t n, int rate, size_t mark, const char *title)
{
    unsigned char *plot = malloc((size_t)W * H * 3), *img = malloc((size_t)IW * IH * 3);
    if (!plot || !img) {
        free(plot), free(img);
        return KRAIT_STATUS_NO_MEMORY;
    }
    draw(plot, x, n, rate, mark);
    frame(img, plot, n, rate);
    free(plot);
    /* written to a temporary beside it, renamed over it once whole: a failed write (a full disk)
     * leaves no cut PNG and the earlier picture as it was */
    char *tmp = NULL;
    int fd = krait_fs_temp_beside(path, ".png", &tmp);
    if (fd >= 0) krait_cli_temp_add(tmp); /* removed if the process is stopped */
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        const int err = errno;
        KRAIT_ERROR("%s: cannot open a temporary file beside it for writing (%s)", path, strerror(err));
        if (fd >= 0) close(fd), unlink(tmp), krait_cli_temp_done(tmp);
        free(tmp), free(img);
        return krait_fs_errno_status(err);
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, quiet_png_error, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        unlink(tmp), krait_cli_temp_done(tmp);
        free(tmp), free(img);
        KRAIT_ERROR("%s: PNG write failed (%s)", path, strerror(errno ? errno : EIO));
        return KRAIT_STATUS_IO;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, IW, IH, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_text text = { .compression = PNG_TEXT_COMPRESSION_NONE, .key = "Title", .text = (char *)title };
    if (title) png_set_text(png, info, &text, 1);
    png_write_info(png, info);
    for (int y = 0; y < IH; y++) png_write_row(png, img + (size_t)y * IW * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(img);
    if (fflush(f) != 0 || ferror(f) || fclose(f) != 0 || rename(tmp, path) != 0) {
        KRAIT_ERROR("%s: write failed (%s)", path, strerror(errno ? errno : EIO));
        unlink(tmp), krait_cli_temp_done(tmp);
        free(tmp);
        return KRAIT_STATUS_IO;
    }
    krait_cli_temp_done(tmp);
    free(tmp);
    return KRAIT_STATUS_OK;
}
