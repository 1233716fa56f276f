/* core/safetensors_model.c — open a model's weights as one set of tensors: a single
 * `model.safetensors`, or the shards that `model.safetensors.index.json` lists (rules in
 * safetensors.h). Each shard is a krait_st_file; this file only validates the index, checks that
 * index and shards agree, and keeps one name-sorted table over all of them.
 * It does not read config.json or know any tensor's meaning.
 */
#include "safetensors.h"
#include "safetensors_impl.h"

#include "log.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_SINGLE "model.safetensors"
#define ST_INDEX "model.safetensors.index.json"

struct krait_st_model {
    char *path;
    size_t nfiles;
    krait_st_file **files;             /* (nfiles) */
    size_t n;
    const krait_st_tensor **by_name;   /* (n) name order, pointing into the files */
};

typedef struct st_entry {
    const char *name;   /* tensor name (in the parsed index) */
    const char *file;   /* shard file name (in the parsed index) */
    size_t shard;       /* index into the model's files */
} st_entry;

static char *st_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static int st_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp((*(const krait_st_tensor *const *)a)->name,
                  (*(const krait_st_tensor *const *)b)->name);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const st_entry *)a)->name, ((const st_entry *)b)->name);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static krait_st_model *st_model_new(const char *path, size_t nfiles, size_t n)
{
    krait_st_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->path = strdup(path);
    m->files = calloc(nfiles ? nfiles : 1, sizeof *m->files);
    m->by_name = calloc(n ? n : 1, sizeof *m->by_name);
    if (!m->path || !m->files || !m->by_name) {
        krait_st_model_close(m);
        return NULL;
    }
    return m;
}

static krait_st_model *st_model_single(const char *path, krait_status *status)
{
    krait_st_file *f = krait_st_open(path, status);
    if (!f) return NULL;
    krait_st_model *m = st_model_new(path, 1, krait_st_count(f));
    if (!m) {
        krait_st_close(f);
        *status = KRAIT_STATUS_NO_MEMORY;
        KRAIT_ERROR("%s: out of memory", path);
        return NULL;
    }
    m->files[0] = f;
    m->nfiles = 1;
    m->n = krait_st_count(f);
    for (size_t i = 0; i < m->n; i++) m->by_name[i] = krait_st_tensor_at(f, i);
    qsort(m->by_name, m->n, sizeof *m->by_name, cmp_tensor_name);
    return m;
}

/* Reads the whole index into a NUL-terminated buffer. */
static char *st_slurp(const char *path, size_t *len, krait_status *status)
{
    char *buf = NULL;
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        *status = krait_sti_errno_status(errno);
        KRAIT_ERROR("%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > KRAIT_ST_MAX_HEADER) {
        *status = KRAIT_STATUS_BAD_INPUT;
        KRAIT_ERROR("%s: %s", path, S_ISREG(sb.st_mode) ? "index larger than 100,000,000 bytes"
                                                          : "not a regular file");
        goto fail;
    }
    *len = (size_t)sb.st_size;
    buf = malloc(*len + 1);
    if (!buf) {
        *status = KRAIT_STATUS_NO_MEMORY;
        KRAIT_ERROR("%s: out of memory", path);
        goto fail;
    }
    for (size_t got = 0; got < *len;) {
        ssize_t k = read(fd, buf + got, *len - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            *status = k < 0 ? KRAIT_STATUS_IO : KRAIT_STATUS_BAD_INPUT;
            KRAIT_ERROR("%s: read failed: %s", path, k < 0 ? strerror(errno) : "file shrank");
            free(buf);
            buf = NULL;
            goto fail;
        }
        got += (size_t)k;
    }
    buf[*len] = '\0';
fail:
    if (fd >= 0) close(fd);
    return buf;
}

