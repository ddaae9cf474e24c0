/* examples/scaling/results.c — see results.h. */
#define _POSIX_C_SOURCE 200809L
#include "examples/scaling/results.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/io.h"

static const char header[] = "dataset,model,params,N,seed,val_accuracy,test_accuracy,epochs,seconds";

void scaling_results_add(scaling_results *rs, const scaling_result *r) {
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? 2 * rs->cap : 64;
        scaling_result *g = realloc(rs->rows, (size_t)rs->cap * sizeof *g);
        TG_CHECK(g, "scaling_results_add", "out of memory for %d rows", rs->cap);
        rs->rows = g;
    }
    rs->rows[rs->n++] = *r;
}

const scaling_result *scaling_results_find(const scaling_results *rs, const char *dataset, scaling_arm arm,
                                           int64_t n, int seed) {
    for (int i = 0; i < rs->n; i++) {
        const scaling_result *r = &rs->rows[i];
        if (r->arm == arm && r->n == n && r->seed == seed && !strcmp(r->dataset, dataset)) return r;
    }
    return NULL;
}

void scaling_results_free(scaling_results *rs) {
    free(rs->rows);
    memset(rs, 0, sizeof *rs);
}

/* One data row "dataset,model,params,N,seed,val,test,epochs,seconds" into *r. */
static int parse_row(char *line, scaling_result *r, const char **what) {
    char *f[9];
    int k = 0;
    for (char *s = line; k < 9; k++) {
        f[k] = s;
        char *comma = strchr(s, ',');
        if (!comma) {
            k++;
            break;
        }
        *comma = 0;
        s = comma + 1;
    }
    *what = "9 comma-separated fields";
    if (k != 9 || strchr(f[8], ',')) return 0;
    memset(r, 0, sizeof *r);
    *what = "a dataset name of at most 63 characters";
    if (!*f[0] || strlen(f[0]) >= sizeof r->dataset) return 0;
    snprintf(r->dataset, sizeof r->dataset, "%s", f[0]);
    *what = "a model: cnn, vit or vit-local";
    int arm = scaling_arm_parse(f[1]);
    if (arm < 0) return 0;
    r->arm = (scaling_arm)arm;
    char *end;
    double v[7];
    for (int i = 0; i < 7; i++) {
        errno = 0;
        v[i] = strtod(f[2 + i], &end);
        *what = "numbers in the fields params..seconds";
        if (end == f[2 + i] || *end || errno || !isfinite(v[i])) return 0;
    }
    *what = "params >= 1, N >= 1, seed >= 0, accuracies in [0, 100], epochs >= 0, seconds >= 0";
    if (v[0] < 1 || v[1] < 1 || v[2] < 0 || v[3] < 0 || v[3] > 100 || v[4] < 0 || v[4] > 100 || v[5] < 0 ||
        v[6] < 0 || v[0] != floor(v[0]) || v[1] != floor(v[1]) || v[2] != floor(v[2]) || v[5] != floor(v[5]) ||
        v[2] > 1e9)
        return 0;
    r->params = (int64_t)v[0];
    r->n = (int64_t)v[1];
    r->seed = (int)v[2];
    r->val_acc = v[3] / 100;
    r->test_acc = v[4] / 100;
    r->epochs = (int)v[5];
    r->seconds = v[6];
    return 1;
}

