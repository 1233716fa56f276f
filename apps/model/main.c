/* apps/model/main.c — krait-model: look at, convert, create and run model folders.
 *   info DIR                      config summary, tensors, parameters, dtypes (weights not read)
 *   convert DIR --out OUT         load (krait or HF layout) and save as krait writes it, in a dtype
 *   init CONFIG --out DIR         a freshly initialised model (the official initialisation)
 *   logits DIR --ids 1,2,3        fp32 logits of every position (compared with transformers by
 *                                 tests/hf/check_transformers.py)
 * Bad input (a malformed folder, an unknown option, an id outside the vocabulary) exits 2 with
 * one line. This app does not train or generate. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "fsutil.h"
#include "log.h"
#include "model.h"
#include "model_io.h"
#include "runfolder.h"

static const char *usage =
    "usage: krait-model <command> ...\n"
    "\n"
    "commands:\n"
    "  info DIR [--json]                               what a model folder holds\n"
    "  convert DIR --out OUT [--dtype f32|bf16|f16]    save a model folder as krait writes it\n"
    "  init CONFIG --out DIR [--seed N] [--dtype D]    a freshly initialised model\n"
    "  logits DIR --ids 1,2,3 [--output FILE.f32]      fp32 logits of every position (CPU by default)\n"
    "\n"
    "krait-model <command> --help shows the command's options.";

/* The positional argument after the command, or exit 2; NULL for `krait-model CMD --help`, whose
 * options krait_cli_parse(argc, argv, first_option(dir), ...) then prints. */
static const char *positional(int argc, char **argv, const char *what)
{
    if (argc >= 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) return NULL;
    if (argc < 3) krait_cli_die(2, "%s: needs %s (see --help)", argv[1], what);
    if (argv[2][0] == '-') krait_cli_die(2, "%s: needs %s before the options", argv[1], what);
    return argv[2];
}

static int first_option(const char *positional_arg) { return positional_arg ? 3 : 2; }

/* The model folder argument; an ensemble's folder (krait-dna train --ensemble: member-K folders,
 * no config.json of its own) is refused with its members named, not as a missing config.json. */
static const char *model_arg(int argc, char **argv)
{
    const char *dir = positional(argc, argv, "a model folder");
    if (dir && krait_fs_is_dir(dir) && !krait_run_has(dir, "config.json")) {
        const int k = krait_run_members(dir);
        if (k > 0)
            krait_cli_die(2, "%s: an ensemble of %d models (member-1 .. member-%d), not one: give one member's folder, "
                          "e.g. %s/member-1", dir, k, k, dir);
    }
    return dir;
}


