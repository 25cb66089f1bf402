/* tml_ring.h - fixed-storage ring buffers (no allocation; the caller owns the storage).
 *
 * tml_ring_u8: single-producer/single-consumer byte FIFO, safe between one interrupt handler
 * (producer, e.g. UART RX) and the main loop (consumer). size must be a power of two. The indices the
 * two sides share are TML_RING_INDEX_T (default uint32_t): a type the core reads and writes in one
 * access, so an interrupt never tears them. An 8-bit core sets it to uint8_t (board.mk), which caps the
 * ring at 128 bytes.
 *
 * tml_ring_f32: the last `frames` multichannel samples, for sliding windows: push one sample at a
 * time, copy the newest n samples out oldest-first (interleaved, like the input).
 */
#ifndef TML_RING_H
#define TML_RING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef TML_RING_INDEX_T
#define TML_RING_INDEX_T uint32_t
#endif
typedef TML_RING_INDEX_T tml_ring_index;

typedef struct {
    uint8_t *buf;
    tml_ring_index mask;
    volatile tml_ring_index head; /* written by the producer */
    volatile tml_ring_index tail; /* written by the consumer */
    volatile tml_ring_index dropped; /* bytes refused (wraps: compare with the previous reading) */
} tml_ring_u8;

/* Returns 0, or -1 when size is not a power of two >= 2 or is more than half the index range. */
int tml_ring_u8_init(tml_ring_u8 *r, uint8_t *storage, uint32_t size);
/* Producer: 1 when stored, 0 when full (the byte is dropped and counted). */
int tml_ring_u8_put(tml_ring_u8 *r, uint8_t byte);
/* Consumer: copies up to cap bytes; returns how many. */
size_t tml_ring_u8_read(tml_ring_u8 *r, uint8_t *out, size_t cap);
uint32_t tml_ring_u8_count(const tml_ring_u8 *r);

typedef struct {
    float *buf;        /* frames * channels floats */
    uint32_t frames;
    uint32_t channels;
    uint32_t head;     /* next frame slot to write */
    uint32_t count;    /* frames held, <= frames */
    uint32_t total;    /* frames ever pushed (wraps at 2^32) */
} tml_ring_f32;

/* Returns 0, or -1 for zero sizes. */
int tml_ring_f32_init(tml_ring_f32 *r, float *storage, uint32_t frames, uint32_t channels);
void tml_ring_f32_reset(tml_ring_f32 *r);
void tml_ring_f32_push(tml_ring_f32 *r, const float *sample);
/* Copies the newest n frames, oldest first, into out[n * channels]; returns 0, or -1 when fewer
 * than n frames are held. */
int tml_ring_f32_window(const tml_ring_f32 *r, float *out, uint32_t n);
/* Channel c of the frame `age` samples back (0 = newest); 0.0f when out of range. */
float tml_ring_f32_at(const tml_ring_f32 *r, uint32_t age, uint32_t c);

#ifdef __cplusplus
}
#endif
#endif
