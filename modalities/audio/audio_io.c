/* modalities/audio/audio_io.c — libsndfile reading with downmix and libsamplerate resampling;
 * 16-bit WAV/FLAC writing. See audio_io.h. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <samplerate.h>
#include <sndfile.h>

#include "fsutil.h"

#include "audio_io.h"
#include "log.h"

#define CHUNK 4096   /* frames per libsndfile read */

struct krait_audio_reader {
    char *path;
    SNDFILE *sf;
    SF_INFO sfi;
    krait_audio_file_info info;
    int out_rate;
    SRC_STATE *src;           /* NULL when no resampling is needed */
    float *raw;               /* (CHUNK, channels) interleaved */
    float *in;                /* (CHUNK) mono frames waiting for the resampler */
    long in_n, in_off;
    long long frames_read;    /* file frames read so far */
    int eof;                  /* every file frame has been read */
    int length_unknown;       /* libsndfile could not tell the frame count (a cut Ogg stream): read to the end */
    long long out_total;      /* resampled samples the file holds: its duration at the output rate (-1: unknown) */
    long long out_done;       /* resampled samples given so far */
    float gain;
    char *err;                /* where read errors go (NULL: the log) */
    size_t err_size;
};

/* One line "path: problem": into err (err_size bytes) when err is given, else logged. */
static void report(char *err, size_t err_size, const char *path, const char *msg)
{
    if (err) snprintf(err, err_size, "%s: %s", path, msg);
    else KRAIT_ERROR("%s: %s", path, msg);
}

static krait_status fail_open(const char *path, SNDFILE *sf, krait_status *status, krait_status s, const char *fmt,
                              const char *detail, char *err, size_t err_size)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, detail);
    report(err, err_size, path, msg);
    if (sf) sf_close(sf);
    if (status) *status = s;
    return s;
}

/* A chunk line of libsndfile's log, "data : 2147479552 (should be 9454)": 1 when the stated size
 * is not a placeholder. Writers that cannot seek back to fill in the size (sox, ffmpeg, arecord
 * writing to a pipe) leave one of these, and the file is whole. */
static int chunk_line_says_truncated(const char *p)
{
    const char *eol = strchr(p, '\n'), *sb = strstr(p, "(should be"), *colon = strchr(p, ':');
    if (!sb || (eol && sb > eol)) return 0;
    unsigned long long stated = colon && colon < sb ? strtoull(colon + 1, NULL, 10) : 1;
    static const unsigned long long placeholders[] = { 0x7FFFF000ull, 0x7FFFFFFFull, 0xFFFFFFFFull,
                                                       0x7F000000ull + 8 /* AIFF's SSND */ };
    for (size_t i = 0; i < sizeof placeholders / sizeof placeholders[0]; i++)
        if (stated == placeholders[i]) return 0;
    return 1;
}

/* libsndfile opens a WAV/AIFF whose data chunk is longer than the file, with the frames it has;
 * its log says "(should be N)" on the chunk line. That is a truncated file, not a short one. */
static int header_says_truncated(SNDFILE *sf)
{
    char log[4096];
    sf_command(sf, SFC_GET_LOG_INFO, log, sizeof log);
    for (const char *p = log; (p = strstr(p, "data")); p++)
        if (chunk_line_says_truncated(p)) return 1;
    const char *ssnd = strstr(log, "SSND");   /* AIFF's sound data chunk */
    return ssnd && chunk_line_says_truncated(ssnd);
}

