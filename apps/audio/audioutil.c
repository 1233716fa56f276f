/* apps/audio/audioutil.c — what the krait-audio commands share; see audioapp.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audio_io.h"
#include "audioapp.h"
#include "evaluate.h"
#include "fsutil.h"
#include "log.h"
#include "trainopts.h"

/* ---- front-end settings ------------------------------------------------------------------- */
static int get_int(const cJSON *v, const char *origin, const char *key, int lo, int hi)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
        krait_cli_die(2, "%s: \"%s\" must be an integer in [%d, %d]", origin, key, lo, hi);
    return (int)v->valuedouble;
}

static const char *get_str(const cJSON *v, const char *origin, const char *key)
{
    if (!cJSON_IsString(v)) krait_cli_die(2, "%s: \"%s\" must be a string", origin, key);
    return v->valuestring;
}

void audio_fe_default(audio_frontend *fe)
{
    memset(fe, 0, sizeof *fe);
    fe->rate = 8000;
    fe->quant = KRAIT_QUANT_MULAW;
    fe->normalize = 1;
    fe->mel = krait_mel_default_params(fe->rate);
}

void audio_fe_clear_classes(audio_frontend *fe)
{
    for (int i = 0; i < fe->n_classes; i++) free(fe->classes[i]);
    free(fe->classes);
    fe->classes = NULL, fe->n_classes = 0;
}

void audio_fe_free(audio_frontend *fe)
{
    audio_fe_clear_classes(fe);
    free(fe->data.test_regex);
    free(fe->data.label_regex);
    memset(&fe->data, 0, sizeof fe->data);
}

static char *dup_or_null(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d) krait_cli_die(1, "out of memory");
    return d;
}

void audio_fe_record_data(audio_frontend *fe, const audio_data_opts *o)
{
    /* o's strings may be fe's own (audio_data_as_trained): copy before freeing */
    char *test = dup_or_null(o->test_regex), *label = dup_or_null(o->label_regex);
    free(fe->data.test_regex);
    free(fe->data.label_regex);
    fe->data.set = 1;
    fe->data.test_regex = test;
    fe->data.test_fraction = o->test_regex ? -1 : o->test_fraction >= 0 ? o->test_fraction : 0.1;
    fe->data.label_regex = label;
    fe->data.label_from_dir = o->label_from_dir;
}

void audio_data_as_trained(audio_data_opts *o, const audio_frontend *fe, int labels)
{
    if (!fe->data.set) return;
    int split = o->split && strcmp(o->split, "all");
    if (!o->test_regex && o->test_fraction < 0) {
        o->test_regex = fe->data.test_regex;
        o->test_fraction = fe->data.test_fraction;
        if (split) {
            if (o->test_regex)
                fprintf(stderr, "%s: --split %s as trained: test files are those whose names match '%s'\n",
                        krait_cli_prog(), o->split, o->test_regex);
            else
                fprintf(stderr, "%s: --split %s as trained: test files are %g of the names by hash\n", krait_cli_prog(),
                        o->split, o->test_fraction);
        }
    }
    if (labels && !o->label_regex && !o->label_from_dir && o->data && krait_fs_is_dir(o->data) &&
        (fe->data.label_regex || fe->data.label_from_dir)) {
        o->label_regex = fe->data.label_regex;
        o->label_from_dir = fe->data.label_from_dir;
        o->labels_as_trained = 1;
        if (o->split)
            fprintf(stderr, "%s: labels as trained: %s%s%s\n", krait_cli_prog(),
                    o->label_regex ? "--label-regex '" : "--label-from-dir", o->label_regex ? o->label_regex : "",
                    o->label_regex ? "'" : "");
    }
}

