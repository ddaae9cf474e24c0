/* train/log.c — progress bar / log lines, CSV log, metrics JSON, accuracy,
 * early stopping.  Contracts in train/log.h. */
#define _POSIX_C_SOURCE 200809L
#include "train/log.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "data/io.h"

double tg_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- progress ------------------------------------------------------------- */

void tg_progress_start(tg_progress *p, int epoch, int n_epochs, int64_t total_steps,
                       int log_every) {
    TG_CHECK(p && log_every >= 1 && total_steps >= 0, "tg_progress_start",
             "need log_every >= 1 and total_steps >= 0, got %d and %lld", log_every,
             (long long)total_steps);
    memset(p, 0, sizeof *p);
    p->epoch = epoch;
    p->n_epochs = n_epochs;
    p->total = total_steps;
    p->log_every = log_every;
    p->out = stderr;
    p->tty = isatty(fileno(stderr));
    p->t0 = tg_now();
    p->t_draw = -1e30;
}

static void fmt_time(char *buf, size_t len, double s) {
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, len, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

char *tg_progress_format(const tg_progress *p, double now, int with_bar, char *buf, size_t len) {
    size_t k = 0;
#define PUT(...)                                                                   \
    do {                                                                           \
        if (k < len) {                                                             \
            int w_ = snprintf(buf + k, len - k, __VA_ARGS__);                      \
            if (w_ > 0) k += (size_t)w_;                                           \
        }                                                                          \
    } while (0)
    if (len) buf[0] = '\0';
    PUT("epoch %d/%d", p->epoch, p->n_epochs);
    if (with_bar && p->total > 0) {
        enum { W = 20 };
        int fill = (int)((double)W * (double)p->step / (double)p->total);
        if (fill > W) fill = W;
        char bar[W + 1];
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '=' : ' ';
        if (fill < W && fill > 0) bar[fill - 1] = '>';
        else if (fill == 0 && p->step > 0) bar[0] = '>';
        bar[W] = '\0';
        PUT(" [%s]", bar);
    }
    if (p->total > 0) PUT(" step %lld/%lld", (long long)p->step, (long long)p->total);
    else PUT(" step %lld", (long long)p->step);
    if (p->step > 0) PUT(" loss %.4f", p->loss_sum / (double)p->step);
    double dt = now - p->t0;
    if (dt > 0 && p->items > 0) PUT(" %.0f items/s", p->items / dt);
    if (p->total > 0 && p->step > 0 && p->step < p->total) {
        char eta[32];
        fmt_time(eta, sizeof eta, dt / (double)p->step * (double)(p->total - p->step));
        PUT(" ETA %s", eta);
    } else if (p->step > 0 && p->step >= p->total) {
        char el[32];
        fmt_time(el, sizeof el, dt);
        PUT(" in %s", el);
    }
#undef PUT
    return buf;
}

static void progress_draw(tg_progress *p, double now, int final) {
    if (!p->out) return; /* silent (e.g. MPI ranks other than 0) */
    char line[256];
    tg_progress_format(p, now, p->tty, line, sizeof line);
    if (p->tty) {
        /* pad over a longer previous line */
        fprintf(p->out, "\r%-79s%s", line, final ? "\n" : "");
        p->drawn = !final;
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
    p->t_draw = now;
}

void tg_progress_update(tg_progress *p, int64_t step, float loss, int64_t items) {
    TG_CHECK(p && p->log_every >= 1, "tg_progress_update", "progress not started");
    p->step = step;
    p->loss_sum += (double)loss;
    p->items += (double)items;
    double now = tg_now();
    int last = p->total > 0 && step >= p->total;
    if (p->tty) {
        if (now - p->t_draw >= 0.1 || last) progress_draw(p, now, 0);
    } else if (step % p->log_every == 0 || last) {
        progress_draw(p, now, 0);
    }
}

void tg_progress_end(tg_progress *p) {
    TG_CHECK(p && p->log_every >= 1, "tg_progress_end", "progress not started");
    if (p->tty) progress_draw(p, tg_now(), 1);
    else if (p->step % p->log_every != 0 && !(p->total > 0 && p->step >= p->total))
        progress_draw(p, tg_now(), 1); /* the last partial stretch */
}

/* ---- CSV ------------------------------------------------------------------ */

static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_header(FILE *f, int n, const char *const *names) {
    for (int i = 0; i < n; i++) {
        if (i) fputc(',', f);
        csv_field(f, names[i]);
    }
    fputc('\n', f);
}

static void csv_values(FILE *f, int n, const double *values) {
    for (int i = 0; i < n; i++) {
        if (i) fputc(',', f);
        double v = values[i];
        if (isnan(v)) fputs("nan", f);
        else if (isinf(v)) fputs(v > 0 ? "inf" : "-inf", f);
        else fprintf(f, "%.9g", v);
    }
    fputc('\n', f);
}

tg_status tg_csv_log_open(tg_csv_log *log, const char *path, int n, const char *const *names) {
    TG_CHECK(log && path && n >= 1 && names, "tg_csv_log_open", "need a path and n >= 1 names");
    memset(log, 0, sizeof *log);
    FILE *f = fopen(path, "w");
    if (!f) return tg_set_error(TG_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    csv_header(f, n, names);
    if (fflush(f) != 0 || ferror(f)) {
        int e = errno;
        fclose(f);
        return tg_set_error(TG_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    size_t pl = strlen(path) + 1;
    log->path = tg_xmalloc(pl);
    memcpy(log->path, path, pl);
    log->f = f;
    log->n = n;
    return TG_OK;
}

tg_status tg_csv_log_row(tg_csv_log *log, const double *values) {
    TG_CHECK(log && log->f && values, "tg_csv_log_row", "log not open or values NULL");
    csv_values(log->f, log->n, values);
    if (fflush(log->f) != 0 || ferror(log->f))
        return tg_set_error(TG_ERR_IO, "%s: write failed: %s", log->path, strerror(errno));
    return TG_OK;
}

tg_status tg_csv_log_close(tg_csv_log *log) {
    if (!log || !log->f) return TG_OK;
    int bad = fclose(log->f) != 0;
    int e = errno;
    tg_status st = bad ? tg_set_error(TG_ERR_IO, "%s: close failed: %s", log->path, strerror(e)) : TG_OK;
    free(log->path);
    memset(log, 0, sizeof *log);
    return st;
}

typedef struct {
    int n;
    const char *const *names;
    int64_t n_rows;
    const double *rows;
} csv_table;

static int csv_table_write(FILE *f, void *ctx) {
    const csv_table *t = ctx;
    csv_header(f, t->n, t->names);
    for (int64_t r = 0; r < t->n_rows; r++) csv_values(f, t->n, t->rows + r * t->n);
    return ferror(f) ? -1 : 0;
}

tg_status tg_csv_write(const char *path, int n, const char *const *names, int64_t n_rows, const double *rows) {
    TG_CHECK(path && n >= 1 && names && n_rows >= 0 && (rows || n_rows == 0), "tg_csv_write",
             "need a path, n >= 1 names and n_rows >= 0 rows");
    csv_table t = {n, names, n_rows, rows};
    return tg_write_atomic(path, csv_table_write, &t);
}

/* ---- metrics JSON ----------------------------------------------------------- */

tg_status tg_metrics_json_write(const char *path, int n, const char *const *names,
                                const double *values) {
    TG_CHECK(path && n >= 0 && (n == 0 || (names && values)), "tg_metrics_json_write",
             "need a path and n >= 0 names and values");
    cJSON *o = cJSON_CreateObject();
    TG_CHECK(o, "tg_metrics_json_write", "out of memory");
    for (int i = 0; i < n; i++) {
        if (isfinite(values[i])) cJSON_AddNumberToObject(o, names[i], values[i]);
        else cJSON_AddNullToObject(o, names[i]);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    TG_CHECK(s, "tg_metrics_json_write", "out of memory");
    size_t len = strlen(s);
    char *t = tg_xmalloc(len + 2);
    memcpy(t, s, len);
    t[len] = '\n';
    cJSON_free(s);
    tg_status st = tg_write_file_atomic(path, t, len + 1);
    free(t);
    return st;
}

/* ---- accuracy --------------------------------------------------------------- */

/* The arg-max of one row, first index on ties. */
static int argmax_row(const float *row, int n_classes) {
    int best = 0;
    for (int c = 1; c < n_classes; c++)
        if (row[c] > row[best]) best = c;
    return best;
}

void tg_argmax_rows(const float *logits, int64_t n_rows, int n_classes, int32_t *out) {
    TG_CHECK((logits && out) || n_rows == 0, "tg_argmax_rows", "logits and out must not be NULL");
    TG_CHECK(n_classes >= 1 && n_rows >= 0, "tg_argmax_rows",
             "need n_classes >= 1, n_rows >= 0, got %d and %lld", n_classes, (long long)n_rows);
    for (int64_t r = 0; r < n_rows; r++) out[r] = argmax_row(logits + r * (int64_t)n_classes, n_classes);
}

int64_t tg_count_correct(const float *logits, const int32_t *targets, int64_t n_rows,
                         int n_classes, int ignore_index, int64_t *n_counted) {
    TG_CHECK((logits && targets) || n_rows == 0, "tg_count_correct", "logits and targets must not be NULL");
    TG_CHECK(n_classes >= 1 && n_rows >= 0, "tg_count_correct", "need n_classes >= 1, n_rows >= 0");
    int64_t correct = 0, counted = 0;
    for (int64_t r = 0; r < n_rows; r++) {
        int32_t t = targets[r];
        if (t == ignore_index) continue;
        TG_CHECK(t >= 0 && t < n_classes, "tg_count_correct",
                 "target %d of row %lld outside [0, %d)", t, (long long)r, n_classes);
        correct += argmax_row(logits + r * (int64_t)n_classes, n_classes) == t;
        counted++;
    }
    if (n_counted) *n_counted = counted;
    return correct;
}

/* ---- early stopping --------------------------------------------------------- */

void tg_early_stop_init(tg_early_stop *es, tg_es_mode mode, int patience, double min_delta) {
    TG_CHECK(es && patience >= 1 && min_delta >= 0.0, "tg_early_stop_init",
             "need patience >= 1 and min_delta >= 0, got %d and %g", patience, min_delta);
    es->mode = mode;
    es->patience = patience;
    es->min_delta = min_delta;
    es->best = NAN;
    es->best_epoch = -1;
    es->bad_epochs = 0;
    es->ties = 0;
}

int tg_early_stop_update(tg_early_stop *es, int epoch, double value) {
    int better;
    if (isnan(value)) better = 0;
    else if (es->best_epoch < 0) better = 1;
    else if (es->ties && value == es->best) better = 1;
    else if (es->mode == TG_MAXIMIZE) better = value > es->best + es->min_delta;
    else better = value < es->best - es->min_delta;
    if (better) {
        es->best = value;
        es->best_epoch = epoch;
        es->bad_epochs = 0;
    } else {
        es->bad_epochs++;
    }
    return better;
}

int tg_early_stop_should_stop(const tg_early_stop *es) { return es->bad_epochs >= es->patience; }
