/* apps/audio/generate.c — `krait-audio generate`: audio from a waveform model, sample by sample,
 * unconditionally or continuing a prompt recording, written as a 16-bit WAV (or FLAC) with a
 * picture of it.
 *
 * The prompt (--prompt FILE: any format, read through the model's front-end: resampled,
 * normalised and quantised as in training) is prefilled; then --seconds x rate ids are sampled
 * (temperature 1 by default: the model's own distribution) with core/generate.h and decoded
 * back to samples. Without --prompt the model starts from one silent sample. The output holds
 * the prompt followed by the continuation (--no-prompt-audio: the continuation alone).
 * --picture FILE (default: the output's name with .png) draws the waveform and its spectrogram,
 * the prompt shaded. Progress (samples, rate, ETA) goes to stderr. One CPU thread unless
 * --threads N is given. */
#include <float.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "audio_io.h"
#include "audioapp.h"
#include "fsutil.h"
#include "generate.h"
#include "infer.h"
#include "log.h"
#include "model_io.h"
#include "picture.h"
#include "train.h"

typedef struct gen_ctx {
    krait_progress p;
    double t0;
    long total;
} gen_ctx;

static int on_token(void *user, int seq, int index, int32_t token)
{
    gen_ctx *g = user;
    (void)seq, (void)token;
    if (index == 0) g->t0 = krait_now(); /* the rate of generating, the prompt's reading not counted */
    if ((index + 1) % 256 == 0 || index + 1 == g->total) {
        double dt = krait_now() - g->t0, rate = dt > 0 ? index / dt : 0;
        char eta[32];
        krait_progress_line(&g->p, index + 1 == g->total, "generate: %d/%ld samples, %.0f samples/s, ETA %s", index + 1,
                            g->total, rate, krait_fmt_duration(rate > 0 ? (g->total - index - 1) / rate : 0, eta));
    }
    return 0;
}