static void apply_data(audio_frontend *fe, const cJSON *o, const char *origin)
{
    if (!cJSON_IsObject(o)) krait_cli_die(2, "%s: \"data\" must be an object", origin);
    audio_data_opts d = { .test_fraction = -1 };
    const cJSON *v;
    cJSON_ArrayForEach(v, o) {
        const char *k = v->string;
        if (!strcmp(k, "test_regex")) d.test_regex = get_str(v, origin, "data.test_regex");
        else if (!strcmp(k, "label_regex")) d.label_regex = get_str(v, origin, "data.label_regex");
        else if (!strcmp(k, "label_from_dir")) {
            if (!cJSON_IsBool(v)) krait_cli_die(2, "%s: \"data.label_from_dir\" must be true or false", origin);
            d.label_from_dir = cJSON_IsTrue(v);
        } else if (!strcmp(k, "test_fraction")) {
            if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < 1))
                krait_cli_die(2, "%s: \"data.test_fraction\" must be a number in [0, 1)", origin);
            d.test_fraction = v->valuedouble;
        } else krait_cli_die(2, "%s: unknown key \"data.%s\" (test_regex, test_fraction, label_regex, label_from_dir)",
                             origin, k);
    }
    audio_fe_record_data(fe, &d);
}

static void apply_mel(krait_mel_params *mp, const cJSON *o, const char *origin)
{
    if (!cJSON_IsObject(o)) krait_cli_die(2, "%s: \"audio.mel\" must be an object", origin);
    const cJSON *v;
    cJSON_ArrayForEach(v, o) {
        const char *k = v->string;
        if (!strcmp(k, "win")) mp->win = get_int(v, origin, "mel.win", 2, 1 << 16);
        else if (!strcmp(k, "hop")) mp->hop = get_int(v, origin, "mel.hop", 1, 1 << 16);
        else if (!strcmp(k, "bands")) mp->n_mels = get_int(v, origin, "mel.bands", 1, 512);
        else if (!strcmp(k, "cmvn")) mp->cmvn = get_int(v, origin, "mel.cmvn", 0, 2);
        else if (!strcmp(k, "fmin") || !strcmp(k, "fmax")) {
            if (!cJSON_IsNumber(v) || v->valuedouble < 0) krait_cli_die(2, "%s: \"mel.%s\" must be a number >= 0", origin, k);
            *(!strcmp(k, "fmin") ? &mp->fmin : &mp->fmax) = (float)v->valuedouble;
        } else krait_cli_die(2, "%s: unknown key \"audio.mel.%s\" (win, hop, bands, fmin, fmax, cmvn)", origin, k);
    }
}

