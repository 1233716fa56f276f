/* tests/gpu/emu_backend.cc — "cuda-emu": krait's CUDA op files compiled for the host
 * (KRAIT_CUDA_EMU, see cuda_emu.h) behind the backend interface, in either activation dtype, so
 * that the GPU tests can run the real kernels and launchers on a machine without a GPU
 * (KRAIT_GPU_TEST_STANDIN=emu). This file holds the emulator runtime (fibers, barriers,
 * shuffles), the few backend functions that cuda_backend.cu provides on a real device (error
 * reporting, scratch), and the vtable.
 *
 * Emulated: casts, sumsq, RMSNorm, conv1d, softplus, gate, cross-entropy, AdamW, the selective
 * scan (every kernel, launcher, scratch layout and reduction of those files) and the linear ops
 * (their row-major to column-major mapping, with the fallback kernel standing in for cuBLASLt).
 * Also the optional decode ops (conv1d_step, ssm_step, sample_rows); not the graph members
 * (they stay NULL, so core runs the steps directly). Not emulated: the embedding (CUB sort); that slot holds the cpu-ref op, which is right in both
 * modes because the embedding is fp32 either way.
 */
#define KRAIT_CUDA_EMU 1
#include "cuda_common.cuh"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <vector>

/* The fiber switch. swapcontext saves and restores the signal mask — two system calls per switch,
 * and the emulated tests switch hundreds of millions of times — so on x86-64 the switch is these
 * few instructions: push the callee-saved registers, swap stack pointers, pop, return. Other
 * machines keep ucontext. */
#if defined(__x86_64__) && !defined(KRAIT_EMU_UCONTEXT)
#define EMU_ASM_SWITCH 1
extern "C" void krait_emu_switch(void **save_sp, void *load_sp);
__asm__(".text\n"
        ".globl krait_emu_switch\n"
        ".type krait_emu_switch,@function\n"
        "krait_emu_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size krait_emu_switch, .-krait_emu_switch\n");
#endif