tg_status scaling_results_load(const char *path, scaling_results *rs) {
    FILE *probe = fopen(path, "rb");
    if (!probe && errno == ENOENT) {
        memset(rs, 0, sizeof *rs);
        return TG_OK;
    }
    if (probe) fclose(probe);
    void *buf;
    size_t len;
    tg_status st = tg_read_file(path, (size_t)1 << 28, &buf, &len);
    if (st != TG_OK) return st;
    scaling_results t = {0};
    char *s = buf;
    int line = 0;
    while (*s) {
        char *nl = strchr(s, '\n');
        if (nl) *nl = 0;
        size_t l = strlen(s);
        if (l && s[l - 1] == '\r') s[--l] = 0;
        line++;
        if (line == 1) {
            if (strcmp(s, header)) {
                st = tg_set_error_at(TG_ERR_FORMAT, path, line, "expected the header '%s'", header);
                break;
            }
        } else if (l) {
            scaling_result r;
            const char *what;
            if (!parse_row(s, &r, &what)) {
                st = tg_set_error_at(TG_ERR_FORMAT, path, line, "expected %s", what);
                break;
            }
            if (scaling_results_find(&t, r.dataset, r.arm, r.n, r.seed)) {
                st = tg_set_error_at(TG_ERR_FORMAT, path, line, "expected each cell once: %s %s N=%lld seed %d again",
                                     r.dataset, scaling_arm_name(r.arm), (long long)r.n, r.seed);
                break;
            }
            scaling_results_add(&t, &r);
        }
        if (!nl) break;
        s = nl + 1;
    }
    if (st == TG_OK && line == 0) st = tg_set_error_at(TG_ERR_FORMAT, path, 1, "expected the header '%s'", header);
    free(buf);
    if (st != TG_OK) {
        scaling_results_free(&t);
        return st;
    }
    *rs = t;
    return TG_OK;
}

static int write_rows(FILE *f, void *ctx) {
    const scaling_results *rs = ctx;
    if (fprintf(f, "%s\n", header) < 0) return -1;
    for (int i = 0; i < rs->n; i++) {
        const scaling_result *r = &rs->rows[i];
        if (fprintf(f, "%s,%s,%lld,%lld,%d,%.2f,%.2f,%d,%.1f\n", r->dataset, scaling_arm_name(r->arm),
                    (long long)r->params, (long long)r->n, r->seed, 100 * r->val_acc, 100 * r->test_acc, r->epochs,
                    r->seconds) < 0)
            return -1;
    }
    return 0;
}

tg_status scaling_results_save(const char *path, const scaling_results *rs) {
    return tg_write_atomic(path, write_rows, (void *)rs);
}

/* ---- the report ------------------------------------------------------------- */

#define MAX_CURVE_SIZES 64

/* One dataset's curves: per arm and size, mean and std (over seeds) of the
 * test accuracy in %. */
typedef struct {
    const char *dataset;
    int n_sizes;
    double sizes[MAX_CURVE_SIZES];
    double mean[SCALING_N_ARMS][MAX_CURVE_SIZES], std[SCALING_N_ARMS][MAX_CURVE_SIZES];
    int seeds[SCALING_N_ARMS][MAX_CURVE_SIZES];
    int64_t params[SCALING_N_ARMS];
} curves;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void collect(const scaling_results *rs, const char *dataset, curves *c) {
    memset(c, 0, sizeof *c);
    c->dataset = dataset;
    for (int i = 0; i < rs->n; i++) {
        const scaling_result *r = &rs->rows[i];
        if (strcmp(r->dataset, dataset)) continue;
        c->params[r->arm] = r->params;
        int found = 0;
        for (int k = 0; k < c->n_sizes; k++) found |= c->sizes[k] == (double)r->n;
        if (!found && c->n_sizes < MAX_CURVE_SIZES) c->sizes[c->n_sizes++] = (double)r->n;
    }
    qsort(c->sizes, (size_t)c->n_sizes, sizeof *c->sizes, cmp_double);
    for (int a = 0; a < SCALING_N_ARMS; a++)
        for (int k = 0; k < c->n_sizes; k++) {
            double s = 0, s2 = 0;
            int m = 0;
            for (int i = 0; i < rs->n; i++) {
                const scaling_result *r = &rs->rows[i];
                if ((int)r->arm != a || (double)r->n != c->sizes[k] || strcmp(r->dataset, dataset)) continue;
                s += 100 * r->test_acc;
                m++;
            }
            double mean = m ? s / m : NAN;
            for (int i = 0; i < rs->n; i++) {
                const scaling_result *r = &rs->rows[i];
                if ((int)r->arm != a || (double)r->n != c->sizes[k] || strcmp(r->dataset, dataset)) continue;
                s2 += (100 * r->test_acc - mean) * (100 * r->test_acc - mean);
            }
            c->mean[a][k] = mean;
            c->std[a][k] = m > 1 ? sqrt(s2 / (m - 1)) : 0.0; /* sample std over seeds */
            c->seeds[a][k] = m;
        }
}

