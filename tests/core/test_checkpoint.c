/* tests/core/test_checkpoint.c — training checkpoints. Resume == uninterrupted: N steps, a stop
 * with a checkpoint, a resume into a model initialised differently, N more steps give the
 * same losses bit for bit as 2N steps straight, dropout on (and the same weights, eval RNG
 * draws and data position, through a data source that keeps its own cursor). Keep-last-K
 * pruning and the top-level model. Crash safety: a child process saving checkpoints in a loop is killed at
 * random moments, and after every kill the run folder must still hold a complete, loadable
 * latest checkpoint; a leftover temporary folder and a dangling `latest` are ignored. Bad
 * resumes (another config, another learning rate or dropout, a corrupt state file, a moment
 * stored in 16 bits) fail with one line; a `latest` naming "step-01" is not step-1. */
#include "checkpoint.h"

#include "fsutil.h"
#include "io_util.h"
#include "model_io.h"
#include "safetensors.h"
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { V = 16, N = 6 };
static io_cap cap;
static krait_backend *be;

/* A data source with a position of its own: the rule shifts with a batch counter. */
typedef struct cursor_src {
    long cursor;
} cursor_src;

static krait_status cursor_batch(void *ctx, int32_t *ids, int32_t *tg, int B, int L, krait_rng *rng)
{
    cursor_src *c = ctx;
    for (int b = 0; b < B; b++) {
        int32_t v = (int32_t)krait_rng_below(rng, V);
        for (int t = 0; t < L; t++) {
            ids[b * L + t] = v;
            v = (int32_t)((3 * v + 1 + c->cursor) % V);
            tg[b * L + t] = v;
        }
    }
    c->cursor++;
    return KRAIT_STATUS_OK;
}

static char *cursor_save(void *ctx)
{
    char *s = malloc(48);
    if (s) snprintf(s, 48, "{\"cursor\": %ld}", ((cursor_src *)ctx)->cursor);
    return s;
}

static krait_status cursor_load(void *ctx, const char *json)
{
    return sscanf(json, "{\"cursor\":%ld}", &((cursor_src *)ctx)->cursor) == 1 ? KRAIT_STATUS_OK
                                                                             : KRAIT_STATUS_BAD_INPUT;
}

typedef struct run {
    krait_model *m;
    krait_trainer *t;
    cursor_src src;
    krait_data_source ds;
    double loss[2 * N];
    uint64_t evals[2 * N];
    int stop_at;
    const char *out;
    int keep;
} run;

static void run_init(run *r, int d_model, float lr, uint64_t init_seed)
{
    memset(r, 0, sizeof *r);
    krait_config c;
    krait_config_default(&c);
    c.d_model = d_model;
    c.n_layer = 2;
    c.vocab_size_raw = V;
    krait_config_finalize(&c, "test");
    krait_train_config tc;
    krait_train_default(&tc);
    tc.batch = 3;
    tc.seq_len = 20;
    tc.steps = 2 * N;
    tc.lr = lr;
    tc.warmup = 2;
    tc.seed = 42;
    tc.eval_every = 1;
    tc.embed_dropout = 0.1f; /* the masks must come back with the step on resume */
    tc.resid_dropout = 0.2f;
    r->m = krait_model_init(&c, be);
    krait_rng rng;
    krait_rng_init(&rng, init_seed);
    krait_model_init_weights(r->m, &rng);
    r->t = krait_trainer_init(r->m, &tc);
    r->ds = (krait_data_source){ .ctx = &r->src, .next_batch = cursor_batch, .save_state = cursor_save,
                                 .load_state = cursor_load };
}

static void run_free(run *r)
{
    krait_trainer_free(r->t);
    krait_model_free(r->m);
}

static void on_step(void *user, const krait_step_info *i)
{
    run *r = user;
    r->loss[i->step - 1] = i->loss;
}

static krait_status on_eval(void *user, krait_trainer *t)
{
    run *r = user;
    r->evals[t->opt->step - 1] = krait_rng_u64(&t->eval_rng);
    return KRAIT_STATUS_OK;
}

static krait_status on_ckpt(void *user, krait_trainer *t)
{
    run *r = user;
    return r->out ? krait_checkpoint_save(t, &r->ds, "{\"hits\": 3}", r->out, r->keep, NULL) : KRAIT_STATUS_OK;
}

static int stop_req(void *user)
{
    run *r = user;
    return r->stop_at > 0 && r->t->opt->step >= r->stop_at;
}

