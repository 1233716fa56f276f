/* apps/common/cli.c — see cli.h. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <utf8proc.h>

#include "blas_tune.h"
#include "fsutil.h"
#include "log.h"
#include "plot.h"
#include "train.h"

#ifndef KRAIT_CONFIG_DIR
#define KRAIT_CONFIG_DIR "configs"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define KRAIT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KRAIT_ASAN 1
#endif
#endif
#ifdef KRAIT_ASAN
#include <sanitizer/lsan_interface.h>
/* ASan reads this at start-up; ASAN_OPTIONS still overrides it. See krait_cli_done. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "leak_check_at_exit=0"; }
#endif

static const char *prog_name = "krait";
static volatile sig_atomic_t stop_flag;
static int plain_progress; /* krait_cli_child: progress as plain lines even on a terminal */
static int mem_sharers = 1; /* krait_cli_child: processes whose memory needs add up */

const char *krait_cli_prog(void) { return prog_name; }

static void remove_pending_on_signals(void);

static int errors_held, n_held;
/* A progress line is drawn on the terminal and not ended: a message wipes it first. */
static volatile int tty_line_open;

static void end_tty_line(void)
{
    if (!tty_line_open) return;
    tty_line_open = 0;
    ssize_t w = write(STDERR_FILENO, "\r\033[K", 4);
    (void)w;
}
static char held[4][1024];

/* A program that exits while holding errors (a failure on the way to releasing them) still says
 * them. */
static void release_held_at_exit(void)
{
    if (errors_held && n_held) krait_cli_errors_release(0);
}

void krait_cli_errors_hold(void)
{
    static int registered;
    if (!registered) atexit(release_held_at_exit), registered = 1;
    errors_held = 1;
    n_held = 0;
}

void krait_cli_errors_discard(void) { errors_held = n_held = 0; }

/* An error or warning is one line: control characters inside it (a file name or a record holding
 * a newline, say) are written as escapes (\n, \t, \xHH), in place; UTF-8 is left as it is. A line
 * too long for cap ends in "..." after a whole character. */
static void one_line(char *s, size_t cap)
{
    char tmp[2048];
    const size_t room = (cap < sizeof tmp ? cap : sizeof tmp) - 4; /* "..." and the NUL */
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (; *p && n + 4 <= room; p++) {
        if (*p >= 0x20 && *p != 0x7f) tmp[n++] = (char)*p;
        else if (*p == '\n') n += (size_t)snprintf(tmp + n, sizeof tmp - n, "\\n");
        else if (*p == '\t') n += (size_t)snprintf(tmp + n, sizeof tmp - n, "\\t");
        else n += (size_t)snprintf(tmp + n, sizeof tmp - n, "\\x%02x", *p);
    }
    if (*p) { /* cut short: drop a character begun but not finished, then "..." */
        if ((*p & 0xC0) == 0x80) {
            while (n > 0 && ((unsigned char)tmp[n - 1] & 0xC0) == 0x80) n--;
            if (n > 0 && (unsigned char)tmp[n - 1] >= 0xC0) n--;
        }
        n += (size_t)snprintf(tmp + n, sizeof tmp - n, "...");
    } else { /* a message cut short before it came here may end inside a character */
        size_t j = n, k = 0;
        while (j > 0 && k < 3 && ((unsigned char)tmp[j - 1] & 0xC0) == 0x80) j--, k++;
        const unsigned char lead = j > 0 ? (unsigned char)tmp[j - 1] : 0;
        const size_t want = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : k;
        if (lead >= 0xC0 && k < want) n = j - 1 + (size_t)snprintf(tmp + j - 1, sizeof tmp - (j - 1), "...");
    }
    tmp[n] = '\0';
    memcpy(s, tmp, n + 1);
}

void krait_cli_errors_release(int skipped)
{
    if (n_held) end_tty_line();
    for (int i = 0; i < n_held; i++)
        fprintf(stderr, "%s: %s%s\n", prog_name, skipped ? "warning: skipped " : "error: ", held[i]);
    errors_held = n_held = 0;
}

