/* core/train.c — the training loop; see train.h. */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"
#include "log.h"

double krait_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

size_t krait_trainer_bytes(const krait_model *m, const krait_train_config *tc)
{
    int rows = krait_model_is_classifier(m) ? krait_cls_rows(m, tc->batch) : tc->batch;
    size_t acts = krait_acts_bytes(m, rows, tc->seq_len, 1);
    if (acts == SIZE_MAX) return SIZE_MAX;
    const size_t n = (size_t)tc->batch * tc->seq_len;
    return acts + 3 * m->n_params * sizeof(float) + n * (2 + (size_t)m->cfg.input_dim) * sizeof(float);
}

size_t krait_training_bytes(const krait_config *cfg, krait_backend *be, const krait_train_config *tc)
{
    krait_model *m = krait_model_init(cfg, NULL); /* the tensor table only: nothing allocated */
    if (!m) return SIZE_MAX;
    m->be = be;
    size_t bytes = krait_trainer_bytes(m, tc);
    const size_t weights = m->n_params * (sizeof(float) + (be->act_dtype == KRAIT_DTYPE_F32 ? 0 : krait_dtype_size(be->act_dtype)));
    m->be = NULL;
    krait_model_free(m);
    return bytes == SIZE_MAX ? SIZE_MAX : bytes + weights;
}

krait_trainer *krait_trainer_init(krait_model *m, const krait_train_config *tc)
{
    krait_trainer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->model = m;
    t->tc = *tc;
    t->lr_scale = 1.0;
    size_t n = (size_t)tc->batch * tc->seq_len;
    t->ids = malloc(n * sizeof *t->ids);
    t->targets = malloc(n * sizeof *t->targets);
    if (m->cfg.input_dim > 0) t->feats = malloc(n * m->cfg.input_dim * sizeof *t->feats);
    t->opt = krait_optim_init(m);
    int rows = krait_model_is_classifier(m) ? krait_cls_rows(m, tc->batch) : tc->batch;
    t->acts = t->opt ? krait_acts_init(m, rows, tc->seq_len, 1) : NULL;
    if (!t->ids || !t->targets || !t->acts || (m->cfg.input_dim > 0 && !t->feats)) {
        krait_trainer_free(t);
        return NULL;
    }
    if (tc->embed_dropout > 0 || tc->resid_dropout > 0)
        KRAIT_INFO("dropout %g on the first residual and %g on each mixer output (training steps only)",
                   tc->embed_dropout, tc->resid_dropout);
    krait_rng_init_stream(&t->data_rng, tc->seed, 1);
    krait_rng_init_stream(&t->eval_rng, tc->seed, 2);
    const char *fault = getenv("KRAIT_FAULT_NONFINITE_STEP");
    t->fault_step = fault ? atoi(fault) : 0;
    return t;
}

void krait_trainer_free(krait_trainer *t)
{
    if (!t) return;
    krait_acts_free(t->model, t->acts);
    krait_optim_free(t->model, t->opt);
    free(t->ids);
    free(t->targets);
    free(t->feats);
    free(t);
}

static double progress_of(const krait_trainer *t, double elapsed)
{
    double p = 0;
    if (t->tc.steps > 0) p = (double)t->opt->step / t->tc.steps;
    if (t->tc.minutes > 0) {
        double q = elapsed / (t->tc.minutes * 60.0);
        if (t->tc.steps <= 0 || q > p) p = q;
    }
    return p > 1 ? 1 : p;
}

/* The step's loss or gradient norm is not finite: stop, or skip the batch (see train.h). */
static krait_status nonfinite(krait_trainer *t, krait_step_info *info, double loss, double gn, double t0)
{
    int step = t->opt->step + 1;
    const char *what = !isfinite(loss) ? "loss" : "gradient norm";
    double value = !isfinite(loss) ? loss : gn;
    if (strcmp(t->tc.on_nonfinite, "skip") != 0) {
        KRAIT_ERROR("step %d: the %s is %g: training stopped (train.on_nonfinite \"stop\"; \"skip\" skips "
                    "such batches)", step, what, value);
        return KRAIT_STATUS_NUMERIC;
    }
    t->skipped++;
    if (++t->skipped_in_row >= KRAIT_MAX_SKIPS_IN_ROW) {
        KRAIT_ERROR("step %d: the %s is %g, %d batches in a row: training stopped", step, what, value,
                    t->skipped_in_row);
        return KRAIT_STATUS_NUMERIC;
    }
    KRAIT_WARN("step %d: the %s is %g: batch skipped (%lld skipped so far)", step, what, value, t->skipped);
    t->tokens += (long long)t->tc.batch * t->tc.seq_len;
    t->elapsed_s += krait_now() - t0;
    if (info) {
        memset(info, 0, sizeof *info);
        info->skipped = 1;
        info->step = t->opt->step;
        info->loss = loss;
        info->tokens = t->tokens;
        info->elapsed_s = t->elapsed_s;
    }
    return KRAIT_STATUS_OK;
}

/* The budget counts training time only; the wall time left adds the validations still to come at
 * their mean time so far (a step budget), or else stretches the training time left by this run's
 * share of time outside training (a time budget; also checkpoints). */