/* ---- the emulator runtime ------------------------------------------------------------------- */
uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace {

enum { F_RUN, F_WAIT_BLOCK, F_WAIT_WARP, F_DONE };
const size_t FIBER_STACK = 128 * 1024;

struct fiber {
#ifdef EMU_ASM_SWITCH
    void *sp;
#else
    ucontext_t ctx;
#endif
    int state;
};

#ifdef EMU_ASM_SWITCH
void *sched_sp;
#else
ucontext_t sched_ctx;
#endif
std::vector<fiber> fibers;
std::vector<char> stacks;
int cur_fiber;
const std::function<void()> *cur_body;
double xchg[32][32];
void *dyn_smem;
size_t dyn_smem_bytes;

void to_scheduler()
{
#ifdef EMU_ASM_SWITCH
    krait_emu_switch(&fibers[cur_fiber].sp, sched_sp);
#else
    swapcontext(&fibers[cur_fiber].ctx, &sched_ctx);
#endif
}

void fiber_entry()
{
    (*cur_body)();
    fibers[cur_fiber].state = F_DONE;
    to_scheduler();   /* never resumed */
}

/* A fresh fiber on stack i: its first switch-in "returns" into fiber_entry. */
void fiber_init(unsigned i)
{
    fiber &f = fibers[i];
#ifdef EMU_ASM_SWITCH
    /* From the 16-aligned top down: a null return address for fiber_entry (so that it starts with
     * rsp = 8 mod 16, as after a call), fiber_entry for the switch's ret, six zero registers. */
    uintptr_t top = (uintptr_t)&stacks[(i + 1) * FIBER_STACK] & ~(uintptr_t)15;
    void **sp = (void **)top - 8;
    memset(sp, 0, 8 * sizeof *sp);
    sp[6] = (void *)fiber_entry;
    f.sp = sp;
#else
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = &stacks[i * FIBER_STACK];
    f.ctx.uc_stack.ss_size = FIBER_STACK;
    f.ctx.uc_link = &sched_ctx;
    makecontext(&f.ctx, fiber_entry, 0);
#endif
    f.state = F_RUN;
}

void switch_to(unsigned i)
{
#ifdef EMU_ASM_SWITCH
    krait_emu_switch(&sched_sp, fibers[i].sp);
#else
    swapcontext(&sched_ctx, &fibers[i].ctx);
#endif
}

void wait_as(int state)
{
    fibers[cur_fiber].state = state;
    to_scheduler();
}

template <typename V> V shfl_xor(V v, int m)
{
    const int w = cur_fiber >> 5, l = cur_fiber & 31;
    memcpy(&xchg[w][l], &v, sizeof v);
    wait_as(F_WAIT_WARP);
    V r;
    memcpy(&r, &xchg[w][l ^ m], sizeof r);
    wait_as(F_WAIT_WARP);
    return r;
}

[[noreturn]] void emu_abort(const char *why, unsigned bx, unsigned by)
{
    fprintf(stderr, "cuda-emu: %s (block %u,%u)\n", why, bx, by);
    abort();
}

void run_fiber(unsigned i)
{
    cur_fiber = (int)i;
    threadIdx = uint3{ i % blockDim.x, (i / blockDim.x) % blockDim.y, i / (blockDim.x * blockDim.y) };
    switch_to(i);
}

/* The order fibers run in between block barriers (KRAIT_EMU_SCHED): "lockstep" (default) runs
 * every thread to its next shuffle or barrier in thread order, so all warps move together and
 * thread 0 always goes first; "warp" and "warprev" run one warp at a time, in warp order or
 * reversed, through its shuffles up to the next block barrier. A shared-memory hand-off that
 * lacks a barrier is hidden by one order and exposed by another (a reader warp that runs ahead
 * of the writer), as on hardware, where warps run at any relative speed. */
enum { SCHED_LOCKSTEP, SCHED_WARP, SCHED_WARPREV };
int sched_mode()
{
    static int mode = -1;
    if (mode < 0) {
        const char *m = getenv("KRAIT_EMU_SCHED");
        mode = !m || !strcmp(m, "lockstep") ? SCHED_LOCKSTEP : !strcmp(m, "warp") ? SCHED_WARP
             : !strcmp(m, "warprev") ? SCHED_WARPREV : -2;
        if (mode == -2) {
            fprintf(stderr, "cuda-emu: KRAIT_EMU_SCHED=%s: expected lockstep, warp or warprev\n", m);
            exit(2);
        }
    }
    return mode;
}

/* Warp w alone until every lane waits at a block barrier or is done (its shuffles released as
 * its 32 lanes reach them). */
void run_warp_ahead(unsigned w)
{
    for (;;) {
        int ran = 0;
        for (unsigned l = 0; l < 32; l++)
            if (fibers[w * 32 + l].state == F_RUN) run_fiber(w * 32 + l), ran = 1;
        unsigned at = 0;
        for (unsigned l = 0; l < 32; l++) at += fibers[w * 32 + l].state == F_WAIT_WARP;
        if (at == 32) {
            for (unsigned l = 0; l < 32; l++) fibers[w * 32 + l].state = F_RUN;
            continue;
        }
        if (!ran) return; /* a partial shuffle is reported by run_block */
    }
}

void run_block(unsigned nt)
{
    for (unsigned i = 0; i < nt; i++) fiber_init(i);
    const int mode = nt >= 32 ? sched_mode() : SCHED_LOCKSTEP;
    for (;;) {
        if (mode == SCHED_LOCKSTEP) {
            for (unsigned i = 0; i < nt; i++)
                if (fibers[i].state == F_RUN) run_fiber(i);
        } else {
            const unsigned nw = nt / 32;
            for (unsigned k = 0; k < nw; k++) run_warp_ahead(mode == SCHED_WARPREV ? nw - 1 - k : k);
        }
        unsigned done = 0, at_block = 0;
        for (unsigned i = 0; i < nt; i++) {
            done += fibers[i].state == F_DONE;
            at_block += fibers[i].state == F_WAIT_BLOCK;
        }
        if (done == nt) return;
        int released = 0;
        for (unsigned w = 0; w < nt / 32; w++) {   /* warp barriers: every lane must be there */
            unsigned at = 0;
            for (unsigned l = 0; l < 32; l++) at += fibers[w * 32 + l].state == F_WAIT_WARP;
            if (at == 32) {
                for (unsigned l = 0; l < 32; l++) fibers[w * 32 + l].state = F_RUN;
                released = 1;
            } else if (at) {
                unsigned bad = 0;
                for (unsigned l = 0; l < 32; l++)
                    bad += fibers[w * 32 + l].state == F_DONE || fibers[w * 32 + l].state == F_WAIT_BLOCK;
                if (bad) emu_abort("shuffle reached by part of a warp", blockIdx.x, blockIdx.y);
            }
        }
        if (!released && at_block) {
            if (at_block + done != nt)
                emu_abort("__syncthreads reached by part of the block", blockIdx.x, blockIdx.y);
            if (done) emu_abort("__syncthreads after some threads exited", blockIdx.x, blockIdx.y);
            for (unsigned i = 0; i < nt; i++) fibers[i].state = F_RUN;
            released = 1;
        }
        if (!released) emu_abort("deadlock", blockIdx.x, blockIdx.y);
    }
}

} // namespace

