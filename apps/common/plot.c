/* apps/common/plot.c — SVG line plots; see plot.h. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "fsutil.h"
#include "log.h"

static const char *colors[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b" };
#define NCOLORS ((int)(sizeof colors / sizeof colors[0]))

/* A round tick step giving about `want` ticks over [lo, hi]. */
static double nice_step(double lo, double hi, int want)
{
    double raw = (hi - lo) / want;
    if (!(raw > 0)) return 1;
    double mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

static void fmt_num(char *b, size_t n, double v)
{
    double a = fabs(v);
    if (v == 0) snprintf(b, n, "0");
    else if (a >= 1e6 || a < 1e-3) snprintf(b, n, "%.3g", v);
    else snprintf(b, n, "%.6g", v);
}

/* s as XML text: < > & escaped, a byte that is not UTF-8 (or a non-character) shown as U+FFFD and a control character
 * as '?' (neither may stand in an SVG: a path or class name in a legacy encoding broke the file). */
static void escape(FILE *f, const char *s)
{
    for (const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)(s ? s : ""); *p;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t len = utf8proc_iterate(p, -1, &c);
        if (len <= 0 || (c & 0xFFFE) == 0xFFFE) fputs("\uFFFD", f), len = len <= 0 ? 1 : len; /* + U+FFFE/FFFF: not XML */
        else if (c == '<') fputs("&lt;", f);
        else if (c == '>') fputs("&gt;", f);
        else if (c == '&') fputs("&amp;", f);
        else if (c < 0x20 || c == 0x7f) fputc('?', f);
        else fwrite(p, 1, (size_t)len, f);
        p += len;
    }
}

static int usable(const krait_plot *p, double x, double y)
{
    return isfinite(x) && isfinite(y) && (!p->log_x || x > 0);
}

krait_status krait_plot_svg(const char *path, const krait_plot *p, const krait_plot_series *series, int n_series)
{
    const int W = p->width > 0 ? p->width : 720, H = p->height > 0 ? p->height : 440;
    const double ml = 70, mr = 20, mt = 36, mb = 50; /* margins */
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < series[s].n; i++) {
            double x = series[s].x[i], y = series[s].y[i];
            if (!usable(p, x, y)) continue;
            if (p->log_x) x = log10(x);
            if (x < x0) x0 = x;
            if (x > x1) x1 = x;
            if (y < y0) y0 = y;
            if (y > y1) y1 = y;
        }
    if (!(x0 <= x1)) x0 = 0, x1 = 1, y0 = 0, y1 = 1; /* nothing to draw: empty axes */
    if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
    if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
    double ys = nice_step(y0, y1, 6);
    y0 = floor(y0 / ys) * ys;
    y1 = ceil(y1 / ys) * ys;
    double xs = p->log_x ? 1 : nice_step(x0, x1, 8);
    if (!p->log_x) {
        x0 = floor(x0 / xs) * xs;
        x1 = ceil(x1 / xs) * xs;
    }
    const double pw = W - ml - mr, ph = H - mt - mb;
