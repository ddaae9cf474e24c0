/* core/tape.c — the arena, the node list, the reverse sweep, printing.
 *
 * Memory: a tape owns an arena of chunks.  Allocation bumps a pointer in the
 * current chunk; when it does not fit, a new chunk (at least twice the last)
 * is taken from the system.  tg_tape_reset rewinds, and if the step needed
 * more than one chunk it replaces them by one chunk of their total size, so
 * from then on a step of at most that size makes no heap allocation.
 */
#include "core/tape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
    /* data follows, 64-byte aligned */
} chunk;

#define CHUNK_HDR ((sizeof(chunk) + 63) & ~(size_t)63)
#define ALIGN 64

/* A gradient buffer the sweep is done with, kept for reuse (the header
 * lives in the buffer itself: every arena block is >= 64 bytes). */
typedef struct free_grad {
    struct free_grad *next;
    size_t bytes;
} free_grad;

struct tg_tape {
    chunk *first, *cur;
    free_grad *free_grads; /* reusable activation gradients of the current sweep */
    size_t used, peak, reserved, limit;
    long heap_allocs;
    tg_node *nodes;
    int n_nodes, cap_nodes;
    int grad_enabled, training;
    int keep_grads; /* 1: the sweep keeps every activation gradient */
};

static const char *const op_names[] = {
#define TG__OP_NAME(name) #name,
    TG_OP_LIST(TG__OP_NAME)
#undef TG__OP_NAME
};

/* Backward functions, each defined under its forward in core/ops/. */
#define TG__OP_DECL(name) void tg__##name##_bwd(tg_tape *tp, tg_node *n);
TG_OP_LIST(TG__OP_DECL)
#undef TG__OP_DECL

static void (*const op_backward[])(tg_tape *, tg_node *) = {
#define TG__OP_BWD(name) tg__##name##_bwd,
    TG_OP_LIST(TG__OP_BWD)
#undef TG__OP_BWD
};

const char *tg_op_name(tg_op op) {
    return (op >= 0 && op < TG_OP_COUNT) ? op_names[op] : "?";
}

static const char *node_name(const tg_node *n) {
    return n->op == TG_OP_custom && n->custom && n->custom->name ? n->custom->name
                                                                  : tg_op_name(n->op);
}

/* ---- arena -------------------------------------------------------------- */

static chunk *chunk_new(tg_tape *tp, size_t cap) {
    chunk *c = tg_xmalloc(CHUNK_HDR + cap);
    c->next = NULL;
    c->cap = cap;
    c->used = 0;
    tp->reserved += cap;
    tp->heap_allocs++;
    return c;
}

tg_tape *tg_tape_new(size_t initial_bytes) {
    tg_tape *tp = tg_xcalloc(sizeof *tp);
    tp->first = tp->cur = chunk_new(tp, initial_bytes ? initial_bytes : ((size_t)1 << 20));
    tp->grad_enabled = 1;
    tp->training = 1;
    return tp;
}

