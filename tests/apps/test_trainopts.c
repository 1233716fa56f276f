/* tests/apps/test_trainopts.c — the shared training options (apps/common/trainopts.h), driven
 * through the option parser as the apps use them: config value < --set < explicit flag;
 * --steps alone drops the config's minutes and --minutes alone its steps; the --eval-every
 * default only when neither flag nor config gives one; --keep 0; --seed; and exit 2 with a line
 * naming the problem for no budget, a zero --batch/--seq-len/--lr or a missing --config; and the
 * memory check: exit 2 over physical memory, a warning over MemAvailable. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fsutil.h"
#include "log.h"
#include "runfiles.h"
#include "testutil.h"
#include "trainopts.h"

static char cfg_path[256], out_dir[256];

typedef struct result {
    krait_train_opts o;
    krait_train_config tc;
} result;

/* argv after "prog cmd": the shared table plus --seq-len, as an app declares it. */
static void run(result *r, const char *const *args)
{
    char *argv[40] = { "prog", "train", "--config", cfg_path };
    int argc = 4;
    for (; *args; args++) argv[argc++] = (char *)*args;
    r->o = (krait_train_opts)KRAIT_TRAIN_OPTS_INIT("train", 250);
    r->o.out = out_dir; /* claimed (created and locked), never written */
    krait_opt opts[] = { { "--config", OPT_STR, &r->o.config, "FILE", "" },
                         KRAIT_TRAIN_OPTS(&r->o, "", ""),
                         { "--seq-len", OPT_INT, &r->o.seq_len, "N", "" } };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c, "usage");
    krait_train_opts_check(&r->o, "--data", 1);
    krait_config cfg;
    krait_train_opts_load(&r->o, &cfg, &r->tc);
    krait_train_opts_apply(&r->o, &r->tc, &c);
}

#define RUN(r, ...) run(r, (const char *const[]){ __VA_ARGS__, NULL })

/* Runs fn(arg) in a child: it must exit 2 with a stderr line containing want. */
static void child_dies(const char *want, void (*fn)(const void *), const void *arg, const char *what)
{
    int fd[2];
    fflush(stdout); /* or the child prints what is buffered again */
    if (pipe(fd)) abort();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        fn(arg);
        _exit(0);
    }
    close(fd[1]);
    char err[1024] = "";
    size_t n = 0;
    ssize_t k;
    while (n < sizeof err - 1 && (k = read(fd[0], err + n, sizeof err - 1 - n)) > 0) n += (size_t)k;
    err[n] = 0;
    close(fd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    tu_check(code == 2 && strstr(err, want), "%s: want exit 2 and \"%s\", got %d: %s", what, want, code, err);
}

static void run_args(const void *args)
{
    result r;
    run(&r, args);
}

static void dies(const char *want, const char *const *args) { child_dies(want, run_args, args, args[0]); }

#define DIES(want, ...) dies(want, (const char *const[]){ __VA_ARGS__, NULL })

/* ---- the memory check (krait_cli_check_memory): refuse over physical memory, warn over MemAvailable */

static int n_warned;
static char warned[512];

static void catch_warning(krait_log_level level, const char *msg, void *user)
{
    (void)user;
    if (level == KRAIT_LOG_WARN) n_warned++, snprintf(warned, sizeof warned, "%s", msg);
    else fprintf(stderr, "%s\n", msg);
}

/* MemAvailable of /proc/meminfo in bytes, read here independently of the code under test; -1 if none. */
static double available_now(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "MemAvailable:", 13)) kb = atoll(line + 13);
    if (f) fclose(f);
    return kb > 0 ? (double)kb * 1024 : -1;
}

static const krait_backend cpu_be = { .name = "cpu" }, cuda_be = { .name = "cuda" };

static void check_bytes(const void *bytes) { krait_cli_check_memory(&cpu_be, *(const size_t *)bytes, "batch", "lower --batch"); }

