/* tml_link.h - the device link: one framed serial protocol between a host and the firmware.
 *
 * The same bytes travel over QEMU's serial port (stdin/stdout), a native process's pipes (board
 * host) and a real board's UART (pyserial on PORT=). Python twin: shared/tinyml/device/link.py.
 *
 * Frame (all integers little-endian):
 *   0xA5 0x5A | type u8 | len u16 | hcrc u8 | payload[len] | crc u16
 *   hcrc = CRC-8 (poly 0x07, init 0x00) over type and len, so a false sync in noise is dropped after
 *   6 bytes instead of swallowing up to a maximum payload of good frames;
 *   crc  = CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over type, len and payload.
 *   len <= TML_LINK_MAX_PAYLOAD, else the frame is refused as oversize.
 *
 * Host -> device
 *   SAMPLES   u32 seq (index of the first sample) + float32[k * channels], k >= 1, interleaved
 *   RESET     empty: app re-initialised, sample count back to 0
 *   END       empty: device answers DONE once everything before it has been processed
 *   QUIT      empty: DONE, then exit (QEMU, host); a real board exits and resets: hosts end its sessions with END
 *   HELLO_REQ empty: device answers HELLO
 * Device -> host
 *   HELLO   u8 version, u8 channels, u8 outputs, u8 window (SAMPLES frames the host may have in
 *           flight), u16 max_payload, i8 output_zero_point, u8 values ([app] values), f32 output_scale,
 *           f32 rate_hz, u8 beat labels ([app] beat_labels), then 4 strings (u8 length + bytes):
 *           app id, feature hash, board, cost unit
 *   SCORES  u32 t (samples seen: end of the window), u8 n, i8[n]
 *   VALUES  u32 t (the window's end, as its SCORES), u8 n, f32[n] in [app] values order (NaN: none)
 *   BEAT    u32 t (sample index of the beat), u8 beat label index
 *   EVENT   u32 t, u8 label index, i8 score
 *   TIMING  u32 t, u64 cost (tml_port_instructions() delta for one inference; unit in HELLO)
 *   ERROR   u8 code, u8 frame type (or 0), u16 reserved, u32 fault count, then message text
 *   DONE    u32 samples, u32 good frames, u32 faults, u32 stack bytes used
 *   LOG     text
 *   ACK     u32 next expected seq (one per SAMPLES frame, after its outputs)
 * END and QUIT mark the end of the input: the app's tml_app_flush() runs first (once per stream), so
 * what it reports comes before the DONE.
 */
#ifndef TML_LINK_H
#define TML_LINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TML_LINK_VERSION 2
#define TML_LINK_SYNC0 0xA5u
#define TML_LINK_SYNC1 0x5Au
#define TML_LINK_HEADER 6u /* sync0 sync1 type len_lo len_hi hcrc */
#define TML_LINK_OVERHEAD 8u
#ifndef TML_LINK_MAX_PAYLOAD
#define TML_LINK_MAX_PAYLOAD 512u
#endif

enum tml_link_type {
    TML_LINK_SAMPLES = 0x01,
    TML_LINK_RESET = 0x02,
    TML_LINK_END = 0x03,
    TML_LINK_QUIT = 0x04,
    TML_LINK_HELLO_REQ = 0x05,

    TML_LINK_HELLO = 0x81,
    TML_LINK_SCORES = 0x82,
    TML_LINK_EVENT = 0x83,
    TML_LINK_TIMING = 0x84,
    TML_LINK_ERROR = 0x85,
    TML_LINK_DONE = 0x86,
    TML_LINK_LOG = 0x87,
    TML_LINK_ACK = 0x88,
    TML_LINK_VALUES = 0x89,
    TML_LINK_BEAT = 0x8A,
};

enum tml_link_error {
    TML_LINK_ERR_CRC = 1,      /* payload checksum mismatch */
    TML_LINK_ERR_HEADER = 2,   /* header checksum mismatch (false sync or corrupt header) */
    TML_LINK_ERR_OVERSIZE = 3, /* len > TML_LINK_MAX_PAYLOAD */
    TML_LINK_ERR_LENGTH = 4,   /* len wrong for the frame type */
    TML_LINK_ERR_TYPE = 5,     /* unknown frame type */
    TML_LINK_ERR_SEQ = 6,      /* SAMPLES seq is not the next expected sample */
    TML_LINK_ERR_OVERRUN = 7,  /* receive buffer overflowed: bytes were lost */
    TML_LINK_ERR_APP = 16,     /* app-defined codes start here */
};

uint16_t tml_crc16_ccitt(uint16_t crc, const uint8_t *data, size_t len);
uint8_t tml_crc8(uint8_t crc, const uint8_t *data, size_t len);

/* Incremental receiver: feed bytes one at a time. No allocation; the payload lives inside. */
typedef struct {
    uint8_t state;
    uint8_t type;
    uint8_t hdr[3];
    uint16_t len;
    uint16_t pos;
    uint16_t crc;
    uint32_t frames;  /* good frames */
    uint32_t faults;  /* refused frames */
    uint8_t payload[TML_LINK_MAX_PAYLOAD];
} tml_link_rx;

#define TML_LINK_NEED_MORE 0
#define TML_LINK_FRAME 1

void tml_link_rx_init(tml_link_rx *rx);
/* Returns TML_LINK_FRAME when rx->type/len/payload hold a good frame (valid until the next feed),
 * TML_LINK_NEED_MORE, or -code (enum tml_link_error) when a frame was refused; the receiver has
 * then already counted the fault and gone back to hunting for a sync. */
int tml_link_rx_feed(tml_link_rx *rx, uint8_t byte);

/* Encode one frame into out (cap >= len + TML_LINK_OVERHEAD); returns the frame size or 0. */
size_t tml_link_encode(uint8_t *out, size_t cap, uint8_t type, const uint8_t *payload, uint16_t len);

/* Send one frame with tml_port_link_write (header, payload and CRC streamed; no big buffer). */
void tml_link_send(uint8_t type, const uint8_t *payload, uint16_t len);

/* Little-endian field helpers. */
static inline void tml_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void tml_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t tml_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
void tml_put_f32(uint8_t *p, float v);
float tml_get_f32(const uint8_t *p);

#ifdef __cplusplus
}
#endif
#endif
