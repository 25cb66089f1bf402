/* eim_main.c - an app as an Edge Impulse Linux model (.eim): the second main() beside firmware/main.c,
 * built with the host board (`tinyml eim <app>`) from the same app.c, runtime and generated model.
 *
 * Edge Impulse's Linux SDK starts the executable with one argument, a Unix socket path, connects, and
 * sends JSON requests with an "id" and no terminator; each reply echoes the id, carries "success", and
 * ends with a NUL byte. Requests:
 *   {"hello": 1}                    -> project, model_parameters (sensor, frequency, axes, labels, thresholds,
 *                                      ...), features_shm (a POSIX shared memory of float32 features)
 *   {"classify": [x0, y0, z0, x1, ...]} the raw window interleaved by axis, in the manifest's units (audio: int16
 *                                      sample values); NaN for a missing optional channel
 *   {"classify_shm": {"elements": n}} the same window, read from features_shm
 *   {"set_threshold": {"id": k, "min_score": p}} a [postprocess] threshold (hello lists them)
 * classify runs the window through the app exactly as the firmware does (tml_app_init, then every sample
 * through tml_app_on_sample, then tml_app_flush: the window alone is the input) and answers the scores of
 * its last window as result.classification, the [app] values as result.values (a value named anomaly* also
 * as result.anomaly), the events the app raised as result.events, and timing in ms. Bad input gets
 * "success": false with an "error" and the server keeps serving (a window in another unit too: an axis's median far
 * outside [signal] plausible_range, a median magnitude far above typical_magnitude's top; none for int16 audio);
 * `--print-info` prints the hello object.
 *
 * Exit status, as the tinyml CLI's: 0 when stopped (SIGINT, SIGTERM, SIGHUP); 2 for what the user can fix (usage,
 * a socket path that cannot be made: its folder missing or not writable, too long, a file or folder already there,
 * which is never replaced, a server already listening there; a socket left there by an earlier run, that no server
 * answers on, is replaced), with one line naming the path and the problem; 1 for a failure of the system itself.
 * At exit the socket is removed only when it is still the one this run made. When the process that started it
 * dies while connected as its client (the SDK's runner, killed by SIGKILL or crashed), the server ends as on
 * SIGTERM; a launcher that starts it, says hello, closes and exits leaves it running (unless it exits at the very
 * moment it closes), and the starter's death never cuts off another client. Best-effort: Linux 5.3 and later
 * (pidfd_open) with /proc; elsewhere (macOS) it runs until stopped.
 *
 * Static memory only; one client at a time (the next waits in the listen backlog).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* struct ucred (SO_PEERCRED) and syscall(): Linux, where the .eim runs */
#endif
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "app_config.h"
#include "eim_config.h"
#include "tml_app.h"
#include "tml_json.h"
#include "tml_port.h"

#define FEATURES (TML_EIM_WINDOW * TML_CFG_N_CHANNELS)
#define MAX_MESSAGE (64u * 1024u + 48u * FEATURES) /* a classify of FEATURES numbers in any notation fits */
#define MAX_EVENTS 64
#define N_THRESHOLDS_ALLOC (TML_EIM_N_THRESHOLDS > 0 ? TML_EIM_N_THRESHOLDS : 1)
#define N_VALUES_ALLOC (TML_CFG_N_VALUES > 0 ? TML_CFG_N_VALUES : 1)

/* The [postprocess] thresholds; app_config.h of the .eim build reads them from here (set_threshold). */
float tml_eim_threshold[N_THRESHOLDS_ALLOC] = TML_EIM_THRESHOLD_DEFAULTS;
static const char *const s_threshold_names[N_THRESHOLDS_ALLOC] = TML_EIM_THRESHOLD_NAMES;
static const char *const s_labels[] = TML_CFG_LABELS;
static const char *const s_axes[] = TML_EIM_AXIS_NAMES;
static const char *const s_event_names[] = TML_EIM_EVENT_NAMES;
#if TML_CFG_N_VALUES > 0
static const char *const s_value_names[] = TML_CFG_VALUES;
#endif

static char s_msg[MAX_MESSAGE];
static char s_reply[8192 + 64 * (TML_CFG_N_LABELS + TML_CFG_N_VALUES) + 96 * MAX_EVENTS];
static float s_features[FEATURES];
static float *s_shm;
static char s_shm_name[64];
static volatile sig_atomic_t s_stop;

/* ---- what the app reports while a window runs through it ---- */
static uint32_t s_samples;
static float s_out_scale = 1.0f / 256.0f;
static int32_t s_out_zp = -128;
static int8_t s_scores[TML_CFG_N_LABELS];
static uint32_t s_scores_t, s_windows, s_beats, s_n_events;
static float s_values[N_VALUES_ALLOC];
static uint32_t s_values_t;
static int s_have_values;
static struct {
    uint32_t t, label;
    int8_t score;
} s_events[MAX_EVENTS];
static uint64_t s_infer_cost;
static char s_app_error[160];