void audio_fe_apply_json(audio_frontend *fe, const void *obj, const char *origin)
{
    const cJSON *o = obj, *v;
    if (!cJSON_IsObject(o)) krait_cli_die(2, "%s: the audio settings must be a JSON object", origin);
    int mel_rate_default = fe->mel.rate == fe->rate;
    cJSON_ArrayForEach(v, o) {
        const char *k = v->string;
        if (!strcmp(k, "format")) continue;
        if (!strcmp(k, "rate")) fe->rate = get_int(v, origin, "rate", 100, 768000);
        else if (!strcmp(k, "quantization")) {
            if (!krait_quant_from_name(&fe->quant, get_str(v, origin, k)))
                krait_cli_die(2, "%s: \"quantization\" must be \"mulaw\" or \"linear8\" (not \"%s\")", origin, v->valuestring);
        } else if (!strcmp(k, "normalize")) {
            const char *s = get_str(v, origin, k);
            if (strcmp(s, "peak") && strcmp(s, "none"))
                krait_cli_die(2, "%s: \"normalize\" must be \"peak\" or \"none\" (not \"%s\")", origin, s);
            fe->normalize = !strcmp(s, "peak");
        } else if (!strcmp(k, "input")) {
            const char *s = get_str(v, origin, k);
            if (strcmp(s, "tokens") && strcmp(s, "logmel"))
                krait_cli_die(2, "%s: \"input\" must be \"tokens\" or \"logmel\" (not \"%s\")", origin, s);
            fe->logmel = !strcmp(s, "logmel");
        } else if (!strcmp(k, "mel")) {
            apply_mel(&fe->mel, v, origin);
        } else if (!strcmp(k, "classes")) {
            int n = cJSON_GetArraySize(v);
            if (!cJSON_IsArray(v) || n < 2) krait_cli_die(2, "%s: \"classes\" must be an array of >= 2 names", origin);
            audio_fe_clear_classes(fe); /* only those: "data" read before them stays */
            fe->classes = calloc((size_t)n, sizeof *fe->classes);
            if (!fe->classes) krait_cli_die(1, "out of memory");
            for (int i = 0; i < n; i++) {
                const cJSON *c = cJSON_GetArrayItem(v, i);
                if (!cJSON_IsString(c)) krait_cli_die(2, "%s: \"classes\"[%d] is not a string", origin, i);
                for (int j = 0; j < i; j++)
                    if (!strcmp(fe->classes[j], c->valuestring))
                        krait_cli_die(2, "%s: \"classes\"[%d] '%s' appears twice", origin, i, c->valuestring);
                if (!(fe->classes[i] = strdup(c->valuestring))) krait_cli_die(1, "out of memory");
            }
            fe->n_classes = n;
        } else if (!strcmp(k, "data")) {
            apply_data(fe, v, origin);
        } else {
            krait_cli_die(2, "%s: unknown audio key \"%s\" (rate, quantization, normalize, input, mel, classes, data)",
                          origin, k);
        }
    }
    if (mel_rate_default && fe->mel.rate != fe->rate) { /* windows follow the rate unless set */
        krait_mel_params d = krait_mel_default_params(fe->rate);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "mel");
        if (!cJSON_GetObjectItemCaseSensitive(m, "win")) fe->mel.win = d.win;
        if (!cJSON_GetObjectItemCaseSensitive(m, "hop")) fe->mel.hop = d.hop;
    }
    fe->mel.rate = fe->rate;
    float fmax = fe->mel.fmax > 0 ? fe->mel.fmax : fe->rate / 2.0f;
    if (fe->logmel && (fe->mel.fmin >= fmax || fmax > fe->rate / 2.0f + 1e-3f)) /* before any audio is read */
        krait_cli_die(2, "%s: the log-mel bands %g..%g Hz do not fit %d Hz audio (need mel.fmin < mel.fmax <= rate / 2)",
                      origin, fe->mel.fmin, fmax, fe->rate);
}

static cJSON *fe_json(const audio_frontend *fe)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", "krait-audio");
    cJSON_AddNumberToObject(o, "rate", fe->rate);
    cJSON_AddStringToObject(o, "quantization", krait_quant_name(fe->quant));
    cJSON_AddStringToObject(o, "normalize", fe->normalize ? "peak" : "none");
    cJSON_AddStringToObject(o, "input", fe->logmel ? "logmel" : "tokens");
    if (fe->logmel) {
        cJSON *m = cJSON_AddObjectToObject(o, "mel");
        cJSON_AddNumberToObject(m, "win", fe->mel.win);
        cJSON_AddNumberToObject(m, "hop", fe->mel.hop);
        cJSON_AddNumberToObject(m, "bands", fe->mel.n_mels);
        cJSON_AddNumberToObject(m, "fmin", fe->mel.fmin);
        cJSON_AddNumberToObject(m, "fmax", fe->mel.fmax);
        cJSON_AddNumberToObject(m, "cmvn", fe->mel.cmvn);
    }
    if (fe->n_classes) {
        cJSON *c = cJSON_AddArrayToObject(o, "classes");
        for (int i = 0; i < fe->n_classes; i++) cJSON_AddItemToArray(c, cJSON_CreateString(fe->classes[i]));
    }
    if (fe->data.set) {
        cJSON *d = cJSON_AddObjectToObject(o, "data");
        if (fe->data.test_regex) cJSON_AddStringToObject(d, "test_regex", fe->data.test_regex);
        else cJSON_AddNumberToObject(d, "test_fraction", fe->data.test_fraction);
        if (fe->data.label_regex) cJSON_AddStringToObject(d, "label_regex", fe->data.label_regex);
        if (fe->data.label_from_dir) cJSON_AddBoolToObject(d, "label_from_dir", 1);
    }
    return o;
}

