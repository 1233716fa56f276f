/* core/safetensors.c — the safetensors reader: map one file read-only, validate its header
 * strictly (rules in safetensors.h), and hand out tensor views and fp32 copies.
 *
 * Validation runs in stages, each with its own one-line message: the 8-byte length; a lexical
 * scan of the header bytes (krait_sti_json_scan in safetensors_util.c: UTF-8, control characters,
 * \u0000, integer-only numbers, which cJSON lets through); cJSON parse; structure of each entry;
 * then duplicates and coverage of the data buffer. Per-file storage is measured first and carved
 * from one allocation.
 * It does not write files (safetensors_write.c) or know about model folders (safetensors_model.c).
 */
#include "safetensors.h"
#include "safetensors_impl.h"

#include "bf16.h"
#include "fsutil.h"
#include "log.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct st_meta {
    const char *key, *value;
} st_meta;

struct krait_st_file {
    char *path;
    const uint8_t *map;
    size_t size;
    size_t n;
    krait_st_tensor *tensors;          /* (n) offset order */
    const krait_st_tensor **by_name;   /* (n) name order */
    size_t nmeta;
    st_meta *meta;                     /* (nmeta) key order */
    void *arena;                       /* holds tensors, by_name, shapes, meta and strings */
};

/* ---- entries (after the lexical scan and cJSON) ------------------------------------------ */

/* A JSON integer 0 <= v < 2^53. Returns NULL when fine, else a reason. */
static const char *st_uint(uint64_t *out, const cJSON *v)
{
    if (!cJSON_IsNumber(v)) return "is not a number";
    double d = v->valuedouble;
    if (d < 0 || signbit(d)) return "is negative";   /* -0 too: no signs at all */
    if (!(d < KRAIT_ST_MAX_INT)) return "is too large (limit 2^53)";
    if (d != (double)(uint64_t)d) return "is not an integer";
    *out = (uint64_t)d;
    return NULL;
}

typedef struct st_parse {
    const char *path;
    uint64_t data_len;
    int64_t *dims;        /* next free dimension slot */
    char *chars;          /* next free string byte */
} st_parse;

static const char *st_copy(st_parse *p, const char *s)
{
    size_t k = strlen(s) + 1;
    char *d = p->chars;
    memcpy(d, s, k);
    p->chars += k;
    return d;
}