static int st_plain_file_name(const char *s)
{
    return s[0] && strchr(s, '/') == NULL && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* Validates the parsed index; fills entries (sorted by name) and *save_id (metadata
 * "krait_save_id" or NULL). Logs one line on error. */
static int st_index_entries(const char *ipath, const cJSON *root, st_entry **out, size_t *nout,
                            const char **save_id)
{
    char q[96];
    const cJSON *wm = NULL, *meta = NULL;
    if (!cJSON_IsObject(root)) {
        KRAIT_ERROR("%s: not a JSON object", ipath);
        return 0;
    }
    for (const cJSON *c = root->child; c; c = c->next) {
        const cJSON **slot = strcmp(c->string, "weight_map") == 0 ? &wm
                           : strcmp(c->string, "metadata") == 0 ? &meta : NULL;
        if (!slot) {
            KRAIT_ERROR("%s: unknown key '%s' (an index has only metadata and weight_map)", ipath,
                        krait_sti_quote(q, sizeof q, c->string));
            return 0;
        }
        if (*slot) {
            KRAIT_ERROR("%s: key '%s' is given twice", ipath, c->string);
            return 0;
        }
        *slot = c;
    }
    if (meta && !cJSON_IsObject(meta)) {
        KRAIT_ERROR("%s: metadata is not a JSON object", ipath);
        return 0;
    }
    const cJSON *id = meta ? cJSON_GetObjectItemCaseSensitive(meta, "krait_save_id") : NULL;
    *save_id = cJSON_IsString(id) ? id->valuestring : NULL;
    if (!wm || !cJSON_IsObject(wm) || !wm->child) {
        KRAIT_ERROR("%s: %s", ipath, !wm ? "missing weight_map"
                                         : !cJSON_IsObject(wm) ? "weight_map is not a JSON object"
                                                               : "weight_map is empty");
        return 0;
    }
    size_t n = (size_t)cJSON_GetArraySize(wm);
    st_entry *e = calloc(n, sizeof *e);
    if (!e) {
        KRAIT_ERROR("%s: out of memory", ipath);
        return 0;
    }
    size_t i = 0;
    for (const cJSON *c = wm->child; c; c = c->next, i++) {
        krait_sti_quote(q, sizeof q, c->string);
        if (!cJSON_IsString(c)) {
            KRAIT_ERROR("%s: weight_map tensor '%s': file name is not a string", ipath, q);
            free(e);
            return 0;
        }
        if (!st_plain_file_name(c->valuestring)) {
            char fq[96];
            KRAIT_ERROR("%s: weight_map tensor '%s': '%s' is not a plain file name in the model "
                        "folder", ipath, q, krait_sti_quote(fq, sizeof fq, c->valuestring));
            free(e);
            return 0;
        }
        e[i].name = c->string;
        e[i].file = c->valuestring;
    }
    qsort(e, n, sizeof *e, cmp_entry);
    for (i = 1; i < n; i++) {
        if (strcmp(e[i - 1].name, e[i].name) == 0) {
            KRAIT_ERROR("%s: weight_map lists tensor '%s' twice", ipath,
                        krait_sti_quote(q, sizeof q, e[i].name));
            free(e);
            return 0;
        }
    }
    *out = e;
    *nout = n;
    return 1;
}

static krait_st_model *st_model_index(const char *ipath, const char *dir, krait_status *status)
{
    char q[96], fq[96];
    size_t len = 0, n = 0, nfiles = 0;
    st_entry *e = NULL;
    const char **names = NULL;
    cJSON *root = NULL;
    krait_st_model *m = NULL;
    char *text = st_slurp(ipath, &len, status);
    if (!text) goto fail;
    *status = KRAIT_STATUS_BAD_INPUT;
    if (!krait_sti_json_scan(ipath, (const uint8_t *)text, len, 0, 0)) goto fail;
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        KRAIT_ERROR("%s: not valid JSON (error near byte %zu)", ipath,
                    end ? (size_t)(end - text) : (size_t)0);
        goto fail;
    }
    for (; end < text + len; end++) {
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
            KRAIT_ERROR("%s: trailing bytes after the JSON object (byte %zu)", ipath,
                        (size_t)(end - text));
            goto fail;
        }
    }
    const char *save_id = NULL;
    if (!st_index_entries(ipath, root, &e, &n, &save_id)) goto fail;

    /* The distinct shard names, sorted. */
    names = malloc(n * sizeof *names);
    if (!names) {
        *status = KRAIT_STATUS_NO_MEMORY;
        KRAIT_ERROR("%s: out of memory", ipath);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) names[i] = e[i].file;
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(names[i], names[nfiles - 1]) != 0) names[nfiles++] = names[i];

    m = st_model_new(ipath, nfiles, n);
    if (!m) {
        *status = KRAIT_STATUS_NO_MEMORY;
        KRAIT_ERROR("%s: out of memory", ipath);
        goto fail;
    }
    for (size_t k = 0; k < nfiles; k++) {
        char *sp = st_join(dir, names[k]);
        if (!sp) {
            *status = KRAIT_STATUS_NO_MEMORY;
            KRAIT_ERROR("%s: out of memory", ipath);
            goto fail;
        }
        if (!st_exists(sp)) {
            size_t i = 0;
            while (strcmp(e[i].file, names[k]) != 0) i++;
            KRAIT_ERROR("%s: tensor '%s' is mapped to '%s', which does not exist", ipath,
                        krait_sti_quote(q, sizeof q, e[i].name),
                        krait_sti_quote(fq, sizeof fq, names[k]));
            free(sp);
            *status = KRAIT_STATUS_BAD_INPUT;
            goto fail;
        }
        m->files[k] = krait_st_open(sp, status);
        free(sp);
        if (!m->files[k]) goto fail;
        m->nfiles++;
    }
    /* One save id across index and shards, or none anywhere. */
    for (size_t k = 0; k < nfiles; k++) {
        const char *sid = krait_st_metadata_get(m->files[k], "krait_save_id");
        if (save_id == sid || (save_id && sid && strcmp(save_id, sid) == 0)) continue;
        KRAIT_ERROR("%s: krait_save_id %s but %s has %s: an interrupted save left index and "
                    "shards from different saves", krait_st_path(m->files[k]),
                    sid ? krait_sti_quote(q, sizeof q, sid) : "missing", ST_INDEX,
                    save_id ? krait_sti_quote(fq, sizeof fq, save_id) : "none");
        *status = KRAIT_STATUS_BAD_INPUT;
        goto fail;
    }
    *status = KRAIT_STATUS_BAD_INPUT;
    for (size_t i = 0; i < n; i++) {
        const char **hit = bsearch(&e[i].file, names, nfiles, sizeof *names, cmp_str);
        e[i].shard = (size_t)(hit - names);
        m->by_name[i] = krait_st_find(m->files[e[i].shard], e[i].name);
        if (!m->by_name[i]) {
            KRAIT_ERROR("%s: tensor '%s' is mapped to '%s', which does not contain it", ipath,
                        krait_sti_quote(q, sizeof q, e[i].name),
                        krait_sti_quote(fq, sizeof fq, e[i].file));
            goto fail;
        }
    }
    m->n = n;
    for (size_t k = 0; k < nfiles; k++) {
        for (size_t j = 0; j < krait_st_count(m->files[k]); j++) {
            const krait_st_tensor *t = krait_st_tensor_at(m->files[k], j);
            st_entry key = { t->name, NULL, 0 };
            const st_entry *hit = bsearch(&key, e, n, sizeof *e, cmp_entry);
            if (!hit || hit->shard != k) {
                krait_sti_quote(q, sizeof q, t->name);
                if (!hit)
                    KRAIT_ERROR("%s: tensor '%s' is not in the weight_map of %s",
                                krait_st_path(m->files[k]), q, ST_INDEX);
                else
                    KRAIT_ERROR("%s: tensor '%s' is also here, but %s maps it to '%s'",
                                krait_st_path(m->files[k]), q, ST_INDEX,
                                krait_sti_quote(fq, sizeof fq, hit->file));
                goto fail;
            }
        }
    }
    *status = KRAIT_STATUS_OK;