#define PX(x) (ml + ((x) - x0) / (x1 - x0) * pw)
#define PY(y) (mt + ph - ((y) - y0) / (y1 - y0) * ph)

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return KRAIT_STATUS_NO_MEMORY;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.1f\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">", W / 2.0);
    escape(f, p->title);
    fprintf(f, "</text>\n");
    /* grid and ticks */
    char num[64];
    for (double y = y0; y <= y1 + ys * 1e-6; y += ys) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", ml, PY(y), ml + pw, PY(y));
        fmt_num(num, sizeof num, fabs(y) < ys * 1e-6 ? 0 : y);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", ml - 6, PY(y) + 4, num);
    }
    if (p->log_x) {
        /* decades when the axis spans several, else powers of two */
        int decades = x1 - x0 >= 2.5;
        double base = decades ? 10 : 2, step = decades ? 1 : log10(2.0);
        double e0 = ceil(x0 / step - 1e-9), e1 = floor(x1 / step + 1e-9);
        int stride = (int)ceil((e1 - e0 + 1) / 10.0);
        if (stride < 1) stride = 1;
        for (double e = e0; e <= e1; e += stride) {
            double x = e * step;
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", PX(x), mt, PX(x), mt + ph);
            fmt_num(num, sizeof num, pow(base, e));
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", PX(x), mt + ph + 16, num);
        }
    } else {
        for (double x = x0; x <= x1 + xs * 1e-6; x += xs) {
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", PX(x), mt, PX(x), mt + ph);
            fmt_num(num, sizeof num, fabs(x) < xs * 1e-6 ? 0 : x);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", PX(x), mt + ph + 16, num);
        }
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n", ml, mt, pw, ph);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", ml + pw / 2, H - 12);
    escape(f, p->xlabel);
    fprintf(f, "</text>\n<text x=\"16\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 16 %.1f)\">",
            mt + ph / 2, mt + ph / 2);
    escape(f, p->ylabel);
    fprintf(f, "</text>\n");
    /* series */
    for (int s = 0; s < n_series; s++) {
        const krait_plot_series *se = &series[s];
        const char *c = colors[s % NCOLORS];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", c);
        for (int i = 0; i < se->n; i++) {
            if (!usable(p, se->x[i], se->y[i])) continue;
            double x = p->log_x ? log10(se->x[i]) : se->x[i];
            fprintf(f, "%.1f,%.1f ", PX(x), PY(se->y[i]));
        }
        fprintf(f, "\"/>\n");
        if (se->markers)
            for (int i = 0; i < se->n; i++) {
                if (!usable(p, se->x[i], se->y[i])) continue;
                double x = p->log_x ? log10(se->x[i]) : se->x[i];
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", PX(x), PY(se->y[i]), c);
            }
        /* legend entry, top right */
        double ly = mt + 14 + 18 * s, lx = ml + pw - 150;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n",
                lx, ly - 4, lx + 20, ly - 4, c);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", lx + 26, ly);
        escape(f, se->name);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</svg>\n");
#undef PX
#undef PY
    if (fclose(f) != 0 || !text) {
        free(text);
        return KRAIT_STATUS_NO_MEMORY;
    }
    krait_status st = krait_fs_write_atomic(path, text, len);
    free(text);
    return st;
}