static krait_status train(run *r)
{
    krait_train_hooks h = { .user = r, .on_step = on_step, .on_eval = on_eval, .on_checkpoint = on_ckpt,
                            .stop_requested = stop_req };
    return krait_trainer_run(r->t, &r->ds, &h);
}

static int same_arena(const float *a, const float *b, size_t n)
{
    float *ha = malloc(n * 4), *hb = malloc(n * 4);
    be->download(be, ha, a, n * 4);
    be->download(be, hb, b, n * 4);
    int same = memcmp(ha, hb, n * 4) == 0;
    free(ha);
    free(hb);
    return same;
}

static void test_resume(const char *root)
{
    run a, b;
    run_init(&a, 16, 1e-2f, 7);
    tu_check(train(&a) == KRAIT_STATUS_OK && a.t->opt->step == 2 * N, "straight run: %d steps", 2 * N);

    char out[600];
    snprintf(out, sizeof out, "%s/resume", root);
    run_init(&b, 16, 1e-2f, 7);
    b.out = out;
    b.stop_at = N;
    tu_check(train(&b) == KRAIT_STATUS_INTERRUPTED && b.t->opt->step == N, "first half stops at %d", N);
    double first[N];
    memcpy(first, b.loss, sizeof first);
    const double elapsed_at_stop = b.t->elapsed_s;
    run_free(&b);

    run_init(&b, 16, 1e-2f, 999); /* other initial weights: the checkpoint must replace them */
    char *app = NULL;
    tu_check(krait_checkpoint_resume(b.t, &b.ds, &app, out) == KRAIT_STATUS_OK && b.t->opt->step == N &&
                 b.src.cursor == N, "resume at step %d with the data cursor", N);
    tu_check(app && !strcmp(app, "{\"hits\":3}"), "app state comes back (%s)", app ? app : "null");
    free(app);
    tu_check(b.t->tokens == a.t->tokens / 2, "tokens restored");
    tu_check(b.t->last_loss == first[N - 1], "last loss restored (%.17g, step %d's %.17g)", b.t->last_loss, N,
             first[N - 1]);
    tu_check(b.t->elapsed_s == elapsed_at_stop, "training time restored exactly (%.17g, saved %.17g): the minutes "
             "budget and the ETA go on from it", b.t->elapsed_s, elapsed_at_stop);
    tu_check(train(&b) == KRAIT_STATUS_OK && b.t->opt->step == 2 * N, "second half runs to %d", 2 * N);
    memcpy(b.loss, first, sizeof first);
    int same = memcmp(a.loss, b.loss, sizeof a.loss) == 0;
    for (int i = 0; i < 2 * N; i++)
        if (a.loss[i] != b.loss[i]) printf("  step %d: %.17g vs %.17g\n", i + 1, a.loss[i], b.loss[i]);
    tu_check(same, "losses bitwise identical at every step (last %.6f)", a.loss[2 * N - 1]);
    tu_check(memcmp(a.evals + N, b.evals + N, N * sizeof *a.evals) == 0, "eval RNG draws identical");
    tu_check(same_arena(a.m->params, b.m->params, a.m->n_params) &&
                 same_arena(a.t->opt->m, b.t->opt->m, a.m->n_params) &&
                 same_arena(a.t->opt->v, b.t->opt->v, a.m->n_params),
             "final weights and moments bitwise identical");
    tu_check(fabs(b.t->elapsed_s) > 0 && b.src.cursor == 2 * N, "elapsed carried, cursor %ld", b.src.cursor);
    run_free(&b);

    /* bad resumes: another lr, another width, a source without a position, corrupt state */
    run_init(&b, 16, 2e-2f, 7);
    io_cap_reset(&cap);
    krait_status s = krait_checkpoint_resume(b.t, &b.ds, NULL, out);
    tu_check(s == KRAIT_STATUS_BAD_INPUT && cap.errors == 1 && strstr(cap.last_error, "trainer_state.json") &&
                 strstr(cap.last_error, "train.lr") && b.t->opt->step == 0,
             "another lr refused: %s", cap.last_error);
    io_cap_reset(&cap);
    b.t->tc.lr = 1e-2f;
    b.t->tc.resid_dropout = 0.3f;
    s = krait_checkpoint_resume(b.t, &b.ds, NULL, out);
    tu_check(s == KRAIT_STATUS_BAD_INPUT && cap.errors == 1 && strstr(cap.last_error, "train.resid_dropout"),
             "another dropout refused: %s", cap.last_error);
    b.t->tc.resid_dropout = 0.2f;
    io_cap_reset(&cap);
    b.ds.load_state = NULL;
    s = krait_checkpoint_resume(b.t, &b.ds, NULL, out);
    tu_check(s == KRAIT_STATUS_BAD_INPUT && cap.errors == 1 && strstr(cap.last_error, "data position"),
             "a source that cannot take the position refused: %s", cap.last_error);
    run_free(&b);
    run_init(&b, 24, 1e-2f, 7);
    io_cap_reset(&cap);
    s = krait_checkpoint_resume(b.t, &b.ds, NULL, out);
    tu_check(s == KRAIT_STATUS_BAD_INPUT && cap.errors == 1 && strstr(cap.last_error, "config.json") &&
                 strstr(cap.last_error, "hidden_size"), "another width refused: %s", cap.last_error);
    run_free(&b);
    run_init(&b, 16, 1e-2f, 7);
    b.t->tc.steps = 3 * N;
    io_cap_reset(&cap);
    s = krait_checkpoint_resume(b.t, &b.ds, NULL, out);
    tu_check(s == KRAIT_STATUS_OK && cap.errors == 0 && cap.warnings == 1, "a longer run resumes with a warning");
    run_free(&b);
    io_cap_reset(&cap);
    run_free(&a);
}

