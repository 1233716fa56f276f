/* tests/fuzz/fuzz_safetensors.c — the safetensors reader (core/safetensors.h) on arbitrary bytes.
 * Properties: open either fails with BAD_INPUT or gives tensors that lie inside the file, cover
 * the data buffer without overlap, are found again by name, and read to fp32 (F32/F16/BF16) or
 * are refused with BAD_INPUT; metadata keys are found again. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    const char *path = fuzz_file(data, size, ".safetensors");
    krait_status s = KRAIT_STATUS_OK;
    krait_st_file *f = krait_st_open(path, &s);
    if (!f) {
        fuzz_check(s == KRAIT_STATUS_BAD_INPUT, "a rejected file is BAD_INPUT");
        return 0;
    }
    size_t n = krait_st_count(f);
    uint64_t end = 0;
    for (size_t i = 0; i < n; i++) {
        const krait_st_tensor *t = krait_st_tensor_at(f, i);
        fuzz_check(t->file_offset >= 8 && t->file_offset <= size && t->nbytes <= size - t->file_offset,
                   "tensor inside the file");
        fuzz_check(i == 0 || t->file_offset == end, "tensors are contiguous in offset order");
        end = t->file_offset + t->nbytes;
        fuzz_check(krait_st_find(f, t->name) == t, "find by name");
        uint64_t numel = 1;
        for (int d = 0; d < t->rank; d++) numel *= (uint64_t)t->shape[d];
        fuzz_check(numel == t->numel, "numel is the product of the shape");
        if (t->numel <= (1u << 16)) {
            float *dst = malloc((t->numel ? t->numel : 1) * sizeof *dst);
            krait_status r = krait_st_tensor_read_f32(t, dst, t->numel);
            int convertible = t->dtype == KRAIT_ST_DTYPE_F32 || t->dtype == KRAIT_ST_DTYPE_F16 ||
                              t->dtype == KRAIT_ST_DTYPE_BF16;
            fuzz_check(convertible ? r == KRAIT_STATUS_OK : r == KRAIT_STATUS_BAD_INPUT, "read_f32 status");
            if (t->numel > 0) {
                r = krait_st_tensor_read_f32(t, dst, t->numel - 1);
                fuzz_check(r == KRAIT_STATUS_BAD_INPUT, "a wrong element count is refused");
            }
            free(dst);
        }
    }
    fuzz_check(n == 0 || end == size, "the last tensor ends the file");
    for (size_t i = 0; i < krait_st_metadata_count(f); i++) {
        const char *k, *v;
        krait_st_metadata_at(f, i, &k, &v);
        fuzz_check(krait_st_metadata_get(f, k) == v, "metadata found by key");
    }
    krait_st_close(f);
    return 0;
}