fail:
    if (*status != KRAIT_STATUS_OK) {
        krait_st_model_close(m);
        m = NULL;
    }
    free(names);
    free(e);
    cJSON_Delete(root);
    free(text);
    return m;
}

krait_st_model *krait_st_model_open(const char *path, krait_status *status)
{
    krait_status dummy;
    struct stat sb;
    if (!status) status = &dummy;
    if (stat(path, &sb) != 0) {
        *status = krait_sti_errno_status(errno);
        KRAIT_ERROR("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISDIR(sb.st_mode)) {
        size_t k = strlen(path), s = strlen(".index.json");
        if (k < s || strcmp(path + k - s, ".index.json") != 0) return st_model_single(path, status);
        char *dir = strdup(path);
        if (!dir) {
            *status = KRAIT_STATUS_NO_MEMORY;
            KRAIT_ERROR("%s: out of memory", path);
            return NULL;
        }
        char *slash = strrchr(dir, '/');
        if (slash) slash[slash == dir ? 1 : 0] = '\0';
        krait_st_model *m = st_model_index(path, slash ? dir : ".", status);
        free(dir);
        return m;
    }
    char *single = st_join(path, ST_SINGLE), *index = st_join(path, ST_INDEX);
    krait_st_model *m = NULL;
    if (!single || !index) {
        *status = KRAIT_STATUS_NO_MEMORY;
        KRAIT_ERROR("%s: out of memory", path);
    } else if (st_exists(single)) {
        if (st_exists(index))
            KRAIT_WARN("%s: has both %s and %s; reading %s", path, ST_SINGLE, ST_INDEX, ST_SINGLE);
        m = st_model_single(single, status);
    } else if (st_exists(index)) {
        m = st_model_index(index, path, status);
    } else {
        *status = KRAIT_STATUS_BAD_INPUT;
        KRAIT_ERROR("%s: no %s or %s in this folder", path, ST_SINGLE, ST_INDEX);
    }
    free(single);
    free(index);
    return m;
}

void krait_st_model_close(krait_st_model *m)
{
    if (!m) return;
    for (size_t k = 0; k < m->nfiles; k++) krait_st_close(m->files[k]);
    free(m->files);
    free(m->by_name);
    free(m->path);
    free(m);
}

size_t krait_st_model_count(const krait_st_model *m) { return m->n; }

const krait_st_tensor *krait_st_model_tensor_at(const krait_st_model *m, size_t i)
{
    return i < m->n ? m->by_name[i] : NULL;
}

const krait_st_tensor *krait_st_model_find(const krait_st_model *m, const char *name)
{
    return krait_sti_find(m->by_name, m->n, name);
}

size_t krait_st_model_file_count(const krait_st_model *m) { return m->nfiles; }

const krait_st_file *krait_st_model_file_at(const krait_st_model *m, size_t i)
{
    return i < m->nfiles ? m->files[i] : NULL;
}

static const krait_st_tensor *st_model_need(const krait_st_model *m, const char *name)
{
    const krait_st_tensor *t = krait_st_model_find(m, name);
    if (!t) {
        char q[96];
        KRAIT_ERROR("%s: no tensor '%s'", m->path, krait_sti_quote(q, sizeof q, name));
    }
    return t;
}

krait_status krait_st_model_read_f32(const krait_st_model *m, float *dst, const char *name,
                                     size_t n)
{
    const krait_st_tensor *t = st_model_need(m, name);
    return t ? krait_st_tensor_read_f32(t, dst, n) : KRAIT_STATUS_BAD_INPUT;
}

krait_status krait_st_model_read_f32_shape(const krait_st_model *m, float *dst, const char *name,
                                           const int64_t *shape, int rank)
{
    const krait_st_tensor *t = st_model_need(m, name);
    return t ? krait_st_tensor_read_f32_shape(t, dst, shape, rank) : KRAIT_STATUS_BAD_INPUT;
}
