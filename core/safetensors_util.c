/* core/safetensors_util.c — the small pieces the safetensors reader, model and writer share:
 * the dtype table and its string conversions, UTF-8 checks, overflow-checked tensor sizes and
 * the text helpers that keep error messages on one line, and the lexical JSON checks that cJSON
 * does not make. No file access here. */
#include "safetensors.h"
#include "safetensors_impl.h"

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int bits;
} dtype_table[KRAIT_ST_DTYPE_COUNT] = {
    [KRAIT_ST_DTYPE_BOOL] = { "BOOL", 8 },
    [KRAIT_ST_DTYPE_F4] = { "F4", 4 },
    [KRAIT_ST_DTYPE_F6_E2M3] = { "F6_E2M3", 6 },
    [KRAIT_ST_DTYPE_F6_E3M2] = { "F6_E3M2", 6 },
    [KRAIT_ST_DTYPE_U8] = { "U8", 8 },
    [KRAIT_ST_DTYPE_I8] = { "I8", 8 },
    [KRAIT_ST_DTYPE_F8_E5M2] = { "F8_E5M2", 8 },
    [KRAIT_ST_DTYPE_F8_E4M3] = { "F8_E4M3", 8 },
    [KRAIT_ST_DTYPE_F8_E8M0] = { "F8_E8M0", 8 },
    [KRAIT_ST_DTYPE_F8_E4M3FNUZ] = { "F8_E4M3FNUZ", 8 },
    [KRAIT_ST_DTYPE_F8_E5M2FNUZ] = { "F8_E5M2FNUZ", 8 },
    [KRAIT_ST_DTYPE_I16] = { "I16", 16 },
    [KRAIT_ST_DTYPE_U16] = { "U16", 16 },
    [KRAIT_ST_DTYPE_F16] = { "F16", 16 },
    [KRAIT_ST_DTYPE_BF16] = { "BF16", 16 },
    [KRAIT_ST_DTYPE_I32] = { "I32", 32 },
    [KRAIT_ST_DTYPE_U32] = { "U32", 32 },
    [KRAIT_ST_DTYPE_F32] = { "F32", 32 },
    [KRAIT_ST_DTYPE_C64] = { "C64", 64 },
    [KRAIT_ST_DTYPE_F64] = { "F64", 64 },
    [KRAIT_ST_DTYPE_I64] = { "I64", 64 },
    [KRAIT_ST_DTYPE_U64] = { "U64", 64 },
};

int krait_st_dtype_from_string(krait_st_dtype *dtype, const char *s)
{
    if (!s) return 0;
    for (int i = 0; i < KRAIT_ST_DTYPE_COUNT; i++) {
        if (strcmp(s, dtype_table[i].name) == 0) {
            *dtype = (krait_st_dtype)i;
            return 1;
        }
    }
    return 0;
}

const char *krait_st_dtype_to_string(krait_st_dtype dtype)
{
    if ((int)dtype < 0 || dtype >= KRAIT_ST_DTYPE_COUNT) return NULL;
    return dtype_table[dtype].name;
}

int krait_st_dtype_bits(krait_st_dtype dtype)
{
    if ((int)dtype < 0 || dtype >= KRAIT_ST_DTYPE_COUNT) return 0;
    return dtype_table[dtype].bits;
}

int krait_st_dtype_to_krait(krait_dtype *out, krait_st_dtype dtype)
{
    switch (dtype) {
    case KRAIT_ST_DTYPE_F32: *out = KRAIT_DTYPE_F32; return 1;
    case KRAIT_ST_DTYPE_BF16: *out = KRAIT_DTYPE_BF16; return 1;
    case KRAIT_ST_DTYPE_F16: *out = KRAIT_DTYPE_F16; return 1;
    case KRAIT_ST_DTYPE_I32: *out = KRAIT_DTYPE_I32; return 1;
    default: return 0;
    }
}

size_t krait_sti_utf8_len(const uint8_t *s, size_t n)
{
    if (n == 0) return 0;
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf;   /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;        /* no overlong forms */
        if (c == 0xed) hi = 0x9f;        /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;        /* no overlong forms */
        if (c == 0xf4) hi = 0x8f;        /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return len;
}

int krait_sti_utf8_ok(const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t n = strlen(s);
    while (n > 0) {
        size_t k = krait_sti_utf8_len(p, n);
        if (k == 0) return 0;
        p += k;
        n -= k;
    }
    return 1;
}

