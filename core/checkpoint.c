/* core/checkpoint.c — the checkpoint folder protocol (temporary folder, fsync, rename, the
 * `latest` pointer, the top-level model, pruning), finding the checkpoint to resume, and the
 * resume itself. The layout and the crash-safety invariant are in checkpoint.h; the state files
 * are written and read by checkpoint_state.c. */
#define _GNU_SOURCE /* renameat2 */
#include "checkpoint_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "model_io.h"

#define CKPT_DIR "checkpoints"
#define LATEST "latest"

/* "step-123" -> 123; -1 for any other name (no sign, no leading zero, no suffix). */
static int step_of_name(const char *name)
{
    if (strncmp(name, "step-", 5) != 0) return -1;
    const char *d = name + 5;
    if (!*d || (d[0] == '0' && d[1]) || strlen(d) > 9) return -1;
    int v = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9') return -1;
        v = v * 10 + (*d - '0');
    }
    return v;
}

/* 1 if name is a leftover of an interrupted save or removal (a step folder, or the temporary
 * of the `latest` pointer's atomic write). */
static int is_leftover(const char *name)
{
    if (strncmp(name, LATEST ".tmp-", strlen(LATEST) + 5) == 0) return 1;
    return strncmp(name, "step-", 5) == 0 && (strstr(name, ".tmp-") || strstr(name, ".old-"));
}

/* The step `latest` in ckdir names, or -1 when absent or malformed. */
static int read_latest(const char *ckdir)
{
    char *path = krait_fs_join(ckdir, LATEST);
    FILE *f = path ? fopen(path, "rb") : NULL;
    char line[64] = "";
    int step = -1;
    if (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        step = step_of_name(line);
    }
    if (f) fclose(f);
    free(path);
    return step;
}

/* "ckdir/step-N" (malloc'd). */
static char *step_dir(const char *ckdir, int step)
{
    char name[32];
    snprintf(name, sizeof name, "step-%d", step);
    return krait_fs_join(ckdir, name);
}

static int is_complete(const char *dir)
{
    char *p = krait_fs_join(dir, KRAIT_CKPT_STATE);
    int ok = p && krait_fs_is_file(p);
    free(p);
    return ok;
}

/* Rename dir out of the step-N namespace (to step-N.old-XXXXXX), then remove it. A crash in
 * between leaves a leftover that the next save removes; never a half-removed step-N. */
static krait_status retire(const char *dir)
{
    size_t k = strlen(dir);
    char *old = malloc(k + 12);
    if (!old) return KRAIT_STATUS_NO_MEMORY;
    memcpy(old, dir, k);
    memcpy(old + k, ".old-XXXXXX", 12);
    krait_status s = KRAIT_STATUS_OK;
    if (!mkdtemp(old) || rename(dir, old) != 0) {
        KRAIT_ERROR("%s: cannot move the old checkpoint aside: %s", dir, strerror(errno));
        rmdir(old);
        s = KRAIT_STATUS_IO;
    } else {
        s = krait_fs_remove_tree(old);
    }
    free(old);
    return s;
}

/* Remove leftovers of interrupted saves; keep the keep_last newest step-K with K <= step. */
static krait_status prune(const char *ckdir, int step, int keep_last, int leftovers_only)
{
    DIR *d = opendir(ckdir);
    if (!d) {
        KRAIT_ERROR("%s: cannot list the folder: %s", ckdir, strerror(errno));
        return KRAIT_STATUS_IO;
    }
    int *steps = NULL, n = 0, cap = 0;
    krait_status s = KRAIT_STATUS_OK;
    struct dirent *e;
    while (!s && (e = readdir(d)) != NULL) {
        if (is_leftover(e->d_name)) {
            char *p = krait_fs_join(ckdir, e->d_name);
            s = p ? krait_fs_remove_tree(p) : KRAIT_STATUS_NO_MEMORY;
            free(p);
            continue;
        }
        int k = step_of_name(e->d_name);
        if (leftovers_only || k < 0 || k > step) continue;
        if (n == cap) {
            int *ns = realloc(steps, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *ns);
            if (!ns) {
                s = KRAIT_STATUS_NO_MEMORY;
                break;
            }
            steps = ns;
        }
        steps[n++] = k;
    }
    closedir(d);
    /* keep the keep_last largest: remove every step with at least keep_last larger ones */
    for (int i = 0; !s && keep_last > 0 && i < n; i++) {
        int larger = 0;
        for (int j = 0; j < n; j++) larger += steps[j] > steps[i];
        if (larger < keep_last) continue;
        char *p = step_dir(ckdir, steps[i]);
        s = p ? retire(p) : KRAIT_STATUS_NO_MEMORY;
        free(p);
    }
    free(steps);
    return s;
}

