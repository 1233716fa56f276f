/* tests/gpu/gpu_testutil.c — see gpu_testutil.h. */
#include "gpu_testutil.h"

#include "bf16.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tests/gpu/emu_backend.cc: the CUDA scan kernels on CPU threads. */
krait_backend *krait_backend_cuda_emu_init(krait_dtype act_dtype);

static const char *standin(void)
{
    const char *s = getenv("KRAIT_GPU_TEST_STANDIN");
    return s && *s ? s : NULL;
}

int gt_begin(const char *test_name)
{
    tu_init(test_name);
    if (standin()) {
        printf("%s: KRAIT_GPU_TEST_STANDIN=%s: testing a CPU stand-in in place of CUDA\n",
               test_name, standin());
        return 1;
    }
    if (!krait_cuda_compiled()) {
        printf("%s: krait was built without CUDA: skipped\n", test_name);
        return 0;
    }
    if (krait_cuda_device_count() == 0) {
        printf("%s: no CUDA device: skipped\n", test_name);
        return 0;
    }
    return 1;
}

int gt_dtypes(krait_dtype dts[2])
{
    dts[0] = KRAIT_DTYPE_F32;
    if (standin() && strcmp(standin(), "emu") != 0) return 1;
    dts[1] = KRAIT_DTYPE_BF16;
    return 2;
}

krait_backend *gt_device_backend(krait_dtype dt)
{
    const char *s = standin();
    if (s && strcmp(s, "emu") == 0) return krait_backend_cuda_emu_init(dt);
    if (s) return strcmp(s, "cpu") == 0 ? krait_backend_cpu_init(2) : krait_backend_cpu_ref_init();
    return krait_backend_cuda_init(0, dt);
}

int gt_open(gt *t, krait_dtype dt, const krait_dims *max)
{
    memset(t, 0, sizeof *t);
    t->dt = dt;
    t->dn = krait_dtype_name(dt);
    const char *s = standin();
    if (s && strcmp(s, "emu") == 0)
        t->g = krait_backend_cuda_emu_init(dt);
    else if (s)
        t->g = strcmp(s, "cpu") == 0 ? krait_backend_cpu_init(2) : krait_backend_cpu_ref_init();
    else
        t->g = krait_backend_cuda_init(0, dt);
    t->r = krait_backend_cpu_ref_init();
    if (!tu_check(t->g && t->r, "backend init (%s)", t->dn)) return 0;
    int ok = tu_check(t->g->reserve(t->g, max) == KRAIT_STATUS_OK, "%s reserve", t->g->name);
    ok &= tu_check(t->r->reserve(t->r, max) == KRAIT_STATUS_OK, "cpu-ref reserve");
    return ok;
}

void gt_close(gt *t)
{
    gt_free_all(t);
    krait_backend_destroy(t->g);
    krait_backend_destroy(t->r);
    t->g = t->r = NULL;
}

static void fill_bytes(gt *t, void *d, size_t bytes, unsigned char v)
{
    unsigned char *h = malloc(bytes ? bytes : 1);
    if (!h) {
        fprintf(stderr, "out of host memory\n");
        exit(2);
    }
    memset(h, v, bytes);
    krait_status st = t->g->upload(t->g, d, h, bytes);
    tu_check(st == KRAIT_STATUS_OK, "upload (fill) of %zu bytes: %s", bytes, krait_status_string(st));
    free(h);
}

void *gt_dev(gt *t, size_t bytes, const char *name)
{
    void *p = t->g->alloc(t->g, bytes + GT_GUARD_BYTES);
    if (!tu_check(p != NULL, "alloc %zu bytes for %s", bytes, name)) exit(1);
    fill_bytes(t, p, bytes, 0xff);
    fill_bytes(t, (char *)p + bytes, GT_GUARD_BYTES, 0xa5);
    if (t->nbuf < GT_MAXBUF) {
        t->buf[t->nbuf].p = p;
        t->buf[t->nbuf].bytes = bytes;
        t->buf[t->nbuf].name = name;
        t->nbuf++;
    }
    return p;
}

void gt_poison(gt *t, void *d, size_t bytes) { fill_bytes(t, d, bytes, 0xff); }