static int st_entry(st_parse *p, krait_st_tensor *t, const cJSON *e)
{
    char q[96];
    krait_sti_quote(q, sizeof q, e->string);
    if (!cJSON_IsObject(e)) {
        krait_sti_err(p->path, "tensor '%s': entry is not a JSON object", q);
        return 0;
    }
    static const char *fields[3] = { "dtype", "shape", "data_offsets" };
    const cJSON *f[3] = { NULL, NULL, NULL };
    for (const cJSON *c = e->child; c; c = c->next) {
        int k = 0;
        while (k < 3 && strcmp(c->string, fields[k]) != 0) k++;
        if (k == 3) {
            char fq[96];
            krait_sti_err(p->path, "tensor '%s': unknown field '%s'", q,
                   krait_sti_quote(fq, sizeof fq, c->string));
            return 0;
        }
        if (f[k]) {
            krait_sti_err(p->path, "tensor '%s': field '%s' given twice", q, fields[k]);
            return 0;
        }
        f[k] = c;
    }
    for (int k = 0; k < 3; k++) {
        if (!f[k]) {
            krait_sti_err(p->path, "tensor '%s': missing field '%s'", q, fields[k]);
            return 0;
        }
    }
    /* dtype */
    if (!cJSON_IsString(f[0])) {
        krait_sti_err(p->path, "tensor '%s': dtype is not a string", q);
        return 0;
    }
    if (!krait_st_dtype_from_string(&t->dtype, f[0]->valuestring)) {
        char dq[96];
        krait_sti_err(p->path, "tensor '%s': unknown dtype '%s'", q,
               krait_sti_quote(dq, sizeof dq, f[0]->valuestring));
        return 0;
    }
    /* shape */
    if (!cJSON_IsArray(f[1])) {
        krait_sti_err(p->path, "tensor '%s': shape is not an array", q);
        return 0;
    }
    t->rank = 0;
    t->shape = p->dims;
    for (const cJSON *c = f[1]->child; c; c = c->next) {
        uint64_t v = 0;
        const char *bad = st_uint(&v, c);
        if (bad) {
            krait_sti_err(p->path, "tensor '%s': shape[%d] %s", q, t->rank, bad);
            return 0;
        }
        p->dims[t->rank++] = (int64_t)v;
    }
    p->dims += t->rank;
    /* data_offsets */
    uint64_t off[2];
    if (!cJSON_IsArray(f[2]) || cJSON_GetArraySize(f[2]) != 2) {
        krait_sti_err(p->path, "tensor '%s': data_offsets must be an array [begin, end]", q);
        return 0;
    }
    for (int k = 0; k < 2; k++) {
        const char *bad = st_uint(&off[k], cJSON_GetArrayItem(f[2], k));
        if (bad) {
            krait_sti_err(p->path, "tensor '%s': data_offsets[%d] %s", q, k, bad);
            return 0;
        }
    }
    if (off[0] > off[1]) {
        krait_sti_err(p->path, "tensor '%s': data_offsets [%llu, %llu] have begin > end", q,
               (unsigned long long)off[0], (unsigned long long)off[1]);
        return 0;
    }
    char sh[128];
    krait_st_shape_str(sh, sizeof sh, t->shape, t->rank);
    const char *bad = krait_sti_size(&t->numel, &t->nbytes, t->shape, t->rank, t->dtype);
    if (bad) {
        krait_sti_err(p->path, "tensor '%s': shape %s of %s: %s", q, sh,
               krait_st_dtype_to_string(t->dtype), bad);
        return 0;
    }
    if (t->nbytes != off[1] - off[0]) {
        krait_sti_err(p->path, "tensor '%s': shape %s of %s is %llu bytes but data_offsets [%llu, %llu] "
               "span %llu", q, sh, krait_st_dtype_to_string(t->dtype),
               (unsigned long long)t->nbytes, (unsigned long long)off[0],
               (unsigned long long)off[1], (unsigned long long)(off[1] - off[0]));
        return 0;
    }
    if (off[1] > p->data_len) {
        krait_sti_err(p->path, "tensor '%s': data_offsets [%llu, %llu] end past the data (%llu bytes)",
               q, (unsigned long long)off[0], (unsigned long long)off[1],
               (unsigned long long)p->data_len);
        return 0;
    }
    t->name = st_copy(p, e->string);
    t->file_offset = off[0];   /* relative to the data buffer until the coverage check */
    return 1;
}

static int st_metadata(st_parse *p, st_meta *meta, size_t *nmeta, const cJSON *m)
{
    if (!cJSON_IsObject(m)) {
        krait_sti_err(p->path, "__metadata__ is not a JSON object");
        return 0;
    }
    for (const cJSON *c = m->child; c; c = c->next) {
        if (!cJSON_IsString(c)) {
            char q[96];
            krait_sti_err(p->path, "__metadata__ '%s': value is not a string",
                   krait_sti_quote(q, sizeof q, c->string));
            return 0;
        }
        meta[*nmeta].key = st_copy(p, c->string);
        meta[*nmeta].value = st_copy(p, c->valuestring);
        (*nmeta)++;
    }
    return 1;
}

/* ---- duplicates and coverage ------------------------------------------------------------ */

