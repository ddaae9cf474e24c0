/* core/ops/unary.c — elementwise functions of one tensor: exp, log, tanh,
 * sigmoid, relu, leaky_relu, elu, gelu.  Derivations:
 * docs/derivations/unary.md (one section per function).
 *
 * All eight share one forward and one backward skeleton: y[i] = f(x[i]) and
 * dx[i] += f'(x[i]) · dy[i].  The function is chosen by the tape op itself
 * (TG_OP_exp, ...), so the node needs to save nothing but the parameter of
 * leaky_relu (slope) and elu (alpha).  Shapes: x [...] -> y [...], the same.
 * The backward reads x (n->in[0]) and y (n->out), both kept on the tape.
 */
#include <math.h>

#include "core/kernels/vmath.h"
#include "core/ops/internal.h"

typedef struct {
    float a; /* slope (leaky_relu), alpha (elu); unused otherwise */
} unary_ctx;

/* √(2/π) and the cubic coefficient of the tanh approximation of gelu. */
#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f

/* y = f(x) for one element.  exp, tanh, sigmoid, expm1 are the inline,
 * vectorisable ones of core/kernels/vmath.h (libm's are a call per element);
 * sigmoid there is 1/(1 + e^{−x}), where e^{−x} = inf simply gives 0. */
static inline float unary_f(tg_op op, float a, float x) {
    switch (op) {
    case TG_OP_exp: return tg__expf(x);
    case TG_OP_log: return logf(x); /* -inf at 0, NaN below: as math says */
    case TG_OP_tanh: return tg__tanhf(x);
    case TG_OP_sigmoid: return tg__sigmoidf(x);
    case TG_OP_relu: return x > 0.0f ? x : 0.0f;
    case TG_OP_leaky_relu: return x > 0.0f ? x : a * x;
    case TG_OP_elu: return x > 0.0f ? x : a * tg__expm1f(x);
    case TG_OP_gelu: return 0.5f * x * (1.0f + tg__tanhf(GELU_K * (x + GELU_C * x * x * x)));
    default: return NAN;
    }
}

/* f'(x) for one element, given x and y = f(x). */
static inline float unary_df(tg_op op, float a, float x, float y) {
    switch (op) {
    case TG_OP_exp: return y;                           /* (eˣ)' = eˣ */
    case TG_OP_log: return 1.0f / x;                    /* (ln x)' = 1/x */
    case TG_OP_tanh: return 1.0f - y * y;               /* tanh' = 1 − tanh² */
    case TG_OP_sigmoid: return y * (1.0f - y);          /* σ' = σ(1 − σ) */
    case TG_OP_relu: return x > 0.0f ? 1.0f : 0.0f;     /* [x > 0] */
    case TG_OP_leaky_relu: return x > 0.0f ? 1.0f : a;  /* 1 or slope */
    case TG_OP_elu: return x > 0.0f ? 1.0f : y + a;     /* 1 or αeˣ = y + α */
    case TG_OP_gelu: {
        /* y = ½x(1 + t), t = tanh(u), u = k(x + c·x³):
         * y' = ½(1 + t) + ½x(1 − t²)·k(1 + 3c·x²) */
        float t = tg__tanhf(GELU_K * (x + GELU_C * x * x * x));
        return 0.5f * (1.0f + t) +
               0.5f * x * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * x * x);
    }
    default: return NAN;
    }
}

/* One loop per op kind, so that in each the op is a constant, unary_f /
 * unary_df fold to one branch-free expression and the loop vectorises (a
 * switch per element would keep it scalar).  BODY is the loop body over i. */
#define UNARY_CASE(OP, N, BODY) \
    case OP: {                                                                                \
        TG_OMP_FOR(N) for (int64_t i = 0; i < (N); i++) { BODY(OP); }                         \
    } break;
#define UNARY_SWITCH(op, N, BODY)                                                             \
    switch (op) {                                                                             \
        UNARY_CASE(TG_OP_exp, N, BODY) UNARY_CASE(TG_OP_log, N, BODY)                         \
        UNARY_CASE(TG_OP_tanh, N, BODY) UNARY_CASE(TG_OP_sigmoid, N, BODY)                    \
        UNARY_CASE(TG_OP_relu, N, BODY) UNARY_CASE(TG_OP_leaky_relu, N, BODY)                 \
        UNARY_CASE(TG_OP_elu, N, BODY) UNARY_CASE(TG_OP_gelu, N, BODY)                        \
    default: TG_CHECK(0, "unary", "op %d is not a unary op", (int)(op));                      \
    }

