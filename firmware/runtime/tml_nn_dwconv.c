/* DEPTHWISE_CONV_2D (depth multiplier 1) on packed weights (layout in tml_nn.h, written by
 * tinyml.compile.packing), with the proven fast requantization.
 *
 * Input rows are copied, sign-extended to int16, into a ring of as many rows as the filter spans, with
 * padding columns and rows at the input zero point: every output pixel then reads a full window (no border
 * cases; a padded tap adds w * zp, which kbias cancels), and an output row may overwrite input rows that
 * are already in the ring (in place). Ring layout: [row][channel group][column][4 channels c0 c2 c1 c3]. */
#include <string.h>

#include "tml_nn.h"
#include "tml_nn_packed.h"

typedef struct {
    int groups, ring_w, span, taps;
    int32_t row_len; /* int16 values per ring row */
} tml_dw_geom;

static inline int tml_ring_slot(int iy, int span) {
    const int s = iy % span;
    return s < 0 ? s + span : s;
}

/* Ring row for input row iy (outside the input: the zero point). Padding columns were set at the start. */
static void tml_dw_fill_row(const tml_conv_params *p, const tml_dw_geom *g, const int8_t *in, int iy, int16_t *row) {
    const int C = p->in_c, padl = p->pad_w;
    const int c_lo = padl > 0 ? padl : 0;
    const int c_hi = padl + p->in_w < g->ring_w ? padl + p->in_w : g->ring_w;
    if (iy < 0 || iy >= p->in_h) {
        const int16_t zp = (int16_t)(-p->in_offset);
        for (int gr = 0; gr < g->groups; gr++) {
            int16_t *d = row + ((int32_t)gr * g->ring_w + c_lo) * 4;
            for (int col = c_lo; col < c_hi; col++, d += 4) d[0] = d[1] = d[2] = d[3] = zp;
        }
        return;
    }
#if TML_NN_DSP
    const int full = C >> 2;
    const int32_t gwords = (int32_t)g->ring_w * 2; /* words between channel groups */
#endif
    for (int col = c_lo; col < c_hi; col++) {
        const int8_t *src = in + ((int32_t)iy * p->in_w + (col - padl)) * C;
#if TML_NN_DSP
        int32_t *d = (int32_t *)(void *)(row + (int32_t)col * 4);
        if (full > 0) { /* 6 instructions per 4 channels */
            const int8_t *const send = src + 4 * full;
            int32_t v, e, o;
            __asm volatile("1:\n\t"
                           "ldr %[v], [%[src]], #4\n\t"
                           "sxtb16 %[e], %[v]\n\t"
                           "sxtb16 %[o], %[v], ror #8\n\t"
                           "strd %[e], %[o], [%[d]]\n\t"
                           "add %[d], %[d], %[gb]\n\t"
                           "cmp %[src], %[send]\n\t"
                           "bne 1b\n\t"
                           : [src] "+r"(src), [d] "+r"(d), [v] "=&r"(v), [e] "=&r"(e), [o] "=&r"(o)
                           : [send] "r"(send), [gb] "r"(gwords * 4)
                           : "cc", "memory");
        }
        if (C & 3) {
            uint32_t u = 0;
            for (int b = 0; b < (C & 3); b++) u |= (uint32_t)(uint8_t)src[b] << (8 * b);
            d[0] = tml_sxtb16((int32_t)u);
            d[1] = tml_sxtb16_odd((int32_t)u);
        }
#else
        int16_t *d = row + (int32_t)col * 4;
        for (int gr = 0; gr < g->groups; gr++, src += 4, d += (int32_t)g->ring_w * 4) {
            const int n = C - 4 * gr < 4 ? C - 4 * gr : 4;
            d[0] = src[0];
            d[1] = n > 2 ? src[2] : 0;
            d[2] = n > 1 ? src[1] : 0;
            d[3] = n > 3 ? src[3] : 0;
        }
#endif
    }
}

