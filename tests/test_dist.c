/* tests/test_dist.c — data parallelism (train/dist.h).
 *
 * In every build: the single-process API (world of 1: reductions leave
 * values, the batcher unsharded), and the refusal to run under mpirun when
 * built without MPI.  Built with MPI=1, this program also launches itself
 * under `mpirun -np 2` (argv[1] == "--worker") to show:
 *   - 20 steps of 2 ranks × local batch 8 give the parameters of 1 process
 *     with batch 16, to 1e-6 relative (the last batch of each epoch splits
 *     4 + 3, so the exact recipe of dist.h is exercised);
 *   - a run stopped after 13 steps and resumed from its checkpoint equals the
 *     uninterrupted 2-rank run bit for bit;
 *   - a rank killed with SIGKILL, a non-finite loss on one rank, a missing
 *     checkpoint on one rank, ranks whose parameters disagree: every rank
 *     ends with an error within seconds (each launch has a time limit; a hang
 *     fails the test and its process group is killed);
 *   - tg_dist_gather: rank 0 receives every rank's records (a different
 *     number from each, none from one) in rank order.
 * In every build, tg_dist_assign (a pure function) is tested on its own.
 */
#define _POSIX_C_SOURCE 200809L
#include "tests/helpers/testutil.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "train/dist.h"

/* ---- the model and data every run trains ---------------------------------- */

enum { N_ITEMS = 151, L = 4, C_IN = 8, D = 16, K = 5, STEPS = 20, LOCAL_B = 8 };

typedef struct {
    tg_params ps;
    tg_linear embed, head;
    tg_encoder_block blk;
    tg_layernorm_layer ln_f;
    float x[N_ITEMS][L][C_IN];
    int32_t y[N_ITEMS];
} toy;

static void toy_init(toy *t, uint64_t seed) {
    tg_rng rng;
    tg_rng_seed(&rng, 42); /* the data: the same everywhere */
    for (int i = 0; i < N_ITEMS; i++) {
        float s = 0;
        for (int l = 0; l < L; l++)
            for (int c = 0; c < C_IN; c++) {
                t->x[i][l][c] = tg_rng_normal(&rng);
                s += t->x[i][l][c] * (float)(c + 1);
            }
        t->y[i] = (int32_t)((s > 0 ? s : -s) * 0.5f) % K;
    }
    tg_rng_seed(&rng, seed); /* the weights: rank 0's win through the broadcast */
    tg_params_init(&t->ps);
    tg_linear_init(&t->embed, &t->ps, "embed", C_IN, D, TG_NN_BIAS, &rng);
    /* No biases in the block: the key projection's bias has a gradient that
     * is 0 in exact arithmetic (softmax ignores a constant added to a row of
     * scores), so it holds rounding noise, which Adam scales up to ±lr steps
     * that differ with the summation order (docs/distributed.md). */
    tg_block_config cfg = {.d_model = D, .n_heads = 2, .d_ff = 32, .pre_ln = 1, .flags = 0};
    tg_encoder_block_init(&t->blk, &t->ps, "blk", &cfg, &rng);
    tg_layernorm_layer_init(&t->ln_f, &t->ps, "ln_f", D, TG_NN_BIAS);
    tg_linear_init(&t->head, &t->ps, "head", D, K, TG_NN_BIAS, &rng);
}

/* The loss of items idx[0..b) summed, divided by the global batch size. */
static tg_tensor *toy_loss(tg_tape *tp, toy *t, const int64_t *idx, int64_t b, int64_t global) {
    tg_tensor *x = tg_tape_tensor(tp, TG_SHAPE((int)b, L, C_IN));
    int32_t *y = tg_xmalloc((size_t)b * sizeof *y);
    for (int64_t i = 0; i < b; i++) {
        memcpy(x->data + i * L * C_IN, t->x[idx[i]], sizeof t->x[0]);
        y[i] = t->y[idx[i]];
    }
    tg_tensor *h = tg_encoder_block_forward(tp, &t->blk, tg_linear_forward(tp, &t->embed, x), NULL);
    h = tg_layernorm_layer_forward(tp, &t->ln_f, h);
    h = tg_reshape(tp, tg_slice(tp, h, 1, 0, 1), TG_SHAPE((int)b, D)); /* token 0 */
    tg_tensor *loss = tg_cross_entropy(tp, tg_linear_forward(tp, &t->head, h), y, -1, TG_SUM);
    free(y);
    return tg_scale(tp, loss, 1.0f / (float)global);
}