static int cmd_info(int argc, char **argv)
{
    const char *u = "usage: krait-model info DIR [--json]";
    const char *dir = model_arg(argc, argv);
    krait_common c;
    const krait_opt opts[] = { KRAIT_OPTS_NO_MODEL };
    krait_cli_parse(argc, argv, first_option(dir), opts, sizeof opts / sizeof opts[0], &c, u);
    krait_model_file_info in;
    krait_status s = krait_model_inspect(&in, dir);
    if (s) return krait_cli_exit_code(s);
    const krait_config *f = &in.cfg;
    printf("%s: Mamba %s model, %d layers, d_model %d, d_inner %d, state %d, conv %d, dt_rank %d\n", dir,
           f->head, f->n_layer, f->d_model, f->d_inner, f->d_state, f->d_conv, f->dt_rank);
    const int classify = !strcmp(f->head, "classify");
    if (!classify)
        printf("vocab %d (config %d, embedding rows in the file %d), %s head%s, embedding '%s'\n", f->vocab_size,
               f->vocab_size_raw, in.embedding_rows, f->tie_embeddings ? "tied" : "untied",
               f->tie_embeddings && in.lm_head_stored ? " (lm_head.weight stored too: loading checks that it equals the embedding)" : "", in.embedding);
    else if (f->input_dim > 0)
        printf("classification head: %d classes, %s pooling%s; input: feature vectors of %d\n", f->n_classes,
               f->pooling, f->bidirectional ? ", bidirectional" : "", f->input_dim);
    else
        printf("classification head: %d classes, %s pooling%s; input: ids, vocab %d, embedding '%s'\n", f->n_classes,
               f->pooling, f->bidirectional ? ", bidirectional" : "", f->vocab_size, in.embedding);
    printf("%d tensors in %d file%s, %zu parameters, %s, %.1f MB; modality %s\n", in.n_tensors, in.n_files,
           in.n_files > 1 ? "s" : "", in.n_params, in.dtypes, in.tensor_bytes / 1e6,
           f->modality[0] ? f->modality : "not set");
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", dir);
        cJSON_AddNumberToObject(o, "d_model", f->d_model);
        cJSON_AddNumberToObject(o, "n_layer", f->n_layer);
        cJSON_AddNumberToObject(o, "d_inner", f->d_inner);
        cJSON_AddNumberToObject(o, "d_state", f->d_state);
        cJSON_AddNumberToObject(o, "d_conv", f->d_conv);
        cJSON_AddNumberToObject(o, "dt_rank", f->dt_rank);
        cJSON_AddNumberToObject(o, "vocab_size", f->vocab_size);
        cJSON_AddNumberToObject(o, "vocab_size_raw", f->vocab_size_raw);
        cJSON_AddNumberToObject(o, "embedding_rows", in.embedding_rows);
        cJSON_AddBoolToObject(o, "tied", !classify && f->tie_embeddings); /* a classifier has no LM head */
        cJSON_AddBoolToObject(o, "lm_head_stored", in.lm_head_stored);
        cJSON_AddStringToObject(o, "embedding", in.embedding);
        cJSON_AddNumberToObject(o, "n_tensors", in.n_tensors);
        cJSON_AddNumberToObject(o, "n_files", in.n_files);
        cJSON_AddNumberToObject(o, "params", (double)in.n_params);
        cJSON_AddStringToObject(o, "dtype", in.dtypes);
        cJSON_AddNumberToObject(o, "bytes", (double)in.tensor_bytes);
        cJSON_AddStringToObject(o, "modality", f->modality);
        cJSON_AddStringToObject(o, "head", f->head);
        if (classify) {
            cJSON_AddNumberToObject(o, "n_classes", f->n_classes);
            cJSON_AddStringToObject(o, "pooling", f->pooling);
            cJSON_AddBoolToObject(o, "bidirectional", f->bidirectional);
            cJSON_AddNumberToObject(o, "input_dim", f->input_dim);
        }
        krait_cli_print_json(o);
    }
    return 0;
}

static krait_dtype parse_dtype(const char *name)
{
    krait_dtype t;
    if (!krait_dtype_from_name(&t, name)) krait_cli_die(2, "--dtype: '%s' is not f32, bf16 or f16", name);
    return t;
}

/* The files an app reads beside the weights travel with the model when present: the tokenizer
 * (krait-text), the audio front-end (krait-audio) and the class names (krait-dna). from: the
 * source model's folder, or NULL (init: none). A replaced model's own side files that the new
 * one lacks are removed (replacing), else the new model would be read with the old tokenizer
 * or class names; removed names go to gone. */
static int copy_side_files(const char *from, const char *to, int replacing, char *copied, char *gone, size_t cap)
{
    static const char *names[] = { "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                   "audio.json", "classes.txt" };
    int n = 0, ng = 0;
    copied[0] = gone[0] = '\0';
    if (from && krait_fs_same(from, to)) return 0; /* converted in place: they are there */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *src = from ? krait_fs_join(from, names[i]) : NULL, *dst = krait_fs_join(to, names[i]);
        if (!dst || (from && !src)) krait_cli_die(1, "out of memory");
        if (src && krait_fs_is_file(src)) {
            krait_status s = krait_fs_publish(dst, src);
            if (s) exit(krait_cli_exit_code(s));
            size_t l = strlen(copied);
            snprintf(copied + l, cap - l, "%s%s", n ? ", " : "", names[i]);
            n++;
        } else if (replacing && krait_fs_is_file(dst)) {
            if (unlink(dst)) krait_cli_die(1, "%s: cannot remove the replaced model's file (%s)", dst, strerror(errno));
            size_t l = strlen(gone);
            snprintf(gone + l, cap - l, "%s%s", ng ? ", " : "", names[i]);
            ng++;
        }
        free(src);
        free(dst);
    }
    return n;
}


