/* tests/text/test_tokenizer_golden.c FIXTURE [TOKENIZER_JSON [DATA_DIR]] — krait's BPE against HF
 * tokenizers.
 *
 * FIXTURE is made by make_golden.mjs with the real HF library: for every case, encode(text) must
 * equal HF's ids exactly and decode(ids) must equal HF's decode of them (which is the NFC form of the
 * text, so not always the text itself; where HF's lossy UTF-8 repair put U+FFFD into a decode of
 * valid text, krait returns the raw bytes by design and that decode is not compared).
 *   golden_neox.json   the GPT-NeoX-20B tokenizer.json (TOKENIZER_JSON; exit 77 when absent), and for
 *                      the whole files listed there (wikitext2 test, tinyshakespeare, under DATA_DIR)
 *                      the id count and FNV-1a hash of the ids; also checks that invalid UTF-8 and
 *                      out-of-range ids are refused.
 *   golden_flags.json  carries its own small tokenizer ("tokenizer_json"): add_prefix_space and
 *                      lstrip / rstrip / single_word / normalized added tokens, which NeoX lacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fsutil.h"
#include "hash.h"
#include "testutil.h"
#include "tokenizer.h"

static char *unhex(const char *h, size_t *n)
{
    size_t l = strlen(h) / 2;
    char *o = malloc(l + 1);
    for (size_t i = 0; i < l; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        o[i] = (char)v;
    }
    o[l] = 0;
    *n = l;
    return o;
}

static uint64_t fnv_ids(const int32_t *ids, size_t n)
{
    uint64_t h = KRAIT_FNV1A_INIT;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) h = krait_fnv1a(h, ((uint32_t)ids[i] >> (8 * k)) & 0xff);
    return h;
}

static void check_neox_lookups(const krait_tokenizer *tok)
{
    tu_check(krait_tokenizer_vocab_size(tok) == 50281, "vocab size %d, want 50281", krait_tokenizer_vocab_size(tok));
    tu_check(krait_tokenizer_eos(tok) == 0, "eos %d, want 0", krait_tokenizer_eos(tok));
    tu_check(krait_tokenizer_token_id(tok, "\xc4\xa0the") == 253, "id of \"\xc4\xa0the\" %d",
             krait_tokenizer_token_id(tok, "\xc4\xa0the"));
    tu_check(krait_tokenizer_token_id(tok, "  ") == 50276, "id of two spaces");
    tu_check(krait_tokenizer_token_id(tok, "no such token at all") == -1, "unknown token");
}

static void show_ids(const char *label, const int32_t *ids, size_t n)
{
    fprintf(stderr, "    %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 40; i++)
        fprintf(stderr, " %d", (int)ids[i]);
    fprintf(stderr, "%s\n", n > 40 ? " ..." : "");
}

int main(int argc, char **argv)
{
    tu_init("test_tokenizer_golden");
    if (argc < 2) {
        fprintf(stderr, "usage: test_tokenizer_golden FIXTURE [TOKENIZER_JSON [DATA_DIR]]\n");
        return 2;
    }
    krait_status st;
    char *json = krait_fs_read_text(argv[1], (size_t)64 << 20, &st);
    if (!tu_check(json != NULL, "cannot read %s", argv[1]))
        return tu_finish();
    cJSON *root = cJSON_Parse(json);
    if (!tu_check(root != NULL, "%s: malformed", argv[1]))
        return tu_finish();
    /* the tokenizer: embedded in the fixture, or the file named */
    const cJSON *embedded = cJSON_GetObjectItem(root, "tokenizer_json");
    char tmp_path[] = "/tmp/krait-tok-golden-XXXXXX";
    const char *tok_path = argc > 2 ? argv[2] : NULL;
    if (embedded) {
        int fd = mkstemp(tmp_path);
        char *text = cJSON_PrintUnformatted(embedded);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!tu_check(f && text && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", tmp_path))
            return tu_finish();
        free(text);
        tok_path = tmp_path;
    } else if (!tok_path || !krait_fs_is_file(tok_path)) {
        printf("skipped: %s is absent\n", tok_path ? tok_path : "the tokenizer.json");
        cJSON_Delete(root);
        free(json);
        return TU_SKIP;
    }
    krait_tokenizer *tok = NULL;
    st = krait_tokenizer_load(tok_path, &tok);
    if (embedded)
        remove(tmp_path);
    if (!tu_check(st == KRAIT_STATUS_OK, "load %s: status %d", tok_path, (int)st))
        return tu_finish();
    tu_check(krait_tokenizer_kind_of(tok) == KRAIT_TOKENIZER_BPE, "kind");
    const int nv = krait_tokenizer_vocab_size(tok);
    tu_check(krait_tokenizer_has_id(tok, 0) && krait_tokenizer_has_id(tok, nv - 1) && !krait_tokenizer_has_id(tok, nv) &&
                 !krait_tokenizer_has_id(tok, -1), "has_id: 0 and %d, not %d or -1", nv - 1, nv);
    if (!embedded)
        check_neox_lookups(tok);

    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    char *dec = NULL;
    size_t dn = 0, dcap = 0;
    int ncase = 0, bad_enc = 0, bad_dec = 0, lossy = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
        size_t tl = 0, wl = 0;
        const cJSON *th = cJSON_GetObjectItem(c, "text_hex"), *dh = cJSON_GetObjectItem(c, "decoded_hex");
        char *text = th ? unhex(th->valuestring, &tl) : strdup(cJSON_GetObjectItem(c, "text")->valuestring);
        char *want_dec = dh ? unhex(dh->valuestring, &wl) : strdup(cJSON_GetObjectItem(c, "decoded")->valuestring);
        if (!th)
            tl = strlen(text);
        if (!dh)
            wl = strlen(want_dec);
        const cJSON *want = cJSON_GetObjectItem(c, "ids");
        size_t nw = (size_t)cJSON_GetArraySize(want);
        int32_t *w = malloc((nw + 1) * sizeof *w);
        for (size_t i = 0; i < nw; i++)
            w[i] = cJSON_GetArrayItem(want, (int)i)->valueint;
        n = 0;
        st = krait_tokenizer_encode(tok, text, tl, "case", &ids, &n, &cap);
        int ok = st == KRAIT_STATUS_OK && n == nw && (nw == 0 || memcmp(ids, w, nw * sizeof *w) == 0);
        if (!tu_check(ok, "case %d: encode differs from HF (status %d): \"%.80s\"", ncase, (int)st, text)) {
            show_ids("krait", ids, n);
            show_ids("HF   ", w, nw);
            bad_enc++;
        }
        dn = 0;
        st = krait_tokenizer_decode(tok, w, nw, &dec, &dn, &dcap);
        if (strstr(want_dec, "\xef\xbf\xbd") && !strstr(text, "\xef\xbf\xbd")) {
            lossy++; /* HF replaced bytes that are not UTF-8 by U+FFFD; krait keeps the bytes */
        } else {
            ok = st == KRAIT_STATUS_OK && dn == wl && (wl == 0 || memcmp(dec, want_dec, wl) == 0);
            if (!tu_check(ok, "case %d: decode differs from HF: \"%.80s\"", ncase, want_dec))
                bad_dec++;
        }
        free(w);
        free(text);
        free(want_dec);
        ncase++;
    }
    printf("%s: %d cases: %d encodes and %d decodes differ from HF (%d decodes not compared: HF's lossy "
           "U+FFFD)\n", argv[1], ncase, bad_enc, bad_dec, lossy);
    tu_check(ncase > 100, "only %d cases in the fixture", ncase);
    if (embedded) {
        free(ids);
        free(dec);
        krait_tokenizer_free(tok);
        cJSON_Delete(root);
        free(json);
        return tu_finish();
    }
    /* whole files */
    const char *data_dir = argc > 3 ? argv[3] : NULL;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "files")) {
        if (!data_dir)
            break;
        char *path = krait_fs_join(data_dir, cJSON_GetObjectItem(c, "path")->valuestring);
        char *text = krait_fs_is_file(path) ? krait_fs_read_text(path, (size_t)64 << 20, &st) : NULL;
        if (!text) {
            printf("%s absent: not checked\n", path);
            free(path);
            continue;
        }
        n = 0;
        st = krait_tokenizer_encode(tok, text, strlen(text), path, &ids, &n, &cap);
        size_t want_n = (size_t)cJSON_GetObjectItem(c, "n_ids")->valuedouble;
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)fnv_ids(ids, n));
        const char *want_hex = cJSON_GetObjectItem(c, "fnv1a64")->valuestring;
        int ok = st == KRAIT_STATUS_OK && n == want_n && strcmp(hex, want_hex) == 0;
        tu_check(ok, "%s: %zu ids hash %s, HF %zu ids hash %s", path, n, hex, want_n, want_hex);
        if (ok)
            printf("%s: %zu ids, same as HF\n", path, n);
        /* decode(encode(x)) == x for this valid NFC text */
        dn = 0;
        st = krait_tokenizer_decode(tok, ids, n, &dec, &dn, &dcap);
        tu_check(st == KRAIT_STATUS_OK && dn == strlen(text) && memcmp(dec, text, dn) == 0,
                 "%s: decode(encode(x)) != x", path);
        free(text);
        free(path);
    }

    /* invalid UTF-8: refused, whatever the position */
    static const struct { const char *s; size_t n; } bad[] = {
        { "abc\xff", 4 }, { "\x80", 1 }, { "ok \xc3", 4 }, { "\xc0\xaf", 2 }, { "\xed\xa0\x80", 3 },
        { "\xf4\x90\x80\x80", 4 }, { "\xe2\x82", 2 }, { "a<|endoftext|>\xfe", 15 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = 0;
        st = krait_tokenizer_encode(tok, bad[i].s, bad[i].n, "invalid", &ids, &n, &cap);
        tu_check(st == KRAIT_STATUS_BAD_INPUT && n == 0, "invalid UTF-8 case %zu: status %d, %zu ids", i, (int)st, n);
    }
    /* decode: an id out of range is refused */
    int32_t out_of_range[2] = { 5, 50281 };
    dn = 0;
    tu_check(krait_tokenizer_decode(tok, out_of_range, 2, &dec, &dn, &dcap) == KRAIT_STATUS_BAD_INPUT,
             "decode of id 50281 must fail");
    int32_t neg = -1;
    tu_check(krait_tokenizer_decode(tok, &neg, 1, &dec, &dn, &dcap) == KRAIT_STATUS_BAD_INPUT, "decode of -1 must fail");

    free(ids);
    free(dec);
    krait_tokenizer_free(tok);
    cJSON_Delete(root);
    free(json);
    return tu_finish();
}
