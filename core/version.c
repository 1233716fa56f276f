/* core/version.c — the library's version string. */
#include "krait_version.h"

const char *krait_version(void) { return KRAIT_VERSION; }
