/* core/zin.c — see zin.h. One z_stream inflating gzip members in turn from a 128 KiB input
 * buffer; a file that does not start with the gzip magic is handed out as it is. */
#include "zin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

#include "log.h"

#define ZIN_BUF ((size_t)1 << 17)

struct krait_zin {
    char *path;
    int fd;
    int gzip;               /* 1: the file is gzip (else handed out as it is) */
    int member_done;        /* the member before the input's position ended (look for another) */
    int ended;
    krait_status status;
    z_stream zs;
    unsigned char *in;      /* in[0, have): read from the file; zs.next_in points into it */
    long long out_total;    /* bytes handed out */
    long long in_total;     /* file bytes read into in */
};

static long fail(krait_zin *z, krait_status s) { z->status = s; return -1; }

/* More file bytes into in (what zs has not taken is moved to the front): how many, 0 at the end
 * of the file, -1 on a read error (logged). */
static long refill(krait_zin *z)
{
    if (z->zs.avail_in && z->zs.next_in != z->in) memmove(z->in, z->zs.next_in, z->zs.avail_in);
    z->zs.next_in = z->in;
    ssize_t n;
    do n = read(z->fd, z->in + z->zs.avail_in, ZIN_BUF - z->zs.avail_in);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        KRAIT_ERROR("%s: read error after %lld bytes of the file (%s)", z->path, z->in_total, strerror(errno));
        return fail(z, KRAIT_STATUS_IO);
    }
    z->zs.avail_in += (uInt)n;
    z->in_total += n;
    return n;
}

krait_status krait_zin_open(const char *path, krait_zin **out)
{
    *out = NULL;
    krait_status s = KRAIT_STATUS_NO_MEMORY;
    krait_zin *z = calloc(1, sizeof *z);
    if (!z || !(z->path = strdup(path)) || !(z->in = malloc(ZIN_BUF))) {
        KRAIT_ERROR("%s: out of memory opening the file", path);
        goto fail;
    }
    z->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (z->fd < 0) {
        KRAIT_ERROR("%s: cannot open (%s)", path, strerror(errno));
        s = KRAIT_STATUS_BAD_INPUT;
        goto fail;
    }
    z->zs.next_in = z->in;
    while (z->zs.avail_in < 2) { /* the magic, or the whole of a file shorter than it */
        long n = refill(z);
        if (n < 0) {
            s = z->status;
            goto fail;
        }
        if (n == 0) break;
    }
    z->gzip = z->zs.avail_in >= 2 && z->in[0] == 0x1f && z->in[1] == 0x8b;
    const size_t pl = strlen(path);
    if (!z->gzip && z->zs.avail_in > 0 && pl > 3 && !strcasecmp(path + pl - 3, ".gz")) { /* bzip2, say: not read raw */
        KRAIT_ERROR("%s: named .gz but not gzip data (it starts with bytes 0x%02x 0x%02x, not 0x1f 0x8b)", path,
                    z->in[0], z->zs.avail_in > 1 ? z->in[1] : 0);
        s = KRAIT_STATUS_BAD_INPUT;
        goto fail;
    }
    if (z->gzip && inflateInit2(&z->zs, 16 + MAX_WBITS) != Z_OK) {
        z->gzip = 0; /* nothing for inflateEnd to free */
        KRAIT_ERROR("%s: out of memory opening the file", path);
        goto fail;
    }
    *out = z;
    return KRAIT_STATUS_OK;
fail: /* krait_zin_close releases in reverse: the inflate stream, the descriptor, the buffer, the path */
    krait_zin_close(z);
    return s;
}

/* After a member: another member (reset), the end (nothing, or zeros only, follows), or bytes
 * that are not gzip (an error). 1: go on inflating, 0: the end, -1: an error (logged). */
static int next_member(krait_zin *z)
{
    while (z->zs.avail_in < 2) {
        long n = refill(z);
        if (n < 0) return -1;
        if (n == 0) break;
    }
    if (z->zs.avail_in >= 2 && z->zs.next_in[0] == 0x1f && z->zs.next_in[1] == 0x8b) {
        if (inflateReset(&z->zs) != Z_OK) return fail(z, KRAIT_STATUS_NO_MEMORY);
        z->member_done = 0;
        return 1;
    }
    long long at = z->in_total - z->zs.avail_in, nonzero = 0;
    for (;;) {
        for (uInt i = 0; i < z->zs.avail_in; i++) nonzero += z->zs.next_in[i] != 0;
        z->zs.avail_in = 0;
        long n = refill(z);
        if (n < 0) return -1;
        if (n == 0) break;
    }
    if (!nonzero) return 0;
    KRAIT_ERROR("%s: %lld bytes after the end of the gzip data (file byte %lld on) are not gzip: trailing garbage, "
                "which would be data lost without a word (gzip -dc warns of it); cut them off or compress the file "
                "again", z->path, z->in_total - at, at);
    return fail(z, KRAIT_STATUS_BAD_INPUT);
}

long krait_zin_read(krait_zin *z, void *buf, size_t n)
{
    if (z->status) return -1;
    if (z->ended || n == 0) return 0;
    if (n > ((size_t)1 << 30)) n = (size_t)1 << 30;
    if (!z->gzip) { /* the bytes read while looking for the magic, then the file */
        if (z->zs.avail_in == 0 && refill(z) < 0) return -1;
        size_t k = z->zs.avail_in < n ? z->zs.avail_in : n;
        memcpy(buf, z->zs.next_in, k);
        z->zs.next_in += k, z->zs.avail_in -= (uInt)k;
        z->out_total += (long long)k;
        if (k == 0) z->ended = 1;
        return (long)k;
    }
    z->zs.next_out = buf;
    z->zs.avail_out = (uInt)n;
    while (z->zs.avail_out == n) {
        if (z->member_done) {
            int r = next_member(z);
            if (r < 0) return -1;
            if (r == 0) {
                z->ended = 1;
                break;
            }
        }
        if (z->zs.avail_in == 0) {
            long got = refill(z);
            if (got < 0) return -1;
            if (got == 0) {
                KRAIT_ERROR("%s: the compressed data ends early after %lld bytes of text: a truncated file",
                            z->path, z->out_total + (long long)(n - z->zs.avail_out));
                return fail(z, KRAIT_STATUS_BAD_INPUT);
            }
        }
        int r = inflate(&z->zs, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            z->member_done = 1;
        } else if (r == Z_MEM_ERROR) {
            KRAIT_ERROR("%s: out of memory decompressing", z->path);
            return fail(z, KRAIT_STATUS_NO_MEMORY);
        } else if (r != Z_OK && r != Z_BUF_ERROR) {
            KRAIT_ERROR("%s: corrupt compressed data after %lld bytes of text (%s)", z->path,
                        z->out_total + (long long)(n - z->zs.avail_out), z->zs.msg ? z->zs.msg : "zlib error");
            return fail(z, KRAIT_STATUS_BAD_INPUT);
        }
    }
    long got = (long)(n - z->zs.avail_out);
    z->out_total += got;
    return got;
}

krait_status krait_zin_status(const krait_zin *z) { return z->status; }

void krait_zin_close(krait_zin *z)
{
    if (!z) return;
    if (z->gzip) inflateEnd(&z->zs);
    if (z->fd > 0) close(z->fd);
    free(z->in);
    free(z->path);
    free(z);
}
