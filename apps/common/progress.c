/* apps/common/progress.c — progress on stderr (see cli.h): one line redrawn in place on a
 * terminal, a plain line every N calls otherwise (and always for a child process that shares
 * stderr, krait_cli_child), each written with one write() so that lines of processes sharing
 * stderr never mix; the open redrawn line that messages wipe first (krait_cli_end_tty_line);
 * durations as "1h02m". Deliberately not here: what a line says (the commands), messages and
 * errors (cli.c). */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "cli_impl.h"
#include "train.h"

int krait_cli_plain_progress; /* krait_cli_child: progress as plain lines even on a terminal */

/* A progress line is drawn on the terminal and not ended: a message wipes it first. */
volatile int krait_cli_tty_line_open;

void krait_cli_end_tty_line(void)
{
    if (!krait_cli_tty_line_open) return;
    krait_cli_tty_line_open = 0;
    ssize_t w = write(STDERR_FILENO, "\r\033[K", 4);
    (void)w;
}

void krait_progress_init(krait_progress *p, int every)
{
    p->tty = !krait_cli_plain_progress && isatty(2);
    p->last = 0;
    p->calls = 0;
    p->every = every > 0 ? every : 1;
}

void krait_progress_line(krait_progress *p, int force, const char *fmt, ...)
{
    if (!force) p->calls++; /* a forced line (a validation's) keeps the others on the step grid */
    double now = krait_now();
    if (p->tty) {
        if (!force && now - p->last < 0.2) return;
    } else if (!force && (p->calls % p->every) != 0) {
        return;
    }
    p->last = now;
    /* one write, so that the lines of processes sharing stderr (krait_cli_child) never mix */
    char line[1024];
    int n = snprintf(line, sizeof line, p->tty ? "\r\033[K%s: " : "%s: ", krait_cli_prog());
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof line) n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line - 1) n = (int)sizeof line - 2; /* cut, keeping room for the newline */
    if (!p->tty) line[n++] = '\n';
    fflush(stderr);
    ssize_t w = write(STDERR_FILENO, line, (size_t)n); /* a pipe takes up to PIPE_BUF bytes whole */
    (void)w;
    if (p->tty) krait_cli_tty_line_open = 1;
}

void krait_progress_clear(krait_progress *p)
{
    if (p->tty && krait_cli_tty_line_open) {
        fflush(stdout);
        krait_cli_end_tty_line();
    }
}

void krait_progress_done(krait_progress *p)
{
    if (p->tty && krait_cli_tty_line_open) fprintf(stderr, "\n");
    if (p->tty) krait_cli_tty_line_open = 0;
}

const char *krait_fmt_duration(double s, char buf[32])
{
    if (s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, 32, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, 32, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, 32, "%lds", t);
    return buf;
}