static void log_to_stderr(krait_log_level level, const char *msg, void *user)
{
    (void)user;
    static const char *tag[] = { "error: ", "warning: ", "", "debug: " };
    char line[2048];
    snprintf(line, sizeof line, "%s", msg);
    if (level <= KRAIT_LOG_WARN) one_line(line, sizeof line);
    if (level == KRAIT_LOG_ERROR && errors_held && n_held < 4) {
        snprintf(held[n_held++], sizeof held[0], "%.1023s", line);
        return;
    }
    end_tty_line();
    fprintf(stderr, "%s: %s%s\n", prog_name, tag[level], line);
}

void krait_cli_start(const char *prog, int argc, char **argv)
{
    (void)argc;
    prog_name = prog;
    /* stdin, stdout or stderr closed (`>&-`): /dev/null, read-only, takes its place, so that no
     * file opened later becomes fd 1 (a summary would land in it) and a write there fails, as
     * krait_cli_done reports */
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int got = open("/dev/null", O_RDONLY);
            if (got >= 0 && got != fd) close(got); /* a lower one was free: not ours to fill */
        }
    /* A file over the size limit (ulimit -f) makes write() fail with EFBIG, reported like a full
     * disk, instead of SIGXFSZ killing the process mid-checkpoint. */
    signal(SIGXFSZ, SIG_IGN);
    remove_pending_on_signals(); /* a kill removes the temporaries of writes in progress */
    krait_log_set(log_to_stderr, NULL, getenv("KRAIT_DEBUG") ? KRAIT_LOG_DEBUG : KRAIT_LOG_INFO);
    /* OpenBLAS and libgomp read their environment when they load: set what they need and
     * start again, once. OPENBLAS_CORETYPE: see blas_tune.h. GOMP_SPINCOUNT: OpenMP threads
     * that spin for long between parallel regions steal the cores from the thread doing the
     * serial work on a small or shared machine (seen here: 4x slower small-model training on 2
     * busy cores); a short spin then sleep costs nothing measurable when the machine is idle. */
    if (!getenv("KRAIT_NO_BLAS_TUNE")) {
        int again = 0;
        const char *core = getenv("OPENBLAS_CORETYPE") ? NULL : krait_blas_better_coretype();
        if (core) {
            setenv("OPENBLAS_CORETYPE", core, 1);
            again = 1;
        }
        if (!getenv("GOMP_SPINCOUNT") && !getenv("OMP_WAIT_POLICY")) {
            setenv("GOMP_SPINCOUNT", "10000", 1);
            again = 1;
        }
        if (again) {
            setenv("KRAIT_NO_BLAS_TUNE", "1", 1);
            execv("/proc/self/exe", argv);
            /* if exec fails we simply run with the defaults */
        }
    }
}

char *krait_cli_json_utf8(char *j)
{
    if (!j) return NULL;
    size_t n = strlen(j);
    char *out = malloc(6 * n + 1), *o = out;
    if (!out) krait_cli_die(1, "out of memory");
    for (const char *p = j; *p;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = (unsigned char)*p < 0x80 ? 1 : utf8proc_iterate((const utf8proc_uint8_t *)p, -1, &cp);
        if (k > 0) memcpy(o, p, (size_t)k), o += k, p += k;
        else memcpy(o, "\\ufffd", 6), o += 6, p++;
    }
    *o = 0;
    free(j);
    return out;
}

void krait_cli_print_json(cJSON *o)
{
    char *j = krait_cli_json_utf8(cJSON_PrintUnformatted(o));
    if (!j) krait_cli_die(1, "out of memory");
    printf("%s\n", j);
    free(j);
    cJSON_Delete(o);
}

