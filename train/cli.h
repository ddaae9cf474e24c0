/* train/cli.h — a tiny command-line option parser for the examples.
 *
 *   int epochs = 20;  float lr = 3e-4f;  const char *data = "data/ud";  int quiet = 0;
 *   const tg_cli_opt opts[] = {
 *       {"epochs", TG_CLI_INT,    &epochs, "number of epochs"},
 *       {"lr",     TG_CLI_FLOAT,  &lr,     "peak learning rate"},
 *       {"data",   TG_CLI_STRING, &data,   "corpus directory"},
 *       {"quiet",  TG_CLI_FLAG,   &quiet,  "no progress output"},
 *   };
 *   int r = tg_cli_parse(argc, argv, opts, 4, "Trains a POS tagger on UD English EWT.");
 *   if (r > 0) return 0;                                          // --help was printed
 *   if (r < 0) { fprintf(stderr, "%s\n", tg_last_error()); return 2; }
 *
 * Accepts "--name value", "--name=value" and, for flags, "--name".  The
 * defaults are the variables' values before the call and are shown by
 * --help (-h), which prints to stdout:
 *   usage: prog [options]
 *   Trains a POS tagger on UD English EWT.
 *     --epochs N        number of epochs (default 20)
 *     --lr X            peak learning rate (default 0.0003)
 *     --data S          corpus directory (default data/ud)
 *     --quiet           no progress output
 */
#ifndef TG_TRAIN_CLI_H
#define TG_TRAIN_CLI_H

#include <stdio.h>

#include "core/error.h"

typedef enum {
    TG_CLI_INT,    /* dest: int *            "N" */
    TG_CLI_FLOAT,  /* dest: float *          "X" */
    TG_CLI_DOUBLE, /* dest: double *         "X" */
    TG_CLI_STRING, /* dest: const char **    "S" (points into argv) */
    TG_CLI_FLAG,   /* dest: int *, set to 1 */
    TG_CLI_OUTPUT, /* dest: const char **    "FILE": a file the program will write (--save,
                      --metrics-json, ...).  After the whole line is parsed, a value that is
                      set is checked with tg_check_writable (data/io.h), so a path that
                      cannot be written fails before the run, not after it */
} tg_cli_type;

typedef struct tg_cli_opt {
    const char *name; /* without the leading "--" */
    tg_cli_type type;
    void *dest;
    const char *help;
} tg_cli_opt;

/* Parses argv[1..argc-1] into the options' destinations.
 * Returns 0 on success; 1 after printing the help for --help/-h (the caller
 * exits 0); TG_ERR_ARG with a message ("--epochs: expected an integer, got
 * 'ten'", "unknown option '--epoch' (see --help)", "--lr: missing value",
 * "--save: runs/x/m.safetensors: cannot write there: No such file or
 * directory (checked before the run)") otherwise — destinations parsed
 * before the error keep their new values.
 * TG_CLI_OUTPUT values — given on the line or left at their defaults — are
 * checked on the file system: the check creates and removes a temporary
 * file beside each (tg_check_writable).  Under mpirun rank 0 checks and
 * every rank returns the same result, so all ranks must parse the same
 * options (they do: every rank runs the same command line). */
int tg_cli_parse(int argc, char **argv, const tg_cli_opt *opts, int n_opts, const char *about);
/* The same, also accepting up to max_positional arguments that are not
 * options (file names, say) anywhere on the line, in order, into
 * positional[0..*n_positional) (pointers into argv); after "--" every
 * argument is positional.  More than max_positional is TG_ERR_ARG "too many
 * arguments: at most N besides the options".  With max_positional 0 this is
 * tg_cli_parse (positional and n_positional may then be NULL). */
int tg_cli_parse_positional(int argc, char **argv, const tg_cli_opt *opts, int n_opts, const char *about,
                            const char **positional, int max_positional, int *n_positional);
/* One subcommand of a program ("pos_tagger train"): shows prog as argv[0]
 * in the help and in messages, parses argv[1..] with tg_cli_parse, and
 * turns the outcome into what main does next.  Returns -1 to go on, 0 after
 * printing the help (exit 0), or 2 after printing "prog: <message>" to
 * stderr for a bad option (exit 2).  Sets argv[0] = prog. */
int tg_cli_subcommand(int argc, char **argv, const char *prog, const tg_cli_opt *opts, int n_opts,
                      const char *about);
/* The same for a subcommand that also takes positional arguments (file
 * names), as tg_cli_parse_positional: at most max_positional of them into
 * positional[], their count into *n_positional. */
int tg_cli_subcommand_positional(int argc, char **argv, const char *prog, const tg_cli_opt *opts,
                                 int n_opts, const char *about, const char **positional,
                                 int max_positional, int *n_positional);
/* One command of a multi-command program ("vit train ..."): its name, a
 * one-line summary for the usage text, and the function main hands
 * (argc − 1, argv + 1) to, whose return value is the exit status. */
typedef struct tg_cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} tg_cli_command;
/* The command dispatch of an example's main: argv[1] names one of cmds,
 * which then runs with argv[1..].  Without a command, or with --help/-h,
 * prints "usage: prog <command> [options]   (prog <command> --help for
 * options)" and one line per command (to stderr and returns 2 without a
 * command, to stdout and returns 0 for --help); an unknown command prints
 * "prog: unknown command 'x'" and the usage to stderr and returns 2.
 * Otherwise returns what the command returns. */
int tg_cli_run(int argc, char **argv, const char *prog, const tg_cli_command *cmds, int n_cmds);
/* Prints the help text shown by --help. */
void tg_cli_help(FILE *f, const char *prog, const tg_cli_opt *opts, int n_opts, const char *about);

#endif
