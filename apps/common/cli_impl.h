/* apps/common/cli_impl.h — what cli.c, cli_output.c, cli_signal.c and progress.c share: the
 * progress line still open on the terminal, the removal of temporaries a signal handler calls,
 * and the handlers cli.c installs. Private to those four files (apps include cli.h); everything
 * else of theirs stays static in the one file that uses it. */
#ifndef KRAIT_CLI_IMPL_H
#define KRAIT_CLI_IMPL_H

/* progress.c: a progress line is drawn on the terminal and not ended (read by the SIGBUS
 * handler); krait_cli_end_tty_line wipes it before a message. krait_cli_plain_progress, set by
 * krait_cli_child (cli.c): progress as plain lines even on a terminal. */
extern volatile int krait_cli_tty_line_open;
extern int krait_cli_plain_progress;
void krait_cli_end_tty_line(void);

/* cli_output.c: unlink the temporaries of outputs in progress (krait_cli_output_open,
 * krait_cli_temp_add) and the library's atomic writes, now; async-signal-safe, for the handlers
 * of cli_signal.c. */
void krait_cli_unlink_temps_now(void);

/* cli_signal.c: SIGINT, SIGTERM and SIGHUP, where not caught already, remove the temporaries
 * (and the krait_cli_remove_on_kill folder) and then end the process (krait_cli_start installs
 * it); the SIGBUS handler for a memory-mapped input cut short (krait_cli_parse installs it). */
void krait_cli_remove_pending_on_signals(void);
void krait_cli_on_bus_error(int sig);

#endif /* KRAIT_CLI_IMPL_H */