/* Every step-N folder in out/checkpoints is complete, and latest names one of them. */
static int folder_consistent(const char *out, int *latest_step)
{
    char ck[700];
    snprintf(ck, sizeof ck, "%s/checkpoints", out);
    DIR *d = opendir(ck);
    int ok = d != NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int k;
        char tail;
        if (sscanf(e->d_name, "step-%d%c", &k, &tail) != 1) continue;
        char sd[1000];
        struct stat st;
        snprintf(sd, sizeof sd, "%s/%s", ck, e->d_name);
        if (stat(sd, &st) != 0 || (st.st_mode & 07777) != krait_fs_dir_mode()) { /* not mkdtemp's 0700 */
            printf("  mode %o, not %o: %s\n", (unsigned)(st.st_mode & 07777), (unsigned)krait_fs_dir_mode(), sd);
            ok = 0;
        }
        const char *need[] = { "config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json" };
        for (int i = 0; i < 4; i++) {
            char p[1000];
            snprintf(p, sizeof p, "%s/%s/%s", ck, e->d_name, need[i]);
            if (!krait_fs_is_file(p)) {
                printf("  incomplete: %s\n", p);
                ok = 0;
            }
        }
    }
    if (d) closedir(d);
    *latest_step = krait_checkpoint_latest_step(out);
    return ok;
}

/* A run resumed from an older checkpoint (step-4 of 4..6) and saving step 5 with keep 1 prunes
 * only what is older than the step it saves: its own step-5 stays (and is the latest); the newer
 * step-6 of the first run is left alone. */
