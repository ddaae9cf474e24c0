/* train/cli.c — "--name value" options against a table. */
#include "train/cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/io.h"
#include "train/dist.h"

void tg_cli_help(FILE *f, const char *prog, const tg_cli_opt *opts, int n_opts, const char *about) {
    const char *base = prog ? strrchr(prog, '/') : NULL;
    fprintf(f, "usage: %s [options]\n", base ? base + 1 : prog ? prog : "prog");
    if (about && *about) fprintf(f, "%s\n", about);
    fprintf(f, "options:\n");
    for (int i = 0; i < n_opts; i++) {
        const tg_cli_opt *o = &opts[i];
        static const char *meta[] = {" N", " X", " X", " S", "", " FILE"};
        char left[64];
        snprintf(left, sizeof left, "--%s%s", o->name, meta[o->type]);
        fprintf(f, "  %-20s %s", left, o->help ? o->help : "");
        switch (o->type) {
        case TG_CLI_INT: fprintf(f, " (default %d)", *(int *)o->dest); break;
        case TG_CLI_FLOAT: fprintf(f, " (default %g)", (double)*(float *)o->dest); break;
        case TG_CLI_DOUBLE: fprintf(f, " (default %g)", *(double *)o->dest); break;
        case TG_CLI_STRING:
        case TG_CLI_OUTPUT: {
            const char *s = *(const char **)o->dest;
            fprintf(f, " (default %s)", s ? s : "none");
            break;
        }
        case TG_CLI_FLAG: break;
        }
        fputc('\n', f);
    }
    fprintf(f, "  %-20s %s\n", "--help", "this text");
}

static int set_value(const tg_cli_opt *o, const char *v) {
    char *end;
    errno = 0;
    switch (o->type) {
    case TG_CLI_INT: {
        long x = strtol(v, &end, 10);
        if (!*v || *end || errno || x < INT_MIN || x > INT_MAX)
            return tg_set_error(TG_ERR_ARG, "--%s: expected an integer, got '%s'", o->name, v);
        *(int *)o->dest = (int)x;
        return 0;
    }
    case TG_CLI_FLOAT:
    case TG_CLI_DOUBLE: {
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x))
            return tg_set_error(TG_ERR_ARG, "--%s: expected a number, got '%s'", o->name, v);
        if (o->type == TG_CLI_FLOAT) *(float *)o->dest = (float)x;
        else *(double *)o->dest = x;
        return 0;
    }
    case TG_CLI_STRING:
    case TG_CLI_OUTPUT: *(const char **)o->dest = v; return 0;
    case TG_CLI_FLAG: break;
    }
    return tg_set_error(TG_ERR_ARG, "--%s takes no value", o->name);
}

int tg_cli_parse(int argc, char **argv, const tg_cli_opt *opts, int n_opts, const char *about) {
    return tg_cli_parse_positional(argc, argv, opts, n_opts, about, NULL, 0, NULL);
}

int tg_cli_parse_positional(int argc, char **argv, const tg_cli_opt *opts, int n_opts, const char *about,
                            const char **positional, int max_positional, int *n_positional) {
    TG_CHECK(argc >= 0 && (argc == 0 || argv) && (opts || n_opts == 0), "tg_cli_parse",
             "bad arguments");
    TG_CHECK(max_positional >= 0 && (max_positional == 0 || (positional && n_positional)), "tg_cli_parse",
             "positional arguments need an array and a count");
    if (n_positional) *n_positional = 0;
    int only_positional = 0; /* after "--" */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_positional && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            tg_cli_help(stdout, argv[0], opts, n_opts, about);
            return 1;
        }
        if (!only_positional && max_positional > 0 && strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (only_positional || strncmp(a, "--", 2) != 0) {
            if (max_positional == 0)
                return tg_set_error(TG_ERR_ARG, "unexpected argument '%s' (options are --name value; see --help)", a);
            if (*n_positional >= max_positional)
                return tg_set_error(TG_ERR_ARG, "too many arguments: at most %d besides the options", max_positional);
            positional[(*n_positional)++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        const tg_cli_opt *o = NULL;
        for (int k = 0; k < n_opts && !o; k++)
            if (strlen(opts[k].name) == nl && strncmp(opts[k].name, name, nl) == 0) o = &opts[k];
        if (!o) return tg_set_error(TG_ERR_ARG, "unknown option '--%.*s' (see --help)", (int)nl, name);
        if (o->type == TG_CLI_FLAG) {
            if (eq) return tg_set_error(TG_ERR_ARG, "--%s takes no value", o->name);
            *(int *)o->dest = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc) return tg_set_error(TG_ERR_ARG, "--%s: missing value", o->name);
            v = argv[++i];
        }
        if (set_value(o, v) != 0) return TG_ERR_ARG;
    }
    /* The output files, once --help is ruled out.  Rank 0 alone writes them
     * (and alone checks: no two ranks' temporary files), every rank learns
     * the outcome (tg_dist_agree; the ranks parse the same line, so they
     * all reach this collective for the same options). */
    for (int k = 0; k < n_opts; k++) {
        const char *path = opts[k].type == TG_CLI_OUTPUT ? *(const char **)opts[k].dest : NULL;
        if (!path || !*path) continue;
        tg_status st = tg_dist_is_root() ? tg_check_writable(path) : TG_OK;
        if (tg_dist_agree(st) != TG_OK) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", tg_last_error());
            return tg_set_error(TG_ERR_ARG, "--%s: %s", opts[k].name, msg);
        }
    }
    return 0;
}

int tg_cli_subcommand(int argc, char **argv, const char *prog, const tg_cli_opt *opts, int n_opts,
                      const char *about) {
    return tg_cli_subcommand_positional(argc, argv, prog, opts, n_opts, about, NULL, 0, NULL);
}

int tg_cli_subcommand_positional(int argc, char **argv, const char *prog, const tg_cli_opt *opts,
                                 int n_opts, const char *about, const char **positional,
                                 int max_positional, int *n_positional) {
    argv[0] = (char *)prog; /* "usage: pos_tagger train [options]" */
    int r = tg_cli_parse_positional(argc, argv, opts, n_opts, about, positional, max_positional, n_positional);
    if (r > 0) return 0;
    if (r < 0) {
        fprintf(stderr, "%s: %s\n", prog, tg_last_error());
        return 2;
    }
    return -1;
}

static void cli_usage(FILE *f, const char *prog, const tg_cli_command *cmds, int n_cmds) {
    fprintf(f, "usage: %s <command> [options]   (%s <command> --help for options)\ncommands:\n", prog, prog);
    int w = 0;
    for (int i = 0; i < n_cmds; i++)
        if ((int)strlen(cmds[i].name) > w) w = (int)strlen(cmds[i].name);
    for (int i = 0; i < n_cmds; i++) fprintf(f, "  %-*s  %s\n", w, cmds[i].name, cmds[i].summary);
}

int tg_cli_run(int argc, char **argv, const char *prog, const tg_cli_command *cmds, int n_cmds) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        cli_usage(argc < 2 ? stderr : stdout, prog, cmds, n_cmds);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; i < n_cmds; i++)
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[1]);
    cli_usage(stderr, prog, cmds, n_cmds);
    return 2;
}
