/* tml_json.c - see tml_json.h. */
#include "tml_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- framing ---- */

void tml_json_framer_init(tml_json_framer *f, char *buf, size_t cap)
{
    f->buf = buf;
    f->cap = cap;
    f->len = 0;
    f->depth = 0;
    f->in_string = 0;
    f->escape = 0;
    f->overflow = 0;
    f->garbage = 0;
}

static void keep(tml_json_framer *f, char c)
{
    if (f->len + 1 < f->cap) {
        f->buf[f->len++] = c;
    } else {
        f->overflow = 1;
    }
}

int tml_json_framer_feed(tml_json_framer *f, char c)
{
    if (f->depth == 0) {
        if (c == '{') {
            f->garbage = 0;
            f->len = 0;
            f->overflow = 0;
            f->in_string = 0;
            f->escape = 0;
            f->depth = 1;
            keep(f, c);
            return TML_JSON_MORE;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0') {
            return TML_JSON_MORE;
        }
        if (f->garbage) {
            return TML_JSON_MORE;
        }
        f->garbage = 1;
        return TML_JSON_GARBAGE;
    }
    keep(f, c);
    if (f->in_string) {
        if (f->escape) {
            f->escape = 0;
        } else if (c == '\\') {
            f->escape = 1;
        } else if (c == '"') {
            f->in_string = 0;
        }
        return TML_JSON_MORE;
    }
    if (c == '"') {
        f->in_string = 1;
    } else if (c == '{' || c == '[') {
        f->depth++;
    } else if (c == '}' || c == ']') {
        if (--f->depth == 0) {
            if (f->overflow) {
                f->len = 0;
                return TML_JSON_TOO_LARGE;
            }
            f->buf[f->len] = '\0';
            return TML_JSON_MESSAGE;
        }
    }
    return TML_JSON_MORE;
}

/* ---- reader ---- */

void tml_json_begin(tml_json_cur *c, const char *p, size_t n)
{
    c->p = p;
    c->end = p + n;
    c->err = NULL;
    c->depth = 0;
}

static int fail(tml_json_cur *c, const char *why)
{
    if (c->err == NULL) {
        c->err = why;
    }
    return -1;
}

int tml_json_peek(tml_json_cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')) {
        c->p++;
    }
    return c->p < c->end ? (unsigned char)*c->p : -1;
}

static int take(tml_json_cur *c, char ch)
{
    if (c->err) {
        return -1;
    }
    if (tml_json_peek(c) != (unsigned char)ch) {
        return fail(c, "malformed JSON");
    }
    c->p++;
    return 0;
}

int tml_json_open(tml_json_cur *c, char bracket)
{
    if (c->depth >= TML_JSON_MAX_DEPTH) {
        return fail(c, "JSON nested too deeply");
    }
    if (tml_json_peek(c) != (unsigned char)bracket) {
        return fail(c, bracket == '{' ? "expected a JSON object" : "expected a JSON array");
    }
    c->p++;
    c->depth++;
    return 0;
}

static int items(tml_json_cur *c, int *first, char close)
{
    if (c->err) {
        return -1;
    }
    int ch = tml_json_peek(c);
    if (ch == close) {
        c->p++;
        c->depth--;
        return 0;
    }
    if (!*first) {
        if (ch != ',') {
            return fail(c, "malformed JSON");
        }
        c->p++;
        ch = tml_json_peek(c);
        if (ch == close) {
            return fail(c, "malformed JSON (trailing comma)");
        }
    }
    *first = 0;
    if (ch < 0) {
        return fail(c, "malformed JSON (unexpected end)");
    }
    return 1;
}

int tml_json_member(tml_json_cur *c, int *first, char *key, size_t cap)
{
    int r = items(c, first, '}');
    if (r != 1) {
        return r;
    }
    if (tml_json_peek(c) != '"') {
        return fail(c, "malformed JSON (object key must be a string)");
    }
    if (tml_json_string(c, key, cap) < 0 || take(c, ':') < 0) {
        return -1;
    }
    return 1;
}

int tml_json_element(tml_json_cur *c, int *first) { return items(c, first, ']'); }

static int digits(tml_json_cur *c)
{
    const char *s = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        c->p++;
    }
    return (int)(c->p - s);
}

static int word(tml_json_cur *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

int tml_json_number(tml_json_cur *c, double *v, int allow_nonfinite)
{
    char tmp[64];
    if (c->err) {
        return -1;
    }
    (void)tml_json_peek(c);
    const char *s = c->p;
    int neg = c->p < c->end && *c->p == '-';
    if (neg) {
        c->p++;
    }
    if (allow_nonfinite) {
        if (!neg && word(c, "NaN")) {
            *v = NAN;
            return 0;
        }
        if (word(c, "Infinity")) {
            *v = neg ? -INFINITY : INFINITY;
            return 0;
        }
    }
    if (c->p < c->end && *c->p == '0') {
        c->p++;
    } else if (digits(c) == 0) {
        c->p = s;
        return fail(c, "malformed JSON (expected a number)");
    }
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (digits(c) == 0) {
            return fail(c, "malformed number");
        }
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) {
            c->p++;
        }
        if (digits(c) == 0) {
            return fail(c, "malformed number");
        }
    }
    size_t n = (size_t)(c->p - s);
    if (n >= sizeof tmp) {
        return fail(c, "number too long");
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *v = strtod(tmp, NULL);
    return 0;
}

static int hexval(char h)
{
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
}

