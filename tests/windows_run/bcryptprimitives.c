/* A stand-in for Windows' bcryptprimitives.dll, which Debian's Wine 8.0 does not have: every Rust
 * program built for Windows imports its ProcessPrng (the standard library's random source, e.g.
 * for HashMap keys). Built with mingw-w64 and put into the test prefix's system32 by
 * `scripts/test.sh windows-run`; a real Windows has its own. The bytes come from Wine's
 * RtlGenRandom (advapi32's SystemFunction036), the same source Wine's bcrypt uses. */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