void krait_cli_die(int code, const char *fmt, ...)
{
    /* one write, so that the lines of members dying at once never interleave */
    char line[2048];
    int n = snprintf(line, sizeof line, "%s: error: ", prog_name); /* as the library's errors (log_to_stderr) */
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    one_line(line, sizeof line);
    size_t len = strlen(line);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    end_tty_line();
    fflush(stderr);
    if (write(STDERR_FILENO, line, len) < 0) { /* nowhere left to say it */
    }
    exit(code);
}

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
 * files removed (unlink is async-signal-safe), then the signal's own ending. Installed only where
 * the signal is not caught already (a trainer stops at a checkpoint and exits normally). */
static void unlink_temps_now(void)
{
    for (size_t i = 0; i < sizeof pending / sizeof *pending; i++)
        if (pending[i].f && pending[i].tmp) unlink(pending[i].tmp);
    for (size_t i = 0; i < sizeof temps / sizeof *temps; i++)
        if (temps[i]) unlink(temps[i]);
    krait_fs_unlink_temps_now(); /* the library's atomic writes in progress */
}

/* The folder krait_cli_remove_on_kill named, and the process that made it (a forked child that
 * inherits the handler leaves it). */
static char kill_dir[4096];
static volatile pid_t kill_dir_owner;

static void on_fatal_signal(int sig)
{
    unlink_temps_now();
    if (kill_dir_owner && kill_dir_owner == getpid()) krait_fs_remove_tree_now(kill_dir);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A memory-mapped input cut short or rewritten while the command ran faults on its next read:
 * one line naming the mapped files, the temporaries removed, exit 2 (not "Bus error"). Only
 * async-signal-safe calls. */
static void on_bus_error(int sig)
{
    (void)sig;
    unlink_temps_now();
    if (tty_line_open) (void)!write(STDERR_FILENO, "\n", 1); /* off a redrawn progress line */
    const char *parts[] = { prog_name, ": error: " };
    for (size_t i = 0; i < 2; i++) (void)!write(STDERR_FILENO, parts[i], strlen(parts[i]));
    for (int i = 0; krait_fs_mapped_name(i); i++) {
        if (i) (void)!write(STDERR_FILENO, ", ", 2);
        (void)!write(STDERR_FILENO, krait_fs_mapped_name(i), strlen(krait_fs_mapped_name(i)));
    }
    if (!krait_fs_mapped_name(0)) (void)!write(STDERR_FILENO, "bus error", 9);
    static const char tail[] = ": a file this command reads through a memory map was cut short or rewritten while it "
                               "ran (another program writing it?): nothing more can be read\n";
    (void)!write(STDERR_FILENO, tail, sizeof tail - 1);
    _exit(2);
}

static void remove_pending_on_signals(void)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_fatal_signal;
            sigaction(sigs[i], &sa, NULL);
        }
    }
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

int krait_cli_errno_exit(int err) { return krait_cli_exit_code(krait_fs_errno_status(err)); }

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

void krait_cli_remove_on_kill(const char *dir)
{
    kill_dir_owner = 0;
    atomic_signal_fence(memory_order_seq_cst);
    if (!dir || strlen(dir) >= sizeof kill_dir) return;
    snprintf(kill_dir, sizeof kill_dir, "%s", dir);
    atomic_signal_fence(memory_order_seq_cst); /* on_fatal_signal sees the name whole */
    kill_dir_owner = getpid();
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

static int stdout_said; /* krait_cli_stdout_failed said it already */

void krait_cli_stdout_failed(void)
{
    const int e = errno;
    if (stdout_said++) return;
    KRAIT_ERROR("stdout: write failed (%s): the output is cut short",
                e ? strerror(e) : "an earlier write did not complete");
}

int krait_cli_done(int rc)
{
    /* Output cut short on stdout (a full disk, a file-size limit: SIGXFSZ is ignored) must not
     * pass for a result: one line, exit 1. */
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        krait_cli_stdout_failed();
        if (rc == 0 || rc == 130) rc = 1;
    }
#ifdef KRAIT_ASAN
    if (rc == 0 || rc == 130) __lsan_do_leak_check();
#endif
    return rc;
}

