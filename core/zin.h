/* core/zin.h — reading a file that may be gzip-compressed, as `gzip -dc` reads it: a plain file
 * as it is, a gzip file member after member (concatenated .gz files), zero bytes after the last
 * member ignored (block padding). Unlike zlib's gzread, which drops them without a word, bytes
 * after the last member that are neither gzip nor zeros are refused ("trailing garbage", which
 * gzip itself only warns of): they would be data that silently went missing.
 *
 * Every error is logged as one line naming the file and how far it was read. */
#ifndef KRAIT_ZIN_H
#define KRAIT_ZIN_H

#include <stddef.h>

#include "backend.h" /* krait_status */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_zin krait_zin;

/* BAD_INPUT (logged) when the file cannot be opened. */
krait_status krait_zin_open(const char *path, krait_zin **out);
/* Up to n bytes of the (decompressed) data into buf: how many, 0 at the end, -1 on an error
 * (logged; krait_zin_status says which: BAD_INPUT for bad or cut-short data, IO, NO_MEMORY). */
long krait_zin_read(krait_zin *z, void *buf, size_t n);
krait_status krait_zin_status(const krait_zin *z);
void krait_zin_close(krait_zin *z);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_ZIN_H */
