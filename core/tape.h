/* core/tape.h — the tape: a record of the operations of one forward pass,
 * and the reverse sweep over it (reverse-mode automatic differentiation).
 *
 *   tg_tape *tp = tg_tape_new(0);
 *   for (int step = 0; step < n_steps; step++) {
 *       tg_tape_reset(tp);                       // frees last step's activations
 *       tg_params_zero_grad(&params);
 *       tg_tensor *logits = model_forward(tp, ...);
 *       tg_tensor *loss = tg_cross_entropy(tp, logits, targets, -1, TG_SUM);
 *       if (tg_backward(tp, loss) != TG_OK) die(tg_last_error());
 *       tg_adam_step(&opt);
 *   }
 *   tg_tape_free(tp);
 *
 * Every operation called with a tape allocates its output from the tape's
 * arena and, when gradients are enabled and an input requires grad, appends
 * a node (operation, inputs, output, what its backward needs).  Nothing is
 * freed one by one: tg_tape_reset releases the whole step at once.  The arena
 * grows during the first steps (largest step wins) and then keeps its memory,
 * so a training loop makes no heap allocation after its largest step.
 */
#ifndef TG_TAPE_H
#define TG_TAPE_H

#include <stddef.h>
#include <stdio.h>

#include "core/tensor.h"

/* ---- the operation list ---------------------------------------------------
 * X(name): written once; generates the enum TG_OP_<name>, the name table
 * (tg_op_name) and the backward dispatch table (tg__<name>_bwd, defined in
 * the op's own file in core/ops/, right below its forward). */
#define TG_OP_LIST(X)                                                        \
    X(add) X(sub) X(mul) X(scale) X(add_scalar)                              \
    X(matmul) X(transpose) X(reshape) X(concat) X(slice)                     \
    X(sum) X(mean) X(sum_last) X(mean_last) X(max)                                  \
    X(exp) X(log) X(tanh) X(sigmoid) X(relu) X(leaky_relu) X(elu) X(gelu)    \
    X(softmax) X(log_softmax) X(cross_entropy) X(layernorm) X(embedding)     \
    X(dropout) X(attention) X(custom)                                       \
    X(segment_softmax) X(segment_aggregate) X(edge_dot) X(spmm)

typedef enum {
#define TG__OP_ENUM(name) TG_OP_##name,
    TG_OP_LIST(TG__OP_ENUM)
#undef TG__OP_ENUM
    TG_OP_COUNT
} tg_op;

/* "matmul" for TG_OP_matmul; custom nodes report their own name. */
const char *tg_op_name(tg_op op);

typedef struct tg_tape tg_tape;
typedef struct tg_node tg_node;
typedef struct tg_custom_op tg_custom_op;

struct tg_node {
    tg_op op;
    int n_in;
    tg_tensor **in;               /* n_in inputs, in the arena */
    tg_tensor *out;
    void *ctx;                    /* op-specific saved state, in the arena */
    const tg_custom_op *custom;   /* TG_OP_custom only */
};

/* A new tape.  initial_bytes sizes the first arena chunk (0: 1 MiB).
 * Owned by the caller; tg_tape_free releases it and everything on it. */
tg_tape *tg_tape_new(size_t initial_bytes);
void tg_tape_free(tg_tape *tp);

/* Forgets every node and releases every tensor allocated on the tape since
 * the last reset (they must not be used afterwards).  Keeps the memory. */
void tg_tape_reset(tg_tape *tp);

/* Gradient recording: on by default.  With recording off (evaluation,
 * decoding) operations still compute, allocating from the arena, but append
 * no node.  Returns the previous setting. */
int tg_tape_set_grad(tg_tape *tp, int enabled);
int tg_tape_grad_enabled(const tg_tape *tp);

/* Training mode (default 1): dropout is active; 0 makes dropout the
 * identity (evaluation).  Returns the previous setting. */
int tg_tape_set_training(tg_tape *tp, int training);
int tg_tape_training(const tg_tape *tp);

/* Optional ceiling on arena bytes (0 = none).  An allocation past it aborts
 * with the bytes requested, used and available. */
