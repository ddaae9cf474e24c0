/* train/plot.c — see plot.h. */
#include "train/plot.h"

#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "data/png.h"

static void put(uint8_t *img, int W, int x, int y, uint8_t r, uint8_t g, uint8_t b) {
    uint8_t *p = img + ((size_t)y * W + x) * 3;
    p[0] = r;
    p[1] = g;
    p[2] = b;
}

/* ---- attention maps ------------------------------------------------------ */

/* An inferno-like ramp: 5 anchors at t = 0, ¼, ½, ¾, 1, linear between. */
static void ramp(double t, double rgb[3]) {
    static const double anchor[5][3] = {
        {0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    int k = t >= 1 ? 3 : (int)(t * 4);
    double f = t * 4 - k;
    for (int c = 0; c < 3; c++) rgb[c] = anchor[k][c] + f * (anchor[k + 1][c] - anchor[k][c]);
}

static uint8_t to_byte(double v) {
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

tg_status tg_plot_attention(const char *path, const float *image, int H, int W, int C,
                            const float *maps, int n_maps, int grid_h, int grid_w, int zoom) {
    const char *op = "tg_plot_attention";
    TG_CHECK(path && image && (maps || n_maps == 0), op, "NULL path, image or maps");
    TG_CHECK(H > 0 && W > 0 && (C == 1 || C == 3) && n_maps >= 0 && grid_h > 0 && grid_w > 0 && zoom >= 1, op,
             "bad sizes: image %d x %d x %d, %d maps of %d x %d, zoom %d", H, W, C, n_maps, grid_h, grid_w, zoom);
    const int gap = 4, pw = W * zoom, ph = H * zoom, panels = 1 + n_maps;
    const int OW = panels * pw + (panels - 1) * gap, OH = ph;
    uint8_t *img = tg_xmalloc((size_t)OW * OH * 3);
    float *up = tg_xmalloc((size_t)H * W * sizeof *up); /* a map upsampled to the image */
    memset(img, 255, (size_t)OW * OH * 3);
    for (int p = 0; p < panels; p++) {
        const float *map = p ? maps + (size_t)(p - 1) * grid_h * grid_w : NULL;
        double lo = map ? map[0] : 0, hi = lo; /* each map spans the whole ramp */
        for (int i = 0; map && i < grid_h * grid_w; i++) {
            if (map[i] < lo) lo = map[i];
            if (map[i] > hi) hi = map[i];
        }
        if (map) tg_image_resize(map, grid_h, grid_w, 1, up, H, W);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                const float *px = image + ((size_t)y * W + x) * C;
                double rgb[3], gray = C == 1 ? px[0] : 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
                if (!map) {
                    for (int c = 0; c < 3; c++) rgb[c] = 255.0 * px[C == 1 ? 0 : c];
                } else {
                    ramp(hi > lo ? (up[(size_t)y * W + x] - lo) / (hi - lo) : 0, rgb);
                    for (int c = 0; c < 3; c++) rgb[c] = 0.6 * rgb[c] + 0.4 * 255.0 * gray;
                }
                for (int dy = 0; dy < zoom; dy++)
                    for (int dx = 0; dx < zoom; dx++)
                        put(img, OW, p * (pw + gap) + x * zoom + dx, y * zoom + dy, to_byte(rgb[0]),
                            to_byte(rgb[1]), to_byte(rgb[2]));
            }
    }
    tg_status st = tg_png_write_rgb(path, img, OW, OH);
    free(up);
    free(img);
    return st;
}

/* ---- PLplot figures: scatter, lines ---------------------------------------------- */

#include <math.h>
#include <plplot.h>
#include <stdio.h>

#include "train/plplot.h"

/* Colour map 0 of every PLplot figure here: 0 white background, 1 black
 * ink, 2 grey, 3.. the series or classes (the Tableau 10 palette, then four
 * more). */
#define PALETTE_SIZE 14
static const int palette[PALETTE_SIZE][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
    {0, 0, 128},    {128, 128, 0},   {0, 128, 128},  {128, 0, 0}};

static void set_palette(void) {
    plscmap0n(3 + PALETTE_SIZE);
    plscol0(0, 255, 255, 255);
    plscol0(1, 0, 0, 0);
    plscol0(2, 190, 190, 190);
    for (int c = 0; c < PALETTE_SIZE; c++) plscol0(3 + c, palette[c][0], palette[c][1], palette[c][2]);
}

typedef struct {
    const float *xy;
    int n;
    const int32_t *classes;
    int n_classes;
    const char *const *class_names;
    const char *title;
} scatter;

static void draw_scatter(void *arg) {
    const scatter *s = arg;
    const int n = s->n, n_classes = s->n_classes;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) {
            double v = s->xy[2 * i + a];
            if (v < lo[a]) lo[a] = v;
            if (v > hi[a]) hi[a] = v;
        }
    for (int a = 0; a < 2; a++) { /* 5% margins; a flat axis gets ±1 */
        double pad = hi[a] > lo[a] ? 0.05 * (hi[a] - lo[a]) : 1.0;
        lo[a] -= pad, hi[a] += pad;
    }
    set_palette();
    plcol0(1);
    plenv(lo[0], hi[0], lo[1], hi[1], 0, 0);
    pllab("PC 1", "PC 2", s->title ? s->title : "");
    double *px = tg_xmalloc((size_t)n * sizeof *px), *py = tg_xmalloc((size_t)n * sizeof *py);
    for (int c = -1; c < n_classes; c++) { /* unlabelled first, underneath */
        int m = 0;
        for (int i = 0; i < n; i++)
            if (s->classes[i] == c || (c == -1 && (s->classes[i] < 0 || s->classes[i] >= n_classes)))
                px[m] = s->xy[2 * i], py[m] = s->xy[2 * i + 1], m++;
        if (!m) continue;
        plcol0(c < 0 ? 2 : 3 + c);
        plssym(0.0, 0.8);
        plpoin(m, px, py, 17); /* filled circle */
    }
    free(px);
    free(py);
    PLINT opt[PALETTE_SIZE], colors[PALETTE_SIZE], numbers[PALETTE_SIZE], text_colors[PALETTE_SIZE];
    PLFLT scales[PALETTE_SIZE];
    char names[PALETTE_SIZE][32];
    const char *text[PALETTE_SIZE], *symbols[PALETTE_SIZE];
    for (int c = 0; c < n_classes; c++) {
        opt[c] = PL_LEGEND_SYMBOL;
        colors[c] = 3 + c;
        text_colors[c] = 1;
        numbers[c] = 1;
        scales[c] = 1.2;
        symbols[c] = "●"; /* UTF-8: the cairo driver draws it with the text font */
        if (s->class_names) snprintf(names[c], sizeof names[c], "%s", s->class_names[c]);
        else snprintf(names[c], sizeof names[c], "class %d", c);
        text[c] = names[c];
    }
    PLFLT lw, lh;
    plcol0(1);
    pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_RIGHT | PL_POSITION_TOP | PL_POSITION_INSIDE, 0.02, 0.02, 0.05, 0, 1, 1,
             0, 0, n_classes, opt, 1.0, 1.0, 2.0, 0.0, text_colors, text, NULL, NULL, NULL, NULL,
             NULL, NULL, NULL, colors, scales, numbers, symbols);
}