static int cmp_name(const void *a, const void *b)
{
    const krait_st_tensor *x = *(const krait_st_tensor *const *)a;
    const krait_st_tensor *y = *(const krait_st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int cmp_offset(const void *a, const void *b)
{
    const krait_st_tensor *x = a, *y = b;
    if (x->file_offset != y->file_offset) return x->file_offset < y->file_offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_meta(const void *a, const void *b)
{
    return strcmp(((const st_meta *)a)->key, ((const st_meta *)b)->key);
}

static void st_index_names(krait_st_file *f)
{
    for (size_t i = 0; i < f->n; i++) f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, f->n, sizeof *f->by_name, cmp_name);
}

static int st_check_layout(krait_st_file *f, uint64_t data_len)
{
    char q[96], q2[96];
    st_index_names(f);
    for (size_t i = 1; i < f->n; i++) {
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0) {
            krait_sti_err(f->path, "tensor '%s' is defined twice",
                   krait_sti_quote(q, sizeof q, f->by_name[i]->name));
            return 0;
        }
    }
    for (size_t i = 1; i < f->nmeta; i++) {
        if (strcmp(f->meta[i - 1].key, f->meta[i].key) == 0) {
            krait_sti_err(f->path, "__metadata__ key '%s' is given twice",
                   krait_sti_quote(q, sizeof q, f->meta[i].key));
            return 0;
        }
    }
    qsort(f->tensors, f->n, sizeof *f->tensors, cmp_offset);
    uint64_t pos = 0;
    const krait_st_tensor *prev = NULL;
    for (size_t i = 0; i < f->n; i++) {
        const krait_st_tensor *t = &f->tensors[i];
        uint64_t b = t->file_offset, e = b + t->nbytes;
        if (b < pos) {
            krait_sti_err(f->path, "tensor '%s': data_offsets [%llu, %llu] overlap tensor '%s' "
                   "(which ends at %llu)", krait_sti_quote(q, sizeof q, t->name),
                   (unsigned long long)b, (unsigned long long)e,
                   krait_sti_quote(q2, sizeof q2, prev->name), (unsigned long long)pos);
            return 0;
        }
        if (b > pos) {
            if (prev) krait_sti_quote(q2, sizeof q2, prev->name);
            krait_sti_err(f->path, "tensor '%s': data_offsets [%llu, %llu] leave a hole of %llu unused "
                   "bytes %s%s%s", krait_sti_quote(q, sizeof q, t->name),
                   (unsigned long long)b, (unsigned long long)e, (unsigned long long)(b - pos),
                   prev ? "after tensor '" : "at the start of the data",
                   prev ? q2 : "", prev ? "'" : "");
            return 0;
        }
        pos = e;
        prev = t;
    }
    if (pos != data_len) {
        krait_sti_err(f->path, "%llu trailing bytes after the last tensor (the data is %llu bytes, the "
               "tensors cover %llu)", (unsigned long long)(data_len - pos),
               (unsigned long long)data_len, (unsigned long long)pos);
        return 0;
    }
    st_index_names(f);   /* the offset sort moved the tensors */
    return 1;
}

/* ---- open / close -------------------------------------------------------------------------- */

/* Everything after the header length: scan, parse, validate, fill f. */
static int st_parse_header(krait_st_file *f, uint64_t hlen, krait_status *st)
{
    const uint8_t *h = f->map + 8;
    char *text = NULL;
    cJSON *root = NULL;
    int ok = 0;
    *st = KRAIT_STATUS_BAD_INPUT;

    if (!krait_sti_json_scan(f->path, h, (size_t)hlen, 8, 1)) goto fail;
    if (hlen == 0 || h[0] != '{') {
        krait_sti_err(f->path, "header is not a JSON object (it does not start with '{')");
        goto fail;
    }
    /* cJSON gets a NUL-terminated private copy: bounded reads, and ASan sees overreads. */
    text = malloc((size_t)hlen + 1);
    if (!text) {
        *st = KRAIT_STATUS_NO_MEMORY;
        krait_sti_err(f->path, "out of memory for a %llu-byte header", (unsigned long long)hlen);
        goto fail;
    }
    memcpy(text, h, (size_t)hlen);
    text[hlen] = '\0';
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, (size_t)hlen, &end, 0);
    if (!root) {
        krait_sti_err(f->path, "header is not valid JSON (error near file offset %llu)",
               (unsigned long long)(8 + (end ? (uint64_t)(end - text) : 0)));
        goto fail;
    }
    for (const char *c = end; c < text + hlen; c++) {
        if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r') {
            krait_sti_err(f->path, "trailing bytes after the JSON object in the header (file offset %llu)",
                   (unsigned long long)(8 + (uint64_t)(c - text)));
            goto fail;
        }
    }
    if (!cJSON_IsObject(root)) {
        krait_sti_err(f->path, "header is not a JSON object");
        goto fail;
    }

    /* Measure, allocate once, carve. */
    size_t n = 0, ndims = 0, nmeta = 0, nchars = 0;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (strcmp(c->string, "__metadata__") == 0) {
            for (const cJSON *m = cJSON_IsObject(c) ? c->child : NULL; m; m = m->next) {
                nmeta++;
                nchars += strlen(m->string) + 1;
                nchars += cJSON_IsString(m) ? strlen(m->valuestring) + 1 : 0;
            }
            continue;
        }
        n++;
        nchars += strlen(c->string) + 1;
        const cJSON *s = cJSON_IsObject(c) ? cJSON_GetObjectItemCaseSensitive(c, "shape") : NULL;
        for (const cJSON *d = s && cJSON_IsArray(s) ? s->child : NULL; d; d = d->next) ndims++;
    }
    /* Duplicate "shape" fields are refused before their dims are stored, so ndims suffices. */
    size_t bytes = n * sizeof(krait_st_tensor) + n * sizeof(krait_st_tensor *) +
                   ndims * sizeof(int64_t) + nmeta * sizeof(st_meta) + nchars;
    f->arena = malloc(bytes ? bytes : 1);
    if (!f->arena) {
        *st = KRAIT_STATUS_NO_MEMORY;
        krait_sti_err(f->path, "out of memory for the index of %zu tensors", n);
        goto fail;
    }
    char *a = f->arena;
    f->tensors = (krait_st_tensor *)a;
    a += n * sizeof(krait_st_tensor);
    f->by_name = (const krait_st_tensor **)a;
    a += n * sizeof(krait_st_tensor *);
    st_parse p = { f->path, f->size - 8 - hlen, (int64_t *)a, NULL };
    a += ndims * sizeof(int64_t);
    f->meta = (st_meta *)a;
    a += nmeta * sizeof(st_meta);
    p.chars = a;

    int seen_meta = 0;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (strcmp(c->string, "__metadata__") == 0) {
            if (seen_meta++) {
                krait_sti_err(f->path, "__metadata__ is given twice");
                goto fail;
            }
            if (!st_metadata(&p, f->meta, &f->nmeta, c)) goto fail;
            continue;
        }
        krait_st_tensor *t = &f->tensors[f->n];
        memset(t, 0, sizeof *t);
        if (!st_entry(&p, t, c)) goto fail;
        t->file = f;
        f->n++;
    }
    qsort(f->meta, f->nmeta, sizeof *f->meta, cmp_meta);
    if (!st_check_layout(f, p.data_len)) goto fail;
    for (size_t i = 0; i < f->n; i++) {
        krait_st_tensor *t = &f->tensors[i];
        t->file_offset += 8 + hlen;
        t->data = f->map + t->file_offset;
    }
    *st = KRAIT_STATUS_OK;
    ok = 1;
