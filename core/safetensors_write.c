/* core/safetensors_write.c — the safetensors writer: a list of (name, dtype, shape, data) written
 * as one file or as HF-named shards plus `model.safetensors.index.json` (rules in safetensors.h).
 *
 * The header is built by hand (compact JSON as the reference emits it, so a file without
 * extra metadata is byte-identical to the reference's), padded with spaces to 8 bytes; tensors
 * follow in dtype-descending, then name order, which keeps each one aligned to its dtype size.
 * fp32 sources are converted to F16/BF16 on the fly through a small buffer. Every file goes
 * through st_write_atomic: temporary in the same folder, fsync, rename, fsync of the folder.
 * It does not read files back (safetensors.c) and does not decide what a checkpoint holds.
 */
#include "safetensors.h"
#include "safetensors_impl.h"

#include "bf16.h"
#include "fsutil.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct st_item {
    char *name;
    krait_st_dtype dtype;
    int from_f32;         /* data is fp32, converted to dtype on write */
    const void *data;
    int rank;
    int64_t *shape;       /* (rank) */
    uint64_t numel, nbytes;
} st_item;

struct krait_st_writer {
    size_t n, cap;
    st_item *items;       /* (n) in the order added */
    size_t nmeta, mcap;
    char **mkey, **mval;  /* (nmeta) sorted by key */
};

/* ---- list building ------------------------------------------------------------------------- */

krait_st_writer *krait_st_writer_init(void)
{
    krait_st_writer *w = calloc(1, sizeof *w);
    if (!w || krait_st_writer_set_metadata(w, "format", "pt") != KRAIT_STATUS_OK) {
        KRAIT_ERROR("safetensors writer: out of memory");
        krait_st_writer_free(w);
        return NULL;
    }
    return w;
}

void krait_st_writer_free(krait_st_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->items[i].name);
        free(w->items[i].shape);
    }
    for (size_t i = 0; i < w->nmeta; i++) {
        free(w->mkey[i]);
        free(w->mval[i]);
    }
    free(w->items);
    free(w->mkey);
    free(w->mval);
    free(w);
}

static krait_status st_add(krait_st_writer *w, const char *name, krait_st_dtype dtype,
                           const void *data, const int64_t *shape, int rank, int from_f32)
{
    char q[96], sh[128];
    if (!name) {
        KRAIT_ERROR("safetensors writer: tensor name is NULL");
        return KRAIT_STATUS_BAD_INPUT;
    }
    krait_sti_quote(q, sizeof q, name);
    const char *bad = NULL;
    if (!krait_sti_utf8_ok(name)) bad = "name is not valid UTF-8";
    else if (strcmp(name, "__metadata__") == 0) bad = "name is reserved";
    else if (!krait_st_dtype_to_string(dtype)) bad = "unknown dtype";
    else if (from_f32 && dtype != KRAIT_ST_DTYPE_F32 && dtype != KRAIT_ST_DTYPE_F16 &&
             dtype != KRAIT_ST_DTYPE_BF16)
        bad = "fp32 data can only be stored as F32, F16 or BF16";
    else if (rank < 0 || (rank > 0 && !shape)) bad = "bad rank or NULL shape";
    for (int i = 0; !bad && i < rank; i++)
        if (shape[i] < 0 || !((double)shape[i] < KRAIT_ST_MAX_INT))
            bad = "dimension < 0 or >= 2^53";
    for (size_t i = 0; !bad && i < w->n; i++)
        if (strcmp(w->items[i].name, name) == 0) bad = "name already added";
    st_item it = { 0 };
    if (!bad) bad = krait_sti_size(&it.numel, &it.nbytes, shape, rank, dtype);
    if (!bad && it.nbytes > 0 && !data) bad = "data is NULL";
    if (bad) {
        int show = rank >= 0 && (shape || rank == 0);
        KRAIT_ERROR("safetensors writer: tensor '%s' %s: %s", q,
                    show ? krait_st_shape_str(sh, sizeof sh, shape, rank) : "", bad);
        return KRAIT_STATUS_BAD_INPUT;
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        st_item *p = realloc(w->items, cap * sizeof *p);
        if (!p) goto oom;
        w->items = p;
        w->cap = cap;
    }
    it.name = strdup(name);
    it.shape = malloc((size_t)(rank ? rank : 1) * sizeof *it.shape);
    if (!it.name || !it.shape) {
        free(it.name);
        free(it.shape);
        goto oom;
    }
    if (rank) memcpy(it.shape, shape, (size_t)rank * sizeof *shape);
    it.dtype = dtype;
    it.from_f32 = from_f32;
    it.data = data;
    it.rank = rank;
    w->items[w->n++] = it;
    return KRAIT_STATUS_OK;
oom:
    KRAIT_ERROR("safetensors writer: tensor '%s': out of memory", q);
    return KRAIT_STATUS_NO_MEMORY;
}

