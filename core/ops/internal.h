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
#define TG_SHAPE_STR(t) tg_shape_str((t), (char[80]){0}, 80)

/* Checks a tensor argument is not NULL. */
#define TG_CHECK_TENSOR(op, t) TG_CHECK((t) != NULL, (op), "argument `%s` is NULL", #t)

/* NumPy broadcasting of a and b to out, all aligned right to 4 dims.
 * as[d], bs[d] are element strides of a and b in the 4-D view (0 on a
 * broadcast dim).  tg__bcast_init aborts, naming op and both shapes, when the
 * shapes do not broadcast. */
typedef struct {
    int ndim;       /* of the output */
    int shape[4];   /* output, right-aligned in 4 dims (leading 1s) */
    int64_t as[4], bs[4];
} tg__bcast;

void tg__bcast_init(tg__bcast *bc, const char *op, const tg_tensor *a, const tg_tensor *b);
/* The output shape of a broadcast, outermost first, bc->ndim dims. */
const int *tg__bcast_out_shape(const tg__bcast *bc);

#endif
