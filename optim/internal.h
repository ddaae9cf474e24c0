/* optim/internal.h — helpers shared by sgd.c and adam.c (private; defined
 * in adam.c).
 * tg__decay_mask: n bytes, 1 where fn (NULL: always) says decay applies.
 * tg__state_floats: zeroed state, ps->total floats (at least 1).
 * Both: caller frees.
 * tg__check_block: aborts, naming op, unless ps still holds the n floats the
 * optimizer was made for. */
#ifndef TG_OPTIM_INTERNAL_H
#define TG_OPTIM_INTERNAL_H

#include "optim/optim.h"

unsigned char *tg__decay_mask(const tg_params *ps, tg_decay_fn fn, void *user);
float *tg__state_floats(const tg_params *ps);
void tg__check_block(const tg_params *ps, int64_t n, const char *op);

#endif
