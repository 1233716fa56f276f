/* core/checkpoint.h — training checkpoints: the whole state of a run, written crash-safely,
 * and an exact resume (the same losses, bit for bit, as a run that never stopped, on the same
 * backend and thread count).
 *
 * A run folder OUT (the apps' --out):
 *   OUT/config.json, OUT/model.safetensors   the latest checkpoint's model (fp32), so that
 *                                            `--model OUT` loads it directly
 *   OUT/checkpoints/latest                   one line "step-N": the latest complete checkpoint
 *   OUT/checkpoints/step-N/                  one checkpoint, a model folder plus:
 *     config.json, model.safetensors         fp32 master weights (model_io.h)
 *     tokenizer.json, audio.json, ...        the app's files of the model folder (companions,
 *                                            below), as OUT had them
 *     optimizer.safetensors                  AdamW moments "<param>.exp_avg" and
 *                                            "<param>.exp_avg_sq" (F32, the parameter's
 *                                            shape); __metadata__ "krait_step" = N
 *     trainer_state.json                     step, tokens, elapsed time, last loss, every RNG
 *                                            state (xoshiro words as hex strings), the data
 *                                            position (krait_data_source.save_state), the app's
 *                                            own state, the train config and the model config
 *   OUT/checkpoints/step-N.tmp-XXXXXX/       a checkpoint being written (never read)
 *   OUT/checkpoints/step-N.old-XXXXXX/       a checkpoint being removed (never read)
 *
 * Saving step N: (1) remove leftover .tmp-/.old- folders; (2) write the whole checkpoint into
 * step-N.tmp-XXXXXX, trainer_state.json last, each file fsynced, then the folder; (3) rename it
 * to step-N (over an existing step-N: an atomic exchange of the two names, renameat2, then the
 * old one removed) and fsync checkpoints/; (4) replace `latest` (temporary file, fsync, rename);
 * (5) replace OUT/model.safetensors and OUT/config.json, each by a hard link (or a copy) under
 * a temporary name renamed over it; (6) prune: step-K folders beyond the keep_last newest with
 * K <= N are renamed to .old- names, then removed.
 * Invariant, at every instant (a crash or kill anywhere): `latest` (once it exists) names a
 * complete checkpoint; every folder named exactly step-N is complete; OUT/model.safetensors
 * and OUT/config.json are complete files holding the latest checkpoint's model or the one
 * before it. Resuming from OUT uses `latest` (or, if it is missing or names a folder that is
 * gone, the highest complete step-N, with a warning), so an interrupted save never replaces
 * the previous checkpoint.
 *
 * Not handled: two processes writing one run folder at once; file systems whose rename is not
 * atomic. Checkpoints of later steps than the one being saved (left by resuming an older
 * checkpoint into the same folder) are not pruned until the run passes them; a folder of the
 * same step is replaced; on a file system without the exchange, it is moved aside first, and a
 * crash in between loses that step (the one being replaced). */
#ifndef KRAIT_CHECKPOINT_H
#define KRAIT_CHECKPOINT_H

#include "backend.h"
#include "train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Write the trainer's state at its current step as OUT/checkpoints/step-N (see above) and make
 * it the latest, keeping the keep_last newest checkpoints (<= 0 keeps all). ds (may be NULL)
 * gives the data position through save_state; app_state (may be NULL) is one JSON value the
 * app wants back on resume (its own counters). companions (NULL-terminated names, or NULL):
 * files of OUT's top level that belong to its model folder (a tokenizer.json, the front-end's
 * settings, the class names), linked (or copied) into the checkpoint where OUT has them, so
 * that each checkpoint loads as a model folder of its own. A folder of the same step is replaced, the one
 * `latest` names too (a run resumed from an older checkpoint reaches it on another path): the
 * caller skips a step it saved itself. On failure the previous checkpoint stays the latest. */
krait_status krait_checkpoint_save(const krait_trainer *t, const krait_data_source *ds,
                                   const char *app_state, const char *out_dir, int keep_last,
                                   const char *const *companions);

/* Continue the run saved in dir (a run folder, or one checkpoint folder): restores the model
 * weights, the AdamW moments and step, tokens, elapsed time, last loss, the data and eval RNGs
 * and (through ds->load_state, when the checkpoint has one) the data position. The model
 * config must match t's model exactly, and the train config in every setting that changes the
 * math (batch, seq_len, lr, min_lr, warmup, weight decay, betas, eps, grad_clip, seed); a
 * different steps/minutes budget is allowed with a warning (the schedule changes).
 * *app_state (may be NULL) receives the saved app JSON value or NULL (caller frees).
 * On failure t is unchanged unless the weights or moments were being read (then the status is
 * not OK and t must not be trained further). */
krait_status krait_checkpoint_resume(krait_trainer *t, krait_data_source *ds, char **app_state,
                                     const char *dir);

/* The checkpoint folder dir stands for (itself, or its latest one), malloc'd; NULL with one
 * line logged and *status set when there is none. */
char *krait_checkpoint_find(const char *dir, krait_status *status);

/* The step of the checkpoint `latest` names in out_dir; 0 when there is none. */
int krait_checkpoint_latest_step(const char *out_dir);
/* After a run folder's own run was resumed at step (every check passed; the folder locked by the
 * resuming process): when step is its latest checkpoint, the top level is made that
 * checkpoint's model again, as a save ends, and the temporaries a killed save left there and in
 * checkpoints/ are removed (a save killed while it published left the step before's model, or a
 * temporary). A run with --keep-best's best/ keeps its top level (the best model, by design). */
krait_status krait_checkpoint_restore_top(const char *out_dir, int step);
/* 1 when out_dir/checkpoints holds a complete checkpoint (one a resume can start from; a run
 * killed during its first save has a checkpoints/ folder without one). */
int krait_checkpoint_any(const char *out_dir);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_CHECKPOINT_H */