krait_status krait_st_writer_add_f32(krait_st_writer *w, const char *name, krait_st_dtype dtype,
                                     const float *data, const int64_t *shape, int rank)
{
    return st_add(w, name, dtype, data, shape, rank, 1);
}

krait_status krait_st_writer_add_raw(krait_st_writer *w, const char *name, krait_st_dtype dtype,
                                     const void *data, const int64_t *shape, int rank)
{
    return st_add(w, name, dtype, data, shape, rank, 0);
}

krait_status krait_st_writer_set_metadata(krait_st_writer *w, const char *key, const char *value)
{
    if (!key || !krait_sti_utf8_ok(key) || (value && !krait_sti_utf8_ok(value))) {
        KRAIT_ERROR("safetensors writer: metadata key or value is NULL or not valid UTF-8");
        return KRAIT_STATUS_BAD_INPUT;
    }
    size_t i = 0;
    while (i < w->nmeta && strcmp(w->mkey[i], key) < 0) i++;
    int found = i < w->nmeta && strcmp(w->mkey[i], key) == 0;
    if (!value) {
        if (found) {
            free(w->mkey[i]);
            free(w->mval[i]);
            memmove(w->mkey + i, w->mkey + i + 1, (w->nmeta - i - 1) * sizeof *w->mkey);
            memmove(w->mval + i, w->mval + i + 1, (w->nmeta - i - 1) * sizeof *w->mval);
            w->nmeta--;
        }
        return KRAIT_STATUS_OK;
    }
    char *v = strdup(value), *k = found ? NULL : strdup(key);
    if (!v || (!found && !k)) goto oom;
    if (found) {
        free(w->mval[i]);
        w->mval[i] = v;
        return KRAIT_STATUS_OK;
    }
    if (w->nmeta == w->mcap) {
        size_t cap = w->mcap ? 2 * w->mcap : 8;
        char **a = realloc(w->mkey, cap * sizeof *a);
        if (a) w->mkey = a;
        char **b = a ? realloc(w->mval, cap * sizeof *b) : NULL;
        if (b) w->mval = b;
        if (!a || !b) goto oom;
        w->mcap = cap;
    }
    memmove(w->mkey + i + 1, w->mkey + i, (w->nmeta - i) * sizeof *w->mkey);
    memmove(w->mval + i + 1, w->mval + i, (w->nmeta - i) * sizeof *w->mval);
    w->mkey[i] = k;
    w->mval[i] = v;
    w->nmeta++;
    return KRAIT_STATUS_OK;
oom:
    free(v);
    free(k);
    KRAIT_ERROR("safetensors writer: out of memory for metadata");
    return KRAIT_STATUS_NO_MEMORY;
}

/* ---- JSON text ------------------------------------------------------------------------------ */

typedef struct st_buf {
    char *p;
    size_t len, cap;
    int oom;
} st_buf;

static void buf_put(st_buf *b, const char *s, size_t k)
{
    if (b->oom) return;
    if (b->len + k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + k + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, k);
    b->len += k;
    b->p[b->len] = '\0';
}