void audio_fe_save(const audio_frontend *fe, const char *dir)
{
    cJSON *o = fe_json(fe);
    char *text = cJSON_Print(o), *path = krait_fs_join(dir, "audio.json");
    cJSON_Delete(o);
    if (!text || !path) krait_cli_die(1, "out of memory");
    krait_status s = krait_fs_mkdirs(dir);
    size_t n = strlen(text);
    text[n] = '\n'; /* replace the NUL: the file ends with a newline */
    if (!s) s = krait_fs_write_atomic(path, text, n + 1);
    if (s) exit(krait_cli_exit_code(s));
    free(text);
    free(path);
}

void audio_fe_load(audio_frontend *fe, const char *dir)
{
    audio_fe_default(fe);
    char *path = krait_fs_join(dir, "audio.json");
    if (!path) krait_cli_die(1, "out of memory");
    if (!krait_fs_is_file(path))
        krait_cli_die(2, "%s: no audio.json: not a krait-audio model folder (train one with krait-audio train)", dir);
    krait_status s;
    char *text = krait_fs_read_text(path, 1 << 20, &s);
    if (!text) exit(krait_cli_exit_code(s));
    cJSON *o = krait_json_parse_object(text, path);
    if (!o) exit(2); /* it said why */
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "format");
    if (!cJSON_IsString(f) || strcmp(f->valuestring, "krait-audio"))
        krait_cli_die(2, "%s: \"format\" is not \"krait-audio\"", path);
    static const char *const written[] = { "rate", "quantization", "normalize", "input" }; /* by every save */
    for (size_t i = 0; i < sizeof written / sizeof *written; i++)
        if (!cJSON_GetObjectItemCaseSensitive(o, written[i]))
            krait_cli_die(2, "%s: no \"%s\" (a model's audio.json names its front-end whole)", path, written[i]);
    fe->mel.rate = 0; /* mel settings come from the file as written */
    audio_fe_apply_json(fe, o, path);
    cJSON_Delete(o);
    free(text);
    free(path);
}

const char *audio_fe_describe(const audio_frontend *fe)
{
    static char b[160];
    if (fe->logmel)
        snprintf(b, sizeof b, "log-mel %d bands (%d/%d-sample windows) at %d Hz%s", fe->mel.n_mels, fe->mel.win,
                 fe->mel.hop, fe->rate, fe->normalize ? ", peak-normalised" : "");
    else
        snprintf(b, sizeof b, "%s 8-bit at %d Hz%s", krait_quant_name(fe->quant), fe->rate,
                 fe->normalize ? ", peak-normalised" : "");
    return b;
}

/* audio_fe_describe with every log-mel setting (the band edges and the normalisation too) */
static const char *fe_state(const audio_frontend *fe)
{
    static char b[320];
    if (!fe->logmel) return audio_fe_describe(fe);
    snprintf(b, sizeof b, "%s, bands %g..%g Hz, cmvn %d", audio_fe_describe(fe), fe->mel.fmin,
             fe->mel.fmax > 0 ? fe->mel.fmax : fe->rate / 2.0f, fe->mel.cmvn);
    return b;
}

void audio_state_add_front_end(cJSON *o, const audio_frontend *fe)
{
    cJSON_AddStringToObject(o, "front_end", fe_state(fe));
}

int audio_state_same_front_end(const cJSON *o, const audio_frontend *fe, const char *dir)
{
    const cJSON *was = cJSON_GetObjectItemCaseSensitive(o, "front_end");
    if (!cJSON_IsString(was) || !strcmp(was->valuestring, fe_state(fe))) return 1;
    if (!strcmp(was->valuestring, audio_fe_describe(fe))) return 1; /* written before the band edges were kept */
    KRAIT_ERROR("--resume %s: the checkpoint was trained on %s; this run feeds %s: the same audio settings continue it",
                dir, was->valuestring, fe_state(fe));
    return 0;
}

void audio_fe_check_init(const audio_frontend *fe, const char *init_dir)
{
    if (!init_dir) return;
    char *path = krait_fs_join(init_dir, "audio.json");
    int has = path && krait_fs_is_file(path);
    free(path);
    if (!has) return;
    audio_frontend other;
    audio_fe_load(&other, init_dir);
    char mine[160];
    snprintf(mine, sizeof mine, "%s", audio_fe_describe(fe));
    if (strcmp(mine, audio_fe_describe(&other)))
        KRAIT_WARN("--init %s: its weights learnt %s; this run feeds %s", init_dir, audio_fe_describe(&other), mine);
    audio_fe_free(&other);
}

