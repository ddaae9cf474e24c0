/* examples/charlm/main.c — a character-level language model on Tiny
 * Shakespeare: a decoder-only Transformer trained with teacher forcing
 * (workload W4: nanoGPT's small CPU configuration), then sampled with the
 * key/value cache of nn/decode.h.
 *
 *   build/charlm train --save runs/charlm.safetensors        # 2000 steps, W4 exactly
 *   build/charlm sample --model runs/charlm.safetensors --prompt "ROMEO:" --length 300
 *
 * Run `build/charlm <command> --help` for every option and its default.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/charlm/model.h"
#include "tapegrad.h"
#include "train/dist.h"

/* Under mpirun an error on one rank ends every rank (exit 1) with the message. */
static void die(const char *what) { tg_dist_abort(1, "charlm: %s", what); }

/* ---- the data ------------------------------------------------------------- */

/* The text as ids, split into the first 90% (train) and the rest (val). */
typedef struct {
    tg_char_vocab vocab;
    int32_t *ids;
    int64_t n, n_train;
} corpus;

static void corpus_load(corpus *c, const char *path) {
    tg_text text;
    if (tg_text_read(path, &text) != TG_OK) die(tg_last_error());
    tg_char_vocab_build(&c->vocab, text.data, text.len);
    c->ids = tg_xmalloc((size_t)text.n_chars * sizeof *c->ids);
    if (tg_char_vocab_encode(&c->vocab, path, text.data, text.len, c->ids, &c->n) != TG_OK)
        die(tg_last_error());
    c->n_train = (int64_t)(0.9 * (double)c->n); /* as nanoGPT's prepare.py: int(n * 0.9) */
    tg_text_free(&text);
}

static void corpus_free(corpus *c) {
    tg_char_vocab_free(&c->vocab);
    free(c->ids);
}

/* Mean cross-entropy over n_batches random windows of tokens[0..n)
 * (no gradient, evaluation mode). */
static double eval_loss(tg_tape *tp, charlm *m, const int32_t *tokens, int64_t n, int n_batches,
                        int B, int T, tg_rng *rng, int32_t *x, int32_t *y) {
    int was_grad = tg_tape_set_grad(tp, 0), was_training = tg_tape_set_training(tp, 0);
    double sum = 0.0;
    for (int i = 0; i < n_batches; i++) {
        tg_random_windows(tokens, n, B, T, rng, x, y, NULL);
        tg_tape_reset(tp);
        sum += tg_cross_entropy(tp, charlm_forward(tp, m, x, B, T), y, -1, TG_MEAN)->data[0];
    }
    tg_tape_set_grad(tp, was_grad);
    tg_tape_set_training(tp, was_training);
    return sum / n_batches;
}

/* Mean cross-entropy over every prediction of the consecutive windows
 * tokens[kT .. kT+T] (k = 0, 1, ... while the window fits), B windows per
 * forward: the whole split once, no sampling noise.  *n_windows receives
 * the count.  Under MPI each rank takes a contiguous share of the windows
 * (rank r: [r·W/world, (r+1)·W/world)) and the sums are added over the
 * ranks, so the split is read once in all, not once per rank; every rank
 * returns the same figure, equal to one rank's up to float rounding (the
 * forwards group the windows differently). */
static double eval_loss_full(tg_tape *tp, charlm *m, const int32_t *tokens, int64_t n, int B, int T,
                             int32_t *x, int32_t *y, int64_t *n_windows) {
    int was_grad = tg_tape_set_grad(tp, 0), was_training = tg_tape_set_training(tp, 0);
    const int64_t W = (n - 1) / T, r = tg_dist_rank(), world = tg_dist_world();
    const int64_t end = W * (r + 1) / world;
    int64_t done = W * r / world;
    double sum = 0.0;
    while (done < end) {
        int b = (int)(end - done < B ? end - done : B);
        for (int i = 0; i < b; i++)
            for (int t = 0; t < T; t++) {
                int64_t k = (done + i) * T + t;
                x[i * T + t] = tokens[k];
                y[i * T + t] = tokens[k + 1];
            }
        tg_tape_reset(tp);
        sum += (double)b * tg_cross_entropy(tp, charlm_forward(tp, m, x, b, T), y, -1, TG_MEAN)->data[0];
        done += b;
    }
    tg_dist_allreduce(&sum, 1, TG_DIST_SUM); /* every rank's share */
    tg_tape_set_grad(tp, was_grad);
    tg_tape_set_training(tp, was_training);
    *n_windows = W;
    return W ? sum / (double)W : NAN;
}

/* ---- checkpoints ------------------------------------------------------------ */

