/* apps/common/runfolder.c — run folders and data folders (see runfolder.h): claiming a run
 * folder for one process (created, locked, refused when it holds another run unless
 * --overwrite), clearing an --overwrite's old run (moved aside whole, then removed), removing a
 * folder this process made for a run that never started, locking a data or model folder, and
 * refusing an --out inside a run or an input inside the run folder. Deliberately not here: the
 * options that name the folders (trainopts.c), what a run writes into its folder (runfiles.c). */
#include "runfolder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "cli.h"
#include "fsutil.h"
#include "runfiles.h"

int krait_run_has(const char *out, const char *name)
{
    char *p = krait_fs_join(out, name);
    if (!p) krait_cli_die(1, "out of memory");
    int has = krait_fs_is_dir(p) || krait_fs_is_file(p);
    free(p);
    return has;
}

static void remove_in(const char *out, const char *name)
{
    char *p = krait_fs_join(out, name);
    if (!p) krait_cli_die(1, "out of memory");
    krait_status s = krait_fs_remove_tree(p);
    free(p);
    if (s) exit(krait_cli_exit_code(s));
}

/* --overwrite empties a run folder by moving each of the old run's entries into OUT/TRASH (one
 * rename each: whole, never half-deleted) and then removing TRASH: a process killed midway leaves
 * every checkpoint complete, where it was or in TRASH, which the next run in OUT removes. */
#define TRASH ".krait-old-run"
static void trash_in(const char *out, const char *name)
{
    if (!krait_run_has(out, name)) return;
    char *from = krait_fs_join(out, name), *dir = krait_fs_join(out, TRASH), *to = dir ? krait_fs_join(dir, name) : NULL;
    if (!from || !to) krait_cli_die(1, "out of memory");
    krait_status s = krait_fs_mkdirs(dir);
    if (s) exit(krait_cli_exit_code(s));
    if (rename(from, to) != 0)
        krait_cli_die(1, "%s: cannot move it aside to remove it (%s)", from, strerror(errno));
    free(from), free(dir), free(to);
}

static char created[4096]; /* the run folder this process made, if it did */
static char created_top[4096]; /* ... and the topmost folder it made for it (new1 of new1/new2) */
static pid_t created_by;    /* ... and that process (a forked child exits without touching it) */

int krait_run_members(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int most = 0;
    for (struct dirent *e; (e = readdir(d));) {
        int k, n = 0;
        if (sscanf(e->d_name, "member-%d%n", &k, &n) == 1 && !e->d_name[n] && k > most) most = k;
    }
    closedir(d);
    return most;
}

/* What shows that dir holds a run: "checkpoints", "model.safetensors" or a "metrics.jsonl" with a
 * line in it (empty, it is what a run that failed before its first step leaves), or the name of a member-K folder that holds one of those (any K: a gap in the numbers does not
 * hide the members after it). The member folders an ensemble makes before its members start
 * (classes.txt alone) are no run. NULL: none. */
static const char *own_run_mark(const char *dir)
{
    static const char *const marks[] = { "checkpoints", "model.safetensors" };
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
        if (krait_run_has(dir, marks[i])) return marks[i];
    char *p = krait_fs_join(dir, "metrics.jsonl");
    if (!p) krait_cli_die(1, "out of memory");
    struct stat st;
    int logged = stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
    free(p);
    return logged ? "metrics.jsonl" : NULL;
}

static const char *run_mark(const char *dir)
{
    const char *own = own_run_mark(dir);
    if (own) return own;
    static char member[32];
    for (int k = 1, n = krait_run_members(dir); k <= n; k++) {
        snprintf(member, sizeof member, "member-%d", k);
        char *p = krait_fs_join(dir, member);
        if (!p) krait_cli_die(1, "out of memory");
        const char *has = own_run_mark(p);
        free(p);
        if (has) return member;
    }
    return NULL;
}

