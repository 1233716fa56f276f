/* tests/fuzz/fuzz_audio_manifest.c — the audio manifest parser (modalities/audio/audio_data.h)
 * on arbitrary bytes, then class naming and the hash split of what it accepted. Properties: a
 * rejected manifest is BAD_INPUT; every item has a non-empty path; labels are on every item or
 * on none; each labelled item's class names its label; the split puts each item in train or
 * test. */
#include <stdlib.h>
#include <string.h>

#include "audio_data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    krait_audio_list l;
    memset(&l, 0, sizeof l);
    krait_status s = krait_audio_manifest_parse(&l, (const char *)data, size, "fuzz.tsv", size & 1 ? "/base" : NULL);
    if (s) {
        fuzz_check(s == KRAIT_STATUS_BAD_INPUT, "a rejected manifest is BAD_INPUT");
        krait_audio_list_free(&l);
        return 0;
    }
    int labelled = 0;
    for (int i = 0; i < l.n; i++) {
        fuzz_check(l.items[i].path && l.items[i].path[0], "an item has a path");
        labelled += l.items[i].label != NULL;
    }
    fuzz_check(labelled == 0 || labelled == l.n, "labels on every item or on none");
    if (krait_audio_list_classes(&l) == KRAIT_STATUS_OK && labelled) {
        for (int i = 0; i < l.n; i++)
            fuzz_check(l.items[i].cls >= 0 && l.items[i].cls < l.n_classes &&
                           strcmp(l.names[l.items[i].cls], l.items[i].label) == 0,
                       "an item's class names its label");
    }
    if (l.n > 0) {
        int *is_test = malloc(sizeof *is_test * (size_t)l.n);
        if (krait_audio_split(is_test, &l, NULL, 0.5) == KRAIT_STATUS_OK)
            for (int i = 0; i < l.n; i++) fuzz_check(is_test[i] == 0 || is_test[i] == 1, "split is 0 or 1");
        free(is_test);
    }
    krait_audio_list_free(&l);
    return 0;
}