tg_status tg_plot_scatter(const char *path, const float *xy, int n, const int32_t *classes,
                          int n_classes, const char *const *class_names, const char *title) {
    const char *op = "tg_plot_scatter";
    TG_CHECK(path && xy && classes && n >= 1, op, "need a path, points and classes, got n = %d", n);
    TG_CHECK(n_classes >= 1 && n_classes <= PALETTE_SIZE, op, "n_classes must be in 1..%d, got %d", PALETTE_SIZE,
             n_classes);
    scatter s = {xy, n, classes, n_classes, class_names, title};
    return tg__plplot_png(path, 1000, 800, draw_scatter, &s);
}

typedef struct {
    const tg_plot_series *series;
    int n_series;
    const tg_plot_axes *axes;
} lines;

/* x as drawn: log10 on a log axis. */
static double plot_x(const tg_plot_axes *a, double x) {
    return a->log_x ? log10(x) : x;
}

static void draw_lines(void *arg) {
    const lines *l = arg;
    const tg_plot_axes *a = l->axes;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int s = 0; s < l->n_series; s++) {
        const tg_plot_series *S = &l->series[s];
        for (int i = 0; i < S->n; i++) {
            double x = plot_x(a, S->x[i]), d = S->y_std ? S->y_std[i] : 0.0;
            if (!isfinite(x) || !isfinite(S->y[i])) continue;
            if (x < lo[0]) lo[0] = x;
            if (x > hi[0]) hi[0] = x;
            if (S->y[i] - d < lo[1]) lo[1] = S->y[i] - d;
            if (S->y[i] + d > hi[1]) hi[1] = S->y[i] + d;
        }
    }
    if (!(lo[0] <= hi[0])) lo[0] = 0, hi[0] = 1, lo[1] = 0, hi[1] = 1; /* no finite point */
    if (a->y_min < a->y_max) lo[1] = a->y_min, hi[1] = a->y_max;
    for (int k = 0; k < 2; k++) { /* 4% margins; a flat axis gets ±1 */
        double pad = hi[k] > lo[k] ? 0.04 * (hi[k] - lo[k]) : 1.0;
        if (!(k == 1 && a->y_min < a->y_max)) lo[k] -= pad, hi[k] += pad;
    }
    set_palette();
    plcol0(1);
    plschr(0, 1.1);
    pladv(0); /* the frame on the left two thirds, the legend outside it on the right */
    plvpor(0.11, 0.66, 0.12, 0.90);
    plwind(lo[0], hi[0], lo[1], hi[1]);
    plcol0(2);
    plbox(a->log_x ? "glh" : "gh", 0, 0, "gh", 0, 0); /* grey grid lines (minor ones on a log axis) */
    plcol0(1);
    plbox(a->log_x ? "bcnstl" : "bcnst", 0, 0, "bcnstv", 0, 0);
    pllab(a->x_label ? a->x_label : "", a->y_label ? a->y_label : "", a->title ? a->title : "");
    double *px, *py;
    for (int s = 0; s < l->n_series; s++) { /* bands first, underneath every line */
        const tg_plot_series *S = &l->series[s];
        if (!S->y_std || S->n < 1) continue;
        px = tg_xmalloc(2 * (size_t)S->n * sizeof *px);
        py = tg_xmalloc(2 * (size_t)S->n * sizeof *py);
        for (int i = 0; i < S->n; i++) { /* y + std left to right, then y − std back */
            px[i] = px[2 * S->n - 1 - i] = plot_x(a, S->x[i]);
            py[i] = S->y[i] + S->y_std[i];
            py[2 * S->n - 1 - i] = S->y[i] - S->y_std[i];
        }
        const int *c = palette[s % PALETTE_SIZE];
        plscol0a(3 + s % PALETTE_SIZE, c[0], c[1], c[2], 0.2);
        plcol0(3 + s % PALETTE_SIZE);
        if (S->n == 1) { /* one point: a bar of ± std */
            plwidth(6.0);
            plline(2, px, py);
            plwidth(1.0);
        } else {
            plfill(2 * S->n, px, py);
        }
        plscol0a(3 + s % PALETTE_SIZE, c[0], c[1], c[2], 1.0);
        free(px);
        free(py);
    }
    PLINT opt[PALETTE_SIZE], colors[PALETTE_SIZE], text_colors[PALETTE_SIZE], styles[PALETTE_SIZE],
        symbol_colors[PALETTE_SIZE], numbers[PALETTE_SIZE];
    PLFLT widths[PALETTE_SIZE], scales[PALETTE_SIZE];
    const char *text[PALETTE_SIZE], *symbols[PALETTE_SIZE];
    for (int s = 0; s < l->n_series; s++) {
        const tg_plot_series *S = &l->series[s];
        px = tg_xmalloc((size_t)(S->n ? S->n : 1) * sizeof *px);
        py = tg_xmalloc((size_t)(S->n ? S->n : 1) * sizeof *py);
        for (int i = 0; i < S->n; i++) px[i] = plot_x(a, S->x[i]), py[i] = S->y[i];
        plcol0(3 + s % PALETTE_SIZE);
        plwidth(2.5);
        if (S->n > 1) plline(S->n, px, py);
        plwidth(1.0);
        plssym(0.0, 1.0);
        if (S->n > 0) plpoin(S->n, px, py, 17); /* filled circles at the measured points */
        free(px);
        free(py);
        opt[s] = PL_LEGEND_LINE | PL_LEGEND_SYMBOL;
        colors[s] = symbol_colors[s] = 3 + s % PALETTE_SIZE;
        text_colors[s] = 1;
        styles[s] = 1;
        widths[s] = 2.5;
        scales[s] = 1.0;
        numbers[s] = 1;
        symbols[s] = "●";
        text[s] = S->name ? S->name : "";
    }
    if (l->n_series > 0) {
        PLFLT lw, lh;
        plcol0(1);
        pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
                 PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, 0.02, 0.0, 0.05, 0, 1, 1, 0, 0,
                 l->n_series, opt, 1.0, 0.8, 2.0, 0.0, text_colors, text, NULL, NULL, NULL, NULL, colors, styles,
                 widths, symbol_colors, scales, numbers, symbols);
    }
}

