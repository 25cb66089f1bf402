/* Non-volatile storage smoke firmware: a boot counter kept at offset 16 of the port's NV page. Each run
 * prints the page size and the count found (an erased page reads 0xFF..: count 0), stores count + 1 and
 * checks that it reads back, then exits. A second run must find the first run's count. */
#include <stdio.h>

#include "tml_port.h"

int main(void)
{
    tml_port_init();
    uint32_t count = 0;
    uint32_t size = tml_port_nv_size();
    if (size == 0) {
        printf("nv none %d\n", tml_port_nv_read(0, &count, 4));
        tml_port_exit(0);
    }
    if (tml_port_nv_read(16, &count, sizeof count) != (int)sizeof count) {
        printf("nv read failed\n");
        tml_port_exit(3);
    }
    if (count == 0xFFFFFFFFu) {
        count = 0;
    }
    printf("nv size %lu count %lu\n", (unsigned long)size, (unsigned long)count);
    uint32_t next = count + 1, back = 0;
    if (tml_port_nv_write(16, &next, sizeof next) != (int)sizeof next || tml_port_nv_read(16, &back, 4) != 4 ||
        back != next) {
        printf("nv write failed\n");
        tml_port_exit(4);
    }
    printf("out of range %d\n", tml_port_nv_write(size - 2, &next, 4));
    tml_port_exit(0);
}
