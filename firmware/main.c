/* The one main(): port init, app init, then a loop that reads device-link frames (or a live
 * sensor) and feeds samples to the app. Boards and apps never define main. See tml_link.h for the
 * protocol and tml_app.h for the app contract. No dynamic allocation: everything here is static. */
#include <string.h>

#include "app_config.h"
#include "tml_app.h"
#include "tml_flash.h"
#include "tml_link.h"
#include "tml_port.h"

#ifndef TML_LINK_WINDOW
#define TML_LINK_WINDOW 4 /* SAMPLES frames the host may have in flight */
#endif
#ifndef TML_LINK_READ_CHUNK
#define TML_LINK_READ_CHUNK 64 /* link bytes taken from the port per main-loop turn */
#endif
/* Outgoing payloads are built on the stack, sized by the board's TML_LINK_MAX_PAYLOAD (2 KB of SRAM on
 * an 8-bit board): texts and score lists longer than a frame are cut. */
#define TML_TEXT_MAX (TML_LINK_MAX_PAYLOAD < 128u ? TML_LINK_MAX_PAYLOAD : 128u)
#define TML_SCORES_MAX (TML_LINK_MAX_PAYLOAD - 5u < 255u ? TML_LINK_MAX_PAYLOAD - 5u : 255u)

#if TML_CFG_N_CHANNELS * 4 + 4 > TML_LINK_MAX_PAYLOAD
#error "one sample does not fit a link frame; raise TML_LINK_MAX_PAYLOAD"
#endif
#if TML_CFG_N_VALUES * 4 + 5 > TML_LINK_MAX_PAYLOAD
#error "a window's [app] values do not fit a VALUES frame; raise TML_LINK_MAX_PAYLOAD or report fewer"
#endif

static tml_link_rx s_rx;
static uint32_t s_samples;  /* samples delivered to the app, including the current one */
static uint32_t s_flushed;  /* s_samples at the last tml_app_flush(): one flush per end of input */
static uint32_t s_faults;   /* link and app faults */
static float s_out_scale = 1.0f / 256.0f;
static int32_t s_out_zp = -128;
static float s_sample[TML_CFG_N_CHANNELS];

uint32_t tml_app_samples(void) { return s_samples; }

/* The default for apps with nothing to finish at the end of the input. */
__attribute__((weak)) void tml_app_flush(void) {}

void tml_report_output_quant(float scale, int32_t zero_point)
{
    s_out_scale = scale;
    s_out_zp = zero_point;
}

void tml_report_scores(uint32_t t, const int8_t *scores, size_t n)
{
    uint8_t p[5 + TML_SCORES_MAX];
    if (n > TML_SCORES_MAX) {
        n = TML_SCORES_MAX;
    }
    tml_put_u32(p, t);
    p[4] = (uint8_t)n;
    memcpy(&p[5], scores, n);
    tml_link_send(TML_LINK_SCORES, p, (uint16_t)(5 + n));
}

static void send_error(uint32_t code, uint8_t type, const TML_ANY char *msg);

void tml_report_values(uint32_t t, const float *values, size_t n)
{
    uint8_t p[5 + 4 * (TML_CFG_N_VALUES > 0 ? TML_CFG_N_VALUES : 1)];
    size_t i;
    if (n != (size_t)TML_CFG_N_VALUES) {
        send_error(TML_LINK_ERR_LENGTH, TML_LINK_VALUES, TML_TEXT("values count differs from [app] values"));
        return;
    }
    tml_put_u32(p, t);
    p[4] = (uint8_t)n;
    for (i = 0; i < n; i++) {
        tml_put_f32(&p[5 + 4 * i], values[i]);
    }
    tml_link_send(TML_LINK_VALUES, p, (uint16_t)(5 + 4 * n));
}

void tml_report_beat(uint32_t t, uint32_t label)
{
    uint8_t p[5];
    tml_put_u32(p, t);
    p[4] = (uint8_t)label;
    tml_link_send(TML_LINK_BEAT, p, sizeof p);
}

void tml_report_event(uint32_t t, uint32_t label, int8_t score)
{
    uint8_t p[6];
    tml_put_u32(p, t);
    p[4] = (uint8_t)label;
    p[5] = (uint8_t)score;
    tml_link_send(TML_LINK_EVENT, p, sizeof p);
}

