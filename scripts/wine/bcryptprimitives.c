/* A stand-in for Windows' bcryptprimitives.dll, for running the Windows build
 * under Wine 8 (scripts/windows-check.sh). Rust's standard library draws its
 * randomness (HashMap keys) from ProcessPrng, which Windows 10 and later ship
 * and Wine only has from 9.x on; without it no Rust program starts. This one
 * fills the buffer from RtlGenRandom (advapi32's SystemFunction036), which Wine 8
 * implements. It is never shipped: only the check's private Wine prefix has it. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
