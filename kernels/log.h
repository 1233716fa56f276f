/* kernels/log.h — krait's logging: one settable callback that every layer reports through.
 *
 * Library code never prints and never exits; it calls krait_log(), which hands the message to
 * the callback an app installed (default: one line on stderr). Messages name the file, the
 * place and the problem. This file does not format progress bars; apps do that.
 */
#ifndef KRAIT_LOG_H
#define KRAIT_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum krait_log_level {
    KRAIT_LOG_ERROR = 0,
    KRAIT_LOG_WARN = 1,
    KRAIT_LOG_INFO = 2,
    KRAIT_LOG_DEBUG = 3
} krait_log_level;

typedef void (*krait_log_fn)(krait_log_level level, const char *msg, void *user);

/* Install fn (NULL restores the stderr default); messages above max_level are dropped. */
void krait_log_set(krait_log_fn fn, void *user, krait_log_level max_level);
void krait_log(krait_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#define KRAIT_ERROR(...) krait_log(KRAIT_LOG_ERROR, __VA_ARGS__)
#define KRAIT_WARN(...) krait_log(KRAIT_LOG_WARN, __VA_ARGS__)
#define KRAIT_INFO(...) krait_log(KRAIT_LOG_INFO, __VA_ARGS__)

/* For broken invariants only, never for user input: prints file:line and aborts. */
void krait_assert_fail(const char *expr, const char *file, int line);
#define KRAIT_ASSERT(x) ((x) ? (void)0 : krait_assert_fail(#x, __FILE__, __LINE__))

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_LOG_H */