static void save_model(const char *path, charlm *m, const tg_char_vocab *v, int64_t step) {
    tg_checkpoint_extra ex = {.step = step};
    char *cfg = charlm_config_to_json(&m->cfg), *vs = tg_char_vocab_to_string(v);
    tg_checkpoint_meta_set(&ex, "charlm.config", cfg);
    tg_checkpoint_meta_set(&ex, "charlm.vocab", vs);
    if (tg_dist_checkpoint_save(path, &m->ps, &ex) != TG_OK) die(tg_last_error()); /* rank 0 writes */
    tg_checkpoint_extra_free(&ex);
    free(cfg);
    free(vs);
}

static void load_model(const char *path, charlm *m, tg_char_vocab *v) {
    if (charlm_load(path, m, v) != TG_OK) die(tg_last_error());
}

/* ---- train ------------------------------------------------------------------- */

static int cmd_train(int argc, char **argv) {
    const char *data = "data/tinyshakespeare/input.txt", *save = "runs/charlm.safetensors";
    const char *metrics = NULL;
    int steps = 2000, batch = 12, block = 64, n_layer = 4, n_head = 4, d_model = 128;
    int warmup = 100, eval_batches = 20, log_every = 100, seed = 1337;
    float lr = 1e-3f, min_lr = 1e-4f, wd = 0.1f, beta2 = 0.99f, clip = 1.0f;
    double budget = 0.0;
    const tg_cli_opt opts[] = {
        {"data", TG_CLI_STRING, &data, "the text file (plain or gzip, UTF-8)"},
        {"steps", TG_CLI_INT, &steps, "optimizer steps"},
        {"batch-size", TG_CLI_INT, &batch, "windows per step (B)"},
        {"block-size", TG_CLI_INT, &block, "characters per window, the context (T)"},
        {"n-layer", TG_CLI_INT, &n_layer, "Transformer blocks"},
        {"n-head", TG_CLI_INT, &n_head, "attention heads (H)"},
        {"d-model", TG_CLI_INT, &d_model, "model width (C); the MLP is 4·C"},
        {"lr", TG_CLI_FLOAT, &lr, "peak learning rate (AdamW)"},
        {"min-lr", TG_CLI_FLOAT, &min_lr, "learning rate at the end of the cosine decay"},
        {"warmup", TG_CLI_INT, &warmup, "linear warm-up steps"},
        {"weight-decay", TG_CLI_FLOAT, &wd, "AdamW decoupled weight decay (matrices only)"},
        {"beta2", TG_CLI_FLOAT, &beta2, "AdamW beta2 (beta1 is 0.9)"},
        {"clip", TG_CLI_FLOAT, &clip, "gradient clipping: max global L2 norm"},
        {"eval-batches", TG_CLI_INT, &eval_batches, "random validation batches at the end"},
        {"log-every", TG_CLI_INT, &log_every, "progress line every N steps"},
        {"seed", TG_CLI_INT, &seed, "seed of the init and of the windows"},
        {"time-budget", TG_CLI_DOUBLE, &budget, "stop early after S seconds (0: none; a guard)"},
        {"save", TG_CLI_OUTPUT, &save, "checkpoint to write (safetensors)"},
        {"metrics-json", TG_CLI_OUTPUT, &metrics, "write the final figures as JSON here"},
    };
    int r = tg_cli_subcommand(argc, argv, "charlm train", opts, sizeof opts / sizeof *opts,
                       "Trains the character Transformer with teacher forcing (defaults: W4).");
    if (r >= 0) return r;
    if (steps < 1 || batch < 1 || batch > 1 << 16 || eval_batches < 1 || log_every < 1 || warmup < 0 ||
        warmup > steps)
        die("train: need steps, eval-batches, log-every >= 1, batch-size in 1..65536, 0 <= warmup <= steps");
    charlm_config cfg = {1, block, n_layer, n_head, d_model}; /* the vocabulary comes from the text */
    if (charlm_config_check(&cfg, "charlm train") != TG_OK) die(tg_last_error());

    /* the text: first 90% for training, the rest for validation */
    corpus c;
    corpus_load(&c, data);
    if (tg_dist_is_root())
        printf("data: %s, %lld characters, vocabulary %d; train %lld, val %lld\n", data,
           (long long)c.n, (int)c.vocab.size, (long long)c.n_train, (long long)(c.n - c.n_train));

    if (c.n - c.n_train <= block) {
        char msg[1200];
        snprintf(msg, sizeof msg, "%s: %lld characters: expected the last 10%% (validation, %lld "
                 "characters) to be longer than block-size %d", data, (long long)c.n,
                 (long long)(c.n - c.n_train), block);
        die(msg);
    }

    /* the model and its optimizer */
    charlm m;
    cfg.vocab = c.vocab.size;
    if (charlm_config_check(&cfg, data) != TG_OK) die(tg_last_error());
    charlm_init(&m, &cfg, (uint64_t)seed);
    if (tg_dist_is_root())
        printf("model: %d layers, %d heads, d_model %d, block %d, %lld parameters; %d threads\n",
           n_layer, n_head, d_model, block, (long long)tg_params_count(&m.ps),
           tg_get_num_threads());
    tg_adam opt;
    tg_adamw_init(&opt, &m.ps, lr, 0.9f, beta2, 1e-8f, wd);
    tg_adam_set_decay(&opt, tg_decay_matrices, NULL);

    tg_dist_broadcast_params(&m.ps); /* every rank starts from rank 0's weights */

    /* Teacher forcing: random windows, the targets the inputs shifted by one.
     * Under mpirun every rank draws the same global batch of world x batch
     * windows and trains on its own slice of them, so 2 ranks x batch b see
     * exactly the windows of 1 process x batch 2b. */
    const int world = tg_dist_world(), rank = tg_dist_rank();
    tg_rng data_rng;
    tg_rng_seed(&data_rng, (uint64_t)seed + 1);
    const size_t win = (size_t)batch * (size_t)block;
    int32_t *xg = tg_xmalloc((size_t)world * win * sizeof *xg), *yg = tg_xmalloc((size_t)world * win * sizeof *yg);
    int32_t *x = xg + (size_t)rank * win, *y = yg + (size_t)rank * win; /* this rank's slice */
    tg_tape *tp = tg_tape_new(0);
    tg_progress pb;
    tg_progress_start(&pb, 1, 1, steps, log_every);
    if (!tg_dist_is_root()) pb.out = NULL; /* rank 0 reports */
    double t0 = tg_now(), tail_loss = 0.0;
    int step = 0, tail = 0;
    for (; step < steps; step++) {
        if (budget > 0) { /* every rank stops at the same step */
            double out = tg_now() - t0 > budget;
            tg_dist_allreduce(&out, 1, TG_DIST_MAX);
            if (out) break;
        }
        tg_random_windows(c.ids, c.n_train, world * batch, block, &data_rng, xg, yg, NULL);
        tg_tape_reset(tp);
        tg_params_zero_grad(&m.ps);
        tg_tensor *loss = tg_cross_entropy(tp, charlm_forward(tp, &m, x, batch, block), y, -1,
                                           TG_MEAN);
        if (tg_backward(tp, loss) != TG_OK) die(tg_last_error());
        tg_dist_allreduce_grads(&m.ps, TG_DIST_MEAN); /* equal slices: the mean over the global batch */
        tg_clip_grad_norm(&m.ps, clip);
        opt.lr = tg_lr_warmup_cosine(step, lr, min_lr, warmup, steps);
        tg_adam_step(&opt);
        if (step >= steps - 100) tail_loss += loss->data[0], tail++;
        tg_progress_update(&pb, step + 1, loss->data[0], (int64_t)batch * block);
    }
    tg_progress_end(&pb);
    double wall = tg_now() - t0;
    tg_dist_allreduce(&tail_loss, 1, TG_DIST_MEAN); /* the global batches' mean loss */
    if (tg_dist_check_params(&m.ps, step) != TG_OK) die(tg_last_error()); /* ranks still agree */

    /* validation: the mean over random windows of the last 10% */
    tg_rng val_rng;
    tg_rng_seed(&val_rng, (uint64_t)seed + 2);
    double val = eval_loss(tp, &m, c.ids + c.n_train, c.n - c.n_train, eval_batches, batch, block,
                           &val_rng, x, y);
    int64_t n_windows = 0;
    double val_full = eval_loss_full(tp, &m, c.ids + c.n_train, c.n - c.n_train, batch, block, x, y,
                                     &n_windows);
    if (tg_dist_is_root())
        printf("W4: %d steps in %.2f s (%.2f ms/step), train loss %.4f (mean of the last %d steps), "
           "val loss %.4f (mean of %d random batches), %.4f (all %lld windows of the split)\n",
           step, wall, 1000.0 * wall / (step ? step : 1), tail ? tail_loss / tail : NAN, tail,
           val, eval_batches, val_full, (long long)n_windows);
    if (save && *save) {
        save_model(save, &m, &c.vocab, step);
        if (tg_dist_is_root()) printf("saved %s\n", save);
    }
    if (metrics && tg_dist_is_root() &&
        tg_metrics_json_write(metrics, 5,
                              (const char *[]){"steps", "wall_s", "train_loss", "val_loss", "val_loss_full"},
                              (double[]){step, wall, tail ? tail_loss / tail : NAN, val, val_full}) != TG_OK)
        die(tg_last_error());
    free(xg);
    free(yg);
    tg_tape_free(tp);
    tg_adam_free(&opt);
    charlm_free(&m);
    corpus_free(&c);
    return 0;
}

