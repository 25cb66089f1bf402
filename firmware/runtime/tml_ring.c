#include "tml_ring.h"

#include <string.h>

int tml_ring_u8_init(tml_ring_u8 *r, uint8_t *storage, uint32_t size)
{
    if (size < 2u || (size & (size - 1u)) != 0u) {
        return -1;
    }
    r->buf = storage;
    r->mask = size - 1u;
    r->head = 0;
    r->tail = 0;
    r->dropped = 0;
    return 0;
}

int tml_ring_u8_put(tml_ring_u8 *r, uint8_t byte)
{
    uint32_t head = r->head;
    if (head - r->tail > r->mask) {
        r->dropped++;
        return 0;
    }
    r->buf[head & r->mask] = byte;
    r->head = head + 1u;
    return 1;
}

size_t tml_ring_u8_read(tml_ring_u8 *r, uint8_t *out, size_t cap)
{
    uint32_t tail = r->tail;
    uint32_t avail = r->head - tail;
    size_t n = avail < cap ? avail : cap;
    for (size_t i = 0; i < n; i++) {
        out[i] = r->buf[(tail + (uint32_t)i) & r->mask];
    }
    r->tail = tail + (uint32_t)n;
    return n;
}

uint32_t tml_ring_u8_count(const tml_ring_u8 *r) { return r->head - r->tail; }

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