/* Point the run folder's top level at checkpoint folder `final`: model.safetensors, then
 * config.json, each replaced atomically. */
static krait_status publish_top(const char *out_dir, const char *final)
{
    static const char *files[] = { "model.safetensors", "config.json" };
    krait_status s = KRAIT_STATUS_OK;
    for (size_t i = 0; !s && i < sizeof files / sizeof files[0]; i++) {
        char *dst = krait_fs_join(out_dir, files[i]), *src = krait_fs_join(final, files[i]);
        s = dst && src ? krait_fs_publish(dst, src) : KRAIT_STATUS_NO_MEMORY;
        free(dst);
        free(src);
    }
    return s;
}

/* The temporaries a killed publish or atomic write left at a run folder's top level
 * (NAME.tmp-XXXXXX, krait_fs_write_atomic's and publish's names: model.safetensors.tmp-...,
 * curves.svg.tmp-...): removed on resume (the run folder is locked by the run resuming). */
static void tidy_top(const char *run)
{
    DIR *d = opendir(run);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        const size_t k = strlen(e->d_name);
        if (k <= 11 || strncmp(e->d_name + k - 11, ".tmp-", 5)) continue;
        char *p = krait_fs_join(run, e->d_name);
        if (p && krait_fs_is_file(p)) unlink(p);
        free(p);
    }
    if (d) closedir(d);
}

/* out_dir/name -> dir/name for each companion out_dir has. */
static krait_status copy_companions(const char *out_dir, const char *dir, const char *const *companions)
{
    krait_status s = KRAIT_STATUS_OK;
    for (int i = 0; !s && companions && companions[i]; i++) {
        char *src = krait_fs_join(out_dir, companions[i]), *dst = krait_fs_join(dir, companions[i]);
        if (!src || !dst) s = KRAIT_STATUS_NO_MEMORY;
        else if (krait_fs_is_file(src)) s = krait_fs_publish(dst, src);
        free(src);
        free(dst);
    }
    return s;
}