fail:
    cJSON_Delete(root);
    free(text);
    return ok;
}

krait_st_file *krait_st_open(const char *path, krait_status *status)
{
    krait_status st = KRAIT_STATUS_NO_MEMORY, dummy;
    krait_st_file *f = calloc(1, sizeof *f);
    int fd = -1;
    if (!status) status = &dummy;
    if (!f || !(f->path = strdup(path))) {
        KRAIT_ERROR("%s: out of memory", path);
        goto fail;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        st = krait_sti_errno_status(errno);
        krait_sti_err(path, "cannot open: %s", strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = KRAIT_STATUS_BAD_INPUT;
        krait_sti_err(path, "not a regular file");
        goto fail;
    }
    f->size = (size_t)sb.st_size;
    st = KRAIT_STATUS_BAD_INPUT;
    if (f->size < 8) {
        krait_sti_err(path, "file is %zu bytes, too short for the 8-byte header length", f->size);
        goto fail;
    }
    void *map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        st = KRAIT_STATUS_IO;
        krait_sti_err(path, "cannot map %zu bytes: %s", f->size, strerror(errno));
        goto fail;
    }
    f->map = map;
    krait_fs_mapped_add(path);
    close(fd);
    fd = -1;

    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | f->map[i];
    if (hlen > KRAIT_ST_MAX_HEADER) {
        krait_sti_err(path, "header length %llu exceeds the limit of %llu bytes",
               (unsigned long long)hlen, KRAIT_ST_MAX_HEADER);
        goto fail;
    }
    if (hlen > f->size - 8) {
        krait_sti_err(path, "header length %llu is larger than the file (%zu bytes after the length)",
               (unsigned long long)hlen, f->size - 8);
        goto fail;
    }
    if (!st_parse_header(f, hlen, &st)) goto fail;
    *status = KRAIT_STATUS_OK;
    return f;
fail:
    if (fd >= 0) close(fd);
    krait_st_close(f);
    *status = st;
    return NULL;
}

void krait_st_close(krait_st_file *f)
{
    if (!f) return;
    if (f->map) {
        munmap((void *)f->map, f->size);
        if (f->path) krait_fs_mapped_remove(f->path);
    }
    free(f->arena);
    free(f->path);
    free(f);
}

