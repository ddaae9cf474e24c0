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
    X(matmul) X(transpose) X(permute) X(reshape) X(concat) X(slice)                     \
    X(sum) X(mean) X(sum_last) X(mean_last) X(max)                                  \
    X(exp) X(log) X(tanh) X(sigmoid) X(relu) X(leaky_relu) X(elu) X(gelu)    \
    X(softmax) X(log_softmax) X(cross_entropy) X(layernorm) X(embedding)     \
    X(dropout) X(attention) X(patchify) X(affine) X(custom)                 \
    X(segment_softmax) X(segment_aggregate) X(edge_dot) X(spmm)             \
    X(conv2d) X(max_pool2d) X(avg_pool2d) X(global_avg_pool2d) X(batchnorm)

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
    /* Filled only while profiling (tg_tape_set_profile), else 0: */
    double fwd_seconds, bwd_seconds;
    size_t fwd_bytes;             /* arena bytes the forward allocated: output + saved state */
    size_t bwd_bytes;             /* arena bytes of its backward: input gradients + scratch */
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

/* Activation gradients after tg_backward: 0 (default) releases each for
 * reuse within the sweep once its node has run (memory of a few gradients
 * instead of all), leaving its grad NULL; 1 keeps them all (to inspect or
 * print them; torch's retain_grad on every tensor).  Returns the previous
 * setting. */
int tg_tape_set_keep_grads(tg_tape *tp, int keep);

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
 * step).  Only leaves (tensors no node produced: parameters, inputs) and
 * `loss` keep their gradients after the sweep: an activation's gradient is
 * released for reuse as soon as the node that produced it has run its
 * backward, and its grad pointer is NULL afterwards (as torch keeps .grad
 * of leaves only), unless tg_tape_set_keep_grads(tp, 1).  Several sweeps on one tape are independent: each starts from fresh
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
/* Writes the graph in Graphviz DOT, in the spirit of micrograd's draw_dot:
 * one box per node with its index, op, output shape and bytes, and the
 * statistics of its values and (after a sweep) its gradient — mean, std,
 * min, max; one ellipse per leaf (named parameters and inputs) with the
 * same; edges from inputs to outputs.  Large tapes are made readable by
 * collapsing repeated blocks (below).  Render with `dot -Tsvg graph.dot`,
 * or tg_tape_render (train/graph.h). */
void tg_tape_dot(const tg_tape *tp, FILE *f);

/* Options of tg_tape_dot_opts.  A node's block is the prefix up to the first
 * numeric component of the parameters it uses ("blocks.3" for
 * "blocks.3.mlp.fc1.weight"; nodes without parameters inherit the block of
 * their latest input, so a residual add belongs to the block it closes); blocks that differ only in that number are repeats.  Collapsing
 * draws the first repeat in full and every other as one box (its node count
 * and its output's statistics), dropping the parameters inside. */
typedef struct {
    int stats;      /* 1: value / gradient statistics in the labels */
    int collapse;   /* 1: always collapse repeated blocks; 0: never;
                       -1: when the tape has more than max_nodes nodes */
    int max_nodes;  /* for collapse = -1 (0: 48) */
} tg_dot_opts;

/* tg_tape_dot with options (NULL: stats on, collapse when > 48 nodes,
 * which is what tg_tape_dot does). */
void tg_tape_dot_opts(const tg_tape *tp, FILE *f, const tg_dot_opts *opts);

/* ---- profiling a step ------------------------------------------------------
 *   tg_tape_set_profile(tp, 1);
 *   tg_tape_reset(tp);  loss = model_forward(tp, ...);  tg_backward(tp, loss);
 *   tg_tape_profile(tp, stdout);      // the table below, for this step
 *
 * With profiling on, every recorded node notes its forward time, from the
 * first arena allocation after the previous node was recorded (ops allocate
 * their output first) to its own recording — so work that records no node
 * (mask building, ops on inputs that need no grad) is charged to the next
 * node; its backward time, around its backward in the sweep; the arena
 * bytes its forward allocated (output + what it saves for the backward:
 * activations live on the tape until the reset, so this is the memory the
 * backward keeps alive) and those of its backward (input gradients and
 * scratch).  FLOPs come from a per-op formula (tg_node_flops).  Off by
 * default; costs two clock reads per node when on.  Returns the previous
 * setting. */
int tg_tape_set_profile(tg_tape *tp, int enabled);

/* FLOPs of node n's forward and backward.  matmul and attention: 2 per
 * multiply-add of their products, dense (a causal mask's skipped tiles are
 * counted; attention's backward recomputes S: 3 products of width D, 2 of
 * Dv); the other ops by a per-element convention (e.g. softmax 5 forward,
 * 4 backward; layout ops such as reshape, transpose, embedding 0); custom
 * ops 0 (unknown). */
void tg_node_flops(const tg_node *n, double *fwd, double *bwd);

/* One row of the profile: every node of one kind (op name; custom ops by
 * their name), summed over the tape. */
typedef struct {
    const char *op;
    int nodes;
    double fwd_seconds, bwd_seconds;
    double flops;                 /* forward + backward */
    size_t fwd_bytes, bwd_bytes;
} tg_profile_row;

/* Fills rows (at most max) with one row per node kind on the tape, sorted
 * by forward + backward time, largest first; returns the number of kinds
 * (may exceed max: only max are written).  Meaningful after a profiled
 * forward and tg_backward. */
int tg_tape_profile_rows(const tg_tape *tp, tg_profile_row *rows, int max);

/* Prints the profile of the step on the tape as a table sorted by time
 * share: per op kind the node count, forward / backward / total ms, share of
 * the step's time, GFLOP and GFLOP/s, MiB saved for backward and their
 * share, MiB of gradients.  Ends with the totals. */
void tg_tape_profile(const tg_tape *tp, FILE *f);

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