krait_status krait_checkpoint_save(const krait_trainer *t, const krait_data_source *ds,
                                   const char *app_state, const char *out_dir, int keep_last,
                                   const char *const *companions)
{
    const int step = t->opt->step;
    char *ckdir = krait_fs_join(out_dir, CKPT_DIR), *final = NULL, *tmp = NULL, *latest = NULL;
    krait_status s = KRAIT_STATUS_NO_MEMORY;
    if (!ckdir || !(final = step_dir(ckdir, step)) || !(latest = krait_fs_join(ckdir, LATEST))) goto fail;
    if ((s = krait_fs_mkdirs(ckdir))) goto fail;
    if ((s = prune(ckdir, step, 0, 1))) goto fail;

    /* (2) the whole checkpoint under a temporary name */
    s = KRAIT_STATUS_NO_MEMORY;
    size_t k = strlen(final);
    if (!(tmp = malloc(k + 12))) goto fail;
    memcpy(tmp, final, k);
    memcpy(tmp + k, ".tmp-XXXXXX", 12);
    if (!mkdtemp(tmp)) {
        KRAIT_ERROR("%s: cannot create a temporary checkpoint folder: %s", ckdir, strerror(errno));
        free(tmp);
        tmp = NULL;
        s = KRAIT_STATUS_IO;
        goto fail;
    }
    if (chmod(tmp, krait_fs_dir_mode()) != 0) { /* mkdtemp's 0700; readable as any folder */
        KRAIT_ERROR("%s: cannot set the mode of the new checkpoint folder: %s", tmp, strerror(errno));
        s = KRAIT_STATUS_IO;
        goto fail;
    }
    if ((s = krait_model_save(t->model, tmp, KRAIT_DTYPE_F32)) || (s = copy_companions(out_dir, tmp, companions)) ||
        (s = krait_ckpt_write_state(t, ds, app_state, tmp)) || (s = krait_fs_sync_dir(tmp)))
        goto fail;
    /* (3) into place. A folder of the same step (left by a run resumed from an older checkpoint,
     * perhaps the one `latest` names) is swapped with the new one in one atomic exchange and
     * then removed under the temporary name; where the file system cannot exchange, it is
     * moved aside first (a crash in between loses that step, which was being replaced) */
    if (krait_fs_is_dir(final)) {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) == 0) {
            s = krait_fs_remove_tree(tmp); /* the old one, under the temporary name */
            free(tmp);
            tmp = NULL;
            if (s) goto fail;
        } else if ((s = retire(final))) {
            goto fail;
        }
    }
    if (tmp && rename(tmp, final) != 0) {
        KRAIT_ERROR("%s: cannot rename the new checkpoint into place: %s", final, strerror(errno));
        s = KRAIT_STATUS_IO;
        goto fail;
    }
    free(tmp);
    tmp = NULL;
    if ((s = krait_fs_sync_dir(ckdir))) goto fail;
    /* (4) the pointer, (5) the top-level model, (6) older checkpoints */
    char line[32];
    int n = snprintf(line, sizeof line, "step-%d\n", step);
    if ((s = krait_fs_write_atomic(latest, line, (size_t)n))) goto fail;
    if ((s = publish_top(out_dir, final))) goto fail;
    s = prune(ckdir, step, keep_last, 0);
fail:
    if (tmp) krait_fs_remove_tree(tmp);
    free(tmp);
    free(latest);
    free(final);
    free(ckdir);
    return s;
}

int krait_checkpoint_latest_step(const char *out_dir)
{
    char *ckdir = krait_fs_join(out_dir, CKPT_DIR);
    int step = ckdir ? read_latest(ckdir) : -1;
    free(ckdir);
    return step < 0 ? 0 : step;
}

static int highest_complete(const char *ckdir);

krait_status krait_checkpoint_restore_top(const char *out_dir, int step)
{
    char *ckdir = krait_fs_join(out_dir, CKPT_DIR), *best = krait_fs_join(out_dir, "best");
    char *dir = ckdir ? step_dir(ckdir, step) : NULL;
    krait_status s = KRAIT_STATUS_OK;
    if (!ckdir || !best || !dir) {
        s = KRAIT_STATUS_NO_MEMORY;
    } else {
        /* what a crash left beside the checkpoints (step-N.tmp-*, step-N.old-*) goes now, not at
         * the next save: a run resumed at its last step may save nothing more */
        if (prune(ckdir, 0, 0, 1)) /* the resume itself is complete: a leftover that stays is no failure */
            KRAIT_WARN("%s: could not remove what an interrupted save left there (see above)", ckdir);
        if (read_latest(ckdir) == step && !krait_fs_is_dir(best) && is_complete(dir)) {
            tidy_top(out_dir);
            s = publish_top(out_dir, dir);
        }
    }
    free(dir), free(best), free(ckdir);
    return s;
}

int krait_checkpoint_any(const char *out_dir)
{
    char *ckdir = krait_fs_join(out_dir, CKPT_DIR);
    int any = ckdir && highest_complete(ckdir) >= 0;
    free(ckdir);
    return any;
}