static tg_status plot_curves(const curves *c, const char *path) {
    tg_plot_series s[SCALING_N_ARMS];
    double x[SCALING_N_ARMS][MAX_CURVE_SIZES], y[SCALING_N_ARMS][MAX_CURVE_SIZES], e[SCALING_N_ARMS][MAX_CURVE_SIZES];
    char names[SCALING_N_ARMS][96];
    int n_series = 0;
    for (int a = 0; a < SCALING_N_ARMS; a++) {
        int m = 0;
        for (int k = 0; k < c->n_sizes; k++)
            if (c->seeds[a][k]) x[a][m] = c->sizes[k], y[a][m] = c->mean[a][k], e[a][m] = c->std[a][k], m++;
        if (!m) continue;
        snprintf(names[a], sizeof names[a], "%s (%lld params)", scaling_arm_name((scaling_arm)a),
                 (long long)c->params[a]);
        s[n_series++] = (tg_plot_series){names[a], m, x[a], y[a], e[a]};
    }
    char title[160];
    snprintf(title, sizeof title, "%s: test accuracy vs N (mean ± std over seeds)", c->dataset);
    const tg_plot_axes ax = {.title = title, .x_label = "training images N (log scale)",
                             .y_label = "test accuracy (%)", .log_x = 1};
    return tg_plot_lines(path, s, n_series, &ax);
}

static void table(const curves *c, FILE *f) {
    fprintf(f, "| N |");
    for (int a = 0; a < SCALING_N_ARMS; a++)
        if (c->params[a]) fprintf(f, " %s (%lld params) |", scaling_arm_name((scaling_arm)a), (long long)c->params[a]);
    fprintf(f, "\n|---:|");
    for (int a = 0; a < SCALING_N_ARMS; a++)
        if (c->params[a]) fprintf(f, "---:|");
    fprintf(f, "\n");
    for (int k = 0; k < c->n_sizes; k++) {
        fprintf(f, "| %.0f |", c->sizes[k]);
        for (int a = 0; a < SCALING_N_ARMS; a++) {
            if (!c->params[a]) continue;
            if (!c->seeds[a][k]) fprintf(f, " – |");
            else fprintf(f, " %.2f ± %.2f (%d) |", c->mean[a][k], c->std[a][k], c->seeds[a][k]);
        }
        fprintf(f, "\n");
    }
}

/* The verdict: computed from the curves, CNN against ViT (and where the
 * local-attention ViT falls), at the sizes both were measured at. */
