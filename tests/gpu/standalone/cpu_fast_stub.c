/* tests/gpu/standalone/cpu_fast_stub.c — stands in for the fast CPU backend (which needs OpenBLAS)
 * in the standalone GPU-test build: the entry point exists and says in one line that it was not
 * built. The GPU tests use the reference backend, never this one. */
#include "backend.h"
#include "log.h"

krait_backend *krait_backend_cpu_init(int nthreads)
{
    (void)nthreads;
    KRAIT_ERROR("this is the standalone GPU-test build: the fast CPU backend (OpenBLAS) is not in it");
    return NULL;
}
