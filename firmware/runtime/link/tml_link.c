/* Device link framing: CRCs, the incremental receiver and the sender. See tml_link.h. */
#include "tml_link.h"

#include <string.h>

#include "tml_port.h"

enum { ST_SYNC0, ST_SYNC1, ST_TYPE, ST_LEN0, ST_LEN1, ST_HCRC, ST_PAYLOAD, ST_CRC0, ST_CRC1 };

uint16_t tml_crc16_ccitt(uint16_t crc, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint16_t)data[i] << 8);
        for (int b = 0; b < 8; b++) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

uint8_t tml_crc8(uint8_t crc, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc & 0x80u) ? (uint8_t)((crc << 1) ^ 0x07u) : (uint8_t)(crc << 1);
        }
    }
    return crc;
}

void tml_put_f32(uint8_t *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    tml_put_u32(p, u);
}

float tml_get_f32(const uint8_t *p)
{
    uint32_t u = tml_get_u32(p);
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

void tml_link_rx_init(tml_link_rx *rx)
{
    rx->state = ST_SYNC0;
    rx->type = 0;
    rx->len = 0;
    rx->pos = 0;
    rx->crc = 0;
    rx->frames = 0;
    rx->faults = 0;
}

static int refuse(tml_link_rx *rx, int code)
{
    rx->faults++;
    rx->state = ST_SYNC0;
    return -code;
}

int tml_link_rx_feed(tml_link_rx *rx, uint8_t byte)
{
    switch (rx->state) {
    case ST_SYNC0:
        if (byte == TML_LINK_SYNC0) {
            rx->state = ST_SYNC1;
        }
        return TML_LINK_NEED_MORE;
    case ST_SYNC1:
        if (byte == TML_LINK_SYNC1) {
            rx->state = ST_TYPE;
        } else if (byte != TML_LINK_SYNC0) {
            rx->state = ST_SYNC0;
        }
        return TML_LINK_NEED_MORE;
    case ST_TYPE:
        rx->hdr[0] = byte;
        rx->type = byte;
        rx->state = ST_LEN0;
        return TML_LINK_NEED_MORE;
    case ST_LEN0:
        rx->hdr[1] = byte;
        rx->state = ST_LEN1;
        return TML_LINK_NEED_MORE;
    case ST_LEN1:
        rx->hdr[2] = byte;
        rx->len = (uint16_t)(rx->hdr[1] | (rx->hdr[2] << 8));
        rx->state = ST_HCRC;
        return TML_LINK_NEED_MORE;
    case ST_HCRC:
        if (byte != tml_crc8(0, rx->hdr, 3)) {
            return refuse(rx, TML_LINK_ERR_HEADER);
        }
        if (rx->len > TML_LINK_MAX_PAYLOAD) {
            return refuse(rx, TML_LINK_ERR_OVERSIZE);
        }
        rx->crc = tml_crc16_ccitt(0xFFFFu, rx->hdr, 3);
        rx->pos = 0;
        rx->state = rx->len ? ST_PAYLOAD : ST_CRC0;
        return TML_LINK_NEED_MORE;
    case ST_PAYLOAD:
        rx->payload[rx->pos++] = byte;
        if (rx->pos == rx->len) {
            rx->crc = tml_crc16_ccitt(rx->crc, rx->payload, rx->len);
            rx->state = ST_CRC0;
        }
        return TML_LINK_NEED_MORE;
    case ST_CRC0:
        rx->hdr[0] = byte; /* header no longer needed: keep the low CRC byte here */
        rx->state = ST_CRC1;
        return TML_LINK_NEED_MORE;
    case ST_CRC1: {
        uint16_t got = (uint16_t)(rx->hdr[0] | (byte << 8));
        if (got != rx->crc) {
            return refuse(rx, TML_LINK_ERR_CRC);
        }
        rx->frames++;
        rx->state = ST_SYNC0;
        return TML_LINK_FRAME;
    }
    default:
        rx->state = ST_SYNC0;
        return TML_LINK_NEED_MORE;
    }
}

static void header(uint8_t h[TML_LINK_HEADER], uint8_t type, uint16_t len)
{
    h[0] = TML_LINK_SYNC0;
    h[1] = TML_LINK_SYNC1;
    h[2] = type;
    tml_put_u16(&h[3], len);
    h[5] = tml_crc8(0, &h[2], 3);
}

size_t tml_link_encode(uint8_t *out, size_t cap, uint8_t type, const uint8_t *payload, uint16_t len)
{
    if (len > TML_LINK_MAX_PAYLOAD || cap < (size_t)len + TML_LINK_OVERHEAD) {
        return 0;
    }
    header(out, type, len);
    if (len) {
        memcpy(out + TML_LINK_HEADER, payload, len);
    }
    uint16_t crc = tml_crc16_ccitt(0xFFFFu, out + 2, 3u); /* type and len; not the header crc */
    crc = tml_crc16_ccitt(crc, out + TML_LINK_HEADER, len);
    tml_put_u16(out + TML_LINK_HEADER + len, crc);
    return (size_t)len + TML_LINK_OVERHEAD;
}

void tml_link_send(uint8_t type, const uint8_t *payload, uint16_t len)
{
    if (len > TML_LINK_MAX_PAYLOAD) {
        return;
    }
    uint8_t h[TML_LINK_HEADER];
    uint8_t c[2];
    header(h, type, len);
    uint16_t crc = tml_crc16_ccitt(0xFFFFu, h + 2, 3);
    crc = tml_crc16_ccitt(crc, payload, len);
    tml_put_u16(c, crc);
    tml_port_link_write(h, sizeof h);
    if (len) {
        tml_port_link_write(payload, len);
    }
    tml_port_link_write(c, sizeof c);
}
