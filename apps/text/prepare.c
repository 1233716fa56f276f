/* apps/text/prepare.c — `krait-text prepare`: text into token files for training.
 *
 * Inputs: text files, folders (walked recursively in name order; hidden entries skipped; a file
 * counts as text when its first 8 KiB hold no NUL byte), `.gz` files (decompressed on the fly)
 * and JSONL with a "text" field per line (`.jsonl`, `.jsonl.gz`; --jsonl-key names another). A text file is one document,
 * a JSONL line is one document. Output in DIR:
 *   train.bin, val.bin   token files (modalities/text/tokfile.h), documents separated by EOS
 *   meta.json            tokenizer, vocab, eos, max_id (the largest id used: train checks the
 *                        model's vocabulary against it), ids and text bytes per split, the
 *                        split, sources
 *   tokenizer.json       a copy of the BPE tokenizer (so train and the run folder find it)
 * Split, deterministic:
 *   --val-fraction F (default 0.1)   by document: non-empty document i (over all inputs in
 *                                    order) goes to validation when hash(seed, i) < F
 *   --split-tail F                   by position: the last F of all the ids go to validation
 *                                    (a single document, as nanoGPT splits tinyshakespeare:
 *                                    first 90% train, last 10% validation)
 * Memory stays bounded: text is read and encoded in pieces (textsrc.h) and the ids written as
 * they come. This file does not train or know models. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "runfolder.h"
#include "textapp.h"
#include "textsrc.h"
#include "tokenizer.h"
#include "tokfile.h"
#include "train.h"

typedef struct file_list {
    char **paths;
    int n, cap;
} file_list;

static void list_add(file_list *l, const char *path)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->paths = realloc(l->paths, sizeof *l->paths * (size_t)l->cap);
        if (!l->paths) krait_cli_die(1, "out of memory");
    }
    if (!(l->paths[l->n++] = strdup(path))) krait_cli_die(1, "out of memory");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* 1 when dir holds a prepared data set (meta.json and train.bin): its files are no text. */
static int is_data_folder(const char *dir)
{
    char *m = krait_fs_join(dir, "meta.json"), *t = krait_fs_join(dir, "train.bin");
    if (!m || !t) krait_cli_die(1, "out of memory");
    int yes = krait_fs_is_file(m) && krait_fs_is_file(t);
    free(m);
    free(t);
    return yes;
}

/* path added to l unless seen holds its file already (given as an input and found again in an
 * input folder, or reached through a link): its text would count twice. */
static void add_file(file_list *l, const char *path, krait_fs_seen *seen)
{
    if (krait_fs_seen_add(seen, path) == 0)
        KRAIT_WARN("%s: a file already read (as an input or through a link); not read again", path);
    else
        list_add(l, path);
}

/* Text files under dir, in name order (depth first), skipping hidden entries, skip_real, prepared
 * data folders (an earlier --output inside an input folder; with a warning) and a folder or file
 * reached a second time (a link loop, or two links to one folder: its files would count twice). */
static void walk(file_list *l, const char *dir, const char *skip_real, int *skipped, krait_fs_seen *seen)
{
    if (krait_fs_seen_add(seen, dir) == 0) {
        KRAIT_WARN("%s: a folder already read (through a link); not read again", dir);
        return;
    }
    DIR *d = opendir(dir);
    if (!d) krait_cli_die(2, "%s: cannot read the folder (%s)", dir, strerror(errno));
    file_list names = { 0 };
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') list_add(&names, e->d_name);
    closedir(d);
    if (names.n) qsort(names.paths, (size_t)names.n, sizeof *names.paths, cmp_str);
    for (int i = 0; i < names.n; i++) {
        char *p = krait_fs_join(dir, names.paths[i]);
        if (!p) krait_cli_die(1, "out of memory");
        char real[PATH_MAX];
        if (skip_real && realpath(p, real) && !strcmp(real, skip_real)) {
            /* the output folder inside an input folder */
        } else if (krait_fs_is_dir(p) && is_data_folder(p)) {
            KRAIT_WARN("%s: a prepared data folder (meta.json, train.bin); not read as text", p);
        } else if (krait_fs_is_dir(p)) {
            walk(l, p, skip_real, skipped, seen);
        } else if (krait_fs_is_file(p)) {
            if (krait_textsrc_sniff_text(p)) add_file(l, p, seen);
            else ++*skipped;
        } else { /* neither a file nor a folder once links are followed: a broken link or a loop */
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode))
                KRAIT_WARN("%s: a link that leads nowhere readable (%s); skipped", p,
                        stat(p, &st) != 0 ? strerror(errno) : "not a file or folder");
        }
        free(p);
        free(names.paths[i]);
    }
    free(names.paths);
}