void tml_report_timing(uint32_t t, uint64_t cost)
{
    uint8_t p[12];
    tml_put_u32(p, t);
    tml_put_u32(&p[4], (uint32_t)cost);
    tml_put_u32(&p[8], (uint32_t)(cost >> 32));
    tml_link_send(TML_LINK_TIMING, p, sizeof p);
}

static void send_error(uint32_t code, uint8_t type, const TML_ANY char *msg)
{
    uint8_t p[TML_TEXT_MAX];
    size_t n = 0;
    s_faults++;
    p[0] = (uint8_t)code;
    p[1] = type;
    p[2] = 0;
    p[3] = 0;
    tml_put_u32(&p[4], s_faults);
    while (msg && msg[n] && 8 + n < sizeof p) {
        p[8 + n] = (uint8_t)msg[n];
        n++;
    }
    tml_link_send(TML_LINK_ERROR, p, (uint16_t)(8 + n));
}

void tml_report_error(uint32_t code, const char *msg) { send_error(code, 0, msg); }

void tml_report_log(const char *msg)
{
    size_t n = 0;
    while (msg[n] && n < TML_TEXT_MAX) {
        n++;
    }
    tml_link_send(TML_LINK_LOG, (const uint8_t *)msg, (uint16_t)n);
}

static size_t put_text(char *p, size_t n, size_t cap, const TML_ANY char *s)
{
    while (*s && n < cap) {
        p[n++] = *s++;
    }
    return n;
}

