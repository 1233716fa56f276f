/* kernels/cpu/cpu_backend.c — the fast CPU backend "cpu". Placeholder until the OpenMP/BLAS ops
 * land: it hands out the reference backend (with a warning), so callers can already link. */
#include "backend.h"
#include "log.h"

krait_backend *krait_backend_cpu_init(int nthreads)
{
    (void)nthreads;
    KRAIT_WARN("cpu: the fast CPU backend is not built yet; using the reference backend");
    return krait_backend_cpu_ref_init();
}