typedef struct split_out {
    krait_tokfile_writer *w;
    long long docs, bytes;
} split_out;

typedef struct source_count {
    long long docs, bytes;
} source_count;

/* argv with "--input a b c" rewritten to "--input a --input b --input c". */
static char **expand_inputs(int argc, char **argv, int *out_argc)
{
    char **v = malloc(sizeof *v * (size_t)(2 * argc + 1));
    if (!v) krait_cli_die(1, "out of memory");
    int n = 0, in_input = 0;
    for (int i = 0; i < argc; i++) {
        if (in_input && strncmp(argv[i], "--", 2) != 0) v[n++] = "--input";
        else in_input = 0;
        v[n++] = argv[i];
        if (!strcmp(argv[i], "--input") && i + 1 < argc) {
            v[n++] = argv[++i];
            in_input = 1;
        }
    }
    v[n] = NULL;
    *out_argc = n;
    return v;
}

/* One prepare at a time in a data folder: out/.lock held for the command's life and removed at
 * its end (a data folder keeps none); then the temporaries a prepare killed with -9 left there
 * (NAME.tmp-XXXXXX of the files it writes) are removed, with a warning. */
static void lock_data_folder(const char *out)
{
    if (!krait_folder_lock(out, 1))
        krait_cli_die(2, "--output %s: another krait process is writing this data folder now (wait for it, or choose "
                      "another --output)", out);
    static const char *const made[] = { "train.bin", "val.bin", "meta.json", "tokenizer.json" };
    DIR *d = opendir(out);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        for (size_t k = 0; k < sizeof made / sizeof *made; k++) {
            const size_t l = strlen(made[k]);
            if (strlen(e->d_name) == l + 11 && !strncmp(e->d_name, made[k], l) && !strncmp(e->d_name + l, ".tmp-", 5) &&
                unlinkat(dirfd(d), e->d_name, 0) == 0)
                n++;
        }
    if (d) closedir(d);
    if (n) KRAIT_WARN("%s: removed %d temporar%s a stopped prepare left", out, n, n == 1 ? "y" : "ies");
}

static const char *new_out; /* the output folder this command created */
static void remove_empty_out(void)
{
    if (new_out) rmdir(new_out); /* fails, harmlessly, unless it is empty */
}

