#include "tml_ring.h"

#include <string.h>

int tml_ring_u8_init(tml_ring_u8 *r, uint8_t *storage, uint32_t size)
{
    /* Free-running indices tell full from empty only while size <= half their range. */
    const uint32_t max_size = (uint32_t)(tml_ring_index)(~(tml_ring_index)0) / 2u + 1u;
    if (size < 2u || (size & (size - 1u)) != 0u || size > max_size) {
        return -1;
    }
    r->buf = storage;
    r->mask = (tml_ring_index)(size - 1u);
    r->head = 0;
    r->tail = 0;
    r->dropped = 0;
    return 0;
}

int tml_ring_u8_put(tml_ring_u8 *r, uint8_t byte)
{
    tml_ring_index head = r->head;
    if ((tml_ring_index)(head - r->tail) > r->mask) {
        r->dropped = (tml_ring_index)(r->dropped + 1u);
        return 0;
    }
    r->buf[head & r->mask] = byte;
    r->head = (tml_ring_index)(head + 1u);
    return 1;
}

size_t tml_ring_u8_read(tml_ring_u8 *r, uint8_t *out, size_t cap)
{
    tml_ring_index tail = r->tail;
    size_t avail = (tml_ring_index)(r->head - tail);
    size_t n = avail < cap ? avail : cap;
    for (size_t i = 0; i < n; i++) {
        out[i] = r->buf[(tml_ring_index)(tail + i) & r->mask];
    }
    r->tail = (tml_ring_index)(tail + n);
    return n;
}

uint32_t tml_ring_u8_count(const tml_ring_u8 *r) { return (tml_ring_index)(r->head - r->tail); }

int tml_ring_f32_init(tml_ring_f32 *r, float *storage, uint32_t frames, uint32_t channels)
{
    if (!frames || !channels) {
        return -1;
    }
    r->buf = storage;
    r->frames = frames;
    r->channels = channels;
    tml_ring_f32_reset(r);
    return 0;
}

void tml_ring_f32_reset(tml_ring_f32 *r)
{
    r->head = 0;
    r->count = 0;
    r->total = 0;
}

void tml_ring_f32_push(tml_ring_f32 *r, const float *sample)
{
    memcpy(&r->buf[(size_t)r->head * r->channels], sample, sizeof(float) * r->channels);
    r->head = r->head + 1u == r->frames ? 0u : r->head + 1u;
    if (r->count < r->frames) {
        r->count++;
    }
    r->total++;
}

int tml_ring_f32_window(const tml_ring_f32 *r, float *out, uint32_t n)
{
    if (n > r->count) {
        return -1;
    }
    uint32_t start = (r->head + r->frames - n) % r->frames;
    uint32_t first = r->frames - start < n ? r->frames - start : n;
    memcpy(out, &r->buf[(size_t)start * r->channels], sizeof(float) * first * r->channels);
    if (first < n) {
        memcpy(&out[(size_t)first * r->channels], r->buf, sizeof(float) * (n - first) * r->channels);
    }
    return 0;
}

float tml_ring_f32_at(const tml_ring_f32 *r, uint32_t age, uint32_t c)
{
    if (age >= r->count || c >= r->channels) {
        return 0.0f;
    }
    uint32_t idx = (r->head + r->frames - 1u - age) % r->frames;
    return r->buf[(size_t)idx * r->channels + c];
}