/* --out of convert/init: a training run folder is never written into (its model would no longer
 * match its checkpoints and metrics); a folder that holds a model only with --overwrite. 1 if
 * it holds one (to be replaced). */
static int claim_model_out(const char *out, int overwrite)
{
    krait_run_refuse_inside(out, 1);
    krait_run_lock(out); /* two converts into one folder at once would mix their files (removed at the end) */
    char *lock = krait_fs_join(out, ".lock");
    if (!lock) krait_cli_die(1, "out of memory");
    krait_cli_temp_add(lock); /* a model folder is no run folder: it keeps no lock file (at exit or a kill) */
    free(lock);
    static const char *const run[] = { "checkpoints", "metrics.jsonl" }, *const model[] = { "config.json",
        "model.safetensors", "model.safetensors.index.json" };
    for (size_t i = 0; i < 2; i++) {
        char *p = krait_fs_join(out, run[i]);
        int has = p && (krait_fs_is_dir(p) || krait_fs_is_file(p));
        free(p);
        if (has) krait_cli_die(2, "%s: a training run folder (%s): write the model to another --out", out, run[i]);
    }
    int holds = 0;
    for (size_t i = 0; i < 3; i++) {
        char *p = krait_fs_join(out, model[i]);
        int has = p && krait_fs_is_file(p);
        free(p);
        if (has && !overwrite) krait_cli_die(2, "%s: already holds a model (%s); --overwrite replaces it", out, model[i]);
        holds |= has;
    }
    return holds;
}

/* ", with A, B" and "; removed the replaced model's C" for the summary line */
static void say_side_files(int side, const char *copied, const char *gone)
{
    if (side) printf(", with %s", copied);
    if (gone[0]) printf("; removed the replaced model's %s", gone);
}

static int cmd_convert(int argc, char **argv)
{
    const char *u = "usage: krait-model convert DIR --out OUT [--dtype f32|bf16|f16] [--overwrite]";
    const char *dir = model_arg(argc, argv);
    const char *out = NULL, *dtype = "f32";
    int overwrite = 0;
    krait_opt opts[] = {
        { "--out", OPT_STR, &out, "OUT", "folder to write (created if needed)" },
        { "--dtype", OPT_STR, &dtype, "D", "f32 | bf16 | f16 (default f32)" },
        { "--overwrite", OPT_FLAG, &overwrite, NULL, "replace the model an existing OUT holds (DIR itself included)" },
        KRAIT_OPTS_NO_MODEL,
    };
    krait_common c;
    krait_cli_parse(argc, argv, first_option(dir), opts, sizeof opts / sizeof opts[0], &c, u);
    if (!out) krait_cli_die(2, "convert: --out is required");
    const int replacing = claim_model_out(out, overwrite);
    krait_dtype t = parse_dtype(dtype);
    krait_backend *be = krait_backend_cpu_ref_init();   /* host memory; no compute needed */
    if (!be) krait_cli_die(1, "cannot start the CPU backend");
    krait_status s;
    krait_model *m = krait_model_load(dir, be, &s);
    if (m) s = krait_model_save(m, out, t);
    if (!s) krait_cli_remove_on_kill(NULL); /* a whole model now: a stop leaves it (a new folder too) */
    char copied[160] = "", gone[160] = "";
    int side = 0;
    if (!s) { /* the side files of DIR, or of the folder of DIR when it names a .safetensors file */
        char *from = krait_fs_is_dir(dir) ? strdup(dir) : krait_fs_dirname(dir);
        if (!from) krait_cli_die(1, "out of memory");
        side = copy_side_files(from, out, replacing, copied, gone, sizeof copied);
        free(from);
    }
    if (!s) {
        printf("%s -> %s: %zu tensors as %s", dir, out, (size_t)m->n_tensors, dtype);
        say_side_files(side, copied, gone);
        printf("\n");
        if (c.json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "from", dir);
            cJSON_AddStringToObject(o, "out", out);
            cJSON_AddStringToObject(o, "dtype", krait_dtype_torch_name(t));
            cJSON_AddNumberToObject(o, "n_tensors", m->n_tensors);
            cJSON_AddNumberToObject(o, "side_files", side);
            krait_cli_print_json(o);
        }
    }
    krait_model_free(m);
    krait_backend_destroy(be);
    return krait_cli_exit_code(s);
}