static krait_audio_reader *reader_open(const char *path, int out_rate, krait_status *status, char *err,
                                       size_t err_size)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fail_open(path, NULL, status, KRAIT_STATUS_BAD_INPUT, "cannot open (%s)", strerror(errno), err, err_size);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        fail_open(path, NULL, status, KRAIT_STATUS_BAD_INPUT, "%s", "not a regular file", err, err_size);
        return NULL;
    }
    if (st.st_size == 0) {
        fail_open(path, NULL, status, KRAIT_STATUS_BAD_INPUT, "%s", "zero-length file (0 bytes), not audio", err, err_size);
        return NULL;
    }
    SF_INFO sfi;
    memset(&sfi, 0, sizeof sfi);
    SNDFILE *sf = sf_open(path, SFM_READ, &sfi);
    if (!sf) {
        int e = sf_error(NULL);
        /* libsndfile's MPEG probe says "not a regular file" of a regular file it cannot parse */
        if (S_ISREG(st.st_mode) && strstr(sf_strerror(NULL), "not a regular file"))
            fail_open(path, NULL, status, KRAIT_STATUS_BAD_INPUT, "%s",
                      "unsupported or unrecognised audio format (libsndfile cannot parse it)", err, err_size);
        else if (e == SF_ERR_UNRECOGNISED_FORMAT)
            fail_open(path, NULL, status, KRAIT_STATUS_BAD_INPUT,
                      "unsupported or unrecognised audio format (libsndfile: %s)", sf_strerror(NULL), err, err_size);
        else
            fail_open(path, NULL, status, KRAIT_STATUS_BAD_INPUT, "malformed audio (libsndfile: %s)", sf_strerror(NULL), err, err_size);
        return NULL;
    }
    if (sfi.frames <= 0 || sfi.channels <= 0 || sfi.samplerate <= 0) {
        fail_open(path, sf, status, KRAIT_STATUS_BAD_INPUT, "%s",
                  sfi.frames <= 0 ? "zero-length audio: the file holds no samples" : "malformed audio header", err, err_size);
        return NULL;
    }
    if (header_says_truncated(sf)) {
        fail_open(path, sf, status, KRAIT_STATUS_BAD_INPUT, "%s",
                  "truncated: the file is shorter than its header says", err, err_size);
        return NULL;
    }
    /* An Ogg file's length is in its last page; libsndfile reports it unknown when that page is
     * missing, and would read up to where the file was cut without a word. */
    if ((sfi.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_OGG && sfi.frames >= SF_COUNT_MAX) {
        fail_open(path, sf, status, KRAIT_STATUS_BAD_INPUT, "%s",
                  "truncated: the Ogg stream has no last page (a file cut short?)", err, err_size);
        return NULL;
    }
    krait_audio_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path)) || !(r->raw = malloc(sizeof *r->raw * CHUNK * (size_t)sfi.channels)) ||
        !(r->in = malloc(sizeof *r->in * CHUNK))) {
        if (r) free(r->path), free(r->raw), free(r);
        fail_open(path, sf, status, KRAIT_STATUS_NO_MEMORY, "%s", "out of memory", err, err_size);
        return NULL;
    }
    r->sf = sf;
    r->sfi = sfi;
    r->gain = 1.0f;
    r->info.channels = sfi.channels;
    r->info.rate = sfi.samplerate;
    /* (An MPEG stream's frame count is libsndfile's estimate, from a Xing header or the bit rate:
     * trusted, so that a file cut short is refused as truncated, at the cost of refusing a
     * constant-rate file whose estimate runs past its end.) */
    r->length_unknown = sfi.frames >= SF_COUNT_MAX;
    r->info.frames = r->length_unknown ? -1 : (long long)sfi.frames;
    SF_FORMAT_INFO fi = { .format = sfi.format & SF_FORMAT_TYPEMASK };
    if (sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0 && fi.name)
        snprintf(r->info.format, sizeof r->info.format, "%s", fi.name);
    r->out_rate = out_rate > 0 ? out_rate : sfi.samplerate;
    double ratio = (double)r->out_rate / sfi.samplerate;
    if (ratio > 256 || ratio < 1.0 / 256) { /* libsamplerate's limits: say it in the file's terms */
        char why[160];
        snprintf(why, sizeof why, "a sample rate of %d Hz cannot be resampled to %d Hz (at most 256 times up or down)",
                 sfi.samplerate, r->out_rate);
        report(err, err_size, path, why);
        krait_audio_reader_close(r);
        if (status) *status = KRAIT_STATUS_BAD_INPUT;
        return NULL;
    }
    /* The file's duration at the output rate, to the nearest sample: round(frames * ratio), sox's
     * count. (libsamplerate's own end of input stops one sample or more short of it: 7,999 of 8,000
     * for a second at 44.1 kHz read at 8 kHz; so the end is padded with silence and cut here.) */
    r->out_total = r->length_unknown || r->info.frames > (LLONG_MAX - sfi.samplerate) / r->out_rate
                       ? -1
                       : (r->info.frames * r->out_rate + sfi.samplerate / 2) / sfi.samplerate;
    if (r->out_rate != sfi.samplerate) {
        int e = 0;
        r->src = src_new(SRC_SINC_MEDIUM_QUALITY, 1, &e);
        if (!r->src) {
            report(err, err_size, path, "cannot start the resampler (libsamplerate)");
            krait_audio_reader_close(r);
            if (status) *status = KRAIT_STATUS_NO_MEMORY;
            return NULL;
        }
    }
    r->err = err, r->err_size = err_size;
    if (status) *status = KRAIT_STATUS_OK;
    return r;
}

