/* tests/text/test_tokenizer_bytes.c — the byte tokenizer: ids are the bytes, specials sit at 256 +
 * i and are recognised in the text (longest first), decoding is exact for any bytes (invalid UTF-8
 * and NUL included), an id outside the vocabulary is refused, and errors of loading a tokenizer
 * file (missing, malformed) come back as statuses. Also the UTF-8 check's edge cases and, for
 * byte-level BPE, a merge listed twice taking its later rank and an added token without
 * "normalized" matched in the NFC text (normalized unless special, as HF). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tokenizer.h"

int main(void)
{
    tu_init("test_tokenizer_bytes");
    krait_tokenizer *t = NULL;
    const char *specials[] = { "<|endoftext|>", "<|end|>", "<|endoftext|>x" };
    tu_check(krait_tokenizer_bytes(specials, 3, &t) == KRAIT_STATUS_OK, "bytes tokenizer");
    tu_check(krait_tokenizer_kind_of(t) == KRAIT_TOKENIZER_BYTES, "kind");
    tu_check(krait_tokenizer_vocab_size(t) == 259, "vocab %d", krait_tokenizer_vocab_size(t));
    tu_check(krait_tokenizer_eos(t) == 256, "eos %d", krait_tokenizer_eos(t));
    tu_check(krait_tokenizer_token_id(t, "<|end|>") == 257, "token_id special");
    tu_check(krait_tokenizer_token_id(t, "A") == 65, "token_id byte");
    tu_check(krait_tokenizer_token_id(t, "AB") == -1, "token_id unknown");
    tu_check(krait_tokenizer_has_id(t, 0) && krait_tokenizer_has_id(t, 258) && !krait_tokenizer_has_id(t, 259) &&
                 !krait_tokenizer_has_id(t, -1), "has_id: 0..258 and nothing else");

    /* every byte value, invalid UTF-8 and NUL included, with specials between */
    char text[300];
    size_t tl = 0;
    for (int b = 255; b >= 0; b--)
        text[tl++] = (char)b;
    memcpy(text + tl, "<|end|><|endoftext|>x<|endoftext|><|e", 37);
    tl += 37;
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    tu_check(krait_tokenizer_encode(t, text, tl, "test", &ids, &n, &cap) == KRAIT_STATUS_OK, "encode");
    int ok = n == 256 + 1 + 1 + 1 + 3;
    for (int i = 0; ok && i < 256; i++)
        ok = ids[i] == 255 - i;
    ok = ok && ids[256] == 257 && ids[257] == 258 /* longest special wins */ && ids[258] == 256 &&
         ids[259] == '<' && ids[260] == '|' && ids[261] == 'e';
    tu_check(ok, "encode: bytes as ids, specials as 256 + i (%zu ids)", n);
    char *out = NULL;
    size_t on = 0, ocap = 0;
    tu_check(krait_tokenizer_decode(t, ids, n, &out, &on, &ocap) == KRAIT_STATUS_OK && on == tl &&
             memcmp(out, text, tl) == 0, "decode(encode(x)) == x");
    /* one id at a time gives the same bytes */
    on = 0;
    for (size_t i = 0; i < n; i++)
        krait_tokenizer_decode(t, ids + i, 1, &out, &on, &ocap);
    tu_check(on == tl && memcmp(out, text, tl) == 0, "decode one by one");
    /* appending: encode appends to what is there */
    size_t before = n;
    krait_tokenizer_encode(t, "hi", 2, NULL, &ids, &n, &cap);
    tu_check(n == before + 2 && ids[before] == 'h', "encode appends");
    /* out of range */
    int32_t bad[3] = { 1, 259, 2 };
    on = 0;
    tu_check(krait_tokenizer_decode(t, bad, 3, &out, &on, &ocap) == KRAIT_STATUS_BAD_INPUT, "id 259 refused");
    int32_t neg = -5;
    tu_check(krait_tokenizer_decode(t, &neg, 1, &out, &on, &ocap) == KRAIT_STATUS_BAD_INPUT, "id -5 refused");
    krait_tokenizer_free(t);

    /* no specials; "bytes" spec */
    tu_check(krait_tokenizer_bytes(NULL, 0, &t) == KRAIT_STATUS_OK && krait_tokenizer_vocab_size(t) == 256 &&
             krait_tokenizer_eos(t) == -1, "no specials");
    krait_tokenizer_free(t);
    tu_check(krait_tokenizer_open("bytes", &t) == KRAIT_STATUS_OK && krait_tokenizer_vocab_size(t) == 257 &&
             krait_tokenizer_eos(t) == 256, "open(\"bytes\")");
    krait_tokenizer_free(t);
    const char *empty[] = { "" };
    tu_check(krait_tokenizer_bytes(empty, 1, &t) == KRAIT_STATUS_BAD_INPUT && t == NULL, "empty special refused");

    /* tokenizer files: missing, malformed, not BPE */
    tu_check(krait_tokenizer_open("/nonexistent/tokenizer.json", &t) != KRAIT_STATUS_OK && t == NULL, "missing file");
    char dir[] = "/tmp/krait-tok-XXXXXX";
    if (mkdtemp(dir)) {
        char path[64];
        static const char *files[] = {
            "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, ",
            "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"},"
            " \"decoder\": {\"type\": \"ByteLevel\"}}",
            "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"pre_tokenizer\": "
            "{\"type\": \"ByteLevel\"}, \"decoder\": {\"type\": \"ByteLevel\"}}",
            "[1, 2]",
        };
        for (int i = 0; i < 4; i++) {
            snprintf(path, sizeof path, "%s/t%d.json", dir, i);
            FILE *f = fopen(path, "w");
            fputs(files[i], f);
            fclose(f);
            krait_status st = krait_tokenizer_open(path, &t);
            tu_check(st != KRAIT_STATUS_OK && t == NULL, "bad tokenizer.json %d accepted", i);
            remove(path);
        }
        remove(dir);
    }
    /* the UTF-8 check (RFC 3629), byte by byte: surrogates, code points above U+10FFFF, overlongs
     * and a sequence cut short are invalid at their first byte */
    static const struct { const char *s; size_t n, at; } u8[] = {
        { "a\xed\xa0\x80", 4, 1 },         /* U+D800, a surrogate */
        { "\xed\x9f\xbf", 3, 3 },          /* U+D7FF, the last before them */
        { "\xf4\x90\x80\x80", 4, 0 },     /* U+110000 */
        { "\xf4\x8f\xbf\xbf", 4, 4 },     /* U+10FFFF */
        { "\xc0\xaf", 2, 0 },               /* an overlong '/' */
        { "\xe0\x9f\xbf", 3, 0 },          /* an overlong U+07FF */
        { "x\xc3\xa9", 2, 1 },              /* 'e' acute cut after its first byte (n = 2) */
        { "\xc3\xa9", 2, 2 },
    };
    for (size_t i = 0; i < sizeof u8 / sizeof u8[0]; i++) {
        size_t at = krait_utf8_invalid_at((const unsigned char *)u8[i].s, u8[i].n);
        tu_check(at == u8[i].at, "UTF-8 case %zu: invalid at %zu (want %zu)", i, at, u8[i].at);
    }
    /* a merge listed twice takes its later rank, as HF tokenizers do: with "a b", "b c", "a b",
     * "bc" (rank 1) comes before "ab" (rank 2), so "abc" is a | bc. The vocabulary: the 256
     * byte-level symbols (GPT-2's byte-to-character map) as ids 0..255, then ab, bc. */
    {
        char tdir[] = "/tmp/krait_tok_XXXXXX", path[64];
        if (mkdtemp(tdir)) {
            snprintf(path, sizeof path, "%s/dup.json", tdir);
            FILE *f = fopen(path, "w");
            fputs("{\"model\": {\"type\": \"BPE\", \"vocab\": {", f);
            for (int b = 0, extra = 0; b < 256; b++) {
                int cp = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174 ? b : 256 + extra++;
                fputs("\"", f);
                if (cp == '"' || cp == '\\') fputc('\\', f), fputc(cp, f);
                else if (cp < 0x80) fputc(cp, f);
                else fputc(0xc0 | (cp >> 6), f), fputc(0x80 | (cp & 0x3f), f);
                fprintf(f, "\": %d, ", b);
            }
            fputs("\"ab\": 256, \"bc\": 257}, \"merges\": [\"a b\", \"b c\", \"a b\"]}, \"pre_tokenizer\": "
                  "{\"type\": \"ByteLevel\", \"add_prefix_space\": false}, \"decoder\": {\"type\": \"ByteLevel\"}}", f);
            fclose(f);
            krait_tokenizer *d = NULL;
            int32_t *di = NULL;
            size_t dn = 0, dcap = 0;
            krait_status st = krait_tokenizer_open(path, &d);
            if (!st) st = krait_tokenizer_encode(d, "abc", 3, "test", &di, &dn, &dcap);
            tu_check(!st && dn == 2 && di[0] == 'a' && di[1] == 257, "a merge listed twice keeps its later rank: "
                     "\"abc\" -> %zu ids (%d %d; want a bc = 97 257)", dn, dn > 0 ? di[0] : -1, dn > 1 ? di[1] : -1);
            free(di);
            krait_tokenizer_free(d);
            remove(path);
            remove(tdir);
        }
    }
    /* an added token without "normalized" is normalized unless special (HF's default): with an NFC
     * normalizer, {"content": "e\u0301", "special": false} is matched in the normalized text, so
     * "\u00e9" composed and "e\u0301" decomposed both give its id (raw matching would miss the
     * composed one) */
    {
        char tdir[] = "/tmp/krait_tok_XXXXXX", path[64];
        if (mkdtemp(tdir)) {
            snprintf(path, sizeof path, "%s/norm.json", tdir);
            FILE *f = fopen(path, "w");
            fputs("{\"model\": {\"type\": \"BPE\", \"vocab\": {", f);
            for (int b = 0, extra = 0; b < 256; b++) {
                int cp = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174 ? b : 256 + extra++;
                fputs("\"", f);
                if (cp == '"' || cp == '\\') fputc('\\', f), fputc(cp, f);
                else if (cp < 0x80) fputc(cp, f);
                else fputc(0xc0 | (cp >> 6), f), fputc(0x80 | (cp & 0x3f), f);
                fprintf(f, "\": %d%s", b, b < 255 ? ", " : "");
            }
            fputs("}, \"merges\": []}, \"added_tokens\": [{\"id\": 256, \"content\": \"e\\u0301\", \"special\": false}], "
                  "\"normalizer\": {\"type\": \"NFC\"}, \"pre_tokenizer\": {\"type\": \"ByteLevel\", "
                  "\"add_prefix_space\": false}, \"decoder\": {\"type\": \"ByteLevel\"}}", f);
            fclose(f);
            krait_tokenizer *d = NULL;
            krait_status st = krait_tokenizer_open(path, &d);
            tu_check(!st, "tokenizer.json with an added token without \"normalized\"");
            static const char *forms[] = { "x\xc3\xa9y", "xe\xcc\x81y" }; /* x\u00e9y, xe\u0301y */
            for (int i = 0; i < 2 && !st; i++) {
                int32_t *di = NULL;
                size_t dn = 0, dcap = 0;
                krait_status se = krait_tokenizer_encode(d, forms[i], strlen(forms[i]), "test", &di, &dn, &dcap);
                tu_check(!se && dn == 3 && di[0] == 'x' && di[1] == 256 && di[2] == 'y',
                         "added token, \"normalized\" by default: %s e-acute -> %zu ids (%d %d ...; want x 256 y)",
                         i ? "decomposed" : "composed", dn, dn > 0 ? di[0] : -1, dn > 1 ? di[1] : -1);
                free(di);
            }
            krait_tokenizer_free(d);
            remove(path);
            remove(tdir);
        }
    }
    free(ids);
    free(out);
    return tu_finish();
}
