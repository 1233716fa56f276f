/* apps/common/cli_signal.c — signals (see cli.h): SIGINT / SIGTERM / SIGUSR1 turned into the
 * stop flag a trainer polls (a second Ctrl-C exits at once), the clean-up when a signal kills the
 * process (the temporaries of outputs in progress, and the folder krait_cli_remove_on_kill names),
 * and SIGBUS from a memory-mapped input cut short (one line, exit 2). Only async-signal-safe calls
 * in the handlers. Deliberately not here: the list of temporaries and what writes them
 * (cli_output.c), the progress line a handler ends (progress.c). */
#include "cli.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_impl.h"
#include "fsutil.h"

/* The folder krait_cli_remove_on_kill named, and the process that made it (a forked child that
 * inherits the handler leaves it). */
static char kill_dir[4096];
static volatile pid_t kill_dir_owner;

/* A signal that ends the program (Ctrl-C, kill) while outputs are pending: their temporary
 * files removed (krait_cli_unlink_temps_now), then the signal's own ending. Installed only where
 * the signal is not caught already (a trainer stops at a checkpoint and exits normally). */
static void on_fatal_signal(int sig)
{
    krait_cli_unlink_temps_now();
    if (kill_dir_owner && kill_dir_owner == getpid()) krait_fs_remove_tree_now(kill_dir);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A memory-mapped input cut short or rewritten while the command ran faults on its next read:
 * one line naming the mapped files, the temporaries removed, exit 2 (not "Bus error"). Only
 * async-signal-safe calls. */
void krait_cli_on_bus_error(int sig)
{
    (void)sig;
    krait_cli_unlink_temps_now();
    if (krait_cli_tty_line_open) (void)!write(STDERR_FILENO, "\n", 1); /* off a redrawn progress line */
    const char *parts[] = { krait_cli_prog(), ": error: " };
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

void krait_cli_remove_pending_on_signals(void)
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

void krait_cli_remove_on_kill(const char *dir)
{
    kill_dir_owner = 0;
    atomic_signal_fence(memory_order_seq_cst);
    if (!dir || strlen(dir) >= sizeof kill_dir) return;
    snprintf(kill_dir, sizeof kill_dir, "%s", dir);
    atomic_signal_fence(memory_order_seq_cst); /* on_fatal_signal sees the name whole */
    kill_dir_owner = getpid();
}

static volatile sig_atomic_t stop_flag;
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
        if (ms >= 1000) krait_cli_unlink_temps_now(), _exit(130);
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
