/* apps/common/cli_output.c — output files (see cli.h): an output that appears whole or not at
 * all (written under a temporary name, renamed over its path on close), the list of temporaries
 * removed at exit or, through krait_cli_unlink_temps_now, by a killing signal; the checks before
 * a command writes (an output that is one of its inputs, two outputs or inputs named twice, a
 * missing folder, a picture's file name) and the text a command writes into a file (TSV fields,
 * a confusion matrix). Deliberately not here: the signal handlers themselves (cli_signal.c), a
 * run folder's claiming and locking (runfolder.c), what a run writes (runfiles.c). */
#include "cli.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli_impl.h"
#include "fsutil.h"
#include "plot.h"

/* Outputs being written (krait_cli_output_open), removed at exit unless closed. */
static struct pending_output {
    FILE *f;
    char *tmp, *path;
} pending[8];

/* Temporaries written by other means (krait_cli_temp_add): removed with the pending outputs. */
static char *temps[8];

static void remove_pending_outputs(void)
{
    for (size_t i = 0; i < sizeof pending / sizeof *pending; i++) {
        if (!pending[i].f) continue;
        fclose(pending[i].f);
        if (pending[i].tmp) unlink(pending[i].tmp);
        pending[i].f = NULL;
    }
    for (size_t i = 0; i < sizeof temps / sizeof *temps; i++)
        if (temps[i]) unlink(temps[i]), free(temps[i]), temps[i] = NULL;
}

/* A signal that ends the program (Ctrl-C, kill) while outputs are pending: their temporary
 * files removed (unlink is async-signal-safe). Called by the handlers of cli_signal.c. */
void krait_cli_unlink_temps_now(void)
{
    for (size_t i = 0; i < sizeof pending / sizeof *pending; i++)
        if (pending[i].f && pending[i].tmp) unlink(pending[i].tmp);
    for (size_t i = 0; i < sizeof temps / sizeof *temps; i++)
        if (temps[i]) unlink(temps[i]);
    krait_fs_unlink_temps_now(); /* the library's atomic writes in progress */
}

void krait_cli_refuse_overwrite(const char *path, const char *opt, const char *const *reads, int n)
{
    if (!path) return;
    for (int i = 0; i < n; i++) {
        const char *r = reads[i];
        if (!r) continue;
        if (!strcmp(path, r) || krait_fs_same(path, r))
            krait_cli_die(2, "%s %s: that is an input of this command; writing it would destroy it", opt, path);
        if (krait_fs_is_dir(r) && krait_fs_is_file(path) && krait_fs_within(path, r))
            krait_cli_die(2, "%s %s: that is a file of %s, which this command reads; writing it would destroy it", opt,
                          path, r);
    }
}

void krait_cli_refuse_same_output(const char *a, const char *opt_a, const char *b, const char *opt_b)
{
    struct stat sb; /* a device or pipe (/dev/null) is written in place: two outputs may share it */
    if (a && stat(a, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) return;
    if (a && b && (!strcmp(a, b) || krait_fs_same(a, b)))
        krait_cli_die(2, "%s %s: the same file as %s (give each output its own name)", opt_b, b, opt_a);
}

void krait_cli_output_unlink_old(const char *path)
{
    int direct;
    char *target = krait_fs_output_target(path, &direct); /* a link's file, not the link */
    if (!target) krait_cli_die(1, "out of memory");
    if (!direct && unlink(target) != 0 && errno != ENOENT)
        krait_cli_die(1, "%s: cannot replace it (%s)", path, strerror(errno));
    free(target);
}

void krait_cli_refuse_repeated(const krait_str_list *l, const char *opt)
{
    for (int i = 1; i < l->n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(l->items[i], l->items[j]) || krait_fs_same(l->items[i], l->items[j]))
                krait_cli_die(2, "%s %s: given twice (its contents would count twice)", opt, l->items[i]);
}

void krait_cli_check_picture(const char *path, const char *opt, const char *ext, const char *kind)
{
    struct stat sb;
    if (!path || (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))) return; /* a device, a pipe */
    size_t l = strlen(path), e = strlen(ext);
    if (!(l > e && !strcasecmp(path + l - e, ext)))
        krait_cli_die(2, "%s %s: the picture is %s: give a name ending in %s", opt, path, kind, ext);
}

void krait_cli_check_output_path(const char *path, const char *opt)
{
    if (!path) return;
    if (krait_fs_is_dir(path)) krait_cli_die(2, "%s %s: a folder; give a file name to write", opt, path);
    char *dir = krait_fs_dirname(path);
    if (!dir) krait_cli_die(1, "out of memory");
    if (!krait_fs_is_dir(dir)) krait_cli_die(2, "%s: no such folder for %s %s", dir, opt, path);
    if (access(dir, W_OK | X_OK) != 0) /* the output is written under a temporary name in dir */
        krait_cli_die(2, "%s: cannot write in this folder for %s %s (%s)", dir, opt, path, strerror(errno));
    free(dir);
}

