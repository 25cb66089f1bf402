/* Model runner firmware for benchmarks and on-target parity: runs the generated model on every input of
 * vectors.h, and prints per inference the instruction count and the output bytes in hex, then per-layer
 * instruction counts of the last inference. Built by tinyml.compile.cortexm for a board (qemu-m4). */
#include <stdio.h>
#include <string.h>

#include "tml_port.h"

static volatile uint64_t g_layer_t0;
static uint32_t g_layer_cost[256];
static int g_layer_ops[256];
static int g_layer_n;

#define TML_LAYER_HOOK(op_index)                                                 \
    do {                                                                         \
        uint64_t now_ = tml_port_instructions();                                 \
        if (g_layer_n < 256) {                                                   \
            g_layer_ops[g_layer_n] = (op_index);                                 \
            g_layer_cost[g_layer_n++] = (uint32_t)(now_ - g_layer_t0);           \
        }                                                                        \
        g_layer_t0 = tml_port_instructions();                                    \
    } while (0)

/* The model is compiled into this file so the hook above sees it (costs ~2 counter reads per layer). */
#include "model.c"
#include "vectors.h"

int main(void) {
    tml_port_init();
    printf("runner arena=%d input=%d output=%d vectors=%d unit=%s\n", TML_MODEL_ARENA_SIZE, TML_MODEL_INPUT_SIZE,
           TML_MODEL_OUTPUT_SIZE, TML_RUNNER_VECTORS, tml_port_cost_unit());
    uint64_t c0 = tml_port_instructions();
    uint64_t c1 = tml_port_instructions();
    printf("overhead %lu\n", (unsigned long)(c1 - c0));
    for (int v = 0; v < TML_RUNNER_VECTORS; v++) {
        memcpy(tml_model_input(), tml_runner_vectors[v], TML_MODEL_INPUT_SIZE);
        g_layer_n = 0;
        uint64_t t0 = tml_port_instructions();
        g_layer_t0 = t0;
        int rc = tml_model_invoke();
        uint64_t t1 = tml_port_instructions();
        const uint8_t *o = (const uint8_t *)tml_model_output();
        printf("out %d %d %lu ", v, rc, (unsigned long)(t1 - t0));
        for (int i = 0; i < TML_MODEL_OUTPUT_SIZE; i++) printf("%02x", o[i]);
        printf("\n");
    }
    for (int i = 0; i < g_layer_n; i++) printf("layer %d %lu\n", g_layer_ops[i], (unsigned long)g_layer_cost[i]);
    printf("done\n");
    fflush(stdout);
    tml_port_exit(0);
}
