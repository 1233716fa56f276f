/* modalities/text/tokenizer_bpe.c — HF tokenizer.json byte-level BPE.
 * Placeholder until the BPE implementation lands (text issue): loading reports that it is not
 * built yet, so nothing silently falls back to bytes. */
#include "log.h"
#include "tokenizer_impl.h"

krait_status krait_bpe_load(const char *path, krait_tokenizer *tok)
{
    (void)tok;
    KRAIT_ERROR("%s: BPE tokenizer.json is not supported yet in this build", path);
    return KRAIT_STATUS_UNSUPPORTED;
}
void krait_bpe_free(krait_bpe *bpe) { (void)bpe; }
int krait_bpe_token_id(const krait_bpe *bpe, const char *token)
{
    (void)bpe;
    (void)token;
    return -1;
}
krait_status krait_bpe_encode(const krait_bpe *bpe, const char *text, size_t len, const char *what,
                              int32_t **ids, size_t *n, size_t *cap)
{
    (void)bpe, (void)text, (void)len, (void)what, (void)ids, (void)n, (void)cap;
    return KRAIT_STATUS_UNSUPPORTED;
}
krait_status krait_bpe_decode(const krait_bpe *bpe, const int32_t *ids, size_t n_ids, char **out,
                              size_t *n, size_t *cap)
{
    (void)bpe, (void)ids, (void)n_ids, (void)out, (void)n, (void)cap;
    return KRAIT_STATUS_UNSUPPORTED;
}