static void test_resume_older(const char *root)
{
    char out[600], ck[700], from[800];
    snprintf(out, sizeof out, "%s/older", root);
    snprintf(ck, sizeof ck, "%s/checkpoints", out);
    snprintf(from, sizeof from, "%s/step-4", ck);
    run r;
    run_init(&r, 16, 1e-2f, 7);
    r.out = out, r.keep = 3, r.t->tc.ckpt_every = 1, r.stop_at = 6;
    tu_check(train(&r) == KRAIT_STATUS_INTERRUPTED, "older: 6 steps");
    run_free(&r);
    run q;
    run_init(&q, 16, 1e-2f, 7);
    q.out = out, q.keep = 1, q.t->tc.ckpt_every = 1, q.stop_at = 5;
    int latest = -1;
    tu_check(krait_checkpoint_resume(q.t, &q.ds, NULL, from) == KRAIT_STATUS_OK && q.t->opt->step == 4 &&
                 train(&q) == KRAIT_STATUS_INTERRUPTED && folder_consistent(out, &latest) && latest == 5 &&
                 io_exists(io_path(ck, "step-5")) && io_exists(io_path(ck, "step-6")) &&
                 !io_exists(io_path(ck, "step-4")),
             "resumed from step-4, saved step 5 with keep 1: step-5 (latest) and the newer step-6 stay, step-4 goes "
             "(latest %d)", latest);
    run_free(&q);

    /* resumed from step-2 of 2, 4 (latest) on another path (weights nudged): the save at step 4
     * replaces the old run's step-4, though `latest` named it already */
    char out2[600], ck2[700], from2[800];
    snprintf(out2, sizeof out2, "%s/older2", root);
    snprintf(ck2, sizeof ck2, "%s/checkpoints", out2);
    snprintf(from2, sizeof from2, "%s/step-2", ck2);
    run_init(&r, 16, 1e-2f, 7);
    r.out = out2, r.keep = 0, r.t->tc.ckpt_every = 2, r.stop_at = 4;
    tu_check(train(&r) == KRAIT_STATUS_INTERRUPTED && folder_consistent(out2, &latest) && latest == 4,
             "older: 4 steps, checkpoints at 2 and 4");
    run_init(&q, 16, 1e-2f, 7);
    q.out = out2, q.keep = 0, q.t->tc.ckpt_every = 2, q.stop_at = 4;
    tu_check(krait_checkpoint_resume(q.t, &q.ds, NULL, from2) == KRAIT_STATUS_OK, "older: resumed from step-2");
    q.m->params[0] += 0.01f; /* another path from here on (a CPU backend: host memory) */
    krait_model_sync_act(q.m);
    krait_status s;
    char step4[800];
    snprintf(step4, sizeof step4, "%s/step-4", ck2);
    tu_check(train(&q) == KRAIT_STATUS_INTERRUPTED && folder_consistent(out2, &latest) && latest == 4 &&
                 io_count_names(ck2, "step-4") == 1, "older: saved step 4 again");
    krait_model *ck4 = krait_model_load(step4, be, &s), *top = krait_model_load(out2, be, &s);
    tu_check(ck4 && top && same_arena(ck4->params, q.m->params, q.m->n_params) &&
                 same_arena(top->params, q.m->params, q.m->n_params) &&
                 !same_arena(ck4->params, r.m->params, r.m->n_params),
             "older: step-4 and the top-level model are the new path's, not the old run's");
    krait_model_free(ck4);
    krait_model_free(top);
    run_free(&q);
    run_free(&r);
}

