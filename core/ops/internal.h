/* core/ops/internal.h — helpers shared by the operation files (private). */
#ifndef TG_OPS_INTERNAL_H
#define TG_OPS_INTERNAL_H

#include <string.h>

#include "core/ops.h"
#include "core/parallel.h" /* TG_PAR_MIN, TG_OMP_FOR */

/* For the operation files only (they define the ops of the X-macro list):
 * tg__out: a new output tensor on the arena (data NOT zeroed).
 * tg__record: appends a node when recording is on and some input requires
 * grad; marks out TG_REQUIRES_GRAD; returns the node (NULL when nothing
 * is recorded — the forward then needs to save nothing).
 * tg__node_ctx: ctx_bytes of zeroed arena memory attached to node n.
 * Code outside core/ makes tensors with tg_tape_tensor and its own ops with
 * tg_custom (core/tape.h). */
tg_tensor *tg__out(tg_tape *tp, int ndim, const int *shape);
tg_node *tg__record(tg_tape *tp, tg_op op, tg_tensor *out, int n_in,
                    tg_tensor *const *in);
void *tg__node_ctx(tg_tape *tp, tg_node *n, size_t ctx_bytes);

/* NumPy broadcasting of a and b to out, any ndim up to TG_MAX_DIMS: both
 * aligned at their trailing dims against the output's ndim = max(a, b)
 * dims.  as[d], bs[d] are the element strides of a and b along output dim d
 * (0 where that operand has size 1 or lacks the dim).  tg__bcast_init
 * aborts, naming op and both shapes, when the shapes do not broadcast. */
typedef struct {
    int ndim;                 /* of the output */
    int shape[TG_MAX_DIMS];   /* the output's, outermost first */
    int64_t as[TG_MAX_DIMS], bs[TG_MAX_DIMS];
} tg__bcast;

void tg__bcast_init(tg__bcast *bc, const char *op, const tg_tensor *a, const tg_tensor *b);
/* The output shape of a broadcast, outermost first, bc->ndim dims. */
const int *tg__bcast_out_shape(const tg__bcast *bc);
/* Rows are the output viewed as [R, shape[ndim−1]]: the element offset, in
 * an operand with the given strides (bc->as or bc->bs), of row r's first
 * element. */
int64_t tg__bcast_row_offset(const tg__bcast *bc, const int64_t *strides, int64_t r);

#endif
