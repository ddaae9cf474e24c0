/* core/params.h — a model's parameters: named tensors in one long-lived block.
 *
 *   tg_params ps;
 *   tg_params_init(&ps);
 *   tg_linear_init(&fc, &ps, "encoder.layers.0.mlp.fc1", 128, 256, 1, &rng);
 *   printf("%lld parameters\n", (long long)tg_params_count(&ps));
 *   ... each step: tg_params_zero_grad(&ps); forward; tg_backward; optimizer ...
 *   tg_params_free(&ps);
 *
 * All parameters' values sit in one contiguous array ps.data and their
 * gradients in ps.grad, in creation order (llm.c's single slab), so an
 * optimizer is one flat loop and a checkpoint one write per tensor.  Each
 * parameter has a hierarchical, PyTorch-style name
 * ("encoder.layers.0.attn.w_q.weight"), unique within its tg_params.
 */
#ifndef TG_CORE_PARAMS_H
#define TG_CORE_PARAMS_H

#include <stdint.h>
#include <stdio.h>

#include "core/tensor.h"

#define TG_PARAM_NAME_MAX 128

typedef struct tg_params {
    int n, cap;          /* number of parameters, capacity of the arrays */
    tg_tensor **t;       /* the parameters, in creation order */
    int64_t *offset;     /* t[i]->data == data + offset[i]; likewise grad */
    float *data, *grad;  /* total floats each */
    int64_t total, capacity;
} tg_params;

void tg_params_init(tg_params *ps);
/* Frees the block and every tensor; their pointers become invalid. */
void tg_params_free(tg_params *ps);

/* A new parameter [shape] named by the printf format (at most
 * TG_PARAM_NAME_MAX−1 chars), data and grad zeroed, flags
 * TG_PARAM|TG_REQUIRES_GRAD.  The returned tensor lives until
 * tg_params_free; its data/grad pointers may move while parameters are still
 * being added (do not cache t->data across tg_params_new calls).
 * Errors: a duplicate or over-long name, or a bad shape, aborts. */
tg_tensor *tg_params_new(tg_params *ps, int ndim, const int *shape, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A buffer [shape]: state that lives and is saved with the parameters but
 * is not trained (torch's register_buffer; BatchNorm's running_mean and
 * running_var).  Like tg_params_new, but filled with `value` and flagged
 * TG_PARAM|TG_BUFFER without TG_REQUIRES_GRAD: no operation records a
 * gradient for it (its grad slot stays 0), so optimizers leave it unchanged,
 * weight decay never applies (optim/), tg_params_count does not count it,
 * and checkpoints save and restore it by name like any parameter.
 * Errors: as tg_params_new. */
tg_tensor *tg_params_new_buffer(tg_params *ps, float value, int ndim, const int *shape,
                                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Zeroes every gradient (one memset of the grad block). */
void tg_params_zero_grad(tg_params *ps);
/* Total number of trainable scalars (buffers excluded, as torch's
 * sum(p.numel() for p in model.parameters())). */
int64_t tg_params_count(const tg_params *ps);
/* 64-bit FNV-1a hash of the bytes of the value block ps->data (ps->total
 * floats): equal parameters give equal checksums, and one changed bit almost
 * surely changes it.  Used to check that MPI ranks agree (train/dist.h). */
uint64_t tg_params_checksum(const tg_params *ps);
/* The parameter with this exact name, or NULL. */
tg_tensor *tg_params_find(const tg_params *ps, const char *name);
/* One line per parameter: name, shape, count ("(buffer)" after a buffer's
 * count); then the total of trainable scalars. */
void tg_params_print(const tg_params *ps, FILE *f);

#endif
