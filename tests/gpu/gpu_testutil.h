/* tests/gpu/gpu_testutil.h — what every GPU test shares: the pair of backends under comparison
 * (CUDA and the plain-C reference), device buffers with guard zones that are poisoned (all bits
 * set: NaN in f32 and bf16) before use and checked afterwards, activation-dtype uploads and
 * downloads (bf16 rounding on the host, round to nearest even), and one tolerance check that
 * reports the worst element, the first bad index and the relative L2 error.
 *
 * Without a CUDA device the tests exit 77 (skipped). On a machine without a GPU,
 * KRAIT_GPU_TEST_STANDIN puts a stand-in in the CUDA backend's place: cpu-ref or cpu (the CPU
 * backends, f32 cases only: checks the tests themselves), or emu (tests/gpu/emu_backend.cc: the
 * real CUDA scan kernels run on CPU threads, both dtypes; for test_gpu_scan only, since the
 * other ops stay f32 reference ops). No op math lives here.
 */
#ifndef KRAIT_GPU_TESTUTIL_H
#define KRAIT_GPU_TESTUTIL_H

#include "backend.h"
#include "testutil.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GT_MAXBUF 256
#define GT_GUARD_BYTES 256

typedef struct gt_buf {
    void *p;
    size_t bytes;
    const char *name;
} gt_buf;

typedef struct gt {
    krait_backend *g;      /* the backend under test (CUDA, or a stand-in) */
    krait_backend *r;      /* cpu-ref */
    krait_dtype dt;        /* g's activation dtype */
    const char *dn;        /* "f32" / "bf16" */
    int nbuf;
    gt_buf buf[GT_MAXBUF];
} gt;

/* tu_init + device check. Returns 1 to go on, 0 when the test must exit TU_SKIP. */
int gt_begin(const char *test_name);
/* The dtypes to run: fills dts (up to 2) and returns how many (bf16 is skipped for stand-ins). */
int gt_dtypes(krait_dtype dts[2]);
/* Creates both backends and reserves scratch for max. Returns 1 on success (else logs a FAIL). */
int gt_open(gt *t, krait_dtype dt, const krait_dims *max);
void gt_close(gt *t);
/* The backend under test on its own (CUDA, or the stand-in) in act dtype dt; NULL on failure. */
krait_backend *gt_device_backend(krait_dtype dt);

/* Device buffer of `bytes` + a guard zone; the body is poisoned. Registered for gt_guards. */
void *gt_dev(gt *t, size_t bytes, const char *name);
void gt_poison(gt *t, void *d, size_t bytes);
/* Checks every registered guard zone; prints which buffer was overrun. */
int gt_guards(gt *t, const char *ctx);
void gt_free_all(gt *t);

size_t gt_esz(const gt *t);                                  /* act element size */
void gt_round(const gt *t, float *x, size_t n);              /* to the act precision */
void gt_up(gt *t, void *d, const float *h, size_t n);        /* act upload (rounds for bf16) */
void gt_down(gt *t, float *h, const void *d, size_t n);      /* act download */
void gt_upf(gt *t, void *d, const void *h, size_t bytes);    /* raw upload */
void gt_downf(gt *t, void *h, const void *d, size_t bytes);  /* raw download */
/* Host (rows, cols) = act device rows with row stride ld (element units). malloc'd. */
float *gt_down_cols(gt *t, const void *d, size_t rows, size_t ld, size_t cols);

/* |got - want| <= rtol |want| + atol_rel max|want| for all, no NaN/Inf in got, and relative L2
 * <= l2 (l2 < 0: not checked). Prints one ok/FAIL line per criterion. Returns 1 if ok. */
int gt_cmp(const char *what, const float *got, const float *want, size_t n, double rtol,
           double atol_rel, double l2);
int gt_same(const char *what, const void *a, const void *b, size_t bytes);

/* Host helpers */
float *gt_hmalloc(size_t n);                  /* floats, exits on OOM */
float *gt_hcopy(const float *x, size_t n);
void gt_gather(float *dst, const float *src, size_t rows, size_t cols, size_t ld);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_GPU_TESTUTIL_H */
