/* apps/common/cli.c — the core of what every krait app shares (see cli.h): start-up
 * (krait_cli_start: OpenBLAS and OpenMP settings, closed standard streams, library messages on
 * stderr as "prog: ..." and holding them for a loop that skips bad files), option parsing and
 * --help, the backend --device picks, the memory checks before allocating, presets, --json
 * output, krait_cli_die, the end of a run (krait_cli_done, stdout that failed) and exit codes.
 * Deliberately not here: output files and the refusals to write over inputs (cli_output.c),
 * signals and clean-up on a kill (cli_signal.c), progress lines (progress.c). */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <utf8proc.h>

#include "blas_tune.h"
#include "cli_impl.h"
#include "fsutil.h"
#include "log.h"
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
static int mem_sharers = 1; /* krait_cli_child: processes whose memory needs add up */

const char *krait_cli_prog(void) { return prog_name; }

static int errors_held, n_held;
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

void krait_cli_errors_release_at(int skipped, const char *where)
{
    if (n_held) krait_cli_end_tty_line();
    for (int i = 0; i < n_held; i++)
        fprintf(stderr, "%s: %s%s%s\n", prog_name, skipped ? "warning: skipped " : "error: ", where, held[i]);
    errors_held = n_held = 0;
}

void krait_cli_errors_release(int skipped) { krait_cli_errors_release_at(skipped, ""); }

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
    krait_cli_end_tty_line();
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
    krait_cli_remove_pending_on_signals(); /* a kill removes the temporaries of writes in progress */
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
    krait_cli_end_tty_line();
    fflush(stderr);
    if (write(STDERR_FILENO, line, len) < 0) { /* nowhere left to say it */
    }
    exit(code);
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

int krait_cli_errno_exit(int err) { return krait_cli_exit_code(krait_fs_errno_status(err)); }

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
    signal(SIGBUS, krait_cli_on_bus_error);
    int swallowed_at = -1; /* where free text took an option's name as its value ("--prompt --max-tokens 5") */
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
        if (!o && (a[0] != '-' || !a[1]) && swallowed_at == i - 1)
            krait_cli_die(2, "option %s needs a value: it took the option name %s as its text, which left '%s' "
                          "without an option", argv[i - 2], argv[i - 1], a);
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
        for (int k = 0; k < nopts && !is_opt; k++) is_opt = !strcmp(v, opts[k].name);
        for (size_t k = 0; k < sizeof common / sizeof common[0] && !is_opt; k++)
            is_opt = !strcmp(v, common[k].name);
        if (is_opt && !free_text) krait_cli_die(2, "option %s needs a value (got the option %s)", a, v);
        if (is_opt) swallowed_at = i;
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
    /* a file of that name, or a path; a folder named like a preset (often the run's own --out)
     * is neither */
    if (krait_fs_is_file(name) || strchr(name, '/') || strstr(name, ".json")) return name;
    /* installed: share/krait/configs beside the program's bin/ (a build tree has none there) */
    static char *installed;
#ifdef KRAIT_CONFIG_DIR_REL
    if (!installed) installed = krait_exe_relative(KRAIT_CONFIG_DIR_REL);
#endif
    const char *dirs[] = { getenv("KRAIT_CONFIGS"), installed, KRAIT_CONFIG_DIR, "configs" };
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

void krait_cli_child(const char *name, int sharers)
{
    prog_name = name;
    krait_cli_plain_progress = 1;
    mem_sharers = sharers > 1 ? sharers : 1;
}