static void buf_cat(st_buf *b, const char *s) { buf_put(b, s, strlen(s)); }

static void buf_u64(st_buf *b, uint64_t v)
{
    char num[24];
    buf_put(b, num, (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)v));
}

/* A JSON string with the escapes serde_json uses. */
static void buf_str(st_buf *b, const char *s)
{
    buf_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            buf_put(b, esc, 2);
        } else if (c < 0x20) {
            const char *short_form = c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n"
                                   : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
            if (short_form) buf_cat(b, short_form);
            else buf_put(b, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
        } else {
            buf_put(b, (const char *)&c, 1);
        }
    }
    buf_put(b, "\"", 1);
}

static int cmp_item(const void *a, const void *b)
{
    const st_item *x = *(const st_item *const *)a, *y = *(const st_item *const *)b;
    if (x->dtype != y->dtype) return x->dtype > y->dtype ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void buf_pair(st_buf *b, int *first, const char *key, const char *value)
{
    if (!*first) buf_cat(b, ",");
    *first = 0;
    buf_str(b, key);
    buf_cat(b, ":");
    buf_str(b, value);
}

/* Header JSON of the items in order, padded with spaces to a multiple of 8. The metadata is the
 * writer's plus (xkey, xval) when xkey is not NULL, keys sorted. */
static void st_header(st_buf *b, const krait_st_writer *w, const char *xkey, const char *xval,
                      st_item *const *order, size_t n)
{
    buf_cat(b, "{");
    if (w->nmeta || xkey) {
        int first = 1;
        buf_cat(b, "\"__metadata__\":{");
        for (size_t i = 0; i < w->nmeta; i++) {
            int c = xkey ? strcmp(xkey, w->mkey[i]) : 1;
            if (c <= 0) {
                buf_pair(b, &first, xkey, xval);
                xkey = NULL;
            }
            if (c != 0) buf_pair(b, &first, w->mkey[i], w->mval[i]);
        }
        if (xkey) buf_pair(b, &first, xkey, xval);
        buf_cat(b, n ? "}," : "}");
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const st_item *it = order[i];
        if (i) buf_cat(b, ",");
        buf_str(b, it->name);
        buf_cat(b, ":{\"dtype\":\"");
        buf_cat(b, krait_st_dtype_to_string(it->dtype));
        buf_cat(b, "\",\"shape\":[");
        for (int d = 0; d < it->rank; d++) {
            if (d) buf_cat(b, ",");
            buf_u64(b, (uint64_t)it->shape[d]);
        }
        buf_cat(b, "],\"data_offsets\":[");
        buf_u64(b, off);
        buf_cat(b, ",");
        off += it->nbytes;
        buf_u64(b, off);
        buf_cat(b, "]}");
    }
    buf_cat(b, "}");
    while (!b->oom && b->len % 8) buf_cat(b, " ");
}

/* ---- crash-safe file writing ----------------------------------------------------------------- */

static int st_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t k = write(fd, c, n < ((size_t)1 << 30) ? n : ((size_t)1 << 30));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return 0;
        c += k;
        n -= (size_t)k;
    }
    return 1;
}

static int st_write_item(int fd, const st_item *it)
{
    if (!it->from_f32 || it->dtype == KRAIT_ST_DTYPE_F32)
        return st_write_all(fd, it->data, (size_t)it->nbytes);
    uint16_t tmp[8192];
    const float *src = it->data;
    for (uint64_t i = 0; i < it->numel;) {
        size_t k = it->numel - i < 8192 ? (size_t)(it->numel - i) : 8192;
        for (size_t j = 0; j < k; j++)
            tmp[j] = it->dtype == KRAIT_ST_DTYPE_F16 ? krait_f32_to_f16(src[i + j])
                                                      : krait_f32_to_bf16(src[i + j]);
        if (!st_write_all(fd, tmp, k * sizeof *tmp)) return 0;
        i += k;
    }
    return 1;
}

