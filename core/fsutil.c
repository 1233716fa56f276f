/* core/fsutil.c — crash-safe small-file writes and folder helpers; see fsutil.h. */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

static char mapped[8][512];
static int n_mapped;

void krait_fs_mapped_add(const char *path)
{
    for (int i = 0; i < n_mapped; i++)
        if (!strcmp(mapped[i], path)) return;
    if (n_mapped == 8) memmove(mapped[0], mapped[1], sizeof mapped - sizeof mapped[0]), n_mapped--;
    snprintf(mapped[n_mapped], sizeof mapped[0], "%s", path);
    n_mapped++;
}

const char *krait_fs_mapped_name(int i) { return i >= 0 && i < n_mapped ? mapped[i] : NULL; }

void krait_fs_mapped_remove(const char *path)
{
    for (int i = 0; i < n_mapped; i++)
        if (!strcmp(mapped[i], path)) {
            memmove(mapped[i], mapped[i + 1], sizeof mapped[0] * (size_t)(n_mapped - i - 1));
            n_mapped--;
            return;
        }
}

/* The temporaries being written now, by name (the writer keeps the string alive until it
 * untracks it). Slots are claimed by compare-and-swap, so writers on several threads and a
 * signal handler reading them need no lock. */
static const char *_Atomic live_temps[16];

int krait_fs_temp_track(const char *tmp)
{
    if (!tmp) return -1;
    for (int i = 0; i < (int)(sizeof live_temps / sizeof *live_temps); i++) {
        const char *none = NULL;
        if (atomic_compare_exchange_strong(&live_temps[i], &none, tmp)) return i;
    }
    return -1;
}

void krait_fs_temp_untrack(int slot)
{
    if (slot >= 0) atomic_store(&live_temps[slot], NULL);
}

void krait_fs_unlink_temps_now(void)
{
    for (size_t i = 0; i < sizeof live_temps / sizeof *live_temps; i++) {
        const char *t = atomic_load(&live_temps[i]);
        if (t) unlink(t);
    }
}

krait_status krait_fs_errno_status(int err)
{
    return err == ENOENT || err == ENOTDIR || err == EACCES || err == EISDIR || err == ELOOP ||
                   err == ENAMETOOLONG || err == EROFS || err == EPERM
               ? KRAIT_STATUS_BAD_INPUT
               : KRAIT_STATUS_IO;
}

char *krait_fs_join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc(na + nb + 2);
    if (!p) return NULL;
    memcpy(p, a, na);
    size_t k = na;
    if (k == 0 || p[k - 1] != '/') p[k++] = '/';
    memcpy(p + k, b, nb + 1);
    return p;
}

char *krait_fs_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    return !slash ? strdup(".") : slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
}

int krait_fs_is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int krait_fs_same(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static size_t seen_slot(const krait_fs_seen *s, unsigned long long dev, unsigned long long ino)
{
    unsigned long long h = (dev * 0x9E3779B97F4A7C15ull) ^ (ino * 0xC2B2AE3D27D4EB4Full);
    size_t i = (size_t)(h ^ h >> 29) & (s->cap - 1);
    while (s->key[2 * i + 1] && !(s->key[2 * i] == dev && s->key[2 * i + 1] == ino)) i = (i + 1) & (s->cap - 1);
    return i;
}

int krait_fs_seen_add(krait_fs_seen *s, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    if (2 * (s->n + 1) > s->cap) { /* grow: at most half full */
        krait_fs_seen g = { calloc(s->cap ? 4 * s->cap : 128, sizeof *g.key), 0, s->cap ? 2 * s->cap : 64 };
        if (!g.key) {
            KRAIT_ERROR("out of memory");
            return -1;
        }
        for (size_t i = 0; i < s->cap; i++)
            if (s->key[2 * i + 1]) {
                size_t j = seen_slot(&g, s->key[2 * i], s->key[2 * i + 1]);
                g.key[2 * j] = s->key[2 * i], g.key[2 * j + 1] = s->key[2 * i + 1], g.n++;
            }
        free(s->key);
        *s = g;
    }
    const unsigned long long dev = (unsigned long long)st.st_dev, ino = (unsigned long long)st.st_ino + 1;
    size_t i = seen_slot(s, dev, ino);
    if (s->key[2 * i + 1]) return 0;
    s->key[2 * i] = dev, s->key[2 * i + 1] = ino, s->n++;
    return 1;
}

void krait_fs_seen_free(krait_fs_seen *s)
{
    free(s->key);
    memset(s, 0, sizeof *s);
}

int krait_fs_within(const char *path, const char *dir)
{
    char *p = realpath(path, NULL); /* then up one folder at a time, to the root */
    if (!p) return 0;
    int in = 0;
    for (;;) {
        if ((in = krait_fs_same(p, dir))) break;
        char *slash = strrchr(p, '/');
        if (!slash) break;
        if (slash == p) {
            in = krait_fs_same("/", dir);
            break;
        }
        *slash = '\0';
    }
    free(p);
    return in;
}

int krait_fs_is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The folder part of path ("." when there is none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    size_t k = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(k + 1);
    if (d) {
        memcpy(d, path, k);
        d[k] = '\0';
    }
    return d;
}

/* path + ".tmp-XXXXXX" (a mkstemp/mkdtemp template), malloc'd. */
static char *tmp_name(const char *path)
{
    size_t k = strlen(path);
    char *t = malloc(k + 12);
    if (t) {
        memcpy(t, path, k);
        memcpy(t + k, ".tmp-XXXXXX", 12);
    }
    return t;
}

krait_status krait_fs_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL)) {
        int err = errno;
        KRAIT_ERROR("%s: cannot sync the folder: %s", dir, strerror(err));
        if (fd >= 0) close(fd);
        return krait_fs_errno_status(err);
    }
    close(fd);
    return KRAIT_STATUS_OK;
}

