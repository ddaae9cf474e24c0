/* core/ops/internal.h — helpers shared by the operation files (private). */
#ifndef TG_OPS_INTERNAL_H
#define TG_OPS_INTERNAL_H

#include <string.h>

#include "core/ops.h"

/* Loops with at least this many elements run under OpenMP; smaller ones
 * are not worth waking the team.  Only loops over independent outputs are
 * parallel, so results do not depend on the thread count. */
#define TG_PAR_MIN 16384

#ifdef _OPENMP
#define TG_PRAGMA(x) _Pragma(#x)
#define TG_OMP_FOR(n) TG_PRAGMA(omp parallel for schedule(static) if ((n) >= TG_PAR_MIN))
#else
#define TG_OMP_FOR(n)
#endif

/* A shape as a string for error messages: TG_SHAPE_STR(t) uses a buffer on
 * the caller's stack, valid for the enclosing full expression. */
#define TG_SHAPE_STR(t) tg_shape_str((t), (char[TG_SHAPE_STR_LEN]){0}, TG_SHAPE_STR_LEN)

/* Checks a tensor argument is not NULL. */
#define TG_CHECK_TENSOR(op, t) TG_CHECK((t) != NULL, (op), "argument `%s` is NULL", #t)

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