static void verdict(const curves *c, FILE *f) {
    int both[MAX_CURVE_SIZES], m = 0;
    for (int k = 0; k < c->n_sizes; k++)
        if (c->seeds[SCALING_CNN][k] && c->seeds[SCALING_VIT][k]) both[m++] = k;
    fprintf(f, "**Verdict (%s, computed from the table).** ", c->dataset);
    if (m == 0) {
        fprintf(f, "No size has both a CNN and a ViT result yet.\n");
        return;
    }
    double gap[MAX_CURVE_SIZES];
    for (int i = 0; i < m; i++) gap[i] = c->mean[SCALING_CNN][both[i]] - c->mean[SCALING_VIT][both[i]];
    const int k0 = both[0], k1 = both[m - 1];
    double noise0 = sqrt(c->std[SCALING_CNN][k0] * c->std[SCALING_CNN][k0] + c->std[SCALING_VIT][k0] * c->std[SCALING_VIT][k0]);
    fprintf(f, "At the smallest N = %.0f the %s leads by %.2f points (CNN %.2f%%, ViT %.2f%%", c->sizes[k0],
            gap[0] >= 0 ? "CNN" : "ViT", fabs(gap[0]), c->mean[SCALING_CNN][k0], c->mean[SCALING_VIT][k0]);
    if (c->seeds[SCALING_CNN][k0] > 1 && c->seeds[SCALING_VIT][k0] > 1)
        fprintf(f, "; their std over seeds combine to ±%.2f). ", noise0);
    else
        fprintf(f, "; one seed, no spread measured). ");
    if (m > 1) {
        int shrinking = 0;
        for (int i = 1; i < m; i++) shrinking += fabs(gap[i]) < fabs(gap[i - 1]);
        fprintf(f, "At the largest N = %.0f the gap CNN − ViT is %+.2f points", c->sizes[k1], gap[m - 1]);
        if (fabs(gap[m - 1]) < fabs(gap[0]))
            fprintf(f, ": it shrinks by %.2f points over the range (narrower at %d of %d steps up in N). ",
                    fabs(gap[0]) - fabs(gap[m - 1]), shrinking, m - 1);
        else
            fprintf(f, ": it does not shrink over the range (narrower at %d of %d steps up in N). ", shrinking, m - 1);
        int cross = -1;
        for (int i = 1; i < m && cross < 0; i++)
            if ((gap[i - 1] > 0) != (gap[i] > 0)) cross = i;
        if (cross >= 0)
            fprintf(f, "The lead changes hands between N = %.0f and N = %.0f (the %s is ahead from there). ",
                    c->sizes[both[cross - 1]], c->sizes[both[cross]], gap[cross] > 0 ? "CNN" : "ViT");
        else
            fprintf(f, "There is no crossover up to N = %.0f: the %s stays ahead. ", c->sizes[k1],
                    gap[0] >= 0 ? "CNN" : "ViT");
    }
    if (c->seeds[SCALING_VIT_LOCAL][k0]) {
        double l = c->mean[SCALING_VIT_LOCAL][k0], lo = fmin(c->mean[SCALING_CNN][k0], c->mean[SCALING_VIT][k0]),
               hi = fmax(c->mean[SCALING_CNN][k0], c->mean[SCALING_VIT][k0]);
        fprintf(f, "The local-attention ViT scores %.2f%% at N = %.0f: %s. ", l, c->sizes[k0],
                l >= lo && l <= hi ? "between the two"
                : l > hi           ? "above both"
                                   : "below both");
    }
    fprintf(f, "\n");
}

tg_status scaling_report(const scaling_results *rs, const char *out_dir, FILE *f) {
    char *text = NULL;
    size_t len = 0;
    FILE *md = open_memstream(&text, &len);
    TG_CHECK(md, "scaling_report", "open_memstream failed");
    const char *done[64];
    int n_done = 0;
    tg_status st = TG_OK;
    fprintf(md, "# Data-scaling experiment: results\n\nTest accuracy (%%) on the full test set, mean ± sample std "
                "over seeds (seed count in brackets); each cell is the model of the best validation check.\n");
    for (int i = 0; i < rs->n && st == TG_OK; i++) {
        int seen = 0;
        for (int j = 0; j < n_done; j++) seen |= !strcmp(done[j], rs->rows[i].dataset);
        if (seen || n_done == 64) continue;
        done[n_done++] = rs->rows[i].dataset;
        curves *c = tg_xmalloc(sizeof *c);
        collect(rs, rs->rows[i].dataset, c);
        char png[4096];
        snprintf(png, sizeof png, "%s/scaling_%s.png", out_dir, c->dataset);
        st = plot_curves(c, png);
        fprintf(md, "\n## %s\n\n![%s](scaling_%s.png)\n\n", c->dataset, c->dataset, c->dataset);
        table(c, md);
        fprintf(md, "\n");
        verdict(c, md);
        free(c);
    }
    fclose(md);
    if (st == TG_OK) {
        char path[4096];
        snprintf(path, sizeof path, "%s/scaling.md", out_dir);
        st = tg_write_file_atomic(path, text, len);
    }
    if (f) fputs(text, f);
    free(text);
    return st;
}