/* out's member-K folders (not a file of that name: that is no member, and stays) */
static void remove_members(const char *out, void (*remove)(const char *out, const char *name))
{
    char member[32];
    for (int k = 1, n = krait_run_members(out); k <= n; k++) {
        snprintf(member, sizeof member, "member-%d", k);
        char *p = krait_fs_join(out, member);
        if (!p) krait_cli_die(1, "out of memory");
        int dir = krait_fs_is_dir(p);
        free(p);
        if (dir) remove(out, member);
    }
}

/* At exit: a folder made by this process that holds no run (the command failed first, on a bad
 * config, bad input or too little memory for the members at once) is removed with what it wrote
 * there (its lock, classes.txt, empty member folders), so that a failure leaves no half-made run
 * folder behind. */
static void drop_unused_out(void)
{
    if (getpid() != created_by || !krait_fs_is_dir(created) || run_mark(created)) return;
    krait_fs_remove_tree(created_top);
}

int krait_folder_lock(const char *dir, int remove_at_exit)
{
    char *p = krait_fs_join(dir, ".lock");
    if (!p) krait_cli_die(1, "out of memory");
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        krait_cli_die(krait_cli_errno_exit(errno), "%s: cannot create the folder's lock file (%s)", p, strerror(errno));
    const int locked = flock(fd, LOCK_EX | LOCK_NB) == 0; /* fd stays open: the lock lasts until exit */
    if (!locked) close(fd);
    if (locked && remove_at_exit) krait_cli_temp_add(p);
    free(p);
    return locked;
}

/* An exclusive lock on out/.lock for the life of the process (the kernel drops it at exit, even
 * on kill -9), so that two commands never write one run folder at once. */
void krait_run_lock(const char *out)
{
    static char held[4096]; /* the folder this process already holds (claimed twice: one lock) */
    if (!strcmp(held, out)) return;
    char *top = krait_fs_is_dir(out) ? NULL : krait_fs_first_missing(out);
    if (top && strlen(out) < sizeof created && strlen(top) < sizeof created_top) {
        snprintf(created, sizeof created, "%s", out);
        snprintf(created_top, sizeof created_top, "%s", top);
        created_by = getpid();
        atexit(drop_unused_out);
    }
    free(top);
    krait_status s = krait_fs_mkdirs(out);
    if (s) exit(krait_cli_exit_code(s));
    /* tests: another process takes the lock in this gap (and holds it before writing anything) */
    const char *delay = getenv("KRAIT_FAULT_LOCK_DELAY_MS"), *hold = getenv("KRAIT_FAULT_LOCKED_DELAY_MS");
    if (delay) usleep((useconds_t)atoi(delay) * 1000u);
    if (!krait_folder_lock(out, 0)) {
        created_by = 0; /* the folder is the lock holder's now, even if this process made it: never removed here */
        krait_cli_die(2, "%s: another krait process is writing this run folder now (wait for it, or choose another "
                      "--out)", out);
    }
    /* killed before its run starts: the folders it made go too (only now: made, and its own) */
    if (created_by == getpid() && !strcmp(created, out)) krait_cli_remove_on_kill(created_top);
    if (hold) usleep((useconds_t)atoi(hold) * 1000u);
    snprintf(held, sizeof held, "%s", out);
}

static char clearing[4096];  /* the folder krait_run_clear_out empties (set by krait_run_claim_out) */
static const char *clearing_cmd;
static int clearing_run;      /* ... of a run (else only of member folders that hold none) */

static char stale_trash[4096]; /* OUT/TRASH left by a killed --overwrite: removed by krait_run_clear_out */