/* The umask is read from /proc/self/status: umask(2) can only be read by changing it, which
 * races with other threads. Without that line, 022 is assumed. */
static mode_t fs_umask(void)
{
    unsigned mask = 022;
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "Umask: %o", &mask) == 1) break;
        fclose(f);
    }
    return (mode_t)mask;
}

mode_t krait_fs_file_mode(void) { return 0666 & ~fs_umask(); }

int krait_fs_temp_beside(const char *path, const char *suffix, char **tmp)
{
    const char *slash = strrchr(path, '/');
    const int dir_len = slash ? (int)(slash - path + 1) : 0;
    const size_t size = (size_t)dir_len + strlen(suffix) + 16;
    char *t = *tmp = malloc(size);
    if (!t) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(t, size, "%.*s.krait-XXXXXX%s", dir_len, path, suffix);
    int fd = mkstemps(t, (int)strlen(suffix));
    if (fd >= 0 && fchmod(fd, krait_fs_file_mode()) != 0) {
        const int e = errno;
        close(fd), unlink(t), fd = -1;
        errno = e;
    }
    if (fd < 0) free(t), *tmp = NULL;
    return fd;
}
mode_t krait_fs_dir_mode(void) { return 0777 & ~fs_umask(); }

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

char *krait_fs_output_target(const char *path, int *direct)
{
    struct stat sb, lb;
    *direct = stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode);
    if (!*direct && lstat(path, &lb) == 0 && S_ISLNK(lb.st_mode) && stat(path, &sb) == 0) {
        char *real = realpath(path, NULL);
        if (real) return real;
    }
    return strdup(path);
}

/* emit into an existing device or pipe (krait_fs_output_target's direct case) */
static krait_status write_direct(const char *path, const char *target, int (*emit)(int fd, void *ctx), void *ctx)
{
    int fd = open(target, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || !emit(fd, ctx)) {
        int err = errno;
        KRAIT_ERROR("%s: cannot write: %s", path, strerror(err));
        if (fd >= 0) close(fd);
        return krait_fs_errno_status(err);
    }
    if (close(fd) != 0) {
        KRAIT_ERROR("%s: close failed: %s", path, strerror(errno));
        return KRAIT_STATUS_IO;
    }
    return KRAIT_STATUS_OK;
}

/* A new empty temporary file beside path (mkstemp on tmp_name), tracked for a killing signal:
 * *tmp (NULL when none was made), *dir (path's folder), *fd and *slot set for the caller's fail:
 * label either way; not OK with one line logged. */
static krait_status temp_beside(const char *path, char **tmp, char **dir, int *fd, int *slot)
{
    *tmp = tmp_name(path), *dir = dir_of(path), *fd = -1, *slot = -1;
    if (!*tmp || !*dir) {
        KRAIT_ERROR("%s: out of memory", path);
        return KRAIT_STATUS_NO_MEMORY;
    }
    *fd = mkstemp(*tmp);
    if (*fd < 0) {
        const int e = errno;
        KRAIT_ERROR("%s: cannot create a temporary file beside it: %s", path, strerror(e));
        free(*tmp);
        *tmp = NULL;
        return krait_fs_errno_status(e);
    }
    *slot = krait_fs_temp_track(*tmp);
    return KRAIT_STATUS_OK;
}

