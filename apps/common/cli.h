/* apps/common/cli.h — what every krait app shares, one header over four files:
 *   cli.c         start-up and messages on stderr, option parsing and the common options
 *                 (--device --threads --seed --json --help), picking a backend, the memory
 *                 checks, presets, --json output, and turning a status into an exit code (0 done,
 *                 1 runtime failure, 2 bad usage or input, 130 interrupted);
 *   cli_output.c  output files that appear whole or not at all, temporaries, the refusals to
 *                 write over an input or name two outputs alike, TSV fields, a confusion table;
 *   cli_signal.c  signals: the stop flag a trainer polls, the clean-up when a signal kills the
 *                 process (temporaries, krait_cli_remove_on_kill), SIGBUS on a cut mapped input;
 *   progress.c    progress lines on stderr and durations.
 * (cli_impl.h is what those files share, not for apps.) Only apps may exit(); this layer is
 * where they decide to. */
#ifndef KRAIT_CLI_H
#define KRAIT_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "backend.h"

/* OPT_UNUSED: a common option the command has no use for (dst NULL, help NULL): refused with one
 * line and left out of --help, so that it is not taken in silence */
typedef enum krait_opt_type { OPT_FLAG, OPT_INT, OPT_DOUBLE, OPT_STR, OPT_U64, OPT_LIST, OPT_UNUSED } krait_opt_type;

typedef struct krait_opt {
    const char *name;      /* "--steps" */
    krait_opt_type type;
    void *dst;             /* int*, double*, const char**, uint64_t*; OPT_LIST: krait_str_list* */
    const char *meta;      /* "N" in the help text */
    const char *help;      /* NULL: not listed (a sibling command's option, refused here) */
} krait_opt;

/* The entries of a command that runs no model: --device, --threads and --seed mean nothing to it. */
#define KRAIT_OPTS_NO_MODEL                                                                          \
    { "--device", OPT_UNUSED, NULL, NULL, NULL }, { "--threads", OPT_UNUSED, NULL, NULL, NULL },     \
    { "--seed", OPT_UNUSED, NULL, NULL, NULL }

typedef struct krait_str_list {
    const char *items[64];
    int n;
} krait_str_list;

typedef struct krait_common {
    const char *device;    /* auto | cpu | cpu-ref | cuda */
    int threads;           /* 0 = all cores */
    int threads_from_env;  /* threads came from OMP_NUM_THREADS (no --threads): the process's whole share */
    uint64_t seed;
    int seed_set;
    int json;
    int help;
} krait_common;

/* Call first in main(): fixes the OpenBLAS kernel choice (may re-execute the program once)
 * and routes library messages to stderr as "prog: ...". SIGXFSZ is ignored, so a file over the
 *  size limit fails its write with EFBIG (a clear error, like a full disk). */
void krait_cli_start(const char *prog, int argc, char **argv);
const char *krait_cli_prog(void);
/* For a loop over a dataset that skips a file it cannot read and goes on: after hold, the
 * library's error messages are kept instead of printed; release prints them, as "warning:
 * skipped <the message>" (one line naming the file) when skipped is 1, else as the errors they
 * are (the loop stops on a failure that is not bad input). */
void krait_cli_errors_hold(void);
void krait_cli_errors_release(int skipped);
/* The same, each held line after where ("MANIFEST:LINE: ", or ""). */
void krait_cli_errors_release_at(int skipped, const char *where);
/* Forget the held messages (the caller recovers from the failure) and stop holding. */
void krait_cli_errors_discard(void);

/* Parse argv[first..] against opts plus the common options. OPT_INT and OPT_DOUBLE values are
 * finite and >= 0 (no krait option takes a negative number; -1 is free as "not given"). Exits 2
 * with one line on a bad option; --help prints usage (from usage + opts) and exits 0. */
void krait_cli_parse(int argc, char **argv, int first, const krait_opt *opts, int nopts,
                     krait_common *common, const char *usage);

/* The backend --device asks for; says on stderr which one it picked. Exits 2 when the
 * device is unknown or absent. act dtype: "f32" or "bf16" (CUDA only). */
krait_backend *krait_cli_backend(const krait_common *c, const char *cuda_dtype);

/* Refuse work that cannot fit before allocating it: when `bytes` (SIZE_MAX: too large for krait
 * at all) exceed this machine's physical memory on a CPU backend, exit 2 with one line
 * "<what> needs N GB ..., more than this machine's M GB: <hint>". Over the memory available
 * now (MemAvailable: other programs hold the rest) it only warns, since that changes while it
 * runs. A GPU backend reports its own allocation failure. */
void krait_cli_check_memory(const krait_backend *be, size_t bytes, const char *what, const char *hint);
/* The same for training a model of cfg on tc's batch, its weights included (krait_training_bytes),
 * before the model is allocated; len_opt names the option that sets the length ("--seq-len",
 * "--train-len"). */
struct krait_config;
struct krait_train_config;
void krait_cli_check_train_memory(const struct krait_config *cfg, krait_backend *be, const struct krait_train_config *tc,
                                  const char *len_opt);

/* main() returns krait_cli_done(command's exit code). In a sanitizer build the leak check runs
 * here, for runs that finished (0) or stopped on a signal with a checkpoint (130); a run that
 * fails exits at once (krait_cli_die, or an error returned up) and frees nothing on purpose, so
 * it is not leak-checked (leak_check_at_exit=0 is the default this build sets). stdout is
 * flushed: a write that failed (full disk, ulimit -f) is one line and exit 1, not success. */
int krait_cli_done(int rc);
/* The one line (said once) for output on stdout that could not be written (errno: the reason,
 * or 0); a command that notices it first says it with errno still set, then returns 1. */
void krait_cli_stdout_failed(void);

