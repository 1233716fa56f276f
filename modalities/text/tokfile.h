/* modalities/text/tokfile.h — token files: the ids of a prepared corpus, memory-mapped.
 *
 * Layout (little-endian), DESIGN.md "Token files":
 *   offset  0  char[8]   magic "KRAITTOK"
 *           8  uint32    version (1)
 *          12  uint32    bytes per id: 2 (uint16 ids, vocabularies <= 65536) or 4 (uint32)
 *          16  uint64    count: ids in the file
 *          24  uint64    reserved, 0
 *          32  ids       count x (bytes per id)
 * A file whose size is not exactly 32 + count x bytes-per-id is rejected (a truncated write).
 *
 * The reader maps the file read-only (nothing is copied; pages come in as they are touched).
 * The writer appends ids to `path.tmp-XXXXXX` and, on finish, writes the count into the header,
 * fsyncs and renames over path, so a file named path is always complete.
 * Errors are logged as one line naming the file and the problem; nothing here exits.
 * This file knows nothing about tokenizers, documents or splits (apps/text/prepare.c). */
#ifndef KRAIT_TOKFILE_H
#define KRAIT_TOKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KRAIT_TOKFILE_MAGIC "KRAITTOK"
#define KRAIT_TOKFILE_VERSION 1
#define KRAIT_TOKFILE_HEADER 32

/* Bytes per id for a vocabulary of vocab ids: 2 when vocab <= 65536, else 4. */
int krait_tokfile_id_bytes_for(int vocab);

/* ---- reading --------------------------------------------------------------------------------- */
typedef struct krait_tokfile krait_tokfile;

/* Map path. BAD_INPUT (logged) when it is missing, not a token file, of another version or of
 * the wrong size; IO when mapping fails. */
krait_status krait_tokfile_open(const char *path, krait_tokfile **out);
void krait_tokfile_close(krait_tokfile *f);
uint64_t krait_tokfile_count(const krait_tokfile *f);
int krait_tokfile_id_bytes(const krait_tokfile *f);
/* ids[i] = id at start + i for i < n; start + n must be <= count (KRAIT_ASSERT). */
void krait_tokfile_read(const krait_tokfile *f, int32_t *ids /* (n) */, uint64_t start, size_t n);

/* ---- writing --------------------------------------------------------------------------------- */
typedef struct krait_tokfile_writer krait_tokfile_writer;

/* Start writing path with id_bytes (2 or 4) per id. */
krait_status krait_tokfile_create(const char *path, int id_bytes, krait_tokfile_writer **out);
/* Append n ids; an id that does not fit the width (or is negative) is BAD_INPUT. */
krait_status krait_tokfile_append(krait_tokfile_writer *w, const int32_t *ids, size_t n);
uint64_t krait_tokfile_written(const krait_tokfile_writer *w);
/* The temporary the writer appends to (renamed to the path by krait_tokfile_finish). */
const char *krait_tokfile_temp_path(const krait_tokfile_writer *w);
/* Keep only the first n ids written so far (n <= written). */
krait_status krait_tokfile_truncate(krait_tokfile_writer *w, uint64_t n);
/* Copy ids [start, start + n) written so far into ids (reads the temporary file back). */
krait_status krait_tokfile_reread(krait_tokfile_writer *w, int32_t *ids, uint64_t start, size_t n);
/* Write the header, fsync, rename into place and free w (also on failure). */
krait_status krait_tokfile_finish(krait_tokfile_writer *w);
/* Remove the temporary file and free w (an error path). */
void krait_tokfile_abort(krait_tokfile_writer *w);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_TOKFILE_H */