static void test_keep_and_leftovers(const char *root)
{
    char out[600];
    snprintf(out, sizeof out, "%s/keep", root);
    run r;
    run_init(&r, 16, 1e-2f, 7);
    r.out = out;
    r.keep = 3;
    r.t->tc.ckpt_every = 1;
    r.stop_at = 6;
    tu_check(train(&r) == KRAIT_STATUS_INTERRUPTED, "6 steps with a checkpoint each");
    int latest;
    char ck[700];
    snprintf(ck, sizeof ck, "%s/checkpoints", out);
    tu_check(folder_consistent(out, &latest) && latest == 6 && io_count_names(ck, "step-") == 3 &&
                 io_exists(io_path(ck, "step-4")) && io_exists(io_path(ck, "step-6")) &&
                 !io_exists(io_path(ck, "step-3")), "keep 3: step-4..6 left, latest step-6");
    krait_status s;
    krait_model *top = krait_model_load(out, be, &s);
    tu_check(top && same_arena(top->params, r.m->params, r.m->n_params), "the top-level model is the latest");
    krait_model_free(top);

    /* an interrupted save left a temporary folder; latest points past what exists */
    char tmp[800];
    snprintf(tmp, sizeof tmp, "%s/step-7.tmp-abcdef", ck);
    krait_fs_mkdirs(tmp);
    io_write(io_path(tmp, "trainer_state.json"), "{", 1);
    char *found = krait_checkpoint_find(out, &s);
    tu_check(found && strstr(found, "step-6") && !strstr(found, ".tmp-"), "a temporary folder is never resumed");
    free(found);
    io_write(io_path(ck, "latest"), "step-99\n", 8);
    char empty[800];
    snprintf(empty, sizeof empty, "%s/step-9", ck);
    krait_fs_mkdirs(empty);
    io_cap_reset(&cap);
    found = krait_checkpoint_find(out, &s);
    tu_check(found && strstr(found, "step-6") && cap.warnings == 1,
             "a dangling latest falls back to step-6, the highest complete one (an empty step-9 is passed over)");
    free(found);
    krait_fs_remove_tree(empty);
    io_write(io_path(ck, "latest"), "step-6\n", 7);
    tu_check(krait_checkpoint_save(r.t, &r.ds, NULL, out, 3, NULL) == 0 && io_count_names(ck, "step-6") == 1,
             "saving the latest step again replaces it: one step-6");
    r.stop_at = 7;
    tu_check(train(&r) == KRAIT_STATUS_INTERRUPTED && !io_exists(tmp) && folder_consistent(out, &latest) &&
                 latest == 7, "the next save removes the leftover");
    snprintf(tmp, sizeof tmp, "%s/step-8.tmp-ghijkl", ck);
    krait_fs_mkdirs(tmp);
    char tmp_latest[800];
    snprintf(tmp_latest, sizeof tmp_latest, "%s/latest.tmp-mnopqr", ck);
    io_write(tmp_latest, "step-", 5);
    {
        run q;
        run_init(&q, 16, 1e-2f, 7);
        tu_check(krait_checkpoint_resume(q.t, &q.ds, NULL, out) == KRAIT_STATUS_OK && io_exists(tmp),
                 "a resume alone leaves the folder as it is (it may be another process's, or refused after)");
        tu_check(krait_checkpoint_restore_top(out, q.t->opt->step) == KRAIT_STATUS_OK && !io_exists(tmp) &&
                     !io_exists(tmp_latest) && io_exists(io_path(ck, "latest")),
                 "restore_top after the resume removes leftovers at once (a step folder's and latest's "
                 "temporaries; a run resumed at its end saves nothing more)");
        run_free(&q);
    }
    /* a corrupt state file and a wrong optimizer step are refused */
    snprintf(tmp, sizeof tmp, "%s/step-7", ck);
    size_t n;
    char *text = (char *)io_read(io_path(tmp, "trainer_state.json"), &n);
    char *bad = malloc(n + 1);
    memcpy(bad, text, n);
    bad[n] = 0;
    char *h = strstr(bad, "\"data\":");     /* rng.data: ["<16 hex digits>", ...] */
    char *hex = h ? strchr(h + 7, '"') : NULL;
    tu_check(hex != NULL, "found rng.data in the state file");
    if (hex) hex[3] = 'g';
    io_write(io_path(tmp, "trainer_state.json"), bad, n);
    run q;
    run_init(&q, 16, 1e-2f, 7);
    io_cap_reset(&cap);
    s = krait_checkpoint_resume(q.t, &q.ds, NULL, tmp);
    tu_check(s == KRAIT_STATUS_BAD_INPUT && cap.errors == 1 && strstr(cap.last_error, "rng.data"),
             "a bad RNG string refused: %s", cap.last_error);
    /* a state written before dropout existed (no key) reads as dropout 0: refused for a run with
     * dropout, taken by a run without */
    memcpy(bad, text, n);
    char *ed = strstr(bad, "\"embed_dropout\"");
    tu_check(ed != NULL, "found train.embed_dropout in the state file");
    if (ed) ed[1] = 'x';
    io_write(io_path(tmp, "trainer_state.json"), bad, n);
    io_cap_reset(&cap);
    s = krait_checkpoint_resume(q.t, &q.ds, NULL, tmp);
    tu_check(s == KRAIT_STATUS_BAD_INPUT && cap.errors == 1 && strstr(cap.last_error, "train.embed_dropout"),
             "a state without embed_dropout is dropout 0, refused here: %s", cap.last_error);
    q.t->tc.embed_dropout = 0.0f;
    io_cap_reset(&cap);
    s = krait_checkpoint_resume(q.t, &q.ds, NULL, tmp);
    tu_check(s == KRAIT_STATUS_OK && cap.errors == 0, "and taken by a run without it (%s)", cap.last_error);
    run_free(&q);
    run_init(&q, 16, 1e-2f, 7);
    char *st = strstr(text, "\"step\":");
    if (st) memcpy(st, "\"step\":\t5", 9);
    io_write(io_path(tmp, "trainer_state.json"), text, n);
    io_cap_reset(&cap);
    s = krait_checkpoint_resume(q.t, &q.ds, NULL, tmp);
    tu_check(s == KRAIT_STATUS_BAD_INPUT && cap.errors == 1 && strstr(cap.last_error, "krait_step"),
             "optimizer step disagreeing with the state refused: %s", cap.last_error);
    io_cap_reset(&cap);
    free(bad);
    free(text);
    run_free(&q);
    run_free(&r);
}

/* 1 if path ends with "/" + name. */
static int names_folder(const char *path, const char *name)
{
    size_t a = path ? strlen(path) : 0, b = strlen(name);
    return a > b && path[a - b - 1] == '/' && strcmp(path + a - b, name) == 0;
}

/* `latest` is read by the rule the save writes it with: "step-0" is step 0, but "step-01" is no
 * step at all (not step 1): the resume falls back, with a warning, to the highest complete
 * folder, and krait_checkpoint_latest_step reads 0. */