void krait_run_claim_out(const char *out, int overwrite, const char *resume, const char *cmd)
{
    if (!*out) krait_cli_die(2, "--out: an empty folder name");
    if (overwrite && resume && krait_fs_within(resume, out))
        krait_cli_die(2, "--overwrite and --resume %s: one starts the run in %s over, the other continues it: give one",
                      resume, out);
    krait_run_lock(out);
    char *trash = krait_fs_join(out, TRASH);
    if (!trash) krait_cli_die(1, "out of memory");
    if (krait_run_has(out, TRASH) && strlen(trash) < sizeof stale_trash) snprintf(stale_trash, sizeof stale_trash, "%s", trash);
    free(trash);
    if (resume && krait_fs_within(resume, out)) return; /* this folder's own run goes on */
    const char *found = run_mark(out);
    if (found && !overwrite) {
        if (resume)
            krait_cli_die(2, "%s: already holds a run (%s), not the one --resume %s continues: choose another --out, "
                          "or --overwrite replaces it", out, found, resume);
        if (!strcmp(found, "metrics.jsonl"))
            krait_cli_die(2, "%s: already holds a run that stopped before its first checkpoint (metrics.jsonl only); "
                          "--overwrite starts over", out);
        if (!strcmp(found, "checkpoints") && !krait_checkpoint_any(out) && !krait_run_has(out, "model.safetensors"))
            krait_cli_die(2, "%s: already holds a run that stopped during its first checkpoint (no complete one to "
                          "continue); --overwrite starts over", out);
        if (strncmp(found, "member-", 7) && krait_run_has(out, "model.safetensors") && !krait_checkpoint_any(out))
            /* (an ensemble's checkpoints are its members') */
            krait_cli_die(2, "%s: already holds a model (model.safetensors) and no checkpoint to continue: "
                          "--overwrite replaces it, or choose another --out", out);
        krait_cli_die(2, "%s: already holds a run (%s); --resume %s continues it, --overwrite starts over",
                      out, found, out);
    }
    if ((found || krait_run_members(out)) && strlen(out) < sizeof clearing) {
        snprintf(clearing, sizeof clearing, "%s", out);
        clearing_cmd = cmd;
        clearing_run = found != NULL;
    }
}

int krait_run_clearing(void) { return clearing[0] && clearing_run; }

/* The entries a run writes at the top of its folder (besides the model's companions and the
 * member-K folders of an ensemble), and --overwrite removes. */
static const char *const run_entries[] = { "checkpoints", "metrics.jsonl", "trainer_state.json", "best",
                                           "config.json", "model.safetensors", "curves.svg",
                                           "test_metrics.json", "confusion.svg" };

static int run_entry(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof run_entries / sizeof *run_entries; i++)
        if (strlen(run_entries[i]) == len && !strncmp(name, run_entries[i], len)) return 1;
    for (int i = 0; krait_model_companions[i]; i++)
        if (strlen(krait_model_companions[i]) == len && !strncmp(name, krait_model_companions[i], len)) return 1;
    if ((len == strlen(TRASH) && !strncmp(name, TRASH, len)) || (len == 5 && !strncmp(name, ".lock", 5))) return 1;
    int k, n = 0;
    return sscanf(name, "member-%d%n", &k, &n) == 1 && (size_t)n == len;
}

void krait_run_refuse_inputs(const char *out, const char *opt, const char *const *paths, int n)
{
    char *rout = realpath(out, NULL);
    if (!rout) return;
    size_t lo = strlen(rout);
    for (int i = 0; i < n; i++) {
        if (!paths[i]) continue;
        char *rp = realpath(paths[i], NULL);
        const char *eq = strchr(paths[i], '=');
        if (!rp && eq) rp = realpath(eq + 1, NULL); /* krait-dna's CLASS=FILE */
        if (rp && !strcmp(rp, rout))
            krait_cli_die(2, "%s %s: it is the --out folder; a run needs a folder of its own (its model, "
                          "checkpoints and metrics would mix with the input)", opt, paths[i]);
        if (rp && !strncmp(rp, rout, lo) && rp[lo] == '/') {
            const char *rel = rp + lo + 1;
            size_t k = strcspn(rel, "/");
            if (run_entry(rel, k))
                krait_cli_die(2, "%s %s: lies in the run folder %s, where the run writes %.*s: move it out of the "
                              "folder, or choose another --out", opt, paths[i], out, (int)k, rel);
        }
        free(rp);
    }
    free(rout);
}