/* ---- sample ------------------------------------------------------------------ */

/* Feeds ids[0..n) through the caches; returns the logits after the last. */
static const float *feed(tg_tape *tp, charlm *m, const int32_t *ids, int n) {
    tg_tensor *logits = NULL;
    for (int i = 0; i < n; i++) {
        tg_tape_reset(tp);
        logits = charlm_step(tp, m, &ids[i], 1);
    }
    return logits->data;
}

/* Generates `length` characters after prompt[0..n_prompt) into out (which
 * starts with the prompt: n_prompt + length ids).  Each token costs one
 * cached step.  The learned positions end at block_size: when the cache is
 * full it is refilled from the last block_size/2 tokens (so the context
 * stays between block_size/2 and block_size − 1 characters). */
static void generate(tg_tape *tp, charlm *m, int32_t *out, int n_prompt, int length, float temp,
                     int top_k, tg_rng *rng) {
    int T = m->cfg.block_size, V = m->cfg.vocab, n = n_prompt;
    float *scratch = tg_xmalloc((size_t)V * sizeof *scratch);
    int start = n > T ? n - T / 2 : 0;
    charlm_cache_reset(m);
    const float *logits = feed(tp, m, out + start, n - start);
    for (int i = 0; i < length; i++) {
        int32_t next = tg_sample_logits(logits, V, temp, top_k, rng, scratch);
        out[n++] = next;
        if (charlm_cache_len(m) == T) { /* full: keep the last T/2 tokens */
            charlm_cache_reset(m);
            logits = feed(tp, m, out + n - T / 2, T / 2);
        } else {
            logits = feed(tp, m, &next, 1);
        }
    }
    free(scratch);
}

