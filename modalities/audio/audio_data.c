/* modalities/audio/audio_data.c — dataset listing (folder or manifest), labels, split and
 * loading; see audio_data.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <sys/stat.h>

#include <pcre2.h>
#include <utf8proc.h>

#include "audio_data.h"
#include "audio_io.h"
#include "classify.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"

/* ---- list ----------------------------------------------------------------------------------- */
void krait_audio_list_free(krait_audio_list *l)
{
    for (int i = 0; i < l->n; i++) free(l->items[i].path), free(l->items[i].label);
    for (int i = 0; i < l->n_classes; i++) free(l->names[i]);
    free(l->items);
    free(l->names);
    free(l->manifest);
    memset(l, 0, sizeof *l);
}

/* Append (path, label) from a manifest's line (0: not from a manifest); takes ownership of both. */
static krait_status list_add(krait_audio_list *l, char *path, char *label, int line)
{
    if (!path) goto oom;
    if (l->n == l->cap) {
        int c = l->cap ? 2 * l->cap : 256;
        krait_audio_item *p = realloc(l->items, sizeof *p * (size_t)c);
        if (!p) goto oom;
        l->items = p, l->cap = c;
    }
    l->items[l->n++] = (krait_audio_item){ path, label, -1, line };
    return KRAIT_STATUS_OK;
oom:
    free(path);
    free(label);
    return KRAIT_STATUS_NO_MEMORY;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) memcpy(p, s, n), p[n] = 0;
    return p;
}

static char *join(const char *dir, const char *name, size_t name_len)
{
    if (!dir || name[0] == '/' || !dir[0]) return dup_n(name, name_len);
    size_t a = strlen(dir);
    while (a > 1 && dir[a - 1] == '/') a--; /* "d/" + "x.wav" is "d/x.wav", as "d" + "x.wav" */
    size_t sep = !(a == 1 && dir[0] == '/'); /* "/" + "x.wav" is "/x.wav" */
    char *p = malloc(a + name_len + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    if (sep) p[a] = '/';
    memcpy(p + a + sep, name, name_len);
    p[a + sep + name_len] = 0;
    return p;
}

/* ---- manifest --------------------------------------------------------------------------------- */
/* krait's TSV outputs write a name's tab, newline, carriage return and backslash as \t \n \r \\
 * (krait_cli_tsv_field): a manifest cut from one names such a file that way. When path is not
 * there as written, its unescaped spelling is taken if that file is (path freed), else path. */
static char *unescaped_if_there(char *path, const char *base_dir, const char *s, size_t n)
{
    char *u = malloc(n + 1), *o = u;
    if (!u) return path;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && strchr("tnr\\", s[i + 1])) {
            char e = s[++i];
            *o++ = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : '\\';
        } else {
            *o++ = s[i];
        }
    }
    char *full = join(base_dir, u, (size_t)(o - u));
    free(u);
    if (!full || access(full, F_OK) != 0) {
        free(full);
        return path;
    }
    free(path);
    return full;
}