int audio_cmd_generate(int argc, char **argv)
{
    const char *model_dir = NULL, *prompt = NULL, *output = NULL, *picture = NULL;
    double seconds = 2.0, temperature = 1.0, top_p = 1.0, prompt_seconds = -1; /* -1: the whole prompt */
    int top_k = 0, no_prompt_audio = 0, no_picture = 0, threads = -1; /* -1: not given */
    krait_opt opts[] = {
        { "--model", OPT_STR, &model_dir, "DIR", "waveform model folder (a krait-audio train run folder)" },
        { "--seconds", OPT_DOUBLE, &seconds, "S", "length of the continuation in seconds (default 2)" },
        { "--prompt", OPT_STR, &prompt, "FILE", "an audio file to continue (default: start from silence)" },
        { "--prompt-seconds", OPT_DOUBLE, &prompt_seconds, "S", "use only the first S seconds of the prompt" },
        { "--output", OPT_STR, &output, "OUT.wav", "the audio written (.wav or .flac; required)" },
        { "--picture", OPT_STR, &picture, "FILE.png", "waveform + spectrogram picture (default: OUT.png)" },
        { "--no-picture", OPT_FLAG, &no_picture, NULL, "do not draw the picture" },
        { "--no-prompt-audio", OPT_FLAG, &no_prompt_audio, NULL, "write the continuation only, not the prompt before it" },
        { "--temperature", OPT_DOUBLE, &temperature, "T", "sampling temperature (default 1; 0 = greedy)" },
        { "--top-k", OPT_INT, &top_k, "K", "keep the K most likely ids (default 0: off)" },
        { "--top-p", OPT_DOUBLE, &top_p, "P", "nucleus sampling (default 1: off)" },
        { "--threads", OPT_INT, &threads, "N", "CPU threads (default 1: a decode step is too small to share; 0: all cores)" },
    };
    krait_common c;
    krait_cli_parse(argc, argv, 2, opts, sizeof opts / sizeof opts[0], &c,
                    "usage: krait-audio generate --model DIR --seconds S [--prompt FILE] --output OUT.wav\n"
                    "Sample audio from a waveform model; writes a WAV and a picture of it.");
    if (!model_dir || !output) krait_cli_die(2, "generate: --model and --output are required");
    /* one decode step of a small waveform model lasts microseconds: threads waiting for each other
     * cost more than they share (113 vs 11,400 samples/s measured on a busy 2-core machine), so
     * one thread unless --threads says otherwise */
    if (threads > 1024) krait_cli_die(2, "option --threads: %d is more than krait uses (at most 1024)", threads);
    c.threads = threads < 0 ? 1 : threads, c.threads_from_env = 0; /* its own default, not OMP_NUM_THREADS */
    if (!(seconds > 0) || seconds > 3600) krait_cli_die(2, "generate: --seconds must be in (0, 3600]");
    audio_frontend fe;
    audio_fe_load(&fe, model_dir);
    if (fe.logmel) krait_cli_die(2, "%s: a classifier (log-mel input) cannot generate audio", model_dir);
    krait_gen_params gp = krait_gen_default_params();
    gp.sample.temperature = (float)temperature;
    gp.sample.top_k = top_k;
    gp.sample.top_p = top_p > 0 && top_p < FLT_MIN ? FLT_MIN : (float)top_p; /* tiny: the top sample only */
    if (prompt_seconds == 0) krait_cli_die(2, "generate: --prompt-seconds must be > 0 (leave it out for the whole prompt)");
    if (prompt_seconds > 0 && !prompt) krait_cli_die(2, "generate: --prompt-seconds cuts a --prompt: give one");
    if (no_picture && picture) krait_cli_die(2, "generate: --picture and --no-picture: give one");
    if (seconds * fe.rate + 0.5 > (double)(INT_MAX / 8))
        krait_cli_die(2, "generate: %g seconds at %d Hz is more samples than one run writes (at most %d)", seconds,
                      fe.rate, INT_MAX / 8);
    gp.max_tokens = (int)(seconds * fe.rate + 0.5);
    if (gp.max_tokens < 1) krait_cli_die(2, "generate: --seconds %g is less than one sample at %d Hz", seconds, fe.rate);
    gp.seed = c.seed;
    if (krait_sample_check(&gp.sample)) return 2;
    char pic_buf[4096];
    if (!picture && !no_picture) {
        const char *dot = strrchr(output, '.');
        snprintf(pic_buf, sizeof pic_buf, "%.*s.png", (int)(dot ? dot - output : (long)strlen(output)), output);
        picture = pic_buf;
    }
    krait_cli_check_picture(picture, "--picture", ".png", "a PNG");
    /* check the output name before the work */
    size_t ol = strlen(output);
    if (krait_fs_is_dir(output) || (ol && output[ol - 1] == '/'))
        krait_cli_die(2, "--output %s: a folder; give the audio file's name (ending in .wav or .flac)", output);
    if (!(ol > 4 && !strcasecmp(output + ol - 4, ".wav")) && !(ol > 5 && !strcasecmp(output + ol - 5, ".flac")))
        krait_cli_die(2, "%s: unsupported output format (write .wav or .flac)", output);
    krait_cli_check_output_path(output, "--output"); /* and the picture's: a typo must not cost the generation */
    krait_cli_check_output_path(picture, "--picture");
    const char *reads[3] = { model_dir, prompt, output }; /* the picture is not the audio either */
    krait_cli_refuse_overwrite(output, "--output", reads, 2);
    krait_cli_refuse_overwrite(picture, "--picture", reads, 3);

    float *px = NULL;
    size_t pn = 0;
    krait_status s;
    if (prompt) {
        if ((s = krait_audio_read_all(prompt, fe.rate, fe.normalize, &px, &pn))) return krait_cli_exit_code(s);
        if (prompt_seconds > 0 && pn > (size_t)(prompt_seconds * fe.rate)) pn = (size_t)(prompt_seconds * fe.rate);
        else if (prompt_seconds > 0 && (double)pn < prompt_seconds * fe.rate)
            KRAIT_WARN("%s: --prompt-seconds %g is longer than the prompt (%.2f s): all of it is used", prompt,
                       prompt_seconds, (double)pn / fe.rate);
        if (!pn) krait_cli_die(2, "%s: --prompt-seconds leaves no samples", prompt);
    }
    int32_t *ids = prompt ? audio_clip_ids(&fe, px, pn) : malloc(sizeof *ids);
    if (!ids) krait_cli_die(1, "out of memory");
    if (!prompt) ids[0] = KRAIT_QUANT_SILENCE, pn = 0;
    int n_prompt = prompt ? (int)pn : 1;

    krait_backend *be = krait_cli_backend(&c, "bf16");
    krait_model *m = krait_model_load(model_dir, be, &s);
    if (!m) return krait_cli_exit_code(s ? s : KRAIT_STATUS_BAD_INPUT);
    if (strcmp(m->cfg.head, "lm") || m->cfg.vocab_size_raw < 256)
        krait_cli_die(2, "%s: not a waveform model (needs an lm head over 256 ids)", model_dir);
    m->cfg.vocab_size_raw = 256;
    krait_infer *inf = krait_infer_init(m, 1, 1024);
    int32_t *out = malloc(sizeof *out * (size_t)gp.max_tokens);
    if (!inf || !out) krait_cli_die(1, "out of memory");
    gen_ctx g = { .t0 = krait_now(), .total = gp.max_tokens };
    krait_progress_init(&g.p, KRAIT_PROGRESS_FORCED_ONLY);
    const int32_t *prompts[1] = { ids };
    if (prompt) krait_progress_line(&g.p, 0, "generate: reading the prompt (%d samples)", n_prompt); /* a terminal's */
    int n_out = 0;
    krait_gen_stats st;
    s = krait_generate(inf, out, &n_out, NULL, &st, prompts, &n_prompt, 1, &gp, on_token, &g);
    krait_progress_done(&g.p);
    if (s) return krait_cli_exit_code(s);

    size_t keep = no_prompt_audio ? 0 : pn, total = keep + (size_t)n_out;
    float *y = malloc(sizeof *y * (total ? total : 1));
    if (!y) krait_cli_die(1, "out of memory");
    if (keep) krait_quant_decode(fe.quant, y, ids, keep); /* the prompt as the model heard it */
    krait_quant_decode(fe.quant, y + keep, out, (size_t)n_out);
    krait_audio_set_temp_hooks(krait_cli_temp_add, krait_cli_temp_done); /* a stop while writing leaves no temporary */
    if ((s = krait_audio_write(output, y, total, fe.rate))) return krait_cli_exit_code(s);
    if (picture) {
        char title[600];
        snprintf(title, sizeof title, "krait-audio generate: %s%s%s", model_dir, prompt ? ", prompt " : "", prompt ? prompt : "");
        if ((s = audio_picture_png(picture, y, total, fe.rate, keep, title))) return krait_cli_exit_code(s);
    }
    double sps = st.decode_s > 0 ? st.step_tokens / st.decode_s : 0;
    printf("wrote %s: %.2f s at %d Hz (%zu prompt + %d generated samples, %.0f samples/s)%s%s\n", output,
           (double)total / fe.rate, fe.rate, keep, n_out, sps, picture ? "; picture " : "", picture ? picture : "");
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", output);
        if (picture) cJSON_AddStringToObject(o, "picture", picture);
        cJSON_AddNumberToObject(o, "prompt_samples", (double)keep);
        cJSON_AddNumberToObject(o, "samples", n_out);
        cJSON_AddNumberToObject(o, "rate", fe.rate);
        cJSON_AddNumberToObject(o, "samples_per_s", sps);
        krait_cli_print_json(o);
    }
    free(y), free(out), free(ids), free(px);
    krait_infer_free(inf);
    krait_model_free(m);
    krait_backend_destroy(be);
    audio_fe_free(&fe);
    return 0;
}
