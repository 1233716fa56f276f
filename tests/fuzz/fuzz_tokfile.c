/* tests/fuzz/fuzz_tokfile.c — the token file reader (modalities/text/tokfile.h) on arbitrary
 * bytes. Properties: a rejected file is BAD_INPUT; an accepted one is exactly 32 + count x
 * bytes-per-id long, and every id reads (in pieces) within the id width. */
#include <stdlib.h>

#include "fuzz.h"
#include "tokfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    const char *path = fuzz_file(data, size, ".bin");
    krait_tokfile *f = NULL;
    krait_status s = krait_tokfile_open(path, &f);
    if (s) {
        fuzz_check(s == KRAIT_STATUS_BAD_INPUT && f == NULL, "a rejected file is BAD_INPUT");
        return 0;
    }
    uint64_t n = krait_tokfile_count(f);
    int w = krait_tokfile_id_bytes(f);
    fuzz_check(w == 2 || w == 4, "2 or 4 bytes per id");
    fuzz_check(KRAIT_TOKFILE_HEADER + n * (uint64_t)w == size, "the size is header + ids");
    int32_t ids[257];
    for (uint64_t at = 0; at < n;) {
        size_t k = n - at < 257 ? (size_t)(n - at) : 257;
        krait_tokfile_read(f, ids, at, k);
        for (size_t i = 0; i < k; i++)
            fuzz_check(w == 4 || (ids[i] >= 0 && ids[i] < 65536), "a 2-byte id is below 65536");
        at += k;
    }
    krait_tokfile_close(f);
    return 0;
}
