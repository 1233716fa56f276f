/* temporary until core's classification head lands */
#include "audioapp.h"
int audio_cmd_classify_train(int argc, char **argv) { (void)argc, (void)argv; krait_cli_die(2, "not yet"); }
int audio_cmd_classify(int argc, char **argv) { (void)argc, (void)argv; krait_cli_die(2, "not yet"); }