krait_audio_reader *krait_audio_reader_open(const char *path, int out_rate, krait_status *status)
{
    return reader_open(path, out_rate, status, NULL, 0);
}

void krait_audio_reader_close(krait_audio_reader *r)
{
    if (!r) return;
    if (r->sf) sf_close(r->sf);
    if (r->src) src_delete(r->src);
    free(r->raw);
    free(r->in);
    free(r->path);
    free(r);
}

const krait_audio_file_info *krait_audio_reader_info(const krait_audio_reader *r) { return &r->info; }

void krait_audio_reader_set_gain(krait_audio_reader *r, float gain) { r->gain = gain; }

/* Up to n mono frames at the file's rate into out; 0 at the end; -1 on a short file. */
static long read_mono(krait_audio_reader *r, float *out, long n)
{
    if (r->eof) return 0;
    long want = n < CHUNK ? n : CHUNK;
    long long left = r->length_unknown ? want : r->info.frames - r->frames_read;
    if (want > left) want = (long)left;
    sf_count_t got = want > 0 ? sf_readf_float(r->sf, r->raw, want) : 0;
    if (r->length_unknown && sf_error(r->sf) == SF_ERR_NO_ERROR && got < want) r->eof = 1; /* its end */
    if (r->length_unknown && sf_error(r->sf) != SF_ERR_NO_ERROR) {
        char msg[300];
        snprintf(msg, sizeof msg, "corrupt audio after %lld frames (libsndfile: %s)",
                 r->frames_read + (long long)(got > 0 ? got : 0), sf_strerror(r->sf));
        report(r->err, r->err_size, r->path, msg);
        return -1;
    }
    if (!r->length_unknown && (got < want || sf_error(r->sf) != SF_ERR_NO_ERROR)) {
        char msg[300];
        snprintf(msg, sizeof msg, "truncated or corrupt audio after %lld of %lld frames (libsndfile: %s)",
                 r->frames_read + (long long)(got > 0 ? got : 0), r->info.frames, sf_strerror(r->sf));
        report(r->err, r->err_size, r->path, msg);
        return -1;
    }
    int ch = r->info.channels;
    for (long i = 0; i < (long)got; i++) {
        float s = 0;
        for (int c = 0; c < ch; c++) s += r->raw[(size_t)i * ch + c];
        out[i] = s / (float)ch;
        if (!isfinite(out[i])) { /* float formats can store NaN or infinity */
            char msg[160];
            snprintf(msg, sizeof msg, "sample %lld is not a finite number (a damaged float file?)",
                     r->frames_read + (long long)i);
            report(r->err, r->err_size, r->path, msg);
            return -1;
        }
    }
    r->frames_read += got;
    if (!r->length_unknown && r->frames_read >= r->info.frames) r->eof = 1;
    return (long)got;
}

long krait_audio_reader_read(krait_audio_reader *r, float *out, long n)
{
    long done = 0;
    if (!r->src) {
        while (done < n) {
            long g = read_mono(r, out + done, n - done);
            if (g < 0) return -1;
            if (g == 0) break;
            done += g;
        }
    } else {
        double ratio = (double)r->out_rate / r->info.rate;
        const int exact = r->out_total >= 0; /* a known length: pad the end with silence, cut at out_total */
        while (done < n && (!exact || r->out_done < r->out_total)) {
            if (r->in_n == 0 && !r->eof) {
                long g = read_mono(r, r->in, CHUNK);
                if (g < 0) return -1;
                r->in_n = g, r->in_off = 0;
            }
            if (r->in_n == 0 && r->eof && exact) {
                memset(r->in, 0, sizeof *r->in * CHUNK);
                r->in_n = CHUNK, r->in_off = 0;
            }
            long room = n - done;
            if (exact && room > r->out_total - r->out_done) room = (long)(r->out_total - r->out_done);
            SRC_DATA d = { .data_in = r->in + r->in_off, .input_frames = r->in_n, .data_out = out + done,
                           .output_frames = room, .end_of_input = r->eof && !exact, .src_ratio = ratio };
            int err = src_process(r->src, &d);
            if (err) {
                report(r->err, r->err_size, r->path, src_strerror(err));
                return -1;
            }
            /* finite samples near the float limit (a damaged float file) can overflow the filter */
            for (long i = 0; i < d.output_frames_gen; i++)
                if (!isfinite(out[done + i])) {
                    report(r->err, r->err_size, r->path,
                           "a sample overflows in resampling (values near the float limit: a damaged float file?)");
                    return -1;
                }
            r->in_off += d.input_frames_used;
            r->in_n -= d.input_frames_used;
            done += d.output_frames_gen;
            r->out_done += d.output_frames_gen;
            if (!exact && r->eof && r->in_n == 0 && d.output_frames_gen == 0) break;
        }
    }
    if (r->gain != 1.0f)
        for (long i = 0; i < done; i++)
            if (!isfinite(out[i] *= r->gain)) {
                report(r->err, r->err_size, r->path, "a sample overflows after peak normalisation");
                return -1;
            }
    return done;
}

