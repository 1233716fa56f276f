/* tests/audio/test_audio_io.c — the reader on files libsndfile itself writes (WAV, FLAC,
 * OGG/Vorbis, AIFF; 16-bit and float; mono and stereo), downmixing, resampling (a 16 kHz sine
 * read at 8 kHz keeps its frequency), the streaming reader against read_all, the writer round
 * trip (WAV, FLAC), and the one-line errors for zero-length, unsupported, malformed and truncated
 * files. Sines have fresh random frequencies and amplitudes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#include "audio_io.h"
#include "log.h"
#include "testutil.h"

static char dir[256];
static char last_err[1024];

static void capture(krait_log_level level, const char *msg, void *user)
{
    (void)user;
    if (level == KRAIT_LOG_ERROR) snprintf(last_err, sizeof last_err, "%s", msg);
}

static const char *path_of(const char *name)
{
    static char p[16][512];
    static int k;
    k = (k + 1) % 16;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* Write frames of a sine (channel c has amplitude amp * (c + 1) / ch, or the opposite sign on
 * odd channels when antiphase) with libsndfile directly. */
static int write_sine(const char *path, int format, int rate, int ch, double freq, double amp, long frames, int antiphase)
{
    SF_INFO si = { .samplerate = rate, .channels = ch, .format = format };
    SNDFILE *f = sf_open(path, SFM_WRITE, &si);
    if (!f) {
        printf("cannot write %s: %s\n", path, sf_strerror(NULL));
        return 0;
    }
    float *buf = malloc(sizeof *buf * (size_t)frames * ch);
    for (long i = 0; i < frames; i++)
        for (int c = 0; c < ch; c++) {
            double v = amp * sin(2 * M_PI * freq * i / rate);
            buf[i * ch + c] = (float)(antiphase ? (c % 2 ? -v : v) : v * (c + 1) / ch);
        }
    sf_count_t w = sf_writef_float(f, buf, frames);
    sf_close(f);
    free(buf);
    return w == frames;
}

/* Frequency from the positive-going zero crossings over the middle of x. */
static double est_freq(const float *x, size_t n, int rate)
{
    size_t a = n / 10, b = n - n / 10, first = 0, last = 0;
    int k = 0;
    for (size_t i = a + 1; i < b; i++)
        if (x[i - 1] < 0 && x[i] >= 0) {
            double t = (i - 1) + x[i - 1] / (x[i - 1] - x[i]);
            if (!k) first = i;
            last = i;
            (void)t;
            k++;
        }
    return k > 1 ? (double)(k - 1) * rate / (double)(last - first) : 0;
}

static double rms_diff_sine(const float *x, size_t n, int rate, double freq, double amp)
{
    /* best phase-free check: compare energy to amp^2/2 */
    double e = 0;
    for (size_t i = n / 10; i < n - n / 10; i++) e += (double)x[i] * x[i];
    e /= (double)(n - 2 * (n / 10));
    (void)rate, (void)freq;
    return fabs(sqrt(e) - amp / sqrt(2.0));
}

static void check_format(const char *name, int format, int ch, double tol_amp)
{
    double freq = tu_uniform(200, 900), amp = tu_uniform(0.2, 0.8);
    const char *p = path_of(name);
    if (!tu_check(write_sine(p, format, 8000, ch, freq, amp, 8000, 0), "%s written", name)) return;
    float *x;
    size_t n;
    krait_status s = krait_audio_read_all(p, 8000, 0, &x, &n);
    if (!tu_check(s == KRAIT_STATUS_OK, "%s read (%s)", name, last_err)) return;
    double f = est_freq(x, n, 8000);
    /* the downmix of channel amplitudes amp * (c + 1) / ch averages to amp * (ch + 1) / (2 ch) */
    double want_amp = amp * (ch + 1) / (2.0 * ch);
    tu_check(n == 8000 || (format & SF_FORMAT_TYPEMASK) == SF_FORMAT_OGG, "%s: 8000 frames (got %zu)", name, n);
    tu_check(fabs(f - freq) < 1.0, "%s: frequency %.2f Hz (wrote %.2f)", name, f, freq);
    tu_check(rms_diff_sine(x, n, 8000, freq, want_amp) < tol_amp, "%s: %d-channel mix has rms of amplitude %.3f", name, ch,
             want_amp);
    free(x);
}