int gt_guards(gt *t, const char *ctx)
{
    unsigned char h[GT_GUARD_BYTES];
    int ok = 1;
    for (int i = 0; i < t->nbuf; i++) {
        krait_status st = t->g->download(t->g, h, (char *)t->buf[i].p + t->buf[i].bytes,
                                         GT_GUARD_BYTES);
        if (!tu_check(st == KRAIT_STATUS_OK, "%s: download of the guard of %s: %s", ctx,
                      t->buf[i].name, krait_status_string(st)))
            return 0;
        for (int k = 0; k < GT_GUARD_BYTES; k++)
            if (h[k] != 0xa5) {
                ok = tu_check(0, "%s: guard zone after %s (%zu bytes) overwritten at +%d", ctx,
                              t->buf[i].name, t->buf[i].bytes, k);
                break;
            }
    }
    if (ok) tu_check(1, "guards");
    return ok;
}

void gt_free_all(gt *t)
{
    for (int i = 0; i < t->nbuf; i++) t->g->free(t->g, t->buf[i].p);
    t->nbuf = 0;
}

size_t gt_esz(const gt *t) { return krait_dtype_size(t->dt); }

void gt_round(const gt *t, float *x, size_t n)
{
    if (t->dt != KRAIT_DTYPE_BF16) return;
    for (size_t i = 0; i < n; i++) x[i] = krait_bf16_to_f32(krait_f32_to_bf16(x[i]));
}

void gt_upf(gt *t, void *d, const void *h, size_t bytes)
{
    krait_status st = t->g->upload(t->g, d, h, bytes);
    tu_check(st == KRAIT_STATUS_OK, "upload of %zu bytes: %s", bytes, krait_status_string(st));
}

void gt_downf(gt *t, void *h, const void *d, size_t bytes)
{
    krait_status st = t->g->download(t->g, h, d, bytes);
    if (!tu_check(st == KRAIT_STATUS_OK, "download of %zu bytes: %s", bytes,
                  krait_status_string(st)))
        memset(h, 0xff, bytes);   /* leave NaNs so that every comparison fails too */
}

void gt_up(gt *t, void *d, const float *h, size_t n)
{
    if (t->dt != KRAIT_DTYPE_BF16) {
        gt_upf(t, d, h, n * sizeof(float));
        return;
    }
    uint16_t *b = malloc((n ? n : 1) * sizeof *b);
    for (size_t i = 0; i < n; i++) b[i] = krait_f32_to_bf16(h[i]);
    gt_upf(t, d, b, n * sizeof *b);
    free(b);
}

void gt_down(gt *t, float *h, const void *d, size_t n)
{
    if (t->dt != KRAIT_DTYPE_BF16) {
        gt_downf(t, h, d, n * sizeof(float));
        return;
    }
    uint16_t *b = malloc((n ? n : 1) * sizeof *b);
    gt_downf(t, b, d, n * sizeof *b);
    for (size_t i = 0; i < n; i++) h[i] = krait_bf16_to_f32(b[i]);
    free(b);
}

float *gt_down_cols(gt *t, const void *d, size_t rows, size_t ld, size_t cols)
{
    float *all = gt_hmalloc(rows * ld), *out = gt_hmalloc(rows * cols);
    if (rows) gt_down(t, all, d, (rows - 1) * ld + cols);
    gt_gather(out, all, rows, cols, ld);
    free(all);
    return out;
}

int gt_cmp(const char *what, const float *got, const float *want, size_t n, double rtol,
           double atol_rel, double l2)
{
    double scale = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
    int ok = tu_close(what, got, want, n, rtol, atol_rel * scale + 1e-30);
    if (l2 >= 0.0) {
        char name[160];
        snprintf(name, sizeof name, "%s (rel l2)", what);
        ok &= tu_rel_l2_ok(name, got, want, n, l2);
    }
    return ok;
}

int gt_same(const char *what, const void *a, const void *b, size_t bytes)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < bytes; i++)
        if (x[i] != y[i]) return tu_check(0, "%s: differs at byte %zu", what, i);
    printf("  ok   %-40s %zu bytes identical\n", what, bytes);
    return tu_check(1, "%s", what);
}

float *gt_hmalloc(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "out of host memory (%zu floats)\n", n);
        exit(2);
    }
    return p;
}

float *gt_hcopy(const float *x, size_t n)
{
    float *p = gt_hmalloc(n);
    memcpy(p, x, n * sizeof *p);
    return p;
}

void gt_gather(float *dst, const float *src, size_t rows, size_t cols, size_t ld)
{
    for (size_t r = 0; r < rows; r++) memcpy(dst + r * cols, src + r * ld, cols * sizeof *dst);
}
