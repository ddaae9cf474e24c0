/* train/log.h — what a training loop reports: a progress bar (or plain log
 * lines), per-epoch CSV, final metrics as JSON, accuracy counting, early
 * stopping on a validation metric.
 *
 *   tg_csv_log csv;
 *   const char *cols[] = {"epoch", "train_loss", "val_acc"};
 *   if (tg_csv_log_open(&csv, "run/log.csv", 3, cols) != TG_OK) die(tg_last_error());
 *   tg_early_stop es;
 *   tg_early_stop_init(&es, TG_MAXIMIZE, 5, 0.0);
 *   for (int epoch = 1; epoch <= n_epochs; epoch++) {
 *       tg_progress pb;
 *       tg_progress_start(&pb, epoch, n_epochs, tg_batcher_n_batches(&bt), 50);
 *       for (step = 1; ...; step++) { ... tg_progress_update(&pb, step, loss, batch_items); }
 *       tg_progress_end(&pb);
 *       ... evaluate: correct += tg_count_correct(logits, targets, rows, V, -1, &counted) ...
 *       if (tg_csv_log_row(&csv, (double[]){epoch, loss, acc}) != TG_OK) ...
 *       if (tg_early_stop_update(&es, epoch, acc)) save the best checkpoint;
 *       if (tg_early_stop_should_stop(&es)) break;
 *   }
 *   tg_csv_log_close(&csv);
 *   tg_metrics_json_write("metrics.json", 2, (const char *[]){"val_acc", "epochs"},
 *                         (double[]){es.best, epoch});
 */
#ifndef TG_TRAIN_LOG_H
#define TG_TRAIN_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

/* ---- progress --------------------------------------------------------------
 * On a terminal (isatty(fileno(out))), one line redrawn with '\r' at most
 * 10 times per second and on the last step:
 *   epoch 3/20 [=====>    ] step 120/391 loss 0.4321 1234 items/s ETA 0:42
 * Otherwise a plain line every log_every steps and on the last step:
 *   epoch 3/20 step 120/391 loss 0.4321 1234 items/s ETA 0:42
 * loss is the mean over the steps of this epoch so far; items/s is items
 * (e.g. sentences, images, tokens: whatever the caller counts) per second of
 * wall time since tg_progress_start; ETA assumes the same rate of steps. */
typedef struct tg_progress {
    int epoch, n_epochs;
    int64_t total;           /* steps in this epoch (0: unknown) */
    int64_t step;            /* steps done */
    int log_every;           /* plain mode: a line every log_every steps */
    int tty;                 /* 1: redraw with '\r' (set by start; may be overridden) */
    FILE *out;               /* stderr by default; NULL: silent (e.g. MPI ranks but 0) */
    double t0, t_draw;       /* seconds (monotonic clock) */
    double loss_sum, items;
    int drawn;               /* tty: a partial line is on screen */
} tg_progress;

/* Starts an epoch's report on stderr.  log_every >= 1. */
void tg_progress_start(tg_progress *p, int epoch, int n_epochs, int64_t total_steps,
                       int log_every);
/* Records step (1-based, steps done so far) with its loss and item count,
 * and draws when due. */
void tg_progress_update(tg_progress *p, int64_t step, float loss, int64_t items);
/* Ends the epoch: draws the final state and, on a terminal, ends the line. */
void tg_progress_end(tg_progress *p);
/* The report text without '\r' / '\n' for the state at time now (seconds,
 * same clock as p->t0); bar included when with_bar.  Returns buf. */
char *tg_progress_format(const tg_progress *p, double now, int with_bar, char *buf, size_t len);
/* Seconds on a monotonic clock. */
double tg_now(void);

/* ---- CSV ------------------------------------------------------------------
 * A header row of the n column names (quoted per RFC 4180 when they hold a
 * comma, quote or newline), then one row of n numbers per tg_csv_log_row
 * ("%.9g"; NaN/Inf as "nan"/"inf"), flushed after every row so a crashed run
 * keeps its log. */