void __syncthreads() { wait_as(F_WAIT_BLOCK); }
float __shfl_xor_sync(unsigned, float v, int m) { return shfl_xor(v, m); }
double __shfl_xor_sync(unsigned, double v, int m) { return shfl_xor(v, m); }
int __shfl_xor_sync(unsigned, int v, int m) { return shfl_xor(v, m); }
void *emu_dyn_smem() { return dyn_smem; }

void emu_launch(dim3 grid, dim3 block, size_t smem_bytes, const std::function<void()> &body)
{
    const unsigned nt = block.x * block.y * block.z;
    if (nt == 0 || nt > 1024 || (nt > 32 && nt % 32)) {
        fprintf(stderr, "cuda-emu: unsupported block shape %u x %u x %u\n", block.x, block.y, block.z);
        abort();
    }
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) {
        fprintf(stderr, "cuda-emu: invalid grid %u x %u x %u\n", grid.x, grid.y, grid.z);
        abort();
    }
    if (smem_bytes > dyn_smem_bytes) {
        free(dyn_smem);
        dyn_smem = aligned_alloc(256, (smem_bytes + 255) / 256 * 256);
        dyn_smem_bytes = smem_bytes;
    }
    if (fibers.size() < nt) {
        fibers.resize(nt);
        stacks.resize(nt * FIBER_STACK);
    }
    blockDim = block;
    gridDim = grid;
    cur_body = &body;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                blockIdx = uint3{ x, y, z };
                if (dyn_smem) memset(dyn_smem, 0xff, dyn_smem_bytes);   /* stale smem is NaN */
                run_block(nt);
            }
}

/* ---- what cuda_backend.cu provides on a device -------------------------------------------------- */
namespace krait_emu {

krait_status cuda_fail(cudaError_t e, const char *call, const char *file, int line)
{
    KRAIT_ERROR("cuda-emu: error %d in %s at %s:%d", e, call, file, line);
    return KRAIT_STATUS_DEVICE;
}

krait_status cublas_fail(cublasStatus_t s, const char *call, const char *file, int line)
{
    KRAIT_ERROR("cuda-emu: cuBLAS error %d in %s at %s:%d", s, call, file, line);
    return KRAIT_STATUS_DEVICE;
}

krait_status cuda_after_launch(krait_backend *, const char *, const char *, int)
{
    return KRAIT_STATUS_OK;
}

void *cuda_scratch(krait_backend *be, size_t bytes, const char *op)
{
    cuda_impl *im = cuda_im(be);
    if (!im->scratch || im->scratch_bytes < (bytes ? bytes : 1)) {
        KRAIT_ERROR("cuda-emu: %s needs %zu bytes of scratch but reserve() provided %zu", op, bytes,
                    im->scratch_bytes);
        return NULL;
    }
    memset(im->scratch, 0xff, bytes);   /* scratch starts as NaN: unwritten partials show */
    return im->scratch;
}

void cuda_prof_begin(krait_backend *, cuda_prof *p) { p->on = p->n = 0; }
void cuda_prof_mark(krait_backend *, cuda_prof *, const char *) {}
void cuda_prof_end(krait_backend *, cuda_prof *, const char *) {}

} // namespace krait_emu

