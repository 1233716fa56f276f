/* core/safetensors_impl.h — helpers shared by the safetensors reader, model and writer files.
 * Private to core/safetensors*.c; not installed, not part of the API. */
#ifndef KRAIT_SAFETENSORS_IMPL_H
#define KRAIT_SAFETENSORS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "krait's safetensors code assumes a little-endian host"
#endif

#define KRAIT_ST_MAX_INT 9007199254740992.0   /* 2^53: header integers must be below */

/* Length of the valid UTF-8 sequence at s (at most n bytes available), or 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
size_t krait_sti_utf8_len(const uint8_t *s, size_t n);
/* 1 if the NUL-terminated string is valid UTF-8. */
int krait_sti_utf8_ok(const char *s);

/* A name made safe for a one-line message: at most ~80 bytes, control bytes as '?', "..." when
 * cut. Returns out. */
const char *krait_sti_quote(char *out, size_t cap, const char *name);
/* One error line "path: message" through the log. */
void krait_sti_err(const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The tensor named name among the n of by_name, which are in strcmp order of their names (binary
 * search), or NULL. */
const krait_st_tensor *krait_sti_find(const krait_st_tensor *const *by_name, size_t n, const char *name);

/* numel and nbytes of a shape with overflow checks. Returns NULL when fine, else a short reason
 * ("overflows", "is not a whole number of bytes"). */
const char *krait_sti_size(uint64_t *numel, uint64_t *nbytes, const int64_t *shape, int rank,
                           krait_st_dtype dtype);

/* Lexical checks on JSON text (h, n bytes; base = its file offset, for messages) that cJSON
 * does not make: valid UTF-8, no control bytes outside JSON whitespace, none raw inside strings,
 * no \u0000 escape; with integers_only, every number is a plain integer literal. Returns 1 if
 * fine, else logs one line naming path and the offset, and returns 0. */
int krait_sti_json_scan(const char *path, const uint8_t *h, size_t n, uint64_t base,
                        int integers_only);

/* KRAIT_STATUS_BAD_INPUT for errno values that mean "the user named a wrong path", else IO. */
krait_status krait_sti_errno_status(int err);

#endif /* KRAIT_SAFETENSORS_IMPL_H */
