/* kernels/cuda_loader.c — the CUDA backend's entry points in a build with CUDA, loading the
 * backend (libkrait_cuda.so: the kernels, the CUDA runtime, cuBLAS and cuBLASLt) only when a
 * command asks for a GPU. Linked directly, cuBLASLt alone costs every krait process about
 * 150 MB of resident memory and a third of a second at start-up (its load-time setup), also
 * for CPU-only work and --help. A machine without the CUDA driver (libcuda.so.1) has no device,
 * which is known without loading anything else.
 *
 * The library is the environment's KRAIT_CUDA_LIBRARY (a path) when set, else the installed one
 * beside the program (lib/krait/ next to its bin/), else where the build put it, else the
 * configured install prefix's, else found by its name on the usual search path. It resolves krait_log and
 * krait_dtype_name from the program (executables are linked with exported symbols; this file's
 * own use of krait_log links them in), so its messages go through the program's log callback. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"

#ifndef KRAIT_CUDA_LIBRARY
#define KRAIT_CUDA_LIBRARY "libkrait_cuda.so"
#endif

static void *cuda_lib;
static int cuda_tried;
static char cuda_why[512];

/* The backend library (NULL with cuda_why set when it cannot be loaded). */
static void *backend_library(void)
{
    if (cuda_tried) return cuda_lib;
    cuda_tried = 1;
    if (!dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
        snprintf(cuda_why, sizeof cuda_why, "no CUDA driver on this machine (libcuda.so.1 not found)");
        return NULL;
    }
    const char *env = getenv("KRAIT_CUDA_LIBRARY");
    if (env && *env) {
        cuda_lib = dlopen(env, RTLD_NOW | RTLD_LOCAL);
    } else {
#ifdef KRAIT_CUDA_LIBRARY_REL
        /* an installed command's own first (a build tree has none there), so that it never takes
         * the copy of a build tree rebuilt since, or gone and replaced */
        char *beside = krait_exe_relative(KRAIT_CUDA_LIBRARY_REL);
        if (beside && access(beside, F_OK) == 0) cuda_lib = dlopen(beside, RTLD_NOW | RTLD_LOCAL);
        free(beside);
#endif
        if (!cuda_lib) cuda_lib = dlopen(KRAIT_CUDA_LIBRARY, RTLD_NOW | RTLD_LOCAL);
#ifdef KRAIT_CUDA_LIBRARY_INSTALLED
        if (!cuda_lib) cuda_lib = dlopen(KRAIT_CUDA_LIBRARY_INSTALLED, RTLD_NOW | RTLD_LOCAL);
#endif
        if (!cuda_lib) cuda_lib = dlopen("libkrait_cuda.so", RTLD_NOW | RTLD_LOCAL);
    }
    if (!cuda_lib) { /* a driver but no usable backend: say so once, even where the CPU is used */
        snprintf(cuda_why, sizeof cuda_why, "cannot load the CUDA backend: %s", dlerror());
        KRAIT_WARN("cuda: %s", cuda_why);
    }
    return cuda_lib;
}

/* The library's function `name` into *fn (a function pointer variable); 0 when absent. */
static int entry(const char *name, void *fn, size_t size)
{
    void *lib = backend_library(), *p = lib ? dlsym(lib, name) : NULL;
    if (p) memcpy(fn, &p, size);
    return p != NULL;
}

int krait_cuda_compiled(void) { return 1; }

int krait_cuda_device_count(void)
{
    int (*fn)(void);
    return entry("krait_cuda_device_count", &fn, sizeof fn) ? fn() : 0;
}

krait_backend *krait_backend_cuda_init(int device, krait_dtype act_dtype)
{
    krait_backend *(*fn)(int, krait_dtype);
    if (!entry("krait_backend_cuda_init", &fn, sizeof fn)) {
        KRAIT_ERROR("cuda: %s", cuda_why[0] ? cuda_why : "the CUDA backend library has no krait_backend_cuda_init");
        return NULL;
    }
    return fn(device, act_dtype);
}

void *krait_cuda_stream_of(krait_backend *be)
{
    void *(*fn)(krait_backend *);
    return entry("krait_cuda_stream_of", &fn, sizeof fn) ? fn(be) : NULL;
}

int krait_cuda_device_of(krait_backend *be)
{
    int (*fn)(krait_backend *);
    return entry("krait_cuda_device_of", &fn, sizeof fn) ? fn(be) : -1;
}