void tg_tape_set_limit(tg_tape *tp, size_t max_bytes);
/* Bytes in use now / the most ever in use / held from the system. */
size_t tg_tape_bytes_used(const tg_tape *tp);
size_t tg_tape_bytes_peak(const tg_tape *tp);
size_t tg_tape_bytes_reserved(const tg_tape *tp);
/* Number of heap allocations the arena has made since tg_tape_new (a test
 * that this stops growing after the first step). */
long tg_tape_heap_allocs(const tg_tape *tp);

int tg_tape_n_nodes(const tg_tape *tp);
const tg_node *tg_tape_node(const tg_tape *tp, int i);

/* A tensor on the tape's arena, zeroed, no grad, no node: inputs of a step.
 * Valid until the next tg_tape_reset. */
tg_tensor *tg_tape_tensor(tg_tape *tp, int ndim, const int *shape);
/* Raw arena memory (64-byte aligned, not zeroed) valid until the next reset:
 * integer targets, masks, scratch. */
void *tg_tape_alloc(tg_tape *tp, size_t bytes);

/* Reverse sweep.  loss must have size 1 and have been produced on this tape.
 * Seeds d(loss)/d(loss) = 1, then walks the nodes last to first; each node
 * whose output has a gradient adds (+=) into its inputs' gradients
 * (gradients of activations are allocated zeroed on first use; parameters'
 * gradients accumulate into their long-lived buffers — zero them before the
 * step).  Several sweeps on one tape are independent: each starts from fresh
 * activation gradients, and leaves add up (two losses: two calls, or one
 * call on their sum).  Returns TG_OK, or TG_ERR_NONFINITE when the loss or a parameter
 * gradient is NaN/Inf, with a message naming the first node that produced a
 * non-finite value ("tg_backward: loss is nan; first non-finite value made
 * by node 12 (log) [32, 17] in the forward pass").
 * Errors: loss NULL, not size 1, or from another tape aborts. */
tg_status tg_backward(tg_tape *tp, tg_tensor *loss);

/* The sweep seeded with an arbitrary output gradient: dout holds out->size
 * floats of d(something)/d(out) (a vector-Jacobian product).  Same contract
 * and errors as tg_backward otherwise (no check that out is finite). */
tg_status tg_backward_seeded(tg_tape *tp, tg_tensor *out, const float *dout);

/* Lists the nodes: index, op, input nodes with shapes, output shape. */
void tg_tape_print(const tg_tape *tp, FILE *f);
/* Writes the graph in Graphviz DOT: one box per node labelled with its op
 * and output shape, one ellipse per leaf (named parameters and inputs),
 * edges from inputs to outputs.  Render with `dot -Tsvg graph.dot`. */
void tg_tape_dot(const tg_tape *tp, FILE *f);

/* ---- custom operations ----------------------------------------------------
 * A user operation: a forward that fills out->data from the inputs, and a
 * backward that reads out->grad and ADDS into in[i]->grad for every input
 * whose grad is not NULL.  ctx is the caller's saved state, copied onto the
 * tape.  See docs/custom_ops.md for a worked example (tests/test_custom.c). */
struct tg_custom_op {
    const char *name;
    void (*forward)(tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx);
    void (*backward)(const tg_tensor *out, tg_tensor *const *in, int n_in,
                     void *ctx);
};

/* Runs op->forward into a new [shape] tensor and records a node.
 * in: n_in >= 1 tensors; ctx: ctx_bytes copied (may be NULL/0).
 * Returns the output, valid until the next tg_tape_reset. */
tg_tensor *tg_custom(tg_tape *tp, const tg_custom_op *op, int n_in,
                     tg_tensor *const *in, int ndim, const int *shape,
                     const void *ctx, size_t ctx_bytes);

/* ---- for operation implementers (core/ops/, custom code) ------- --------------
 * tg__out: a new output tensor on the arena (data NOT zeroed).
 * tg__record: appends a node when recording is on and some input requires
 * grad; marks out TG_REQUIRES_GRAD; returns the node (NULL when nothing
 * is recorded — the forward then needs to save nothing).
 * tg__node_ctx: ctx_bytes of zeroed arena memory attached to node n. */
tg_tensor *tg__out(tg_tape *tp, int ndim, const int *shape);
tg_node *tg__record(tg_tape *tp, tg_op op, tg_tensor *out, int n_in,
                    tg_tensor *const *in);
void *tg__node_ctx(tg_tape *tp, tg_node *n, size_t ctx_bytes);

#endif