uint32_t tml_app_samples(void) { return s_samples; }
__attribute__((weak)) void tml_app_flush(void) {}

void tml_report_output_quant(float scale, int32_t zero_point)
{
    s_out_scale = scale;
    s_out_zp = zero_point;
}

void tml_report_scores(uint32_t t, const int8_t *scores, size_t n)
{
    size_t i;
    for (i = 0; i < (size_t)TML_CFG_N_LABELS; i++) {
        s_scores[i] = i < n ? scores[i] : (int8_t)-128;
    }
    s_scores_t = t;
    s_windows++;
}

void tml_report_values(uint32_t t, const float *values, size_t n)
{
    size_t i;
    for (i = 0; i < (size_t)N_VALUES_ALLOC; i++) {
        s_values[i] = i < n ? values[i] : NAN;
    }
    s_values_t = t;
    s_have_values = n == (size_t)TML_CFG_N_VALUES;
}

void tml_report_beat(uint32_t t, uint32_t label)
{
    (void)t;
    (void)label;
    s_beats++;
}

void tml_report_event(uint32_t t, uint32_t label, int8_t score)
{
    if (s_n_events < MAX_EVENTS) {
        s_events[s_n_events].t = t;
        s_events[s_n_events].label = label;
        s_events[s_n_events].score = score;
    }
    s_n_events++;
}

void tml_report_timing(uint32_t t, uint64_t cost)
{
    (void)t;
    s_infer_cost += cost;
}

void tml_report_stage_cost(const char *stage, uint32_t every, uint32_t count, uint64_t total)
{
    (void)stage;
    (void)every;
    (void)count;
    (void)total;
}

void tml_report_error(uint32_t code, const char *msg)
{
    if (!s_app_error[0]) {
        snprintf(s_app_error, sizeof s_app_error, "app error %u: %s", (unsigned)code, msg);
    }
}

void tml_report_log(const char *msg) { (void)msg; }

/* ---- replies ---- */

static tml_json_out s_out;

static void begin_reply(const char *id, size_t id_len, int success)
{
    tml_json_out_init(&s_out, s_reply, sizeof s_reply);
    tml_json_raw(&s_out, "{\"id\":");
    if (id_len) {
        tml_json_rawn(&s_out, id, id_len);
    } else {
        tml_json_raw(&s_out, "null");
    }
    tml_json_raw(&s_out, success ? ",\"success\":true" : ",\"success\":false");
}

