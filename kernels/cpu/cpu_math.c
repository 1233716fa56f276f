/* kernels/cpu/cpu_math.c — the vectorised math of cpu_simd.h applied to arrays, compiled with
 * the fast backend's flags, so that test_cpu_math measures exactly the code the ops run.
 * Nothing in the backend calls these; they exist for the tests. */
#include "cpu_internal.h"
#include "cpu_simd.h"

#define MAP_ARRAY(name, fn)                                         \
    void name(float *y, const float *x, size_t n)                   \
    {                                                               \
        for (size_t i = 0; i < n; i += VL) {                        \
            int w = n - i < VL ? (int)(n - i) : VL;                 \
            vstore_n(y + i, fn(vload_n(x + i, w)), w);              \
        }                                                           \
    }

MAP_ARRAY(vexp_array_cpu, vexp)
MAP_ARRAY(vexp2_np_array_cpu, vexp2_np)
MAP_ARRAY(vsoftplus_array_cpu, vsoftplus)
MAP_ARRAY(vsigmoid_array_cpu, vsigmoid)
