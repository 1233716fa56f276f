/* kernels/blas_tune.h — which GEMM kernels OpenBLAS runs, and which it should.
 *
 * Debian's OpenBLAS picks its kernels from the CPU model number. On CPUs newer than the library
 * (or under hypervisors that report unusual models) it falls back to a generic SSE3 core
 * ("Prescott") and sgemm runs several times slower. OpenBLAS reads OPENBLAS_CORETYPE only when it
 * loads, so the apps set it and re-execute themselves (apps/common/cli.c). */
#ifndef KRAIT_BLAS_TUNE_H
#define KRAIT_BLAS_TUNE_H

#ifdef __cplusplus
extern "C" {
#endif

const char *krait_blas_corename(void);
/* "SkylakeX" (AVX-512) or "Haswell" (AVX2) when OpenBLAS runs a weaker core than this CPU
 * supports; NULL when its choice is already right. */
const char *krait_blas_better_coretype(void);

#ifdef __cplusplus
}
#endif

#endif /* KRAIT_BLAS_TUNE_H */