static size_t put_dec(char *p, size_t n, size_t cap, uint64_t v)
{
    char d[20];
    int k = 0;
    do {
        d[k++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v && k < 20);
    while (k > 0 && n < cap) {
        p[n++] = d[--k];
    }
    return n;
}

void tml_report_stage_cost(const char *stage, uint32_t every, uint32_t count, uint64_t total)
{
    char p[TML_TEXT_MAX];
    size_t n = 0, cap = sizeof p - 1;
    n = put_text(p, n, cap, TML_TEXT("cost "));
    n = put_text(p, n, n + 64 < cap ? n + 64 : cap, stage); /* at most 64 characters of the name */
    n = put_text(p, n, cap, TML_TEXT(" every="));
    n = put_dec(p, n, cap, every);
    n = put_text(p, n, cap, TML_TEXT(" n="));
    n = put_dec(p, n, cap, count);
    n = put_text(p, n, cap, TML_TEXT(" total="));
    n = put_dec(p, n, cap, total);
    p[n] = 0;
    tml_report_log(p);
}

static size_t put_str(uint8_t *p, const TML_ANY char *s, size_t room)
{
    size_t n = 0;
    if (room == 0) {
        return 0;
    }
    while (s[n] && n < 64 && n + 1 < room) {
        p[1 + n] = (uint8_t)s[n];
        n++;
    }
    p[0] = (uint8_t)n;
    return n + 1;
}

static void send_hello(void)
{
    uint8_t p[TML_LINK_MAX_PAYLOAD < 20u + 4u * 65u ? TML_LINK_MAX_PAYLOAD : 20u + 4u * 65u];
    size_t n = 0;
    p[n++] = TML_LINK_VERSION;
    p[n++] = (uint8_t)TML_CFG_N_CHANNELS;
    p[n++] = (uint8_t)TML_CFG_N_LABELS;
    p[n++] = (uint8_t)TML_LINK_WINDOW;
    tml_put_u16(&p[n], (uint16_t)TML_LINK_MAX_PAYLOAD);
    n += 2;
    p[n++] = (uint8_t)(int8_t)s_out_zp;
    p[n++] = (uint8_t)TML_CFG_N_VALUES;
    tml_put_f32(&p[n], s_out_scale);
    n += 4;
    tml_put_f32(&p[n], (float)TML_CFG_SIGNAL_RATE);
    n += 4;
    p[n++] = (uint8_t)TML_CFG_N_BEAT_LABELS;
    n += put_str(&p[n], TML_TEXT(TML_CFG_APP_ID), sizeof p - n);
    n += put_str(&p[n], TML_TEXT(TML_CFG_FEATURE_HASH), sizeof p - n);
    n += put_str(&p[n], tml_port_board_name(), sizeof p - n);
    n += put_str(&p[n], tml_port_cost_unit(), sizeof p - n);
    tml_link_send(TML_LINK_HELLO, p, (uint16_t)n);
}

static void send_done(void)
{
    uint8_t p[16];
    tml_put_u32(p, s_samples);
    tml_put_u32(&p[4], s_rx.frames);
    tml_put_u32(&p[8], s_faults);
    tml_put_u32(&p[12], tml_port_stack_used());
    tml_link_send(TML_LINK_DONE, p, sizeof p);
}

/* The end of the input (END, QUIT, the host closing the link): the app finishes what is pending. */
static void end_of_input(void)
{
    if (s_samples != s_flushed) {
        s_flushed = s_samples;
        tml_app_flush();
    }
}

static void feed(const float *sample)
{
    s_samples++;
    tml_app_on_sample(sample);
}

static void on_samples(const uint8_t *p, uint16_t len)
{
    const uint32_t bytes_per_sample = 4u * TML_CFG_N_CHANNELS;
    if (len < 4u + bytes_per_sample || (len - 4u) % bytes_per_sample != 0u) {
        send_error(TML_LINK_ERR_LENGTH, TML_LINK_SAMPLES, TML_TEXT("samples payload is not seq + whole samples"));
        return;
    }
    uint32_t seq = tml_get_u32(p);
    if (seq != s_samples) {
        send_error(TML_LINK_ERR_SEQ, TML_LINK_SAMPLES, TML_TEXT("samples out of sequence; frame dropped"));
    } else {
        uint32_t k = (len - 4u) / bytes_per_sample;
        const uint8_t *q = p + 4;
        for (uint32_t i = 0; i < k; i++) {
            for (uint32_t c = 0; c < TML_CFG_N_CHANNELS; c++) {
                s_sample[c] = tml_get_f32(q);
                q += 4;
            }
            feed(s_sample);
        }
    }
    uint8_t ack[4];
    tml_put_u32(ack, s_samples);
    tml_link_send(TML_LINK_ACK, ack, sizeof ack);
}

static void expect_empty(uint16_t len, uint8_t type)
{
    if (len != 0) {
        send_error(TML_LINK_ERR_LENGTH, type, TML_TEXT("control frame must be empty"));
    }
}

/* Returns 1 when the firmware should leave. */
static int on_frame(uint8_t type, const uint8_t *p, uint16_t len)
{
    switch (type) {
    case TML_LINK_SAMPLES:
        on_samples(p, len);
        return 0;
    case TML_LINK_RESET:
        expect_empty(len, type);
        s_samples = 0;
        s_flushed = 0;
        tml_app_init();
        return 0;
    case TML_LINK_END:
        expect_empty(len, type);
        end_of_input();
        send_done();
        return 0;
    case TML_LINK_QUIT:
        expect_empty(len, type);
        end_of_input();
        send_done();
        return 1;
    case TML_LINK_HELLO_REQ:
        expect_empty(len, type);
        send_hello();
        return 0;
    default:
        send_error(TML_LINK_ERR_TYPE, type, TML_TEXT("unknown frame type"));
        return 0;
    }
}

int main(void)
{
    static uint8_t buf[TML_LINK_READ_CHUNK];
    uint32_t dropped = 0;
    tml_port_init();
    tml_link_rx_init(&s_rx);
    tml_app_init();
    send_hello();
    for (;;) {
        int n = tml_port_link_read(buf, sizeof buf);
        if (n < 0) { /* the host closed the link (end of a pipe) */
            end_of_input();
            send_done();
            return 0;
        }
        if (tml_port_link_dropped() != dropped) {
            dropped = tml_port_link_dropped();
            send_error(TML_LINK_ERR_OVERRUN, 0, TML_TEXT("link bytes lost (receive overrun)"));
        }
        for (int i = 0; i < n; i++) {
            int r = tml_link_rx_feed(&s_rx, buf[i]);
            if (r == TML_LINK_FRAME) {
                if (on_frame(s_rx.type, s_rx.payload, s_rx.len)) {
                    return 0;
                }
            } else if (r < 0) {
                int code = -r;
                send_error((uint32_t)code, s_rx.type, code == TML_LINK_ERR_CRC      ? TML_TEXT("payload crc mismatch")
                                                      : code == TML_LINK_ERR_HEADER   ? TML_TEXT("header crc mismatch")
                                                      : code == TML_LINK_ERR_OVERSIZE ? TML_TEXT("payload too large")
                                                                                      : TML_TEXT("bad frame"));
            }
        }
        if (n == 0) {
            if (tml_port_sensor_read(s_sample, TML_CFG_N_CHANNELS)) {
                feed(s_sample);
            } else {
                tml_port_idle();
            }
        }
    }
}