void tg_tape_free(tg_tape *tp) {
    if (!tp) return;
    for (chunk *c = tp->first, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(tp->nodes);
    free(tp);
}

void *tg_tape_alloc(tg_tape *tp, size_t bytes) {
    size_t need = (bytes + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need == 0) need = ALIGN;
    if (tp->limit && tp->used + need > tp->limit)
        tg__fail(__FILE__, __LINE__, "tg_tape_alloc",
                 "arena limit reached: requested %zu bytes, %zu used, %zu available",
                 bytes, tp->used, tp->limit - tp->used);
    chunk *c = tp->cur;
    while (c->used + need > c->cap) {
        if (!c->next) {
            size_t cap = c->cap * 2 > need ? c->cap * 2 : need;
            c->next = chunk_new(tp, cap);
        }
        c = c->next;
        c->used = 0;
    }
    tp->cur = c;
    void *p = (char *)c + CHUNK_HDR + c->used;
    c->used += need;
    tp->used += need;
    if (tp->used > tp->peak) tp->peak = tp->used;
    return p;
}

void tg_tape_reset(tg_tape *tp) {
    if (tp->first->next) { /* the step needed several chunks: merge them */
        size_t total = 0;
        for (chunk *c = tp->first, *next; c; c = next) {
            next = c->next;
            total += c->cap;
            free(c);
        }
        tp->reserved = 0;
        tp->first = chunk_new(tp, total);
    }
    tp->cur = tp->first;
    tp->first->used = 0;
    tp->used = 0;
    tp->n_nodes = 0;
}

void tg_tape_set_limit(tg_tape *tp, size_t max_bytes) { tp->limit = max_bytes; }
size_t tg_tape_bytes_used(const tg_tape *tp) { return tp->used; }
size_t tg_tape_bytes_peak(const tg_tape *tp) { return tp->peak; }
size_t tg_tape_bytes_reserved(const tg_tape *tp) { return tp->reserved; }
long tg_tape_heap_allocs(const tg_tape *tp) { return tp->heap_allocs; }

int tg_tape_set_grad(tg_tape *tp, int enabled) {
    int old = tp->grad_enabled;
    tp->grad_enabled = enabled != 0;
    return old;
}
int tg_tape_grad_enabled(const tg_tape *tp) { return tp->grad_enabled; }

int tg_tape_set_keep_grads(tg_tape *tp, int keep) {
    int old = tp->keep_grads;
    tp->keep_grads = keep != 0;
    return old;
}

int tg_tape_set_training(tg_tape *tp, int training) {
    int old = tp->training;
    tp->training = training != 0;
    return old;
}
int tg_tape_training(const tg_tape *tp) { return tp->training; }

int tg_tape_n_nodes(const tg_tape *tp) { return tp->n_nodes; }
const tg_node *tg_tape_node(const tg_tape *tp, int i) {
    TG_CHECK(i >= 0 && i < tp->n_nodes, "tg_tape_node", "index %d outside [0, %d)", i,
             tp->n_nodes);
    return &tp->nodes[i];
}

/* ---- tensors and nodes -------------------------------------------------- */

tg_tensor *tg__out(tg_tape *tp, int ndim, const int *shape) {
    tg__check_shape("tg_tape_tensor", ndim, shape);
    tg_tensor *t = tg_tape_alloc(tp, sizeof *t);
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    for (int i = 0; i < TG_MAX_DIMS; i++) t->shape[i] = i < ndim ? shape[i] : 1;
    t->size = tg_shape_numel(ndim, shape);
    t->data = tg_tape_alloc(tp, (size_t)t->size * sizeof(float));
    t->flags = TG_ARENA;
    t->node = -1;
    return t;
}

tg_tensor *tg_tape_tensor(tg_tape *tp, int ndim, const int *shape) {
    tg_tensor *t = tg__out(tp, ndim, shape);
    memset(t->data, 0, (size_t)t->size * sizeof(float));
    return t;
}

tg_node *tg__record(tg_tape *tp, tg_op op, tg_tensor *out, int n_in, tg_tensor *const *in) {
    if (!tp->grad_enabled) return NULL;
    int any = 0;
    for (int i = 0; i < n_in; i++) any |= in[i] && (in[i]->flags & TG_REQUIRES_GRAD);
    if (!any) return NULL;
    if (tp->n_nodes == tp->cap_nodes) {
        tp->cap_nodes = tp->cap_nodes ? 2 * tp->cap_nodes : 256;
        tg_node *nodes = realloc(tp->nodes, (size_t)tp->cap_nodes * sizeof *nodes);
        TG_CHECK(nodes, "tg_tape", "out of memory growing the node list to %d", tp->cap_nodes);
        tp->nodes = nodes;
        tp->heap_allocs++;
    }
    tg_node *n = &tp->nodes[tp->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->n_in = n_in;
    n->in = tg_tape_alloc(tp, (size_t)n_in * sizeof *n->in);
    memcpy(n->in, in, (size_t)n_in * sizeof *n->in);
    n->out = out;
    out->flags |= TG_REQUIRES_GRAD;
    out->node = tp->n_nodes++;
    return n;
}

void *tg__node_ctx(tg_tape *tp, tg_node *n, size_t ctx_bytes) {
    n->ctx = tg_tape_alloc(tp, ctx_bytes);
    memset(n->ctx, 0, ctx_bytes);
    return n->ctx;
}

/* ---- custom operations -------------------------------------------------- */

tg_tensor *tg_custom(tg_tape *tp, const tg_custom_op *op, int n_in, tg_tensor *const *in,
                     int ndim, const int *shape, const void *ctx, size_t ctx_bytes) {
    TG_CHECK(op && op->forward && op->backward, "tg_custom",
             "op, op->forward and op->backward must be set");
    TG_CHECK(n_in >= 1, "tg_custom", "%s: needs at least one input, got %d",
             op->name ? op->name : "?", n_in);
    for (int i = 0; i < n_in; i++)
        TG_CHECK(in[i], "tg_custom", "%s: input %d is NULL", op->name ? op->name : "?", i);
    void *saved = NULL;
    if (ctx_bytes) {
        saved = tg_tape_alloc(tp, ctx_bytes);
        if (ctx) memcpy(saved, ctx, ctx_bytes);
        else memset(saved, 0, ctx_bytes);
    }
    tg_tensor *out = tg__out(tp, ndim, shape);
    memset(out->data, 0, (size_t)out->size * sizeof(float));
    op->forward(out, in, n_in, saved);
    tg_node *n = tg__record(tp, TG_OP_custom, out, n_in, in);
    if (n) {
        n->custom = op;
        n->ctx = saved;
    }
    return out;
}

void tg__custom_bwd(tg_tape *tp, tg_node *n) {
    (void)tp;
    n->custom->backward(n->out, n->in, n->n_in, n->ctx);
}

/* ---- the reverse sweep -------------------------------------------------- */

static int64_t first_nonfinite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return -1;
}

static tg_status report_forward_nonfinite(const tg_tape *tp, const char *what) {
    char s[TG_SHAPE_STR_LEN];
    for (int i = 0; i < tp->n_nodes; i++) {
        const tg_node *n = &tp->nodes[i];
        int64_t at = first_nonfinite(n->out->data, n->out->size);
        if (at >= 0)
            return tg_set_error(TG_ERR_NONFINITE,
                                "tg_backward: %s; first non-finite value made by node %d (%s) "
                                "%s at element %lld in the forward pass",
                                what, i, node_name(n), tg_shape_str(n->out, s, sizeof s),
                                (long long)at);
    }
    return tg_set_error(TG_ERR_NONFINITE,
                        "tg_backward: %s; no recorded node produced it (an input or a "
                        "parameter holds a non-finite value)", what);
}

static tg_status check_gradients(const tg_tape *tp) {
    char s[TG_SHAPE_STR_LEN];
    /* Leaves (parameters, inputs) hold the gradients the caller will use. */
    for (int i = tp->n_nodes - 1; i >= 0; i--) {
        const tg_node *n = &tp->nodes[i];
        for (int j = 0; j < n->n_in; j++) {
            const tg_tensor *x = n->in[j];
            if (x->node >= 0 || !x->grad) continue;
            if (first_nonfinite(x->grad, x->size) < 0) continue;
            /* Find the first node, in sweep order, whose output gradient is
             * finite but one of whose input gradients is not. */
            for (int k = tp->n_nodes - 1; k >= 0; k--) {
                const tg_node *m = &tp->nodes[k];
                if (!m->out->grad || first_nonfinite(m->out->grad, m->out->size) >= 0) continue;
                for (int q = 0; q < m->n_in; q++)
                    if (m->in[q]->grad && first_nonfinite(m->in[q]->grad, m->in[q]->size) >= 0)
                        return tg_set_error(
                            TG_ERR_NONFINITE,
                            "tg_backward: non-finite gradient of %s %s; first made by the "
                            "backward of node %d (%s) %s, input %d",
                            x->name ? x->name : "a leaf", tg_shape_str(x, s, sizeof s), k,
                            node_name(m), tg_shape_str(m->out, s, sizeof s), q);
            }
            return tg_set_error(TG_ERR_NONFINITE,
                                "tg_backward: non-finite gradient of %s %s (it held one before "
                                "the sweep: zero gradients between steps)",
                                x->name ? x->name : "a leaf", tg_shape_str(x, s, sizeof s));
        }
    }
    return TG_OK;
}

/* A zeroed gradient buffer of `bytes`: a recycled one of exactly that size
 * when there is one, else new arena memory. */
static float *grad_alloc(tg_tape *tp, size_t bytes) {
    for (free_grad **p = &tp->free_grads; *p; p = &(*p)->next)
        if ((*p)->bytes == bytes) {
            float *g = (float *)*p;
            *p = (*p)->next;
            memset(g, 0, bytes);
            return g;
        }
    float *g = tg_tape_alloc(tp, bytes);
    memset(g, 0, bytes);
    return g;
}

/* The reverse sweep from out.  With recycle, the gradient of each node's
 * output is handed back for reuse once that node's backward has run (no
 * later step of the sweep reads it: every consumer of the output is a later
 * node, already swept), so the sweep holds the gradients of one "frontier"
 * of the graph at a time instead of all of them; those grads are left NULL. */
static void run_sweep(tg_tape *tp, tg_tensor *out, int recycle) {
    tp->free_grads = NULL;
    for (int i = out->node; i >= 0; i--) {
        tg_node *n = &tp->nodes[i];
        if (n->out != out) n->out->grad = NULL; /* forget an earlier sweep's gradients */
    }
    for (int i = out->node; i >= 0; i--) {
        tg_node *n = &tp->nodes[i];
        if (!n->out->grad) continue; /* does not reach the output */
        for (int j = 0; j < n->n_in; j++) {
            tg_tensor *x = n->in[j];
            if ((x->flags & TG_REQUIRES_GRAD) && !x->grad)
                x->grad = grad_alloc(tp, (size_t)x->size * sizeof(float));
        }
        op_backward[n->op](tp, n);
        if (recycle && n->out != out) {
            size_t bytes = (size_t)n->out->size * sizeof(float);
            free_grad *f = (free_grad *)n->out->grad;
            f->bytes = bytes;
            f->next = tp->free_grads;
            tp->free_grads = f;
            n->out->grad = NULL;
        }
    }
    tp->free_grads = NULL;
}

/* 1 when some leaf that the nodes read holds a non-finite gradient. */
static int leaves_nonfinite(const tg_tape *tp) {
    for (int i = 0; i < tp->n_nodes; i++) {
        const tg_node *n = &tp->nodes[i];
        for (int j = 0; j < n->n_in; j++) {
            const tg_tensor *x = n->in[j];
            if (x->node < 0 && x->grad && first_nonfinite(x->grad, x->size) >= 0) return 1;
        }
    }
    return 0;
}

static tg_status sweep(tg_tape *tp, tg_tensor *out, const char *op) {
    TG_CHECK(out->node >= 0 && out->node < tp->n_nodes && tp->nodes[out->node].out == out, op,
             "the output was not produced by a recorded node of this tape (recording off, no "
             "input requires grad, or another tape)");
    run_sweep(tp, out, !tp->keep_grads);
    if (!leaves_nonfinite(tp)) return TG_OK;
    /* Rare: find the op that made the non-finite gradient.  That needs every
     * activation gradient, so sweep once more keeping them all (the leaves'
     * gradients are not usable anyway). */
    run_sweep(tp, out, 0);
    return check_gradients(tp);
}

tg_status tg_backward(tg_tape *tp, tg_tensor *loss) {
    char s[TG_SHAPE_STR_LEN];
    TG_CHECK(tp && loss, "tg_backward", "tape or loss is NULL");
    TG_CHECK(loss->size == 1, "tg_backward", "loss must have one element, got shape %s",
             tg_shape_str(loss, s, sizeof s));
    if (!isfinite(loss->data[0])) {
        char what[64];
        snprintf(what, sizeof what, "loss is %g", loss->data[0]);
        return report_forward_nonfinite(tp, what);
    }
    TG_CHECK(loss->node >= 0, "tg_backward",
             "loss was not produced by a recorded node (recording off, or no input requires "
             "grad)");
    if (!loss->grad) loss->grad = tg_tape_alloc(tp, sizeof(float));
    loss->grad[0] = 1.0f;
    return sweep(tp, loss, "tg_backward");
}

tg_status tg_backward_seeded(tg_tape *tp, tg_tensor *out, const float *dout) {
    TG_CHECK(tp && out && dout, "tg_backward_seeded", "tape, out or dout is NULL");
    TG_CHECK(out->node >= 0, "tg_backward_seeded",
             "out was not produced by a recorded node (recording off, or no input requires "
             "grad)");
    if (!out->grad) out->grad = tg_tape_alloc(tp, (size_t)out->size * sizeof(float));
    memcpy(out->grad, dout, (size_t)out->size * sizeof(float));
    return sweep(tp, out, "tg_backward_seeded");
}

/* ---- printing ----------------------------------------------------------- */

static void print_operand(FILE *f, const tg_tensor *x) {
    char s[TG_SHAPE_STR_LEN];
    if (x->node >= 0) fprintf(f, "%%%d %s", x->node, tg_shape_str(x, s, sizeof s));
    else fprintf(f, "%s %s", x->name ? x->name : "input", tg_shape_str(x, s, sizeof s));
}

void tg_tape_print(const tg_tape *tp, FILE *f) {
    char s[TG_SHAPE_STR_LEN];
    fprintf(f, "tape: %d nodes, %zu bytes of arena in use\n", tp->n_nodes, tp->used);
    for (int i = 0; i < tp->n_nodes; i++) {
        const tg_node *n = &tp->nodes[i];
        fprintf(f, "  %%%-4d %-14s %-18s <- ", i, node_name(n),
                tg_shape_str(n->out, s, sizeof s));
        for (int j = 0; j < n->n_in; j++) {
            if (j) fprintf(f, ", ");
            print_operand(f, n->in[j]);
        }
        fputc('\n', f);
    }
}

void tg_tape_dot(const tg_tape *tp, FILE *f) {
    char s[TG_SHAPE_STR_LEN];
    fprintf(f, "digraph tape {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
    for (int i = 0; i < tp->n_nodes; i++) {
        const tg_node *n = &tp->nodes[i];
        fprintf(f, "  n%d [shape=box, label=\"%%%d %s\\n%s\"];\n", i, i, node_name(n),
                tg_shape_str(n->out, s, sizeof s));
        for (int j = 0; j < n->n_in; j++) {
            const tg_tensor *x = n->in[j];
            if (x->node >= 0) {
                fprintf(f, "  n%d -> n%d;\n", x->node, i);
            } else {
                fprintf(f, "  \"leaf%p\" [shape=ellipse, label=\"%s\\n%s\"];\n", (const void *)x,
                        x->name ? x->name : "input", tg_shape_str(x, s, sizeof s));
                fprintf(f, "  \"leaf%p\" -> n%d;\n", (const void *)x, i);
            }
        }
    }
    fprintf(f, "}\n");
}