static double eta_overhead(const krait_trainer *t, double train_left, double run_time)
{
    const krait_train_config *tc = &t->tc;
    const int step = t->opt->step, every = tc->eval_every;
    if (tc->steps > 0 && every > 0 && t->n_evals > 0 && step <= tc->steps) {
        /* the validations after this step, this step's own (it runs after this estimate), and
         * the one at the end when the steps are not a multiple */
        int left = tc->steps / every - step / every + (step % every == 0) + (tc->steps % every != 0);
        return left * (t->eval_s / t->n_evals);
    }
    double wall = t->run_start > 0 ? krait_now() - t->run_start : 0;
    return run_time > 0 && wall > run_time ? train_left * (wall / run_time - 1) : 0;
}

krait_status krait_trainer_step(krait_trainer *t, krait_data_source *ds, krait_step_info *info)
{
    krait_model *m = t->model;
    const krait_train_config *tc = &t->tc;
    double t0 = krait_now();
    krait_status s;
    if (t->feats) {
        if (!ds->next_batch_features) {
            KRAIT_ERROR("this model reads feature vectors; the data source gives token ids");
            return KRAIT_STATUS_BAD_INPUT;
        }
        s = ds->next_batch_features(ds->ctx, t->feats, t->targets, tc->batch, tc->seq_len, &t->data_rng);
    } else {
        s = ds->next_batch(ds->ctx, t->ids, t->targets, tc->batch, tc->seq_len, &t->data_rng);
    }
    if (s) return s;
    if ((s = krait_optim_zero_grad(m, t->opt))) return s;
    /* dropout masks: a function of the run's seed and the step, so a resumed run draws the same */
    t->acts->drop_embed = tc->embed_dropout;
    t->acts->drop_resid = tc->resid_dropout;
    t->acts->drop_seed = krait_mix64(krait_mix64(tc->seed, 3), (uint64_t)t->opt->step);
    double loss = 0;
    long nv = 0;
    if (krait_model_is_classifier(m))
        s = krait_cls_forward_backward(m, t->acts, t->opt->grads, t->feats ? NULL : t->ids, t->feats,
                                       t->targets, &loss, &nv);
    else
        s = krait_lm_forward_backward(m, t->acts, t->opt->grads, t->ids, t->targets, &loss, &nv);
    if (s) return s;
    if (t->fault_step == t->opt->step + 1) loss = NAN, t->fault_step = 0;
    double progress = progress_of(t, t->elapsed_s);
    double lr = krait_lr_at(tc, t->opt->step, progress) * t->lr_scale, gn = 0;
    s = isfinite(loss) ? krait_optim_step(m, t->opt, tc, lr, &gn) : KRAIT_STATUS_NUMERIC;
    if (s == KRAIT_STATUS_NUMERIC) return nonfinite(t, info, loss, gn, t0);
    if (s) return s;
    t->skipped_in_row = 0;
    t->tokens += (long long)tc->batch * tc->seq_len;
    t->elapsed_s += krait_now() - t0;
    t->last_loss = loss;
    if (info) {
        info->skipped = 0;
        info->step = t->opt->step;
        info->total_steps = tc->steps;
        info->loss = loss;
        info->grad_norm = gn;
        info->lr = lr;
        info->progress = progress_of(t, t->elapsed_s);
        info->elapsed_s = t->elapsed_s;
        info->tokens = t->tokens;
        double run_time = t->elapsed_s - t->run_elapsed0;
        info->tokens_per_s = run_time > 0 ? (t->tokens - t->run_tokens0) / run_time : 0;
        info->eta_s = info->progress > 0 ? t->elapsed_s * (1 - info->progress) / info->progress : 0;
        info->eta_s += eta_overhead(t, info->eta_s, run_time);
    }
    return KRAIT_STATUS_OK;
}

static int done(const krait_trainer *t)
{
    if (t->tc.steps > 0 && t->opt->step >= t->tc.steps) return 1;
    if (t->tc.minutes > 0 && t->elapsed_s >= t->tc.minutes * 60.0) return 1;
    return t->tc.steps <= 0 && t->tc.minutes <= 0;
}

krait_status krait_trainer_run(krait_trainer *t, krait_data_source *ds, const krait_train_hooks *h)
{
    t->run_start = krait_now();
    t->run_elapsed0 = t->elapsed_s;
    t->run_tokens0 = t->tokens;
    t->eval_s = 0, t->n_evals = 0;
    krait_status s;
    while (!done(t)) {
        if (h && h->stop_requested && h->stop_requested(h->user)) {
            if (h->on_checkpoint && (s = h->on_checkpoint(h->user, t))) return s;
            return KRAIT_STATUS_INTERRUPTED;
        }
        krait_step_info info;
        if ((s = krait_trainer_step(t, ds, &info))) return s;
        if (info.skipped) continue;
        if (h && h->on_step) h->on_step(h->user, &info);
        int step = t->opt->step;
        if (h && h->on_eval && t->tc.eval_every > 0 && step % t->tc.eval_every == 0) {
            const double e0 = krait_now();
            if ((s = h->on_eval(h->user, t))) return s;
            t->eval_s += krait_now() - e0, t->n_evals++;
        }
        if (h && h->on_checkpoint && t->tc.ckpt_every > 0 && step % t->tc.ckpt_every == 0 &&
            (s = h->on_checkpoint(h->user, t)))
            return s;
    }
    return KRAIT_STATUS_OK;
}