int krait_cli_exit_code(krait_status s)
{
    switch (s) {
    case KRAIT_STATUS_OK: return 0;
    case KRAIT_STATUS_BAD_INPUT:
    case KRAIT_STATUS_UNSUPPORTED: return 2;
    case KRAIT_STATUS_INTERRUPTED: return 130;
    default: return 1;
    }
}

static void print_usage(const char *usage, const krait_opt *opts, int nopts)
{
    printf("%s\n\nOptions:\n", usage);
    for (int i = 0; i < nopts; i++) {
        if (!opts[i].help) continue; /* an option of a sibling command (it refuses it with a line) */
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", opts[i].name, opts[i].meta ? " " : "",
                 opts[i].meta ? opts[i].meta : "");
        printf("  %-24s %s\n", left, opts[i].help);
    }
    static const struct { const char *name, *meta, *help; } common[] = {
        { "--device", "D", "auto | cpu | cpu-ref | cuda (default auto)" },
        { "--threads", "N", "CPU threads (default: OMP_NUM_THREADS if set, else all cores)" },
        { "--seed", "N", "random seed" },
        { "--json", NULL, "last stdout line is one JSON object" },
        { "--help", NULL, "this text" },
    };
    for (size_t k = 0; k < sizeof common / sizeof *common; k++) {
        int own = 0; /* a command that gives a common option a meaning of its own lists it above */
        for (int i = 0; i < nopts; i++) own |= !strcmp(common[k].name, opts[i].name);
        if (own) continue;
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", common[k].name, common[k].meta ? " " : "",
                 common[k].meta ? common[k].meta : "");
        printf("  %-24s %s\n", left, common[k].help);
    }
}

/* --device cuda where no GPU can run it: one line, exit 2 */
static void check_cuda_answers(void)
{
    if (!krait_cuda_compiled())
        krait_cli_die(2, "--device cuda: this krait was built without CUDA (rebuild with -DKRAIT_CUDA=ON on a machine with "
                      "nvcc, or run on the CPU: --device auto)");
    if (krait_cuda_device_count() <= 0) krait_cli_die(2, "--device cuda: no CUDA device answers on this machine");
}