static void memory_check(void)
{
    const double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE), avail = available_now();
    const size_t over = (size_t)(phys * 1.5), too_big = SIZE_MAX;
    child_dies("batch needs about", check_bytes, &over, "1.5 x physical memory");
    child_dies("more than this machine's", check_bytes, &over, "1.5 x physical memory");
    child_dies("more than krait handles at once", check_bytes, &too_big, "SIZE_MAX bytes");
    krait_log_set(catch_warning, NULL, KRAIT_LOG_INFO);
    krait_cli_check_memory(&cuda_be, over, "batch", "hint"); /* a GPU backend reports its own failure */
    krait_cli_check_memory(&cpu_be, 1 << 20, "batch", "hint");
    tu_check(n_warned == 0, "1 MB and a GPU backend pass without a word (%d warnings: %s)", n_warned, warned);
    if (avail > 0 && phys - avail > 256e6) { /* between the two: a warning, no exit */
        krait_cli_check_memory(&cpu_be, (size_t)((avail + phys) / 2), "batch", "lower --batch");
        tu_check(n_warned == 1 && strstr(warned, "available now") && strstr(warned, "lower --batch"),
                 "between MemAvailable %.2f GB and physical %.2f GB: one warning (%d: %s)", avail / 1e9, phys / 1e9,
                 n_warned, warned);
    } else {
        printf("  (MemAvailable %.2f GB is within 256 MB of physical %.2f GB: the warning is not checked)\n",
               avail / 1e9, phys / 1e9);
    }
    krait_log_set(NULL, NULL, KRAIT_LOG_INFO);
}