int text_cmd_prepare(int argc0, char **argv0)
{
    int argc;
    char **argv = expand_inputs(argc0, argv0, &argc);
    krait_str_list inputs = { 0 };
    const char *out = NULL, *tok_spec = "bytes";
    const char *json_key = NULL;
    double val_fraction = -1, tail = -1;
    int overwrite = 0;
    krait_opt opts[] = {
        { "--input", OPT_LIST, &inputs, "PATH...", "text files, folders, .gz, .jsonl (\"text\" field), .jsonl.gz" },
        { "--output", OPT_STR, &out, "DIR", "where train.bin, val.bin and meta.json go (created)" },
        { "--tokenizer", OPT_STR, &tok_spec, "T", "tokenizer.json (HF byte-level BPE) or bytes (default)" },
        { "--jsonl-key", OPT_STR, &json_key, "KEY", "the text field of .jsonl inputs' lines (default text)" },
        { "--val-fraction", OPT_DOUBLE, &val_fraction, "F", "share of the documents drawn for validation (default 0.1)" },
        { "--split-tail", OPT_DOUBLE, &tail, "F", "instead: the last F of all ids go to validation (one document, "
                                                  "nanoGPT's tinyshakespeare split is 0.1)" },
        { "--overwrite", OPT_FLAG, &overwrite, NULL, "replace the prepared data DIR already holds" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-text prepare --input PATH... --output DIR [--tokenizer tokenizer.json|bytes]\n"
                    "                          [--val-fraction F | --split-tail F] [--overwrite]\n"
                    "Text into memory-mapped token files: documents separated by EOS, split into train and\n"
                    "validation (by document, or by the tail of the ids with --split-tail).");
    if (!inputs.n || !out) krait_cli_die(2, "prepare: --input and --output are required");
    if (val_fraction >= 0 && tail >= 0) krait_cli_die(2, "prepare: give --val-fraction or --split-tail, not both");
    if (tail >= 0 && c.seed_set)
        krait_cli_die(2, "prepare: --seed draws --val-fraction's documents; --split-tail takes the last ids (no draw)");
    if (tail >= 1 || (tail < 0 && tail != -1))
        krait_cli_die(2, "prepare: --split-tail %g: the validation share must be in [0, 1)", tail);
    if (val_fraction >= 1 || (val_fraction < 0 && val_fraction != -1))
        krait_cli_die(2, "prepare: --val-fraction %g: the validation share must be in [0, 1)", val_fraction);
    if (val_fraction < 0) val_fraction = 0.1;
    if (!overwrite && krait_fs_is_dir(out) && is_data_folder(out)) /* before reading a byte of the inputs */
        krait_cli_die(2, "--output %s: holds prepared data already (meta.json, train.bin); --overwrite replaces it",
                      out);

    /* inputs -> files */
    file_list files = { 0 };
    int skipped = 0;
    struct stat ost;
    char out_real[PATH_MAX];
    const char *skip = stat(out, &ost) == 0 && realpath(out, out_real) ? out_real : NULL;
    krait_fs_seen seen = { 0 };
    krait_cli_refuse_repeated(&inputs, "--input");
    for (int i = 0; i < inputs.n; i++) {
        const char *p = inputs.items[i];
        struct stat st;
        if (stat(p, &st) != 0) krait_cli_die(2, "%s: cannot open the input (%s)", p, strerror(errno));
        if (S_ISDIR(st.st_mode) && krait_fs_same(p, out))
            krait_cli_die(2, "--output %s: it is the --input folder; its token files would be read back as text "
                          "(write them to another folder)", out);
        static const char *const made[] = { "train.bin", "val.bin", "meta.json", "tokenizer.json" };
        for (size_t k = 0; S_ISREG(st.st_mode) && k < sizeof made / sizeof *made; k++) { /* an input file among them */
            char *o = krait_fs_join(out, made[k]);
            if (!o) krait_cli_die(1, "out of memory");
            krait_cli_refuse_overwrite(o, "--output", &p, 1);
            free(o);
        }
        if (S_ISDIR(st.st_mode) && is_data_folder(p))
            krait_cli_die(2, "--input %s: a prepared data folder (meta.json, train.bin), not text: train on it with "
                          "--data, or give the text it was prepared from", p);
        if (S_ISDIR(st.st_mode)) {
            int before = files.n, sk = skipped;
            walk(&files, p, skip, &skipped, &seen);
            if (files.n == before)
                krait_cli_die(2, "%s: no text files in the folder (%d non-text files skipped)", p, skipped - sk);
        } else if (S_ISREG(st.st_mode)) {
            add_file(&files, p, &seen);
        } else {
            krait_cli_die(2, "%s: not a file or a folder", p);
        }
    }
    krait_fs_seen_free(&seen);
    if (skipped) fprintf(stderr, "krait-text: skipped %d non-text files in the input folders\n", skipped);
    int n_jsonl = 0;
    for (int f = 0; f < files.n; f++) n_jsonl += krait_textsrc_is_jsonl(files.paths[f]);
    if (json_key && !n_jsonl)
        krait_cli_die(2, "prepare: --jsonl-key %s names the text field of .jsonl inputs, and none is given", json_key);
    static const char *const model_files[] = { "config.json", "model.safetensors", "model.safetensors.index.json",
                                               "checkpoints" };
    for (size_t k = 0; k < sizeof model_files / sizeof *model_files; k++) /* its tokenizer.json is not ours */
        if (krait_run_has(out, model_files[k]))
            krait_cli_die(2, "--output %s: a model or run folder (it holds %s); prepare writes a data folder of its "
                          "own (train.bin, val.bin, meta.json, tokenizer.json): choose another", out, model_files[k]);

    krait_tokenizer *tok = NULL;
    krait_status s = krait_tokenizer_open(tok_spec, &tok);
    if (s) return krait_cli_exit_code(s);
    int bpe = krait_tokenizer_kind_of(tok) == KRAIT_TOKENIZER_BPE;
    static const char *const writes[] = { "train.bin", "val.bin", "meta.json", "tokenizer.json" };
    for (size_t k = 0; k < sizeof writes / sizeof *writes - !bpe; k++) { /* before the work: none half-replaced */
        char *w = krait_fs_join(out, writes[k]);
        if (!w) krait_cli_die(1, "out of memory");
        if (krait_fs_is_dir(w)) krait_cli_die(2, "--output %s: %s is a folder, where prepare writes a file", out, w);
        free(w);
    }
    int vocab = krait_tokenizer_vocab_size(tok), eos = krait_tokenizer_eos(tok);
    if (eos < 0) fprintf(stderr, "krait-text: the tokenizer has no <|endoftext|>: documents are joined without a separator\n");
    char *made_top = NULL; /* the topmost folder mkdirs makes for out */
    if (!krait_fs_is_dir(out)) { /* made here: removed again if the command leaves it empty (a failure) */
        new_out = out;
        atexit(remove_empty_out);
        made_top = krait_fs_first_missing(out);
    }
    if ((s = krait_fs_mkdirs(out))) return krait_cli_exit_code(s);
    lock_data_folder(out);
    if (made_top) krait_cli_remove_on_kill(made_top); /* a stop before the files go in: they go (and the temporaries) */
    free(made_top);
    const int replacing = is_data_folder(out); /* said once the new files are in, as trainers would refuse it */
    char *train_path = krait_fs_join(out, "train.bin"), *val_path = krait_fs_join(out, "val.bin");
    int width = krait_tokfile_id_bytes_for(vocab);
    split_out sp[2] = { { 0 } }; /* 0 train, 1 val */
    if ((s = krait_tokfile_create(train_path, width, &sp[0].w)) || (s = krait_tokfile_create(val_path, width, &sp[1].w)))
        return krait_cli_exit_code(s);
    char *temp[2] = { strdup(krait_tokfile_temp_path(sp[0].w)), strdup(krait_tokfile_temp_path(sp[1].w)) };
    if (!temp[0] || !temp[1]) krait_cli_die(1, "out of memory");
    krait_cli_temp_add(temp[0]), krait_cli_temp_add(temp[1]); /* gone if prepare is stopped or fails */

    source_count *counts = calloc((size_t)files.n, sizeof *counts);
    size_t n_ids = 0, cap = 4096;
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!ids || !counts) krait_cli_die(1, "out of memory");
    long long doc_index = 0, total_bytes = 0;
    int max_id = -1;
    krait_progress prog;
    krait_progress_init(&prog, 200);
    double t0 = krait_now();
    int rc = 0;
    for (int f = 0; f < files.n && !rc; f++) {
        krait_textsrc *src = NULL;
        if ((s = krait_textsrc_open(files.paths[f], &src))) {
            rc = krait_cli_exit_code(s);
            break;
        }
        text_source_setup(src, tok, json_key);
        split_out *cur = NULL;
        for (;;) {
            const char *text;
            size_t len;
            int new_doc;
            if ((s = krait_textsrc_next(src, &text, &len, &new_doc))) {
                rc = krait_cli_exit_code(s);
                break;
            }
            if (!text) break;
            if (new_doc) cur = NULL;
            if (len == 0) continue;
            n_ids = 0;
            if (!cur) { /* the document's first text: choose its split */
                int val = tail >= 0 ? 0 : (double)(krait_mix64(c.seed * 0x100000001b3ULL ^ krait_mix64((uint64_t)doc_index, 0), 0) >> 11) *
                                                  0x1.0p-53 < val_fraction;
                cur = &sp[val];
                if (cur->docs > 0 && eos >= 0) ids[n_ids++] = eos;
                cur->docs++;
                counts[f].docs++;
                doc_index++;
            }
            if ((s = krait_tokenizer_encode(tok, text, len, krait_textsrc_where(src), &ids, &n_ids, &cap)) ||
                (s = krait_tokfile_append(cur->w, ids, n_ids))) {
                rc = krait_cli_exit_code(s);
                break;
            }
            for (size_t i = 0; i < n_ids; i++) max_id = ids[i] > max_id ? ids[i] : max_id;
            cur->bytes += (long long)len;
            counts[f].bytes += (long long)len;
            total_bytes += (long long)len;
            double dt = krait_now() - t0;
            krait_progress_line(&prog, 0, "prepare: file %d/%d, %.1f MB of text, %lld ids, %.1f MB/s", f + 1, files.n,
                                total_bytes / 1e6,
                                (long long)(krait_tokfile_written(sp[0].w) + krait_tokfile_written(sp[1].w)),
                                dt > 0 ? total_bytes / 1e6 / dt : 0);
        }
        krait_textsrc_close(src);
    }
    krait_progress_done(&prog);
    if (!rc && doc_index == 0) {
        if (files.n == 1) KRAIT_ERROR("%s: no text in the input (the file is empty)", files.paths[0]);
        else KRAIT_ERROR("no text in the inputs (%d files, all empty)", files.n);
        rc = 2;
    }
    /* --split-tail: move the last ids of train.bin into val.bin */
    if (!rc && tail >= 0) {
        uint64_t n = krait_tokfile_written(sp[0].w), cut = (uint64_t)floor((double)n * (1.0 - tail));
        int32_t buf[8192], before = -1;
        long long moved_eos = 0; /* documents: each moved EOS starts one in val and ends one in train */
        int cut_inside = 0;      /* the cut splits a document: it has ids on both sides */
        if (cut > 0 && cut < n && (s = krait_tokfile_reread(sp[0].w, &before, cut - 1, 1))) rc = krait_cli_exit_code(s);
        for (uint64_t at = cut; at < n && !rc; at += sizeof buf / sizeof buf[0]) {
            size_t k = n - at < sizeof buf / sizeof buf[0] ? (size_t)(n - at) : sizeof buf / sizeof buf[0];
            char *text = NULL;
            size_t tn = 0, tcap = 0;
            if ((s = krait_tokfile_reread(sp[0].w, buf, at, k)) || (s = krait_tokfile_append(sp[1].w, buf, k))) {
                rc = krait_cli_exit_code(s);
                break;
            }
            /* text bytes of the moved ids (EOS separators do not count) */
            for (size_t i = 0; i < k && !rc; i++) {
                if (at + i == cut && buf[i] != eos) cut_inside = 1;
                if (buf[i] == eos) {
                    moved_eos++;
                    continue;
                }
                tn = 0;
                if ((s = krait_tokenizer_decode(tok, &buf[i], 1, &text, &tn, &tcap))) rc = krait_cli_exit_code(s);
                sp[1].bytes += (long long)tn;
            }
            free(text);
        }
        sp[0].bytes -= sp[1].bytes;
        sp[1].docs = cut_inside + moved_eos;
        sp[0].docs -= moved_eos + (before == eos && eos >= 0); /* the documents wholly moved */
        if (!rc && (s = krait_tokfile_truncate(sp[0].w, cut))) rc = krait_cli_exit_code(s);
    }
    free(ids);
    uint64_t nt = krait_tokfile_written(sp[0].w), nv = krait_tokfile_written(sp[1].w);
    if (!rc && nt == 0) { /* nothing to train on: refuse rather than write an empty split */
        KRAIT_ERROR("prepare: the train split is empty (%lld documents, %llu validation ids); %s", doc_index,
                    (unsigned long long)nv, tail >= 0 ? "lower --split-tail" : "lower --val-fraction, or use --split-tail F");
        rc = 2;
    }
    if (rc) {
        krait_tokfile_abort(sp[0].w);
        krait_tokfile_abort(sp[1].w);
        return rc;
    }
    /* meta.json is written last and, when earlier data is replaced, removed first: a prepare
     * stopped or failing between the renames below leaves a folder that says it is unfinished,
     * never one old file beside new ones */
    krait_cli_remove_on_kill(NULL); /* from here a stop leaves what is renamed in (meta.json last) */
    char *old_meta = krait_fs_join(out, "meta.json");
    if (!old_meta) krait_cli_die(1, "out of memory");
    const int had_meta = krait_fs_is_file(old_meta);
    if (had_meta && unlink(old_meta) != 0)
        krait_cli_die(krait_cli_errno_exit(errno), "%s: cannot remove it before replacing the data (%s)", old_meta,
                      strerror(errno));
    free(old_meta);
    s = krait_tokfile_finish(sp[0].w);
    krait_status s2 = krait_tokfile_finish(sp[1].w);
    krait_cli_temp_done(temp[0]), krait_cli_temp_done(temp[1]); /* renamed into place, or removed by finish */
    free(temp[0]), free(temp[1]);
    if (s || s2) return krait_cli_exit_code(s ? s : s2);
    if (nv == 0 && tail < 0 && val_fraction > 0)
        KRAIT_WARN("the validation split is empty (%lld document%s, each drawn with "
                        "probability %g, none was); --split-tail F takes the last fraction F of the text instead",
                doc_index, doc_index == 1 ? "" : "s", val_fraction);
    if (bpe) { /* the run folder and generate find the tokenizer beside the data */
        char *dst = krait_fs_join(out, "tokenizer.json");
        char *text = krait_fs_read_text(tok_spec, (size_t)1 << 30, &s);
        if (!text || (s = krait_fs_write_atomic(dst, text, strlen(text)))) return krait_cli_exit_code(s);
        free(text);
        free(dst);
    } else { /* a byte-level dataset: a tokenizer.json left from an earlier prepare would mislead */
        char *old = krait_fs_join(out, "tokenizer.json");
        if (old && krait_fs_is_file(old)) {
            if (had_meta) remove(old); /* meta.json is about to name the byte tokenizer */
            else KRAIT_WARN("%s: not written by prepare, kept; this byte-level data does not use it", old);
        }
        free(old);
    }

    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "format", "krait-tokens");
    cJSON_AddNumberToObject(m, "version", KRAIT_TOKFILE_VERSION);
    cJSON_AddStringToObject(m, "tokenizer", bpe ? "tokenizer.json" : "bytes");
    cJSON_AddNumberToObject(m, "vocab", vocab);
    cJSON_AddNumberToObject(m, "eos", eos);
    cJSON_AddNumberToObject(m, "max_id", max_id);
    cJSON_AddStringToObject(m, "dtype", width == 2 ? "uint16" : "uint32");
    const char *names[2] = { "train", "val" };
    for (int i = 0; i < 2; i++) {
        cJSON *o = cJSON_AddObjectToObject(m, names[i]);
        cJSON_AddStringToObject(o, "file", i ? "val.bin" : "train.bin");
        cJSON_AddNumberToObject(o, "tokens", (double)(i ? nv : nt));
        cJSON_AddNumberToObject(o, "bytes", (double)sp[i].bytes);
        cJSON_AddNumberToObject(o, "documents", (double)sp[i].docs);
    }
    cJSON *split = cJSON_AddObjectToObject(m, "split");
    cJSON_AddStringToObject(split, "mode", tail >= 0 ? "tail" : "documents");
    cJSON_AddNumberToObject(split, "fraction", tail >= 0 ? tail : val_fraction);
    if (tail < 0) cJSON_AddNumberToObject(split, "seed", (double)c.seed);
    cJSON *srcs = cJSON_AddArrayToObject(m, "sources");
    for (int f = 0; f < files.n; f++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", files.paths[f]);
        cJSON_AddNumberToObject(o, "documents", (double)counts[f].docs);
        cJSON_AddNumberToObject(o, "bytes", (double)counts[f].bytes);
        cJSON_AddItemToArray(srcs, o);
    }
    char *json = cJSON_Print(m);
    char *meta_path = krait_fs_join(out, "meta.json");
    if (!json || !meta_path || (s = krait_fs_write_atomic(meta_path, json, strlen(json))))
        return krait_cli_exit_code(s ? s : KRAIT_STATUS_NO_MEMORY);
    double secs = krait_now() - t0;
    if (replacing) fprintf(stderr, "krait-text: warning: %s held prepared data before; it is replaced (--overwrite)\n", out);