krait_status krait_audio_manifest_parse(krait_audio_list *l, const char *text, size_t len, const char *origin,
                                        const char *base_dir)
{
    int line = 0, labelled = -1, first = 1, header_label = 0; /* header_label: a header naming a label column */
    size_t pos = len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3) ? 3 : 0; /* a UTF-8 byte-order mark */
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        size_t e = end;
        if (e > pos && text[e - 1] == '\r') e--;
        line++;
        const char *s = text + pos;
        size_t n = e - pos;
        pos = end + 1;
        if (memchr(s, 0, n)) {
            KRAIT_ERROR("%s:%d: a NUL byte: not a text manifest (audio files are known by their extension: .wav "
                        ".flac .ogg .aiff ...)", origin, line);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (n == 0 || s[0] == '#') continue;
        if (memchr(s, '\r', n)) { /* old Mac OS line ends: the whole manifest reads as one line */
            KRAIT_ERROR("%s:%d: lines end in a carriage return alone; convert them (tr '\\r' '\\n')", origin, line);
            return KRAIT_STATUS_BAD_INPUT;
        }
        const char *tab = memchr(s, '\t', n);
        size_t plen = tab ? (size_t)(tab - s) : n;
        const char *lab = tab ? tab + 1 : NULL;
        size_t llen = tab ? n - plen - 1 : 0;
        if (first) {
            first = 0;
            /* a header: path (or file, filename, audio, wav) first */
            static const char *const names[] = { "path", "file", "filename", "file_name", "audio", "wav" };
            int header = 0;
            for (size_t k = 0; k < sizeof names / sizeof *names; k++)
                header |= plen == strlen(names[k]) && !strncasecmp(s, names[k], plen);
            if (header) {
                header_label = lab != NULL && llen > 0;
                continue;
            }
            /* a first line that is no file and has no audio name is a header krait does not know
             * ("clip<TAB>class"): read as a row, its label would become a class */
            char *p = plen ? join(base_dir, s, plen) : NULL;
            if (plen && !p) return KRAIT_STATUS_NO_MEMORY;
            const int looks_header = p && access(p, F_OK) != 0 && !krait_audio_is_audio_name(p);
            free(p);
            if (looks_header) {
                KRAIT_ERROR("%s:%d: '%.*s' is no file and no audio file name: a header's first column is named "
                            "path, file, filename, file_name, audio or wav", origin, line, (int)plen, s);
                return KRAIT_STATUS_BAD_INPUT;
            }
        }
        if (header_label && !lab) {
            KRAIT_ERROR("%s:%d: has no label, but the header names a label column", origin, line);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (lab && memchr(lab, '\t', llen)) {
            KRAIT_ERROR("%s:%d: more than two tab-separated fields (expected path<TAB>label)", origin, line);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (plen == 0) {
            KRAIT_ERROR("%s:%d: empty path", origin, line);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (lab) { /* the class-name rules (krait_class_name_ok): "0 " and "0" would be two classes */
            char *name = dup_n(lab, llen), why[320];
            if (!name) return KRAIT_STATUS_NO_MEMORY;
            const int good = krait_class_name_ok(name, why, sizeof why);
            free(name);
            if (!good) {
                KRAIT_ERROR("%s:%d: %s", origin, line, why);
                return KRAIT_STATUS_BAD_INPUT;
            }
        }
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 && s[i] != '\t') {
                KRAIT_ERROR("%s:%d: a control character (byte 0x%02x) in the line", origin, line, (unsigned char)s[i]);
                return KRAIT_STATUS_BAD_INPUT;
            }
        int has = lab != NULL;
        if (labelled >= 0 && has != labelled) {
            KRAIT_ERROR("%s:%d: %s, but earlier lines %s (label every line or none)", origin, line,
                        has ? "has a label" : "has no label", labelled ? "have labels" : "have none");
            return KRAIT_STATUS_BAD_INPUT;
        }
        labelled = has;
        char *path = join(base_dir, s, plen);
        if (path && memchr(s, '\\', plen) && access(path, F_OK) != 0) path = unescaped_if_there(path, base_dir, s, plen);
        krait_status st = list_add(l, path, has ? dup_n(lab, llen) : NULL, line);
        if (st) return st;
    }
    if (labelled < 0) {
        KRAIT_ERROR("%s: the manifest lists no files", origin);
        return KRAIT_STATUS_BAD_INPUT;
    }
    return KRAIT_STATUS_OK;
}

/* ---- folders ------------------------------------------------------------------------------------ */
static const char *const audio_exts[] = { "wav", "wave", "flac", "ogg", "oga", "opus", "aif", "aiff", "aifc", "au",
                                          "snd", "caf", "w64", "rf64", "mp3", "voc", "paf", "iff", "svx", "sf",
                                          "nist", "sph", "mat", "pvf", "xi", "htk", "sds", "avr", "wve", "mpc" };

static int is_audio_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    for (size_t i = 0; i < sizeof audio_exts / sizeof *audio_exts; i++)
        if (!strcasecmp(dot + 1, audio_exts[i])) return 1;
    return 0;
}

int krait_audio_is_audio_name(const char *path) { return is_audio_name(path); }

static int cmp_item_path(const void *a, const void *b)
{
    return strcmp(((const krait_audio_item *)a)->path, ((const krait_audio_item *)b)->path);
}


