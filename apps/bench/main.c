/* apps/bench/main.c — krait-bench: measure krait on this machine.
 *   synthetic   the Mamba paper's selective-copy and induction-heads tasks
 *   train       training throughput against the GEMM rate measured in the same process */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli.h"

static const char *usage =
    "usage: krait-bench <command> [options]\n"
    "\n"
    "commands:\n"
    "  synthetic --task induction|selective-copy   train on a synthetic task, evaluate at length\n"
    "  train --shape 130m|small|CONFIG.json         training tokens/s and fraction of sgemm rate\n"
    "\n"
    "krait-bench <command> --help shows the command's options.";

int main(int argc, char **argv)
{
    krait_cli_start("krait-bench", argc, argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("%s\n", usage);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "synthetic")) return bench_synthetic(argc, argv);
    if (!strcmp(argv[1], "train")) return bench_train(argc, argv);
    krait_cli_die(2, "unknown command '%s' (see --help)", argv[1]);
}
