/* modalities/text/tokfile.c — token files; see tokfile.h. */
#include "tokfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"

struct krait_tokfile {
    char *path;
    const unsigned char *map;   /* the whole file */
    size_t map_len;
    uint64_t count;
    int width;                  /* bytes per id */
};

struct krait_tokfile_writer {
    char *path, *tmp;
    int slot;                   /* krait_fs_temp_track's: a kill removes tmp */
    FILE *f;
    uint64_t count;
    int width;
    unsigned char buf[1 << 16];
};

int krait_tokfile_id_bytes_for(int vocab) { return vocab <= 65536 ? 2 : 4; }

const char *krait_tokfile_temp_path(const krait_tokfile_writer *w) { return w->tmp; }

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* ---- reading --------------------------------------------------------------------------------- */

krait_status krait_tokfile_open(const char *path, krait_tokfile **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        KRAIT_ERROR("%s: cannot open the token file (%s)", path, strerror(errno));
        return KRAIT_STATUS_BAD_INPUT;
    }
    struct stat st;
    krait_status s = KRAIT_STATUS_BAD_INPUT;
    krait_tokfile *f = NULL;
    unsigned char h[KRAIT_TOKFILE_HEADER];
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        KRAIT_ERROR("%s: not a regular file", path);
        goto fail;
    }
    if (st.st_size < KRAIT_TOKFILE_HEADER || pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
        KRAIT_ERROR("%s: too short for a token file header (%lld bytes)", path, (long long)st.st_size);
        goto fail;
    }
    if (memcmp(h, KRAIT_TOKFILE_MAGIC, 8) != 0) {
        KRAIT_ERROR("%s: not a krait token file (bad magic at byte 0)", path);
        goto fail;
    }
    uint32_t version = get_u32(h + 8), width = get_u32(h + 12);
    uint64_t count = get_u64(h + 16);
    if (version != KRAIT_TOKFILE_VERSION) {
        KRAIT_ERROR("%s: token file version %u at byte 8 (this krait reads version %d)", path, version,
                    KRAIT_TOKFILE_VERSION);
        goto fail;
    }
    if (width != 2 && width != 4) {
        KRAIT_ERROR("%s: bytes per id at byte 12 is %u (must be 2 or 4)", path, width);
        goto fail;
    }
    if (count > ((uint64_t)1 << 50) || (uint64_t)st.st_size != KRAIT_TOKFILE_HEADER + count * width) {
        KRAIT_ERROR("%s: the header says %llu ids of %u bytes but the file holds %lld bytes after the header "
                    "(truncated or corrupt)", path, (unsigned long long)count, width,
                    (long long)st.st_size - KRAIT_TOKFILE_HEADER);
        goto fail;
    }
    f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        s = KRAIT_STATUS_NO_MEMORY;
        goto fail;
    }
    f->map_len = (size_t)st.st_size;
    void *p = mmap(NULL, f->map_len, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        KRAIT_ERROR("%s: cannot map the file (%s)", path, strerror(errno));
        s = KRAIT_STATUS_IO;
        goto fail;
    }
    krait_fs_mapped_add(path);
    f->map = p;
    f->count = count;
    f->width = (int)width;
    close(fd);
    *out = f;
    return KRAIT_STATUS_OK;
fail:
    if (f) free(f->path);
    free(f);
    close(fd);
    return s;
}

void krait_tokfile_close(krait_tokfile *f)
{
    if (!f) return;
    if (f->map) {
        munmap((void *)f->map, f->map_len);
        krait_fs_mapped_remove(f->path);
    }
    free(f->path);
    free(f);
}

uint64_t krait_tokfile_count(const krait_tokfile *f) { return f->count; }
int krait_tokfile_id_bytes(const krait_tokfile *f) { return f->width; }

void krait_tokfile_read(const krait_tokfile *f, int32_t *ids, uint64_t start, size_t n)
{
    KRAIT_ASSERT(start <= f->count && n <= f->count - start);
    const unsigned char *p = f->map + KRAIT_TOKFILE_HEADER + start * (uint64_t)f->width;
    if (f->width == 2)
        for (size_t i = 0; i < n; i++) ids[i] = (int32_t)(p[2 * i] | p[2 * i + 1] << 8);
    else
        for (size_t i = 0; i < n; i++) ids[i] = (int32_t)get_u32(p + 4 * i);
}

/* ---- writing --------------------------------------------------------------------------------- */

krait_status krait_tokfile_create(const char *path, int id_bytes, krait_tokfile_writer **out)
{
    *out = NULL;
    KRAIT_ASSERT(id_bytes == 2 || id_bytes == 4);
    krait_status s = KRAIT_STATUS_NO_MEMORY;
    int fd = -1;
    unsigned char h[KRAIT_TOKFILE_HEADER] = { 0 };
    krait_tokfile_writer *w = calloc(1, sizeof *w);
    size_t tl = strlen(path) + 16;
    if (!w) return KRAIT_STATUS_NO_MEMORY; /* nothing acquired yet */
    w->slot = -1; /* nothing tracked (calloc's 0 is a real slot) */
    if (!(w->path = strdup(path)) || !(w->tmp = malloc(tl))) goto fail;
    snprintf(w->tmp, tl, "%s.tmp-XXXXXX", path);
    fd = mkstemp(w->tmp);
    w->slot = fd >= 0 ? krait_fs_temp_track(w->tmp) : -1;
    if (fd >= 0) (void)fchmod(fd, krait_fs_file_mode());
    if (fd < 0 || !(w->f = fdopen(fd, "w+b"))) {
        const int err = errno;
        KRAIT_ERROR("%s: cannot create (%s)", w->path, strerror(err));
        s = krait_fs_errno_status(err);
        goto fail;
    }
    w->width = id_bytes;
    if (fwrite(h, 1, sizeof h, w->f) != sizeof h) {
        KRAIT_ERROR("%s: write failed (%s)", w->path, strerror(errno));
        s = KRAIT_STATUS_IO;
        goto fail;
    }
    *out = w;
    return KRAIT_STATUS_OK;
fail: /* in reverse: the stream (or its descriptor) and the temporary file, then its tracking
       * (after the unlink, so a kill in between still removes it), the names, the writer */
    if (w->f) fclose(w->f);
    else if (fd >= 0) close(fd);
    if (fd >= 0) unlink(w->tmp);
    krait_fs_temp_untrack(w->slot);
    free(w->tmp);
    free(w->path);
    free(w);
    return s;
}