/* A manifest that lists a file twice counts it twice (it may mean to weight it): say so once. */
/* An entry of a manifest by the file it names: (device, inode) when it exists, else its path. */
typedef struct entry_id {
    const krait_audio_item *it;
    int found;
    unsigned long long dev, ino;
} entry_id;

static int cmp_entry(const void *pa, const void *pb)
{
    const entry_id *a = pa, *b = pb;
    if (a->found != b->found) return a->found - b->found;
    if (a->found && (a->dev != b->dev || a->ino != b->ino))
        return a->dev != b->dev ? (a->dev < b->dev ? -1 : 1) : (a->ino < b->ino ? -1 : 1);
    return a->found ? 0 : strcmp(a->it->path, b->it->path);
}

/* A file listed twice (by one name or two: "a.wav" and "./a.wav") is counted twice (a warning
 * says so); listed with two labels it is an error. */
static krait_status check_duplicates(const krait_audio_list *l, const char *origin)
{
    if (l->n < 2) return KRAIT_STATUS_OK;
    entry_id *ix = malloc(sizeof *ix * (size_t)l->n);
    if (!ix) return KRAIT_STATUS_NO_MEMORY;
    for (int i = 0; i < l->n; i++) {
        struct stat st;
        ix[i] = (entry_id){ &l->items[i], stat(l->items[i].path, &st) == 0, 0, 0 };
        if (ix[i].found) ix[i].dev = (unsigned long long)st.st_dev, ix[i].ino = (unsigned long long)st.st_ino;
    }
    qsort(ix, (size_t)l->n, sizeof *ix, cmp_entry);
    int dup = 0;
    const char *first = NULL;
    krait_status s = KRAIT_STATUS_OK;
    for (int i = 1; i < l->n && !s; i++) {
        const krait_audio_item *a = ix[i - 1].it, *b = ix[i].it;
        if (cmp_entry(&ix[i - 1], &ix[i])) continue;
        dup++, first = first ? first : b->path;
        if (a->label && b->label && strcmp(a->label, b->label)) {
            char also[4200] = "";
            if (strcmp(a->path, b->path)) snprintf(also, sizeof also, " (also named %s)", b->path);
            KRAIT_ERROR("%s: %s is listed with two labels, '%s' and '%s'%s", origin, a->path, a->label, b->label, also);
            s = KRAIT_STATUS_BAD_INPUT;
        }
    }
    if (!s && dup)
        KRAIT_WARN("%s: %d entr%s a file listed before (%s, ...): each is counted", origin, dup,
                   dup == 1 ? "y repeats" : "ies repeat", first);
    free((void *)ix);
    return s;
}

/* A folder walk that reads every folder and file once, by identity, under its own path where it
 * has one: the first pass follows no link (the tree's own folders and files); the links it meets
 * are followed after it, in the order met, each target read only when nothing read it before (a
 * link back up, a second link to one folder, a link to a file of the tree: one warning each).
 * A link's target outside the tree is read under the link's path. */
