/* apps/bench/main.c — krait-bench: measure krait on this machine.
 *   synthetic   the Mamba paper's selective-copy and induction-heads tasks
 *   train       training throughput against the GEMM rate measured in the same process
 *   generate    decode tokens/s against the memory-bandwidth bound measured in the same process
 *   prefill     chunked prefill tokens/s against the GEMM rate
 *   longeval    loss of a sequence of any length in constant memory, with peak RSS
 *   tokenize    tokenizer encoding speed on one thread */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli.h"

static const char *usage =
    "usage: krait-bench <command> [options]\n"
    "\n"
    "commands:\n"
    "  synthetic --task induction|selective-copy   train on a synthetic task, evaluate at length\n"
    "  train --shape 130m|1.4b|small|CONFIG.json    training tokens/s and fraction of sgemm rate\n"
    "  generate --shape ... [--batch N] [--tokens N] decode tokens/s and fraction of the bandwidth bound\n"
    "  prefill --shape ... [--tokens N] [--chunk N]  prefill tokens/s and fraction of sgemm rate\n"
    "  longeval --shape ... [--tokens N] [--chunk N] long-sequence loss, position buckets, peak RSS\n"
    "  tokenize [--tokenizer PATH] [--input FILE]   tokenizer encoding MB/s and tokens/s, one thread\n"
    "\n"
    "krait-bench <command> --help shows the command's options.";

int main(int argc, char **argv)
{
    krait_cli_start("krait-bench", argc, argv);
    if (argc < 2) { /* a mistake: the usage goes to stderr, exit 2 */
        fprintf(stderr, "%s\n", usage);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("%s\n", usage);
        return krait_cli_done(0); /* a usage cut short is exit 1 */
    }
    if (!strcmp(argv[1], "synthetic")) return krait_cli_done(bench_synthetic(argc, argv));
    if (!strcmp(argv[1], "train")) return krait_cli_done(bench_train(argc, argv));
    if (!strcmp(argv[1], "generate")) return krait_cli_done(bench_generate(argc, argv));
    if (!strcmp(argv[1], "prefill")) return krait_cli_done(bench_prefill(argc, argv));
    if (!strcmp(argv[1], "longeval")) return krait_cli_done(bench_longeval(argc, argv));
    if (!strcmp(argv[1], "tokenize")) return krait_cli_done(bench_tokenize(argc, argv));
    krait_cli_die(2, "unknown command '%s' (see --help)", argv[1]);
}