int main(void)
{
    tu_init("test_audio_io");
    snprintf(dir, sizeof dir, "/tmp/krait-audio-io-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    krait_log_set(capture, NULL, KRAIT_LOG_WARN);

    { /* peak normalisation: a loud clip to peak 1, a near-silent one (peak 1e-4) by 60 dB at most */
        const char *loud = path_of("loud.wav"), *quiet = path_of("quiet.wav");
        float *x;
        size_t n;
        if (tu_check(write_sine(loud, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 1, 440, 0.25, 800, 0) &&
                         krait_audio_read_all(loud, 8000, 1, &x, &n) == KRAIT_STATUS_OK, "loud clip read normalised")) {
            float pk = 0;
            for (size_t i = 0; i < n; i++) pk = fmaxf(pk, fabsf(x[i]));
            tu_check(fabsf(pk - 1.0f) < 1e-5f, "a clip of peak 0.25 is scaled to peak 1 (got %g)", pk);
            free(x);
        }
        if (tu_check(write_sine(quiet, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 1, 440, 1e-4, 800, 0) &&
                         krait_audio_read_all(quiet, 8000, 1, &x, &n) == KRAIT_STATUS_OK, "quiet clip read normalised")) {
            float pk = 0;
            for (size_t i = 0; i < n; i++) pk = fmaxf(pk, fabsf(x[i]));
            tu_check(fabsf(pk - 0.1f) < 1e-4f, "a clip of peak 1e-4 is raised by 60 dB at most, to 0.1 (got %g)", pk);
            free(x);
        }
        tu_check(krait_audio_peak_gain(0) == 1.0f, "a silent clip keeps gain 1");
        /* resampled, the peak is the resampled signal's: a 1 kHz square wave of 0.9 at 44.1 kHz rings
         * above 0.9 at 8 kHz (Gibbs), and scaled by the file's own peak it went past 1 */
        const char *sq = path_of("square.wav");
        SF_INFO si = { .samplerate = 44100, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT };
        SNDFILE *sf = sf_open(sq, SFM_WRITE, &si);
        float wave[4410];
        for (int i = 0; i < 4410; i++) wave[i] = (i / 22) % 2 ? -0.9f : 0.9f;
        int wrote = sf && sf_writef_float(sf, wave, 4410) == 4410;
        if (sf) sf_close(sf);
        if (tu_check(wrote && krait_audio_read_all(sq, 8000, 1, &x, &n) == KRAIT_STATUS_OK, "square wave read at 8 kHz")) {
            float pk = 0;
            for (size_t i = 0; i < n; i++) pk = fmaxf(pk, fabsf(x[i]));
            tu_check(fabsf(pk - 1.0f) < 1e-5f, "resampled and normalised: peak 1 (got %.6f)", pk);
            free(x);
        }
    }
    check_format("a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, 2e-3);
    check_format("b.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1, 2e-3);
    check_format("c.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 1, 0.02);
    check_format("d.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 1, 2e-3);
    check_format("e.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 2, 2e-3);
    check_format("f.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 3, 2e-3);

    /* stereo in antiphase downmixes to silence */
    {
        const char *p = path_of("anti.wav");
        write_sine(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 2, 440, 0.5, 4000, 1);
        float *x;
        size_t n;
        double mx = 0;
        if (tu_check(krait_audio_read_all(p, 8000, 0, &x, &n) == KRAIT_STATUS_OK, "antiphase read")) {
            for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(x[i]));
            tu_check(mx < 1e-6, "stereo in antiphase averages to silence (max %.3g)", mx);
            free(x);
        }
    }
    /* 16 kHz -> 8 kHz keeps the frequency and the length halves; 8 kHz -> 22050 too */
    {
        double freq = tu_uniform(300, 1500), amp = 0.5;
        const char *p = path_of("hi.wav");
        write_sine(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, freq, amp, 32000, 0);
        float *x;
        size_t n;
        if (tu_check(krait_audio_read_all(p, 8000, 0, &x, &n) == KRAIT_STATUS_OK, "16 kHz read at 8 kHz")) {
            tu_check(n == 16000, "16 kHz, 2 s -> %zu samples at 8 kHz (16000)", n);
            double f = est_freq(x, n, 8000);
            tu_check(fabs(f - freq) < 1.0, "resampled frequency %.2f Hz (wrote %.2f)", f, freq);
            tu_check(rms_diff_sine(x, n, 8000, freq, amp) < 5e-3, "resampled amplitude kept");
            free(x);
        }
        if (tu_check(krait_audio_read_all(p, 22050, 0, &x, &n) == KRAIT_STATUS_OK, "16 kHz read at 22.05 kHz")) {
            tu_check(n == 44100, "-> %zu samples at 22.05 kHz (44100)", n);
            double f = est_freq(x, n, 22050);
            tu_check(fabs(f - freq) < 1.0, "upsampled frequency %.2f Hz (wrote %.2f)", f, freq);
            free(x);
        }
        /* streaming in odd pieces gives the same samples as read_all */
        krait_status s;
        krait_audio_reader *r = krait_audio_reader_open(p, 8000, &s);
        float *all;
        size_t na;
        krait_audio_read_all(p, 8000, 0, &all, &na);
        float *y = malloc(sizeof *y * (na + 100));
        size_t got = 0;
        long g;
        while (r && (g = krait_audio_reader_read(r, y + got, 1 + (long)(tu_next() % 997))) > 0) got += (size_t)g;
        tu_check(got == na && !memcmp(y, all, sizeof *y * na), "streamed pieces == read_all (%zu vs %zu samples)", got, na);
        /* peak normalisation and rewind: the peak of the samples reading gives (resampled: near the
         * file's 0.5, a filter's ringing included) */
        float peak = 0, want = 0;
        for (size_t i = 0; i < na; i++) want = fmaxf(want, fabsf(all[i]));
        krait_status ps = r ? krait_audio_reader_peak(r, &peak) : KRAIT_STATUS_BAD_INPUT;
        tu_check(ps == KRAIT_STATUS_OK && peak == want && fabsf(peak - 0.5f) < 0.03f,
                 "peak %.5f (the resampled samples': %.5f; the file's 0.5)", peak, want);
        free(y), free(all);
        krait_audio_reader_close(r);
        if (tu_check(krait_audio_read_all(p, 16000, 1, &x, &n) == KRAIT_STATUS_OK, "normalised read")) {
            float mx = 0;
            for (size_t i = 0; i < n; i++) mx = fmaxf(mx, fabsf(x[i]));
            tu_check(fabsf(mx - 1.0f) < 1e-4f, "normalize: peak becomes 1 (%.5f)", mx);
            free(x);
        }
    }
    /* the resampled length is the file's duration at the new rate to the nearest sample (sox's
     * count): 1 s at 44.1 kHz gives 8,000 samples at 8 kHz (libsamplerate's own end gave 7,999),
     * 44,107 frames give 8,001 (8,001.3) and 44,112 give 8,002 (8,002.2); streamed in odd pieces, the same */
    {
        const char *p = path_of("cd.wav");
        const long frames[3] = { 44100, 44107, 44112 };
        const size_t want[3] = { 8000, 8001, 8002 };
        for (int k = 0; k < 3; k++) {
            write_sine(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, 440, 0.5, frames[k], 0);
            float *x;
            size_t n = 0;
            if (tu_check(krait_audio_read_all(p, 8000, 0, &x, &n) == KRAIT_STATUS_OK, "44.1 kHz read at 8 kHz")) {
                tu_check(n == want[k], "%ld frames at 44.1 kHz -> %zu samples at 8 kHz (%zu)", frames[k], n, want[k]);
                tu_check(fabs(est_freq(x, n, 8000) - 440) < 1.0, "440 Hz kept");
                free(x);
            }
            krait_status s;
            krait_audio_reader *r = krait_audio_reader_open(p, 8000, &s);
            float y[9800]; /* room for one piece past 9,000 */
            size_t got = 0;
            long g;
            while (r && got < 9000 && (g = krait_audio_reader_read(r, y + got, 1 + (long)(tu_next() % 701))) > 0)
                got += (size_t)g;
            tu_check(got == want[k], "streamed: %zu samples (%zu)", got, want[k]);
            krait_audio_reader_close(r);
        }
    }
    /* resampling at exactly libsamplerate's limit, 256 times either way, is accepted (beyond it is
     * refused: tests/apps/audio_app.sh reads a 1 Hz WAV at 8 kHz). Up: 40 frames at 125 Hz read at
     * 32 kHz give 40 x 256 samples. Down: 1 s at 25600 Hz read at 100 Hz gives 100 (libsamplerate's
     * own end of input stops a few short at this ratio, 97 of 100 in CHUNK pieces: the reader pads
     * the end with silence and cuts at the file's duration) */
    {
        const char *lo = path_of("r125.wav"), *hi = path_of("r25600.wav");
        float *x = NULL;
        size_t n = 0;
        write_sine(lo, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 125, 1, 10, 0.5, 40, 0);
        last_err[0] = 0;
        krait_status s = krait_audio_read_all(lo, 32000, 0, &x, &n);
        tu_check(s == KRAIT_STATUS_OK && n == 10240, "125 Hz read at 32000 Hz (256 times up): status %d, %zu samples (10240) %s",
                 (int)s, n, last_err);
        if (s == KRAIT_STATUS_OK) free(x);
        write_sine(hi, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 25600, 1, 30, 0.5, 25600, 0);
        last_err[0] = 0;
        n = 0;
        s = krait_audio_read_all(hi, 100, 0, &x, &n);
        tu_check(s == KRAIT_STATUS_OK && n == 100,
                 "25600 Hz, 1 s read at 100 Hz (256 times down): status %d, %zu samples (100) %s",
                 (int)s, n, last_err);
        if (s == KRAIT_STATUS_OK) free(x);
    }
    /* peak normalisation by the largest magnitude, a negative one included: 0.1, -0.5 -> 0.2, -1 */
    {
        const char *p = path_of("neg.wav");
        SF_INFO si = { .samplerate = 8000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT };
        SNDFILE *f = sf_open(p, SFM_WRITE, &si);
        float two[2] = { 0.1f, -0.5f }, *x = NULL;
        size_t n = 0;
        if (f) sf_writef_float(f, two, 2), sf_close(f);
        tu_check(krait_audio_read_all(p, 8000, 1, &x, &n) == KRAIT_STATUS_OK && n == 2 && fabsf(x[0] - 0.2f) < 1e-6f &&
                     fabsf(x[1] + 1.0f) < 1e-6f,
                 "normalize by the largest magnitude: 0.1, -0.5 -> %g, %g (0.2, -1)", n > 0 ? x[0] : NAN, n > 1 ? x[1] : NAN);
        free(x);
    }
    /* writer round trip: WAV and FLAC, 16-bit: within one step of 1/32768 */
    const char *outs[2] = { "w.wav", "w.FLAC" };
    for (int k = 0; k < 2; k++) {
        size_t n = 5000 + tu_next() % 3000;
        float *x = malloc(sizeof *x * n), *y;
        for (size_t i = 0; i < n; i++) x[i] = (float)tu_uniform(-1, 1);
        x[0] = 3.0f, x[1] = -2.0f; /* clipped */
        size_t m;
        const char *p = path_of(outs[k]);
        krait_status s = krait_audio_write(p, x, n, 11025);
        if (tu_check(s == KRAIT_STATUS_OK, "write %s", outs[k]) &&
            tu_check(krait_audio_read_all(p, 0, 0, &y, &m) == KRAIT_STATUS_OK, "read back %s", outs[k])) {
            double worst = 0;
            x[0] = 1.0f, x[1] = -1.0f;
            for (size_t i = 0; i < n && m == n; i++) worst = fmax(worst, fabs(y[i] - x[i]));
            tu_check(m == n && worst <= 1.0 / 32768 + 1e-6, "%s round trip: %zu samples, worst error %.3g", outs[k], m, worst);
            SF_INFO si = { 0 };
            SNDFILE *f = sf_open(p, SFM_READ, &si);
            tu_check(f && si.samplerate == 11025 && si.channels == 1 && (si.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16,
                     "%s: mono 16-bit at 11025 Hz", outs[k]);
            if (f) sf_close(f);
            free(y);
        }
        free(x);
    }
    float one = 0;
    tu_check(krait_audio_write(path_of("x.mp4"), &one, 1, 8000) == KRAIT_STATUS_BAD_INPUT && strstr(last_err, "unsupported output format"),
             "writing .mp4 refused: %s", last_err);

    /* bad inputs: one line naming the file */
    struct { const char *name, *content; long len; const char *want; } bad[] = {
        { "zero.wav", "", 0, "zero-length file" },
        { "text.wav", "hello, this is not audio at all\n", -1, "unsupported or unrecognised audio format" },
        { "riffonly.wav", "RIFF\x24\0\0\0WAVEfmt ", 16, "malformed audio" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *p = path_of(bad[i].name);
        FILE *f = fopen(p, "wb");
        fwrite(bad[i].content, 1, bad[i].len >= 0 ? (size_t)bad[i].len : strlen(bad[i].content), f);
        fclose(f);
        float *x;
        size_t n;
        last_err[0] = 0;
        krait_status s = krait_audio_read_all(p, 8000, 0, &x, &n);
        tu_check(s == KRAIT_STATUS_BAD_INPUT && strstr(last_err, bad[i].want) && strstr(last_err, p),
                 "%s: BAD_INPUT with '%s': %s", bad[i].name, bad[i].want, last_err);
    }
    /* truncated: a WAV cut in the middle of its samples; a header with no samples; FLAC cut */
    {
        const char *full = path_of("full.wav"), *cut = path_of("cut.wav"), *hdr = path_of("hdr.wav");
        write_sine(full, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 440, 0.5, 8000, 0);
        FILE *in = fopen(full, "rb");
        char buf[20000];
        size_t len = fread(buf, 1, sizeof buf, in);
        fclose(in);
        FILE *o = fopen(cut, "wb");
        fwrite(buf, 1, len / 2, o);
        fclose(o);
        o = fopen(hdr, "wb");
        fwrite(buf, 1, 44, o);
        fclose(o);
        float *x;
        size_t n;
        tu_check(krait_audio_read_all(cut, 8000, 0, &x, &n) == KRAIT_STATUS_BAD_INPUT && strstr(last_err, "truncated"),
                 "WAV cut in half: %s", last_err);
        tu_check(krait_audio_read_all(hdr, 8000, 0, &x, &n) == KRAIT_STATUS_BAD_INPUT && strstr(last_err, "zero-length audio"),
                 "WAV header only: %s", last_err);
        const char *fl = path_of("full.flac"), *flc = path_of("cut.flac");
        write_sine(fl, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 8000, 1, 440, 0.5, 16000, 0);
        in = fopen(fl, "rb");
        len = fread(buf, 1, sizeof buf, in);
        fclose(in);
        o = fopen(flc, "wb");
        fwrite(buf, 1, len / 2, o);
        fclose(o);
        tu_check(krait_audio_read_all(flc, 8000, 0, &x, &n) == KRAIT_STATUS_BAD_INPUT && strstr(last_err, "truncated"),
                 "FLAC cut in half: %s", last_err);
        tu_check(krait_audio_read_all(path_of("missing.wav"), 8000, 0, &x, &n) == KRAIT_STATUS_BAD_INPUT &&
                 strstr(last_err, "cannot open"), "missing file: %s", last_err);
        char err[600] = "";
        last_err[0] = 0;
        tu_check(krait_audio_read_all_err(cut, 8000, 0, &x, &n, err, sizeof err) == KRAIT_STATUS_BAD_INPUT &&
                 strstr(err, "truncated") && !last_err[0], "read_all_err: the message goes to the buffer, not the log ('%s' / '%s')", err, last_err);
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return tu_finish();
}