/* y[i] = f(x[i]) for x [...] -> y [...].  Saves the parameter a (if any). */
static tg_tensor *unary_forward(tg_tape *tp, const char *opname, tg_op op, float a,
                                tg_tensor *x) {
    TG_CHECK_TENSOR(opname, x);
    tg_tensor *out = tg__out(tp, x->ndim, x->shape);
    const float *xd = x->data;
    float *y = out->data;
    int64_t N = x->size;
#define FWD(OP) y[i] = unary_f(OP, a, xd[i])
    UNARY_SWITCH(op, N, FWD)
#undef FWD
    tg_node *n = tg__record(tp, op, out, 1, &x);
    if (n) ((unary_ctx *)tg__node_ctx(tp, n, sizeof(unary_ctx)))->a = a;
    return out;
}

static void unary_backward(tg_node *n) {
    tg_op op = n->op;
    float a = ((const unary_ctx *)n->ctx)->a;
    const float *x = n->in[0]->data, *y = n->out->data, *dy = n->out->grad;
    float *dx = n->in[0]->grad;
    if (!dx) return;
    int64_t N = n->out->size;
    /* y = f(x)  =>  dx += f'(x) · dy */
#define BWD(OP) dx[i] += unary_df(OP, a, x[i], y[i]) * dy[i]
    UNARY_SWITCH(op, N, BWD)
#undef BWD
}

/* exp: y = eˣ, y' = y. */
tg_tensor *tg_exp(tg_tape *tp, tg_tensor *x) { return unary_forward(tp, "tg_exp", TG_OP_exp, 0.0f, x); }
void tg__exp_bwd(tg_tape *tp, tg_node *n) { (void)tp; unary_backward(n); }

/* log: y = ln x, y' = 1/x.  x <= 0 gives -inf / NaN (reported by the
 * tape's non-finite check), never an abort. */
tg_tensor *tg_log(tg_tape *tp, tg_tensor *x) { return unary_forward(tp, "tg_log", TG_OP_log, 0.0f, x); }
void tg__log_bwd(tg_tape *tp, tg_node *n) { (void)tp; unary_backward(n); }

/* tanh: y = tanh x, y' = 1 − y². */
tg_tensor *tg_tanh(tg_tape *tp, tg_tensor *x) { return unary_forward(tp, "tg_tanh", TG_OP_tanh, 0.0f, x); }
void tg__tanh_bwd(tg_tape *tp, tg_node *n) { (void)tp; unary_backward(n); }

/* sigmoid: y = 1/(1 + e⁻ˣ), y' = y(1 − y). */
tg_tensor *tg_sigmoid(tg_tape *tp, tg_tensor *x) { return unary_forward(tp, "tg_sigmoid", TG_OP_sigmoid, 0.0f, x); }
void tg__sigmoid_bwd(tg_tape *tp, tg_node *n) { (void)tp; unary_backward(n); }

/* relu: y = max(x, 0), y' = [x > 0] (0 at the kink). */
tg_tensor *tg_relu(tg_tape *tp, tg_tensor *x) { return unary_forward(tp, "tg_relu", TG_OP_relu, 0.0f, x); }
void tg__relu_bwd(tg_tape *tp, tg_node *n) { (void)tp; unary_backward(n); }

/* leaky_relu: y = x (x > 0) or slope·x, y' = 1 or slope.  Saves slope. */
tg_tensor *tg_leaky_relu(tg_tape *tp, tg_tensor *x, float slope) {
    return unary_forward(tp, "tg_leaky_relu", TG_OP_leaky_relu, slope, x);
}
void tg__leaky_relu_bwd(tg_tape *tp, tg_node *n) { (void)tp; unary_backward(n); }

/* elu: y = x (x > 0) or alpha(eˣ − 1), y' = 1 or y + alpha.  Saves alpha. */
tg_tensor *tg_elu(tg_tape *tp, tg_tensor *x, float alpha) {
    return unary_forward(tp, "tg_elu", TG_OP_elu, alpha, x);
}
void tg__elu_bwd(tg_tape *tp, tg_node *n) { (void)tp; unary_backward(n); }

/* gelu (tanh approximation): y = ½x(1 + tanh(k(x + c·x³))), k = √(2/π),
 * c = 0.044715;  y' = ½(1 + t) + ½x(1 − t²)·k(1 + 3c·x²), t = tanh(...). */
tg_tensor *tg_gelu(tg_tape *tp, tg_tensor *x) { return unary_forward(tp, "tg_gelu", TG_OP_gelu, 0.0f, x); }
void tg__gelu_bwd(tg_tape *tp, tg_node *n) { (void)tp; unary_backward(n); }
