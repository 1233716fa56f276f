/* core/safetensors.h — read, validate and write safetensors files and sharded model folders.
 *
 * Reader: krait_st_open() memory-maps a file read-only and validates its header strictly before
 * anything is returned; a krait_st_tensor is then a view (name, dtype, shape, pointer into the
 * map) that lives as long as the file. krait_st_model opens a model folder: one
 * `model.safetensors`, or shards listed by `model.safetensors.index.json`, behind the same
 * find/read calls. Writer: collect (name, dtype, shape, data) and write one file or HF-named
 * shards plus the index, crash-safely (temporary file, fsync, rename, fsync of the folder).
 *
 * What a reader accepts (the same files the reference implementation accepts, or fewer):
 *  - u64 little-endian header length N, N <= 100,000,000 and 8 + N <= file size;
 *  - the header is valid UTF-8, starts with '{', is one JSON object, and only JSON whitespace
 *    (normally the space padding) follows it; strings hold no control characters or \u0000;
 *  - numbers are plain integers (no fraction, exponent or leading zero), 0 <= value < 2^53;
 *  - `__metadata__` (optional, once): an object of string values, keys unique;
 *  - every other key is a tensor, names unique: an object with exactly the fields dtype (one of
 *    the strings of krait_st_dtype), shape (array of integers; [] is a scalar) and data_offsets
 *    ([begin, end], begin <= end, relative to the data buffer that follows the header);
 *  - numel (overflow-checked) x dtype bits is a whole number of bytes equal to end - begin;
 *  - sorted by offset, the tensors cover the data buffer exactly: no overlap, no hole, nothing
 *    after the last tensor (the file size is 8 + N + the largest end).
 * Any violation: NULL, *status = KRAIT_STATUS_BAD_INPUT and ONE error line through krait_log
 * naming the file, the place (tensor name or file offset) and the problem. A file that cannot be
 * found or is not a regular file is also BAD_INPUT; other OS failures are KRAIT_STATUS_IO.
 *
 * Stricter than the reference on purpose: unknown fields in an entry, a null __metadata__, a -0,
 * and integers >= 2^53 (cJSON reads numbers as doubles; above 2^53 they would be rounded).
 *
 * Threads: an open file or model is immutable; any number of threads may find and read at once.
 *
 * Not handled: big-endian hosts (refused at compile time); files truncated by another process
 * while mapped (SIGBUS, as with any mmap reader); slicing; dtype conversion other than
 * F32/F16/BF16 -> fp32.
 */
#ifndef KRAIT_SAFETENSORS_H
#define KRAIT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"   /* krait_status, krait_dtype */

