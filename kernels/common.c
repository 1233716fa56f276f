/* kernels/common.c — the small shared pieces of kernels/: status and dtype names, dtype sizes,
 * the logging callback and the running program's folder. Nothing here touches an op or a
 * device. */
#include "backend.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *krait_status_string(krait_status s)
{
    switch (s) {
    case KRAIT_STATUS_OK: return "ok";
    case KRAIT_STATUS_BAD_INPUT: return "bad input";
    case KRAIT_STATUS_NO_MEMORY: return "out of memory";
    case KRAIT_STATUS_IO: return "i/o error";
    case KRAIT_STATUS_UNSUPPORTED: return "unsupported";
    case KRAIT_STATUS_DEVICE: return "device error";
    case KRAIT_STATUS_NUMERIC: return "non-finite value";
    case KRAIT_STATUS_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

char *krait_exe_relative(const char *rel)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || (size_t)n >= sizeof exe - 1) return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    slash[1] = '\0';
    size_t need = strlen(exe) + strlen(rel) + 1;
    char *out = malloc(need);
    if (out) snprintf(out, need, "%s%s", exe, rel);
    return out;
}

size_t krait_dtype_size(krait_dtype t)
{
    switch (t) {
    case KRAIT_DTYPE_F32: return 4;
    case KRAIT_DTYPE_BF16: return 2;
    case KRAIT_DTYPE_F16: return 2;
    case KRAIT_DTYPE_I32: return 4;
    }
    return 0;
}

const char *krait_dtype_name(krait_dtype t)
{
    switch (t) {
    case KRAIT_DTYPE_F32: return "f32";
    case KRAIT_DTYPE_BF16: return "bf16";
    case KRAIT_DTYPE_F16: return "f16";
    case KRAIT_DTYPE_I32: return "i32";
    }
    return "?";
}

static krait_log_fn log_fn;
static void *log_user;
static krait_log_level log_max = KRAIT_LOG_INFO;

void krait_log_set(krait_log_fn fn, void *user, krait_log_level max_level)
{
    log_fn = fn;
    log_user = user;
    log_max = max_level;
}

void krait_log(krait_log_level level, const char *fmt, ...)
{
    if (level > log_max) return;
    const int saved_errno = errno; /* callers log, then read errno for the status */
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    static const char *tag[] = { "error: ", "warning: ", "", "debug: " };
    if (log_fn)
        log_fn(level, msg, log_user);
    else
        fprintf(stderr, "krait: %s%s\n", tag[level], msg);
    errno = saved_errno;
}

void krait_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "krait: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}
