/* apps/text/textutil.c — what the krait-text commands share; see textapp.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "fsutil.h"
#include "textapp.h"
#include "textsrc.h"

krait_tokenizer *text_model_tokenizer(const char *model_dir, krait_config *cfg)
{
    krait_tokenizer *tok = NULL;
    krait_status s = krait_tokenizer_for_model(&tok, model_dir, cfg);
    if (s) exit(krait_cli_exit_code(s));
    return tok;
}

/* "FILE:LINE[:COLUMN]" of the byte where ids[i] starts (the text before it is the decoded
 * ids[first, i)), into buf; 0 when it cannot be told. */
static int id_place(char *buf, size_t cap, const krait_tokenizer *tok, const int32_t *ids, size_t i,
                    const text_place *pl)
{
    if (!pl || !pl->line || !pl->text || i < pl->first) return 0;
    char *pre = NULL;
    size_t off = 0, pcap = 0;
    int ok = krait_tokenizer_decode(tok, ids + pl->first, i - pl->first, &pre, &off, &pcap) == KRAIT_STATUS_OK &&
             off <= pl->len && (!off || !memcmp(pre, pl->text, off));
    free(pre);
    if (!ok) return 0; /* the ids do not decode to the text's bytes: no place */
    text_place_at(buf, cap, pl, off);
    return 1;
}

void text_place_at(char *buf, size_t cap, const text_place *pl, size_t off)
{
    long long line = pl->line;
    size_t line_at = 0; /* where off's line starts in the text */
    for (size_t k = 0; k < off; k++)
        if (pl->text[k] == '\n') line++, line_at = k + 1;
    if (line_at > 0 || pl->at_line_start) snprintf(buf, cap, "%s:%lld:%zu", pl->path, line, off - line_at + 1);
    else snprintf(buf, cap, "%s:%lld", pl->path, line);
}

void text_check_ids(const krait_tokenizer *tok, const int32_t *ids, size_t n, int n_model, const char *where,
                    const text_place *place)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < n_model) continue;
        char *t = NULL, at[4096];
        size_t len = 0, cap = 0;
        krait_tokenizer_decode(tok, ids + i, 1, &t, &len, &cap);
        krait_cli_die(2, "%s: token \"%.*s\" (id %d) is not in the model's vocabulary (ids 0..%d)",
                      id_place(at, sizeof at, tok, ids, i, place) ? at : where, (int)len, t ? t : "", (int)ids[i],
                      n_model - 1);
    }
}

static long long get_count(const cJSON *o, const char *split, const char *key, const char *path)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, split);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != floor(v->valuedouble) || v->valuedouble > 9e15)
        krait_cli_die(2, "%s: \"%s.%s\" is missing or not a count (a whole number >= 0)", path, split, key);
    return (long long)v->valuedouble;
}

void text_read_meta(text_data_meta *meta, const char *data_dir)
{
    memset(meta, 0, sizeof *meta);
    if (!krait_fs_is_dir(data_dir))
        krait_cli_die(2, "%s: not a folder (prepare one with krait-text prepare)", data_dir);
    char *path = krait_fs_join(data_dir, "meta.json");
    if (path && !krait_fs_is_file(path))
        krait_cli_die(2, "%s: missing: the folder is not prepared data, or a prepare did not finish (one stopped while "
                      "replacing the data removes it first): run krait-text prepare again", path);
    krait_status s;
    char *text = path ? krait_fs_read_text(path, 64 << 20, &s) : NULL;
    if (!text) exit(path ? krait_cli_exit_code(s) : 1);
    cJSON *o = krait_json_parse_object(text, path);
    if (!o) exit(2); /* it said why */
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "format");
    if (!cJSON_IsString(f) || strcmp(f->valuestring, "krait-tokens"))
        krait_cli_die(2, "%s: not a krait-text prepare meta.json (\"format\" is not \"krait-tokens\")", path);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "tokenizer");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "vocab");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "eos");
    if (!cJSON_IsString(t) || strlen(t->valuestring) >= sizeof meta->tokenizer)
        krait_cli_die(2, "%s: \"tokenizer\" is missing or not a short string", path);
    if (!cJSON_IsNumber(v) || v->valuedouble < 2 || v->valuedouble > 1e8 || v->valuedouble != floor(v->valuedouble))
        krait_cli_die(2, "%s: \"vocab\" is missing or not a whole number from 2 to 1e8", path);
    strcpy(meta->tokenizer, t->valuestring);
    meta->vocab = (int)v->valuedouble;
    /* an id (eos, max_id) is absent, -1 (none: a tokenizer without an end-of-text token) or an id
     * of that vocabulary: another value is a hand edit */
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(o, "max_id");
    const cJSON *const ids[2] = { e, mx };
    for (int k = 0; k < 2; k++)
        if (ids[k] && !(cJSON_IsNumber(ids[k]) && ids[k]->valuedouble >= -1 && ids[k]->valuedouble < meta->vocab &&
                        ids[k]->valuedouble == floor(ids[k]->valuedouble)))
            krait_cli_die(2, "%s: \"%s\" must be -1 (none) or an id of the vocabulary (0 to %d)", path,
                          k ? "max_id" : "eos", meta->vocab - 1);
    meta->eos = e ? (int)e->valuedouble : -1;
    meta->max_id = mx ? (int)mx->valuedouble : -1;
    meta->train_tokens = get_count(o, "train", "tokens", path);
    meta->val_tokens = get_count(o, "val", "tokens", path);
    meta->train_bytes = get_count(o, "train", "bytes", path);
    meta->val_bytes = get_count(o, "val", "bytes", path);
    cJSON_Delete(o);
    free(text);
    free(path);
}

void text_source_setup(krait_textsrc *src, const krait_tokenizer *tok, const char *json_key)
{
    krait_textsrc_set_json_key(src, json_key);
    krait_textsrc_set_byte_cuts(src, krait_tokenizer_kind_of(tok) == KRAIT_TOKENIZER_BYTES);
    krait_textsrc_set_cut_guard(src, krait_tokenizer_cut_conflict, tok);
    krait_textsrc_set_utf8(src, krait_tokenizer_kind_of(tok) == KRAIT_TOKENIZER_BPE);
}