/* ---- presets ---------------------------------------------------------------------------------- */
/* "audio.KEY=V" onto the front-end: V as JSON when it parses, else as a string. */
static void fe_set(audio_frontend *fe, const char *assign)
{
    const char *eq = strchr(assign, '=');
    if (!eq) krait_cli_die(2, "--set %s: expected KEY=VALUE", assign);
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)(eq - assign - 6), assign + 6);
    cJSON *val = cJSON_Parse(eq + 1);
    if (!val) val = cJSON_CreateString(eq + 1);
    cJSON *o = cJSON_CreateObject();
    if (!strncmp(key, "mel.", 4)) {
        cJSON *m = cJSON_AddObjectToObject(o, "mel");
        cJSON_AddItemToObject(m, key + 4, val);
    } else {
        cJSON_AddItemToObject(o, key, val);
    }
    audio_fe_apply_json(fe, o, "--set");
    cJSON_Delete(o);
}

void audio_load_config(krait_config *cfg, krait_train_config *tc, audio_frontend *fe, const char *path,
                       const char *fe_dir, const krait_str_list *sets)
{
    krait_config_default(cfg);
    krait_train_default(tc);
    audio_fe_default(fe);
    char *fe_json = fe_dir ? krait_fs_join(fe_dir, "audio.json") : NULL;
    const int has_fe = fe_json && krait_fs_is_file(fe_json);
    free(fe_json);
    if (has_fe) { /* the model's own front-end: its weights learnt these inputs (none: the defaults) */
        audio_frontend m;
        audio_fe_load(&m, fe_dir);
        fe->rate = m.rate, fe->quant = m.quant, fe->normalize = m.normalize, fe->logmel = m.logmel, fe->mel = m.mel;
        audio_fe_free(&m);
    }
    krait_status s;
    char *text = krait_fs_read_text(path, 1 << 20, &s);
    if (!text) exit(krait_cli_exit_code(s));
    cJSON *o = krait_json_parse_object(text, path);
    if (!o) exit(2); /* it said why */
    cJSON *a = cJSON_DetachItemFromObjectCaseSensitive(o, "audio");
    if (a) {
        char where[4200];
        snprintf(where, sizeof where, "%s: \"audio\"", path);
        audio_fe_apply_json(fe, a, where);
        cJSON_Delete(a);
    }
    /* a classifier's feature size comes from the front-end (its class count from the labels,
     * krait_train_opts_classes) */
    cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "krait");
    const cJSON *head = cJSON_GetObjectItemCaseSensitive(k, "head");
    if (cJSON_IsString(head) && !strcmp(head->valuestring, "classify")) {
        if (fe->logmel && !cJSON_GetObjectItemCaseSensitive(k, "input_dim"))
            cJSON_AddNumberToObject(k, "input_dim", fe->mel.n_mels);
    }
    char *rest = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    free(text);
    if (!rest) krait_cli_die(1, "out of memory");
    if ((s = krait_config_parse(cfg, tc, rest, path))) exit(krait_cli_exit_code(s));
    free(rest);
    const char **model_sets = malloc(sizeof *model_sets * (size_t)(sets && sets->n ? sets->n : 1));
    if (!model_sets) krait_cli_die(1, "out of memory");
    int n_model = 0;
    for (int i = 0; sets && i < sets->n; i++) {
        if (!strncmp(sets->items[i], "audio.", 6)) fe_set(fe, sets->items[i]);
        else model_sets[n_model++] = sets->items[i];
    }
    if ((s = krait_config_set_many(cfg, tc, model_sets, n_model))) exit(krait_cli_exit_code(s));
    free(model_sets);
    krait_train_opts_modality(cfg, path, "audio");
}