/* An audio preset's "audio" section is krait-audio's front-end, not part of a model's config:
 * exit 2 with where to go instead of "unknown key". */
static void refuse_audio_preset(const char *cpath)
{
    krait_status s;
    char *text = krait_fs_read_text(cpath, 1 << 20, &s);
    if (!text) exit(krait_cli_exit_code(s));
    cJSON *o = cJSON_Parse(text);
    int audio = cJSON_GetObjectItemCaseSensitive(o, "audio") != NULL;
    cJSON_Delete(o);
    free(text);
    if (audio)
        krait_cli_die(2, "%s: an audio preset: its \"audio\" section (the front-end) is read by krait-audio, which "
                      "initialises the model itself (krait-audio train / classify-train --config ...)", cpath);
}

static int cmd_init(int argc, char **argv)
{
    const char *u = "usage: krait-model init CONFIG --out DIR [--seed N] [--dtype f32|bf16|f16] [--overwrite]";
    const char *cfg_name = positional(argc, argv, "a config file or preset");
    const char *out = NULL, *dtype = "f32";
    int overwrite = 0;
    krait_opt opts[] = {
        { "--out", OPT_STR, &out, "DIR", "folder to write (created if needed)" },
        { "--dtype", OPT_STR, &dtype, "D", "f32 | bf16 | f16 (default f32)" },
        { "--overwrite", OPT_FLAG, &overwrite, NULL, "replace the model an existing DIR holds" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, first_option(cfg_name), opts, 3, &c, u);
    if (!out) krait_cli_die(2, "init: --out is required");
    const int replacing = claim_model_out(out, overwrite);
    krait_dtype t = parse_dtype(dtype);
    krait_config cfg;
    krait_train_config tc;
    krait_config_default(&cfg);
    krait_train_default(&tc);
    const char *cpath = krait_cli_config_path(cfg_name);
    refuse_audio_preset(cpath);
    krait_status s = krait_config_load(&cfg, &tc, cpath);
    if (s) return krait_cli_exit_code(s);
    if (!strcmp(cfg.head, "classify") && cfg.n_classes < 2)
        krait_cli_die(2, "%s: a classifier needs \"krait\": {\"classes\": C} (C >= 2) to be initialised", cpath);
    /* a text LM of 256 or 257 ids is byte-level; said in config.json, because the vocab_size
     * written there is padded (257 -> 264) and no longer shows it */
    if (!cfg.tokenizer[0] && krait_config_byte_level(&cfg) && cfg.input_dim == 0 && !strcmp(cfg.head, "lm") &&
        (!cfg.modality[0] || !strcmp(cfg.modality, "text")))
        snprintf(cfg.tokenizer, sizeof cfg.tokenizer, "bytes");
    krait_backend *be = krait_backend_cpu_ref_init();
    if (!be) krait_cli_die(1, "cannot start the CPU backend");
    krait_model *shape = krait_model_init(&cfg, NULL); /* its size, before allocating it */
    if (!shape) krait_cli_die(1, "out of memory");
    char what[96];
    const double np = (double)shape->n_params;
    snprintf(what, sizeof what, "%s: a model of %.1f %s parameters", cpath, np >= 1e9 ? np / 1e9 : np / 1e6,
             np >= 1e9 ? "billion" : "million");
    krait_cli_check_memory(be, shape->n_params * sizeof(float), what, "a smaller config");
    krait_model_free(shape);
    krait_model *m = krait_model_init(&cfg, be);
    if (!m) krait_cli_die(1, "cannot create the model");
    krait_rng rng;
    krait_rng_init_stream(&rng, c.seed, 0);   /* the stream the training apps initialise from */
    s = krait_model_init_weights(m, &rng);
    if (!s) s = krait_model_save(m, out, t);
    if (!s) krait_cli_remove_on_kill(NULL); /* as in convert */
    char none[2], gone[160] = "";
    if (!s) copy_side_files(NULL, out, replacing, none, gone, sizeof gone);
    if (!s) {
        printf("%s: %d layers, d_model %d, vocab %d, seed %llu, %s", out, cfg.n_layer, cfg.d_model, cfg.vocab_size,
               (unsigned long long)c.seed, dtype);
        say_side_files(0, "", gone);
        printf("\n");
        if (c.json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "out", out);
            cJSON_AddNumberToObject(o, "seed", (double)c.seed);
            cJSON_AddNumberToObject(o, "params", (double)m->n_params);
            krait_cli_print_json(o);
        }
    }
    krait_model_free(m);
    krait_backend_destroy(be);
    return krait_cli_exit_code(s);
}