typedef struct walk_state {
    krait_audio_list *l;
    krait_fs_seen seen;    /* the folders and files read */
    char **links;          /* (n_links) links met, followed once the tree is read */
    int n_links, cap_links;
    int ignored;           /* entries that are not audio files */
} walk_state;

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* p (malloc'd, taken) as a folder or file of the tree (not a link). */
static krait_status take(walk_state *w, char *p, int depth);

static krait_status walk_dir(walk_state *w, const char *dir, int depth)
{
    if (depth > 64) {
        KRAIT_ERROR("%s: folders nested more than 64 deep", dir);
        return KRAIT_STATUS_BAD_INPUT;
    }
    DIR *d = opendir(dir);
    if (!d) {
        KRAIT_ERROR("%s: cannot open the folder (%s)", dir, strerror(errno));
        return KRAIT_STATUS_BAD_INPUT;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    krait_status s = KRAIT_STATUS_OK;
    for (struct dirent *e; !s && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            char **g = realloc(names, sizeof *g * (size_t)(cap = cap ? 2 * cap : 64));
            if (!g) s = KRAIT_STATUS_NO_MEMORY;
            else names = g;
        }
        if (!s && !(names[n++] = join(dir, e->d_name, strlen(e->d_name)))) s = KRAIT_STATUS_NO_MEMORY;
    }
    closedir(d);
    if (!s && n) qsort(names, (size_t)n, sizeof *names, cmp_name); /* name order: the same on every machine */
    for (int k = 0; k < n; k++) {
        struct stat st;
        if (s) free(names[k]);
        else if (lstat(names[k], &st) == 0 && S_ISLNK(st.st_mode)) { /* followed after the tree */
            if (w->n_links == w->cap_links) {
                w->cap_links = w->cap_links ? 2 * w->cap_links : 64;
                char **g = realloc(w->links, sizeof *g * (size_t)w->cap_links);
                if (!g) {
                    s = KRAIT_STATUS_NO_MEMORY;
                    free(names[k]);
                    continue;
                }
                w->links = g;
            }
            w->links[w->n_links++] = names[k];
        } else {
            s = take(w, names[k], depth);
        }
    }
    free(names);
    return s;
}

static krait_status take(walk_state *w, char *p, int depth)
{
    struct stat st;
    krait_status s = KRAIT_STATUS_OK;
    if (stat(p, &st) != 0) { /* a broken link: said when it looks like audio, not only counted */
        if (is_audio_name(p)) KRAIT_WARN("%s: cannot read (%s); skipped", p, strerror(errno));
        else w->ignored++; /* counted with the other names that are not audio */
    } else if (S_ISDIR(st.st_mode)) {
        if (krait_fs_seen_add(&w->seen, p) != 0) s = walk_dir(w, p, depth + 1);
    } else if (S_ISREG(st.st_mode) && is_audio_name(p)) {
        if (krait_fs_seen_add(&w->seen, p) == 0) /* a hard link of a file read before */
            KRAIT_WARN("%s: another name of a file already read; not read twice", p);
        else
            return list_add(w->l, p, NULL, 0); /* takes p */
    } else {
        w->ignored++;
    }
    free(p);
    return s;
}

/* A link's entry (p malloc'd, taken): its target read unless something read it before. */
static krait_status follow(walk_state *w, char *p, int depth)
{
    struct stat st;
    if (stat(p, &st) == 0 && (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && is_audio_name(p)))) {
        int again = krait_fs_seen_add(&w->seen, p) == 0;
        if (again) {
            char *target = realpath(p, NULL);
            KRAIT_WARN("%s: a link to %s, a %s already read; not read twice", p, target ? target : "?",
                       S_ISDIR(st.st_mode) ? "folder" : "file");
            free(target);
            free(p);
            return KRAIT_STATUS_OK;
        }
        if (S_ISDIR(st.st_mode)) {
            krait_status s = walk_dir(w, p, depth);
            free(p);
            return s;
        }
        return list_add(w->l, p, NULL, 0);
    }
    return take(w, p, depth); /* broken, or not audio: counted and said as in the tree */
}

/* The audio files under root, each once (see walk_state); *ignored counts the other entries. */
static krait_status walk(krait_audio_list *l, const char *root, int *ignored)
{
    walk_state w = { .l = l };
    krait_fs_seen_add(&w.seen, root); /* a link back to it is a folder already read */
    krait_status s = walk_dir(&w, root, 0);
    for (int k = 0; k < w.n_links; k++) { /* links met while following links join the end */
        char *p = w.links[k];
        w.links[k] = NULL;
        if (s) free(p);
        else s = follow(&w, p, 0);
    }
    free(w.links);
    krait_fs_seen_free(&w.seen);
    *ignored = w.ignored;
    return s;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static pcre2_code *compile(const char *re, const char *what)
{
    int err;
    PCRE2_SIZE off;
    /* MATCH_INVALID_UTF: a file name that is not UTF-8 is still matched (its stray bytes match
     * no character), rather than failing every match and silently landing in the wrong split */
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err,
                                  &off, NULL);
    if (!c) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        KRAIT_ERROR("%s '%s': bad regex at offset %zu: %s", what, re, (size_t)off, (const char *)msg);
    }
    return c;
}

/* Match re on s: 1 with [*so, *eo) = capture 1 (or the whole match), 0 when it does not match,
 * -1 (logged, naming path) when matching itself fails (a resource limit). */
