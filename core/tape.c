/* core/tape.c — the arena, the node list, the reverse sweep, printing.
 *
 * Memory: a tape owns an arena of chunks.  Allocation bumps a pointer in the
 * current chunk; when it does not fit, a new chunk (at least twice the last)
 * is taken from the system.  tg_tape_reset rewinds, and if the step needed
 * more than one chunk it replaces them by one chunk of their total size, so
 * from then on a step of at most that size makes no heap allocation.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include "core/tape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    /* profiling (tg_tape_set_profile) */
    int profile, op_open, in_sweep;
    double op_begin;       /* when the op being computed made its first allocation */
    size_t op_bytes;       /* what it has allocated since */
    int keep_grads; /* 1: the sweep keeps every activation gradient */
};

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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
    if (tp->profile && !tp->in_sweep) {
        if (!tp->op_open) { /* the first allocation of the next op */
            tp->op_open = 1;
            tp->op_begin = now_seconds();
            tp->op_bytes = 0;
        }
        tp->op_bytes += need;
    }
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
    tp->op_open = 0;
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

int tg_tape_set_profile(tg_tape *tp, int enabled) {
    int old = tp->profile;
    tp->profile = enabled != 0;
    tp->op_open = 0;
    return old;
}

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
    if (tp->profile) {
        double t = now_seconds();
        n->fwd_seconds = tp->op_open ? t - tp->op_begin : 0.0;
        n->fwd_bytes = tp->op_open ? tp->op_bytes : 0;
        tp->op_open = 0;
    }
    return n;
}

