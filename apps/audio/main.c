/* apps/audio/main.c — krait-audio: raw-waveform modelling (8-bit mu-law, autoregressive over
 * samples) and clip classification. A dispatcher only: each command lives in its own file
 * (audioapp.h). */
#include <stdio.h>
#include <string.h>

#include "audioapp.h"
#include "cli.h"

static const char *usage =
    "usage: krait-audio <command> [options]\n"
    "\n"
    "commands:\n"
    "  train          --config FILE --data DIR|TSV --out DIR [--steps N | --minutes M]   waveform model\n"
    "  eval           --model DIR --data FILE|DIR|TSV [--split test]     bits per sample of whole files\n"
    "  generate       --model DIR [--seconds S] [--prompt FILE] --output OUT.wav   audio + picture\n"
    "  encode         --data DIR|TSV|FILE --out DIR         8-bit sample streams as bytes (for xz)\n"
    "  classify-train --config FILE --data DIR|TSV --out DIR [--init DIR]       clip classifier\n"
    "  classify       --model DIR --data FILE|DIR|TSV [--split test]  predictions, accuracy, confusion\n"
    "\n"
    "krait-audio <command> --help shows the command's options.";

int main(int argc, char **argv)
{
    krait_cli_start("krait-audio", argc, argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("%s\n", usage);
        return krait_cli_done(argc < 2 ? 2 : 0); /* a usage cut short is exit 1 */
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "train")) return krait_cli_done(audio_cmd_train(argc, argv));
    if (!strcmp(cmd, "eval")) return krait_cli_done(audio_cmd_eval(argc, argv));
    if (!strcmp(cmd, "generate")) return krait_cli_done(audio_cmd_generate(argc, argv));
    if (!strcmp(cmd, "encode")) return krait_cli_done(audio_cmd_encode(argc, argv));
    if (!strcmp(cmd, "classify-train")) return krait_cli_done(audio_cmd_classify_train(argc, argv));
    if (!strcmp(cmd, "classify")) return krait_cli_done(audio_cmd_classify(argc, argv));
    krait_cli_die(2, "unknown command '%s' (see --help)", cmd);
}