/* The ETA/elapsed format: seconds rounded, then s / m00s / h00m at the 60 s and 3600 s edges. */
static void durations(void)
{
    static const struct { double s; const char *want; } cases[] = {
        { -5, "0s" }, { 59.4, "59s" }, { 59.6, "1m00s" }, { 60, "1m00s" }, { 61, "1m01s" },
        { 3599.4, "59m59s" }, { 3599.6, "1h00m" }, { 3600, "1h00m" }, { 3661, "1h01m" }, { 90061, "25h01m" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[32];
        const char *got = krait_fmt_duration(cases[i].s, buf);
        tu_check(strcmp(got, cases[i].want) == 0, "duration %g s: %s (want %s)", cases[i].s, got, cases[i].want);
    }
}

/* An output file (--output) gets 0666 less the umask once closed into place, as a shell's > would. */
static void output_mode(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s.mode.tsv", out_dir);
    mode_t old_mask = umask(077);
    FILE *f = krait_cli_output_open(path);
    fputs("x\n", f);
    krait_cli_output_close(f);
    umask(old_mask);
    struct stat st;
    tu_check(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "an output under umask 077: mode %03o",
             (unsigned)(st.st_mode & 0777));
    unlink(path);
}

/* off a terminal a progress line every `every` calls, and a forced line (a validation's) between
 * them does not move the others off that grid: steps 10, 20, 30 with a forced line at 10 */
static void progress_grid(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s.progress", out_dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600), saved = dup(2);
    if (fd < 0 || saved < 0 || dup2(fd, 2) < 0) {
        tu_check(0, "stderr redirected for the progress lines");
        return;
    }
    krait_progress p;
    krait_progress_init(&p, 10);
    p.tty = 0;
    for (int step = 1; step <= 30; step++) {
        krait_progress_line(&p, 0, "step %d", step);
        if (step == 10) krait_progress_line(&p, 1, "validation at %d", step);
    }
    dup2(saved, 2);
    close(saved);
    close(fd);
    krait_status st;
    char *text = krait_fs_read_text(path, 1 << 16, &st);
    const char *want = "test_trainopts: step 10\ntest_trainopts: validation at 10\ntest_trainopts: step 20\n"
                       "test_trainopts: step 30\n";
    tu_check(text && !strcmp(text, want), "progress lines on the step grid:\n%s", text ? text : "(unreadable)");
    free(text);
    unlink(path);
}

/* metrics.jsonl stays JSON when a figure is not finite (a skipped batch's loss, a validation
 * with nothing to score): null, not "nan" */
static void metrics_json(void)
{
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/test_trainopts_%d.run", (int)getpid());
    krait_run_files rf;
    krait_run_files_open(&rf, dir, 3, NULL, -1);
    krait_optim opt = { .step = 5 };
    krait_trainer t;
    memset(&t, 0, sizeof t);
    t.opt = &opt, t.tokens = 640, t.elapsed_s = 1.5;
    krait_step_info si = { .step = 5, .loss = NAN, .grad_norm = INFINITY, .lr = 1e-3, .tokens = 640, .elapsed_s = 1.5 };
    krait_run_files_step(&rf, &si);
    krait_run_files_val(&rf, &t, 2, (const char *[]){ "val_loss", "val_bpb" }, (double[]){ 2.5, NAN });
    krait_run_files_close(&rf);
    char path[300], line[512];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *f = fopen(path, "r");
    int lines = 0, ok = f != NULL;
    while (f && fgets(line, sizeof line, f)) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "step");
        ok &= cJSON_IsNumber(st) && st->valueint == 5;
        if (lines == 0)
            ok &= cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "loss")) &&
                  cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "grad_norm"));
        else
            ok &= cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "val_loss")) &&
                  cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "val_bpb")) &&
                  cJSON_GetObjectItemCaseSensitive(o, "tokens")->valuedouble == 640;
        cJSON_Delete(o);
        lines++;
    }
    if (f) fclose(f);
    tu_check(ok && lines == 2, "metrics.jsonl: a step line and a validation line, JSON with null for NaN/inf (%d lines)",
             lines);
    remove(path);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    tu_init("test_trainopts");
    krait_cli_start("test_trainopts", argc, argv);
    snprintf(cfg_path, sizeof cfg_path, "/tmp/test_trainopts_%d.json", (int)getpid());
    snprintf(out_dir, sizeof out_dir, "/tmp/test_trainopts_%d.out", (int)getpid());
    FILE *f = fopen(cfg_path, "w");
    if (!f) return 1;
    fputs("{\"hidden_size\": 16, \"num_hidden_layers\": 1, \"vocab_size\": 256, \"state_size\": 4, \"train\": "
          "{\"batch\": 2, \"seq_len\": 16, \"lr\": 0.001, \"steps\": 100, \"minutes\": 5, \"ckpt_every\": 7}}", f);
    fclose(f);
    result r;

    RUN(&r, "--threads", "1"); /* the config alone; eval_every from the app's default */
    tu_check(r.tc.batch == 2 && r.tc.seq_len == 16 && fabsf(r.tc.lr - 0.001f) < 1e-9f, "config values kept");
    tu_check(r.tc.steps == 100 && r.tc.minutes == 5, "config budget kept: steps %d minutes %g", r.tc.steps, r.tc.minutes);
    tu_check(r.tc.eval_every == 250 && r.tc.ckpt_every == 7 && r.tc.keep_ckpts == 3, "defaults: eval %d ckpt %d keep %d",
             r.tc.eval_every, r.tc.ckpt_every, r.tc.keep_ckpts);

    tu_check(r.tc.seq_len_set, "the config's train.seq_len is marked as given");
    RUN(&r, "--set", "train.keep_ckpts=10"); /* the config's keep_ckpts holds without --keep */
    tu_check(r.tc.keep_ckpts == 10, "config keep_ckpts kept: %d", r.tc.keep_ckpts);
    RUN(&r, "--set", "train.keep_ckpts=10", "--keep", "2");
    tu_check(r.tc.keep_ckpts == 2, "--keep over the config: %d", r.tc.keep_ckpts);

    RUN(&r, "--set", "train.batch=3", "--set", "train.lr=0.01", "--set", "train.eval_every=30");
    tu_check(r.tc.batch == 3 && fabsf(r.tc.lr - 0.01f) < 1e-9f, "--set over the config: batch %d", r.tc.batch);
    tu_check(r.tc.eval_every == 30, "config/--set eval_every kept over the default: %d", r.tc.eval_every);

    krait_log_set(catch_warning, NULL, KRAIT_LOG_INFO); /* the warm-up: --warmup over the config, a warning when it outlasts the run */
    n_warned = 0;
    RUN(&r, "--set", "train.warmup=1000");
    krait_train_warn_warmup(&r.tc, "train");
    tu_check(r.tc.warmup == 1000 && n_warned == 1 && strstr(warned, "warm-up (1000 steps) is not shorter than the run "
             "(100 steps): the rate peaks at 2.7e-05, not 0.001"), "a warm-up past the run warned (peak by hand: max over s < 100 of (s + 1) / 1000 x the cosine): %d warnings (%s)", n_warned, warned);
    n_warned = 0;
    RUN(&r, "--set", "train.warmup=1000", "--warmup", "10");
    krait_train_warn_warmup(&r.tc, "train");
    tu_check(r.tc.warmup == 10 && n_warned == 0, "--warmup over --set: %d, %d warnings", r.tc.warmup, n_warned);
    n_warned = 0;
    RUN(&r, "--warmup", "100", "--minutes", "1");
    krait_train_warn_warmup(&r.tc, "train");
    tu_check(n_warned == 0, "a time budget alone: no steps to compare with (%d warnings)", n_warned);
    krait_log_set(NULL, NULL, KRAIT_LOG_INFO);
    char budget[64];
    tu_check(!strcmp(krait_train_budget(budget, sizeof budget, 2, 40), "budget 2 min or 40 steps") &&
             !strcmp(krait_train_budget(budget, sizeof budget, 0, 40), "budget 40 steps") &&
             !strcmp(krait_train_budget(budget, sizeof budget, 1.5, 0), "budget 1.5 min"), "the budget's words: %s", budget);

    RUN(&r, "--batch", "5", "--set", "train.batch=3", "--lr", "0.02", "--set", "train.lr=0.01", "--seq-len", "8");
    tu_check(r.tc.batch == 5 && fabsf(r.tc.lr - 0.02f) < 1e-9f && r.tc.seq_len == 8,
             "flag over --set (in any order): batch %d lr %g seq_len %d", r.tc.batch, r.tc.lr, r.tc.seq_len);

    RUN(&r, "--steps", "10");
    tu_check(r.tc.steps == 10 && r.tc.minutes == 0, "--steps alone drops the config's minutes: %g", r.tc.minutes);
    RUN(&r, "--minutes", "2");
    tu_check(r.tc.minutes == 2 && r.tc.steps == 0, "--minutes alone drops the config's steps: %d", r.tc.steps);
    RUN(&r, "--steps", "10", "--minutes", "2");
    tu_check(r.tc.steps == 10 && r.tc.minutes == 2, "--steps and --minutes: both");
    RUN(&r, "--set", "train.steps=7");
    tu_check(r.tc.steps == 7 && r.tc.minutes == 5, "--set train.steps keeps the config's minutes");
    RUN(&r, "--set", "train.steps=7", "--steps", "9");
    tu_check(r.tc.steps == 9 && r.tc.minutes == 0, "--steps over --set train.steps");

    RUN(&r, "--eval-every", "0", "--set", "train.eval_every=30", "--ckpt-every", "0", "--keep", "0", "--seed", "9");
    tu_check(r.tc.eval_every == 0 && r.tc.ckpt_every == 0, "explicit 0 kept: eval %d ckpt %d", r.tc.eval_every,
             r.tc.ckpt_every);
    tu_check(r.tc.keep_ckpts == 0 && r.o.keep == 0 && r.tc.seed == 9, "--keep 0 keeps all (keep_ckpts %d), --seed",
             r.tc.keep_ckpts);

    DIES("give --steps N or --minutes M", "--set", "train.steps=0", "--set", "train.minutes=0");
    DIES("--steps 0 / --minutes 0 leave no budget", "--steps", "0");
    DIES("--batch must be > 0", "--batch", "0");
    DIES("--seq-len must be > 0", "--seq-len", "0");
    DIES("--lr must be > 0", "--lr", "0");
    DIES("the learning rate 1e-06 is below train.min_lr 1e-05", "--lr", "1e-6");
    DIES("is below train.min_lr 0.01", "--set", "train.min_lr=0.01");
    DIES("unknown key \"train.bacth\"", "--set", "train.bacth=3");
    DIES("no such checkpoint or run folder", "--resume", "/nonexistent/run");
    memory_check();
    remove(cfg_path);
    char lock[300];
    snprintf(lock, sizeof lock, "%s/.lock", out_dir);
    remove(lock);
    rmdir(out_dir);
    durations();
    output_mode();
    progress_grid();
    metrics_json();
    return tu_finish();
}
