/* apps/text/tokenize_cmd.h — krait-text tokenize / detokenize (tokenize_cmd.c). */
#ifndef KRAIT_TEXT_TOKENIZE_CMD_H
#define KRAIT_TEXT_TOKENIZE_CMD_H

int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);

#endif /* KRAIT_TEXT_TOKENIZE_CMD_H */
