/* train/plplot.c — see plplot.h. */
#define _POSIX_C_SOURCE 200809L
#include "train/plplot.h"

#include <errno.h>
#include <plplot.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "data/io.h"

static int has_pngcairo(void) {
    const char *menu_a[128], *names_a[128], **menu = menu_a, **names = names_a;
    int n = 128; /* in: room; out: devices */
    plgDevs(&menu, &names, &n);
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], "pngcairo") == 0) return 1;
    return 0;
}

typedef struct {
    int width, height;
    void (*draw)(void *ctx);
    void *ctx;
} page;

/* tg_write_fn: PLplot writes the PNG into a duplicate of f's descriptor and
 * fcloses it at plend; f itself stays open for tg_write_atomic's fsync. */
static int draw_page(FILE *f, void *arg) {
    const page *p = arg;
    int fd = dup(fileno(f));
    FILE *g = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!g) {
        if (fd >= 0) close(fd);
        return -1;
    }
    plsdev("pngcairo");
    plsfile(g);
    plspage(0, 0, p->width, p->height, 0, 0);
    plscolbg(255, 255, 255);
    plinit();
    plscol0(1, 0, 0, 0); /* black ink */
    p->draw(p->ctx);
    plend(); /* writes the PNG and fcloses g */
    return 0;
}

tg_status tg__plplot_png(const char *path, int width, int height, void (*draw)(void *ctx), void *ctx) {
    TG_CHECK(path && draw && width > 0 && height > 0, "tg__plplot_png", "need a path, a draw function and a size");
    if (!has_pngcairo())
        return tg_set_error(TG_ERR_IO, "%s: PLplot has no pngcairo driver (Debian: plplot-driver-cairo)", path);
    page p = {width, height, draw, ctx};
    return tg_write_atomic(path, draw_page, &p);
}
