/* bcryptprimitives.c -- for the Wine test run only, never shipped.
 *
 * Rust's standard library for Windows imports ProcessPrng from
 * bcryptprimitives.dll (present on Windows 10 and later), which Wine 8.0
 * lacks, so a Rust DLL does not load there. tests/windows.sh builds this
 * stand-in with x86_64-w64-mingw32-gcc into its own Wine prefix's
 * system32: ProcessPrng over BCryptGenRandom, the system's generator.
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG) length;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