/* 1: *out set; 0: not an integer in [lo, hi]; -1: digits past what a long long holds */
static int parse_long(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end) return 0;
    if (errno == ERANGE) return -1;
    if (errno || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

void krait_cli_parse(int argc, char **argv, int first, const krait_opt *opts, int nopts,
                     krait_common *c, const char *usage)
{
    memset(c, 0, sizeof *c);
    c->device = "auto";
    c->seed = 1;
    signal(SIGBUS, on_bus_error);
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        const krait_opt *o = NULL;
        krait_opt common[] = {
            { "--device", OPT_STR, &c->device, "D", "" },
            { "--threads", OPT_INT, &c->threads, "N", "" },
            { "--seed", OPT_U64, &c->seed, "N", "" },
            { "--json", OPT_FLAG, &c->json, NULL, "" },
            { "--help", OPT_FLAG, &c->help, NULL, "" },
            { "-h", OPT_FLAG, &c->help, NULL, "" },
        };
        for (int k = 0; k < nopts && !o; k++)
            if (!strcmp(a, opts[k].name)) o = &opts[k];
        for (size_t k = 0; k < sizeof common / sizeof common[0] && !o; k++)
            if (!strcmp(a, common[k].name)) o = &common[k];
        if (!o && (a[0] != '-' || !a[1]))
            krait_cli_die(2, "unexpected argument '%s' (an option's second value? each takes one: repeat the option; "
                          "see --help)", a);
        if (!o) krait_cli_die(2, "unknown option '%s' (see --help)", a);
        if (o->dst == &c->help) {
            print_usage(usage, opts, nopts);
            exit(krait_cli_done(0)); /* a help text cut short (a full disk) is exit 1 too */
        }
        if (o->type == OPT_UNUSED)
            krait_cli_die(2, "option %s has no use in this command: it runs no model (see --help)", a);
        if (o->dst == &c->seed) c->seed_set = 1;
        if (o->type == OPT_FLAG) {
            *(int *)o->dst = 1;
            continue;
        }
        if (i + 1 >= argc) krait_cli_die(2, "option %s needs a value", a);
        const char *v = argv[++i];
        /* "--out --json": the value forgotten, the next option taken for it (free text, a prompt,
         * a stop string or a regex, may be anything) */
        const int free_text = o->meta && (!strcmp(o->meta, "TEXT") || !strcmp(o->meta, "STR") || !strcmp(o->meta, "RE"));
        int is_opt = 0;
        for (int k = 0; k < nopts && !is_opt && !free_text; k++) is_opt = !strcmp(v, opts[k].name);
        for (size_t k = 0; k < sizeof common / sizeof common[0] && !is_opt && !free_text; k++)
            is_opt = !strcmp(v, common[k].name);
        if (is_opt) krait_cli_die(2, "option %s needs a value (got the option %s)", a, v);
        long long n;
        char *end;
        switch (o->type) {
        case OPT_INT:
            int got = parse_long(v, LLONG_MIN, LLONG_MAX, &n);
            if (got < 0)
                krait_cli_die(2, v[0] == '-' ? "option %s: %s is negative" : "option %s: %s is too large", a, v);
            if (!got) krait_cli_die(2, "option %s: '%s' is not an integer", a, v);
            if (n > INT_MAX) krait_cli_die(2, "option %s: %s is too large (at most %d)", a, v, INT_MAX);
            if (n < 0) krait_cli_die(2, "option %s: %s is negative", a, v);
            *(int *)o->dst = (int)n;
            break;
        case OPT_U64:
            if (parse_long(v, 0, LLONG_MAX, &n) != 1) krait_cli_die(2, "option %s: '%s' is not a non-negative integer", a, v);
            *(uint64_t *)o->dst = (uint64_t)n;
            break;
        case OPT_DOUBLE:
            errno = 0;
            *(double *)o->dst = strtod(v, &end);
            if (errno || end == v || *end || !isfinite(*(double *)o->dst) || strpbrk(v, "xX")) /* no hex: as integers */
                krait_cli_die(2, "option %s: '%s' is not a number", a, v);
            if (*(double *)o->dst < 0) krait_cli_die(2, "option %s: %s is negative", a, v);
            break;
        case OPT_STR:
            *(const char **)o->dst = v;
            break;
        case OPT_LIST: {
            krait_str_list *l = o->dst;
            if (l->n >= 64) krait_cli_die(2, "option %s: too many values", a);
            l->items[l->n++] = v;
            break;
        }
        case OPT_FLAG:
        case OPT_UNUSED:
            break;
        }
    }
    /* checked here, not only where a backend starts: a command that runs no model would
     * otherwise take a misspelt device, or cuda on a machine without one, in silence */
    if (strcmp(c->device, "auto") && strcmp(c->device, "cpu") && strcmp(c->device, "cpu-ref") &&
        strcmp(c->device, "cuda"))
        krait_cli_die(2, "--device: unknown device '%s' (auto, cpu, cpu-ref or cuda)", c->device);
    if (!strcmp(c->device, "cuda")) check_cuda_answers();
    if (c->threads < 0) krait_cli_die(2, "option --threads: must be >= 0");
    if (c->threads > 1024) krait_cli_die(2, "option --threads: %d is more than krait uses (at most 1024)", c->threads);
    const char *omp = getenv("OMP_NUM_THREADS"); /* without --threads, the usual way to say it (its first level) */
    char *end = NULL;
    long n = omp ? strtol(omp, &end, 10) : 0;
    if (!c->threads && omp && end != omp && (*end == '\0' || *end == ',') && n > 0)
        c->threads = n < 1024 ? (int)n : 1024, c->threads_from_env = 1;
}

