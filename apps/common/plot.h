/* apps/common/plot.h — a small self-contained SVG line plot: axes with round-number ticks,
 * several series (lines, optionally with point markers), a legend, a title. Linear axes, or a
 * log2/log10 x axis for quantities like context position. Used for training curves
 * (krait-text train: curves.svg) and loss by position (krait-text eval --positions), and a
 * confusion-matrix grid for the classifiers.
 *
 * It writes the file atomically (temporary name + rename), so a viewer never sees half a plot.
 * Points whose x or y is not finite (or x <= 0 on a log axis) are skipped. It does not read
 * data files; callers pass arrays. */
#ifndef KRAIT_PLOT_H
#define KRAIT_PLOT_H

#include "backend.h"

typedef struct krait_plot_series {
    const char *name;       /* legend text */
    const double *x, *y;    /* (n) */
    int n;
    int markers;            /* 1: a dot at every point (sparse series such as validation) */
} krait_plot_series;

typedef struct krait_plot {
    const char *title, *xlabel, *ylabel;
    int log_x;              /* 1: logarithmic x axis */
    int width, height;      /* pixels; 0 = 720 x 440 */
} krait_plot;

/* Write the plot to path. BAD_INPUT/IO (logged with the path) when it cannot be written. */
krait_status krait_plot_svg(const char *path, const krait_plot *p, const krait_plot_series *series, int n_series);

/* A confusion matrix (C, C: row = true class, column = predicted) as a shaded grid with the
 * counts; names (C) label the classes (NULL: 0..C-1). */
krait_status krait_plot_confusion_svg(const char *path, const char *title, const char *const *names, int C,
                                      const long *confusion);

/* The display width of s in character cells, of its first max characters (0: all): an East
 * Asian wide or fullwidth character takes 2, a combining mark 0 (utf8proc's widths). Bytes that
 * are not UTF-8 count 1 each. For laying out text in pictures and on the terminal. */
int krait_plot_columns(const char *s, int max);

#endif /* KRAIT_PLOT_H */
