/* apps/audio/encode.c — `krait-audio encode`: audio files -> their 8-bit id streams as raw bytes
 * (one byte per sample: the ids a waveform model reads), for a compressor baseline such as
 * `xz -9` on exactly the samples `krait-audio eval` scores.
 *
 * The front-end is a model folder's (--model DIR: audio.json) or given by options (--rate,
 * --quantization, --normalize). Writes OUT/files/NNNNN_<file name, at most 200 bytes>.u8 for every file read
 * (NNNNN its place among them, from 00000; an unreadable file is skipped with a warning) and
 * OUT/all.u8, their concatenation in listing order; an earlier encode in OUT is replaced only
 * once every write succeeded. One file is in memory at a time. Prints the file and sample
 * counts. No files selected (or none readable) is an error, as in the other commands. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "audio_io.h"
#include "audioapp.h"
#include "fsutil.h"

static void write_bytes(FILE *f, const int32_t *ids, size_t n, const char *path)
{
    unsigned char buf[4096];
    for (size_t i = 0; i < n;) {
        size_t k = n - i < sizeof buf ? n - i : sizeof buf;
        for (size_t j = 0; j < k; j++) buf[j] = (unsigned char)ids[i + j];
        if (fwrite(buf, 1, k, f) != k) krait_cli_die(1, "%s: write failed (%s)", path, strerror(errno));
        i += k;
    }
}

/* Remove the NNNNN_<name>.u8 files an earlier encode wrote into dir (nothing else). */
static char *pending; /* the new files/ folder while it is being written: removed if the command fails */

/* 1 when dir holds regular *.u8 files only (an encode's streams) */
static int only_streams(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int ok = 1;
    for (struct dirent *e; ok && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        size_t n = strlen(e->d_name);
        ok = n > 3 && !strcmp(e->d_name + n - 3, ".u8") && e->d_type != DT_DIR && e->d_type != DT_LNK;
    }
    closedir(d);
    return ok;
}

static const char *new_out; /* OUT, when this encode made it: removed again on a failure */

static void drop_pending(void)
{
    if (!pending) return;
    krait_fs_remove_tree(pending);
    if (new_out) rmdir(new_out); /* fails, harmlessly, unless it is empty */
}

