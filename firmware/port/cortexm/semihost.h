/* ARM semihosting (QEMU -semihosting-config enable=on,target=native, or a debugger). Never call
 * it on a board running without a debugger attached: the BKPT would fault. */
#ifndef TML_SEMIHOST_H
#define TML_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

/* Modes for tml_sh_open: 0 "r", 1 "rb", 4 "w", 5 "wb", 8 "a". */
#define TML_SH_MODE_RB 1
#define TML_SH_MODE_WB 5

int tml_sh_open(const char *path, int mode);     /* handle >= 0, or -1 */
int tml_sh_close(int handle);
/* Returns bytes actually read/written (semihosting returns the count NOT transferred; this
 * converts it). */
int tml_sh_read(int handle, void *buf, size_t len);
int tml_sh_write(int handle, const void *buf, size_t len);
long tml_sh_flen(int handle);
void tml_sh_write_stderr(const char *buf, size_t len); /* QEMU's stderr (":tt" opened for append) */
void tml_sh_exit(int code) __attribute__((noreturn));  /* SYS_EXIT_EXTENDED: QEMU exits with code */

#endif