/* ---- datasets -------------------------------------------------------------------------------- */
void audio_list_split(krait_audio_list *l, int **is_test, const audio_data_opts *o)
{
    if (!o->data) krait_cli_die(2, "--data is required (a folder of audio files or a manifest TSV)");
    if (o->label_regex && o->label_from_dir)
        krait_cli_die(2, "--label-regex and --label-from-dir: labels come from one of them");
    if (o->labels_as_trained) krait_cli_errors_hold();
    krait_status s = krait_audio_list_open(l, o->data, o->label_regex, o->label_from_dir);
    if (o->labels_as_trained) {
        if (s == KRAIT_STATUS_BAD_INPUT) { /* the trained labelling does not fit these names: none */
            krait_cli_errors_discard();
            krait_audio_list_free(l);
            s = krait_audio_list_open(l, o->data, NULL, 0);
            if (!s)
                fprintf(stderr, "%s: the names in %s do not all fit the labels as trained: no labels, no accuracy\n",
                        krait_cli_prog(), o->data);
        } else {
            krait_cli_errors_release(0);
        }
    }
    if (s) exit(krait_cli_exit_code(s));
    *is_test = malloc(sizeof **is_test * (size_t)l->n);
    if (!*is_test) krait_cli_die(1, "out of memory");
    double frac = o->test_fraction >= 0 ? o->test_fraction : 0.1;
    if ((s = krait_audio_split(*is_test, l, o->test_regex, frac))) exit(krait_cli_exit_code(s));
}

void audio_refuse_overwrite_listed(const char *path, const char *opt, const krait_audio_list *l)
{
    if (!path || !krait_fs_is_file(path)) return; /* a file not there yet is read by no one */
    for (int i = 0; i < l->n; i++)
        if (krait_fs_same(path, l->items[i].path)) {
            const char *as = strcmp(path, l->items[i].path) ? l->items[i].path : NULL; /* listed by another name */
            krait_cli_die(2, "%s %s: that is one of the audio files this command reads%s%s%s; writing it would destroy it",
                          opt, path, as ? " (" : "", as ? as : "", as ? ")" : "");
        }
}

typedef struct load_progress {
    krait_progress p;
    const char *what;
} load_progress;

static void on_load(void *user, int done, int total)
{
    load_progress *lp = user;
    krait_progress_line(&lp->p, done == total, "reading %s audio: %d/%d files", lp->what, done, total);
}

double audio_bits_per_sample(double nll_sum, long long files, long long samples)
{
    return samples > 0 ? (nll_sum / log(2.0) + 8.0 * (double)files) / (double)samples : NAN;
}

void audio_die_empty(const krait_audio_list *l, const int *want, const char *data, const char *what)
{
    int wanted = 0;
    for (int i = 0; i < l->n; i++) wanted += !want || want[i];
    if (wanted) /* "train", "test", "input"; the split "all" is every file: audio files */
        krait_cli_die(2, "%s: no readable %s files (%d listed, all skipped)", data, strcmp(what, "all") ? what : "audio",
                      wanted);
    krait_cli_die(2, "%s: the %s split is empty: none of the %d files falls in it (see --test-regex, --test-fraction, "
                  "--split)", data, what, l->n);
}

void audio_load_set(krait_audio_set *set, const krait_audio_list *l, const int *want, const audio_frontend *fe,
                    const char *what)
{
    load_progress lp = { .what = what };
    krait_progress_init(&lp.p, KRAIT_PROGRESS_FORCED_ONLY);
    krait_status s = krait_audio_set_load(set, l, want, fe->rate, fe->normalize, on_load, &lp);
    krait_progress_done(&lp.p);
    if (s) exit(krait_cli_exit_code(s));
    audio_say_skipped(what, set->skipped, set->n);
}

void audio_say_skipped(const char *what, int skipped, int read)
{
    if (skipped)
        fprintf(stderr, "%s: %s: skipped %d unreadable file%s (warnings above); %d read\n", krait_cli_prog(), what,
                skipped, skipped == 1 ? "" : "s", read);
}

int32_t *audio_clip_ids(const audio_frontend *fe, const float *x, size_t n)
{
    int32_t *ids = malloc(sizeof *ids * (n ? n : 1));
    if (!ids) krait_cli_die(1, "out of memory");
    krait_quant_encode(fe->quant, ids, x, n);
    return ids;
}

