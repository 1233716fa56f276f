/* tests/io/test_fsutil.c — the file-system helpers under checkpoints: atomic writes replace a
 * file whole and leave no temporary behind, publish hard-links (same inode) or, across file
 * systems, copies, and follows a symlink to the real file; mkdirs, remove_tree (which removes a
 * symlink, never what it points to) and read_text with its size limit; an output that is a named
 * pipe is written into (not renamed over), one that is a link writes the linked file. */
#include "fsutil.h"

#include "io_util.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static int same_text(const char *path, const char *want)
{
    size_t n = 0;
    char *got = (char *)io_read(path, &n);
    int ok = got && n == strlen(want) && memcmp(got, want, n) == 0;
    free(got);
    return ok;
}

static ino_t inode(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? sb.st_ino : 0;
}

int main(void)
{
    tu_init("test_fsutil");
    static io_cap cap;
    io_cap_begin(&cap);
    const char *root = io_tmpdir("fsutil");
    char dir[600], a[700], b[700], c[700];
    snprintf(dir, sizeof dir, "%s/x/y/z", root);
    tu_check(krait_fs_mkdirs(dir) == 0 && krait_fs_is_dir(dir) && krait_fs_mkdirs(dir) == 0, "mkdirs, twice");
    snprintf(a, sizeof a, "%s/x/y/z/", root);
    snprintf(b, sizeof b, "%s/x/./y/../y/z", root);
    snprintf(c, sizeof c, "%s/x/y", root);
    tu_check(krait_fs_same(dir, a) && krait_fs_same(dir, b) && !krait_fs_same(dir, c), "same: one folder by three names, not its parent");
    snprintf(c, sizeof c, "%s/none", root);
    tu_check(!krait_fs_same(c, c), "same: a missing path is not the same as itself");
    snprintf(a, sizeof a, "%s/x", root);
    snprintf(b, sizeof b, "%s/x/../x/y/./z", root);
    snprintf(c, sizeof c, "%s/x/y", root);
    tu_check(krait_fs_within(dir, a) && krait_fs_within(b, c) && krait_fs_within(dir, dir) && krait_fs_within(dir, "/"),
             "within: a folder lies in itself, its parents and the root, by any name");
    tu_check(!krait_fs_within(a, dir) && !krait_fs_within(c, dir), "within: a parent does not lie in its child");
    snprintf(c, sizeof c, "%s/none", root);
    tu_check(!krait_fs_within(c, root) && !krait_fs_within(root, c), "within: a missing path lies nowhere, holds nothing");

    { /* the seen set: 300 files (the table grows past 64 slots) once each, then each by a second name */
        krait_fs_seen seen = { 0 };
        int firsts = 0, agains = 0;
        char f[800], g[800];
        for (int i = 0; i < 300; i++) {
            snprintf(f, sizeof f, "%s/x/y/f%d", root, i);
            FILE *h = fopen(f, "w");
            if (h) fclose(h);
            firsts += krait_fs_seen_add(&seen, f) == 1;
        }
        for (int i = 0; i < 300; i++) {
            snprintf(g, sizeof g, "%s/x/./y/f%d", root, i);
            agains += krait_fs_seen_add(&seen, g) == 0;
        }
        snprintf(g, sizeof g, "%s/x/y", root);
        snprintf(f, sizeof f, "%s/x/nowhere", root);
        tu_check(firsts == 300 && agains == 300 && seen.n == 300 && krait_fs_seen_add(&seen, g) == 1 &&
                 krait_fs_seen_add(&seen, f) == -1, "seen: 300 files new once, then known by another name (%d, %d)",
                 firsts, agains);
        krait_fs_seen_free(&seen);
        for (int i = 0; i < 300; i++) {
            snprintf(f, sizeof f, "%s/x/y/f%d", root, i);
            unlink(f);
        }
    }

    snprintf(a, sizeof a, "%s/a.txt", dir);
    tu_check(krait_fs_write_atomic(a, "first", 5) == 0 && same_text(a, "first"), "write_atomic creates");
    tu_check(krait_fs_write_atomic(a, "second!", 7) == 0 && same_text(a, "second!"), "write_atomic replaces");
    tu_check(io_count_names(dir, ".tmp-") == 0, "no temporary left");

    snprintf(b, sizeof b, "%s/b.txt", root);
    tu_check(krait_fs_publish(b, a) == 0 && same_text(b, "second!") && inode(a) == inode(b),
             "publish links (same inode)");
    tu_check(krait_fs_write_atomic(a, "third", 5) == 0 && same_text(b, "second!"),
             "a published file keeps its bytes when the source is replaced");
    snprintf(c, sizeof c, "%s/link", root);
    tu_check(symlink(a, c) == 0, "symlink");
    unlink(b);
    tu_check(krait_fs_publish(b, c) == 0 && inode(b) == inode(a), "publish follows a symlink to the file");
    tu_check(krait_fs_publish(a, a) == 0 && krait_fs_publish(b, a) == 0 && same_text(a, "third") &&
                 io_count_names(dir, ".tmp-") == 0 && io_count_names(root, ".tmp-") == 0,
             "publishing a file over itself (or its hard link) leaves no temporary");

    /* across file systems: copy */
    struct stat s_tmp, s_shm;
    if (stat("/dev/shm", &s_shm) == 0 && stat(root, &s_tmp) == 0 && s_shm.st_dev != s_tmp.st_dev &&
        access("/dev/shm", W_OK) == 0) {
        char shm[100];
        snprintf(shm, sizeof shm, "/dev/shm/krait-fsutil-%d", (int)getpid());
        tu_check(krait_fs_publish(shm, a) == 0 && same_text(shm, "third") && inode(shm) != inode(a),
                 "publish across file systems copies");
        unlink(shm);
    } else {
        printf("  (no second file system: the copy fallback is not exercised)\n");
    }

    krait_status s;
    char *t = krait_fs_read_text(a, 100, &s);
    tu_check(t && s == 0 && strcmp(t, "third") == 0, "read_text");
    free(t);
    io_cap_reset(&cap);
    t = krait_fs_read_text(a, 3, &s);
    tu_check(!t && s == KRAIT_STATUS_BAD_INPUT && cap.errors == 1 && strstr(cap.last_error, "too large"),
             "read_text refuses a file over the limit");
    io_cap_reset(&cap);
    t = krait_fs_read_text(a, 5, &s); /* "third": exactly the limit */
    tu_check(t && s == 0 && strcmp(t, "third") == 0 && cap.errors == 0, "read_text takes a file of exactly the limit");
    free(t);
    t = krait_fs_read_text(a, 4, &s);
    tu_check(!t && s == KRAIT_STATUS_BAD_INPUT, "read_text refuses a file one byte over the limit");
    io_cap_reset(&cap);

    /* a new file's mode is 0666 less the umask, as open(2) gives it (mkstemp alone makes 0600) */
    static const mode_t masks[] = { 022, 077, 002 };
    for (int k = 0; k < 3; k++) {
        mode_t old_mask = umask(masks[k]);
        char m[720];
        snprintf(m, sizeof m, "%s/mode-%d", root, k);
        struct stat st;
        tu_check(krait_fs_write_atomic(m, "m", 1) == 0 && stat(m, &st) == 0 &&
                     (st.st_mode & 0777) == (0666 & ~masks[k]),
                 "umask %03o: mode %03o, want %03o", (unsigned)masks[k], (unsigned)(st.st_mode & 0777),
                 (unsigned)(0666 & ~masks[k]));
        umask(old_mask);
    }
    io_cap_reset(&cap);
    t = krait_fs_read_text(dir, 100, &s);
    tu_check(!t && s == KRAIT_STATUS_BAD_INPUT && cap.errors == 1, "read_text refuses a folder");
    io_cap_reset(&cap);

    /* remove_tree removes the link, not its target */
    char keep[700];
    snprintf(keep, sizeof keep, "%s/keep.txt", root);
    krait_fs_write_atomic(keep, "k", 1);
    char sub[700];
    snprintf(sub, sizeof sub, "%s/x/y/to-keep", root);
    tu_check(symlink(keep, sub) == 0, "symlink into the tree");
    char top[700];
    snprintf(top, sizeof top, "%s/x", root);
    char outside[700], outside_file[800], dirlink[700];
    snprintf(outside, sizeof outside, "%s/outside", root);
    snprintf(outside_file, sizeof outside_file, "%s/precious.txt", outside);
    snprintf(dirlink, sizeof dirlink, "%s/x/to-folder", root);
    krait_fs_mkdirs(outside);
    krait_fs_write_atomic(outside_file, "p", 1);
    tu_check(symlink(outside, dirlink) == 0, "symlink to a folder into the tree");
    tu_check(krait_fs_remove_tree(top) == 0 && !io_exists(top) && same_text(keep, "k") && same_text(outside_file, "p"),
             "remove_tree removes the tree, not a symlink's target (a file's or a folder's)");
    tu_check(krait_fs_remove_tree(top) == 0, "remove_tree of a missing path is fine");

    /* an output that is a pipe (or /dev/null) is written into, never renamed over: the pipe stays
     * a pipe and its reader gets the bytes; one that is a link writes the linked file, the link kept */
    char fifo[700], real[700], link2[700];
    snprintf(fifo, sizeof fifo, "%s/out.fifo", root);
    tu_check(mkfifo(fifo, 0600) == 0, "mkfifo");
    pid_t reader = fork();
    if (reader == 0) { /* the reader: the pipe's bytes into a file */
        char got[700];
        snprintf(got, sizeof got, "%s/fifo.got", root);
        FILE *p = fopen(fifo, "rb"), *g = fopen(got, "wb");
        char buf[64];
        size_t n;
        while (p && g && (n = fread(buf, 1, sizeof buf, p)) > 0) fwrite(buf, 1, n, g);
        if (p) fclose(p);
        if (g) fclose(g);
        _exit(0);
    }
    krait_status ws = krait_fs_write_atomic(fifo, "piped", 5);
    int wst, waited = 0; /* a writer that renames over the pipe never opens it: the reader waits on */
    while (waitpid(reader, &wst, WNOHANG) == 0 && waited++ < 50) usleep(100000);
    if (waited > 50) kill(reader, SIGKILL), waitpid(reader, &wst, 0);
    struct stat fs;
    char got[700];
    snprintf(got, sizeof got, "%s/fifo.got", root);
    tu_check(ws == 0 && lstat(fifo, &fs) == 0 && S_ISFIFO(fs.st_mode) && same_text(got, "piped") &&
                 io_count_names(root, ".tmp-") == 0,
             "write_atomic into a named pipe: the reader gets the bytes, the pipe stays a pipe");
    snprintf(real, sizeof real, "%s/real.txt", root);
    snprintf(link2, sizeof link2, "%s/link.txt", root);
    krait_fs_write_atomic(real, "old", 3);
    tu_check(symlink(real, link2) == 0 && krait_fs_write_atomic(link2, "new", 3) == 0 && lstat(link2, &fs) == 0 &&
                 S_ISLNK(fs.st_mode) && same_text(real, "new"),
             "write_atomic through a link to a file: the file replaced, the link kept");
    tu_check(cap.errors == 0, "no stray errors");
    tu_check(krait_fs_mkdirs("") == KRAIT_STATUS_BAD_INPUT && cap.errors == 1, "mkdirs of an empty name refused");
    io_cap_end();
    krait_fs_remove_tree(root);
    return tu_finish();
}
