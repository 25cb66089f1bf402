/* Model runner firmware for benchmarks and on-target parity: runs the generated model on every input of
 * vectors.h, and prints per inference the cost (tml_port_instructions units) and the output bytes in hex,
 * then per-layer costs of the last inference. Built by tinyml.compile.cortexm for a board (qemu-m4, or the
 * 8-bit avr-uno under simavr). Text goes out with tml_port_link_write (the board's UART), formatted here:
 * no printf, so it fits a 32 KB AVR and a 16-bit int. */
#include <stdint.h>

#include "tml_flash.h"
#include "tml_port.h"

#ifndef TML_RUNNER_MAX_LAYERS
#define TML_RUNNER_MAX_LAYERS 256 /* per-layer costs kept for the last inference */
#endif

static volatile uint64_t g_layer_t0;
static uint32_t g_layer_cost[TML_RUNNER_MAX_LAYERS];
static int16_t g_layer_ops[TML_RUNNER_MAX_LAYERS];
static int g_layer_n;

#define TML_LAYER_HOOK(op_index)                                                 \
    do {                                                                         \
        uint64_t now_ = tml_port_instructions();                                 \
        if (g_layer_n < TML_RUNNER_MAX_LAYERS) {                                 \
            g_layer_ops[g_layer_n] = (int16_t)(op_index);                        \
            g_layer_cost[g_layer_n++] = (uint32_t)(now_ - g_layer_t0);           \
        }                                                                        \
        g_layer_t0 = tml_port_instructions();                                    \
    } while (0)

/* The model is compiled into this file so the hook above sees it (costs ~2 counter reads per layer). */
#include "model.c"
#include "vectors.h"

static void put(const char *s)
{
    const char *e = s;
    while (*e) {
        e++;
    }
    tml_port_link_write((const uint8_t *)s, (size_t)(e - s));
}

static void put_u(uint32_t v)
{
    char d[11];
    int k = 10;
    d[k] = 0;
    do {
        d[--k] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v);
    put(&d[k]);
}

static void put_i(int32_t v)
{
    if (v < 0) {
        put("-");
        put_u((uint32_t)(-(v + 1)) + 1u);
    } else {
        put_u((uint32_t)v);
    }
}

int main(void)
{
    static const char hex[] = "0123456789abcdef";
    tml_port_init();
    put("runner arena=");
    put_u(TML_MODEL_ARENA_SIZE);
    put(" input=");
    put_u(TML_MODEL_INPUT_SIZE);
    put(" output=");
    put_u(TML_MODEL_OUTPUT_SIZE);
    put(" vectors=");
    put_u(TML_RUNNER_VECTORS);
    put(" unit=");
    put(tml_port_cost_unit());
    put("\n");
    uint64_t c0 = tml_port_instructions();
    uint64_t c1 = tml_port_instructions();
    put("overhead ");
    put_u((uint32_t)(c1 - c0));
    put("\n");
    for (int v = 0; v < TML_RUNNER_VECTORS; v++) {
        int8_t *in = tml_model_input();
        for (int i = 0; i < TML_MODEL_INPUT_SIZE; i++) {
            in[i] = tml_runner_vectors[v][i]; /* a loop: the vectors may sit in flash (TML_FLASH) */
        }
        g_layer_n = 0;
        uint64_t t0 = tml_port_instructions();
        g_layer_t0 = t0;
        int rc = tml_model_invoke();
        uint64_t t1 = tml_port_instructions();
        const uint8_t *o = (const uint8_t *)tml_model_output();
        put("out ");
        put_i(v);
        put(" ");
        put_i(rc);
        put(" ");
        put_u((uint32_t)(t1 - t0));
        put(" ");
        for (int i = 0; i < TML_MODEL_OUTPUT_SIZE; i++) {
            char b[3] = {hex[o[i] >> 4], hex[o[i] & 15u], 0};
            put(b);
        }
        put("\n");
    }
    for (int i = 0; i < g_layer_n; i++) {
        put("layer ");
        put_i(g_layer_ops[i]);
        put(" ");
        put_u(g_layer_cost[i]);
        put("\n");
    }
    put("done\n");
    tml_port_exit(0);
}
