#include "semihost.h"

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_FLEN 0x0C
#define SYS_EXIT 0x18
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static int sh_call(int op, const void *arg)
{
    register int r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static size_t cstrlen(const char *s)
{
    size_t n = 0;
    while (s[n]) {
        n++;
    }
    return n;
}

int tml_sh_open(const char *path, int mode)
{
    uint32_t args[3] = {(uint32_t)path, (uint32_t)mode, (uint32_t)cstrlen(path)};
    return sh_call(SYS_OPEN, args);
}

int tml_sh_close(int handle)
{
    uint32_t args[1] = {(uint32_t)handle};
    return sh_call(SYS_CLOSE, args);
}

int tml_sh_read(int handle, void *buf, size_t len)
{
    uint32_t args[3] = {(uint32_t)handle, (uint32_t)buf, (uint32_t)len};
    int left = sh_call(SYS_READ, args);
    return left < 0 ? -1 : (int)len - left;
}

int tml_sh_write(int handle, const void *buf, size_t len)
{
    uint32_t args[3] = {(uint32_t)handle, (uint32_t)buf, (uint32_t)len};
    int left = sh_call(SYS_WRITE, args);
    return left < 0 ? -1 : (int)len - left;
}

long tml_sh_flen(int handle)
{
    uint32_t args[1] = {(uint32_t)handle};
    return sh_call(SYS_FLEN, args);
}

void tml_sh_write_stderr(const char *buf, size_t len)
{
    static int err_handle = -1;
    if (err_handle < 0) {
        err_handle = tml_sh_open(":tt", 8);
        if (err_handle < 0) {
            return;
        }
    }
    (void)tml_sh_write(err_handle, buf, len);
}

void tml_sh_exit(int code)
{
    uint32_t args[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    for (;;) {
        (void)sh_call(SYS_EXIT_EXTENDED, args);
        /* Hosts without the extension: plain SYS_EXIT (0 or 1 only). */
        (void)sh_call(SYS_EXIT, (const void *)(uintptr_t)(code == 0 ? ADP_STOPPED_APPLICATION_EXIT : 0x20023u));
    }
}