static int match(pcre2_code *re, pcre2_match_data *md, const char *s, size_t *so, size_t *eo, const char *path)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        KRAIT_ERROR("%s: matching the regex on its name failed: %s", path, (const char *)msg);
        return -1;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    int g = rc >= 2 && ov[2] != PCRE2_UNSET ? 1 : 0;
    *so = ov[2 * g], *eo = ov[2 * g + 1];
    return 1;
}

/* A class name becomes a TSV column (p_<class>) and a field of every row: a tab, newline or
 * other control character in it would break them. */
static krait_status check_label(const char *label, const char *path, const char *how)
{
    char why[320];
    if (!krait_class_name_ok(label, why, sizeof why)) {
        KRAIT_ERROR("%s: by %s, %s", path, how, why);
        return KRAIT_STATUS_BAD_INPUT;
    }
    /* and it is written to audio.json and the pictures, which are UTF-8 */
    for (const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)label; *p;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t len = utf8proc_iterate(p, -1, &cp);
        if (len <= 0) {
            KRAIT_ERROR("%s: its %s label is not UTF-8 text (byte 0x%02x at %zu), which a class name must be", path, how,
                        *p, (size_t)(p - (const utf8proc_uint8_t *)label));
            return KRAIT_STATUS_BAD_INPUT;
        }
        p += len;
    }
    return KRAIT_STATUS_OK;
}

/* Labels by --label-regex or --label-from-dir (the name of the file's folder; a file directly in
 * root, the folder listed, has none: its name would depend on how root is spelled). */
static krait_status label_folder(krait_audio_list *l, const char *label_regex, int label_from_dir, const char *root)
{
    if (label_regex) {
        pcre2_code *re = compile(label_regex, "--label-regex");
        if (!re) return KRAIT_STATUS_BAD_INPUT;
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
        krait_status s = md ? KRAIT_STATUS_OK : KRAIT_STATUS_NO_MEMORY;
        for (int i = 0; !s && i < l->n; i++) {
            const char *b = base_name(l->items[i].path);
            size_t so, eo;
            int r = match(re, md, b, &so, &eo, l->items[i].path);
            if (r < 0) {
                s = KRAIT_STATUS_BAD_INPUT;
            } else if (!r || eo == so) {
                KRAIT_ERROR("%s: the file name does not match --label-regex '%s' (no label)", l->items[i].path,
                            label_regex);
                s = KRAIT_STATUS_BAD_INPUT;
            } else if (!(l->items[i].label = dup_n(b + so, eo - so))) {
                s = KRAIT_STATUS_NO_MEMORY;
            } else {
                s = check_label(l->items[i].label, l->items[i].path, "--label-regex");
            }
        }
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        return s;
    }
    if (label_from_dir)
        for (int i = 0; i < l->n; i++) {
            const char *p = l->items[i].path, *b = base_name(p);
            if (b == p) continue;
            if (root) { /* directly in root ("d", "d/", "./d" or "."): no folder of its own */
                size_t rl = strlen(root), dl = (size_t)(b - 1 - p);
                while (rl > 1 && root[rl - 1] == '/') rl--;
                while (dl > 1 && p[dl - 1] == '/') dl--;
                if (dl == rl && !strncmp(p, root, rl)) continue;
            }
            const char *e = b - 1, *s = e;
            while (s > p && s[-1] != '/') s--;
            if (!(l->items[i].label = dup_n(s, (size_t)(e - s)))) return KRAIT_STATUS_NO_MEMORY;
            krait_status st = check_label(l->items[i].label, p, "--label-from-dir");
            if (st) return st;
        }
    return KRAIT_STATUS_OK;
}

