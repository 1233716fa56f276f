/* tests/audio/test_audio_data.c — datasets: manifest parsing from memory (good and malformed
 * lines, each error naming the line), folder listing (recursive, sorted, hidden and non-audio
 * files left out), labels from a regex or the folder name with classes sorted numerically, the
 * split (regex and hash: deterministic, independent of listing order and folder), and loading
 * that skips and counts unreadable files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sndfile.h>

#include "audio_data.h"
#include "log.h"
#include "testutil.h"

static char last_err[1024];
static int n_warn;

static void capture(krait_log_level level, const char *msg, void *user)
{
    (void)user;
    if (level == KRAIT_LOG_ERROR) snprintf(last_err, sizeof last_err, "%s", msg);
    if (level == KRAIT_LOG_WARN) n_warn++;
}

static krait_status parse(krait_audio_list *l, const char *text)
{
    memset(l, 0, sizeof *l);
    last_err[0] = 0;
    krait_status s = krait_audio_manifest_parse(l, text, strlen(text), "m.tsv", "base");
    if (!s) s = krait_audio_list_classes(l);
    return s;
}

static void write_wav(const char *path, long frames)
{
    SF_INFO si = { .samplerate = 8000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
    SNDFILE *f = sf_open(path, SFM_WRITE, &si);
    short buf[4000] = { 0 };
    for (int i = 0; i < 4000; i++) buf[i] = (short)(1000 * (i % 7));
    sf_writef_short(f, buf, frames);
    sf_close(f);
}

static void touch(const char *path, const char *content)
{
    FILE *f = fopen(path, "wb");
    fputs(content, f);
    fclose(f);
}

int main(void)
{
    tu_init("test_audio_data");
    krait_log_set(capture, NULL, KRAIT_LOG_WARN);
    krait_audio_list l;

    /* ---- manifests ---- */
    tu_check(parse(&l, "path\tlabel\r\n# comment\n\na.wav\tdog\n/abs/b.flac\tcat\nc.wav\t10\n") == KRAIT_STATUS_OK &&
                 l.n == 3 && !strcmp(l.items[0].path, "base/a.wav") && !strcmp(l.items[1].path, "/abs/b.flac") &&
                 !strcmp(l.items[2].label, "10"),
             "manifest: header, CRLF, comment, blank line, relative and absolute paths (%d items)", l.n);
    tu_check(l.n_classes == 3 && !strcmp(l.names[0], "10") && !strcmp(l.names[1], "cat") && l.items[0].cls == 2,
             "classes sorted as text when not all numbers");
    krait_audio_list_free(&l);
    tu_check(parse(&l, "x_2.wav\t2\ny.wav\t10\nz.wav\t9\nw.wav\t2") == KRAIT_STATUS_OK && l.n == 4 && l.n_classes == 3 &&
                 !strcmp(l.names[0], "2") && !strcmp(l.names[1], "9") && !strcmp(l.names[2], "10") &&
                 l.items[1].cls == 2 && l.items[3].cls == 0,
             "numeric labels sort as numbers (2, 9, 10); last line without a newline");
    krait_audio_list_free(&l);
    /* all integers, and two spell one number: numerically, then as text ("01" before "1"); each item
     * finds its own spelling's class */
    tu_check(parse(&l, "a.wav\t1\nb.wav\t01\nc.wav\t1\nd.wav\t01\ne.wav\t1\n") == KRAIT_STATUS_OK && l.n == 5 &&
                 l.n_classes == 2 && !strcmp(l.names[0], "01") && !strcmp(l.names[1], "1") && l.items[0].cls == 1 &&
                 l.items[1].cls == 0 && l.items[2].cls == 1 && l.items[3].cls == 0 && l.items[4].cls == 1,
             "labels 1 and 01: two classes, '01' then '1', each item in its own (%d classes: %s, %s; classes %d %d %d %d %d)",
             l.n_classes, l.n_classes > 0 ? l.names[0] : "-", l.n_classes > 1 ? l.names[1] : "-", l.n > 0 ? l.items[0].cls : -9,
             l.n > 1 ? l.items[1].cls : -9, l.n > 2 ? l.items[2].cls : -9, l.n > 3 ? l.items[3].cls : -9, l.n > 4 ? l.items[4].cls : -9);
    krait_audio_list_free(&l);
    /* a UTF-8 byte-order mark before the header: still the header */
    tu_check(parse(&l, "\xef\xbb\xbfpath\tlabel\na.wav\tx\n") == KRAIT_STATUS_OK && l.n == 1 && l.n_classes == 1 &&
                 !strcmp(l.names[0], "x") && !strcmp(l.items[0].path, "base/a.wav"),
             "a BOM before the header: 1 item, one class 'x' (%d items, %d classes)", l.n, l.n_classes);
    krait_audio_list_free(&l);
    tu_check(parse(&l, "a.wav\tyes\r\nb.wav\tno\r\n") == KRAIT_STATUS_OK && l.n == 2 && !strcmp(l.items[0].label, "yes") &&
                 !strcmp(l.items[1].label, "no"),
             "a CRLF manifest without a header: labels without the CR");
    krait_audio_list_free(&l);
    tu_check(parse(&l, "a.wav\nb.wav\n") == KRAIT_STATUS_OK && l.n == 2 && !l.items[0].label && l.n_classes == 0,
             "unlabelled manifest");
    krait_audio_list_free(&l);
    struct { const char *text, *want; } bad[] = {
        { "a.wav\tx\nb.wav\n", "m.tsv:2: has no label" },
        { "a.wav\nb.wav\tx\n", "m.tsv:2: has a label" },
        { "a.wav\tx\tmore\n", "m.tsv:1: more than two" },
        { "\tx\n", "m.tsv:1: empty path" },
        { "a.wav\t\n", "m.tsv:1: the label is empty" },
        { "ok.wav\tx\nb\x01.wav\tx\n", "m.tsv:2: a control character" },
        { "# only a comment\n\n", "lists no files" },
        { "", "lists no files" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        krait_status s = parse(&l, bad[i].text);
        tu_check(s == KRAIT_STATUS_BAD_INPUT && strstr(last_err, bad[i].want), "malformed manifest %zu -> '%s' (%s)", i,
                 bad[i].want, last_err);
        krait_audio_list_free(&l);
    }
    {
        const char nul[] = "a.wav\tx\nb\0.wav\tx\n";
        memset(&l, 0, sizeof l);
        tu_check(krait_audio_manifest_parse(&l, nul, sizeof nul - 1, "m.tsv", NULL) == KRAIT_STATUS_BAD_INPUT &&
                 strstr(last_err, "m.tsv:2: a NUL byte"), "NUL byte refused: %s", last_err);
        krait_audio_list_free(&l);
    }

    /* ---- folders ---- */
    char dir[] = "/tmp/krait-audio-data-XXXXXX", p[600];
    if (!mkdtemp(dir)) return 1;
    const char *sub[] = { "s1", "s2", "s2/deep", ".hidden" };
    for (int i = 0; i < 4; i++) snprintf(p, sizeof p, "%s/%s", dir, sub[i]), mkdir(p, 0755);
    const char *files[] = { "s1/3_alice_0.wav", "s1/3_alice_7.wav", "s2/10_bob_2.wav", "s2/deep/1_carol_12.wav",
                            "s2/deep/1_carol_4.wav", ".hidden/9_x_1.wav", "s1/README.md" };
    for (int i = 0; i < 7; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (strstr(files[i], ".wav")) write_wav(p, 800 + 100 * i);
        else touch(p, "not audio");
    }
    snprintf(p, sizeof p, "%s/s1/0_bad_1.wav", dir);
    touch(p, "this is not a wav file"); /* listed (audio name), unreadable */
    krait_status s = krait_audio_list_open(&l, dir, "^([0-9]+)_", 0);
    tu_check(s == KRAIT_STATUS_OK && l.n == 6, "folder: 6 audio files, recursive, hidden and README left out (%d)", l.n);
    int sorted = 1;
    for (int i = 1; i < l.n; i++) sorted &= strcmp(l.items[i - 1].path, l.items[i].path) < 0;
    tu_check(sorted, "listing sorted by path");
    tu_check(l.n_classes == 4 && !strcmp(l.names[0], "0") && !strcmp(l.names[1], "1") && !strcmp(l.names[3], "10"),
             "4 classes from the regex: 0, 1, 3, 10");
    int *t1 = malloc(sizeof *t1 * l.n), *t2 = malloc(sizeof *t2 * l.n);
    tu_check(krait_audio_split(t1, &l, "_[0-4]\\.wav$", 0) == KRAIT_STATUS_OK, "regex split");
    int n_test = 0, ok = 1;
    for (int i = 0; i < l.n; i++) {
        n_test += t1[i];
        const char *b = strrchr(l.items[i].path, '_') + 1;
        ok &= t1[i] == (b[0] <= '4' && b[1] == '.');
    }
    tu_check(ok && n_test == 4, "FSDD-style split: index 0-4 is test (%d test files)", n_test);
    tu_check(krait_audio_split(t1, &l, "([", 0) == KRAIT_STATUS_BAD_INPUT && strstr(last_err, "bad regex"),
             "bad regex refused: %s", last_err);
    krait_audio_list dl;
    tu_check(krait_audio_list_open(&dl, dir, NULL, 1) == KRAIT_STATUS_OK && dl.n_classes == 3 &&
                 !strcmp(dl.names[0], "deep") && !strcmp(dl.items[0].label, "s1"),
             "labels from folder names (deep, s1, s2)");
    krait_audio_list_free(&dl);
    tu_check(krait_audio_list_open(&dl, dir, "^(alice)", 0) == KRAIT_STATUS_BAD_INPUT && strstr(last_err, "does not match"),
             "a file the label regex does not match: %s", last_err);
    krait_audio_list_free(&dl);

    /* hash split: deterministic, by file name only (not folder or order), about the fraction */
    {
        krait_audio_list h = { 0 }, h2 = { 0 };
        char name[64];
        for (int i = 0; i < 4000; i++) {
            snprintf(name, sizeof name, "dir%d/clip_%d_%llu.wav", i % 3, i, (unsigned long long)(tu_next() % 1000000));
            char *a = strdup(name), *b = malloc(strlen(name) + 8);
            sprintf(b, "other/%s", strchr(name, '/') + 1);
            krait_audio_manifest_parse(&h, a, strlen(a), "x", NULL);
            krait_audio_manifest_parse(&h2, b, strlen(b), "x", NULL);
            free(a), free(b);
        }
        int *s1 = malloc(sizeof *s1 * h.n), *s2 = malloc(sizeof *s2 * h.n), *s3 = malloc(sizeof *s3 * h.n);
        krait_audio_split(s1, &h, NULL, 0.25);
        krait_audio_split(s2, &h, NULL, 0.25);
        krait_audio_split(s3, &h2, NULL, 0.25);
        int same = 1, cnt = 0;
        for (int i = 0; i < h.n; i++) same &= s1[i] == s2[i] && s1[i] == s3[i], cnt += s1[i];
        tu_check(same, "hash split is the same twice and whatever the folder");
        tu_check(cnt > 850 && cnt < 1150, "hash split: %d of 4000 in test at fraction 0.25", cnt);
        tu_check(krait_audio_split(s1, &h, NULL, 1.5) == KRAIT_STATUS_BAD_INPUT, "fraction 1.5 refused");
        free(s1), free(s2), free(s3);
        krait_audio_list_free(&h);
        krait_audio_list_free(&h2);
    }

    /* loading: the unreadable file is skipped with one warning and counted */
    krait_audio_set set;
    n_warn = 0;
    s = krait_audio_set_load(&set, &l, NULL, 8000, 0, NULL, NULL);
    tu_check(s == KRAIT_STATUS_OK && set.n == 5 && set.skipped == 1 && n_warn == 1,
             "load: 5 clips, 1 skipped with 1 warning (%d, %d, %d)", set.n, set.skipped, n_warn);
    long long total = 0;
    for (int i = 0; i < set.n; i++) total += (long long)set.clips[i].n;
    tu_check(total == set.samples && set.clips[0].cls == 2 && strstr(set.clips[0].path, "3_alice_0"),
             "sample count and classes carried (first readable: s1/3_alice_0.wav, class 2 = '3')");
    krait_audio_set_free(&set);
    for (int i = 0; i < l.n; i++) t2[i] = i % 2;
    s = krait_audio_set_load(&set, &l, t2, 4000, 0, NULL, NULL);
    tu_check(s == KRAIT_STATUS_OK && set.n + set.skipped == 3, "load a subset at 4 kHz");
    krait_audio_set_free(&set);
    krait_audio_list_free(&l);
    tu_check(krait_audio_list_open(&l, "/nonexistent/krait", NULL, 0) == KRAIT_STATUS_BAD_INPUT && strstr(last_err, "cannot open"),
             "missing dataset: %s", last_err);
    krait_audio_list_free(&l);
    free(t1), free(t2);
    snprintf(p, sizeof p, "rm -rf %s", dir);
    if (system(p) != 0) return 1;
    return tu_finish();
}