krait_backend *krait_cli_backend(const krait_common *c, const char *cuda_dtype)
{
    const char *d = c->device;
    krait_backend *be = NULL;
    if (!strcmp(d, "auto")) {
        d = krait_cuda_compiled() && krait_cuda_device_count() > 0 ? "cuda" : "cpu";
    }
    if (!strcmp(d, "cpu")) {
        be = krait_backend_cpu_init(c->threads);
        char nthreads[64] = "all threads";
        if (c->threads)
            snprintf(nthreads, sizeof nthreads, "%d thread%s%s", c->threads, c->threads > 1 ? "s" : "",
                     c->threads_from_env ? " from OMP_NUM_THREADS" : "");
        if (be) fprintf(stderr, "%s: device cpu (%s, OpenBLAS %s)\n", prog_name, nthreads,
                        krait_blas_corename());
    } else if (!strcmp(d, "cpu-ref")) {
        be = krait_backend_cpu_ref_init();
        if (be) fprintf(stderr, "%s: device cpu-ref (plain-C reference ops, one thread)\n", prog_name);
    } else if (!strcmp(d, "cuda")) {
        check_cuda_answers();
        krait_dtype t = cuda_dtype && !strcmp(cuda_dtype, "f32") ? KRAIT_DTYPE_F32 : KRAIT_DTYPE_BF16;
        be = krait_backend_cuda_init(0, t);
        if (be) fprintf(stderr, "%s: device cuda (%s activations)\n", prog_name, krait_dtype_name(t));
    } else {
        krait_cli_die(2, "--device: unknown device '%s' (auto, cpu, cpu-ref or cuda)", d);
    }
    if (!be) krait_cli_die(1, "cannot start the %s backend", d);
    return be;
}

/* MemAvailable of /proc/meminfo in bytes (memory that can be had without swapping), or -1. */
static double mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return -1;
    char line[256];
    double kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    fclose(f);
    return kb > 0 ? kb * 1024 : -1;
}