static void test_latest_names(const char *root)
{
    char out[600], ck[700];
    snprintf(out, sizeof out, "%s/names", root);
    snprintf(ck, sizeof ck, "%s/checkpoints", out);
    run r;
    run_init(&r, 16, 1e-2f, 7);
    krait_status s;
    io_cap_reset(&cap);
    tu_check(krait_checkpoint_save(r.t, &r.ds, NULL, out, 0, NULL) == KRAIT_STATUS_OK, "names: saved step 0");
    char *found = krait_checkpoint_find(out, &s);
    tu_check(names_folder(found, "step-0") && cap.warnings == 0 && cap.errors == 0,
             "latest \"step-0\" names step-0 (found %s, %d warnings, %d errors)", found ? found : "nothing",
             cap.warnings, cap.errors);
    free(found);
    for (int k = 1; k <= 2; k++) {
        r.t->opt->step = k;
        tu_check(krait_checkpoint_save(r.t, &r.ds, NULL, out, 0, NULL) == KRAIT_STATUS_OK, "names: saved step %d", k);
    }
    io_write(io_path(ck, "latest"), "step-01\n", 8);
    io_cap_reset(&cap);
    found = krait_checkpoint_find(out, &s);
    tu_check(names_folder(found, "step-2") && cap.warnings == 1 && cap.errors == 0,
             "latest \"step-01\" is not step-1: the newest complete step-2 is resumed, with a warning (found %s, "
             "%d warnings)", found ? found : "nothing", cap.warnings);
    free(found);
    tu_check(krait_checkpoint_latest_step(out) == 0, "latest \"step-01\" reads as no step (%d)",
             krait_checkpoint_latest_step(out));
    io_cap_reset(&cap);
    run_free(&r);
}

/* Overwrite the four hex words of the first "data" array in a state file's text with c. */
static int set_rng_words(char *text, char c)
{
    char *at = strstr(text, "\"data\":");
    for (int w = 0; at && w < 4; w++) {
        char *q = strchr(at + (w ? 1 : 7), '"');
        if (!q || strlen(q) < 18 || q[17] != '"') return 0;
        memset(q + 1, c, 16);
        at = q + 17;
    }
    return at != NULL;
}

/* A fresh run (its grad_clip times clip_scale) resuming dir is refused with one line holding
 * frag, and stays at step 0. */
static void expect_refused(const char *dir, float clip_scale, const char *frag, const char *what)
{
    run q;
    run_init(&q, 16, 1e-2f, 7);
    q.t->tc.grad_clip *= clip_scale;
    io_cap_reset(&cap);
    tu_check(krait_checkpoint_resume(q.t, &q.ds, NULL, dir) == KRAIT_STATUS_BAD_INPUT &&
                 io_cap_one_error(&cap, what, frag) && q.t->opt->step == 0,
             "%s refused", what);
    run_free(&q);
}

/* Rewrite dir's optimizer.safetensors with tensor `name` stored as dtype (its values converted),
 * everything else as it was. Returns 1 if written. */
static int moment_as(const char *dir, const char *name, krait_st_dtype dtype)
{
    krait_status s;
    char path[900], tmp[900];
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    snprintf(tmp, sizeof tmp, "%s/optimizer.rewrite", dir);
    krait_st_file *f = krait_st_open(path, &s);
    krait_st_writer *w = krait_st_writer_init();
    float *x = NULL;
    int found = 0, ok = f != NULL;
    for (size_t i = 0; ok && i < krait_st_count(f); i++) {
        const krait_st_tensor *t = krait_st_tensor_at(f, i);
        if (strcmp(t->name, name) != 0) {
            ok = krait_st_writer_add_raw(w, t->name, t->dtype, t->data, t->shape, t->rank) == 0;
            continue;
        }
        found = 1;
        ok = (x = malloc((size_t)t->numel * sizeof *x + 1)) && krait_st_tensor_read_f32(t, x, (size_t)t->numel) == 0 &&
             krait_st_writer_add_f32(w, t->name, dtype, x, t->shape, t->rank) == 0;
    }
    const char *step = f ? krait_st_metadata_get(f, "krait_step") : NULL;
    ok = ok && found && step && krait_st_writer_set_metadata(w, "krait_step", step) == 0 &&
         krait_st_writer_write(w, tmp) == KRAIT_STATUS_OK;
    krait_st_writer_free(w);
    krait_st_close(f);
    free(x);
    return ok && rename(tmp, path) == 0;
}