/* "1,2,3" -> ids (malloc'd), each in [0, V). Exits 2 on anything else. */
static int32_t *parse_ids(const char *s, int V, int *n)
{
    int cap = 16, k = 0;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    const char *p = s;
    while (ids) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || (*end && *end != ',') || (*p < '0' || *p > '9'))
            krait_cli_die(2, "--ids: '%s' is not a comma-separated list of token ids", s);
        if (v >= V) krait_cli_die(2, "--ids: id %ld is outside the vocabulary (0..%d)", v, V - 1);
        if (k == cap && !(ids = realloc(ids, (size_t)(cap *= 2) * sizeof *ids))) break;
        ids[k++] = (int32_t)v;
        if (!*end) break;
        p = end + 1;
    }
    if (!ids) krait_cli_die(1, "out of memory");
    *n = k;
    return ids;
}

/* logits (L, V) fp32 on the host for one sequence. */
static krait_status run_logits(float *logits, const krait_model *m, const int32_t *ids, int L)
{
    krait_backend *be = m->be;
    const int V = m->cfg.vocab_size, D = m->cfg.d_model;
    const size_t as = krait_dtype_size(be->act_dtype);
    krait_acts *a = krait_acts_init(m, 1, L, 0);
    int32_t *tg = malloc((size_t)L * sizeof *tg);
    float *f32 = NULL;
    krait_status s = KRAIT_STATUS_NO_MEMORY;
    if (!a || !tg) goto fail;
    if (be->act_dtype != KRAIT_DTYPE_F32 && !(f32 = be->alloc(be, (size_t)a->head_rows * V * sizeof *f32)))
        goto fail;
    for (int i = 0; i < L; i++) tg[i] = -1;
    if ((s = krait_acts_set_batch(m, a, ids, tg)) || (s = krait_model_forward(m, a, NULL))) goto fail;
    for (int r0 = 0; r0 < L; r0 += a->head_rows) {
        int rows = L - r0 < a->head_rows ? L - r0 : a->head_rows;
        const void *hf = (const char *)a->hf + (size_t)r0 * D * as;
        if ((s = be->linear_fwd(be, a->logits, V, hf, D, krait_act_at(m, m->lm_head), NULL, rows, V, D, 0.0f)))
            goto fail;
        const void *src = a->logits;
        if (f32) {
            if ((s = be->from_act(be, f32, a->logits, (size_t)rows * V))) goto fail;
            src = f32;
        }
        if ((s = be->download(be, logits + (size_t)r0 * V, src, (size_t)rows * V * sizeof *logits))) goto fail;
    }
fail:
    if (f32) be->free(be, f32);
    free(tg);
    krait_acts_free(m, a);
    return s;
}