/* What one file holds: a safetensors header + items, or plain text (the index). */
typedef struct st_content {
    const st_buf *text;
    st_item *const *order;
    size_t n;
    int safetensors;
} st_content;

static int st_emit(int fd, const st_content *c)
{
    if (c->safetensors) {
        uint8_t len[8];
        for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)c->text->len >> (8 * i));
        if (!st_write_all(fd, len, 8)) return 0;
    }
    if (!st_write_all(fd, c->text->p, c->text->len)) return 0;
    for (size_t i = 0; i < c->n; i++)
        if (!st_write_item(fd, c->order[i])) return 0;
    return 1;
}

static int st_emit_cb(int fd, void *ctx) { return st_emit(fd, ctx); }

static krait_status st_write_atomic(const char *path, const st_content *c)
{
    return krait_fs_write_atomic_with(path, st_emit_cb, (void *)c);
}

/* Writes items (in any order) as one safetensors file. */
static krait_status st_write_file(const krait_st_writer *w, const char *path, const char *save_id,
                                  st_item **order, size_t n)
{
    st_buf b = { 0 };
    qsort(order, n, sizeof *order, cmp_item);
    st_header(&b, w, save_id ? "krait_save_id" : NULL, save_id, order, n);
    if (b.oom) {
        free(b.p);
        KRAIT_ERROR("%s: out of memory for the header", path);
        return KRAIT_STATUS_NO_MEMORY;
    }
    st_content c = { &b, order, n, 1 };
    krait_status st = st_write_atomic(path, &c);
    free(b.p);
    return st;
}

krait_status krait_st_writer_write(const krait_st_writer *w, const char *path)
{
    st_item **order = malloc((w->n ? w->n : 1) * sizeof *order);
    if (!order) {
        KRAIT_ERROR("%s: out of memory", path);
        return KRAIT_STATUS_NO_MEMORY;
    }
    for (size_t i = 0; i < w->n; i++) order[i] = &w->items[i];
    krait_status st = st_write_file(w, path, NULL, order, w->n);
    free(order);
    return st;
}

/* ---- shards ---------------------------------------------------------------------------------- */

#define ST_SINGLE "model.safetensors"
#define ST_INDEX "model.safetensors.index.json"

static char *st_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

/* Removes model files of an earlier save that a set of nshards files (0: single) does not use. */
static krait_status st_remove_stale(const char *dir, unsigned nshards)
{
    DIR *d = opendir(dir);
    if (!d) {
        KRAIT_ERROR("%s: cannot list the folder: %s", dir, strerror(errno));
        return KRAIT_STATUS_IO;
    }
    krait_status st = KRAIT_STATUS_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned idx = 0, of = 0;
        char again[64];
        int stale;
        if (strcmp(e->d_name, ST_SINGLE) == 0) stale = nshards > 0;
        else if (strcmp(e->d_name, ST_INDEX) == 0) stale = nshards == 0;
        else if (sscanf(e->d_name, "model-%5u-of-%5u.safetensors", &idx, &of) == 2 &&
                 snprintf(again, sizeof again, "model-%05u-of-%05u.safetensors", idx, of) > 0 &&
                 strcmp(again, e->d_name) == 0)
            stale = of != nshards || idx < 1 || idx > nshards;
        else
            continue;
        if (!stale) continue;
        char *p = st_join(dir, e->d_name);
        if (!p || unlink(p) != 0) {
            KRAIT_ERROR("%s: cannot remove the stale %s: %s", dir, e->d_name,
                        p ? strerror(errno) : "out of memory");
            st = p ? KRAIT_STATUS_IO : KRAIT_STATUS_NO_MEMORY;
        }
        free(p);
    }
    closedir(d);
    return st == KRAIT_STATUS_OK ? krait_fs_sync_dir(dir) : st;
}

static int cmp_item_name(const void *a, const void *b)
{
    return strcmp((*(const st_item *const *)a)->name, (*(const st_item *const *)b)->name);
}

