/* tests/fuzz/fuzz_bpe_encode.c — encoding arbitrary bytes with a byte-level BPE tokenizer (the
 * small tokenizer.json inside tests/text/golden_flags.json: NFC, added tokens with every flag)
 * and with the byte tokenizer. Properties: BPE either encodes (ids inside the vocabulary, which
 * decode again) or refuses invalid UTF-8 with BAD_INPUT; the byte tokenizer encodes any bytes
 * and decodes them back exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "tokenizer.h"

#ifndef KRAIT_FUZZ_BPE_FIXTURE
#define KRAIT_FUZZ_BPE_FIXTURE "tests/text/golden_flags.json"
#endif

static krait_tokenizer *bpe, *bytes;

static void load_once(void)
{
    if (bpe) return;
    const char *fixture = getenv("KRAIT_FUZZ_BPE_FIXTURE");
    if (!fixture) fixture = KRAIT_FUZZ_BPE_FIXTURE;
    FILE *f = fopen(fixture, "rb");
    fuzz_check(f != NULL, "the BPE fixture (golden_flags.json) opens");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    fuzz_check(fread(text, 1, (size_t)n, f) == (size_t)n, "the BPE fixture reads");
    fclose(f);
    text[n] = 0;
    cJSON *root = cJSON_Parse(text);
    free(text);
    char *tj = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(root, "tokenizer_json"));
    cJSON_Delete(root);
    fuzz_check(tj != NULL, "the fixture holds tokenizer_json");
    const char *path = fuzz_file((const uint8_t *)tj, strlen(tj), ".tokenizer.json");
    free(tj);
    fuzz_check(krait_tokenizer_load(path, &bpe) == KRAIT_STATUS_OK, "the fixture tokenizer loads");
    fuzz_check(krait_tokenizer_open("bytes", &bytes) == KRAIT_STATUS_OK, "the byte tokenizer");
}

static void check_bpe(const uint8_t *data, size_t size)
{
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    krait_status s = krait_tokenizer_encode(bpe, (const char *)data, size, "fuzz", &ids, &n, &cap);
    if (s == KRAIT_STATUS_OK) {
        int vocab = krait_tokenizer_vocab_size(bpe);
        for (size_t i = 0; i < n; i++) fuzz_check(ids[i] >= 0 && ids[i] < vocab, "BPE ids inside the vocabulary");
        char *out = NULL;
        size_t nout = 0, ocap = 0;
        fuzz_check(krait_tokenizer_decode(bpe, ids, n, &out, &nout, &ocap) == KRAIT_STATUS_OK, "BPE ids decode");
        free(out);
    } else {
        fuzz_check(s == KRAIT_STATUS_BAD_INPUT, "BPE refuses with BAD_INPUT");
    }
    free(ids);
}

static void check_bytes(const uint8_t *data, size_t size)
{
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    fuzz_check(krait_tokenizer_encode(bytes, (const char *)data, size, "fuzz", &ids, &n, &cap) == KRAIT_STATUS_OK,
               "the byte tokenizer encodes any bytes");
    fuzz_check(n <= size, "at most one id per byte");
    char *out = NULL;
    size_t nout = 0, ocap = 0;
    fuzz_check(krait_tokenizer_decode(bytes, ids, n, &out, &nout, &ocap) == KRAIT_STATUS_OK, "byte ids decode");
    fuzz_check(nout == size && (size == 0 || memcmp(out, data, size) == 0), "bytes decode back exactly");
    free(out);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    load_once();
    check_bpe(data, size);
    check_bytes(data, size);
    return 0;
}