/* Exit code for a status (1 runtime, 2 bad input/unsupported, 130 interrupted). */
int krait_cli_exit_code(krait_status s);
/* --json: o as one line on stdout (the last line a command prints), then frees o. */
struct cJSON;
/* JSON text made by cJSON (freed) as valid UTF-8 (malloc'd; NULL for NULL): cJSON copies a
 * string's bytes as they are, so a name that is not UTF-8 (a label, a path) would make it invalid;
 * each byte of an invalid sequence becomes \ufffd (such bytes can only be inside a string). */
char *krait_cli_json_utf8(char *json);
void krait_cli_print_json(struct cJSON *o);

/* One line "prog: error: message" on stderr (as the library's errors) and exit(code). */
void krait_cli_die(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3), noreturn))
#endif
    ;

/* An output file that appears whole or not at all: open writes to a temporary name beside path
 * (path.tmp-XXXXXX; exits 2 with one line when that cannot be created), close flushes it and
 * renames it over path (exits 1 when the write failed). A program that exits before close (an
 * error, krait_cli_die) removes the temporary, so a failed command never leaves a partial file
 * under the name asked for, nor replaces an older one. */
FILE *krait_cli_output_open(const char *path);
void krait_cli_output_close(FILE *f);
/* A temporary file written by other means (a token file's): removed if the program ends (an
 * error exit, a killing signal) before krait_cli_temp_done(path) says it was renamed into place. */
void krait_cli_temp_add(const char *path);
void krait_cli_temp_done(const char *path);

/* Exits 2 with one line when path, a file the command is about to write (opt names the option),
 * is one it reads: the same file as one of reads[0..n) (NULL entries skipped), or an existing
 * file inside one of them that is a folder (a model folder). Call it before the work. */
void krait_cli_refuse_overwrite(const char *path, const char *opt, const char *const *reads, int n);
/* Two outputs of one command (either may be NULL) named the same: exit 2, one line naming both
 * ("--confusion X: the same file as --output"); the second would replace the first. */
void krait_cli_refuse_same_output(const char *a, const char *opt_a, const char *b, const char *opt_b);
/* An input given twice in one list (the same text, or one file by two names): exit 2, one line
 * (its rows would count twice: in a split, on both sides). */
void krait_cli_refuse_repeated(const krait_str_list *l, const char *opt);
/* Remove an earlier output at path before its new one (open with krait_cli_output_open) takes
 * the name, where two outputs must never be seen from different runs: the file a link names
 * (the link stays), nothing for a device or pipe. Exits 1 with one line on failure. */
void krait_cli_output_unlink_old(const char *path);

/* Exits 2 with one line when path (an output, opt its option) cannot be written where it is: a
 * folder, or in a folder that does not exist. For outputs written only after the work. */
void krait_cli_check_output_path(const char *path, const char *opt);

/* The exit code of a failed file operation's errno: 2 for what the user must fix (a missing or
 * read-only place), 1 for the machine's failure (a full disk) (krait_fs_errno_status). */
int krait_cli_errno_exit(int err);

/* Exits 2 with one line when a picture's file name (of option opt) does not end in ext (".svg",
 * ".png"; any case), the format it is written in (kind: "an SVG"): a photo viewer would not open
 * SVG text named .png. A device or pipe (/dev/stdout) is taken as it is. */
void krait_cli_check_picture(const char *path, const char *opt, const char *ext, const char *kind);

/* s as one TSV field: a tab, newline, carriage return or backslash in it written as \t \n \r \\
 * (a file name may hold any of them; the row must stay one row). */
void krait_cli_tsv_field(FILE *f, const char *s);

/* A classifier's confusion matrix (C x C counts, row = true class, column = predicted) as a text
 * table on f under the line "confusion (rows: true, columns: predicted)"; names whole. */
void krait_cli_print_confusion(FILE *f, const char *const *names, int C, const long *confusion);

/* A preset name ("induction-small") or a path: returns a readable path (static buffer). */
const char *krait_cli_config_path(const char *name_or_path);

/* Progress on stderr: a redrawn line on a terminal, a plain line every `every` calls otherwise. */
typedef struct krait_progress {
    int tty;
    double last;
    long calls;
    int every;
} krait_progress;
/* every: off a terminal, only the forced lines (force = 1) */
#define KRAIT_PROGRESS_FORCED_ONLY (1 << 30)
void krait_progress_init(krait_progress *p, int every);
void krait_progress_line(krait_progress *p, int force, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void krait_progress_done(krait_progress *p);
/* On a terminal, the redrawn line wiped (before writing rows to a stdout that is the same
 * terminal); nothing otherwise. */
void krait_progress_clear(krait_progress *p);
/* "1h02m", "3m10s", "42s" */
const char *krait_fmt_duration(double s, char buf[32]);

/* SIGINT / SIGTERM set a flag instead of killing the process (training writes a checkpoint); a
 * second one exits at once. SIGUSR1 sets the flag too, but never exits: it is how a parent
 * passes a stop on to its children (which may have had the user's signal already). */
void krait_cli_catch_signals(void);
/* A signal that ends the process (SIGINT, SIGTERM, SIGHUP, where not caught) removes dir and all
 * under it: a folder this process made for work not yet done (its lock, a class list, half a
 * model). NULL: none (the folder holds finished work; krait_cli_catch_signals says the same). */
void krait_cli_remove_on_kill(const char *dir);
int krait_cli_stop_requested(void);

/* This process is one of `sharers` running at once and writing to the same stderr (children
 * of fork): its lines start with `name` (kept, not copied) instead of the program's, progress
 * is plain lines, never a redrawn one, and the memory checks count its need `sharers` times. */
void krait_cli_child(const char *name, int sharers);

#endif /* KRAIT_CLI_H */