typedef struct {
    int local_b, steps, stop_after; /* stop_after: save a checkpoint there and exit */
    const char *out, *ckpt, *resume;
    int nonfinite_rank;             /* >= 0: that rank's loss turns NaN at step 3 */
    int pid_dir;                    /* write pid files, then train until killed */
    const char *dir;
} run_opts;

static void write_pid(const char *dir) {
    char path[512], text[32];
    snprintf(path, sizeof path, "%s/pid.%d", dir, tg_dist_rank());
    snprintf(text, sizeof text, "%d\n", (int)getpid());
    if (tg_write_file_atomic(path, text, strlen(text)) != TG_OK) tg_dist_abort(1, "%s", tg_last_error());
}

/* Trains the toy for o->steps global steps on this rank's shards; returns 0. */
static int toy_train(const run_opts *o) {
    toy *t = tg_xcalloc(sizeof *t);
    toy_init(t, 1000u + (uint64_t)tg_dist_rank()); /* different seeds: the broadcast must fix it */
    tg_dist_broadcast_params(&t->ps);
    tg_adam opt;
    tg_adamw_init(&opt, &t->ps, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f);
    tg_rng data_rng, epoch_start;
    tg_rng_seed(&data_rng, 7);
    tg_batcher bt;
    tg_batcher_init(&bt, N_ITEMS, o->local_b, 0, &data_rng);
    tg_batcher_shard(&bt, tg_dist_rank(), tg_dist_world());
    const int64_t per_epoch = tg_batcher_n_batches(&bt);
    int64_t step = 0, epoch = 0, skip = 0;
    if (o->resume) {
        tg_checkpoint_extra ex = {.adam = &opt, .rng = {&epoch_start}};
        if (tg_dist_checkpoint_load(o->resume, &t->ps, &ex) != TG_OK) tg_dist_abort(1, "%s", tg_last_error());
        step = ex.step;
        epoch = ex.epoch;
        skip = step - epoch * per_epoch; /* batches of this epoch already taken */
        data_rng = epoch_start;
        tg_checkpoint_extra_free(&ex);
    }
    tg_tape *tp = tg_tape_new(0);
    for (; step < o->steps || o->pid_dir; epoch++) {
        epoch_start = data_rng; /* what a resume needs to redraw this epoch's order */
        tg_batcher_epoch(&bt);
        const int64_t *idx;
        int64_t b;
        for (; skip > 0; skip--) tg_batcher_next(&bt, &idx);
        while ((o->pid_dir || step < o->steps) && (b = tg_batcher_next(&bt, &idx)) > 0) {
            if (o->stop_after && step == o->stop_after) {
                tg_checkpoint_extra ex = {.adam = &opt, .rng = {&epoch_start}, .step = step, .epoch = epoch};
                if (tg_dist_checkpoint_save(o->ckpt, &t->ps, &ex) != TG_OK) tg_dist_abort(1, "%s", tg_last_error());
                goto done;
            }
            tg_tape_reset(tp);
            tg_params_zero_grad(&t->ps);
            tg_tensor *loss = toy_loss(tp, t, idx, b, bt.global);
            if (step == 3 && tg_dist_rank() == o->nonfinite_rank) loss->data[0] = NAN;
            if (!isfinite(loss->data[0]))
                tg_dist_abort(1, "test_dist: non-finite loss at step %lld", (long long)step);
            if (tg_backward(tp, loss) != TG_OK) tg_dist_abort(1, "%s", tg_last_error());
            tg_dist_allreduce_grads(&t->ps, TG_DIST_SUM);
            tg_adam_step(&opt);
            step++;
            if (o->pid_dir && step == 3) write_pid(o->dir);
            if (o->pid_dir) {
                struct timespec ts = {0, 20 * 1000 * 1000}; /* a step every ~20 ms, until killed */
                nanosleep(&ts, NULL);
                if (step > 3000) tg_dist_abort(1, "test_dist: not killed after 3000 steps");
            }
        }
    }
    if (o->out && tg_dist_is_root() &&
        tg_write_file_atomic(o->out, t->ps.data, (size_t)t->ps.total * sizeof(float)) != TG_OK)
        tg_dist_abort(1, "%s", tg_last_error());
done:
    tg_tape_free(tp);
    tg_batcher_free(&bt);
    tg_adam_free(&opt);
    tg_params_free(&t->ps);
    free(t);
    return 0;
}

