/* host port: link over stdin/stdout (non-blocking reads with poll), log on stderr, monotonic clock. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tml_port.h"

static struct timespec s_t0;
static int s_eof;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

void tml_port_init(void)
{
    clock_gettime(CLOCK_MONOTONIC, &s_t0);
    s_eof = 0;
}

uint32_t tml_port_time_ms(void)
{
    uint64_t t0 = (uint64_t)s_t0.tv_sec * 1000000000ull + (uint64_t)s_t0.tv_nsec;
    return (uint32_t)((now_ns() - t0) / 1000000ull);
}

uint64_t tml_port_instructions(void) { return now_ns(); }
const char *tml_port_cost_unit(void) { return "ns"; }
const char *tml_port_board_name(void) { return "host"; }

void tml_port_log(const char *msg)
{
    fputs(msg, stderr);
    fflush(stderr);
}

int tml_port_link_read(uint8_t *buf, size_t cap)
{
    if (s_eof) {
        return -1;
    }
    struct pollfd p = {.fd = 0, .events = POLLIN, .revents = 0};
    int r = poll(&p, 1, 0);
    if (r <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) {
        return 0;
    }
    ssize_t n = read(0, buf, cap);
    if (n > 0) {
        return (int)n;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return 0;
    }
    s_eof = 1;
    return -1;
}

void tml_port_link_write(const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = write(1, buf, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            exit(3); /* the host end of the pipe is gone */
        }
        buf += n;
        len -= (size_t)n;
    }
}

void tml_port_idle(void)
{
    struct pollfd p = {.fd = 0, .events = POLLIN, .revents = 0};
    (void)poll(&p, 1, 10);
}

void tml_port_sleep_ms(uint32_t ms)
{
    struct timespec t = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    nanosleep(&t, NULL);
}

/* Non-volatile page: the file named by TML_NV_FILE (none: no storage), TML_NV_SIZE bytes, 0xFF where
 * never written; read whole and written whole, as a flash page. */
#ifndef TML_NV_SIZE
#define TML_NV_SIZE 2048u
#endif

static const char *nv_path(void) { return getenv("TML_NV_FILE"); }

uint32_t tml_port_nv_size(void) { return nv_path() ? TML_NV_SIZE : 0u; }

static int nv_load(uint8_t *page)
{
    const char *path = nv_path();
    if (!path) {
        return -1;
    }
    memset(page, 0xFF, TML_NV_SIZE);
    FILE *f = fopen(path, "rb");
    if (f) {
        (void)fread(page, 1, TML_NV_SIZE, f);
        fclose(f);
    }
    return 0;
}

int tml_port_nv_read(uint32_t offset, void *buf, uint32_t n)
{
    static uint8_t page[TML_NV_SIZE];
    if (offset > TML_NV_SIZE || n > TML_NV_SIZE - offset || nv_load(page) != 0) {
        return -1;
    }
    memcpy(buf, page + offset, n);
    return (int)n;
}

int tml_port_nv_write(uint32_t offset, const void *buf, uint32_t n)
{
    static uint8_t page[TML_NV_SIZE];
    if (offset > TML_NV_SIZE || n > TML_NV_SIZE - offset || nv_load(page) != 0) {
        return -1;
    }
    memcpy(page + offset, buf, n);
    FILE *f = fopen(nv_path(), "wb");
    if (!f) {
        return -1;
    }
    size_t done = fwrite(page, 1, TML_NV_SIZE, f);
    return fclose(f) == 0 && done == TML_NV_SIZE ? (int)n : -1;
}

void tml_port_exit(int code)
{
    fflush(stdout);
    exit(code);
}