#ifdef __cplusplus
extern "C" {
#endif

#define KRAIT_ST_MAX_HEADER 100000000ull   /* largest header length accepted (bytes) */

/* Element types, in the order of the reference implementation (ascending alignment); the writer
 * orders tensors by this enum descending, then by name. */
typedef enum krait_st_dtype {
    KRAIT_ST_DTYPE_BOOL = 0,
    KRAIT_ST_DTYPE_F4,            /* 4 bits */
    KRAIT_ST_DTYPE_F6_E2M3,       /* 6 bits */
    KRAIT_ST_DTYPE_F6_E3M2,       /* 6 bits */
    KRAIT_ST_DTYPE_U8,
    KRAIT_ST_DTYPE_I8,
    KRAIT_ST_DTYPE_F8_E5M2,
    KRAIT_ST_DTYPE_F8_E4M3,
    KRAIT_ST_DTYPE_F8_E8M0,
    KRAIT_ST_DTYPE_F8_E4M3FNUZ,
    KRAIT_ST_DTYPE_F8_E5M2FNUZ,
    KRAIT_ST_DTYPE_I16,
    KRAIT_ST_DTYPE_U16,
    KRAIT_ST_DTYPE_F16,
    KRAIT_ST_DTYPE_BF16,
    KRAIT_ST_DTYPE_I32,
    KRAIT_ST_DTYPE_U32,
    KRAIT_ST_DTYPE_F32,
    KRAIT_ST_DTYPE_C64,
    KRAIT_ST_DTYPE_F64,
    KRAIT_ST_DTYPE_I64,
    KRAIT_ST_DTYPE_U64,
    KRAIT_ST_DTYPE_COUNT
} krait_st_dtype;

/* "F32" -> KRAIT_ST_DTYPE_F32. Returns 1 and sets *dtype if s names a dtype (exact, case
 * sensitive), else 0. Logs nothing. */
int krait_st_dtype_from_string(krait_st_dtype *dtype, const char *s);
/* KRAIT_ST_DTYPE_F32 -> "F32"; NULL for a value outside the enum. */
const char *krait_st_dtype_to_string(krait_st_dtype dtype);
/* Bits per element (4, 6, 8, 16, 32 or 64); 0 for a value outside the enum. */
int krait_st_dtype_bits(krait_st_dtype dtype);
/* F32/BF16/F16/I32 -> the backend's krait_dtype: returns 1 and sets *out, else 0. */
int krait_st_dtype_to_krait(krait_dtype *out, krait_st_dtype dtype);

/* ---- reading one file ------------------------------------------------------------------- */

typedef struct krait_st_file krait_st_file;

/* A validated tensor entry; owned by its file, valid until krait_st_close(file). */
typedef struct krait_st_tensor {
    const char *name;
    krait_st_dtype dtype;
    int rank;                     /* 0 for a scalar */
    const int64_t *shape;         /* (rank) */
    uint64_t numel;               /* product of shape (1 for a scalar, 0 if any dim is 0) */
    uint64_t nbytes;
    uint64_t file_offset;         /* of the first byte, from the start of the file */
    const void *data;             /* (nbytes) read-only, inside the map. Aligned to the dtype
                                   * size when the header length and offsets are (krait's and the
                                   * reference writer's files are); otherwise read with memcpy. */
    const krait_st_file *file;
} krait_st_tensor;

/* Map and validate path. NULL on failure with *status set (status may be NULL). */
krait_st_file *krait_st_open(const char *path, krait_status *status);
void krait_st_close(krait_st_file *f);                       /* NULL is fine */

const char *krait_st_path(const krait_st_file *f);
size_t krait_st_count(const krait_st_file *f);
/* i < count, in file (offset) order. */
const krait_st_tensor *krait_st_tensor_at(const krait_st_file *f, size_t i);
/* NULL when absent; logs nothing. */
const krait_st_tensor *krait_st_find(const krait_st_file *f, const char *name);

/* __metadata__: pairs sorted by key; get returns NULL when absent. */
size_t krait_st_metadata_count(const krait_st_file *f);
void krait_st_metadata_at(const krait_st_file *f, size_t i, const char **key, const char **value);
const char *krait_st_metadata_get(const krait_st_file *f, const char *key);

/* dst (n, fp32) = the tensor converted from F32, F16 or BF16. BAD_INPUT (logged, naming file and
 * tensor) when the dtype is another one or numel != n. */
krait_status krait_st_tensor_read_f32(const krait_st_tensor *t, float *dst, size_t n);
/* The same, but the shape must equal shape (rank) exactly. */
krait_status krait_st_tensor_read_f32_shape(const krait_st_tensor *t, float *dst,
                                            const int64_t *shape, int rank);
/* 1 when shapes a (rank ra) and b (rank rb) are the same. */
int krait_st_shape_equal(const int64_t *a, int ra, const int64_t *b, int rb);
/* "[2, 3]" into out (cap bytes; "..." when it does not fit), for messages; returns out. */
const char *krait_st_shape_str(char *out, size_t cap, const int64_t *shape, int rank);

/* Find by name, then read; a missing tensor is BAD_INPUT (logged). */
krait_status krait_st_read_f32(const krait_st_file *f, float *dst, const char *name, size_t n);
krait_status krait_st_read_f32_shape(const krait_st_file *f, float *dst, const char *name,
                                     const int64_t *shape, int rank);

/* ---- reading a model: one file or shards ------------------------------------------------ */

typedef struct krait_st_model krait_st_model;

/* path is a folder, a `*.index.json` file or a single `.safetensors` file. A folder holding
 * `model.safetensors` is read from it (a warning is logged if an index is there too, as
 * transformers also prefers the single file); else `model.safetensors.index.json` is required.
 * Index rules: a JSON object with `weight_map` (required, non-empty object name -> file name;
 * names unique; file names plain, no '/' and not "." or "..") and `metadata` (optional object,
 * not interpreted); other keys are refused. Every mapped shard must exist and contain the named
 * tensor, and every tensor of a shard must be mapped to that shard: a tensor missing from the
 * map is an error, not ignored, so a model reads the same whichever way it was opened. The index
 * metadata and every shard's __metadata__ must hold the same "krait_save_id" (krait's sharded
 * writer puts one there) or none of them any, so shards mixed by an interrupted save are refused.
 * An index file larger than KRAIT_ST_MAX_HEADER bytes is refused. */
krait_st_model *krait_st_model_open(const char *path, krait_status *status);
void krait_st_model_close(krait_st_model *m);                /* NULL is fine */

size_t krait_st_model_count(const krait_st_model *m);
/* i < count, sorted by name. */
const krait_st_tensor *krait_st_model_tensor_at(const krait_st_model *m, size_t i);
const krait_st_tensor *krait_st_model_find(const krait_st_model *m, const char *name);
size_t krait_st_model_file_count(const krait_st_model *m);
const krait_st_file *krait_st_model_file_at(const krait_st_model *m, size_t i);
krait_status krait_st_model_read_f32(const krait_st_model *m, float *dst, const char *name,
                                     size_t n);
krait_status krait_st_model_read_f32_shape(const krait_st_model *m, float *dst, const char *name,
                                           const int64_t *shape, int rank);

/* ---- writing ------------------------------------------------------------------------------- */

typedef struct krait_st_writer krait_st_writer;

/* An empty list with __metadata__ {"format": "pt"}. NULL (logged) if out of memory. */
krait_st_writer *krait_st_writer_init(void);
void krait_st_writer_free(krait_st_writer *w);               /* NULL is fine */

/* Add a tensor. The name and shape are copied; the data is NOT: it must stay valid until the
 * last write. Names are unique, valid UTF-8, not "__metadata__"; dims >= 0 and < 2^53.
 * add_f32: data (numel, fp32) stored as dtype F32, F16 or BF16 (round to nearest even).
 * add_raw: data (nbytes) stored as is, any dtype (little-endian bytes, whole bytes only).
 * BAD_INPUT (logged) on a rule broken; the writer is then unchanged. */
krait_status krait_st_writer_add_f32(krait_st_writer *w, const char *name, krait_st_dtype dtype,
                                     const float *data, const int64_t *shape, int rank);
krait_status krait_st_writer_add_raw(krait_st_writer *w, const char *name, krait_st_dtype dtype,
                                     const void *data, const int64_t *shape, int rank);
/* Set __metadata__[key] = value (replacing); value NULL removes the key. With no keys left,
 * __metadata__ is omitted from the file. */
krait_status krait_st_writer_set_metadata(krait_st_writer *w, const char *key, const char *value);

/* Write one file: header padded with spaces to 8-byte alignment, tensors ordered by dtype
 * (descending) then name, each aligned to its dtype size. Crash-safe: written to
 * `path.tmp-XXXXXX` in the same folder, fsynced, renamed over path, folder fsynced; on failure
 * the temporary is removed and path is untouched. */
krait_status krait_st_writer_write(const krait_st_writer *w, const char *path);

/* Write into folder dir (which must exist): tensors in the order added go into shards of at most
 * max_shard_bytes of tensor data each (a larger tensor gets a shard of its own), named
 * `model-00001-of-0000K.safetensors`, plus `model.safetensors.index.json` ({"metadata":
 * {"total_size": bytes}, "weight_map": {name: file}}). If everything fits in one shard, a plain
 * `model.safetensors` is written and no index (as transformers does). Each file is written
 * crash-safely, the index last; then model files of an earlier save that the new set does not
 * use (model.safetensors, the index, model-*-of-*.safetensors) are removed. The index and every
 * shard carry one fresh "krait_save_id" in their metadata (see krait_st_model_open): a crash in
 * the middle leaves either the old set, or a set that is refused on opening, never a silent mix.
 * (A whole checkpoint folder that must switch atomically is the caller's: write a new folder and
 * rename it.) */
krait_status krait_st_writer_write_sharded(const krait_st_writer *w, const char *dir,
                                           uint64_t max_shard_bytes);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_SAFETENSORS_H */