int audio_cmd_encode(int argc, char **argv)
{
    const char *model_dir = NULL, *out = NULL, *quant = NULL, *norm = NULL;
    int rate = -1;   /* -1: not given */
    audio_data_opts d = { .test_fraction = -1, .split = "all" };
    krait_opt opts[] = {
        AUDIO_DATA_OPTS(d),
        { "--split", OPT_STR, &d.split, "PART", "which files: all (default), train or test" },
        { "--model", OPT_STR, &model_dir, "DIR", "use this model folder's front-end (audio.json)" },
        { "--rate", OPT_INT, &rate, "HZ", "sample rate (default 8000)" },
        { "--quantization", OPT_STR, &quant, "Q", "mulaw (default) or linear8" },
        { "--normalize", OPT_STR, &norm, "N", "peak (default) or none" },
        { "--out", OPT_STR, &out, "DIR", "output folder: files/NNNNN_<file name>.u8 and all.u8 (required)" },
        KRAIT_OPTS_NO_MODEL,
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-audio encode --data DIR|TSV|FILE [--split test --test-regex RE] --out DIR [--model DIR]\n"
                    "Write the 8-bit sample ids of audio files as raw bytes (one per sample).");
    if (!d.data || !out) krait_cli_die(2, "encode: --data and --out are required");
    if (rate == 0) krait_cli_die(2, "encode: --rate must be > 0");
    if (model_dir && (rate > 0 || quant || norm))
        krait_cli_die(2, "encode: --model %s gives the front-end; --rate, --quantization and --normalize would change "
                      "what it was trained on (leave them out)", model_dir);
    audio_frontend fe;
    if (model_dir) audio_fe_load(&fe, model_dir), audio_data_as_trained(&d, &fe, 0);
    else audio_fe_default(&fe);
    if (model_dir && fe.logmel) { /* a log-mel classifier's: its samples are written, quantised, not its frames */
        fe.logmel = 0;
        fprintf(stderr, "krait-audio: encode: %s reads log-mel frames; written are its samples, quantised: %s\n",
                model_dir, audio_fe_describe(&fe));
    }
    cJSON *o = cJSON_CreateObject();
    if (rate > 0) cJSON_AddNumberToObject(o, "rate", rate);
    if (quant) cJSON_AddStringToObject(o, "quantization", quant);
    if (norm) cJSON_AddStringToObject(o, "normalize", norm);
    audio_fe_apply_json(&fe, o, "encode options");
    cJSON_Delete(o);
    if (strcmp(d.split, "all") && strcmp(d.split, "train") && strcmp(d.split, "test"))
        krait_cli_die(2, "encode: --split must be all, train or test (not '%s')", d.split);

    krait_audio_list list = { 0 };
    int *is_test = NULL, single = !krait_fs_is_dir(d.data) && krait_audio_is_audio_name(d.data);
    if (single) { /* one file: its problem is the command's error, not a skip (checked before OUT is made) */
        float *x;
        size_t n;
        krait_status rs = krait_audio_read_all(d.data, fe.rate, 0, &x, &n);
        if (rs) return krait_cli_exit_code(rs);
        free(x);
        list.items = malloc(sizeof *list.items);
        if (!list.items) krait_cli_die(1, "out of memory");
        list.items[0] = (krait_audio_item){ strdup(d.data), NULL, -1, 0 };
        list.n = list.cap = 1;
    } else {
        audio_list_split(&list, &is_test, &d);
    }
    int *want = malloc(sizeof *want * (size_t)list.n);
    if (!want) krait_cli_die(1, "out of memory");
    int want_test = !strcmp(d.split, "test");
    for (int i = 0; i < list.n; i++) want[i] = single || !strcmp(d.split, "all") || is_test[i] == want_test;
    /* the streams go to OUT/files.new and all.u8 under a temporary name; only when every write
     * succeeded do they replace an earlier encode's (whose files would not match the new all.u8) */
    char *files_dir = krait_fs_join(out, "files"), *new_dir = krait_fs_join(out, "files.new"),
         *old_dir = krait_fs_join(out, "files.old"), *all_path = krait_fs_join(out, "all.u8");
    if (!files_dir || !new_dir || !old_dir || !all_path) krait_cli_die(1, "out of memory");
    /* a failed encode's leftovers: removed, but only when they are: files of streams (*.u8) */
    const char *const spare[2] = { new_dir, old_dir };
    for (int k = 0; k < 2; k++) {
        struct stat sb;
        if (lstat(spare[k], &sb) != 0) continue;
        if (!S_ISDIR(sb.st_mode) || !only_streams(spare[k]))
            krait_cli_die(2, "%s: in the way (encode swaps files/ through this name): move it away", spare[k]);
        krait_fs_remove_tree(spare[k]);
    }
    /* OUT/files is replaced whole: only an earlier encode's (streams only) may be there */
    {
        struct stat sb;
        if (lstat(files_dir, &sb) == 0 && (!S_ISDIR(sb.st_mode) || !only_streams(files_dir)))
            krait_cli_die(2, "%s: holds files that are not an encode's streams (*.u8), and encode replaces this "
                          "folder: move them away or choose another --out", files_dir);
    }
    /* one file at a time: read, quantise, write, free (memory is the largest file's, not the set's) */
    if (!krait_fs_is_dir(out)) new_out = out;
    krait_status s = krait_fs_mkdirs(new_dir);
    if (s) exit(krait_cli_exit_code(s));
    pending = new_dir;
    atexit(drop_pending);
    krait_cli_catch_signals(); /* a Ctrl-C ends the loop below, and exit removes files.new */
    FILE *all = krait_cli_output_open(all_path);
    int total = 0, done = 0, written = 0, skipped = 0;
    long long samples = 0;
    for (int i = 0; i < list.n; i++) total += want[i];
    krait_progress prog;
    krait_progress_init(&prog, KRAIT_PROGRESS_FORCED_ONLY);
    for (int i = 0; i < list.n; i++) {
        if (!want[i]) continue;
        if (krait_cli_stop_requested())
            krait_cli_die(130, "encode: interrupted after %d of %d files; nothing of this encode is kept in %s", done,
                          total, out);
        krait_audio_list item = { .items = &list.items[i], .n = 1, .cap = 1, .manifest = list.manifest }; /* a view of one entry */
        krait_audio_set one; /* an unreadable file is skipped there, with its warning */
        if ((s = krait_audio_set_load(&one, &item, NULL, fe.rate, fe.normalize, NULL, NULL)))
            exit(krait_cli_exit_code(s));
        done++;
        skipped += one.skipped;
        if (!one.n) {
            krait_audio_set_free(&one);
            krait_progress_line(&prog, done == total, "encoding %s audio: %d/%d files", d.split, done, total);
            continue;
        }
        const char *path = list.items[i].path;
        const size_t n = one.clips[0].n;
        int32_t *ids = audio_clip_ids(&fe, one.clips[0].x, n);
        krait_audio_set_free(&one);
        const char *b = strrchr(path, '/'), *base = b ? b + 1 : path;
        size_t keep = strlen(base); /* a name the file system takes: NUMBER_ + at most 200 bytes of it + .u8 */
        if (keep > 200)
            for (keep = 200; keep > 0 && ((unsigned char)base[keep] & 0xC0) == 0x80; keep--) {} /* whole characters */
        size_t size = strlen(new_dir) + keep + 32;
        char *name = malloc(size);
        if (!name) krait_cli_die(1, "out of memory");
        snprintf(name, size, "%s/%05d_%.*s.u8", new_dir, written, (int)keep, base);
        FILE *f = fopen(name, "wb");
        if (!f) krait_cli_die(krait_cli_errno_exit(errno), "%s: cannot open for writing (%s)", name, strerror(errno));
        write_bytes(f, ids, n, name);
        write_bytes(all, ids, n, all_path);
        if (fclose(f) != 0) krait_cli_die(1, "%s: write failed", name);
        free(ids);
        free(name);
        written++;
        samples += (long long)n;
        krait_progress_line(&prog, done == total, "encoding %s audio: %d/%d files", d.split, done, total);
    }
    krait_progress_done(&prog);
    audio_say_skipped(d.split, skipped, written);
    if (!written) audio_die_empty(&list, want, d.data, single ? "input" : d.split);
    /* the old encode out of the way whole before the new one takes its names: first its all.u8
     * (a folder without one is plainly unfinished), then files/ renamed aside (removed last), so
     * no moment pairs one encode's all.u8 with another's files/ */
    if (krait_cli_stop_requested()) /* during the last file: before anything is replaced */
        krait_cli_die(130, "encode: interrupted after %d of %d files; nothing of this encode is kept in %s", total, total,
                      out);
    if (fflush(all) != 0 || ferror(all)) krait_cli_die(1, "%s: write failed (%s)", all_path, strerror(errno));
    krait_cli_output_unlink_old(all_path);
    if (krait_fs_is_dir(files_dir) && rename(files_dir, old_dir) != 0)
        krait_cli_die(1, "%s: cannot rename to %s (%s)", files_dir, old_dir, strerror(errno));
    if (rename(new_dir, files_dir) != 0)
        krait_cli_die(1, "%s: cannot rename to %s (%s)", new_dir, files_dir, strerror(errno));
    pending = NULL;
    krait_cli_output_close(all); /* exits on a failed write, the temporary removed */
    if (krait_fs_is_dir(old_dir) && (s = krait_fs_remove_tree(old_dir))) exit(krait_cli_exit_code(s));
    printf("%s: %d file%s, %lld samples (%s) -> %s\n", d.data, written, written == 1 ? "" : "s", samples,
           audio_fe_describe(&fe), out);
    if (c.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "files", written);
        cJSON_AddNumberToObject(j, "samples", (double)samples);
        cJSON_AddNumberToObject(j, "skipped", skipped);
        krait_cli_print_json(j);
    }
    krait_audio_list_free(&list);
    free(is_test), free(want), free(files_dir), free(new_dir), free(old_dir), free(all_path);
    audio_fe_free(&fe);
    return 0;
}