/* The highest step-N in ckdir that is complete, or -1. */
static int highest_complete(const char *ckdir)
{
    DIR *d = opendir(ckdir);
    int best = -1;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int k = step_of_name(e->d_name);
        if (k <= best) continue;
        char *p = krait_fs_join(ckdir, e->d_name);
        if (p && is_complete(p)) best = k;
        free(p);
    }
    if (d) closedir(d);
    return best;
}

char *krait_checkpoint_find(const char *dir, krait_status *status)
{
    char *ckdir = NULL, *found = NULL;
    krait_status s = KRAIT_STATUS_BAD_INPUT;
    if (!krait_fs_is_dir(dir)) {
        KRAIT_ERROR("%s: no such checkpoint or run folder", dir);
        goto done;
    }
    if (is_complete(dir)) {
        found = strdup(dir);
        s = found ? KRAIT_STATUS_OK : KRAIT_STATUS_NO_MEMORY;
        goto done;
    }
    if (!(ckdir = krait_fs_join(dir, CKPT_DIR))) {
        s = KRAIT_STATUS_NO_MEMORY;
        goto done;
    }
    int step = read_latest(ckdir);
    if (step >= 0 && (found = step_dir(ckdir, step)) && is_complete(found)) {
        s = KRAIT_STATUS_OK;
        goto done;
    }
    free(found);
    found = NULL;
    int best = highest_complete(ckdir);
    if (best < 0) {
        KRAIT_ERROR("%s: not a checkpoint (no %s) and no complete checkpoint in %s/%s/", dir,
                    KRAIT_CKPT_STATE, dir, CKPT_DIR);
        goto done;
    }
    KRAIT_WARN("%s/%s/%s %s; resuming from the newest complete checkpoint, step-%d", dir, CKPT_DIR,
               LATEST, step >= 0 ? "names a checkpoint that is gone" : "is missing or unreadable", best);
    found = step_dir(ckdir, best);
    s = found ? KRAIT_STATUS_OK : KRAIT_STATUS_NO_MEMORY;
done:
    free(ckdir);
    if (status) *status = s;
    return found;
}

krait_status krait_checkpoint_resume(krait_trainer *t, krait_data_source *ds, char **app_state,
                                     const char *dir)
{
    if (app_state) *app_state = NULL;
    krait_status s;
    char *ck = krait_checkpoint_find(dir, &s);
    if (!ck) return s;
    krait_ckpt_state st = { 0 };
    if ((s = krait_ckpt_read_state(&st, t, ck))) goto fail;
    /* the data position first: a source that cannot take it, or refuses it (other data), leaves
     * the trainer untouched */
    if (st.data_position && !(ds && ds->load_state)) {
        KRAIT_ERROR("%s/%s: the checkpoint has a data position but this data source cannot take one",
                    ck, KRAIT_CKPT_STATE);
        s = KRAIT_STATUS_BAD_INPUT;
        goto fail;
    }
    if (!st.data_position && ds && ds->load_state) {
        KRAIT_ERROR("%s/%s: the checkpoint has no data position for this data source", ck, KRAIT_CKPT_STATE);
        s = KRAIT_STATUS_BAD_INPUT;
        goto fail;
    }
    if (st.data_position && (s = ds->load_state(ds->ctx, st.data_position))) goto fail;
    if ((s = krait_model_load_weights(t->model, ck))) goto fail;
    if ((s = krait_ckpt_read_moments(t, ck, st.step))) goto fail;
    t->opt->step = st.step;
    t->tokens = st.tokens;
    t->skipped = st.skipped;
    t->skipped_in_row = st.skipped_in_row;
    t->elapsed_s = st.elapsed_s;
    t->last_loss = st.last_loss;
    t->data_rng = st.data_rng;
    t->eval_rng = st.eval_rng;
    if (app_state) {
        *app_state = st.app;
        st.app = NULL;
    }
fail:
    krait_ckpt_state_free(&st);
    free(ck);
    return s;
}