typedef struct tg_csv_log {
    FILE *f;
    int n;
    char *path;
} tg_csv_log;

/* Creates (truncates) path and writes the header.  Errors: TG_ERR_IO
 * "path: cannot create: <reason>". */
tg_status tg_csv_log_open(tg_csv_log *log, const char *path, int n, const char *const *names);
/* Appends one row of log->n values.  Errors: TG_ERR_IO "path: write failed". */
tg_status tg_csv_log_row(tg_csv_log *log, const double *values);
/* Closes the file.  Errors: TG_ERR_IO when the final close fails. */
tg_status tg_csv_log_close(tg_csv_log *log);
/* The same file in one go, for a log assembled at the end (rows gathered
 * from several ranks, tg_dist_gather): the header, then n_rows rows of n
 * values, row r at rows[r·n .. r·n + n), formatted as tg_csv_log_row; written
 * atomically (tg_write_atomic).  Errors: TG_ERR_IO as tg_write_atomic, path
 * untouched. */
tg_status tg_csv_write(const char *path, int n, const char *const *names, int64_t n_rows, const double *rows);

/* ---- final metrics ----------------------------------------------------------
 * Writes {"name": value, ...} (one JSON object, cJSON, one line) to path
 * atomically (temporary file, fsync, rename — as checkpoints).  Non-finite
 * values are written as null.  Errors: TG_ERR_IO, path untouched. */
tg_status tg_metrics_json_write(const char *path, int n, const char *const *names,
                                const double *values);

/* ---- accuracy ---------------------------------------------------------------
 * logits: n_rows x n_classes row-major; targets: n_rows labels.  Counts rows
 * whose arg-max (first index on ties) equals the target, skipping rows whose
 * target is ignore_index (pass -1 when unused).  *n_counted (may be NULL)
 * receives the number of rows not ignored.  A target outside [0, n_classes)
 * other than ignore_index aborts. */
int64_t tg_count_correct(const float *logits, const int32_t *targets, int64_t n_rows,
                         int n_classes, int ignore_index, int64_t *n_counted);
/* The predicted class of every row: out[r] = arg-max of logits row r
 * (logits [N, n_classes] row-major, first index on ties, the same rule as
 * tg_count_correct), out: caller array of n_rows.  Errors: n_classes < 1,
 * n_rows < 0 or NULL arrays (n_rows > 0) abort. */
void tg_argmax_rows(const float *logits, int64_t n_rows, int n_classes, int32_t *out);

/* ---- early stopping -------------------------------------------------------
 * Stops when the validation metric has not improved for `patience`
 * consecutive epochs.  Improvement: value < best − min_delta (TG_MINIMIZE,
 * e.g. a loss) or value > best + min_delta (TG_MAXIMIZE, e.g. accuracy).
 * The first finite value is always the best so far; NaN never is. */
typedef enum { TG_MINIMIZE = 0, TG_MAXIMIZE = 1 } tg_es_mode;

typedef struct tg_early_stop {
    tg_es_mode mode;
    int patience;       /* >= 1 */
    double min_delta;   /* >= 0 */
    double best;        /* best value so far (NaN before the first) */
    int best_epoch;     /* its epoch (-1 before the first) */
    int bad_epochs;     /* consecutive epochs without improvement */
    int ties;           /* 1: a value equal to the best also counts as an improvement
                           (resets bad_epochs, moves best_epoch), as the GAT reference
                           code's `val_acc >= best`; 0 after init */
} tg_early_stop;

void tg_early_stop_init(tg_early_stop *es, tg_es_mode mode, int patience, double min_delta);
/* Records the metric of epoch; returns 1 when it is the new best (the
 * caller saves its best checkpoint then), else 0. */
int tg_early_stop_update(tg_early_stop *es, int epoch, double value);
/* 1 once bad_epochs >= patience. */
int tg_early_stop_should_stop(const tg_early_stop *es);

#endif
