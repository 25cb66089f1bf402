/* Host harness over the C link receiver for tests: feed a byte stream, record each result. */
#include <stddef.h>
#include <stdint.h>

#include "tml_link.h"

static tml_link_rx s_rx;

/* Feeds n bytes. For each good frame writes (type, len, crc16 of payload) into frames[3*i..]; for
 * each refused frame writes its error code into errs. Returns frames found; *n_errs set. */
int harness_feed(const uint8_t *data, size_t n, uint32_t *frames, int max_frames, int32_t *errs, int max_errs,
                 int *n_errs)
{
    int nf = 0, ne = 0;
    tml_link_rx_init(&s_rx);
    for (size_t i = 0; i < n; i++) {
        int r = tml_link_rx_feed(&s_rx, data[i]);
        if (r == TML_LINK_FRAME && nf < max_frames) {
            frames[3 * nf] = s_rx.type;
            frames[3 * nf + 1] = s_rx.len;
            frames[3 * nf + 2] = tml_crc16_ccitt(0xFFFFu, s_rx.payload, s_rx.len);
            nf++;
        } else if (r < 0 && ne < max_errs) {
            errs[ne++] = -r;
        }
    }
    *n_errs = ne;
    return nf;
}

uint32_t harness_faults(void) { return s_rx.faults; }
