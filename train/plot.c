/* train/plot.c — see plot.h. */
#include "train/plot.h"

#include <stdlib.h>
#include <string.h>

#include "data/image.h"
#include "data/png.h"

/* 5×7 glyphs, one byte per row, bit 4 = leftmost pixel. */
static const uint8_t font_az[26][7] = {
    {14, 17, 17, 31, 17, 17, 17}, {30, 17, 17, 30, 17, 17, 30}, {14, 17, 16, 16, 16, 17, 14},
    {30, 17, 17, 17, 17, 17, 30}, {31, 16, 16, 30, 16, 16, 31}, {31, 16, 16, 30, 16, 16, 16},
    {14, 17, 16, 23, 17, 17, 15}, {17, 17, 17, 31, 17, 17, 17}, {14, 4, 4, 4, 4, 4, 14},
    {7, 2, 2, 2, 2, 18, 12},      {17, 18, 20, 24, 20, 18, 17}, {16, 16, 16, 16, 16, 16, 31},
    {17, 27, 21, 21, 17, 17, 17}, {17, 17, 25, 21, 19, 17, 17}, {14, 17, 17, 17, 17, 17, 14},
    {30, 17, 17, 30, 16, 16, 16}, {14, 17, 17, 17, 21, 18, 13}, {30, 17, 17, 30, 20, 18, 17},
    {15, 16, 16, 14, 1, 1, 30},   {31, 4, 4, 4, 4, 4, 4},       {17, 17, 17, 17, 17, 17, 14},
    {17, 17, 17, 17, 17, 10, 4},  {17, 17, 17, 21, 21, 21, 10}, {17, 17, 10, 4, 10, 17, 17},
    {17, 17, 10, 4, 4, 4, 4},     {31, 1, 2, 4, 8, 16, 31}};
static const uint8_t font_09[10][7] = {
    {14, 17, 19, 21, 25, 17, 14}, {4, 12, 4, 4, 4, 4, 14},   {14, 17, 1, 2, 4, 8, 31},
    {31, 2, 4, 2, 1, 17, 14},     {2, 6, 10, 18, 31, 2, 2},  {31, 16, 30, 1, 1, 17, 14},
    {6, 8, 16, 30, 17, 17, 14},   {31, 1, 2, 4, 8, 8, 8},    {14, 17, 17, 14, 17, 17, 14},
    {14, 17, 17, 15, 1, 2, 12}};
static const uint8_t font_us[7] = {0, 0, 0, 0, 0, 0, 31};

static const uint8_t *glyph(char c) {
    if (c >= 'A' && c <= 'Z') return font_az[c - 'A'];
    if (c >= 'a' && c <= 'z') return font_az[c - 'a'];
    if (c >= '0' && c <= '9') return font_09[c - '0'];
    if (c == '_') return font_us;
    return NULL;
}

static void put(uint8_t *img, int W, int x, int y, uint8_t r, uint8_t g, uint8_t b) {
    uint8_t *p = img + ((size_t)y * W + x) * 3;
    p[0] = r;
    p[1] = g;
    p[2] = b;
}

/* Draws text with its top-left corner at (x, y); vertical runs top-down. */
static void draw_text(uint8_t *img, int W, int H, int x, int y, const char *s, int vertical) {
    for (; *s; s++) {
        const uint8_t *gl = glyph(*s);
        for (int r = 0; gl && r < 7; r++)
            for (int c = 0; c < 5; c++)
                if (gl[r] & (16 >> c)) {
                    int px = x + c, py = y + r;
                    if (px >= 0 && px < W && py >= 0 && py < H) put(img, W, px, py, 0, 0, 0);
                }
        if (vertical) y += 9;
        else x += 6;
    }
}