krait_status krait_audio_reader_rewind(krait_audio_reader *r)
{
    if (sf_seek(r->sf, 0, SEEK_SET) < 0) { /* a codec that cannot seek (GSM 6.10): open it again */
        SF_INFO sfi;
        memset(&sfi, 0, sizeof sfi);
        SNDFILE *sf = sf_open(r->path, SFM_READ, &sfi);
        if (!sf) {
            KRAIT_ERROR("%s: cannot read it again from the start (libsndfile: %s)", r->path, sf_strerror(NULL));
            return KRAIT_STATUS_IO;
        }
        sf_close(r->sf);
        r->sf = sf;
    }
    r->frames_read = 0;
    r->eof = 0;
    r->in_n = r->in_off = 0;
    r->out_done = 0;
    if (r->src) src_reset(r->src);
    return KRAIT_STATUS_OK;
}

krait_status krait_audio_reader_peak(krait_audio_reader *r, float *peak)
{
    float *buf = malloc(sizeof *buf * CHUNK), p = 0, gain = r->gain;
    if (!buf) return KRAIT_STATUS_NO_MEMORY;
    krait_status s = krait_audio_reader_rewind(r);
    long g;
    r->gain = 1.0f; /* the peak of what reading gives, resampled: a filter rings above the file's own */
    while (!s && (g = krait_audio_reader_read(r, buf, CHUNK)) != 0) {
        if (g < 0) {
            s = KRAIT_STATUS_BAD_INPUT;
            break;
        }
        for (long i = 0; i < g; i++) p = fabsf(buf[i]) > p ? fabsf(buf[i]) : p;
    }
    r->gain = gain;
    free(buf);
    if (!s) s = krait_audio_reader_rewind(r);
    *peak = p;
    return s;
}

float krait_audio_peak_gain(float peak)
{
    return peak * KRAIT_AUDIO_MAX_GAIN > 1.0f ? 1.0f / peak : peak > 0 ? KRAIT_AUDIO_MAX_GAIN : 1.0f;
}

void krait_audio_reader_too_short(const krait_audio_reader *r, char *buf, size_t size)
{
    snprintf(buf, size, "too short: its %lld sample%s at %d Hz make none at %d Hz", r->info.frames,
             r->info.frames == 1 ? "" : "s", r->info.rate, r->out_rate);
}

krait_status krait_audio_read_all(const char *path, int out_rate, int normalize, float **x, size_t *n)
{
    return krait_audio_read_all_err(path, out_rate, normalize, x, n, NULL, 0);
}