krait_status krait_st_writer_write_sharded(const krait_st_writer *w, const char *dir,
                                           uint64_t max_shard_bytes)
{
    krait_status st = KRAIT_STATUS_NO_MEMORY;
    unsigned *shard = calloc(w->n ? w->n : 1, sizeof *shard);
    st_item **order = malloc((w->n ? w->n : 1) * sizeof *order);
    char *path = NULL;
    st_buf idx = { 0 };
    if (!shard || !order) {
        KRAIT_ERROR("%s: out of memory", dir);
        goto fail;
    }
    if (max_shard_bytes == 0) {
        st = KRAIT_STATUS_BAD_INPUT;
        KRAIT_ERROR("%s: max_shard_bytes must be > 0", dir);
        goto fail;
    }
    unsigned nshards = 1;
    uint64_t used = 0, total = 0;
    for (size_t i = 0; i < w->n; i++) {
        uint64_t b = w->items[i].nbytes;
        if (used > 0 && (used >= max_shard_bytes || b > max_shard_bytes - used)) {
            nshards++;
            used = 0;
        }
        shard[i] = nshards;
        used += b;
        total += b;
    }
    if (nshards > 99999) {
        st = KRAIT_STATUS_BAD_INPUT;
        KRAIT_ERROR("%s: %u shards are more than HF file names allow", dir, nshards);
        goto fail;
    }
    if (nshards == 1) {
        path = st_join(dir, ST_SINGLE);
        if (!path) goto fail;
        for (size_t i = 0; i < w->n; i++) order[i] = &w->items[i];
        st = st_write_file(w, path, NULL, order, w->n);
        if (st == KRAIT_STATUS_OK) st = st_remove_stale(dir, 0);
        goto fail;
    }
    /* One id in every shard and in the index: a reader can tell a set that an interrupted save
     * left mixed (some shards new, some old) from a consistent one. */
    char name[64], save_id[32];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 40;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    snprintf(save_id, sizeof save_id, "%016llx", (unsigned long long)x);
    for (unsigned s = 1; s <= nshards; s++) {
        size_t n = 0;
        for (size_t i = 0; i < w->n; i++)
            if (shard[i] == s) order[n++] = &w->items[i];
        snprintf(name, sizeof name, "model-%05u-of-%05u.safetensors", s, nshards);
        free(path);
        if (!(path = st_join(dir, name))) goto fail;
        st = st_write_file(w, path, save_id, order, n);
        if (st != KRAIT_STATUS_OK) goto fail;
    }
    /* The index, as transformers writes it: sorted keys, two-space indent. */
    for (size_t i = 0; i < w->n; i++) order[i] = &w->items[i];
    qsort(order, w->n, sizeof *order, cmp_item_name);
    buf_cat(&idx, "{\n  \"metadata\": {\n    \"krait_save_id\": ");
    buf_str(&idx, save_id);
    buf_cat(&idx, ",\n    \"total_size\": ");
    buf_u64(&idx, total);
    buf_cat(&idx, "\n  },\n  \"weight_map\": {");
    for (size_t i = 0; i < w->n; i++) {
        buf_cat(&idx, i ? ",\n    " : "\n    ");
        buf_str(&idx, order[i]->name);
        snprintf(name, sizeof name, "model-%05u-of-%05u.safetensors",
                 shard[order[i] - w->items], nshards);
        buf_cat(&idx, ": ");
        buf_str(&idx, name);
    }
    buf_cat(&idx, "\n  }\n}\n");
    free(path);
    if (idx.oom || !(path = st_join(dir, ST_INDEX))) {
        st = KRAIT_STATUS_NO_MEMORY;
        KRAIT_ERROR("%s: out of memory for the index", dir);
        goto fail;
    }
    st_content c = { &idx, NULL, 0, 0 };
    st = st_write_atomic(path, &c);
    if (st == KRAIT_STATUS_OK) st = st_remove_stale(dir, nshards);
fail:
    free(idx.p);
    free(path);
    free(order);
    free(shard);
    return st;
}
