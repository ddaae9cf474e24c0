/* tests/fuzz/fuzz_graph.c — libFuzzer target for the Planetoid graph
 * reader (data/planetoid.c).
 *
 * The input is split at NUL bytes into up to five parts, written as
 * g/g.meta, g.features, g.labels, g.edges, g.split (missing parts become
 * empty files).  A success must give a graph whose every index is in range
 * (and tg_planetoid_graph must build from it); an error must name a file of
 * the folder and leave the output untouched. */
#include "tests/fuzz/fuzz_util.h"

#include <sys/stat.h>

#include "core/graph.h"
#include "data/planetoid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    static const char *const ext[5] = {"meta", "features", "labels", "edges", "split"};
    const char *dir = fz_path("g");
    mkdir(dir, 0700);
    size_t at = 0;
    for (int k = 0; k < 5; k++) {
        const uint8_t *p = data + at;
        const uint8_t *z = at < n ? memchr(p, 0, n - at) : NULL;
        size_t len = at < n ? (z ? (size_t)(z - p) : n - at) : 0;
        char name[32];
        snprintf(name, sizeof name, "g/g.%s", ext[k]);
        fz_put(name, p, len, 0);
        at += len + 1;
    }
    tg_planetoid d;
    memset(&d, 0x5a, sizeof d);
    tg_status st = tg_planetoid_read(dir, &d);
    fz_check_error(st, dir);
    if (st != TG_OK) {
        for (size_t i = 0; i < sizeof d; i++) FZ_ASSERT(((unsigned char *)&d)[i] == 0x5a);
        return 0;
    }
    FZ_ASSERT(d.n_nodes >= 1 && d.n_features >= 1 && d.n_classes >= 1 && d.n_edges >= 0);
    FZ_ASSERT(d.feat_ptr[0] == 0 && d.feat_ptr[d.n_nodes] == d.nnz);
    for (int v = 0; v < d.n_nodes; v++) {
        FZ_ASSERT(d.feat_ptr[v] <= d.feat_ptr[v + 1]);
        for (int64_t j = d.feat_ptr[v]; j < d.feat_ptr[v + 1]; j++)
            FZ_ASSERT(d.feat_idx[j] >= 0 && d.feat_idx[j] < d.n_features &&
                      (j == d.feat_ptr[v] || d.feat_idx[j - 1] < d.feat_idx[j]));
        FZ_ASSERT(d.labels[v] >= -1 && d.labels[v] < d.n_classes && d.split[v] <= TG_SPLIT_TEST);
    }
    for (int64_t e = 0; e < d.n_edges; e++)
        FZ_ASSERT(d.edge_u[e] >= 0 && d.edge_u[e] < d.edge_v[e] && d.edge_v[e] < d.n_nodes);
    tg_csr g;
    tg_planetoid_graph(&d, TG_CSR_SELF_LOOPS, &g);
    tg_csr_free(&g);
    tg_planetoid_free(&d);
    return 0;
}
