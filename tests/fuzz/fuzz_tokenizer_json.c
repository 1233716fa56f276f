/* tests/fuzz/fuzz_tokenizer_json.c — the tokenizer.json loader (modalities/text/tokenizer.h) on
 * arbitrary bytes. Properties: a rejected file is BAD_INPUT or UNSUPPORTED (a model, normalizer
 * or decoder krait does not implement); an accepted tokenizer encodes a
 * fixed text with special tokens to ids inside its vocabulary, decodes them again, and finds
 * its own end-of-text id by name when it has one. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    const char *path = fuzz_file(data, size, ".json");
    krait_tokenizer *tok = NULL;
    krait_status s = krait_tokenizer_load(path, &tok);
    if (s) {
        fuzz_check((s == KRAIT_STATUS_BAD_INPUT || s == KRAIT_STATUS_UNSUPPORTED) && tok == NULL,
                   "a rejected tokenizer is BAD_INPUT or UNSUPPORTED");
        return 0;
    }
    int vocab = krait_tokenizer_vocab_size(tok);
    fuzz_check(vocab > 0, "vocabulary size");
    int eos = krait_tokenizer_eos(tok);
    fuzz_check(eos < vocab, "eos inside the vocabulary");
    fuzz_check(eos < 0 || krait_tokenizer_token_id(tok, "<|endoftext|>") == eos, "eos found by name");
    static const char text[] = "Hello,  world!\n\t<|endoftext|> na\xc3\xafve caf\xc3\xa9 12345 <mask>[R] xy word";
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    s = krait_tokenizer_encode(tok, text, sizeof text - 1, "fuzz", &ids, &n, &cap);
    fuzz_check(s == KRAIT_STATUS_OK, "valid UTF-8 encodes");
    for (size_t i = 0; i < n; i++) fuzz_check(ids[i] >= 0 && ids[i] < vocab, "ids inside the vocabulary");
    char *out = NULL;
    size_t nout = 0, ocap = 0;
    s = krait_tokenizer_decode(tok, ids, n, &out, &nout, &ocap);
    fuzz_check(s == KRAIT_STATUS_OK, "its own ids decode");
    free(out);
    free(ids);
    krait_tokenizer_free(tok);
    return 0;
}
