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