/* What a state file must carry exactly, and what it must not let through: a training time
 * whose shortest printing is not exact, the last loss, the gradient clip, the RNG words, the
 * moment tensors' count, and a data position the resuming source needs. */
static void test_state_edges(const char *root)
{
    char out[600], ck[800];
    snprintf(out, sizeof out, "%s/edges", root);
    snprintf(ck, sizeof ck, "%s/checkpoints/step-1", out);
    run r;
    run_init(&r, 16, 1e-2f, 7);
    krait_step_info info;
    tu_check(krait_trainer_step(r.t, &r.ds, &info) == KRAIT_STATUS_OK, "edges: one step");
    const double elapsed = 0.1 + 0.2; /* 0.30000000000000004: a printing that settles for "0.3" loses it */
    r.t->elapsed_s = elapsed;
    r.t->last_loss = 1.0 / 3.0;
    /* the model folder's companions in OUT go into the checkpoint; one OUT lacks is skipped */
    krait_fs_mkdirs(out);
    static const char tok[] = "{\"model\": {\"type\": \"BPE\"}}";
    tu_check(io_write(io_path(out, "tokenizer.json"), tok, sizeof tok - 1), "edges: a tokenizer.json in OUT");
    static const char *const companions[] = { "tokenizer.json", "classes.txt", NULL };
    tu_check(krait_checkpoint_save(r.t, &r.ds, NULL, out, 0, companions) == KRAIT_STATUS_OK, "edges: saved step 1");
    size_t tn = 0;
    uint8_t *tback = io_read(io_path(ck, "tokenizer.json"), &tn);
    tu_check(tback && tn == sizeof tok - 1 && !memcmp(tback, tok, tn) && !io_exists(io_path(ck, "classes.txt")),
             "edges: the checkpoint holds OUT's tokenizer.json (and no classes.txt, which OUT lacks)");
    free(tback);
    run q;
    run_init(&q, 16, 1e-2f, 7);
    io_cap_reset(&cap);
    krait_status rs = krait_checkpoint_resume(q.t, &q.ds, NULL, out);
    tu_check(rs == KRAIT_STATUS_OK && q.t->elapsed_s == elapsed && q.t->last_loss == 1.0 / 3.0,
             "elapsed %.17g and last loss %.17g come back bit for bit (status %d %s)", q.t->elapsed_s,
             q.t->last_loss, (int)rs, cap.last_error);
    run_free(&q);

    expect_refused(out, 2, "train.grad_clip", "a resume with another grad_clip");

    size_t n;
    char *text = (char *)io_read(io_path(ck, "trainer_state.json"), &n), *bad = malloc(n + 1);
    memcpy(bad, text, n);
    bad[n] = 0;
    tu_check(set_rng_words(bad, '0'), "edges: found the RNG words");
    io_write(io_path(ck, "trainer_state.json"), bad, n);
    expect_refused(out, 1, "rng.data", "an all-zero RNG state (xoshiro's one forbidden state)");
    io_write(io_path(ck, "trainer_state.json"), text, n);

    /* one moment tensor too many */
    size_t on;
    uint8_t *orig = io_read(io_path(ck, "optimizer.safetensors"), &on);
    krait_status s;
    krait_st_file *f = krait_st_open(io_path(ck, "optimizer.safetensors"), &s);
    krait_st_writer *w = krait_st_writer_init();
    for (size_t i = 0; f && i < krait_st_count(f); i++) {
        const krait_st_tensor *t = krait_st_tensor_at(f, i);
        krait_st_writer_add_raw(w, t->name, t->dtype, t->data, t->shape, t->rank);
    }
    const float extra[2] = { 1, 2 };
    const int64_t shape[1] = { 2 };
    krait_st_writer_add_f32(w, "spare.exp_avg", KRAIT_ST_DTYPE_F32, extra, shape, 1);
    krait_st_writer_set_metadata(w, "krait_step", "1");
    char extra_path[900];
    snprintf(extra_path, sizeof extra_path, "%s/optimizer.extra", ck);
    tu_check(f && krait_st_writer_write(w, extra_path) == KRAIT_STATUS_OK, "edges: wrote a file with one more tensor");
    krait_st_writer_free(w);
    krait_st_close(f);
    rename(extra_path, io_path(ck, "optimizer.safetensors"));
    expect_refused(out, 1, "tensors where the model needs", "an optimizer file with one tensor more than the moments");
    io_write(io_path(ck, "optimizer.safetensors"), orig, on);

    /* a moment stored in 16 bits (readable as fp32, but no longer exact) */
    static const struct { const char *name; krait_st_dtype dtype; const char *what; } narrow[] = {
        { "backbone.norm_f.weight.exp_avg_sq", KRAIT_ST_DTYPE_BF16, "an exp_avg_sq moment stored as BF16" },
        { "backbone.embeddings.weight.exp_avg", KRAIT_ST_DTYPE_F16, "an exp_avg moment stored as F16" },
    };
    for (size_t i = 0; i < sizeof narrow / sizeof narrow[0]; i++) {
        char frag[120];
        snprintf(frag, sizeof frag, "tensor '%s' must be F32", narrow[i].name);
        tu_check(moment_as(ck, narrow[i].name, narrow[i].dtype), "edges: rewrote %s", narrow[i].what);
        expect_refused(out, 1, frag, narrow[i].what);
        io_write(io_path(ck, "optimizer.safetensors"), orig, on);
    }
    free(orig);

    /* saved without a data position, resumed by a source that keeps one */
    char out2[700];
    snprintf(out2, sizeof out2, "%s/edges-nopos", root);
    tu_check(krait_checkpoint_save(r.t, NULL, NULL, out2, 0, NULL) == KRAIT_STATUS_OK, "edges: saved without a source");
    expect_refused(out2, 1, "no data position", "a checkpoint without a data position, by a source that needs one");
    free(bad);
    free(text);
    io_cap_reset(&cap);
    run_free(&r);
}