static void error_reply(const char *id, size_t id_len, const char *why)
{
    begin_reply(id, id_len, 0);
    tml_json_raw(&s_out, ",\"error\":");
    tml_json_str(&s_out, why);
    tml_json_raw(&s_out, "}");
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The reply and its NUL terminator. */
static int send_reply(int fd)
{
    if (s_out.full) {
        error_reply(NULL, 0, "reply too large");
    }
    return send_all(fd, s_reply, s_out.len + 1);
}

static void hello_body(void)
{
    tml_json_raw(&s_out, ",\"project\":" TML_EIM_PROJECT_JSON ",\"model_parameters\":{" TML_EIM_PARAMS_JSON);
    tml_json_raw(&s_out, ",\"thresholds\":[");
    for (int i = 0; i < TML_EIM_N_THRESHOLDS; i++) {
        int f = 1;
        tml_json_raw(&s_out, i ? ",{" : "{");
        tml_json_key(&s_out, &f, "id");
        tml_json_int(&s_out, i);
        tml_json_key(&s_out, &f, "type");
        tml_json_str(&s_out, "postprocess");
        tml_json_key(&s_out, &f, "name");
        tml_json_str(&s_out, s_threshold_names[i]);
        tml_json_key(&s_out, &f, "min_score");
        tml_json_float(&s_out, tml_eim_threshold[i]);
        tml_json_raw(&s_out, "}");
    }
    tml_json_raw(&s_out, "]}");
    if (s_shm) {
        tml_json_raw(&s_out, ",\"features_shm\":{\"name\":");
        tml_json_str(&s_out, s_shm_name);
        tml_json_raw(&s_out, ",\"size\":");
        tml_json_uint(&s_out, (uint64_t)FEATURES * sizeof(float));
        tml_json_raw(&s_out, ",\"elements\":");
        tml_json_uint(&s_out, FEATURES);
        tml_json_raw(&s_out, ",\"type\":\"float32\"}");
    }
}

/* ---- classify ---- */

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* A score as predict prints it: the dequantized int8 output; a multilabel model's is a logit, so sigmoid(logit)
 * (float32, as tinyml.output_lines does it). */
static float score_of(int8_t q)
{
    float x = ((float)q - (float)s_out_zp) * s_out_scale;
#if TML_EIM_MULTILABEL
    return 1.0f / (1.0f + expf(-x));
#else
    return x;
#endif
}

static int by_value(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The median of x[0..n) (sorts x), as numpy's: the mean of the middle two when n is even. */
static float median_of(float *x, size_t n)
{
    qsort(x, n, sizeof x[0], by_value);
    return n % 2 ? x[n / 2] : 0.5f * (x[n / 2 - 1] + x[n / 2]);
}

static float s_scratch[TML_EIM_WINDOW];

/* The window's median of one axis (its finite values: an optional axis may be NaN), in the manifest's units; NaN
 * when it has none. */
static float axis_median(size_t c)
{
    size_t n = 0;
    for (size_t i = 0; i < (size_t)TML_EIM_WINDOW; i++) {
        float x = s_features[i * TML_CFG_N_CHANNELS + c] / TML_EIM_INPUT_DIVISOR;
        if (isfinite(x)) {
            s_scratch[n++] = x;
        }
    }
    return n ? median_of(s_scratch, n) : NAN;
}

/* The window's median magnitude of the required axes, over the samples not exactly 0 (a sensor off says nothing of
 * the unit, as in predict); 0 when all are. */
static float median_magnitude(void)
{
    size_t n = 0;
    for (size_t i = 0; i < (size_t)TML_EIM_WINDOW; i++) {
        float sum = 0.0f;
        for (size_t c = 0; c < (size_t)TML_EIM_N_REQUIRED; c++) {
            float x = s_features[i * TML_CFG_N_CHANNELS + c] / TML_EIM_INPUT_DIVISOR;
            sum += x * x;
        }
        if (sum > 0.0f) {
            s_scratch[n++] = sqrtf(sum);
        }
    }
    return n ? median_of(s_scratch, n) : 0.0f;
}

/* A window in another unit than the manifest's (mg or m/s^2 for g, % for a fraction) would be scored silently as
 * nonsense; `tinyml predict` judges a recording's unit by the same manifest figures, on its bulk. Returns NULL or
 * the reason: an axis whose median is far outside its plausible_range (the median: a sensor fault's few readings out
 * of range are what some apps detect), or a median magnitude of the required axes far above typical_magnitude's top
 * (past halfway to the smallest unit mistake, 9.8x: a fault reading somewhat above it is scored; only the top: a
 * quiet window, an idle machine, is no wrong unit). The limits come from tinyml.gateway.eim (unit_checks); none
 * for int16 audio. */
static const char *wrong_unit(char *why, size_t size)
{
    static const float lo[] = TML_EIM_LIMIT_LO, hi[] = TML_EIM_LIMIT_HI;
    static const float range_lo[] = TML_EIM_RANGE_LO, range_hi[] = TML_EIM_RANGE_HI;
    static const char *const units[] = TML_EIM_AXIS_UNITS;
    static const char fix[] = "send the window in the model's units (hello: model_parameters.units)";
    for (size_t c = 0; c < (size_t)TML_CFG_N_CHANNELS; c++) {
        if (isinf(lo[c]) && isinf(hi[c])) {
            continue;
        }
        float m = axis_median(c);
        if (m < lo[c] || m > hi[c]) {
            snprintf(why, size, "axis %s: the window's median %g is far outside its plausible range in %s (%g to %g); "
                     "%s", s_axes[c], (double)m, units[c], (double)range_lo[c], (double)range_hi[c], fix);
            return why;
        }
    }
    if (TML_EIM_MAGNITUDE_MAX > 0.0f) {
        float m = median_magnitude();
        if (m > TML_EIM_MAGNITUDE_MAX) {
            char axes[128] = "";
            for (size_t c = 0; c < (size_t)TML_EIM_N_REQUIRED; c++) {
                size_t k = strlen(axes);
                snprintf(axes + k, sizeof axes - k, "%s%s", c ? ", " : "", s_axes[c]);
            }
            snprintf(why, size, "the window's median magnitude over %s is %g: far above the typical at most %g in %s "
                     "(another unit?); %s", axes, (double)m, (double)TML_EIM_TYPICAL_TOP, units[0], fix);
            return why;
        }
    }
    return NULL;
}

/* Runs s_features (n numbers) through the app; returns NULL or the reason it could not. */
static const char *classify(size_t n, const char *id, size_t id_len)
{
    static char why[400];
    static float sample[TML_CFG_N_CHANNELS];
    if (n != (size_t)FEATURES) {
        snprintf(why, sizeof why, "wrong feature count: expected %u (%u samples x %u axes), got %lu",
                 (unsigned)FEATURES, (unsigned)TML_EIM_WINDOW, (unsigned)TML_CFG_N_CHANNELS, (unsigned long)n);
        return why;
    }
    for (size_t i = 0; i < n; i++) {
        size_t ch = i % TML_CFG_N_CHANNELS;
        if (!isfinite(s_features[i]) && (ch < (size_t)TML_EIM_N_REQUIRED || !isnan(s_features[i]))) {
            snprintf(why, sizeof why, "feature %lu (axis %s) is not a finite number%s", (unsigned long)i,
                     s_axes[ch], ch < (size_t)TML_EIM_N_REQUIRED ? "" : " (NaN marks a missing optional channel)");
            return why;
        }
    }
    if (wrong_unit(why, sizeof why)) {
        return why;
    }
    s_samples = 0;
    s_windows = s_beats = s_n_events = 0;
    s_have_values = 0;
    s_infer_cost = 0;
    s_app_error[0] = '\0';
    uint64_t t0 = now_ns();
    tml_app_init();
    for (size_t i = 0; i < (size_t)TML_EIM_WINDOW; i++) {
        for (size_t c = 0; c < (size_t)TML_CFG_N_CHANNELS; c++) {
            float x = s_features[i * TML_CFG_N_CHANNELS + c] / TML_EIM_INPUT_DIVISOR;
#ifdef TML_EIM_FULL_SCALE
            if (x > TML_EIM_FULL_SCALE) x = TML_EIM_FULL_SCALE; /* as `tinyml predict` clips to the sensor range */
            if (x < -TML_EIM_FULL_SCALE) x = -TML_EIM_FULL_SCALE;
#endif
            sample[c] = x;
        }
        s_samples++;
        tml_app_on_sample(sample);
    }
    tml_app_flush(); /* the window is the whole input */
    uint64_t total = now_ns() - t0;
    if (s_app_error[0]) {
        return s_app_error;
    }
    if (s_windows == 0) {
        snprintf(why, sizeof why, "the app scored no window in %u samples", (unsigned)TML_EIM_WINDOW);
        return why;
    }
    int first = 1;
    begin_reply(id, id_len, 1);
    tml_json_raw(&s_out, ",\"result\":{\"classification\":{");
    for (int i = 0; i < TML_CFG_N_LABELS; i++) {
        tml_json_key(&s_out, &first, s_labels[i]);
        tml_json_float(&s_out, score_of(s_scores[i]));
    }
    tml_json_raw(&s_out, "}");
#if TML_CFG_N_VALUES > 0
    if (s_have_values && s_values_t == s_scores_t) {
#if TML_EIM_ANOMALY_VALUE >= 0
        tml_json_raw(&s_out, ",\"anomaly\":");
        tml_json_float(&s_out, s_values[TML_EIM_ANOMALY_VALUE]);
#endif
        tml_json_raw(&s_out, ",\"values\":{");
        first = 1;
        for (int i = 0; i < TML_CFG_N_VALUES; i++) {
            tml_json_key(&s_out, &first, s_value_names[i]);
            tml_json_float(&s_out, s_values[i]);
        }
        tml_json_raw(&s_out, "}");
    }
#endif
    tml_json_raw(&s_out, ",\"events\":[");
    for (uint32_t i = 0; i < s_n_events && i < MAX_EVENTS; i++) {
        uint32_t lab = s_events[i].label;
        tml_json_raw(&s_out, i ? ",{\"event\":" : "{\"event\":");
        tml_json_str(&s_out, lab < (uint32_t)TML_CFG_N_EVENTS ? s_event_names[lab] : "?");
        tml_json_raw(&s_out, ",\"t\":");
        tml_json_double(&s_out, (double)s_events[i].t / TML_EIM_RATE_HZ, 9);
        tml_json_raw(&s_out, ",\"score\":");
        tml_json_float(&s_out, score_of(s_events[i].score));
        tml_json_raw(&s_out, "}");
    }
    tml_json_raw(&s_out, "]},\"timing\":{\"dsp\":");
    uint64_t infer = s_infer_cost < total ? s_infer_cost : total;
    tml_json_double(&s_out, (double)(total - infer) / 1e6, 6);
    tml_json_raw(&s_out, ",\"classification\":");
    tml_json_double(&s_out, (double)infer / 1e6, 6);
    tml_json_raw(&s_out, ",\"anomaly\":0},\"info\":{\"windows\":");
    tml_json_uint(&s_out, s_windows);
    tml_json_raw(&s_out, ",\"window_end\":");
    tml_json_uint(&s_out, s_scores_t);
    tml_json_raw(&s_out, ",\"beats\":");
    tml_json_uint(&s_out, s_beats);
    tml_json_raw(&s_out, "}}");
    return NULL;
}

/* ---- one request ---- */

enum { OP_NONE, OP_HELLO, OP_CLASSIFY, OP_CLASSIFY_SHM, OP_THRESHOLD };

static int read_features(tml_json_cur *c, size_t *n)
{
    int first = 1, r;
    *n = 0;
    if (tml_json_open(c, '[') < 0) {
        return -1;
    }
    while ((r = tml_json_element(c, &first)) == 1) {
        double v;
        int ch = tml_json_peek(c);
        if (ch == '"' || ch == '{' || ch == '[' || ch == 't' || ch == 'f' || ch == 'n') {
            c->err = "classify must be an array of numbers";
            return -1;
        }
        if (tml_json_number(c, &v, 1) < 0) {
            return -1;
        }
        if (*n < (size_t)FEATURES) {
            s_features[*n] = (float)v;
        }
        (*n)++;
    }
    return r;
}

static int read_shm_request(tml_json_cur *c, size_t *n)
{
    int first = 1, r;
    char key[32];
    double v = -1;
    if (tml_json_open(c, '{') < 0) {
        return -1;
    }
    while ((r = tml_json_member(c, &first, key, sizeof key)) == 1) {
        if (strcmp(key, "elements") == 0) {
            if (tml_json_number(c, &v, 0) < 0) {
                return -1;
            }
        } else if (tml_json_skip(c) < 0) {
            return -1;
        }
    }
    if (r < 0) {
        return -1;
    }
    if (!(v >= 0) || v != floor(v)) {
        c->err = "classify_shm needs \"elements\": the number of features in shared memory";
        return -1;
    }
    *n = (size_t)v;
    return 0;
}

static int read_threshold(tml_json_cur *c, int *which, double *score)
{
    int first = 1, r;
    char key[32];
    double id = -1;
    *score = NAN;
    if (tml_json_open(c, '{') < 0) {
        return -1;
    }
    while ((r = tml_json_member(c, &first, key, sizeof key)) == 1) {
        if (strcmp(key, "id") == 0) {
            r = tml_json_number(c, &id, 0);
        } else if (strcmp(key, "min_score") == 0 || strcmp(key, "min_anomaly_score") == 0) {
            r = tml_json_number(c, score, 0);
        } else {
            r = tml_json_skip(c);
        }
        if (r < 0) {
            return -1;
        }
    }
    if (r < 0) {
        return -1;
    }
    *which = (id >= 0 && id == floor(id) && id < 1e9) ? (int)id : -1;
    return 0;
}

static int handle(const char *msg, size_t len, int fd)
{
    static char why[200];
    tml_json_cur c;
    char key[32];
    const char *id = NULL;
    size_t id_len = 0, n = 0;
    int op = OP_NONE, ops = 0, first = 1, r, which = -1;
    double score = NAN;

    tml_json_begin(&c, msg, len);
    if (tml_json_open(&c, '{') == 0) {
        while ((r = tml_json_member(&c, &first, key, sizeof key)) == 1) {
            if (strcmp(key, "id") == 0) {
                r = tml_json_raw_scalar(&c, &id, &id_len);
            } else if (strcmp(key, "hello") == 0) {
                op = OP_HELLO, ops++;
                r = tml_json_skip(&c);
            } else if (strcmp(key, "classify") == 0) {
                op = OP_CLASSIFY, ops++;
                r = read_features(&c, &n);
            } else if (strcmp(key, "classify_shm") == 0) {
                op = OP_CLASSIFY_SHM, ops++;
                r = read_shm_request(&c, &n);
            } else if (strcmp(key, "set_threshold") == 0) {
                op = OP_THRESHOLD, ops++;
                r = read_threshold(&c, &which, &score);
            } else {
                r = tml_json_skip(&c); /* "debug" and anything else a newer SDK sends */
            }
            if (r < 0) {
                break;
            }
        }
        (void)tml_json_end(&c);
    }
    if (c.err) {
        error_reply(id, id_len, c.err);
    } else if (ops != 1) {
        error_reply(id, id_len, ops ? "one request per message: hello, classify, classify_shm or set_threshold"
                                    : "unknown request: expected hello, classify, classify_shm or set_threshold");
    } else if (op == OP_HELLO) {
        begin_reply(id, id_len, 1);
        hello_body();
        tml_json_raw(&s_out, "}");
    } else if (op == OP_THRESHOLD) {
        if (which < 0 || which >= TML_EIM_N_THRESHOLDS) {
            snprintf(why, sizeof why, "set_threshold: no threshold with that \"id\" (hello lists %d)", TML_EIM_N_THRESHOLDS);
            error_reply(id, id_len, why);
        } else if (!(score >= 0.0 && score <= 1.0)) {
            error_reply(id, id_len, "set_threshold: \"min_score\" must be a number in [0, 1]");
        } else {
            tml_eim_threshold[which] = (float)score;
            begin_reply(id, id_len, 1);
            tml_json_raw(&s_out, "}");
        }
    } else {
        const char *err = NULL;
        if (op == OP_CLASSIFY_SHM) {
            if (!s_shm) {
                err = "no shared memory: send the features with classify";
            } else if (n != (size_t)FEATURES) {
                snprintf(why, sizeof why, "wrong feature count: expected %u, got %lu in shared memory", (unsigned)FEATURES,
                         (unsigned long)n);
                err = why;
            } else {
                memcpy(s_features, s_shm, sizeof s_features);
            }
        }
        if (err == NULL) {
            err = classify(n, id, id_len);
        }
        if (err) {
            error_reply(id, id_len, err);
        }
    }
    return send_reply(fd);
}

/* ---- the server ---- */

static void on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* A descriptor that becomes readable when the process that started this one (the SDK's runner: a SIGKILL gives it
 * no chance to stop us) dies, when that process is the client that connected on fd; -1 otherwise. Its parent, not
 * any client: a client merely leaving is no reason. The parent is read now, not at start (its pid may since be
 * another process's), and again after pidfd_open: a parent that died in between is no longer ours to watch. Linux
 * 5.3 and later only (pidfd_open); elsewhere (macOS, older kernels) -1: the .eim then runs until stopped. */
static int watch_starter(int fd, pid_t *starter)
{
#if defined(SO_PEERCRED) && defined(SYS_pidfd_open)
    struct ucred cred;
    socklen_t len = sizeof cred;
    pid_t parent = getppid();
    if (parent <= 1 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid != parent) {
        return -1;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, parent, 0);
    if (pidfd >= 0 && getppid() != parent) {
        close(pidfd);
        return -1;
    }
    *starter = parent;
    return pidfd;
#else
    (void)fd;
    (void)starter;
    return -1;
#endif
}

/* Whether process pid is dying or dead: on its way out (the kernel's PF_EXITING, its /proc stat's 9th field, set
 * before its files, our socket, are closed), a zombie, or reaped already (its entry gone while /proc is there). A
 * killed or crashed starter's connection ends as it dies; a launcher that closed its own connection (a probe) is
 * still running then, unless it exits at that very moment. No /proc at all: 0 (cannot tell: serve on). */
static int is_dying(pid_t pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        return access("/proc/self/stat", R_OK) == 0;
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *rest = strrchr(text, ')'); /* the command name may hold spaces and parentheses */
    char state = 0;
    unsigned long flags = 0;
    if (!rest || sscanf(rest + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2) {
        return 0;
    }
    return state == 'Z' || state == 'X' || (flags & 0x4UL) != 0; /* PF_EXITING */
}

static void make_shm(void)
{
    snprintf(s_shm_name, sizeof s_shm_name, "/tinyml-eim-%ld", (long)getpid());
    int fd = shm_open(s_shm_name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) {
        return; /* classify still works */
    }
    if (ftruncate(fd, (off_t)sizeof s_features) == 0) {
        void *p = mmap(NULL, sizeof s_features, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
            s_shm = (float *)p;
        }
    }
    close(fd);
    if (!s_shm) {
        shm_unlink(s_shm_name);
    }
}

/* The folder a socket path names ("." for a bare name): the errors about making the socket are about it. */
static void folder_of(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(out, n, ".");
    } else if (slash == path) {
        snprintf(out, n, "/");
    } else {
        snprintf(out, n, "%.*s", (int)(slash - path), path);
    }
}

/* The file name a socket path ends with. */
static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* What lstat found: the words of the error lines. */
static const char *what_is(const struct stat *st)
{
    if (S_ISDIR(st->st_mode)) {
        return "a folder";
    }
    if (S_ISSOCK(st->st_mode)) {
        return "a socket";
    }
    return S_ISLNK(st->st_mode) ? "a symbolic link" : "a file that is not a socket";
}

/* One line: `name` (the socket `path` itself, or its name while it starts) is taken by `st`; exit status 2. */
static int taken(const char *path, const char *name, const struct stat *st)
{
    if (strcmp(name, path) == 0 || strcmp(name, base_of(path)) == 0) {
        fprintf(stderr, "error: socket %s: %s is there; give a path that does not exist\n", path, what_is(st));
    } else {
        fprintf(stderr, "error: socket %s: %s (its name while it starts) is %s\n", path, name, what_is(st));
    }
    return 2;
}

/* Whether the file at p is still the socket this run made (`mine`, taken after bind): only that one is removed. */
static int still_mine(const char *p, const struct stat *mine)
{
    struct stat now;
    return lstat(p, &now) == 0 && now.st_dev == mine->st_dev && now.st_ino == mine->st_ino;
}

/* One line on why the socket cannot be made at `name` (`path`, or its name while it starts; errno `err` of bind,
 * link, rename or unlink); exit status 2: the path is the user's to fix. */
static int path_error(const char *path, const char *name, int err)
{
    char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
    struct stat st;
    folder_of(path, dir, sizeof dir);
    if (err == ENOENT) {
        fprintf(stderr, "error: socket %s: folder %s does not exist\n", path, dir);
    } else if (err == ENOTDIR) {
        fprintf(stderr, "error: socket %s: %s is not a folder\n", path, dir);
    } else if (err == EACCES || err == EPERM) {
        fprintf(stderr, "error: socket %s: no permission to create a file in %s\n", path, dir);
    } else if (err == EROFS) {
        fprintf(stderr, "error: socket %s: folder %s is on a read-only file system\n", path, dir);
    } else if ((err == EADDRINUSE || err == EEXIST) && lstat(name, &st) == 0) { /* made there since make_room */
        return taken(path, name, &st);
    } else {
        fprintf(stderr, "error: socket %s: cannot create %s: %s\n", path, name, strerror(err));
    }
    return 2;
}

/* Whether a server answers on the socket at `name`: 1 yes, 0 no (ECONNREFUSED: a socket left by a run that died;
 * ENOENT: gone), -1 when that cannot be told (errno says why). */
static int answers(const char *name)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", name);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) {
        fcntl(fd, F_SETFL, flags | O_NONBLOCK); /* a server with a full backlog answers EAGAIN: no wait */
    }
    int r = 1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        r = errno == ECONNREFUSED || errno == ENOENT ? 0 : errno == EAGAIN || errno == EINPROGRESS ? 1 : -1;
    }
    int err = errno;
    close(fd);
    errno = err;
    return r;
}