/* ---- scoring one file in constant memory ------------------------------------------------------- */
typedef struct id_stream {
    krait_audio_reader *r;
    krait_quant q;
    const char *path;
    int32_t *ids;          /* ids[0, n): positions base, base + 1, ... */
    long n, cap;
    long long base;
    float *buf;
    int ended;
} id_stream;

static krait_status stream_more(id_stream *s)
{
    if (s->n + 4096 > s->cap) {
        long c = s->cap ? 2 * s->cap : 16384;
        while (c < s->n + 4096) c *= 2;
        int32_t *p = realloc(s->ids, sizeof *p * (size_t)c);
        if (!p) return KRAIT_STATUS_NO_MEMORY;
        s->ids = p, s->cap = c;
    }
    long g = krait_audio_reader_read(s->r, s->buf, 4096);
    if (g < 0) return KRAIT_STATUS_BAD_INPUT;
    if (g == 0) s->ended = 1;
    krait_quant_encode(s->q, s->ids + s->n, s->buf, (size_t)g);
    s->n += g;
    return KRAIT_STATUS_OK;
}

static krait_status fill_ids(void *ctx, int32_t *ids, int32_t *targets, int B, long t0, int len)
{
    id_stream *s = ctx;
    (void)B;
    if (t0 > s->base) {
        long drop = (long)(t0 - s->base) < s->n ? (long)(t0 - s->base) : s->n;
        memmove(s->ids, s->ids + drop, sizeof *s->ids * (size_t)(s->n - drop));
        s->n -= drop;
        s->base += drop;
    }
    while (!s->ended && s->n < len + 1) {
        krait_status st = stream_more(s);
        if (st) return st;
    }
    if (s->n < len) {
        KRAIT_ERROR("%s: the file changed while it was read (fewer samples on the second pass)", s->path);
        return KRAIT_STATUS_IO;
    }
    for (int i = 0; i < len; i++) {
        ids[i] = s->ids[i];
        targets[i] = i + 1 < s->n ? s->ids[i + 1] : -1;
    }
    return KRAIT_STATUS_OK;
}

krait_status audio_score_file(const krait_model *m, const audio_frontend *fe, const char *path, int chunk,
                              double *nll_sum, long long *n_scored, long long *samples,
                              krait_eval_progress_fn progress, void *progress_user)
{
    *nll_sum = 0, *n_scored = 0, *samples = 0;
    krait_status s;
    id_stream st = { .q = fe->quant, .path = path };
    st.r = krait_audio_reader_open(path, fe->rate, &s);
    if (!st.r) return s;
    st.buf = malloc(sizeof *st.buf * 4096);
    if (!st.buf) {
        s = KRAIT_STATUS_NO_MEMORY;
        goto done;
    }
    if (fe->normalize) {
        float peak;
        if ((s = krait_audio_reader_peak(st.r, &peak))) goto done;
        krait_audio_reader_set_gain(st.r, krait_audio_peak_gain(peak));
    }
    long long n = 0; /* pass 1: the length at the model's rate */
    for (;;) {
        long g = krait_audio_reader_read(st.r, st.buf, 4096);
        if (g < 0) {
            s = KRAIT_STATUS_BAD_INPUT;
            goto done;
        }
        if (!g) break;
        n += g;
    }
    if ((s = krait_audio_reader_rewind(st.r))) goto done;
    *samples = n;
    if (n == 0) {
        char why[160];
        krait_audio_reader_too_short(st.r, why, sizeof why);
        KRAIT_ERROR("%s: %s", path, why);
        s = KRAIT_STATUS_BAD_INPUT;
        goto done;
    }
    if (n >= 2) {
        krait_eval_result r;
        if ((s = krait_eval_stream(m, 1, (long)n, chunk, fill_ids, &st, &r, progress, progress_user))) goto done;
        *nll_sum = r.loss_sum, *n_scored = r.n_scored;
    }
done:
    krait_audio_reader_close(st.r);
    free(st.buf);
    free(st.ids);
    return s;
}