void krait_run_clear_out(void)
{
    if (stale_trash[0]) { /* the old run an --overwrite was removing when it was stopped */
        krait_status s = krait_fs_remove_tree(stale_trash);
        if (s) exit(krait_cli_exit_code(s));
        fprintf(stderr, "%s: removed %s, the old run an --overwrite was removing when it was stopped\n",
                krait_cli_prog(), stale_trash);
        stale_trash[0] = '\0';
    }
    if (!clearing[0]) return;
    const char *out = clearing;
    if (!run_mark(out)) { /* member folders of an ensemble that never started: a new run makes its own */
        remove_members(out, remove_in);
        clearing[0] = '\0';
        return;
    }
    /* the run's marks first (checkpoints/latest, metrics.jsonl: a kill after them leaves no run
     * to resume by mistake), then the old run's files at the top level: a new run rewrites the
     * ones it has, and one it lacks (a BPE run's tokenizer.json under a byte-level run) would
     * speak for the new model */
    for (size_t i = 0; i < sizeof run_entries / sizeof *run_entries; i++) trash_in(out, run_entries[i]);
    for (int i = 0; krait_model_companions[i]; i++) trash_in(out, krait_model_companions[i]);
    remove_members(out, trash_in);
    remove_in(out, TRASH);
    fprintf(stderr, "%s %s: --overwrite: starting a new run in %s (its checkpoints removed)\n", krait_cli_prog(),
            clearing_cmd, out);
    clearing[0] = '\0';
}

/* What makes dir part of a training run, or NULL: a run folder's checkpoints/latest or
 * metrics.jsonl, a checkpoint's trainer_state.json, an ensemble's member-1. */
static const char *run_part(const char *dir)
{
    static const char *const marks[] = { "checkpoints/latest", "metrics.jsonl", "trainer_state.json", "member-1" };
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
        char *p = krait_fs_join(dir, marks[i]);
        if (!p) krait_cli_die(1, "out of memory");
        int has = krait_fs_is_file(p) || krait_fs_is_dir(p);
        free(p);
        if (has) return marks[i];
    }
    return NULL;
}

void krait_run_refuse_inside(const char *out, int self)
{
    char *p = strdup(out), *real = NULL;
    if (!p) krait_cli_die(1, "out of memory");
    for (;;) { /* the nearest folder that exists: out may be made by this command */
        if (krait_fs_is_dir(p)) {
            real = realpath(p, NULL);
            break;
        }
        char *slash = strrchr(p, '/');
        if (!slash) {
            real = realpath(".", NULL);
            break;
        }
        if (slash == p) slash[1] = '\0';
        else *slash = '\0';
    }
    free(p);
    if (real && !self && krait_fs_is_dir(out)) { /* out itself may be a run: start above it, and
                                                  * above its ensemble when it is a member-K */
        const char *base = strrchr(real, '/');
        int k, n = 0, member = base && sscanf(base + 1, "member-%d%n", &k, &n) == 1 && !base[1 + n];
        for (int up = 0; up < 1 + member; up++) {
            char *slash = strrchr(real, '/');
            if (!slash || !strcmp(real, "/")) break;
            if (slash == real) slash[1] = '\0';
            else *slash = '\0';
        }
    }
    for (char *slash; real && real[0];) { /* then every folder above it */
        const char *mark = run_part(real);
        if (mark)
            krait_cli_die(2, "%s: inside a training run (%s holds %s): choose another --out", out, real, mark);
        if (!strcmp(real, "/") || !(slash = strrchr(real, '/'))) break;
        if (slash == real) slash[1] = '\0';
        else *slash = '\0';
    }
    free(real);
}