static int cmd_logits(int argc, char **argv)
{
    const char *u = "usage: krait-model logits DIR --ids 1,2,3 [--output FILE.f32] [--device D]\n"
                    "Runs one sequence; writes (positions x vocab_size) fp32 little-endian values to FILE,\n"
                    "or prints one line of logits per position. The last line with --json has\n"
                    "{\"positions\",\"vocab_size\",\"vocab_size_raw\",\"argmax\"} (and \"logits\" without --output).\n"
                    "Runs on the CPU unless --device cuda (--device auto means the CPU here).";
    const char *dir = model_arg(argc, argv);
    const char *ids_s = NULL, *out = NULL;
    krait_opt opts[] = {
        { "--ids", OPT_STR, &ids_s, "LIST", "comma-separated token ids" },
        { "--output", OPT_STR, &out, "FILE", "write fp32 logits (positions x vocab) here" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, first_option(dir), opts, 2, &c, u);
    if (!ids_s) krait_cli_die(2, "logits: --ids is required");
    krait_model_file_info in;
    krait_status s = krait_model_inspect(&in, dir);   /* a bad folder fails before any device starts */
    if (s) return krait_cli_exit_code(s);
    if (strcmp(in.cfg.head, "lm"))
        krait_cli_die(2, "%s: a classifier (\"head\": \"%s\") has no per-position logits; krait-dna predict or "
                      "krait-audio classify give its class probabilities", dir, in.cfg.head);
    krait_cli_refuse_overwrite(out, "--output", &dir, 1);
    krait_cli_check_output_path(out, "--output"); /* before the model loads and runs, not after */
    int L = 0;
    int32_t *ids = parse_ids(ids_s, in.cfg.vocab_size_raw, &L); /* the real ids, not the padding rows */
    if (!strcmp(c.device, "auto")) c.device = "cpu";
    krait_backend *be = krait_cli_backend(&c, "f32");
    krait_model *m = krait_model_load(dir, be, &s);
    const int V = m ? m->cfg.vocab_size : 0;
    float *lg = m ? malloc((size_t)L * V * sizeof *lg) : NULL;
    if (m && !lg) s = KRAIT_STATUS_NO_MEMORY;
    if (lg) s = run_logits(lg, m, ids, L);
    if (!s && out) s = krait_fs_write_atomic(out, lg, (size_t)L * V * sizeof *lg);
    if (!s) {
        cJSON *o = c.json ? cJSON_CreateObject() : NULL, *am = NULL, *all = NULL;
        if (o) {
            cJSON_AddNumberToObject(o, "positions", L);
            cJSON_AddNumberToObject(o, "vocab_size", V);
            cJSON_AddNumberToObject(o, "vocab_size_raw", m->cfg.vocab_size_raw);
            am = cJSON_AddArrayToObject(o, "argmax");
            if (!out) all = cJSON_AddArrayToObject(o, "logits");
        }
        for (int t = 0; t < L; t++) {
            const float *row = lg + (size_t)t * V;
            int best = 0; /* over the real ids: the padding rows are no tokens */
            for (int v = 1; v < m->cfg.vocab_size_raw && v < V; v++)
                if (row[v] > row[best]) best = v;
            if (am) cJSON_AddItemToArray(am, cJSON_CreateNumber(best));
            if (all) cJSON_AddItemToArray(all, cJSON_CreateFloatArray(row, V));
            if (!out) {
                for (int v = 0; v < V; v++) printf("%s%.9g", v ? " " : "", row[v]);
                printf("\n");
            }
        }
        if (out) printf("%s: %d positions x %d logits (fp32) written\n", out, L, V);
        if (o) krait_cli_print_json(o);
    }
    free(lg);
    free(ids);
    krait_model_free(m);
    krait_backend_destroy(be);
    return krait_cli_exit_code(s);
}

int main(int argc, char **argv)
{
    krait_cli_start("krait-model", argc, argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("%s\n", usage);
        return krait_cli_done(argc < 2 ? 2 : 0); /* a usage cut short is exit 1 */
    }
    if (!strcmp(argv[1], "info")) return krait_cli_done(cmd_info(argc, argv));
    if (!strcmp(argv[1], "convert")) return krait_cli_done(cmd_convert(argc, argv));
    if (!strcmp(argv[1], "init")) return krait_cli_done(cmd_init(argc, argv));
    if (!strcmp(argv[1], "logits")) return krait_cli_done(cmd_logits(argc, argv));
    krait_cli_die(2, "unknown command '%s' (see --help)", argv[1]);
}
