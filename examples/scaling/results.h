/* examples/scaling/results.h — the experiment's table of finished cells:
 * read back from its CSV (to resume), rewritten atomically after each new
 * cell, and turned into the report (plot, markdown table, verdict).
 *
 *   scaling_results rs;
 *   if (scaling_results_load("runs/scaling/results.csv", &rs) != TG_OK) die(...);  // absent: empty
 *   if (!scaling_results_find(&rs, "mnist", SCALING_CNN, 1000, 1)) {
 *       scaling_results_add(&rs, &r);
 *       if (scaling_results_save("runs/scaling/results.csv", &rs) != TG_OK) die(...);
 *   }
 *   scaling_report(&rs, "runs/scaling", stdout);
 *   scaling_results_free(&rs);
 *
 * CSV columns (a header row, then one row per cell; accuracies in %):
 *   dataset,model,params,N,seed,val_accuracy,test_accuracy,epochs,seconds
 */
#ifndef SCALING_RESULTS_H
#define SCALING_RESULTS_H

#include <stdio.h>

#include "examples/scaling/cell.h"

typedef struct {
    scaling_result *rows;
    int n, cap;
} scaling_results;

/* Reads path; a missing file gives an empty table.  Errors: TG_ERR_FORMAT
 * "path:line: expected ..." (a wrong header, a field that is not a
 * number, an unknown model, a repeated cell); *rs untouched. */
tg_status scaling_results_load(const char *path, scaling_results *rs);
/* Writes every row to path atomically (tg_write_atomic).  Errors: TG_ERR_IO. */
tg_status scaling_results_save(const char *path, const scaling_results *rs);
void scaling_results_add(scaling_results *rs, const scaling_result *r);
/* The row of a cell, or NULL. */
const scaling_result *scaling_results_find(const scaling_results *rs, const char *dataset, scaling_arm arm,
                                           int64_t n, int seed);
void scaling_results_free(scaling_results *rs);

/* For every dataset in rs: out_dir/scaling_<dataset>.png (test accuracy vs
 * N, log x axis, one line per model, ± std bands over seeds); and the
 * markdown (tables and verdicts) to out_dir/scaling.md and to f.  Errors:
 * the plot's or the writer's (TG_ERR_IO). */
tg_status scaling_report(const scaling_results *rs, const char *out_dir, FILE *f);

#endif