krait_status krait_audio_read_all_err(const char *path, int out_rate, int normalize, float **x, size_t *n, char *err,
                                      size_t err_size)
{
    *x = NULL, *n = 0;
    krait_status s;
    krait_audio_reader *r = reader_open(path, out_rate, &s, err, err_size);
    if (!r) return s;
    size_t cap = r->length_unknown ? (size_t)1 << 16 : (size_t)((double)r->info.frames * r->out_rate / r->info.rate) + 64;
    size_t len = 0;
    float *buf = malloc(sizeof *buf * cap);
    if (!buf) {
        s = KRAIT_STATUS_NO_MEMORY;
        goto fail;
    }
    for (;;) {
        if (len == cap) {
            float *b = realloc(buf, sizeof *buf * (cap *= 2));
            if (!b) {
                free(buf);
                s = KRAIT_STATUS_NO_MEMORY;
                goto fail;
            }
            buf = b;
        }
        long g = krait_audio_reader_read(r, buf + len, (long)(cap - len));
        if (g < 0) {
            free(buf);
            s = KRAIT_STATUS_BAD_INPUT;
            goto fail;
        }
        if (g == 0) break;
        len += (size_t)g;
    }
    const int unknown = r->length_unknown;
    char why[160];
    krait_audio_reader_too_short(r, why, sizeof why);
    krait_audio_reader_close(r);
    if (!len) {
        free(buf);
        report(err, err_size, path,
               unknown ? "no audio could be decoded: the stream does not say its length and holds no readable samples "
                         "(truncated or damaged?)"
                       : why);
        return KRAIT_STATUS_BAD_INPUT;
    }
    if (normalize) { /* the peak of the samples read (resampled), then one scaling: no second pass */
        float peak = 0;
        for (size_t i = 0; i < len; i++) peak = fabsf(buf[i]) > peak ? fabsf(buf[i]) : peak;
        const float gain = krait_audio_peak_gain(peak);
        for (size_t i = 0; gain != 1.0f && i < len; i++)
            if (!isfinite(buf[i] *= gain)) {
                free(buf);
                report(err, err_size, path, "a sample overflows after peak normalisation");
                return KRAIT_STATUS_BAD_INPUT;
            }
    }
    if (!normalize) { /* float audio may go past full scale: quantised, it is clipped; said when it is no stray sample */
        size_t over = 0;
        for (size_t i = 0; i < len; i++) over += fabsf(buf[i]) > 1.0f;
        if (over > len / 1000)
            KRAIT_WARN("%s: %zu of %zu samples are beyond full scale (louder than 1.0): they are clipped (peak "
                       "normalisation would scale the clip instead)", path, over, len);
    }
    *x = buf, *n = len;
    return KRAIT_STATUS_OK;
fail:
    krait_audio_reader_close(r);
    return s;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

static void (*temp_made)(const char *), (*temp_gone)(const char *);

void krait_audio_set_temp_hooks(void (*made)(const char *path), void (*gone)(const char *path))
{
    temp_made = made, temp_gone = gone;
}

krait_status krait_audio_write(const char *path, const float *x, size_t n, int rate)
{
    int major;
    if (ends_with(path, ".wav")) major = SF_FORMAT_WAV;
    else if (ends_with(path, ".flac")) major = SF_FORMAT_FLAC;
    else {
        KRAIT_ERROR("%s: unsupported output format (write .wav or .flac)", path);
        return KRAIT_STATUS_BAD_INPUT;
    }
    if (rate <= 0) {
        KRAIT_ERROR("%s: sample rate %d must be positive", path, rate);
        return KRAIT_STATUS_BAD_INPUT;
    }
    /* a temporary of its own (never a name another file may have: a --prompt called
     * OUT.tmp.wav was written over), renamed over the output once whole */
    const size_t pl = strlen(path);
    char *tmp = NULL;
    int fd = krait_fs_temp_beside(path, path + pl - (major == SF_FORMAT_WAV ? 4 : 5), &tmp);
    if (fd < 0) {
        const int err = errno;
        KRAIT_ERROR("%s: cannot create a temporary file beside it (%s)", path, strerror(err));
        return krait_fs_errno_status(err);
    }
    if (temp_made) temp_made(tmp);
    SF_INFO sfi = { .samplerate = rate, .channels = 1, .format = major | SF_FORMAT_PCM_16 };
    SNDFILE *sf = sf_open_fd(fd, SFM_WRITE, &sfi, 1);
    if (!sf) {
        KRAIT_ERROR("%s: cannot write (libsndfile: %s)", path, sf_strerror(NULL));
        close(fd);
        unlink(tmp);
        if (temp_gone) temp_gone(tmp);
        free(tmp);
        return KRAIT_STATUS_BAD_INPUT;
    }
    int clip = 1;
    sf_command(sf, SFC_SET_CLIPPING, NULL, clip);
    float buf[CHUNK];
    size_t done = 0;
    int ok = 1;
    while (ok && done < n) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        for (size_t i = 0; i < k; i++) {
            float v = x[done + i];
            buf[i] = isnan(v) ? 0.f : v > 1.f ? 1.f : v < -1.f ? -1.f : v;
        }
        ok = sf_writef_float(sf, buf, (sf_count_t)k) == (sf_count_t)k;
        done += k;
    }
    if (ok) sf_write_sync(sf);
    if (sf_close(sf) != 0) ok = 0;
    if (ok && rename(tmp, path) != 0) ok = 0;
    if (!ok) {
        KRAIT_ERROR("%s: write failed (%s)", path, strerror(errno ? errno : EIO));
        unlink(tmp);
    }
    if (temp_gone) temp_gone(tmp); /* renamed into place, or removed */
    free(tmp);
    return ok ? KRAIT_STATUS_OK : KRAIT_STATUS_IO;
}