/* A child saves checkpoints in a loop; the parent kills it at a random moment; the folder must
 * stay consistent and resumable every time. */
static void test_kill(const char *root)
{
    char out[600];
    snprintf(out, sizeof out, "%s/kill", root);
    run r;
    run_init(&r, 32, 1e-2f, 7);
    double t0 = krait_now();
    tu_check(krait_checkpoint_save(r.t, &r.ds, NULL, out, 2, NULL) == 0, "first checkpoint");
    double save_s = krait_now() - t0;
    int ok = 1, rounds = 12, advanced = 0;
    for (int round = 0; round < rounds && ok; round++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            krait_log_set(NULL, NULL, KRAIT_LOG_ERROR);
            for (int i = 0; i < 1000; i++) {
                r.t->opt->step++;
                r.src.cursor++;
                if (krait_checkpoint_save(r.t, &r.ds, NULL, out, 2, NULL)) _exit(3);
            }
            _exit(0);
        }
        double delay = tu_uniform(0.0, 4.0 * save_s);
        struct timespec ts = { (time_t)delay, (long)((delay - (long)delay) * 1e9) };
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        int latest;
        ok &= tu_check(folder_consistent(out, &latest), "round %d: every step-N folder complete", round);
        krait_status s;
        char *found = krait_checkpoint_find(out, &s);
        char want[32];
        snprintf(want, sizeof want, "step-%d", latest);
        ok &= tu_check(found && strstr(found, want), "round %d: latest (%s) is what resume uses", round, want);
        run q;
        run_init(&q, 32, 1e-2f, 5);
        ok &= tu_check(krait_checkpoint_resume(q.t, &q.ds, NULL, out) == 0 && q.t->opt->step == latest &&
                           q.src.cursor == latest, "round %d: resumes at step %d", round, latest);
        krait_model *top = krait_model_load(out, be, &s);
        ok &= tu_check(top != NULL, "round %d: the top-level model loads", round);
        krait_model_free(top);
        advanced += latest > r.t->opt->step;
        /* carry on from what survived, as a resumed run would */
        krait_checkpoint_resume(r.t, &r.ds, NULL, out);
        run_free(&q);
        free(found);
    }
    printf("  %d kill rounds (save takes %.1f ms), %d advanced the latest checkpoint\n", rounds, save_s * 1e3,
           advanced);
    io_cap_reset(&cap);
    run_free(&r);
}

int main(void)
{
    tu_init("test_checkpoint");
    be = krait_backend_cpu_ref_init();
    const char *root = io_tmpdir("ckpt");
    io_cap_begin(&cap);
    test_resume(root);
    test_keep_and_leftovers(root);
    test_resume_older(root);
    test_state_edges(root);
    test_latest_names(root);
    test_kill(root);
    io_cap_end();
    krait_fs_remove_tree(root);
    krait_backend_destroy(be);
    return tu_finish();
}