tg_status tg_plot_lines(const char *path, const tg_plot_series *series, int n_series, const tg_plot_axes *axes) {
    const char *op = "tg_plot_lines";
    TG_CHECK(path && axes && (series || n_series == 0), op, "need a path, axes and series");
    TG_CHECK(n_series >= 0 && n_series <= PALETTE_SIZE, op, "n_series must be in 0..%d, got %d", PALETTE_SIZE,
             n_series);
    for (int s = 0; s < n_series; s++) {
        const tg_plot_series *S = &series[s];
        TG_CHECK(S->n >= 0 && (S->n == 0 || (S->x && S->y)), op, "series %d: need n >= 0 and x, y", s);
        for (int i = 0; axes->log_x && i < S->n; i++)
            TG_CHECK(S->x[i] > 0, op, "series %d: x[%d] = %g on a log axis: expected > 0", s, i, S->x[i]);
    }
    lines l = {series, n_series, axes};
    return tg__plplot_png(path, 1000, 700, draw_lines, &l);
}

/* ---- PCA ---------------------------------------------------------------------------- */

void tg_pca_project(const float *x, int n, int d, int k, float *out, double *var) {
    TG_CHECK(x && out && n >= 2 && d >= 1 && k >= 1 && k <= d, "tg_pca_project",
             "need n >= 2 rows, d >= 1 and 1 <= k <= d, got n = %d, d = %d, k = %d", n, d, k);
    double *mean = calloc((size_t)d, sizeof *mean), *cov = calloc((size_t)d * d, sizeof *cov);
    double *v = malloc((size_t)d * sizeof *v), *w = malloc((size_t)d * sizeof *w);
    double *vecs = malloc((size_t)k * d * sizeof *vecs);
    TG_CHECK(mean && cov && v && w && vecs, "tg_pca_project", "out of memory (d = %d)", d);
    for (int i = 0; i < n; i++)
        for (int a = 0; a < d; a++) mean[a] += x[(size_t)i * d + a];
    for (int a = 0; a < d; a++) mean[a] /= n;
    for (int i = 0; i < n; i++) /* covariance (upper triangle, then mirrored) */
        for (int a = 0; a < d; a++) {
            double xa = x[(size_t)i * d + a] - mean[a];
            for (int b = a; b < d; b++) cov[(size_t)a * d + b] += xa * (x[(size_t)i * d + b] - mean[b]);
        }
    for (int a = 0; a < d; a++)
        for (int b = a; b < d; b++) cov[(size_t)b * d + a] = cov[(size_t)a * d + b] /= (n - 1);
    for (int c = 0; c < k; c++) {
        for (int a = 0; a < d; a++) v[a] = 1.0 + 0.01 * a; /* fixed start */
        double lambda = 0.0;
        for (int it = 0; it < 1000; it++) {
            double norm = 0.0;
            for (int a = 0; a < d; a++) {
                double s = 0.0;
                for (int b = 0; b < d; b++) s += cov[(size_t)a * d + b] * v[b];
                w[a] = s;
            }
            for (int p = 0; p < c; p++) { /* stay orthogonal to the components found */
                double dot = 0.0;
                for (int a = 0; a < d; a++) dot += w[a] * vecs[(size_t)p * d + a];
                for (int a = 0; a < d; a++) w[a] -= dot * vecs[(size_t)p * d + a];
            }
            for (int a = 0; a < d; a++) norm += w[a] * w[a];
            norm = sqrt(norm);
            if (norm == 0.0) break;
            double change = 0.0;
            for (int a = 0; a < d; a++) {
                double u = w[a] / norm;
                change += fabs(u - v[a]);
                v[a] = u;
            }
            lambda = norm;
            if (change < 1e-10) break;
        }
        memcpy(vecs + (size_t)c * d, v, (size_t)d * sizeof *v);
        if (var) var[c] = lambda;
    }
    for (int i = 0; i < n; i++)
        for (int c = 0; c < k; c++) {
            double s = 0.0;
            for (int a = 0; a < d; a++) s += (x[(size_t)i * d + a] - mean[a]) * vecs[(size_t)c * d + a];
            out[(size_t)i * k + c] = (float)s;
        }
    free(mean);
    free(cov);
    free(v);
    free(w);
    free(vecs);
}
