/* apps/common/runfolder.h — claiming, clearing, locking and refusing run folders and data
 * folders: a training command's --out claimed for one process (created, locked, a folder that
 * holds another run refused unless --overwrite, whose old run is cleared only once the command
 * is ready to write), a data or model folder's lock, and the refusals of an --out inside a run
 * or of an input inside the run folder. Exits with one line where a folder cannot be used (apps
 * only). Deliberately not here: the options that name the folders (trainopts.h) and what a run
 * writes into its folder (runfiles.h). */
#ifndef KRAIT_RUNFOLDER_H
#define KRAIT_RUNFOLDER_H

/* Claim out for this process: it is created and locked (krait_run_lock). Unless resume (NULL:
 * none) lies in out (this folder's own run goes on), a folder that already holds a run (a model,
 * checkpoints, metrics, or members that hold one) is refused (exit 2) unless overwrite; the old run
 * is deleted only by krait_run_clear_out, once the command has read everything it needs, so that
 * a command that fails first deletes nothing and the folder never mixes two runs. */
void krait_run_claim_out(const char *out, int overwrite, const char *resume, const char *cmd);

/* The claimed folder's old run (--overwrite: its checkpoints, best model, members and top-level
 * run files; or member folders that hold no run) deleted now, with a line saying so when it held
 * a run. Called by each trainer before it first writes into out (krait_run_start calls it too);
 * does nothing the second time. krait_run_clearing: 1 while the deletion of a run is pending. */
void krait_run_clear_out(void);
int krait_run_clearing(void);

/* out created (with its parents) and locked for the life of the process (out/.lock, an exclusive
 * flock the kernel drops at exit, even on kill -9); a second process that wants it exits 2. A
 * folder this call made is removed at exit when it holds no run then (a failed command). */
void krait_run_lock(const char *out);
/* dir/.lock, an exclusive flock held for the life of the process: 1, or 0 when another process
 * holds it (exits with one line when the file cannot be made). remove_at_exit: the lock file is
 * removed at exit and on a kill (a data or model folder keeps none; a run folder keeps its). */
int krait_folder_lock(const char *dir, int remove_at_exit);

/* Exit 2 with one line when out lies inside a training run: a folder above it (and, with self,
 * out itself) holds checkpoints/latest, metrics.jsonl, trainer_state.json (a checkpoint) or
 * member-1 (an ensemble). What is written there would mix with that run's checkpoints, be taken
 * by its --resume, or go with its --overwrite. */
void krait_run_refuse_inside(const char *out, int self);

/* Exit 2 with one line when one of paths (an input file or folder of option opt; krait-dna's
 * CLASS=FILE too) is out itself, or lies in out under a name the run writes or --overwrite removes (config.json,
 * curves.svg, a companion such as audio.json, checkpoints/, member-K/ ...): the run would write
 * over it. Call after krait_train_opts_check. */
void krait_run_refuse_inputs(const char *out, const char *opt, const char *const *paths, int n);

/* The highest K of a member-K entry in dir (an ensemble's members; 0: none). */
int krait_run_members(const char *dir);

/* out/name exists (a file or a folder): "checkpoints", "model.safetensors", "member-1"... */
int krait_run_has(const char *out, const char *name);

#endif /* KRAIT_RUNFOLDER_H */