krait_status krait_audio_list_open(krait_audio_list *l, const char *path, const char *label_regex,
                                   int label_from_dir)
{
    memset(l, 0, sizeof *l);
    struct stat st;
    if (stat(path, &st) != 0) {
        KRAIT_ERROR("%s: cannot open (%s)", path, strerror(errno));
        return KRAIT_STATUS_BAD_INPUT;
    }
    krait_status s;
    if (S_ISDIR(st.st_mode)) {
        int ignored = 0;
        if ((s = walk(l, path, &ignored))) return s;
        if (!l->n) {
            KRAIT_ERROR("%s: no audio files in the folder (looked for .wav .flac .ogg .aiff ... recursively)", path);
            return KRAIT_STATUS_BAD_INPUT;
        }
        qsort(l->items, (size_t)l->n, sizeof *l->items, cmp_item_path);
        if (ignored) KRAIT_INFO("%s: %d file%s without an audio extension ignored", path, ignored, ignored == 1 ? "" : "s");
        if ((s = label_folder(l, label_regex, label_from_dir, path))) return s;
    } else {
        if (!S_ISREG(st.st_mode)) {
            KRAIT_ERROR("%s: not a regular file (a manifest is a text file: path<TAB>label lines)", path);
            return KRAIT_STATUS_BAD_INPUT;
        }
        if (krait_audio_is_audio_name(path)) { /* a command that reads one clip takes it before this */
            KRAIT_ERROR("%s: one audio file, where this command reads a folder of them or a manifest (path<TAB>label "
                        "lines)", path);
            return KRAIT_STATUS_BAD_INPUT;
        }
        FILE *f = fopen(path, "rb");
        if (!f) {
            KRAIT_ERROR("%s: cannot open (%s)", path, strerror(errno));
            return KRAIT_STATUS_BAD_INPUT;
        }
        size_t cap = 1 << 16, len = 0, got;
        const size_t max_len = (size_t)1 << 30; /* 1 GiB of paths is no manifest */
        char *text = malloc(cap);
        while (text && (got = fread(text + len, 1, cap - len, f)) > 0) {
            len += got;
            if (len >= max_len) {
                free(text);
                fclose(f);
                KRAIT_ERROR("%s: over 1 GiB: not a manifest of audio files", path);
                return KRAIT_STATUS_BAD_INPUT;
            }
            if (len == cap) {
                char *t = realloc(text, cap *= 2);
                if (!t) free(text);
                text = t;
            }
        }
        int rerr = ferror(f);
        fclose(f);
        if (!text) return KRAIT_STATUS_NO_MEMORY;
        if (rerr) {
            free(text);
            KRAIT_ERROR("%s: read error", path);
            return KRAIT_STATUS_IO;
        }
        char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
        if (slash) *slash = 0;
        s = dir ? krait_audio_manifest_parse(l, text, len, path, slash ? dir : NULL) : KRAIT_STATUS_NO_MEMORY;
        free(text);
        if (!s) s = check_duplicates(l, path);
        if (!s && !(l->manifest = strdup(path))) s = KRAIT_STATUS_NO_MEMORY;
        if (s) {
            free(dir);
            return s;
        }
        if (label_regex || label_from_dir) { /* labels from the listed files' names or folders */
            for (int i = 0; i < l->n; i++)
                if (l->items[i].label) {
                    KRAIT_ERROR("%s: the manifest has labels and %s was given too: use one", path,
                                label_regex ? "--label-regex" : "--label-from-dir");
                    free(dir);
                    return KRAIT_STATUS_BAD_INPUT;
                }
            /* a file listed beside the manifest has no folder label, however the manifest is named */
            s = label_folder(l, label_regex, label_from_dir, slash ? dir : NULL);
        }
        free(dir);
        if (s) return s;
    }
    return krait_audio_list_classes(l);
}

/* ---- classes --------------------------------------------------------------------------------------- */
krait_status krait_audio_list_classes(krait_audio_list *l)
{
    for (int i = 0; i < l->n_classes; i++) free(l->names[i]);
    free(l->names);
    l->names = NULL, l->n_classes = 0;
    int labelled = 0;
    for (int i = 0; i < l->n; i++) labelled += l->items[i].label != NULL;
    if (!labelled) return KRAIT_STATUS_OK;
    char **all = malloc(sizeof *all * (size_t)labelled);
    if (!all) return KRAIT_STATUS_NO_MEMORY;
    int k = 0;
    for (int i = 0; i < l->n; i++)
        if (l->items[i].label) all[k++] = l->items[i].label;
    krait_class_names_sort(all, k); /* equal labels side by side: kept once below */
    int u = 0;
    for (int i = 0; i < k; i++)
        if (!u || strcmp(all[u - 1], all[i])) all[u++] = all[i];
    l->names = malloc(sizeof *l->names * (size_t)u);
    if (!l->names) {
        free(all);
        return KRAIT_STATUS_NO_MEMORY;
    }
    for (int i = 0; i < u; i++)
        if (!(l->names[i] = strdup(all[i]))) {
            l->n_classes = i;
            free(all);
            return KRAIT_STATUS_NO_MEMORY;
        }
    l->n_classes = u;
    free(all);
    for (int i = 0; i < l->n; i++) {
        l->items[i].cls = -1;
        if (!l->items[i].label) continue;
        for (int c = 0; c < u && l->items[i].cls < 0; c++)
            if (!strcmp(l->items[i].label, l->names[c])) l->items[i].cls = c;
    }
    return KRAIT_STATUS_OK;
}