/* A record as the examples gather them: a struct with a hole and a double. */
typedef struct {
    int32_t rank;
    int64_t index;
    double value;
} record;

/* Rank r sends 2r records (none from rank 0), with r = 1 adding a third;
 * rank 0 checks it received them all, in rank order, byte for byte. */
static void gather_check(void) {
    const int rank = tg_dist_rank(), world = tg_dist_world();
    int n_mine = 2 * rank + (rank == 1);
    record mine[64];
    memset(mine, 0, sizeof mine);
    for (int i = 0; i < n_mine; i++) mine[i] = (record){rank, i, rank + 0.125 * i};
    int64_t n_all = -1;
    record *all = tg_dist_gather(mine, n_mine, sizeof *mine, &n_all);
    if (!tg_dist_is_root()) {
        if (all || n_all != 0) tg_dist_abort(1, "gather: rank %d got records", rank);
        return;
    }
    int64_t at = 0;
    for (int r = 0; r < world; r++)
        for (int i = 0; i < 2 * r + (r == 1); i++, at++)
            if (at >= n_all || all[at].rank != r || all[at].index != i || all[at].value != r + 0.125 * i)
                tg_dist_abort(1, "gather: record %lld is not rank %d's number %d", (long long)at, r, i);
    if (at != n_all) tg_dist_abort(1, "gather: %lld records, expected %lld", (long long)n_all, (long long)at);
    printf("gather: %lld records from %d ranks in rank order\n", (long long)n_all, world);
    free(all);
}

/* `test_dist --worker <mode> <dir>`: one rank of a launch by the tests below. */
static int worker(int argc, char **argv) {
    if (argc < 2) return 2;
    if (tg_dist_init(&argc, &argv) != TG_OK) tg_dist_abort(1, "%s", tg_last_error());
    tg_set_num_threads(1);
    const char *mode = argv[0], *dir = argv[1];
    if (!strcmp(mode, "gather")) {
        gather_check();
        tg_dist_finalize();
        return 0;
    }
    char out[512], ckpt[512];
    snprintf(out, sizeof out, "%s/%s.params", dir, mode);
    snprintf(ckpt, sizeof ckpt, "%s/ck.safetensors", dir);
    run_opts o = {.local_b = LOCAL_B, .steps = STEPS, .out = out, .nonfinite_rank = -1, .dir = dir};
    if (!strcmp(mode, "first13")) o.stop_after = 13, o.ckpt = ckpt, o.out = NULL;
    else if (!strcmp(mode, "resumed")) o.resume = ckpt;
    else if (!strcmp(mode, "nonfinite")) o.nonfinite_rank = 1;
    else if (!strcmp(mode, "kill")) o.pid_dir = 1;
    else if (!strcmp(mode, "missing")) {
        /* rank 1 alone lacks the file: both must stop with rank 1's message */
        snprintf(ckpt, sizeof ckpt, "%s/%s.safetensors", dir, tg_dist_rank() == 1 ? "absent" : "ck");
        o.resume = ckpt;
    } else if (!strcmp(mode, "disagree")) {
        snprintf(ckpt, sizeof ckpt, "%s/%s.safetensors", dir, tg_dist_rank() == 1 ? "other" : "ck");
        o.resume = ckpt;
    } else if (strcmp(mode, "whole")) return 2;
    toy_train(&o);
    tg_dist_finalize();
    return 0;
}

/* ---- launching mpirun ------------------------------------------------------ */

static char self_exe[4096];

typedef struct {
    int status;      /* waitpid status */
    double seconds;  /* wall time of the launch */
    char out[8192];  /* its stdout and stderr */
} launch;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Starts `mpirun -np 2 self --worker mode dir` in its own process group,
 * output to dir/mode.log; returns its pid. */