krait_status krait_fs_write_atomic_with(const char *path_asked, int (*emit)(int fd, void *ctx), void *ctx)
{
    int direct;
    char *path = krait_fs_output_target(path_asked, &direct);
    if (!path) {
        KRAIT_ERROR("%s: out of memory", path_asked);
        return KRAIT_STATUS_NO_MEMORY;
    }
    if (direct) {
        krait_status ds = write_direct(path_asked, path, emit, ctx);
        free(path);
        return ds;
    }
    char *tmp, *dir;
    int fd, slot;
    krait_status st = temp_beside(path, &tmp, &dir, &fd, &slot);
    if (st) goto fail;
    st = KRAIT_STATUS_IO;
    if (fchmod(fd, krait_fs_file_mode()) != 0 || !emit(fd, ctx) || fsync(fd) != 0) {
        KRAIT_ERROR("%s: writing %s failed: %s", path, tmp, strerror(errno));
        goto fail;
    }
    int rc = close(fd);
    fd = -1;
    const char *kill_at = getenv("KRAIT_FAULT_KILL_AT_RENAME"), *base = strrchr(path, '/');
    if (kill_at && !strcmp(kill_at, base ? base + 1 : path)) raise(SIGTERM); /* tests: a stop with the temporary whole */
    if (rc != 0 || rename(tmp, path) != 0) {
        st = krait_fs_errno_status(errno);
        KRAIT_ERROR("%s: %s failed: %s", path, rc ? "close" : "rename", strerror(errno));
        goto fail;
    }
    krait_fs_temp_untrack(slot), slot = -1; /* (the slot may be another writer's from here on) */
    free(tmp);
    tmp = NULL;
    st = krait_fs_sync_dir(dir);
fail:
    if (fd >= 0) close(fd);
    if (tmp) unlink(tmp);
    krait_fs_temp_untrack(slot); /* before the name is freed */
    free(tmp);
    free(dir);
    free(path);
    return st;
}

typedef struct bytes_ctx {
    const void *data;
    size_t n;
} bytes_ctx;

static int emit_bytes(int fd, void *ctx)
{
    const bytes_ctx *b = ctx;
    return write_all(fd, b->data, b->n);
}

krait_status krait_fs_write_atomic(const char *path, const void *data, size_t n)
{
    bytes_ctx b = { data, n };
    return krait_fs_write_atomic_with(path, emit_bytes, &b);
}

/* Copy src into the already created temporary fd (the fallback of publish). */
static int copy_into(int fd, const char *src)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return 0;
    char buf[1 << 16];
    int ok = 1;
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) ok = 0;
        if (r <= 0) break;
        if (!write_all(fd, buf, (size_t)r)) {
            ok = 0;
            break;
        }
    }
    close(in);
    return ok && fsync(fd) == 0;
}

krait_status krait_fs_publish(const char *dst, const char *src)
{
    struct stat sd, ss;
    if (stat(dst, &sd) == 0 && stat(src, &ss) == 0 && sd.st_dev == ss.st_dev && sd.st_ino == ss.st_ino)
        return KRAIT_STATUS_OK; /* already the same file (rename of a link over itself does nothing) */
    /* mkstemp reserves a unique name; the link replaces that empty file's name. */
    char *tmp, *dir;
    int fd, slot;
    krait_status st = temp_beside(dst, &tmp, &dir, &fd, &slot);
    if (st) goto fail;
    st = KRAIT_STATUS_IO;
    if (unlink(tmp) != 0 || linkat(AT_FDCWD, src, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0) {
        /* no hard links here (or the name was taken again): copy into a fresh temporary */
        close(fd);
        memcpy(tmp + strlen(tmp) - 6, "XXXXXX", 6);
        fd = mkstemp(tmp);
        if (fd < 0 || fchmod(fd, krait_fs_file_mode()) != 0 || !copy_into(fd, src)) {
            KRAIT_ERROR("%s: cannot copy %s: %s", dst, src, strerror(errno));
            if (fd < 0) {
                krait_fs_temp_untrack(slot), slot = -1;
                free(tmp);
                tmp = NULL;
            }
            goto fail;
        }
    }
    if (fd >= 0) {
        close(fd);
        fd = -1;
    }
    if (rename(tmp, dst) != 0) {
        st = krait_fs_errno_status(errno);
        KRAIT_ERROR("%s: rename failed: %s", dst, strerror(errno));
        goto fail;
    }
    krait_fs_temp_untrack(slot), slot = -1; /* (the slot may be another writer's from here on) */
    free(tmp);
    tmp = NULL;
    st = krait_fs_sync_dir(dir);
fail:
    if (fd >= 0) close(fd);
    if (tmp) unlink(tmp);
    krait_fs_temp_untrack(slot); /* before the name is freed */
    free(tmp);
    free(dir);
    return st;
}

krait_status krait_fs_mkdirs(const char *path)
{
    if (!*path) {
        KRAIT_ERROR("an empty folder name");
        return KRAIT_STATUS_BAD_INPUT;
    }
    char *p = strdup(path);
    if (!p) return KRAIT_STATUS_NO_MEMORY;
    krait_status st = KRAIT_STATUS_OK;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            st = krait_fs_errno_status(errno);
            KRAIT_ERROR("%s: cannot create the folder: %s", p, strerror(errno));
            break;
        }
        *s = c;
        if (c == '\0') break;
    }
    if (!st && !krait_fs_is_dir(path)) {
        KRAIT_ERROR("%s: exists and is not a folder", path);
        st = KRAIT_STATUS_BAD_INPUT;
    }
    free(p);
    return st;
}