krait_status krait_tokfile_append(krait_tokfile_writer *w, const int32_t *ids, size_t n)
{
    const int64_t max = w->width == 2 ? 65535 : 2147483647;
    size_t per = sizeof w->buf / (size_t)w->width;
    for (size_t done = 0; done < n;) {
        size_t k = n - done < per ? n - done : per;
        for (size_t i = 0; i < k; i++) {
            int32_t id = ids[done + i];
            if (id < 0 || id > max) {
                KRAIT_ERROR("%s: id %d at position %llu does not fit %d-byte ids", w->path, (int)id,
                            (unsigned long long)(w->count + done + i), w->width);
                return KRAIT_STATUS_BAD_INPUT;
            }
            if (w->width == 2) {
                w->buf[2 * i] = (unsigned char)id;
                w->buf[2 * i + 1] = (unsigned char)(id >> 8);
            } else {
                put_u32(w->buf + 4 * i, (uint32_t)id);
            }
        }
        if (fwrite(w->buf, (size_t)w->width, k, w->f) != k) {
            KRAIT_ERROR("%s: write failed (%s)", w->path, strerror(errno));
            return KRAIT_STATUS_IO;
        }
        done += k;
        w->count += k;
    }
    return KRAIT_STATUS_OK;
}

uint64_t krait_tokfile_written(const krait_tokfile_writer *w) { return w->count; }

krait_status krait_tokfile_truncate(krait_tokfile_writer *w, uint64_t n)
{
    KRAIT_ASSERT(n <= w->count);
    off_t end = (off_t)(KRAIT_TOKFILE_HEADER + n * (uint64_t)w->width);
    if (fflush(w->f) != 0 || ftruncate(fileno(w->f), end) != 0 || fseeko(w->f, end, SEEK_SET) != 0) {
        KRAIT_ERROR("%s: cannot truncate (%s)", w->path, strerror(errno));
        return KRAIT_STATUS_IO;
    }
    w->count = n;
    return KRAIT_STATUS_OK;
}

krait_status krait_tokfile_reread(krait_tokfile_writer *w, int32_t *ids, uint64_t start, size_t n)
{
    KRAIT_ASSERT(start <= w->count && n <= w->count - start);
    if (fflush(w->f) != 0) goto fail;
    for (size_t done = 0; done < n;) {
        size_t k = n - done < sizeof w->buf / (size_t)w->width ? n - done : sizeof w->buf / (size_t)w->width;
        off_t at = (off_t)(KRAIT_TOKFILE_HEADER + (start + done) * (uint64_t)w->width);
        if (pread(fileno(w->f), w->buf, k * (size_t)w->width, at) != (ssize_t)(k * (size_t)w->width)) goto fail;
        for (size_t i = 0; i < k; i++)
            ids[done + i] = w->width == 2 ? (int32_t)(w->buf[2 * i] | w->buf[2 * i + 1] << 8)
                                          : (int32_t)get_u32(w->buf + 4 * i);
        done += k;
    }
    return KRAIT_STATUS_OK;
fail:
    KRAIT_ERROR("%s: cannot read back (%s)", w->path, strerror(errno));
    return KRAIT_STATUS_IO;
}

static void writer_free(krait_tokfile_writer *w)
{
    krait_fs_temp_untrack(w->slot); /* before the name goes */
    free(w->tmp);
    free(w->path);
    free(w);
}

krait_status krait_tokfile_finish(krait_tokfile_writer *w)
{
    unsigned char h[KRAIT_TOKFILE_HEADER] = { 0 };
    memcpy(h, KRAIT_TOKFILE_MAGIC, 8);
    put_u32(h + 8, KRAIT_TOKFILE_VERSION);
    put_u32(h + 12, (uint32_t)w->width);
    put_u64(h + 16, w->count);
    int ok = fflush(w->f) == 0 && pwrite(fileno(w->f), h, sizeof h, 0) == (ssize_t)sizeof h &&
             fsync(fileno(w->f)) == 0;
    ok = (fclose(w->f) == 0) && ok;
    w->f = NULL;
    if (!ok || rename(w->tmp, w->path) != 0) {
        KRAIT_ERROR("%s: cannot write the token file (%s)", w->path, strerror(errno));
        unlink(w->tmp);
        writer_free(w);
        return KRAIT_STATUS_IO;
    }
    char *dir = strdup(w->path), *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash) *slash = 0;
    krait_status s = dir ? krait_fs_sync_dir(slash ? dir : ".") : KRAIT_STATUS_OK;
    free(dir);
    writer_free(w);
    return s;
}

void krait_tokfile_abort(krait_tokfile_writer *w)
{
    if (!w) return;
    if (w->f) fclose(w->f);
    unlink(w->tmp);
    writer_free(w);
}
