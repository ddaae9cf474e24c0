/* tests/exercises/gelu.c — a correct solution of the gelu exercise and,
 * with -DMISTAKE=n, typical mistakes: 1 the chain rule into the cubic term
 * forgotten, 2 the product-rule term forgotten, 3 `=` instead of `+=`.
 * For tests/test_exercises.c. */

/* The skeleton's given forward and helpers, exactly as the learner gets
 * them; its empty backward and its exercise_op are renamed out of the way. */
#define gelu_backward skeleton_backward
#define exercise_op skeleton_op
#include "skeletons/gelu.c"
#undef gelu_backward
#undef exercise_op

static void gelu_backward(const tg_tensor *out, tg_tensor *const *in, int n_in, void *ctx) {
    (void)n_in, (void)ctx;
    const tg_tensor *x = in[0];
    const float *dy = out->grad;
    if (!x->grad) return;
    for (int64_t i = 0; i < out->size; i++) {
        float v = x->data[i], t = tanhf(GELU_K * (v + GELU_C * v * v * v));
#if MISTAKE == 1 /* chain rule stops at u: the cubic's 3c·x² forgotten */
        float du = GELU_K;
#else
        float du = GELU_K * (1.0f + 3.0f * GELU_C * v * v);
#endif
#if MISTAKE == 2 /* product rule: the derivative of the ½x factor forgotten */
        float d = 0.5f * v * (1.0f - t * t) * du;
#else
        float d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
#endif
#if MISTAKE == 3 /* assigned instead of added */
        x->grad[i] = dy[i] * d;
#else
        x->grad[i] += dy[i] * d;
#endif
    }
}

const tg_custom_op exercise_op = {"gelu", gelu_forward, gelu_backward};
