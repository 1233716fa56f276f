/* apps/text/main.c — krait-text: long-document language modelling. A dispatcher only: each
 * command lives in its own file (textapp.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "textapp.h"
#include "tokenize_cmd.h"

static const char *usage =
    "usage: krait-text <command> [options]\n"
    "\n"
    "commands:\n"
    "  prepare  --input PATH... --output DIR [--tokenizer T]   text -> token files (train/val)\n"
    "  train    --config FILE --data DIR --out DIR [--steps N | --minutes M] [--resume DIR] [--init DIR]\n"
    "  generate --model DIR [--prompt TEXT] [--max-tokens N]    streamed text from a prompt\n"
    "  eval     --model DIR --input FILE [--positions]         loss / perplexity / bits per byte\n"
    "  tokenize   (--tokenizer PATH|bytes | --model DIR) [--json]  stdin text -> token ids\n"
    "  detokenize (--tokenizer PATH|bytes | --model DIR) [--json]  stdin token ids -> text\n"
    "\n"
    "krait-text <command> --help shows the command's options.";

int main(int argc, char **argv)
{
    krait_cli_start("krait-text", argc, argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("%s\n", usage);
        return krait_cli_done(argc < 2 ? 2 : 0); /* a usage cut short is exit 1 */
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "prepare")) return krait_cli_done(text_cmd_prepare(argc, argv));
    if (!strcmp(cmd, "train")) return krait_cli_done(text_cmd_train(argc, argv));
    if (!strcmp(cmd, "generate")) return krait_cli_done(text_cmd_generate(argc, argv));
    if (!strcmp(cmd, "eval")) return krait_cli_done(text_cmd_eval(argc, argv));
    if (!strcmp(cmd, "tokenize")) return krait_cli_done(cmd_tokenize(argc, argv));
    if (!strcmp(cmd, "detokenize")) return krait_cli_done(cmd_detokenize(argc, argv));
    krait_cli_die(2, "unknown command '%s' (see --help)", cmd);
}
