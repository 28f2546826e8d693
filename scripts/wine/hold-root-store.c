/*
 * A stand-in for a Wine 8 bug, run beside the tests by scripts/windows-check.sh.
 *
 * Wine's crypt32 guards each process's first look at the Root certificate store
 * with a named semaphore, "crypt32_root_semaphore": the first process imports
 * the host's certificates into the registry and releases it; every other
 * process waits for it, then releases it again. A process killed between the
 * two never releases it, and every later process that opens the Root store
 * (ssosync does, to make its first request) waits forever. The crash tests
 * kill ssosync at random moments, so under Wine they hung. Windows itself has
 * no such semaphore.
 *
 * This program opens the Root store once (so the import is done, by a process
 * nobody kills), then keeps the semaphore alive and, when it finds it taken on
 * every look for half a second, when a legitimate holder keeps it for
 * microseconds, releases it. It prints "ready" once the import is done.
 */
#include <stdio.h>
#include <windows.h>
#include <wincrypt.h>

int main(void)
{
    HCERTSTORE root = CertOpenSystemStoreW(0, L"ROOT");
    HANDLE sem;
    int taken = 0;

    /* Without the import done, no later process would do it while this one
       holds the semaphore: every TLS test would see an empty store. */
    if (!root)
    {
        fprintf(stderr, "hold-root-store: cannot open the Root store (%lu)\n", GetLastError());
        return 1;
    }
    CertCloseStore(root, 0);
    sem = CreateSemaphoreW(NULL, 1, 1, L"crypt32_root_semaphore");
    if (!sem)
    {
        fprintf(stderr, "hold-root-store: cannot create the semaphore (%lu)\n", GetLastError());
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;)
    {
        Sleep(50);
        if (WaitForSingleObject(sem, 0) == WAIT_OBJECT_0)
        {
            ReleaseSemaphore(sem, 1, NULL);
            taken = 0;
        }
        else if (++taken >= 10)
        {
            ReleaseSemaphore(sem, 1, NULL);
            taken = 0;
        }
    }
}
