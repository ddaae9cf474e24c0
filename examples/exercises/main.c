/* examples/exercises/main.c — `build/exercise`: derive a backward yourself
 * and have it checked.
 *
 *   build/exercise init                 copy the skeletons into ./exercises/
 *   $EDITOR exercises/softmax.c         write softmax_backward
 *   build/exercise check softmax        compile it, compare with the library
 *                                       and finite differences, explain errors
 *   build/exercise list                 the ops and your progress
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "examples/exercises/check.h"

#ifndef TG_EXERCISE_ROOT
#define TG_EXERCISE_ROOT "."
#endif

static const char *about =
    "Exercises in deriving gradients: for each op the learner writes the backward of a\n"
    "custom op (tg_custom, docs/custom_ops.md) whose forward is given; `check` compiles it\n"
    "and compares it with the library's backward and with finite differences on several\n"
    "shapes, and explains a wrong gradient from the structure of its error.\n"
    "commands:\n"
    "  list              the ops and your progress\n"
    "  init              copy the skeletons into the exercise directory (never overwrites)\n"
    "  check OP          compile DIR/OP.c (or --file) and check its backward\n"
    "Run `exercise COMMAND --help` for the options of a command.";

/* The source tree holding the headers and the skeletons: $TAPEGRAD_ROOT, or
 * the tree this program was built in. */
static const char *source_root(void) {
    const char *r = getenv("TAPEGRAD_ROOT");
    return r && *r ? r : TG_EXERCISE_ROOT;
}

/* dir/name.ext into buf; a path longer than len aborts (they come from the
 * command line and the op table, far below PATH_MAX). */
static void path_join(char *buf, size_t len, const char *dir, const char *name, const char *ext) {
    int n = snprintf(buf, len, "%s/%s%s", dir, name, ext);
    TG_CHECK(n >= 0 && (size_t)n < len, "exercise", "path too long: %s/%s%s", dir, name, ext);
}

/* ---- progress: DIR/progress.txt, one "op passed|failed" line per op ------- */

static void progress_read(const char *dir, const char *op, char *status, size_t len) {
    char path[1024], line[256], name[128], st[64];
    snprintf(status, len, "-");
    path_join(path, sizeof path, dir, "progress", ".txt");
    FILE *f = fopen(path, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%127s %63s", name, st) == 2 && !strcmp(name, op))
            snprintf(status, len, "%s", st);
    fclose(f);
}

/* Rewrites the file with op's status replaced (write to a temporary, then
 * rename: a crash leaves the old file). */
static void progress_write(const char *dir, const char *op, const char *status) {
    char path[1024], tmp[1040], st[64];
    path_join(path, sizeof path, dir, "progress", ".txt");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    for (int i = 0; i < ex_n_ops; i++) {
        if (!strcmp(ex_ops[i].name, op)) snprintf(st, sizeof st, "%s", status);
        else progress_read(dir, ex_ops[i].name, st, sizeof st);
        if (strcmp(st, "-")) fprintf(f, "%s %s\n", ex_ops[i].name, st);
    }
    if (fclose(f) == 0) rename(tmp, path);
}

/* "not started" while the skeleton's marker is still in the file. */
static const char *file_state(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return "no file (run init)";
    char line[512];
    int untouched = 0;
    while (fgets(line, sizeof line, f)) untouched |= strstr(line, "YOUR CODE HERE") != NULL;
    fclose(f);
    return untouched ? "not started" : "edited";
}

static int cmd_list(int argc, char **argv) {
    const char *dir = "exercises";
    const tg_cli_opt opts[] = {{"dir", TG_CLI_STRING, &dir, "exercise directory"}};
    int r = tg_cli_parse(argc, argv, opts, 1, "Lists the ops and your progress.");
    if (r) return r > 0 ? 0 : (fprintf(stderr, "exercise list: %s\n", tg_last_error()), 2);
    printf("%-14s %-20s %-8s %-36s %s\n", "op", "your file", "check", "derivation", "what");
    int done = 0;
    for (int i = 0; i < ex_n_ops; i++) {
        char path[1024], st[64];
        path_join(path, sizeof path, dir, ex_ops[i].name, ".c");
        progress_read(dir, ex_ops[i].name, st, sizeof st);
        done += !strcmp(st, "passed");
        printf("%-14s %-20s %-8s %-36s %s\n", ex_ops[i].name, file_state(path), st,
               ex_ops[i].page, ex_ops[i].what);
    }
    printf("%d of %d passed (no exercise yet for conv2d)\n", done,
           ex_n_ops);
    return 0;
}

static int copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    if (!in) return -1;
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return -1;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    fclose(in);
    return fclose(out);
}