/* ---- accessors ------------------------------------------------------------------------------ */

const char *krait_st_path(const krait_st_file *f) { return f->path; }
size_t krait_st_count(const krait_st_file *f) { return f->n; }

const krait_st_tensor *krait_st_tensor_at(const krait_st_file *f, size_t i)
{
    return i < f->n ? &f->tensors[i] : NULL;
}

const krait_st_tensor *krait_st_find(const krait_st_file *f, const char *name)
{
    return krait_sti_find(f->by_name, f->n, name);
}

size_t krait_st_metadata_count(const krait_st_file *f) { return f->nmeta; }

void krait_st_metadata_at(const krait_st_file *f, size_t i, const char **key, const char **value)
{
    *key = i < f->nmeta ? f->meta[i].key : NULL;
    *value = i < f->nmeta ? f->meta[i].value : NULL;
}

const char *krait_st_metadata_get(const krait_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}

/* ---- fp32 reads ----------------------------------------------------------------------------- */

krait_status krait_st_tensor_read_f32(const krait_st_tensor *t, float *dst, size_t n)
{
    char q[96], sh[128];
    krait_sti_quote(q, sizeof q, t->name);
    if (t->dtype != KRAIT_ST_DTYPE_F32 && t->dtype != KRAIT_ST_DTYPE_F16 &&
        t->dtype != KRAIT_ST_DTYPE_BF16) {
        krait_sti_err(t->file->path, "tensor '%s': dtype %s cannot be read as fp32 (F32, F16 or BF16 "
               "only)", q, krait_st_dtype_to_string(t->dtype));
        return KRAIT_STATUS_BAD_INPUT;
    }
    if (t->numel != (uint64_t)n) {
        krait_sti_err(t->file->path, "tensor '%s': has %llu elements (shape %s) where %zu were expected",
               q, (unsigned long long)t->numel,
               krait_st_shape_str(sh, sizeof sh, t->shape, t->rank), n);
        return KRAIT_STATUS_BAD_INPUT;
    }
    const uint8_t *s = t->data;
    if (t->dtype == KRAIT_ST_DTYPE_F32) {
        if (n) memcpy(dst, s, n * sizeof(float));
    } else if (t->dtype == KRAIT_ST_DTYPE_F16) {
        for (size_t i = 0; i < n; i++)
            dst[i] = krait_f16_to_f32((uint16_t)(s[2 * i] | (s[2 * i + 1] << 8)));
    } else {
        for (size_t i = 0; i < n; i++)
            dst[i] = krait_bf16_to_f32((uint16_t)(s[2 * i] | (s[2 * i + 1] << 8)));
    }
    return KRAIT_STATUS_OK;
}

krait_status krait_st_tensor_read_f32_shape(const krait_st_tensor *t, float *dst,
                                            const int64_t *shape, int rank)
{
    if (!krait_st_shape_equal(t->shape, t->rank, shape, rank)) {
        char q[96], got[128], want[128];
        krait_sti_err(t->file->path, "tensor '%s': shape %s where %s was expected",
               krait_sti_quote(q, sizeof q, t->name),
               krait_st_shape_str(got, sizeof got, t->shape, t->rank),
               krait_st_shape_str(want, sizeof want, shape, rank));
        return KRAIT_STATUS_BAD_INPUT;
    }
    return krait_st_tensor_read_f32(t, dst, (size_t)t->numel);
}

static const krait_st_tensor *st_need(const krait_st_file *f, const char *name)
{
    const krait_st_tensor *t = krait_st_find(f, name);
    if (!t) {
        char q[96];
        krait_sti_err(f->path, "no tensor '%s'", krait_sti_quote(q, sizeof q, name));
    }
    return t;
}

krait_status krait_st_read_f32(const krait_st_file *f, float *dst, const char *name, size_t n)
{
    const krait_st_tensor *t = st_need(f, name);
    return t ? krait_st_tensor_read_f32(t, dst, n) : KRAIT_STATUS_BAD_INPUT;
}

krait_status krait_st_read_f32_shape(const krait_st_file *f, float *dst, const char *name,
                                     const int64_t *shape, int rank)
{
    const krait_st_tensor *t = st_need(f, name);
    return t ? krait_st_tensor_read_f32_shape(t, dst, shape, rank) : KRAIT_STATUS_BAD_INPUT;
}
