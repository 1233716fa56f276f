/* apps/bench/bench.h — krait-bench's subcommands and the machine limits they report against. */
#ifndef KRAIT_BENCH_H
#define KRAIT_BENCH_H

#include "backend.h"
#include "config.h"

int bench_synthetic(int argc, char **argv);
int bench_train(int argc, char **argv);
int bench_generate(int argc, char **argv);
int bench_prefill(int argc, char **argv);
int bench_longeval(int argc, char **argv);
int bench_tokenize(int argc, char **argv);

/* Resolve --shape: "130m", "small" or a config file; fills cfg (and tc when the file has one). */
void bench_load_shape(const char *shape, krait_config *cfg, krait_train_config *tc);

/* Limits measured in this process through the backend's own ops. */
double bench_sgemm_gflops(krait_backend *be);      /* fp32 GEMM (act dtype GEMM on CUDA), GFLOP/s */
const char *bench_gemm_name(const krait_backend *be); /* what that rate is: "sgemm" or "bf16 GEMM" */
double bench_copy_gbps(krait_backend *be);         /* device copy, bytes read + written, GB/s */

#endif /* KRAIT_BENCH_H */