const char *krait_sti_quote(char *out, size_t cap, const char *name)
{
    size_t limit = cap < 84 ? cap - 4 : 80, i = 0;
    for (; name[i] && i < limit; i++) {
        unsigned char c = (unsigned char)name[i];
        out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (name[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

int krait_st_shape_equal(const int64_t *a, int ra, const int64_t *b, int rb)
{
    if (ra != rb) return 0;
    for (int i = 0; i < ra; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

const char *krait_st_shape_str(char *out, size_t cap, const int64_t *shape, int rank)
{
    size_t len = 0;
    out[len++] = '[';
    for (int i = 0; i < rank; i++) {
        char num[32];
        int k = snprintf(num, sizeof num, "%s%lld", i ? ", " : "", (long long)shape[i]);
        if (len + (size_t)k + 5 >= cap) {
            memcpy(out + len, "...", 3);
            len += 3;
            break;
        }
        memcpy(out + len, num, (size_t)k);
        len += (size_t)k;
    }
    out[len++] = ']';
    out[len] = '\0';
    return out;
}

const char *krait_sti_size(uint64_t *numel, uint64_t *nbytes, const int64_t *shape, int rank,
                           krait_st_dtype dtype)
{
    uint64_t n = 1;
    for (int i = 0; i < rank; i++) {
        uint64_t d = (uint64_t)shape[i];
        if (d != 0 && n > UINT64_MAX / d) {
            /* Overflow unless a later dimension is 0 (the reference checks left to right and
             * fails; so do we, so that the two agree on every file). */
            return "element count overflows 64 bits";
        }
        n *= d;
    }
    uint64_t bits = (uint64_t)krait_st_dtype_bits(dtype);
    if (n != 0 && n > UINT64_MAX / bits) return "size in bits overflows 64 bits";
    if ((n * bits) % 8 != 0) return "size is not a whole number of bytes";
    *numel = n;
    *nbytes = n * bits / 8;
    return NULL;
}

/* ---- lexical JSON checks ------------------------------------------------------------------ */

void krait_sti_err(const char *path, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    KRAIT_ERROR("%s: %s", path, msg);
}

const krait_st_tensor *krait_sti_find(const krait_st_tensor *const *by_name, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(by_name[mid]->name, name);
        if (c == 0) return by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

int krait_sti_json_scan(const char *path, const uint8_t *h, size_t n, uint64_t base,
                        int integers_only)
{
    int in_str = 0;
    size_t i = 0;
    while (i < n) {
        uint8_t c = h[i];
        if (c >= 0x80) {
            size_t k = krait_sti_utf8_len(h + i, n - i);
            if (k == 0) {
                krait_sti_err(path, "invalid UTF-8 at file offset %llu",
                       (unsigned long long)(base + i));
                return 0;
            }
            i += k;
            continue;
        }
        if (in_str) {
            if (c == '"') {
                in_str = 0;
            } else if (c == '\\') {
                if (i + 5 < n && h[i + 1] == 'u' && memcmp(h + i + 2, "0000", 4) == 0) {
                    krait_sti_err(path, "\\u0000 in a string at file offset %llu is not allowed",
                           (unsigned long long)(base + i));
                    return 0;
                }
                i++;   /* skip the escaped character (cJSON checks the escape itself) */
            } else if (c < 0x20) {
                krait_sti_err(path, "raw control character 0x%02x in a string at file offset %llu",
                       c, (unsigned long long)(base + i));
                return 0;
            }
            i++;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            krait_sti_err(path, "control character 0x%02x at file offset %llu",
                   c, (unsigned long long)(base + i));
            return 0;
        } else if (integers_only && (c == '-' || is_digit(c))) {
            size_t start = i, d;
            if (c == '-') i++;
            d = i;
            while (i < n && is_digit(h[i])) i++;
            int frac = i < n && (h[i] == '.' || h[i] == 'e' || h[i] == 'E');
            if (frac || (i - d > 1 && h[d] == '0')) {
                char tok[32];
                size_t k = 0;
                for (size_t j = start; j < n && k < sizeof tok - 1; j++, k++) {
                    uint8_t t = h[j];
                    if (!(is_digit(t) || t == '-' || t == '+' || t == '.' || t == 'e' || t == 'E'))
                        break;
                    tok[k] = (char)t;
                }
                tok[k] = '\0';
                krait_sti_err(path, "number '%s' at file offset %llu is not an integer%s", tok,
                       (unsigned long long)(base + start),
                       frac ? "" : " (leading zero)");
                return 0;
            }
            continue;
        }
        i++;
    }
    return 1;
}

krait_status krait_sti_errno_status(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case EISDIR:
    case ENAMETOOLONG:
    case ELOOP:
        return KRAIT_STATUS_BAD_INPUT;
    default:
        return KRAIT_STATUS_IO;
    }
}