#define DOCS(n) (n), (n) == 1 ? "" : "s"
    printf("prepared %s: %lld document%s, %.2f MB of text -> train %llu ids (%lld document%s), val %llu ids "
           "(%lld document%s), vocab %d, %.1fs\n", out, DOCS(doc_index), total_bytes / 1e6, (unsigned long long)nt,
           DOCS(sp[0].docs), (unsigned long long)nv, DOCS(sp[1].docs), vocab, secs);
#undef DOCS
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddStringToObject(o, "tokenizer", bpe ? "tokenizer.json" : "bytes");
        cJSON_AddNumberToObject(o, "vocab", vocab);
        cJSON_AddNumberToObject(o, "documents", (double)doc_index);
        cJSON_AddNumberToObject(o, "bytes", (double)total_bytes);
        cJSON_AddNumberToObject(o, "train_tokens", (double)nt);
        cJSON_AddNumberToObject(o, "val_tokens", (double)nv);
        cJSON_AddNumberToObject(o, "train_documents", (double)sp[0].docs);
        cJSON_AddNumberToObject(o, "val_documents", (double)sp[1].docs);
        cJSON_AddNumberToObject(o, "seconds", secs);
        krait_cli_print_json(o);
    }
    free(json);
    free(meta_path);
    cJSON_Delete(m);
    free(counts);
    for (int f = 0; f < files.n; f++) free(files.paths[f]);
    free(files.paths);
    free(train_path);
    free(val_path);
    krait_tokenizer_free(tok);
    free(argv);
    return 0;
}
