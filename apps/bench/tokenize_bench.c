/* apps/bench/tokenize_bench.c — `krait-bench tokenize`: tokenizer encoding speed on one thread.
 *
 * Loads a tokenizer (a tokenizer.json, or "bytes"), reads a text file whole, encodes it again and
 * again for about --seconds, and reports the best pass as MB/s of input text and tokens/s, plus the
 * load time. Defaults: the shared GPT-NeoX-20B tokenizer.json and the wikitext2 test text when
 * ../shared/data is there. Encoding is single-threaded by design; nothing else runs meanwhile. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench.h"
#include "cli.h"
#include "fsutil.h"
#include "tokenizer.h"
#include "train.h"

#ifndef KRAIT_SHARED_DATA_DIR
#define KRAIT_SHARED_DATA_DIR "../shared/data"
#endif

int bench_tokenize(int argc, char **argv)
{
    const char *tok_path = KRAIT_SHARED_DATA_DIR "/text/gpt-neox-20b/tokenizer.json";
    const char *input = KRAIT_SHARED_DATA_DIR "/text/wikitext2/test.txt";
    double seconds = 3.0;
    krait_opt opts[] = {
        { "--tokenizer", OPT_STR, &tok_path, "PATH", "tokenizer.json or \"bytes\" (default: the shared GPT-NeoX-20B one)" },
        { "--input", OPT_STR, &input, "FILE", "text to encode (default: the shared wikitext2 test.txt)" },
        { "--seconds", OPT_DOUBLE, &seconds, "S", "time to spend encoding, best pass reported (default 3)" },
        KRAIT_OPTS_NO_MODEL, /* one thread: the encoders are serial */
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-bench tokenize [--tokenizer PATH] [--input FILE] [--seconds S]\n"
                    "Encoding speed of a tokenizer on one thread: MB/s of text and tokens/s.");
    if (!krait_fs_is_file(input))
        krait_cli_die(2, "%s: cannot read the input (%s; give --input FILE)", input,
                      krait_fs_is_dir(input) ? "a folder, not a file"
                      : access(input, F_OK) == 0 ? "not a regular file: a pipe or a device? save it to a file"
                                                 : "no such file");
    krait_status st;
    size_t len = 0;
    char *text = krait_fs_read_file(input, (size_t)1 << 31, &len, &st);
    if (!text)
        return krait_cli_exit_code(st);
    const char *nul = memchr(text, '\0', len);
    if (nul) /* the encoders take C strings: the text would end there */
        krait_cli_die(2, "%s: a NUL byte at byte %zu: not text (the encoders stop at it)", input, (size_t)(nul - text));
    if (!len) krait_cli_die(2, "%s: no text to encode (empty)", input);
    double t0 = krait_now();
    krait_tokenizer *tok = NULL;
    st = krait_tokenizer_open(tok_path, &tok);
    if (st)
        return krait_cli_exit_code(st);
    double load_s = krait_now() - t0;

    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    double best = 1e30, spent = 0;
    int passes = 0;
    while (passes < 3 || spent < seconds) {
        n = 0;
        double a = krait_now();
        st = krait_tokenizer_encode(tok, text, len, input, &ids, &n, &cap);
        double dt = krait_now() - a;
        if (st)
            return krait_cli_exit_code(st);
        best = dt < best ? dt : best;
        spent += dt;
        passes++;
    }
    double mbps = (double)len / best / 1e6, tps = (double)n / best;
    printf("tokenize %s: %zu bytes -> %zu tokens (%.3f bytes/token); best of %d passes %.1f ms: %.2f MB/s, "
           "%.0f tokens/s on one thread; load %.0f ms\n",
           input, len, n, (double)len / (n ? (double)n : 1.0), passes, best * 1e3, mbps, tps, load_s * 1e3);
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "tokenizer", tok_path);
        cJSON_AddNumberToObject(o, "bytes", (double)len);
        cJSON_AddNumberToObject(o, "tokens", (double)n);
        cJSON_AddNumberToObject(o, "mb_per_s", mbps);
        cJSON_AddNumberToObject(o, "tokens_per_s", tps);
        cJSON_AddNumberToObject(o, "load_ms", load_s * 1e3);
        krait_cli_print_json(o);
    }
    free(ids);
    free(text);
    krait_tokenizer_free(tok);
    return 0;
}