#if TML_NN_DSP
static inline int32_t tml_ld32h(const int16_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* One tap: the ring's 4 channels at [x + xo] times the weights at [w + wo] (int16 pairs c0 c2 | c1 c3). */
#define TML_DW_TAP(x, xo, wo)                                         \
    "ldrd %[e], %[o], [%[" x "], #" xo "]\n\t"                        \
    "ldrd %[we], %[wo], [%[pw], #" wo "]\n\t"                         \
    "smlabb %[ac0], %[e], %[we], %[ac0]\n\t"                            \
    "smlatt %[ac1], %[e], %[we], %[ac1]\n\t"                            \
    "smlabb %[ac2], %[o], %[wo], %[ac2]\n\t"                            \
    "smlatt %[ac3], %[o], %[wo], %[ac3]\n\t"

/* Requantize a doubled accumulator with the record at [rq + 16 c] and store it at out[c]. */
#define TML_DW_RQ(acc, c)                                             \
    "ldrd %[e], %[o], [%[rq], #" #c "*16+4]\n\t"                      \
    "ldr %[we], [%[rq], #" #c "*16+12]\n\t"                           \
    "smmulr %[wo], %[" acc "], %[e]\n\t"                              \
    "sub %[wo], %[wo], %[" acc "], lsr #31\n\t"                       \
    "add %[wo], %[wo], %[o]\n\t"                                      \
    "asr %[wo], %[wo], %[we]\n\t"                                     \
    "ssat %[wo], #8, %[wo]\n\t"                                       \
    "strb %[wo], [%[out], #" #c "]\n\t"

/* One output pixel (3x3, dilation 1) over every full channel group, requantized (full int8 range):
 * 98 instructions per group of 36 MACs. x0..x2: ring rows at the window's first column, first group. */
static void tml_dw3x3_single(const int16_t *x0, const int16_t *x1, const int16_t *x2, const int16_t *w,
                             const tml_rq *rq, int8_t *out, int32_t gstep, const tml_rq *rq_end) {
    int32_t ac0, ac1, ac2, ac3, e, o, we, wo;
    __asm volatile("1:\n\t"
                   "ldr %[ac0], [%[rq]]\n\t"
                   "ldr %[ac1], [%[rq], #32]\n\t"
                   "ldr %[ac2], [%[rq], #16]\n\t"
                   "ldr %[ac3], [%[rq], #48]\n\t"
                   TML_DW_TAP("x0", "8", "8") TML_DW_TAP("x0", "16", "16")
                   TML_DW_TAP("x1", "0", "24") TML_DW_TAP("x1", "8", "32") TML_DW_TAP("x1", "16", "40")
                   TML_DW_TAP("x2", "0", "48") TML_DW_TAP("x2", "8", "56") TML_DW_TAP("x2", "16", "64")
                   "ldrd %[e], %[o], [%[x0]]\n\t"
                   "ldrd %[we], %[wo], [%[pw]], #72\n\t"
                   "smlabb %[ac0], %[e], %[we], %[ac0]\n\t"
                   "smlatt %[ac1], %[e], %[we], %[ac1]\n\t"
                   "smlabb %[ac2], %[o], %[wo], %[ac2]\n\t"
                   "smlatt %[ac3], %[o], %[wo], %[ac3]\n\t"
                   TML_DW_RQ("ac2", 1) TML_DW_RQ("ac1", 2) TML_DW_RQ("ac3", 3)
                   "ldrd %[e], %[o], [%[rq], #4]\n\t"
                   "ldr %[we], [%[rq], #12]\n\t"
                   "smmulr %[wo], %[ac0], %[e]\n\t"
                   "sub %[wo], %[wo], %[ac0], lsr #31\n\t"
                   "add %[wo], %[wo], %[o]\n\t"
                   "asr %[wo], %[wo], %[we]\n\t"
                   "ssat %[wo], #8, %[wo]\n\t"
                   "strb %[wo], [%[out]], #4\n\t"
                   "ldr %[e], %[gstep]\n\t"
                   "add %[x0], %[e]\n\t"
                   "add %[x1], %[e]\n\t"
                   "add %[x2], %[e]\n\t"
                   "adds %[rq], #64\n\t"
                   "ldr %[e], %[end]\n\t"
                   "cmp %[rq], %[e]\n\t"
                   "bne 1b\n\t"
                   : [ac0] "=&r"(ac0), [ac1] "=&r"(ac1), [ac2] "=&r"(ac2), [ac3] "=&r"(ac3), [e] "=&r"(e), [o] "=&r"(o),
                     [we] "=&r"(we), [wo] "=&r"(wo), [x0] "+r"(x0), [x1] "+r"(x1), [x2] "+r"(x2), [pw] "+r"(w),
                     [rq] "+r"(rq), [out] "+r"(out)
                   : [gstep] "m"(gstep), [end] "m"(rq_end)
                   : "cc", "memory");
}

/* What tml_dw3x3_pair keeps in memory (every register is busy): advanced group by group. */
typedef struct {
    const int16_t *x0;    /* first ring row at the pair's first column, current group */
    int32_t d1, d2;       /* bytes from ring row 0 to row 1, from row 1 to row 2 */
    int32_t adv;          /* bytes from row 2 of this group to row 0 of the next */
    const int16_t *w;     /* the group's weights */
    const tml_rq *rq;     /* the group's records */
    int8_t *out;          /* first pixel's output, current group */
    int32_t ostep;        /* bytes between the two pixels' outputs */
    const tml_rq *rq_end; /* after the last full group */
} tml_dw_pair_state;

/* Taps of one ring row for two neighbouring output pixels (stride 1): 4 columns, 3 weights. */
#define TML_DW_PAIR_MAC(acc0, acc1, acc2, acc3, we, wo)               \
    "smlabb %[" acc0 "], %[e], %[" we "], %[" acc0 "]\n\t"             \
    "smlatt %[" acc1 "], %[e], %[" we "], %[" acc1 "]\n\t"             \
    "smlabb %[" acc2 "], %[o], %[" wo "], %[" acc2 "]\n\t"             \
    "smlatt %[" acc3 "], %[o], %[" wo "], %[" acc3 "]\n\t"
#define TML_DW_PAIR_ROW(w0, w1, w2)                                   \
    "ldrd %[e], %[o], [%[xr]]\n\t"                                     \
    "ldrd %[we], %[wo], [%[pw], #" w0 "]\n\t"                          \
    TML_DW_PAIR_MAC("ac0", "ac1", "ac2", "ac3", "we", "wo")                \
    "ldrd %[e], %[o], [%[xr], #8]\n\t"                                 \
    TML_DW_PAIR_MAC("bc0", "bc1", "bc2", "bc3", "we", "wo")                \
    "ldrd %[we], %[wo], [%[pw], #" w1 "]\n\t"                          \
    TML_DW_PAIR_MAC("ac0", "ac1", "ac2", "ac3", "we", "wo")                \
    "ldrd %[e], %[o], [%[xr], #16]\n\t"                                \
    TML_DW_PAIR_MAC("bc0", "bc1", "bc2", "bc3", "we", "wo")                \
    "ldrd %[we], %[wo], [%[pw], #" w2 "]\n\t"                          \
    TML_DW_PAIR_MAC("ac0", "ac1", "ac2", "ac3", "we", "wo")                \
    "ldrd %[e], %[o], [%[xr], #24]\n\t"                                \
    TML_DW_PAIR_MAC("bc0", "bc1", "bc2", "bc3", "we", "wo")
/* One channel of both pixels: record at [xr + 16 c] (m, rnd, shift into e, o, we), outputs at [pw] and
 * [pw + ostep] (ostep in ac0, free once channel 0 is done). */
#define TML_DW_PAIR_RQ1(acc, dst)                                     \
    "smmulr %[wo], %[" acc "], %[e]\n\t"                               \
    "sub %[wo], %[wo], %[" acc "], lsr #31\n\t"                        \
    "add %[wo], %[wo], %[o]\n\t"                                       \
    "asr %[wo], %[wo], %[we]\n\t"                                      \
    "ssat %[wo], #8, %[wo]\n\t"                                        \
    "strb %[wo], " dst "\n\t"
#define TML_DW_PAIR_RQ(c, acc0, acc1)                                 \
    "ldrd %[e], %[o], [%[xr], #" #c "*16+4]\n\t"                       \
    "ldr %[we], [%[xr], #" #c "*16+12]\n\t"                            \
    TML_DW_PAIR_RQ1(acc0, "[%[pw]]") TML_DW_PAIR_RQ1(acc1, "[%[pw], %[ac0]]") "adds %[pw], #1\n\t"

/* Two neighbouring output pixels (stride 1, 3x3, dilation 1) of every full channel group, full int8 range:
 * per group 186 instructions for 72 MACs. */
static void tml_dw3x3_pair(tml_dw_pair_state *st) {
    int32_t ac0, ac1, ac2, ac3, bc0, bc1, bc2, bc3, e, o, we, wo;
    const int16_t *xr, *pw;
    __asm volatile("1:\n\t"
                   "ldr %[xr], %[rq]\n\t"
                   "ldr %[ac0], [%[xr]]\n\t"
                   "ldr %[ac1], [%[xr], #32]\n\t"
                   "ldr %[ac2], [%[xr], #16]\n\t"
                   "ldr %[ac3], [%[xr], #48]\n\t"
                   "mov %[bc0], %[ac0]\n\t"
                   "mov %[bc1], %[ac1]\n\t"
                   "mov %[bc2], %[ac2]\n\t"
                   "mov %[bc3], %[ac3]\n\t"
                   "ldr %[pw], %[w]\n\t"
                   "ldr %[xr], %[x0]\n\t"
                   TML_DW_PAIR_ROW("0", "8", "16")
                   "ldr %[e], %[d1]\n\t"
                   "add %[xr], %[e]\n\t"
                   TML_DW_PAIR_ROW("24", "32", "40")
                   "ldr %[e], %[d2]\n\t"
                   "add %[xr], %[e]\n\t"
                   TML_DW_PAIR_ROW("48", "56", "64")
                   "ldr %[e], %[adv]\n\t"
                   "add %[xr], %[e]\n\t"
                   "str %[xr], %[x0]\n\t"
                   "adds %[pw], #72\n\t"
                   "str %[pw], %[w]\n\t"
                   "ldr %[xr], %[rq]\n\t"
                   "ldr %[pw], %[out]\n\t"
                   "ldrd %[e], %[o], [%[xr], #4]\n\t"
                   "ldr %[we], [%[xr], #12]\n\t"
                   TML_DW_PAIR_RQ1("ac0", "[%[pw]]")
                   "ldr %[ac0], %[ostep]\n\t"
                   TML_DW_PAIR_RQ1("bc0", "[%[pw], %[ac0]]") "adds %[pw], #1\n\t"
                   TML_DW_PAIR_RQ(1, "ac2", "bc2") TML_DW_PAIR_RQ(2, "ac1", "bc1") TML_DW_PAIR_RQ(3, "ac3", "bc3")
                   "str %[pw], %[out]\n\t"
                   "adds %[xr], #64\n\t"
                   "str %[xr], %[rq]\n\t"
                   "ldr %[e], %[rq_end]\n\t"
                   "cmp %[xr], %[e]\n\t"
                   "bne 1b\n\t"
                   : [ac0] "=&r"(ac0), [ac1] "=&r"(ac1), [ac2] "=&r"(ac2), [ac3] "=&r"(ac3), [bc0] "=&r"(bc0), [bc1] "=&r"(bc1),
                     [bc2] "=&r"(bc2), [bc3] "=&r"(bc3), [e] "=&r"(e), [o] "=&r"(o), [we] "=&r"(we), [wo] "=&r"(wo),
                     [xr] "=&r"(xr), [pw] "=&r"(pw), [x0] "+m"(st->x0), [w] "+m"(st->w), [rq] "+m"(st->rq),
                     [out] "+m"(st->out)
                   : [d1] "m"(st->d1), [d2] "m"(st->d2), [adv] "m"(st->adv), [ostep] "m"(st->ostep),
                     [rq_end] "m"(st->rq_end)
                   : "cc", "memory");
}
#endif

/* One output value per channel of a group (channels 4gr.., accumulators in c0 c2 c1 c3 order). */
static inline void tml_dw_store4(int8_t *o, int C, const TML_FLASH tml_rq *r, int32_t ac0, int32_t ac1, int32_t ac2,
                                 int32_t ac3, int full, int32_t lo, int32_t hi) {
    o[0] = tml_rq_clamp(tml_rq_value(ac0, r[0].mult, r[0].rnd, r[0].shift), full, lo, hi);
    if (C > 1) o[1] = tml_rq_clamp(tml_rq_value(ac2, r[1].mult, r[1].rnd, r[1].shift), full, lo, hi);
    if (C > 2) o[2] = tml_rq_clamp(tml_rq_value(ac1, r[2].mult, r[2].rnd, r[2].shift), full, lo, hi);
    if (C > 3) o[3] = tml_rq_clamp(tml_rq_value(ac3, r[3].mult, r[3].rnd, r[3].shift), full, lo, hi);
}

/* One group of channels (nc of them, up to 4) at one output pixel, any filter: `at` is the window's first
 * column in each ring row, rows[] the ring rows of its taps. */
static TML_ALWAYS_INLINE void tml_dw_group(const tml_conv_params *p, const int16_t *const *rows, int32_t at,
                                           const TML_FLASH int16_t *wt, const TML_FLASH tml_rq *r, int8_t *o, int nc,
                                           int full, int32_t lo, int32_t hi) {
    const int xstep = p->dil_w * 4; /* int16 values between taps of a row */
    int32_t ac0 = r[0].kbias, ac1 = r[2].kbias, ac2 = r[1].kbias, ac3 = r[3].kbias;
    for (int ky = 0; ky < p->k_h; ky++) {
        const int16_t *xp = rows[ky] + at;
        for (int kx = 0; kx < p->k_w; kx++, xp += xstep, wt += 4) {
#if TML_NN_DSP
            const int32_t e = tml_ld32h(xp), od = tml_ld32h(xp + 2);
            const int32_t we = tml_ld32h(wt), wo = tml_ld32h(wt + 2);
            ac0 = __smlabb(e, we, ac0);
            ac1 = __smlatt(e, we, ac1);
            ac2 = __smlabb(od, wo, ac2);
            ac3 = __smlatt(od, wo, ac3);
#else
            ac0 += (int32_t)xp[0] * wt[0];
            ac1 += (int32_t)xp[1] * wt[1];
            ac2 += (int32_t)xp[2] * wt[2];
            ac3 += (int32_t)xp[3] * wt[3];
#endif
        }
    }
    tml_dw_store4(o, nc, r, ac0, ac1, ac2, ac3, full, lo, hi);
}

#define TML_DW_MAX_KH 16 /* the compiler uses the packed kernel up to this filter height */

static TML_ALWAYS_INLINE void tml_dw_packed(const tml_conv_params *p, const TML_FLASH tml_rq *rq, const int8_t *in,
                                            const TML_FLASH int16_t *w, int16_t *ring, int8_t *out, int full) {
    tml_dw_geom g;
    const int C = p->in_c, kh = p->k_h, kw = p->k_w, out_w = p->out_w;
    g.groups = (C + 3) >> 2;
    g.span = (kh - 1) * p->dil_h + 1;
    g.ring_w = (out_w - 1) * p->stride_w + (kw - 1) * p->dil_w + 1;
    g.taps = kh * kw;
    g.row_len = (int32_t)g.groups * g.ring_w * 4;
    const int32_t lo = p->act_min, hi = p->act_max;
    const uint16_t zp = (uint16_t)(int16_t)(-p->in_offset);
    {
        /* the padding columns at the zero point, for good (rows outside the input: tml_dw_fill_row) */
        const uint32_t zz = (uint32_t)zp | ((uint32_t)zp << 16);
        const int c_lo = p->pad_w, c_hi = p->pad_w + p->in_w;
        for (int32_t r = 0; r < (int32_t)g.span * g.groups; r++) {
            uint32_t *r32 = (uint32_t *)(void *)(ring + r * g.ring_w * 4);
            for (int col = 0; col < g.ring_w; col++)
                if (col < c_lo || col >= c_hi) r32[2 * col] = r32[2 * col + 1] = zz;
        }
    }
    const int32_t gstep = (int32_t)g.ring_w * 4;    /* int16 values between channel groups of a ring row */
    const int32_t ostep = (int32_t)p->stride_w * 4; /* between output pixels */
    const int wstep = g.taps * 4;                   /* weights per group */
#if TML_NN_DSP
    const int full_groups = C >> 2;
    const int fast3 = full && kh == 3 && kw == 3 && p->dil_w == 1;
    const int pair3 = fast3 && p->stride_w == 1 && full_groups > 0;
#endif
    const int16_t *rows[TML_DW_MAX_KH];
    int next = -p->pad_h;
    for (int oy = 0; oy < p->out_h; oy++) {
        const int iy0 = oy * p->stride_h - p->pad_h;
        for (int iy = next > iy0 ? next : iy0; iy < iy0 + g.span; iy++)
            tml_dw_fill_row(p, &g, in, iy, ring + tml_ring_slot(iy, g.span) * g.row_len);
        if (iy0 + g.span > next) next = iy0 + g.span;
        for (int ky = 0; ky < kh; ky++) rows[ky] = ring + tml_ring_slot(iy0 + ky * p->dil_h, g.span) * g.row_len;
        int8_t *o = out + (int32_t)oy * out_w * C;
        for (int ox = 0; ox < out_w; ox++, o += C) {
            const int32_t col0 = (int32_t)ox * ostep;
            int gr = 0;
#if TML_NN_DSP
            if (pair3 && ox + 1 < out_w) { /* two pixels at once over the full groups; a partial one below */
                tml_dw_pair_state st;
                st.x0 = rows[0] + col0;
                st.d1 = (int32_t)((rows[1] - rows[0]) * 2);
                st.d2 = (int32_t)((rows[2] - rows[1]) * 2);
                st.adv = (int32_t)((gstep - (rows[2] - rows[0])) * 2);
                st.w = w;
                st.rq = rq;
                st.out = o;
                st.ostep = C;
                st.rq_end = rq + 4 * full_groups;
                tml_dw3x3_pair(&st);
                for (int k = 0; k < 2 && (C & 3); k++)
                    tml_dw_group(p, rows, col0 + k * ostep + full_groups * gstep, w + full_groups * wstep,
                                 rq + 4 * full_groups, o + k * C + 4 * full_groups, C & 3, full, lo, hi);
                ox++;
                o += C;
                continue;
            }
            if (fast3 && full_groups > 0) {
                tml_dw3x3_single(rows[0] + col0, rows[1] + col0, rows[2] + col0, w, rq, o, gstep * 2,
                                 rq + 4 * full_groups);
                gr = full_groups;
            }
#endif
            for (; gr < g.groups; gr++)
                tml_dw_group(p, rows, col0 + gr * gstep, w + gr * wstep, rq + 4 * gr, o + 4 * gr, C - 4 * gr, full,
                             lo, hi);
        }
    }
}

void tml_dwconv2d_packed_s8(const TML_FLASH tml_conv_params *p_in, const TML_FLASH tml_rq *rq, const int8_t *in,
                            const TML_FLASH int16_t *w, int8_t *scratch, int8_t *out) {
    const tml_conv_params pl = *p_in;
    int16_t *ring = (int16_t *)(void *)scratch;
    if (pl.act_min == -128 && pl.act_max == 127)
        tml_dw_packed(&pl, rq, in, w, ring, out, 1);
    else
        tml_dw_packed(&pl, rq, in, w, ring, out, 0);
}