int tml_json_string(tml_json_cur *c, char *out, size_t cap)
{
    size_t n = 0;
    if (take(c, '"') < 0) {
        return -1;
    }
    while (c->p < c->end) {
        char ch = *c->p++;
        if (ch == '"') {
            if (out && cap) {
                out[n] = '\0';
            }
            return 0;
        }
        if ((unsigned char)ch < 0x20) {
            return fail(c, "malformed JSON (control character in a string)");
        }
        if (ch == '\\') {
            if (c->p >= c->end) {
                break;
            }
            char e = *c->p++;
            switch (e) {
            case '"': case '\\': case '/': ch = e; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'n': ch = '\n'; break;
            case 'r': ch = '\r'; break;
            case 't': ch = '\t'; break;
            case 'u': {
                int u = 0;
                for (int i = 0; i < 4; i++) {
                    int h = c->p < c->end ? hexval(*c->p++) : -1;
                    if (h < 0) {
                        return fail(c, "malformed JSON (bad \\u escape)");
                    }
                    u = u * 16 + h;
                }
                ch = u < 0x80 ? (char)u : '?';
                break;
            }
            default:
                return fail(c, "malformed JSON (bad escape)");
            }
        }
        if (out && n + 1 < cap) {
            out[n++] = ch;
        }
    }
    return fail(c, "malformed JSON (unterminated string)");
}

int tml_json_raw_scalar(tml_json_cur *c, const char **start, size_t *n)
{
    int ch = tml_json_peek(c);
    const char *s = c->p;
    double d;
    if (ch == '"') {
        if (tml_json_string(c, NULL, 0) < 0) {
            return -1;
        }
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
        if (tml_json_number(c, &d, 0) < 0) {
            return -1;
        }
    } else {
        (void)tml_json_skip(c);
        return fail(c, "\"id\" must be a number or a string");
    }
    *start = s;
    *n = (size_t)(c->p - s);
    return 0;
}

int tml_json_skip(tml_json_cur *c)
{
    double d;
    int first = 1;
    char key[2];
    int ch = tml_json_peek(c);
    if (c->err) {
        return -1;
    }
    switch (ch) {
    case '{':
        if (tml_json_open(c, '{') < 0) {
            return -1;
        }
        for (int r; (r = tml_json_member(c, &first, key, sizeof key)) != 0;) {
            if (r < 0 || tml_json_skip(c) < 0) {
                return -1;
            }
        }
        return 0;
    case '[':
        if (tml_json_open(c, '[') < 0) {
            return -1;
        }
        for (int r; (r = tml_json_element(c, &first)) != 0;) {
            if (r < 0 || tml_json_skip(c) < 0) {
                return -1;
            }
        }
        return 0;
    case '"':
        return tml_json_string(c, NULL, 0);
    case 't':
        return word(c, "true") ? 0 : fail(c, "malformed JSON");
    case 'f':
        return word(c, "false") ? 0 : fail(c, "malformed JSON");
    case 'n':
        return word(c, "null") ? 0 : fail(c, "malformed JSON");
    default:
        return tml_json_number(c, &d, 1);
    }
}

int tml_json_end(tml_json_cur *c)
{
    if (c->err) {
        return -1;
    }
    return tml_json_peek(c) < 0 ? 0 : fail(c, "malformed JSON (text after the object)");
}

/* ---- writer ---- */

void tml_json_out_init(tml_json_out *o, char *buf, size_t cap)
{
    o->buf = buf;
    o->cap = cap;
    o->len = 0;
    o->full = 0;
    if (cap) {
        buf[0] = '\0';
    }
}

void tml_json_rawn(tml_json_out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        o->full = 1;
        n = o->cap > o->len + 1 ? o->cap - o->len - 1 : 0;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

void tml_json_raw(tml_json_out *o, const char *s) { tml_json_rawn(o, s, strlen(s)); }

void tml_json_str(tml_json_out *o, const char *s)
{
    char esc[8];
    tml_json_raw(o, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            tml_json_rawn(o, esc, 2);
        } else if (ch < 0x20 || ch == '{' || ch == '}') {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            tml_json_raw(o, esc);
        } else {
            tml_json_rawn(o, (const char *)&ch, 1);
        }
    }
    tml_json_raw(o, "\"");
}

void tml_json_key(tml_json_out *o, int *first, const char *k)
{
    if (!*first) {
        tml_json_raw(o, ",");
    }
    *first = 0;
    tml_json_str(o, k);
    tml_json_raw(o, ":");
}

void tml_json_float(tml_json_out *o, float v)
{
    char t[32];
    if (!isfinite(v)) {
        tml_json_raw(o, "null");
        return;
    }
    for (int p = 6; p <= 9; p++) { /* the fewest digits that read back as the same float32 */
        snprintf(t, sizeof t, "%.*g", p, (double)v);
        if (strtof(t, NULL) == v) {
            break;
        }
    }
    tml_json_raw(o, t);
}

void tml_json_double(tml_json_out *o, double v, int digits_)
{
    char t[40];
    if (!isfinite(v)) {
        tml_json_raw(o, "null");
        return;
    }
    snprintf(t, sizeof t, "%.*g", digits_, v);
    tml_json_raw(o, t);
}

void tml_json_uint(tml_json_out *o, uint64_t v)
{
    char t[24];
    snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    tml_json_raw(o, t);
}

void tml_json_int(tml_json_out *o, int64_t v)
{
    char t[24];
    snprintf(t, sizeof t, "%lld", (long long)v);
    tml_json_raw(o, t);
}