/* Makes `name` (`path`, or its name while it starts) free: nothing there, or a socket no server answers on, which
 * is removed. Anything else stays, with one line and exit status 2 (returned; 0 when free): a file or folder is
 * never replaced, nor a socket a server is listening on. */
static int make_room(const char *path, const char *name)
{
    struct stat st;
    if (lstat(name, &st) != 0) {
        return 0; /* nothing there, or its folder is the problem: bind says which */
    }
    if (!S_ISSOCK(st.st_mode)) {
        return taken(path, name, &st);
    }
    int live = answers(name);
    if (live > 0) {
        fprintf(stderr, "error: socket %s: a server is already listening on %s\n", path, name);
        return 2;
    }
    if (live < 0) {
        fprintf(stderr, "error: socket %s: cannot tell whether a server is listening on %s: %s\n", path, name,
                strerror(errno));
        return 2;
    }
    if (unlink(name) != 0 && errno != ENOENT) { /* left by a run that died */
        return path_error(path, name, errno);
    }
    return 0;
}

static void print_info(void)
{
    begin_reply("0", 1, 1);
    hello_body();
    tml_json_raw(&s_out, "}\n");
    fputs(s_reply, stdout);
}

int main(int argc, char **argv)
{
    static char chunk[65536];
    static tml_json_framer fr;
    struct sockaddr_un addr;
    int lfd, cfd = -1;

    if (argc == 2 && strcmp(argv[1], "--print-info") == 0) {
        print_info();
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s <socket path> | --print-info  (an Edge Impulse Linux model: %s)\n", argv[0],
                TML_CFG_APP_ID);
        return 2;
    }
    if (strlen(argv[1]) >= sizeof addr.sun_path) {
        fprintf(stderr, "error: socket %s: path longer than %u bytes, a Unix socket's limit\n", argv[1],
                (unsigned)sizeof addr.sun_path - 1);
        return 2;
    }
    int code = make_room(argv[1], argv[1]);
    if (code != 0) {
        return code;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll returns and the loop ends */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    tml_port_init();

    /* The SDK connects as soon as the socket file exists: a connect between bind() and listen() is refused. So the
     * socket is bound under a temporary name, listens, and only then gets its name. A path with no room for ".tmp"
     * in a socket address (104-107 bytes on Linux) is made from its folder, by names relative to it, and the
     * process comes back (the port may open a file by a relative name); it was bound at once. */
    const char *target = argv[1]; /* the socket's name from where it is made */
    int home = -1;                /* the working folder, while the socket is made from its own */
    if (strlen(argv[1]) + 4 >= sizeof addr.sun_path && (home = open(".", O_RDONLY)) >= 0) {
        char folder[sizeof addr.sun_path];
        folder_of(argv[1], folder, sizeof folder);
        if (chdir(folder) != 0) {
            code = path_error(argv[1], argv[1], errno);
            close(home);
            return code;
        }
        target = base_of(argv[1]);
    }
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (lfd < 0) {
        fprintf(stderr, "error: cannot create a Unix socket: %s\n", strerror(errno));
        return 1;
    }
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    int tmp_name = strlen(target) + 4 < sizeof addr.sun_path;
    snprintf(addr.sun_path, sizeof addr.sun_path, tmp_name ? "%s.tmp" : "%s", target);
    const char *name = addr.sun_path;
    if (tmp_name && (code = make_room(argv[1], name)) != 0) {
        close(lfd);
        return code;
    }
    struct stat mine; /* the socket file this run made (made: 1): the only one it removes */
    int made = 0;
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        code = path_error(argv[1], name, errno);
    } else if (!(made = lstat(name, &mine) == 0) || listen(lfd, 8) != 0) {
        fprintf(stderr, "error: socket %s: cannot listen: %s\n", argv[1], strerror(errno));
        code = 1;
    } else if (tmp_name && link(name, target) != 0) {
        /* link fails with EEXIST when anything was made at the path since make_room (rename would replace it); a
         * file system without hard links says EPERM (or EXDEV, ENOTSUP): there rename, which replaces */
        int err = errno;
        if (err == EPERM || err == EXDEV || err == ENOTSUP) {
            struct stat st;
            err = lstat(target, &st) == 0 ? EEXIST : rename(name, target) == 0 ? 0 : errno;
        }
        if (err != 0) {
            code = path_error(argv[1], target, err);
        }
    }
    if (made && (tmp_name || code != 0)) {
        if (still_mine(name, &mine)) {
            unlink(name); /* ours: the temporary name (after link, the socket keeps its path), or a failed start's */
        }
    }
    if (home >= 0) {
        if (code == 0 && fchdir(home) != 0) {
            fprintf(stderr, "error: socket %s: cannot return to the working folder: %s\n", argv[1], strerror(errno));
            unlink(target); /* the socket just made: the process is still in its folder */
            code = 1;
        }
        close(home);
    }
    if (code != 0) {
        close(lfd);
        return code;
    }
    make_shm();
    pid_t starter = 0;
    int starter_fd = -1; /* while the client is the process that started us (the watch's pidfd) */
    while (!s_stop) {
        struct pollfd p = {.fd = cfd >= 0 ? cfd : lfd, .events = POLLIN, .revents = 0};
        int r = poll(&p, 1, -1);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "error: waiting on socket %s failed: %s\n", argv[1], strerror(errno));
            code = 1;
            break;
        }
        if (cfd < 0) {
            cfd = accept(lfd, NULL, NULL);
            tml_json_framer_init(&fr, s_msg, sizeof s_msg);
            if (cfd >= 0) {
                starter_fd = watch_starter(cfd, &starter);
            }
            continue;
        }
        ssize_t k = recv(cfd, chunk, sizeof chunk, 0);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        int drop = k <= 0; /* the client left (a half message with it) */
        for (ssize_t i = 0; i < k && !drop; i++) {
            int f = tml_json_framer_feed(&fr, chunk[i]);
            if (f == TML_JSON_MESSAGE) {
                drop = handle(fr.buf, fr.len, cfd) != 0;
            } else if (f == TML_JSON_TOO_LARGE) {
                static char why[96];
                snprintf(why, sizeof why, "message larger than %u bytes", (unsigned)sizeof s_msg);
                error_reply(NULL, 0, why);
                drop = send_reply(cfd) != 0;
            } else if (f == TML_JSON_GARBAGE) {
                error_reply(NULL, 0, "malformed JSON: bytes outside a JSON object");
                drop = send_reply(cfd) != 0;
            }
        }
        if (drop) {
            close(cfd);
            cfd = -1;
            if (starter_fd >= 0) {
                /* the starter's own connection ended: it died (the SDK's program killed or crashed without
                 * stopping us), or it hung up and lives on (a launcher's probe: hello, close, then exit) */
                int died = is_dying(starter);
                close(starter_fd);
                starter_fd = -1;
                if (died) { /* the SDK's program died without stopping us: no one is left to serve */
                    fprintf(stderr, "note: the program that started this model (pid %ld) ended: stopping\n",
                            (long)starter);
                    break;
                }
            }
        }
    }
    if (cfd >= 0) {
        close(cfd);
    }
    if (starter_fd >= 0) {
        close(starter_fd);
    }
    close(lfd);
    if (made && still_mine(argv[1], &mine)) {
        unlink(argv[1]); /* still the socket this run made: another one there (a later run's) stays */
    }
    if (s_shm) {
        munmap(s_shm, sizeof s_features);
        shm_unlink(s_shm_name);
    }
    return code;
}