void *tg__node_ctx(tg_tape *tp, tg_node *n, size_t ctx_bytes) {
    int open = tp->op_open;
    n->ctx = tg_tape_alloc(tp, ctx_bytes);
    if (tp->profile && !tp->in_sweep && !open) { /* saved state of n, not the next op */
        tp->op_open = 0;
        n->fwd_bytes += (ctx_bytes + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    }
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
    tp->in_sweep = 1;
    for (int i = out->node; i >= 0; i--) {
        tg_node *n = &tp->nodes[i];
        if (!n->out->grad) continue; /* does not reach the output */
        double t0 = tp->profile ? now_seconds() : 0.0;
        size_t used0 = tp->used;
        for (int j = 0; j < n->n_in; j++) {
            tg_tensor *x = n->in[j];
            if ((x->flags & TG_REQUIRES_GRAD) && !x->grad)
                x->grad = grad_alloc(tp, (size_t)x->size * sizeof(float));
        }
        op_backward[n->op](tp, n);
        if (tp->profile) {
            n->bwd_seconds = now_seconds() - t0;
            n->bwd_bytes = tp->used - used0;
        }
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
    tp->in_sweep = 0;
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

/* "μ 0.012 σ 0.98 [-3.1, 2.9]" of n floats. */
static void stats_str(const float *x, int64_t n, char *buf, size_t len) {
    double s = 0.0, s2 = 0.0, lo = INFINITY, hi = -INFINITY;
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            bad++;
            continue;
        }
        s += x[i], s2 += (double)x[i] * x[i];
        lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
    }
    int64_t m = n - bad;
    double mean = m ? s / m : 0.0, var = m ? s2 / m - mean * mean : 0.0;
    int o = snprintf(buf, len, "μ %.3g σ %.3g [%.3g, %.3g]", mean, sqrt(var > 0 ? var : 0), m ? lo : 0.0,
                     m ? hi : 0.0);
    if (bad && o > 0 && (size_t)o < len) snprintf(buf + o, len - o, " %lld non-finite", (long long)bad);
}

static void bytes_str(double b, char *buf, size_t len) {
    if (b < 1024.0) snprintf(buf, len, "%.0f B", b);
    else if (b < 1024.0 * 1024.0) snprintf(buf, len, "%.1f KiB", b / 1024.0);
    else snprintf(buf, len, "%.1f MiB", b / (1024.0 * 1024.0));
}

/* The label lines of a tensor after its title: shape and bytes, then data
 * and grad statistics. */
static void dot_tensor_label(FILE *f, const tg_tensor *x, int stats) {
    char s[TG_SHAPE_STR_LEN], b[32], st[128];
    bytes_str((double)x->size * sizeof(float) * (x->grad ? 2 : 1), b, sizeof b);
    fprintf(f, "\\n%s  %s", tg_shape_str(x, s, sizeof s), b);
    if (!stats) return;
    stats_str(x->data, x->size, st, sizeof st);
    fprintf(f, "\\ndata %s", st);
    if (x->grad) {
        stats_str(x->grad, x->size, st, sizeof st);
        fprintf(f, "\\ngrad %s", st);
    }
}

/* Writes name with " and \ escaped for a DOT string. */
static void dot_escaped(FILE *f, const char *name) {
    for (const char *p = name; *p; p++) {
        if (*p == '"' || *p == '\\') fputc('\\', f);
        fputc(*p, f);
    }
}

/* The block of a parameter name: the prefix through its first numeric
 * component ("blocks.3" of "blocks.3.mlp.fc1.weight"); 0 when none. */
static int block_of(const char *name, char *out, size_t len) {
    const char *p = name;
    while (*p) {
        const char *end = strchr(p, '.');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        int digits = n > 0;
        for (size_t i = 0; i < n; i++) digits &= p[i] >= '0' && p[i] <= '9';
        if (digits && end) { /* a numeric component that is not the last */
            size_t k = (size_t)(p + n - name);
            if (k + 1 > len) return 0;
            memcpy(out, name, k);
            out[k] = 0;
            return 1;
        }
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

/* "blocks.#": the block with its number replaced, to find repeats. */
static void family_of(const char *block, char *out, size_t len) {
    size_t o = 0;
    for (const char *p = block; *p && o + 1 < len; p++) {
        if (*p >= '0' && *p <= '9') {
            if (!o || out[o - 1] != '#') out[o++] = '#';
        } else {
            out[o++] = *p;
        }
    }
    out[o] = 0;
}

#define DOT_NAME 64

void tg_tape_dot_opts(const tg_tape *tp, FILE *f, const tg_dot_opts *opts) {
    tg_dot_opts o = opts ? *opts : (tg_dot_opts){.stats = 1, .collapse = -1};
    if (o.max_nodes <= 0) o.max_nodes = 48;
    int N = tp->n_nodes;
    int collapse = o.collapse > 0 || (o.collapse < 0 && N > o.max_nodes);
    /* Blocks: per node an index into a table of distinct block names. */
    int *blk = tg_xcalloc((size_t)(N + 1) * sizeof *blk);
    char(*names)[DOT_NAME] = tg_xcalloc((size_t)(N + 1) * DOT_NAME);
    int *first_node = tg_xcalloc((size_t)(N + 1) * sizeof *first_node),
        *count = tg_xcalloc((size_t)(N + 1) * sizeof *count),
        *last_node = tg_xcalloc((size_t)(N + 1) * sizeof *last_node),
        *folded = tg_xcalloc((size_t)(N + 1) * sizeof *folded),
        *emitted = tg_xcalloc((size_t)(N + 1) * sizeof *emitted);
    int n_blocks = 0;
    for (int i = 0; i < N && collapse; i++) {
        const tg_node *n = &tp->nodes[i];
        char b[DOT_NAME] = "";
        int found = 0, named = 0;
        for (int j = 0; j < n->n_in && !found; j++)
            if (n->in[j]->node < 0 && n->in[j]->name) {
                named = 1;
                found = block_of(n->in[j]->name, b, sizeof b);
            }
        blk[i] = -1;
        if (found) {
            int k = 0;
            while (k < n_blocks && strcmp(names[k], b)) k++;
            if (k == n_blocks) {
                snprintf(names[n_blocks], DOT_NAME, "%s", b);
                first_node[n_blocks++] = i;
            }
            blk[i] = k;
        } else if (!named) { /* no parameter of its own: the block of its latest input */
            int latest = -1;
            for (int j = 0; j < n->n_in; j++)
                if (n->in[j]->node > latest) latest = n->in[j]->node;
            if (latest >= 0) blk[i] = blk[latest];
        }
        if (blk[i] >= 0) count[blk[i]]++, last_node[blk[i]] = i;
    }
    /* Fold every block but the first of its family. */
    for (int k = 0; k < n_blocks; k++) {
        char fk[DOT_NAME], fj[DOT_NAME];
        family_of(names[k], fk, sizeof fk);
        for (int j = 0; j < k && !folded[k]; j++) {
            family_of(names[j], fj, sizeof fj);
            if (!strcmp(fk, fj)) folded[k] = 1 + j; /* 1 + the block it repeats */
        }
    }
#define FOLDED(i) (collapse && blk[i] >= 0 && folded[blk[i]])
    fprintf(f, "digraph tape {\n  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n");
    for (int i = 0; i < N; i++) {
        const tg_node *n = &tp->nodes[i];
        if (FOLDED(i)) {
            int k = blk[i];
            if (!emitted[k]) {
                emitted[k] = 1;
                fprintf(f, "  b%d [shape=box3d, style=filled, fillcolor=\"#eeeeee\", label=\"", k);
                dot_escaped(f, names[k]);
                fprintf(f, ": %d nodes, repeats ", count[k]);
                dot_escaped(f, names[folded[k] - 1]);
                fprintf(f, "\\nout %%%d", last_node[k]);
                dot_tensor_label(f, tp->nodes[last_node[k]].out, o.stats);
                fprintf(f, "\"];\n");
            }
        } else {
            fprintf(f, "  n%d [shape=box, label=\"%%%d ", i, i);
            dot_escaped(f, node_name(n));
            dot_tensor_label(f, n->out, o.stats);
            fprintf(f, "\"];\n");
        }
        for (int j = 0; j < n->n_in; j++) {
            const tg_tensor *x = n->in[j];
            if (x->node >= 0) {
                int src_f = FOLDED(x->node), dst_f = FOLDED(i);
                if (src_f && dst_f && blk[x->node] == blk[i]) continue; /* inside a fold */
                /* into a fold: one edge per outside source (the fold's first use) */
                if (dst_f && !src_f) {
                    int dup = 0;
                    for (int q = first_node[blk[i]]; q < i && !dup; q++)
                        for (int r = 0; blk[q] == blk[i] && r < tp->nodes[q].n_in && !dup; r++)
                            dup = tp->nodes[q].in[r] == x;
                    for (int r = 0; r < j && !dup; r++) dup = n->in[r] == x;
                    if (dup) continue;
                }
                if (src_f) fprintf(f, "  b%d", blk[x->node]);
                else fprintf(f, "  n%d", x->node);
                if (dst_f) fprintf(f, " -> b%d;\n", blk[i]);
                else fprintf(f, " -> n%d;\n", i);
            } else if (!FOLDED(i)) {
                fprintf(f, "  \"leaf%p\" [shape=ellipse, label=\"", (const void *)x);
                dot_escaped(f, x->name ? x->name : "input");
                dot_tensor_label(f, x, o.stats);
                fprintf(f, "\"];\n  \"leaf%p\" -> n%d;\n", (const void *)x, i);
            }
        }
    }
    fprintf(f, "}\n");
#undef FOLDED
    free(blk), free(names), free(first_node), free(count), free(last_node), free(folded),
        free(emitted);
}

void tg_tape_dot(const tg_tape *tp, FILE *f) { tg_tape_dot_opts(tp, f, NULL); }

/* ---- profile ------------------------------------------------------------ */

void tg_node_flops(const tg_node *n, double *fwd, double *bwd) {
    const tg_tensor *y = n->out;
    double e = (double)y->size, in0 = (double)n->in[0]->size;
    double f = 0.0, b = 0.0; /* per-element conventions below: forward, backward */
    switch (n->op) {
    case TG_OP_matmul: {
        /* out [..., M, N] from a [..., M, K] (or its transpose): K = |a| / (|out| / N) */
        double N = y->shape[y->ndim - 1], K = in0 / (e / N);
        f = 2.0 * e * K;
        b = 2.0 * f; /* dA and dB: one product each */
        break;
    }
    case TG_OP_attention: {
        /* q [B, Lq, H·D], k [B, Lk, H·D], v [B, Lk, H·Dv] */
        const tg_tensor *q = n->in[0], *k = n->in[1], *v = n->in[2];
        double BLqLk = (double)q->shape[0] * q->shape[1] * k->shape[1];
        double HD = q->shape[2], HDv = v->shape[2];
        f = 2.0 * BLqLk * (HD + HDv);         /* S = QKᵀ, O = PV */
        b = 2.0 * BLqLk * (3.0 * HD + 2.0 * HDv); /* S again, dV, dP, dQ, dK */
        break;
    }
    case TG_OP_add: case TG_OP_sub: case TG_OP_scale: case TG_OP_add_scalar:
        f = e, b = e;
        break;
    case TG_OP_mul: f = e, b = 2.0 * e; break;
    case TG_OP_sum: case TG_OP_mean: case TG_OP_sum_last: case TG_OP_mean_last: case TG_OP_max:
        f = in0, b = in0;
        break;
    case TG_OP_exp: case TG_OP_log: case TG_OP_tanh: case TG_OP_sigmoid: case TG_OP_relu:
    case TG_OP_leaky_relu: case TG_OP_elu:
        f = e, b = 2.0 * e;
        break;
    case TG_OP_gelu: f = 8.0 * e, b = 14.0 * e; break;
    case TG_OP_softmax: case TG_OP_log_softmax: f = 5.0 * e, b = 4.0 * e; break;
    case TG_OP_cross_entropy: f = 4.0 * in0, b = 3.0 * in0; break;
    case TG_OP_layernorm: f = 8.0 * e, b = 12.0 * e; break;
    case TG_OP_dropout: f = e, b = e; break;
    case TG_OP_conv2d: {
        /* y [B, Ho, Wo, C_out] from w [C_out, kh, kw, C_in]: K = |w| / C_out per output */
        double K = (double)n->in[1]->size / n->in[1]->shape[0];
        f = 2.0 * e * K;
        b = 2.0 * f; /* dx and dw: one product each */
        break;
    }
    case TG_OP_max_pool2d: case TG_OP_avg_pool2d: case TG_OP_global_avg_pool2d:
        f = in0, b = in0;
        break;
    case TG_OP_batchnorm: f = 7.0 * e, b = 10.0 * e; break;
    default: break; /* layout ops (reshape, transpose, concat, slice, embedding), custom */
    }
    *fwd = f;
    *bwd = b;
}

static int cmp_rows(const void *pa, const void *pb) {
    const tg_profile_row *a = pa, *b = pb;
    double ta = a->fwd_seconds + a->bwd_seconds, tb = b->fwd_seconds + b->bwd_seconds;
    return ta < tb ? 1 : ta > tb ? -1 : strcmp(a->op, b->op);
}

/* All kinds, aggregated, sorted; *n_kinds set; caller frees. */
static tg_profile_row *profile_all(const tg_tape *tp, int *n_kinds) {
    tg_profile_row *rows = tg_xcalloc((size_t)(tp->n_nodes + 1) * sizeof *rows);
    int k = 0;
    for (int i = 0; i < tp->n_nodes; i++) {
        const tg_node *n = &tp->nodes[i];
        const char *name = node_name(n);
        int r = 0;
        while (r < k && strcmp(rows[r].op, name)) r++;
        if (r == k) rows[k++].op = name;
        double f, b;
        tg_node_flops(n, &f, &b);
        rows[r].nodes++;
        rows[r].fwd_seconds += n->fwd_seconds;
        rows[r].bwd_seconds += n->bwd_seconds;
        rows[r].flops += f + (n->bwd_seconds > 0.0 || n->out->grad ? b : 0.0);
        rows[r].fwd_bytes += n->fwd_bytes;
        rows[r].bwd_bytes += n->bwd_bytes;
    }
    qsort(rows, (size_t)k, sizeof *rows, cmp_rows);
    *n_kinds = k;
    return rows;
}

int tg_tape_profile_rows(const tg_tape *tp, tg_profile_row *rows, int max) {
    int k;
    tg_profile_row *all = profile_all(tp, &k);
    memcpy(rows, all, (size_t)(k < max ? k : max) * sizeof *rows);
    free(all);
    return k;
}

void tg_tape_profile(const tg_tape *tp, FILE *f) {
    int k;
    tg_profile_row *rows = profile_all(tp, &k), tot = {.op = "total"};
    for (int r = 0; r < k; r++) {
        tot.nodes += rows[r].nodes;
        tot.fwd_seconds += rows[r].fwd_seconds;
        tot.bwd_seconds += rows[r].bwd_seconds;
        tot.flops += rows[r].flops;
        tot.fwd_bytes += rows[r].fwd_bytes;
        tot.bwd_bytes += rows[r].bwd_bytes;
    }
    double T = tot.fwd_seconds + tot.bwd_seconds;
    const double MiB = 1024.0 * 1024.0;
    if (!tp->profile && T == 0.0)
        fprintf(f, "(no profile: call tg_tape_set_profile(tp, 1) before the forward)\n");
    fprintf(f, "%-16s %5s %9s %9s %9s %6s %9s %8s %10s %6s %9s\n", "op", "nodes", "fwd ms",
            "bwd ms", "total ms", "time%", "GFLOP", "GFLOP/s", "saved MiB", "mem%", "grad MiB");
    for (int r = 0; r <= k; r++) {
        const tg_profile_row *w = r < k ? &rows[r] : &tot;
        double t = w->fwd_seconds + w->bwd_seconds;
        if (r == k) fprintf(f, "%.*s\n", 109, "----------------------------------------------"
                                              "----------------------------------------------"
                                              "-----------------");
        fprintf(f, "%-16s %5d %9.2f %9.2f %9.2f %5.1f%% %9.3f %8.1f %10.2f %5.1f%% %9.2f\n",
                w->op, w->nodes, 1e3 * w->fwd_seconds, 1e3 * w->bwd_seconds, 1e3 * t,
                T > 0.0 ? 100.0 * t / T : 0.0, 1e-9 * w->flops, t > 0.0 ? 1e-9 * w->flops / t : 0.0,
                w->fwd_bytes / MiB, tot.fwd_bytes ? 100.0 * w->fwd_bytes / tot.fwd_bytes : 0.0,
                w->bwd_bytes / MiB);
    }
    free(rows);
}