tg_status tg_plot_heatmap(const char *path, const int64_t *counts, int rows, int cols,
                          const char *const *row_labels, const char *const *col_labels) {
    TG_CHECK(counts && rows > 0 && cols > 0, "tg_plot_heatmap", "need counts and a positive size, got %d x %d",
             rows, cols);
    const int cell = 24;
    int left = 8, top = 8;
    for (int i = 0; i < rows; i++)
        if (row_labels && (int)strlen(row_labels[i]) * 6 + 8 > left) left = (int)strlen(row_labels[i]) * 6 + 8;
    for (int j = 0; j < cols; j++)
        if (col_labels && (int)strlen(col_labels[j]) * 9 + 8 > top) top = (int)strlen(col_labels[j]) * 9 + 8;
    int W = left + cols * cell + 8, H = top + rows * cell + 8;
    uint8_t *img = malloc((size_t)W * H * 3);
    TG_CHECK(img, "tg_plot_heatmap", "out of memory for a %d x %d image", W, H);
    memset(img, 255, (size_t)W * H * 3);
    for (int i = 0; i < rows; i++) {
        int64_t total = 0;
        for (int j = 0; j < cols; j++) total += counts[(size_t)i * cols + j];
        for (int j = 0; j < cols; j++) {
            double share = total ? (double)counts[(size_t)i * cols + j] / (double)total : 0.0;
            /* white (255,255,255) → dark blue (8,48,107) */
            uint8_t r = (uint8_t)(255 - share * (255 - 8)), g = (uint8_t)(255 - share * (255 - 48)),
                    b = (uint8_t)(255 - share * (255 - 107));
            for (int y = 1; y < cell; y++)
                for (int x = 1; x < cell; x++) put(img, W, left + j * cell + x, top + i * cell + y, r, g, b);
        }
        if (row_labels) draw_text(img, W, H, 4, top + i * cell + 8, row_labels[i], 0);
    }
    for (int j = 0; col_labels && j < cols; j++) draw_text(img, W, H, left + j * cell + 10, 4, col_labels[j], 1);
    tg_status st = tg_png_write_rgb(path, img, W, H);
    free(img);
    return st;
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

/* ---- scatter plot (PLplot) ------------------------------------------------------ */

#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <stdio.h>

#define SCATTER_MAX_CLASSES 14

tg_status tg_plot_scatter(const char *path, const float *xy, int n, const int32_t *classes,
                          int n_classes, const char *const *class_names, const char *title) {
    const char *op = "tg_plot_scatter";
    TG_CHECK(path && xy && classes && n >= 1, op, "need a path, points and classes, got n = %d", n);
    TG_CHECK(n_classes >= 1 && n_classes <= SCATTER_MAX_CLASSES, op,
             "n_classes must be in 1..%d, got %d", SCATTER_MAX_CLASSES, n_classes);
    FILE *probe = fopen(path, "wb"); /* PLplot would exit() on an unwritable file */
    if (!probe) return tg_set_error(TG_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    fclose(probe);
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) {
            double v = xy[2 * i + a];
            if (v < lo[a]) lo[a] = v;
            if (v > hi[a]) hi[a] = v;
        }
    for (int a = 0; a < 2; a++) { /* 5% margins; a flat axis gets ±1 */
        double pad = hi[a] > lo[a] ? 0.05 * (hi[a] - lo[a]) : 1.0;
        lo[a] -= pad, hi[a] += pad;
    }
    /* Colour map 0: 0 white background, 1 black ink, 2 grey, 3.. the classes
     * (the Tableau 10 palette, then four more). */
    static const int pal[SCATTER_MAX_CLASSES][3] = {
        {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
        {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
        {0, 0, 128},    {128, 128, 0},   {0, 128, 128},  {128, 0, 0}};
    plsdev("pngcairo");
    plsfnam(path);
    plsetopt("geometry", "1000x800");
    plscolbg(255, 255, 255);
    plscmap0n(3 + SCATTER_MAX_CLASSES);
    plscol0(1, 0, 0, 0);
    plscol0(2, 190, 190, 190);
    for (int c = 0; c < SCATTER_MAX_CLASSES; c++) plscol0(3 + c, pal[c][0], pal[c][1], pal[c][2]);
    plinit();
    plcol0(1);
    plenv(lo[0], hi[0], lo[1], hi[1], 0, 0);
    pllab("PC 1", "PC 2", title ? title : "");
    double *px = malloc((size_t)n * sizeof *px), *py = malloc((size_t)n * sizeof *py);
    TG_CHECK(px && py, op, "out of memory for %d points", n);
    for (int c = -1; c < n_classes; c++) { /* unlabelled first, underneath */
        int m = 0;
        for (int i = 0; i < n; i++)
            if (classes[i] == c || (c == -1 && (classes[i] < 0 || classes[i] >= n_classes)))
                px[m] = xy[2 * i], py[m] = xy[2 * i + 1], m++;
        if (!m) continue;
        plcol0(c < 0 ? 2 : 3 + c);
        plssym(0.0, 0.8);
        plpoin(m, px, py, 17); /* filled circle */
    }
    free(px);
    free(py);
    PLINT opt[SCATTER_MAX_CLASSES], colors[SCATTER_MAX_CLASSES], numbers[SCATTER_MAX_CLASSES];
    PLFLT scales[SCATTER_MAX_CLASSES];
    char names[SCATTER_MAX_CLASSES][32];
    const char *text[SCATTER_MAX_CLASSES], *symbols[SCATTER_MAX_CLASSES];
    PLINT text_colors[SCATTER_MAX_CLASSES];
    for (int c = 0; c < n_classes; c++) {
        opt[c] = PL_LEGEND_SYMBOL;
        colors[c] = 3 + c;
        text_colors[c] = 1;
        numbers[c] = 1;
        scales[c] = 1.2;
        symbols[c] = "●"; /* UTF-8: the cairo driver draws it with the text font */
        if (class_names) snprintf(names[c], sizeof names[c], "%s", class_names[c]);
        else snprintf(names[c], sizeof names[c], "class %d", c);
        text[c] = names[c];
    }
    PLFLT lw, lh;
    plcol0(1);
    pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_RIGHT | PL_POSITION_TOP | PL_POSITION_INSIDE, 0.02, 0.02, 0.05, 0, 1, 1,
             0, 0, n_classes, opt, 1.0, 1.0, 2.0, 0.0, text_colors, text, NULL, NULL, NULL, NULL,
             NULL, NULL, NULL, colors, scales, numbers, symbols);
    plend();
    return TG_OK;
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
