/* modalities/audio/audio_data.h — audio datasets: which files, their labels, the train/test
 * split, and the clips loaded into memory.
 *
 * A dataset is a folder (searched recursively; hidden entries skipped; files sorted by path so
 * that every listing is the same) or a manifest: a TSV text of `path` or `path<TAB>label` lines
 * (relative paths are relative to the manifest's folder; blank lines and lines starting with #
 * are skipped; a first line "path[<TAB>label]" is a header). Labels come from the manifest,
 * from a regex on the file name (its first capture group, e.g. FSDD's `^([0-9])_`), or from the
 * name of the folder holding the file. Class names are the distinct labels sorted (numbers
 * numerically), so class ids do not depend on listing order.
 *
 * The split is deterministic: a file is in the test set when its file name matches the test
 * regex (PCRE2; FSDD's official split is `_[0-4]\.wav$`), or — without a regex — when a hash
 * of its file name falls below the test fraction.
 *
 * Loading reads every file (audio_io.h) at one rate into memory; a file that cannot be read is
 * skipped with one warning line and counted, never fatal. The manifest parser works on a
 * memory buffer (a fuzz target can drive it). This file does not quantise or compute features. */
#ifndef KRAIT_AUDIO_DATA_H
#define KRAIT_AUDIO_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct krait_audio_item {
    char *path;
    char *label;          /* NULL when unlabelled */
    int cls;              /* index into names, -1 when unlabelled */
    int line;             /* the manifest's line it came from; 0 when not from a manifest */
} krait_audio_item;

typedef struct krait_audio_list {
    krait_audio_item *items;
    int n, cap;
    char **names;         /* (n_classes) class names */
    int n_classes;
    char *manifest;       /* the manifest the items with a line came from (owned: freed with the list), or NULL */
} krait_audio_list;

/* "MANIFEST:LINE: " for item i of a manifest (the place to name when it is skipped), else "". */
const char *krait_audio_item_where(const krait_audio_list *l, int i, char *buf, size_t size);

void krait_audio_list_free(krait_audio_list *l);

/* Parse a manifest held in memory (text of len bytes, not necessarily NUL-terminated); origin
 * names it in messages ("FILE:LINE: problem"), base_dir (or NULL) prefixes relative paths.
 * Either every line has a label or none has. Items are appended to l. BAD_INPUT (logged) on a
 * malformed line. */
krait_status krait_audio_manifest_parse(krait_audio_list *l, const char *text, size_t len, const char *origin,
                                        const char *base_dir);

/* List path: a folder (recursive) or a manifest file (.tsv, .txt or .manifest: anything that is
 * not a folder is read as a manifest). label_regex (or NULL) labels folder files from their
 * file names; label_from_dir = 1 labels them with their folder's name. Sets class names. */
krait_status krait_audio_list_open(krait_audio_list *l, const char *path, const char *label_regex,
                                   int label_from_dir);

/* 1 if the file name has an extension of a format libsndfile reads (.wav .flac .ogg .aiff ...):
 * folders are searched for these, and a --data path with one is a single audio file. */
int krait_audio_is_audio_name(const char *path);

/* Fill names / cls from the labels (call after adding items by hand; list_open calls it). */
krait_status krait_audio_list_classes(krait_audio_list *l);

/* is_test[i] (n items) = 1 for a test file. test_regex NULL: by name hash against fraction. */
krait_status krait_audio_split(int *is_test, const krait_audio_list *l, const char *test_regex, double test_fraction);

/* 64-bit FNV-1a of a file name's last path component (the split hash). */
uint64_t krait_audio_name_hash(const char *path);

/* Clips in memory: mono float samples at one rate. */
typedef struct krait_audio_clip {
    float *x;
    size_t n;
    int cls;
    const char *path;     /* the list's string */
} krait_audio_clip;

typedef struct krait_audio_set {
    krait_audio_clip *clips;
    int n;
    long long samples;
    int skipped;          /* files that could not be read */
} krait_audio_set;

typedef void (*krait_audio_load_progress)(void *user, int done, int total);

/* Load the items i with want[i] (want NULL: all) at rate; normalize = 1 scales each clip to
 * peak 1. Unreadable files: one warning line each, counted in skipped. */
krait_status krait_audio_set_load(krait_audio_set *set, const krait_audio_list *l, const int *want, int rate,
                                  int normalize, krait_audio_load_progress progress, void *user);
void krait_audio_set_free(krait_audio_set *set);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_AUDIO_DATA_H */