/* Characters (UTF-8 code points) of s, up to max (0: no limit). */
static int chars(const char *s, int max)
{
    int n = 0;
    for (; s && *s && (!max || n <= max); s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int krait_plot_columns(const char *s, int max)
{
    int cols = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)(s ? s : "");
    for (int n = 0; *p && (!max || n < max); n++) {
        utf8proc_int32_t c;
        utf8proc_ssize_t len = utf8proc_iterate(p, -1, &c);
        if (len <= 0) {
            cols++, p++;
            continue;
        }
        cols += utf8proc_charwidth(c) > 1 ? 2 : utf8proc_charwidth(c) == 0 && utf8proc_category(c) == UTF8PROC_CATEGORY_MN ? 0 : 1;
        p += len;
    }
    return cols;
}

/* An estimate of the width of n character cells (columns) of sans-serif at size px: wide enough
 * for most Latin text, so that a layout sized from it keeps the text on the canvas. */
static double text_width(int n, double size) { return n * size * 0.62; }

/* s escaped, cut to max characters with an ellipsis when longer. */
static void escape_cut(FILE *f, const char *s, int max)
{
    if (chars(s, max) <= max) {
        escape(f, s);
        return;
    }
    const char *p = s;
    for (int n = 0; *p && n < max - 1; n++) /* past max - 1 whole characters */
        for (p++; ((unsigned char)*p & 0xC0) == 0x80; p++) {}
    char *cut = strndup(s, (size_t)(p - s));
    escape(f, cut ? cut : "");
    fputs("\u2026", f);
    free(cut);
}

enum { CONF_LABEL_CHARS = 24 }; /* a class name longer than this is cut (the TSV has it whole) */

krait_status krait_plot_confusion_svg(const char *path, const char *title, const char *const *names, int C,
                                      const long *confusion)
{
    /* the canvas is sized from its text: the widest class name sets the left margin and, when it
     * does not fit a column, the column names stand upright above the grid */
    const double cell = C <= 10 ? 48 : C <= 30 ? 24 : 12, mr = 20;
    char num[16];
    int widest = 1;
    for (int i = 0; i < C; i++) {
        snprintf(num, sizeof num, "%d", i);
        const char *name = names ? names[i] : num; /* a long one is shown cut: max - 1 characters and an ellipsis */
        int n = chars(name, CONF_LABEL_CHARS) > CONF_LABEL_CHARS ? krait_plot_columns(name, CONF_LABEL_CHARS - 1) + 1 : krait_plot_columns(name, 0);
        if (n > widest) widest = n;
    }
    const double label_w = text_width(widest, 11), ml0 = 28 + label_w + 10;
    const int upright = label_w > cell - 4;
    const double mt = 52 + (upright ? label_w : 0), grid = C * cell;
    static const char foot[] = "shading: share of the true class's examples";
    double W = ml0 + grid + mr, H = mt + grid + 36;
    const double title_w = text_width(krait_plot_columns(title, 0), 14) + 20, foot_w = text_width(krait_plot_columns(foot, 0), 11) + 20;
    if (W < title_w) W = title_w;
    if (W < foot_w) W = foot_w;
    const double ml = ml0 + (W - (ml0 + grid + mr)) / 2; /* the grid and its labels centred under a wider title */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return KRAIT_STATUS_NO_MEMORY;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    fprintf(f, "<text x=\"%.1f\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">", W / 2);
    escape(f, title);
    double pc = ml + grid / 2; /* "predicted class" over the grid, kept on the canvas */
    const double pc_half = text_width(15, 11) / 2 + 4;
    if (pc + pc_half > W) pc = W - pc_half;
    fprintf(f, "</text>\n<text x=\"%.1f\" y=\"38\" text-anchor=\"middle\">predicted class</text>\n", pc);
    fprintf(f, "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">true class</text>\n",
            mt + grid / 2, mt + grid / 2);
    for (int i = 0; i < C; i++) {
        long row = 0;
        for (int j = 0; j < C; j++) row += confusion[(size_t)i * C + j];
        /* row label and column label */
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", ml - 6, mt + (i + 0.5) * cell + 4);
        snprintf(num, sizeof num, "%d", i);
        escape_cut(f, names ? names[i] : num, CONF_LABEL_CHARS);
        const double cx = ml + (i + 0.5) * cell;
        if (upright)
            fprintf(f, "</text>\n<text x=\"%.1f\" y=\"%.1f\" transform=\"rotate(-90 %.1f %.1f)\">", cx + 4, mt - 6,
                    cx + 4, mt - 6);
        else
            fprintf(f, "</text>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", cx, mt - 6);
        escape_cut(f, names ? names[i] : num, CONF_LABEL_CHARS);
        fprintf(f, "</text>\n");
        for (int j = 0; j < C; j++) {
            long v = confusion[(size_t)i * C + j];
            double frac = row ? (double)v / row : 0; /* shade by the share of the true class */
            int shade = (int)lround(255 * (1 - 0.85 * frac));
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"rgb(%d,%d,255)\" stroke=\"#999\"/>\n",
                    ml + j * cell, mt + i * cell, cell, cell, shade, shade);
            if (cell >= 24)
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">%ld</text>\n",
                        ml + (j + 0.5) * cell, mt + (i + 0.5) * cell + 4, frac > 0.5 ? "white" : "black", v);
        }
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", W / 2, H - 10, foot);
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0 || !text) {
        free(text);
        return KRAIT_STATUS_NO_MEMORY;
    }
    krait_status st = krait_fs_write_atomic(path, text, len);
    free(text);
    return st;
}