/* ---- the backend object ---------------------------------------------------------------------- */
using namespace krait_emu;

struct emu_backend {
    krait_backend be;     /* first: the vtable the caller sees */
    cuda_impl im;
    krait_backend *ref;   /* host memory functions and the non-emulated ops */
};

static krait_status emu_reserve(krait_backend *be, const krait_dims *d)
{
    emu_backend *eb = (emu_backend *)be;
    int M = d->rows > d->B * d->L ? d->rows : d->B * d->L;
    int cols = 2 * d->E;
    if (d->V > cols) cols = d->V;
    if (d->D > cols) cols = d->D;
    if (d->R + 2 * d->N > cols) cols = d->R + 2 * d->N;
    size_t need = rmsnorm_scratch_bytes(M, d->D);
    size_t c = colsum_scratch_bytes(M, cols);
    if (c > need) need = c;
    if (d->B > 0 && d->L > 0 && d->E > 0) {
        if (d->K > 0 && (c = conv1d_scratch_bytes(d->B, d->L, d->E, d->K)) > need) need = c;
        if (d->N > 0 && d->N <= CUDA_SCAN_NMAX &&
            (c = scan_scratch_bytes(d->B, d->L, d->E, d->N, d->chunk > 0 ? d->chunk : 64)) > need)
            need = c;
    }
    krait_status st = eb->ref->reserve(eb->ref, d);
    if (st != KRAIT_STATUS_OK || need <= eb->im.scratch_bytes) return st;
    free(eb->im.scratch);
    eb->im.scratch = malloc(need);
    eb->im.scratch_bytes = eb->im.scratch ? need : 0;
    return eb->im.scratch ? KRAIT_STATUS_OK : KRAIT_STATUS_NO_MEMORY;
}

static void emu_destroy(krait_backend *be)
{
    if (!be) return;
    emu_backend *eb = (emu_backend *)be;
    free(eb->im.scratch);
    free(eb->im.small);
    krait_backend_destroy(eb->ref);
    free(eb);
}

extern "C" krait_backend *krait_backend_cuda_emu_init(krait_dtype act_dtype)
{
    emu_backend *eb = (emu_backend *)calloc(1, sizeof *eb);
    krait_backend *ref = krait_backend_cpu_ref_init();
    if (!eb || !ref) {
        free(eb);
        krait_backend_destroy(ref);
        return NULL;
    }
    krait_backend *be = &eb->be;
    *be = *ref;                    /* memory functions and the embedding from cpu-ref */
    eb->ref = ref;
    be->impl = &eb->im;
    eb->im.smem_optin = 227 * 1024;
    eb->im.sm_count = 132;
    eb->im.small = (double *)calloc(4096, sizeof(double));
    be->name = "cuda-emu";
    be->act_dtype = act_dtype;
    be->scan_chunk = CUDA_SCAN_CHUNK;
    be->destroy = emu_destroy;
    be->reserve = emu_reserve;
    be->to_act = to_act_cuda;
    be->from_act = from_act_cuda;
    be->sumsq = sumsq_cuda;
    be->linear_fwd = linear_fwd_cuda;
    be->linear_bwd_data = linear_bwd_data_cuda;
    be->linear_bwd_weight = linear_bwd_weight_cuda;
    be->add_rmsnorm_fwd = add_rmsnorm_fwd_cuda;
    be->add_rmsnorm_bwd = add_rmsnorm_bwd_cuda;
    be->conv1d_fwd = conv1d_fwd_cuda;
    be->conv1d_bwd = conv1d_bwd_cuda;
    be->softplus_fwd = softplus_fwd_cuda;
    be->softplus_bwd = softplus_bwd_cuda;
    be->ssm_scan_fwd = ssm_scan_fwd_cuda;
    be->ssm_scan_bwd = ssm_scan_bwd_cuda;
    be->gate_fwd = gate_fwd_cuda;
    be->gate_bwd = gate_bwd_cuda;
    be->cross_entropy = cross_entropy_cuda;
    be->adamw = adamw_cuda;
    be->dropout = dropout_cuda;
    be->conv1d_step = conv1d_step_cuda;
    be->ssm_step = ssm_step_cuda;
    be->sample_rows = sample_rows_cuda;
    return be;
}
