/* train/graph.c — see graph.h. */
#define _POSIX_C_SOURCE 200809L
#include "train/graph.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

tg_status tg_tape_render(const tg_tape *tp, const char *path, const tg_dot_opts *opts) {
    TG_CHECK(tp && path, "tg_tape_render", "tape or path is NULL");
    const char *ext = strrchr(path, '.');
    const char *fmt = NULL;
    if (ext && (!strcmp(ext, ".png") || !strcmp(ext, ".svg") || !strcmp(ext, ".pdf")))
        fmt = ext + 1;
    else if (!ext || strcmp(ext, ".dot"))
        return tg_set_error(TG_ERR_ARG, "%s: expected a .png, .svg, .pdf or .dot file name", path);
    if (!fmt) { /* the DOT text itself */
        FILE *f = fopen(path, "w");
        if (!f) return tg_set_error(TG_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        tg_tape_dot_opts(tp, f, opts);
        if (fclose(f) != 0) {
            remove(path);
            return tg_set_error(TG_ERR_IO, "%s: write failed", path);
        }
        return TG_OK;
    }
    int fd[2];
    if (pipe(fd) != 0) return tg_set_error(TG_ERR_IO, "tg_tape_render: pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]), close(fd[1]);
        return tg_set_error(TG_ERR_IO, "tg_tape_render: fork: %s", strerror(errno));
    }
    if (pid == 0) { /* dot -Tpng -o path, reading the DOT text on stdin */
        char tfmt[16];
        snprintf(tfmt, sizeof tfmt, "-T%s", fmt);
        dup2(fd[0], 0);
        close(fd[0]), close(fd[1]);
        execlp("dot", "dot", tfmt, "-o", path, (char *)NULL);
        _exit(127);
    }
    close(fd[0]);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN); /* dot may exit before reading everything */
    FILE *f = fdopen(fd[1], "w");
    if (f) {
        tg_tape_dot_opts(tp, f, opts);
        fclose(f);
    } else {
        close(fd[1]);
    }
    signal(SIGPIPE, old);
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        remove(path);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
            return tg_set_error(TG_ERR_IO,
                                "%s: Graphviz's `dot` program was not found (Debian: apt-get "
                                "install graphviz); write a .dot file instead", path);
        return tg_set_error(TG_ERR_IO, "%s: `dot -T%s` failed (exit status %d)", path, fmt,
                            WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    return TG_OK;
}