/* ---- split ------------------------------------------------------------------------------------------ */
uint64_t krait_audio_name_hash(const char *path)
{
    uint64_t h = KRAIT_FINGERPRINT_INIT;
    for (const unsigned char *p = (const unsigned char *)base_name(path); *p; p++) h = krait_fnv1a(h, *p);
    return h;
}

krait_status krait_audio_split(int *is_test, const krait_audio_list *l, const char *test_regex, double test_fraction)
{
    if (!test_regex) {
        if (!(test_fraction >= 0 && test_fraction <= 1)) {
            KRAIT_ERROR("test fraction %g must be in [0, 1]", test_fraction);
            return KRAIT_STATUS_BAD_INPUT;
        }
        for (int i = 0; i < l->n; i++)
            is_test[i] = (double)(krait_audio_name_hash(l->items[i].path) >> 11) * 0x1.0p-53 < test_fraction;
        return KRAIT_STATUS_OK;
    }
    pcre2_code *re = compile(test_regex, "--test-regex");
    if (!re) return KRAIT_STATUS_BAD_INPUT;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) {
        pcre2_code_free(re);
        return KRAIT_STATUS_NO_MEMORY;
    }
    krait_status s = KRAIT_STATUS_OK;
    for (int i = 0; !s && i < l->n; i++) {
        size_t so, eo;
        int r = match(re, md, base_name(l->items[i].path), &so, &eo, l->items[i].path);
        if (r < 0) s = KRAIT_STATUS_BAD_INPUT;
        is_test[i] = r > 0;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return s;
}

const char *krait_audio_item_where(const krait_audio_list *l, int i, char *buf, size_t size)
{
    if (!l->manifest || l->items[i].line <= 0) return "";
    snprintf(buf, size, "%s:%d: ", l->manifest, l->items[i].line);
    return buf;
}

/* ---- loading ----------------------------------------------------------------------------------------- */
krait_status krait_audio_set_load(krait_audio_set *set, const krait_audio_list *l, const int *want, int rate,
                                  int normalize, krait_audio_load_progress progress, void *user)
{
    memset(set, 0, sizeof *set);
    int total = 0;
    for (int i = 0; i < l->n; i++) total += !want || want[i];
    set->clips = calloc((size_t)(total ? total : 1), sizeof *set->clips);
    if (!set->clips) return KRAIT_STATUS_NO_MEMORY;
    int done = 0;
    for (int i = 0; i < l->n; i++) {
        if (want && !want[i]) continue;
        char why[600];
        float *x;
        size_t n;
        krait_status s = krait_audio_read_all_err(l->items[i].path, rate, normalize, &x, &n, why, sizeof why);
        if (s == KRAIT_STATUS_BAD_INPUT) {
            char at[1100];
            KRAIT_WARN("skipped %s%s", krait_audio_item_where(l, i, at, sizeof at), why);
            set->skipped++;
        } else if (s) {
            krait_audio_set_free(set);
            return s;
        } else {
            set->clips[set->n++] = (krait_audio_clip){ x, n, l->items[i].cls, l->items[i].path };
            set->samples += (long long)n;
        }
        if (progress) progress(user, ++done, total);
    }
    return KRAIT_STATUS_OK;
}

void krait_audio_set_free(krait_audio_set *set)
{
    for (int i = 0; i < set->n; i++) free(set->clips[i].x);
    free(set->clips);
    memset(set, 0, sizeof *set);
}