/* The clean-up of unfinished outputs at exit, set up once (on a killing signal: krait_cli_start). */
static void register_cleanup(void)
{
    static int registered;
    if (!registered) atexit(remove_pending_outputs), registered = 1;
}

void krait_cli_temp_add(const char *path)
{
    register_cleanup();
    size_t i = 0;
    while (i < sizeof temps / sizeof *temps && temps[i]) i++;
    if (i == sizeof temps / sizeof *temps) krait_cli_die(1, "%s: too many temporary files", path);
    char *dup = strdup(path);
    if (!dup) krait_cli_die(1, "out of memory");
    atomic_signal_fence(memory_order_seq_cst); /* on_fatal_signal sees the name whole */
    temps[i] = dup;
}

void krait_cli_temp_done(const char *path)
{
    for (size_t i = 0; i < sizeof temps / sizeof *temps; i++)
        if (temps[i] && !strcmp(temps[i], path)) {
            char *p = temps[i];
            temps[i] = NULL;
            free(p);
        }
}

FILE *krait_cli_output_open(const char *path)
{
    register_cleanup();
    size_t i = 0;
    while (i < sizeof pending / sizeof *pending && pending[i].f) i++;
    if (i == sizeof pending / sizeof *pending) krait_cli_die(1, "%s: too many output files open", path);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) krait_cli_die(2, "%s: a folder; give a file name to write", path);
    int direct; /* /dev/null, a pipe: written in place (a rename would replace the device itself) */
    char *target = krait_fs_output_target(path, &direct);
    if (!target) krait_cli_die(1, "out of memory");
    char *tmp = NULL;
    FILE *f;
    if (direct) {
        f = fopen(target, "w");
        if (!f) krait_cli_die(krait_cli_errno_exit(errno), "%s: cannot open for writing (%s)", path,
                              strerror(errno));
    } else {
        size_t n = strlen(target) + 16;
        if (!(tmp = malloc(n))) krait_cli_die(1, "out of memory");
        snprintf(tmp, n, "%s.tmp-XXXXXX", target);
        int fd = mkstemp(tmp);
        f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) krait_cli_die(krait_cli_errno_exit(errno), "%s: cannot open for writing (%s)", path,
                              strerror(errno));
        fchmod(fd, krait_fs_file_mode()); /* mkstemp makes 0600; an output is an ordinary file */
    }
    pending[i].tmp = tmp, pending[i].path = target;
    atomic_signal_fence(memory_order_seq_cst); /* on_fatal_signal sees f only with its name set */
    pending[i].f = f;
    return f;
}

void krait_cli_output_close(FILE *f)
{
    for (size_t i = 0; i < sizeof pending / sizeof *pending; i++) {
        if (pending[i].f != f) continue;
        struct pending_output o = pending[i];
        pending[i].f = NULL;
        int bad = ferror(f) != 0;
        if (fclose(f) != 0) bad = 1;
        if (bad || (o.tmp && rename(o.tmp, o.path) != 0)) {
            int e = errno;
            if (o.tmp) unlink(o.tmp);
            krait_cli_die(1, "%s: write failed (%s)", o.path, strerror(e));
        }
        free(o.tmp), free(o.path);
        return;
    }
}

void krait_cli_print_confusion(FILE *f, const char *const *names, int C, const long *confusion)
{
    /* widths in character cells: the longest name (never cut: two names may share a start), the
     * largest count */
    int row = 4, col = 6;
    for (int c = 0; c < C; c++) {
        int n = krait_plot_columns(names[c], 0);
        if (n > row) row = n;
        if (n > col) col = n;
    }
    for (long i = 0; i < (long)C * C; i++) {
        int n = snprintf(NULL, 0, "%ld", confusion[i]);
        if (n > col) col = n;
    }
    fprintf(f, "confusion (rows: true, columns: predicted)\n%*s", row, "");
    for (int c = 0; c < C; c++) fprintf(f, " %*s%s", col - krait_plot_columns(names[c], 0), "", names[c]);
    fprintf(f, "\n");
    for (int r = 0; r < C; r++) {
        fprintf(f, "%s%*s", names[r], row - krait_plot_columns(names[r], 0), "");
        for (int c = 0; c < C; c++) fprintf(f, " %*ld", col, confusion[(size_t)r * C + c]);
        fprintf(f, "\n");
    }
}

void krait_cli_tsv_field(FILE *f, const char *s)
{
    for (; *s; s++) {
        const char *e = *s == '\t' ? "\\t" : *s == '\n' ? "\\n" : *s == '\r' ? "\\r" : *s == '\\' ? "\\\\" : NULL;
        if (e) fputs(e, f);
        else fputc(*s, f);
    }
}
