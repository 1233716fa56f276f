/* tests/core/test_headers.cc — every public header of the libraries compiles as C++ (STYLE.md:
 * public headers compile as C11 and as C++; the C11 half is the krait_headers_alone objects, one
 * file per header), and krait_version() links and agrees with KRAIT_VERSION. */
#include "all_headers.h"

#include <cstdio>
#include <cstring>

int main()
{
    const char *v = krait_version();
    const bool same = v && !std::strcmp(v, KRAIT_VERSION);
    std::printf("test_headers: krait_version() \"%s\", KRAIT_VERSION \"%s\": %s\n", v ? v : "(null)", KRAIT_VERSION,
                same ? "PASS" : "FAIL");
    return same ? 0 : 1;
}