static pid_t mpirun_start(const char *mode) {
    char log[512];
    snprintf(log, sizeof log, "%s/%s.log", tu_tmpdir(), mode);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("OMP_NUM_THREADS", "1", 1);
        execlp("mpirun", "mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", self_exe,
               "--worker", mode, tu_tmpdir(), (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    return pid;
}

/* Waits at most limit seconds; on timeout kills the whole group and fails. */
static void mpirun_wait(pid_t pid, const char *mode, double limit, double t0, launch *r) {
    for (;;) {
        pid_t w = waitpid(pid, &r->status, WNOHANG);
        if (w == pid) break;
        if (now_s() - t0 > limit) {
            kill(-pid, SIGKILL);
            waitpid(pid, &r->status, 0);
            fail_msg("mpirun %s still running after %.0f s: a hang", mode, limit);
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    r->seconds = now_s() - t0;
    char log[512];
    snprintf(log, sizeof log, "%s/%s.log", tu_tmpdir(), mode);
    FILE *f = fopen(log, "rb");
    size_t n = f ? fread(r->out, 1, sizeof r->out - 1, f) : 0;
    r->out[n] = 0;
    if (f) fclose(f);
}

static int exited_ok(const launch *r) { return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0; }

static void mpirun_run(const char *mode, double limit, launch *r) {
    double t0 = now_s();
    mpirun_wait(mpirun_start(mode), mode, limit, t0, r);
}

/* A launch that must succeed within 120 s. */
static void mpirun_ok(const char *mode) {
    launch r;
    mpirun_run(mode, 120, &r);
    if (!exited_ok(&r)) fail_msg("mpirun %s failed:\n%s", mode, r.out);
}

static int64_t toy_param_count(void) {
    toy *t = tg_xcalloc(sizeof *t);
    toy_init(t, 1);
    int64_t n = t->ps.total;
    tg_params_free(&t->ps);
    free(t);
    return n;
}

static float *read_params(const char *mode, int64_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.params", tu_tmpdir(), mode);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    float *p = tg_xmalloc((size_t)n * sizeof *p);
    assert_int_equal(fread(p, sizeof *p, (size_t)n, f), (size_t)n);
    assert_int_equal(fgetc(f), EOF);
    fclose(f);
    return p;
}

/* ---- tests in every build --------------------------------------------------- */

static void test_single_process(void **state) {
    (void)state;
    assert_int_equal(tg_dist_rank(), 0);
    assert_int_equal(tg_dist_world(), 1);
    assert_true(tg_dist_is_root());
    double x[3] = {1.5, -2, 3};
    for (int op = TG_DIST_SUM; op <= TG_DIST_MIN; op++) {
        tg_dist_allreduce(x, 3, (tg_dist_op)op);
        assert_true(x[0] == 1.5 && x[1] == -2 && x[2] == 3);
    }
    tg_dist_barrier();
    assert_int_equal(tg_dist_agree(TG_OK), TG_OK);
    tg_set_error(TG_ERR_IO, "x.bin: cannot open");
    assert_int_equal(tg_dist_agree(TG_ERR_IO), TG_ERR_IO);
    assert_string_equal(tg_last_error(), "x.bin: cannot open");
    toy *t = tg_xcalloc(sizeof *t);
    toy_init(t, 3);
    t->ps.grad[0] = 0.25f;
    uint64_t sum = tg_params_checksum(&t->ps);
    tg_dist_broadcast_params(&t->ps);
    tg_dist_allreduce_grads(&t->ps, TG_DIST_MEAN);
    assert_true(t->ps.grad[0] == 0.25f);
    assert_true(tg_params_checksum(&t->ps) == sum);
    assert_int_equal(tg_dist_check_params(&t->ps, 5), TG_OK);
    t->ps.data[t->ps.total - 1] += 1e-3f; /* one parameter changed: another checksum */
    assert_true(tg_params_checksum(&t->ps) != sum);
    TU_EXPECT_DEATH(tg_dist_allreduce_grads(&t->ps, TG_DIST_MAX), "TG_DIST_SUM or TG_DIST_MEAN");
    TU_EXPECT_DEATH(tg_dist_abort(3, "pos_tagger: %s", "bad file"), "pos_tagger: bad file");
    tg_params_free(&t->ps);
    free(t);
}

/* The whole point of tg_batcher_shard: the shards of 2 ranks are, step by
 * step, the global batch of 1 process with twice the batch. */
static void test_batcher_shard(void **state) {
    (void)state;
    for (int drop_last = 0; drop_last <= 1; drop_last++)
        for (int n = 0; n <= 40; n++) {
            int world = 3, b = 4;
            tg_rng r1, rr[3];
            tg_rng_seed(&r1, 5);
            tg_batcher one, part[3];
            tg_batcher_init(&one, n, (int64_t)world * b, drop_last, &r1);
            tg_batcher_epoch(&one);
            for (int r = 0; r < world; r++) {
                tg_rng_seed(&rr[r], 5);
                tg_batcher_init(&part[r], n, b, drop_last, &rr[r]);
                tg_batcher_shard(&part[r], r, world);
                tg_batcher_epoch(&part[r]);
                assert_int_equal(tg_batcher_n_batches(&part[r]), tg_batcher_n_batches(&part[0]));
            }
            int64_t steps = 0, g;
            const int64_t *gi;
            while ((g = tg_batcher_next(&one, &gi)) > 0) {
                if (g < world) break; /* the shards drop a tail smaller than the world */
                int64_t at = 0;
                for (int r = 0; r < world; r++) {
                    const int64_t *pi;
                    int64_t pb = tg_batcher_next(&part[r], &pi);
                    assert_int_equal(pb, g / world + (r < g % world));
                    assert_int_equal(part[r].global, g);
                    assert_memory_equal(pi, gi + at, (size_t)pb * sizeof *pi);
                    at += pb;
                }
                assert_int_equal(at, g);
                steps++;
            }
            assert_int_equal(steps, tg_batcher_n_batches(&part[0]));
            for (int r = 0; r < world; r++) {
                const int64_t *pi;
                assert_int_equal(tg_batcher_next(&part[r], &pi), 0); /* every rank ends together */
                assert_int_equal(part[r].global, 0);
                tg_batcher_free(&part[r]);
            }
            tg_batcher_free(&one);
        }
    tg_batcher bt;
    tg_batcher_init(&bt, 10, 2, 0, NULL);
    TU_EXPECT_DEATH(tg_batcher_shard(&bt, 2, 2), "need 0 <= rank < world, got rank 2 of world 2");
    tg_batcher_free(&bt);
}

/* In a world of 1 the gather is a copy of this rank's records. */
static void test_gather_one_process(void **state) {
    (void)state;
    if (tg_dist_world() != 1) return;
    record mine[3] = {{0, 0, 1.5}, {0, 1, -2}, {0, 2, 1e300}};
    int64_t n = -1;
    record *all = tg_dist_gather(mine, 3, sizeof *mine, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(all, mine, sizeof mine);
    free(all);
    all = tg_dist_gather(NULL, 0, sizeof *mine, &n); /* nothing to send: an empty array */
    assert_non_null(all);
    assert_int_equal(n, 0);
    free(all);
    TU_EXPECT_DEATH(tg_dist_gather(mine, -1, sizeof *mine, &n), "need n_mine >= 0");
    TU_EXPECT_DEATH(tg_dist_gather(mine, 1, 0, &n), "of size > 0");
}

/* Longest processing time first: the worked example, the greedy bound on
 * random costs, determinism, and bad input. */
static void test_assign(void **state) {
    (void)state;
    /* 5, 4 to ranks 0, 1; 3 to rank 1 (4 < 5), 3 to rank 0 (5 < 7), 3 to rank 1
     * (7 < 8): loads 8 and 10, where the optimum is 9 ({5, 4}, {3, 3, 3}) */
    const double cost[5] = {3, 5, 3, 4, 3};
    int owner[5];
    tg_dist_assign(cost, 5, 2, owner);
    const int want[5] = {1, 0, 0, 1, 1};
    assert_memory_equal(owner, want, sizeof want);
    tg_dist_assign(cost, 5, 1, owner);
    for (int i = 0; i < 5; i++) assert_int_equal(owner[i], 0);
    const double ties[4] = {1, 1, 1, 1}; /* equal costs: round robin from rank 0 */
    tg_dist_assign(ties, 4, 3, owner);
    assert_int_equal(owner[0], 0);
    assert_int_equal(owner[1], 1);
    assert_int_equal(owner[2], 2);
    assert_int_equal(owner[3], 0);
    tg_rng rng;
    tg_rng_seed(&rng, 11);
    for (int trial = 0; trial < 50; trial++) {
        enum { N = 40 };
        double c[N], total = 0, top = 0, load[8] = {0};
        int o1[N], o2[N], world = 1 + trial % 8;
        for (int i = 0; i < N; i++) {
            c[i] = trial % 5 == 0 ? 0.0 : (double)tg_rng_below(&rng, 1000); /* some all-zero */
            total += c[i];
            top = fmax(top, c[i]);
        }
        tg_dist_assign(c, N, world, o1);
        tg_dist_assign(c, N, world, o2);
        assert_memory_equal(o1, o2, sizeof o1); /* a pure function: every rank agrees */
        double busiest = 0;
        for (int i = 0; i < N; i++) {
            assert_true(o1[i] >= 0 && o1[i] < world);
            load[o1[i]] += c[i];
        }
        for (int r = 0; r < world; r++) busiest = fmax(busiest, load[r]);
        /* greedy list scheduling: the busiest rank got its last task when it
         * was the least loaded, so it ends within one task of the mean */
        assert_true(busiest <= total / world + top + 1e-9);
        assert_true(busiest >= total / world - 1e-9);
    }
    tg_dist_assign(NULL, 0, 4, NULL); /* no tasks */
    const double bad[2] = {1, -1};
    TU_EXPECT_DEATH(tg_dist_assign(bad, 2, 2, owner), "cost[1] = -1: expected finite and >= 0");
    TU_EXPECT_DEATH(tg_dist_assign(cost, 5, 0, owner), "world >= 1");
}

static void test_refuses_mpirun_without_mpi(void **state) {
    (void)state;
    if (tg_dist_available()) {
        printf("SKIPPED: built with MPI (the check is for builds without it)\n");
        return;
    }
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    tg_status st = tg_dist_init(NULL, NULL);
    unsetenv("OMPI_COMM_WORLD_SIZE");
    assert_int_equal(st, TG_ERR_ARG);
    assert_non_null(strstr(tg_last_error(), "built without MPI"));
    assert_int_equal(tg_dist_init(NULL, NULL), TG_OK);
    assert_int_equal(tg_dist_world(), 1);
}

/* ---- tests with MPI: 2 ranks under mpirun ----------------------------------- */

static int need_mpi(void) {
    if (tg_dist_available()) return 1;
    printf("SKIPPED: built without MPI (make test MPI=1 runs it)\n");
    return 0;
}

static void test_two_ranks_equal_one_process(void **state) {
    (void)state;
    if (!need_mpi()) return;
    mpirun_ok("whole");
    /* the reference: this process (world 1) with the global batch */
    char out[512];
    snprintf(out, sizeof out, "%s/one.params", tu_tmpdir());
    run_opts o = {.local_b = 2 * LOCAL_B, .steps = STEPS, .out = out, .nonfinite_rank = -1};
    toy_train(&o);
    const int64_t n = toy_param_count();
    float *two = read_params("whole", n), *one = read_params("one", n);
    double d2 = 0, n2 = 0, dmax = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)two[i] - (double)one[i];
        d2 += d * d;
        n2 += (double)one[i] * (double)one[i];
        if (fabs(d) > dmax) dmax = fabs(d);
    }
    double rel = sqrt(d2 / n2);
    printf("2 ranks x batch %d vs 1 process x batch %d after %d steps: relative difference %.3g "
           "(max |diff| %.3g over %lld parameters)\n", LOCAL_B, 2 * LOCAL_B, STEPS, rel, dmax, (long long)n);
    assert_true(rel <= 1e-6);
    assert_true(rel > 0 || dmax == 0); /* a real comparison of real numbers */
    free(two);
    free(one);
}

static void test_resume_bit_identical(void **state) {
    (void)state;
    if (!need_mpi()) return;
    mpirun_ok("whole");
    mpirun_ok("first13");
    mpirun_ok("resumed");
    const int64_t n = toy_param_count();
    float *a = read_params("whole", n), *b = read_params("resumed", n);
    assert_memory_equal(a, b, (size_t)n * sizeof *a);
    free(a);
    free(b);
}

static void expect_failure(const char *mode, const char *message) {
    launch r;
    mpirun_run(mode, 60, &r);
    printf("%s: exit status %d after %.1f s\n", mode, WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1,
           r.seconds);
    if (exited_ok(&r)) fail_msg("mpirun %s succeeded; expected an error:\n%s", mode, r.out);
    if (!strstr(r.out, message)) fail_msg("mpirun %s: no \"%s\" in its output:\n%s", mode, message, r.out);
    assert_true(r.seconds < 30);
}

static void test_errors_stop_every_rank(void **state) {
    (void)state;
    if (!need_mpi()) return;
    mpirun_ok("first13"); /* ck.safetensors */
    expect_failure("nonfinite", "test_dist: non-finite loss at step 3 (rank 1 of 2)");
    expect_failure("missing", "rank 1: ");
    expect_failure("missing", "absent.safetensors");
    /* other.safetensors: the same checkpoint with one parameter changed */
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s/ck.safetensors", tu_tmpdir());
    snprintf(dst, sizeof dst, "%s/other.safetensors", tu_tmpdir());
    toy *t = tg_xcalloc(sizeof *t);
    toy_init(t, 1);
    tg_adam opt;
    tg_adamw_init(&opt, &t->ps, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f);
    tg_rng rng;
    tg_checkpoint_extra ex = {.adam = &opt, .rng = {&rng}};
    assert_int_equal(tg_checkpoint_load(src, &t->ps, &ex), TG_OK);
    t->ps.data[0] += 1e-3f;
    assert_int_equal(tg_checkpoint_save(dst, &t->ps, &ex), TG_OK);
    tg_checkpoint_extra_free(&ex);
    tg_adam_free(&opt);
    tg_params_free(&t->ps);
    free(t);
    expect_failure("disagree", "ranks disagree");
}

static void test_gather_two_ranks(void **state) {
    (void)state;
    if (!need_mpi()) return;
    launch r;
    mpirun_run("gather", 60, &r);
    if (!exited_ok(&r) || !strstr(r.out, "gather: 3 records from 2 ranks in rank order"))
        fail_msg("mpirun gather:\n%s", r.out);
}

static void test_killed_rank_ends_the_job(void **state) {
    (void)state;
    if (!need_mpi()) return;
    char pidfile[512];
    snprintf(pidfile, sizeof pidfile, "%s/pid.1", tu_tmpdir());
    unlink(pidfile);
    double t0 = now_s();
    pid_t pid = mpirun_start("kill");
    int victim = 0;
    while (!victim && now_s() - t0 < 60) { /* rank 1 writes its pid after 3 steps */
        FILE *f = fopen(pidfile, "r");
        if (f) {
            if (fscanf(f, "%d", &victim) != 1) victim = 0;
            fclose(f);
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!victim) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("rank 1 did not start training within 60 s");
    }
    assert_int_equal(kill(victim, SIGKILL), 0);
    launch r;
    mpirun_wait(pid, "kill", 60, now_s(), &r);
    printf("rank 1 killed with SIGKILL: mpirun ended %.2f s later, exit status %d\n", r.seconds,
           WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1);
    assert_false(exited_ok(&r));
    assert_true(r.seconds < 10);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--worker")) return worker(argc - 2, argv + 2);
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (n <= 0) return 1;
    self_exe[n] = 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_process),
        cmocka_unit_test(test_batcher_shard),
        cmocka_unit_test(test_gather_one_process),
        cmocka_unit_test(test_assign),
        cmocka_unit_test(test_refuses_mpirun_without_mpi),
        cmocka_unit_test(test_two_ranks_equal_one_process),
        cmocka_unit_test(test_resume_bit_identical),
        cmocka_unit_test(test_errors_stop_every_rank),
        cmocka_unit_test(test_gather_two_ranks),
        cmocka_unit_test(test_killed_rank_ends_the_job),
    };
    return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
