/* tests/fuzz/fuzz_config.c — krait_config_parse (core/config.h) on arbitrary bytes.
 * Properties: a rejected text is BAD_INPUT (or UNSUPPORTED: another layer than Mamba-1); an
 * accepted one has every size positive and E, R, V derived, and the config.json krait writes
 * for it parses back to the same shape. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    char *text = fuzz_cstr(data, size);
    krait_config c;
    krait_train_config tc;
    krait_config_default(&c);
    krait_train_default(&tc);
    krait_status s = krait_config_parse(&c, &tc, text, "fuzz.json");
    free(text);
    if (s) {
        fuzz_check(s == KRAIT_STATUS_BAD_INPUT || s == KRAIT_STATUS_UNSUPPORTED, "a rejected config's status");
        return 0;
    }
    fuzz_check(c.d_model > 0 && c.n_layer > 0 && c.vocab_size >= c.vocab_size_raw && c.d_state > 0 &&
               c.d_conv > 0 && c.d_inner > 0 && c.dt_rank > 0, "sizes are positive and derived");
    fuzz_check(tc.batch > 0 && tc.seq_len > 0 && tc.steps >= 0, "train sizes");
    char *json = krait_config_to_json(&c, "float32");
    fuzz_check(json != NULL, "config_to_json");
    krait_config back;
    krait_config_default(&back);
    s = krait_config_parse(&back, NULL, json, "written config.json");
    fuzz_check(s == KRAIT_STATUS_OK, "the written config.json parses");
    fuzz_check(back.d_model == c.d_model && back.n_layer == c.n_layer && back.vocab_size == c.vocab_size &&
               back.d_state == c.d_state && back.d_conv == c.d_conv && back.d_inner == c.d_inner &&
               back.dt_rank == c.dt_rank && back.tie_embeddings == c.tie_embeddings &&
               back.use_bias == c.use_bias && back.norm_eps == c.norm_eps &&
               strcmp(back.head, c.head) == 0 && strcmp(back.tokenizer, c.tokenizer) == 0 &&
               (strcmp(c.head, "classify") != 0 || back.n_classes == c.n_classes) &&
               strcmp(back.modality, c.modality) == 0 && back.bidirectional == c.bidirectional,
               "the written config.json gives the same model");
    free(json);
    char *tj = krait_train_to_json(&tc);
    fuzz_check(tj != NULL, "train_to_json");
    free(tj);
    return 0;
}