krait_status krait_fs_remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return errno == ENOENT ? KRAIT_STATUS_OK : krait_fs_errno_status(errno);
    if (!S_ISDIR(sb.st_mode)) {
        if (unlink(path) != 0 && errno != ENOENT) {
            KRAIT_ERROR("%s: cannot remove: %s", path, strerror(errno));
            return krait_fs_errno_status(errno);
        }
        return KRAIT_STATUS_OK;
    }
    DIR *d = opendir(path);
    if (!d) {
        KRAIT_ERROR("%s: cannot open the folder: %s", path, strerror(errno));
        return krait_fs_errno_status(errno);
    }
    krait_status st = KRAIT_STATUS_OK;
    struct dirent *e;
    while (!st && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *child = krait_fs_join(path, e->d_name);
        st = child ? krait_fs_remove_tree(child) : KRAIT_STATUS_NO_MEMORY;
        free(child);
    }
    closedir(d);
    if (!st && rmdir(path) != 0 && errno != ENOENT) {
        KRAIT_ERROR("%s: cannot remove the folder: %s", path, strerror(errno));
        st = krait_fs_errno_status(errno);
    }
    return st;
}

char *krait_fs_first_missing(const char *path)
{
    char *p = strdup(path);
    if (!p) return NULL;
    struct stat sb;
    for (char *slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        const int missing = lstat(p, &sb) != 0 && errno == ENOENT;
        if (missing) return p;
        *slash = '/';
    }
    if (lstat(p, &sb) != 0 && errno == ENOENT) return p;
    free(p);
    return NULL;
}

/* The directory entries of getdents64 (glibc's readdir allocates; this needs none). */
struct dirent_now {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

/* name in dirfd and everything under it, with system calls only; the recursion is capped so a
 * handler's stack stays small (a deeper folder is left, as are entries that cannot go). */
static void remove_at_now(int dirfd, const char *name, int depth)
{
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT || (errno != EISDIR && errno != EPERM) || depth > 8) return;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    _Alignas(8) char buf[1024];
    for (int pass = 0; pass < 2; pass++) { /* entries removed while listing can hide others: once more */
        long n;
        while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
            for (long off = 0; off < n;) {
                const struct dirent_now *e = (const void *)(buf + off);
                off += e->reclen;
                if (strcmp(e->name, ".") && strcmp(e->name, "..")) remove_at_now(fd, e->name, depth + 1);
            }
        if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno != ENOTEMPTY) break;
        lseek(fd, 0, SEEK_SET);
    }
    close(fd);
}

void krait_fs_remove_tree_now(const char *path)
{
    const int saved = errno;
    remove_at_now(AT_FDCWD, path, 0);
    errno = saved;
}

char *krait_fs_read_text(const char *path, size_t max_bytes, krait_status *status)
{
    size_t len;
    return krait_fs_read_file(path, max_bytes, &len, status);
}

char *krait_fs_read_file(const char *path, size_t max_bytes, size_t *len, krait_status *status)
{
    *len = 0;
    krait_status st = KRAIT_STATUS_IO;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = f ? KRAIT_STATUS_BAD_INPUT : krait_fs_errno_status(errno);
        KRAIT_ERROR("%s: cannot read the file: %s", path, f ? "not a regular file" : strerror(errno));
        goto done;
    }
    if ((unsigned long long)sb.st_size > max_bytes) {
        KRAIT_ERROR("%s: the file is too large (%lld bytes; at most %zu expected)", path,
                    (long long)sb.st_size, max_bytes);
        st = KRAIT_STATUS_BAD_INPUT;
        goto done;
    }
    size_t n = (size_t)sb.st_size;
    buf = malloc(n + 1);
    if (!buf) {
        st = KRAIT_STATUS_NO_MEMORY;
        KRAIT_ERROR("%s: out of memory", path);
        goto done;
    }
    if (fread(buf, 1, n, f) != n) {
        KRAIT_ERROR("%s: read failed", path);
        free(buf);
        buf = NULL;
        goto done;
    }
    buf[n] = '\0';
    *len = n;
    st = KRAIT_STATUS_OK;
done:
    if (f) fclose(f);
    if (status) *status = st;
    return buf;
}
