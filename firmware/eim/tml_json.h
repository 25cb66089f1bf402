/* tml_json.h - the JSON the .eim server speaks (firmware/eim/eim_main.c): message framing on a byte
 * stream, a validating reader over one message, and a writer. Static memory only: the caller owns every
 * buffer.
 *
 * Framing: requests arrive with no terminator, so a message is a top-level object whose braces balance,
 * counted outside strings (a brace inside "..." or after a backslash escape does not count). Several
 * messages may come in one read and one message may span many reads: the framer takes one byte at a time.
 * A message longer than the buffer is followed to its end and reported as too large, not cut; bytes
 * outside any object (a stray "]", text) are reported once per run.
 *
 * Writer: every string it writes escapes '{' and '}' as \u007b and \u007d, so a reader that counts
 * braces to find the end of a reply (Edge Impulse's SDK does) is never misled by a message text.
 */
#ifndef TML_JSON_H
#define TML_JSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TML_JSON_MORE = 0,      /* keep feeding */
    TML_JSON_MESSAGE = 1,   /* a whole message is in buf[0..len) */
    TML_JSON_TOO_LARGE = 2, /* a message ended that did not fit the buffer (its bytes are gone) */
    TML_JSON_GARBAGE = 3    /* the first byte of a run of bytes outside any object */
};

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    uint32_t depth;     /* open braces and brackets of the current message; 0 = between messages */
    uint8_t in_string;
    uint8_t escape;
    uint8_t overflow;   /* the current message did not fit */
    uint8_t garbage;    /* inside a run of bytes outside any object */
} tml_json_framer;

void tml_json_framer_init(tml_json_framer *f, char *buf, size_t cap);
/* Take one byte; see the enum above. After TML_JSON_MESSAGE the caller handles buf[0..len) before the
 * next call (the next byte starts a new message). */
int tml_json_framer_feed(tml_json_framer *f, char c);

/* ---- reader: a cursor over one message; the first problem is kept in err and stops everything ---- */
typedef struct {
    const char *p;
    const char *end;
    const char *err; /* NULL while all is well */
    int depth;
} tml_json_cur;

#define TML_JSON_MAX_DEPTH 32

void tml_json_begin(tml_json_cur *c, const char *p, size_t n);
/* Object members: call with *first = 1 before the first; returns 1 with the key (truncated to cap - 1
 * bytes, NUL-terminated) and the cursor at its value, 0 at the closing brace, -1 on error. */
int tml_json_member(tml_json_cur *c, int *first, char *key, size_t cap);
/* Array elements, likewise: 1 = the cursor is at an element, 0 = end of the array, -1 = error. */
int tml_json_element(tml_json_cur *c, int *first);
/* Begin an object / array value at the cursor (0 ok, -1 error). */
int tml_json_open(tml_json_cur *c, char bracket);
/* A number (allow_nonfinite: also NaN, Infinity, -Infinity, as Python's json module writes them). */
int tml_json_number(tml_json_cur *c, double *v, int allow_nonfinite);
/* A string, decoded (\uXXXX below 0x80 only, others become '?'), truncated to cap - 1 bytes. */
int tml_json_string(tml_json_cur *c, char *out, size_t cap);
/* The raw text of a scalar value (number or string, as written) for echoing it back; -1 for other kinds. */
int tml_json_raw_scalar(tml_json_cur *c, const char **start, size_t *n);
/* Skip any value, checking it. */
int tml_json_skip(tml_json_cur *c);
/* Only whitespace is left. */
int tml_json_end(tml_json_cur *c);
/* The next non-space character, or -1 at the end. */
int tml_json_peek(tml_json_cur *c);

/* ---- writer: into a caller's buffer; a reply that does not fit is marked (full) and cut ---- */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    int full;
} tml_json_out;

void tml_json_out_init(tml_json_out *o, char *buf, size_t cap);
void tml_json_raw(tml_json_out *o, const char *s);
void tml_json_rawn(tml_json_out *o, const char *s, size_t n);
void tml_json_str(tml_json_out *o, const char *s);          /* a quoted, escaped string */
void tml_json_key(tml_json_out *o, int *first, const char *k); /* ,"k": */
void tml_json_float(tml_json_out *o, float v);               /* shortest float32 round trip; NaN/inf -> null */
void tml_json_double(tml_json_out *o, double v, int digits);
void tml_json_uint(tml_json_out *o, uint64_t v);
void tml_json_int(tml_json_out *o, int64_t v);

#ifdef __cplusplus
}
#endif
#endif
