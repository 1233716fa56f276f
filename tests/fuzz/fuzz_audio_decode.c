/* tests/fuzz/fuzz_audio_decode.c — the audio reader (modalities/audio/audio_io.h: libsndfile,
 * downmix, libsamplerate) on arbitrary bytes: the first byte picks the name's extension (libsndfile
 * mostly sniffs the content) and the output rate (the file's own, 16 kHz or 8 kHz); the rest is
 * the file. Properties: open fails with BAD_INPUT or IO; an opened file has channels >= 1, a rate
 * > 0 and frames >= 0; reading yields finite samples until 0 (the end) or -1 (truncated, logged),
 * never more than the header's frames allow (with a resampling margin). */
#include <math.h>
#include <stdlib.h>

#include "audio_io.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    if (size == 0) return 0;
    static const char *const ext[] = { ".wav", ".flac", ".ogg", ".aiff", ".au", ".caf", ".w64", ".raw" };
    static const int rates[] = { 0, 16000, 8000, 0 };
    const char *path = fuzz_file(data + 1, size - 1, ext[data[0] & 7]);
    int out_rate = rates[(data[0] >> 3) & 3];
    krait_status s = KRAIT_STATUS_OK;
    krait_audio_reader *r = krait_audio_reader_open(path, out_rate, &s);
    if (!r) {
        fuzz_check(s == KRAIT_STATUS_BAD_INPUT || s == KRAIT_STATUS_IO, "open status");
        return 0;
    }
    const krait_audio_file_info *info = krait_audio_reader_info(r);
    /* frames -1: libsndfile cannot tell the length (a cut Ogg stream), read to its end */
    fuzz_check(info->channels >= 1 && info->rate > 0 && info->frames >= -1, "sane file info");
    double ratio = out_rate > 0 ? (double)out_rate / info->rate : 1.0;
    double limit = info->frames >= 0 ? (double)info->frames * ratio + 4096 : INFINITY;
    float buf[4096];
    long total = 0, got;
    while ((got = krait_audio_reader_read(r, buf, 4096)) > 0 && total < (1L << 22)) {
        for (long i = 0; i < got; i++) fuzz_check(isfinite(buf[i]), "samples are finite");
        total += got;
        fuzz_check(total <= limit, "no more samples than the header's frames");
    }
    fuzz_check(got >= -1, "read result");
    krait_audio_reader_close(r);
    return 0;
}