static int cmd_init(int argc, char **argv) {
    const char *dir = "exercises";
    const tg_cli_opt opts[] = {{"dir", TG_CLI_STRING, &dir, "exercise directory to create"}};
    int r = tg_cli_parse(argc, argv, opts, 1,
                         "Copies the skeletons (forward given, backward empty) into the "
                         "exercise directory; existing files are kept.");
    if (r) return r > 0 ? 0 : (fprintf(stderr, "exercise init: %s\n", tg_last_error()), 2);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "exercise init: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    for (int i = 0; i < ex_n_ops; i++) {
        char from[1024], to[1024], sk[1024];
        snprintf(sk, sizeof sk, "%s/examples/exercises/skeletons", source_root());
        path_join(from, sizeof from, sk, ex_ops[i].name, ".c");
        path_join(to, sizeof to, dir, ex_ops[i].name, ".c");
        struct stat st;
        if (stat(to, &st) == 0) {
            printf("kept    %s\n", to);
            continue;
        }
        if (copy_file(from, to) != 0) {
            fprintf(stderr, "exercise init: cannot copy %s to %s (set TAPEGRAD_ROOT to the "
                            "tapegrad source tree)\n", from, to);
            return 1;
        }
        printf("created %s\n", to);
    }
    printf("next: edit %s/<op>.c, then `exercise check <op>`\n", dir);
    return 0;
}

static int cmd_check(int argc, char **argv) {
    const char *dir = "exercises", *file = NULL, *cflags = "";
    const tg_cli_opt opts[] = {
        {"dir", TG_CLI_STRING, &dir, "exercise directory (the file is DIR/OP.c)"},
        {"file", TG_CLI_STRING, &file, "check this file instead (progress is not recorded)"},
        {"cflags", TG_CLI_STRING, &cflags, "extra compiler flags, e.g. -DMY_VARIANT"},
    };
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            tg_cli_help(stdout, "exercise check OP", opts, 3,
                        "Compiles the exercise file of OP and checks its backward.");
            return 0;
        }
        fprintf(stderr, "exercise check: name an op (see `exercise list`)\n");
        return 2;
    }
    const char *name = argv[1];
    int r = tg_cli_parse(argc - 1, argv + 1, opts, 3,
                         "Compiles the exercise file of OP and checks its backward.");
    if (r) return r > 0 ? 0 : (fprintf(stderr, "exercise check: %s\n", tg_last_error()), 2);
    const ex_op *op = ex_op_find(name);
    if (!op) {
        fprintf(stderr, "exercise check: unknown op '%s' (see `exercise list`)\n", name);
        return 2;
    }
    char path[1024], tmpdir[256] = "";
    if (file) snprintf(path, sizeof path, "%s", file);
    else path_join(path, sizeof path, dir, name, ".c");
    void *handle = NULL;
    const tg_custom_op *user = NULL;
    if (ex_load(path, source_root(), cflags, name, &handle, &user, tmpdir, sizeof tmpdir) !=
        TG_OK) {
        fprintf(stderr, "exercise check: %s\n", tg_last_error());
        ex_unload(handle, tmpdir);
        return 2;
    }
    printf("%s: checking the backward in %s (derivation: %s)\n", name, path, op->page);
    int passed = ex_check(op, user, stdout);
    ex_unload(handle, tmpdir);
    int ok = passed == op->n_cases;
    printf("%s: %s (%d of %d cases)\n", name, ok ? "PASS" : "FAIL", passed, op->n_cases);
    if (!file) progress_write(dir, name, ok ? "passed" : "failed");
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: exercise COMMAND [options]\n%s\n", about);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "list")) return cmd_list(argc - 1, argv + 1);
    if (!strcmp(argv[1], "init")) return cmd_init(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check")) return cmd_check(argc - 1, argv + 1);
    fprintf(stderr, "exercise: unknown command '%s' (see --help)\n", argv[1]);
    return 2;
}