void krait_cli_check_memory(const krait_backend *be, size_t bytes, const char *what, const char *hint)
{
    if (strncmp(be->name, "cpu", 3)) return;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return;
    const double have = (double)pages * (double)page;
    if (bytes == SIZE_MAX)
        krait_cli_die(2, "%s is more than krait handles at once (2^31 positions): %s", what, hint);
    const double need = (double)bytes * mem_sharers;
    char all[64] = "";
    if (mem_sharers > 1) /* fewer at once helps only when one fits */
        snprintf(all, sizeof all, " (%d processes at once%s)", mem_sharers, (double)bytes <= have ? ": fewer --jobs" : "");
    if (need > have)
        krait_cli_die(2, "%s needs about %.1f GB of memory%s, more than this machine's %.1f GB: %s", what, need / 1e9,
                      all, have / 1e9, hint);
    double avail = mem_available();
    if (avail > 0 && need > avail)
        KRAIT_WARN("%s needs about %.1f GB of memory%s and only %.1f GB is available now (other programs hold the "
                   "rest): it may fail to allocate or swap; %s", what, need / 1e9, all, avail / 1e9, hint);
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

void krait_cli_check_train_memory(const krait_config *cfg, krait_backend *be, const krait_train_config *tc,
                                  const char *len_opt)
{
    char what[128], hint[96];
    snprintf(what, sizeof what, "training a %d-layer, d_model %d model on batch %d x %d", cfg->n_layer, cfg->d_model,
             tc->batch, tc->seq_len);
    snprintf(hint, sizeof hint, "lower --batch or %s, or train a smaller model", len_opt);
    krait_cli_check_memory(be, krait_training_bytes(cfg, be, tc), what, hint);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The presets of the first config folder that has any, "a, b, c" (sorted), into buf. */
static void preset_names(const char *const *dirs, size_t n_dirs, char *buf, size_t cap)
{
    buf[0] = 0;
    for (size_t i = 0; i < n_dirs && !buf[0]; i++) {
        DIR *d = dirs[i] ? opendir(dirs[i]) : NULL;
        if (!d) continue;
        char *names[256];
        size_t n = 0;
        for (struct dirent *e; (e = readdir(d)) && n < 256;) {
            size_t len = strlen(e->d_name);
            if (len > 5 && e->d_name[0] != '.' && !strcmp(e->d_name + len - 5, ".json"))
                names[n++] = strndup(e->d_name, len - 5);
        }
        closedir(d);
        qsort(names, n, sizeof *names, cmp_str);
        size_t used = 0;
        for (size_t k = 0; k < n; k++) {
            if (names[k] && used < cap)
                used += (size_t)snprintf(buf + used, cap - used, "%s%s", k ? ", " : "", names[k]);
            free(names[k]);
        }
    }
}

const char *krait_cli_config_path(const char *name)
{
    static char buf[4096];
    if (access(name, R_OK) == 0 || strchr(name, '/') || strstr(name, ".json")) return name;
    const char *dirs[] = { getenv("KRAIT_CONFIGS"), KRAIT_CONFIG_DIR, "configs" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (!dirs[i]) continue;
        snprintf(buf, sizeof buf, "%s/%s.json", dirs[i], name);
        if (access(buf, R_OK) == 0) return buf;
    }
    if (access(name, F_OK) != 0) { /* neither a file nor a preset: say both, and what the presets are */
        char presets[1024];
        preset_names(dirs, sizeof dirs / sizeof dirs[0], presets, sizeof presets);
        krait_cli_die(2, "%s: no such config file, nor a preset of that name (presets: %s)", name,
                      presets[0] ? presets : "none found");
    }
    return name; /* let the loader report it */
}

/* ---- progress ------------------------------------------------------------------------------ */

void krait_progress_init(krait_progress *p, int every)
{
    p->tty = !plain_progress && isatty(2);
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
    int n = snprintf(line, sizeof line, p->tty ? "\r\033[K%s: " : "%s: ", prog_name);
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
    if (p->tty) tty_line_open = 1;
}

void krait_progress_clear(krait_progress *p)
{
    if (p->tty && tty_line_open) {
        fflush(stdout);
        end_tty_line();
    }
}

void krait_progress_done(krait_progress *p)
{
    if (p->tty && tty_line_open) fprintf(stderr, "\n");
    if (p->tty) tty_line_open = 0;
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

static volatile sig_atomic_t user_stops; /* SIGINT / SIGTERM received */
static struct timespec first_stop;       /* when the first came (set before user_stops) */

/* A second stop from a second after the first on is a second Ctrl-C: exit at once, without the
 * checkpoint. Sooner it is the same request sent twice: timeout(1) (and batch schedulers)
 * signal the process and then its process group, microseconds apart. */
static void on_signal(int sig)
{
    (void)sig;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe */
    if (user_stops) {
        long long ms = (long long)(now.tv_sec - first_stop.tv_sec) * 1000 + (now.tv_nsec - first_stop.tv_nsec) / 1000000;
        if (ms >= 1000) unlink_temps_now(), _exit(130);
        return;
    }
    first_stop = now;
    user_stops = 1;
    stop_flag = 1;
}

/* SIGUSR1: a stop asked for by a parent process (krait_cli_child), which may come on top of the
 * user's own signal: never the immediate exit */
static void on_parent_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

void krait_cli_catch_signals(void)
{
    krait_cli_remove_on_kill(NULL); /* the folder holds a run from now on (a SIGHUP still kills) */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_parent_stop;
    sigaction(SIGUSR1, &sa, NULL);
}

int krait_cli_stop_requested(void) { return stop_flag != 0; }

void krait_cli_child(const char *name, int sharers)
{
    prog_name = name;
    plain_progress = 1;
    mem_sharers = sharers > 1 ? sharers : 1;
}
