/* apps/dna/main.c — krait-dna: DNA sequence classification and genome pretraining. A dispatcher
 * only: each command lives in its own file (dnaapp.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dnaapp.h"

static const char *usage =
    "usage: krait-dna <command> [options]\n"
    "\n"
    "commands:\n"
    "  split    --input FILE --out DIR [--fraction 0.2] [--seed N]  seeded stratified train/test TSVs\n"
    "  pretrain --config FILE --fasta GENOME --out DIR [--steps N | --minutes M]   next-base LM\n"
    "  train    --config FILE --train SRC... [--valid SRC... [--keep-best]] --out DIR [--init DIR] [--steps N | --minutes M]\n"
    "  predict  --model DIR --input SRC... [--output PRED.tsv]      id, class, per-class probabilities\n"
    "  eval     --model DIR --input SRC... [--json] [--confusion FILE.svg]   accuracy, MCC, F1, AUROC\n"
    "  baseline --train SRC... --test SRC... [--k K] [--json]       k-mer counts + logistic regression\n"
    "  compare  --input SRC... --pred A.tsv --pred B.tsv [--json]   A vs B: accuracy difference, its\n"
    "                                     95% bootstrap interval, McNemar's exact test\n"
    "\n"
    "SRC: a TSV (seq<TAB>label), FASTA/FASTQ (plain, gzip, bgzip), SAM/BAM/CRAM, or a BED file of\n"
    "regions with --genome; CLASS=FILE labels every record of FILE with CLASS (one file per class).\n"
    "krait-dna <command> --help shows the command's options.";

int main(int argc, char **argv)
{
    krait_cli_start("krait-dna", argc, argv);
    krait_dna_quiet_htslib(); /* krait-dna reports problems itself, in one line */
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("%s\n", usage);
        return krait_cli_done(argc < 2 ? 2 : 0); /* a usage cut short is exit 1 */
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "split")) return krait_cli_done(dna_cmd_split(argc, argv));
    if (!strcmp(cmd, "baseline")) return krait_cli_done(dna_cmd_baseline(argc, argv));
    if (!strcmp(cmd, "compare")) return krait_cli_done(dna_cmd_compare(argc, argv));
    if (!strcmp(cmd, "pretrain")) return krait_cli_done(dna_cmd_pretrain(argc, argv));
    if (!strcmp(cmd, "train")) return krait_cli_done(dna_cmd_train(argc, argv));
    if (!strcmp(cmd, "predict") || !strcmp(cmd, "eval")) return krait_cli_done(dna_cmd_predict(argc, argv));
    krait_cli_die(2, "unknown command '%s' (see --help)", cmd);
}
