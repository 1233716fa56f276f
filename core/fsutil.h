/* core/fsutil.h — the few file-system operations model and checkpoint folders need, done
 * crash-safely: write a small file through a temporary name + fsync + rename, fsync a folder,
 * publish an existing file under a second name atomically (hard link, or a copy when links are
 * not possible), create a folder path, remove a folder tree, read a small text file.
 *
 * Every function logs one line naming the path and the problem on failure and returns
 * KRAIT_STATUS_BAD_INPUT (a path the user named is wrong: missing, not a folder, no
 * permission) or KRAIT_STATUS_IO (the OS failed). POSIX only. This file does not know about
 * safetensors or checkpoints (their writers use krait_fs_write_atomic_with). */
#ifndef KRAIT_FSUTIL_H
#define KRAIT_FSUTIL_H

#include <stddef.h>
#include <sys/types.h> /* mode_t */

#include "backend.h"   /* krait_status */

#ifdef __cplusplus
extern "C" {
#endif

/* a + "/" + b, malloc'd (NULL on out of memory). */
char *krait_fs_join(const char *a, const char *b);
/* The folder path names a file in: what comes before its last '/' ("." without one, "/" for a
 * file at the root), malloc'd (NULL on out of memory). */
char *krait_fs_dirname(const char *path);

int krait_fs_is_dir(const char *path);    /* 1 if path is a folder (symlinks followed) */
/* What an errno of a file operation is: the user's to fix (a missing, unwritable or read-only
 * place: KRAIT_STATUS_BAD_INPUT, exit 2) or the machine's (a full disk, an I/O error:
 * KRAIT_STATUS_IO, exit 1). */
krait_status krait_fs_errno_status(int err);

/* The files read through a memory map (token files, safetensors), newest last (up to 8 kept):
 * when one is cut short or rewritten under a running command, the read faults (SIGBUS), and the
 * apps' handler names them (krait_fs_mapped_name(i), NULL past the last). */
void krait_fs_mapped_add(const char *path);
const char *krait_fs_mapped_name(int i);
void krait_fs_mapped_remove(const char *path); /* unmapped again */
int krait_fs_same(const char *a, const char *b); /* 1 if both name one existing file or folder */
int krait_fs_within(const char *path, const char *dir); /* 1 if path is dir or lies inside it (both existing) */
int krait_fs_is_file(const char *path);   /* 1 if path is a regular file (symlinks followed) */

/* Files or folders by identity (device, inode), for walks that must not read one twice: a link
 * loop, two links to one folder, a file given as an input and found again in a given folder.
 * Zero-initialise; a hash set, so a walk of many files stays linear. */
typedef struct krait_fs_seen {
    unsigned long long *key; /* (cap) pairs of (device, inode + 1); 0 marks a free slot */
    size_t n, cap;
} krait_fs_seen;
/* 1 the first time path's file is added, 0 when it was added before (under any name), -1 when it
 * cannot be stat'ed (the caller's open will say why) or memory ran out (logged). */
int krait_fs_seen_add(krait_fs_seen *s, const char *path);
void krait_fs_seen_free(krait_fs_seen *s);

/* Write n bytes to path: `path.tmp-XXXXXX` beside it, fsync, rename over path, fsync the
 * folder. On failure path is untouched and the temporary is removed. A device or pipe is
 * written in place, a link's file through the link (krait_fs_output_target). The file's mode is 0666
 * less the umask, as for any file a program creates (publish's copies too). */
krait_status krait_fs_write_atomic(const char *path, const void *data, size_t n);
/* Where an output named path goes (malloc'd; NULL: out of memory). An existing path that is not
 * a regular file or folder (a device such as /dev/null, a named pipe) is written in place:
 * *direct = 1, no temporary and no rename (which would replace the device or pipe itself). A
 * link to a regular file: the file it names (a rename would replace the link). Else path. */
char *krait_fs_output_target(const char *path, int *direct);
/* The same, with the content written by emit(fd, ctx) (returns 0 on a failed write, errno set). */
krait_status krait_fs_write_atomic_with(const char *path, int (*emit)(int fd, void *ctx), void *ctx);

/* fsync a folder so that renames and creations inside it are durable. */
krait_status krait_fs_sync_dir(const char *dir);

/* Make dst hold the same bytes as the regular file src (a symlink is followed), atomically: a
 * hard link to src under a temporary name beside dst renamed over dst (no copy); where hard
 * links are impossible (another file system, no support), a copy written to a temporary
 * name, fsynced and renamed. Then dst's folder is fsynced. When dst already is src (the same
 * file), nothing is done. */
krait_status krait_fs_publish(const char *dst, const char *src);

/* The mode open(2) gives a new file: 0666 less the process's umask. For files made with mkstemp
 * (0600), which are set to it before they are renamed into place. */
mode_t krait_fs_file_mode(void);
/* The mode mkdir(2) gives a new folder with mode 0777: 0777 less the umask (for mkdtemp's 0700). */
mode_t krait_fs_dir_mode(void);
/* A new empty file in path's folder, for writing path whole and renaming it over path: named
 * .krait-XXXXXX<suffix> (short, so that the folder of any path takes it; suffix keeps an
 * extension a library checks), with krait_fs_file_mode's mode. Returns its descriptor and sets
 * *tmp (malloc'd, the caller frees it), or returns -1 with errno set (*tmp NULL). */
int krait_fs_temp_beside(const char *path, const char *suffix, char **tmp);

/* The temporary files being written now, so that a signal that ends the process can remove them:
 * krait_fs_write_atomic* and krait_fs_publish track theirs; a caller of krait_fs_temp_beside
 * tracks its own. track returns a slot for untrack (-1 when all are taken: not tracked; untrack
 * ignores -1); the name must stay valid until untracked. krait_fs_unlink_temps_now unlinks them
 * all and is async-signal-safe. */
int krait_fs_temp_track(const char *tmp);
void krait_fs_temp_untrack(int slot);
void krait_fs_unlink_temps_now(void);

/* The topmost missing folder of path (new1 of new1/new2/new3 when new1 is missing: what
 * krait_fs_mkdirs(path) would make first), malloc'd; NULL when path exists (or on no memory).
 * Only a name that is not there counts: an existing file or link on the way is not missing. */
char *krait_fs_first_missing(const char *path);

/* mkdir -p with mode 0755; an existing folder is fine. */
krait_status krait_fs_mkdirs(const char *path);

/* Remove path and everything under it (symlinks are removed, never followed). A missing
 * path is fine. */
krait_status krait_fs_remove_tree(const char *path);
/* The same with system calls only, for a signal handler (async-signal-safe; silent; errno kept;
 * at most 9 levels deep). */
void krait_fs_remove_tree_now(const char *path);

/* Read a whole regular file of at most max_bytes into a NUL-terminated malloc'd buffer.
 * NULL (logged) when it is missing, larger, or unreadable; *status says which. */
char *krait_fs_read_text(const char *path, size_t max_bytes, krait_status *status);
/* The same, with the byte count in *len (the file may hold NUL bytes). */
char *krait_fs_read_file(const char *path, size_t max_bytes, size_t *len, krait_status *status);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_FSUTIL_H */