static int cmd_sample(int argc, char **argv) {
    const char *model = "runs/charlm.safetensors", *prompt = "ROMEO:";
    float temperature = 0.8f;
    int top_k = 40, length = 500, seed = 1;
    const tg_cli_opt opts[] = {
        {"model", TG_CLI_STRING, &model, "checkpoint written by charlm train"},
        {"prompt", TG_CLI_STRING, &prompt, "text to continue (characters of the vocabulary)"},
        {"temperature", TG_CLI_FLOAT, &temperature, "softmax temperature (0: greedy)"},
        {"top-k", TG_CLI_INT, &top_k, "sample among the k most likely characters (0: all)"},
        {"length", TG_CLI_INT, &length, "characters to generate"},
        {"seed", TG_CLI_INT, &seed, "seed of the sampling"},
    };
    int r = tg_cli_subcommand(argc, argv, "charlm sample", opts, sizeof opts / sizeof *opts,
                       "Continues a prompt, one character at a time (key/value cache).");
    if (r >= 0) return r;
    if (length < 0 || length > CHARLM_MAX_SAMPLE || temperature < 0 || top_k < 0 || !*prompt ||
        strlen(prompt) > CHARLM_MAX_SAMPLE)
        die("sample: need a non-empty prompt of at most 16777216 bytes, length in 0..16777216, "
            "temperature >= 0, top-k >= 0");
    charlm m;
    tg_char_vocab v;
    load_model(model, &m, &v);
    size_t n_bytes = strlen(prompt);
    int32_t *out = tg_xmalloc((n_bytes + (size_t)length) * sizeof *out);
    int64_t n_prompt;
    if (tg_char_vocab_encode(&v, "--prompt", prompt, n_bytes, out, &n_prompt) != TG_OK)
        die(tg_last_error());
    charlm_cache_init(&m, 1);
    tg_tape *tp = tg_tape_new(0);
    tg_tape_set_grad(tp, 0);
    tg_tape_set_training(tp, 0);
    tg_rng rng;
    tg_rng_seed(&rng, (uint64_t)seed);
    double t0 = tg_now();
    generate(tp, &m, out, (int)n_prompt, length, temperature, top_k, &rng);
    double dt = tg_now() - t0;
    char *text = tg_char_vocab_decode(&v, out, n_prompt + length);
    fputs(text, stdout);
    fputc('\n', stdout);
    fprintf(stderr, "charlm sample: %d characters in %.3f s (%.0f characters/s, cached decoding)\n",
            length, dt, dt > 0 ? length / dt : 0.0);
    free(text);
    free(out);
    tg_tape_free(tp);
    charlm_free(&m);
    tg_char_vocab_free(&v);
    return 0;
}

int main(int argc, char **argv) {
    static const tg_cli_command cmds[] = {
        {"train", "train the character Transformer on a text (W4 defaults)", cmd_train},
        {"sample", "continue a prompt with a trained model", cmd_sample},
    };
    if (tg_dist_init(&argc, &argv) != TG_OK) die(tg_last_error()); /* under mpirun: one rank of many */
    int rc = tg_cli_run(argc, argv, "charlm", cmds, (int)(sizeof cmds / sizeof *cmds));
    tg_dist_finalize();
    return rc;
}

