#!/usr/bin/python3
"""bench/gat_torch.py — the PyTorch peer of W6 (bench/bench_gat.c).

The same two-layer GAT as examples/gat (Velickovic et al. 2018; PyG
GATConv's equations) written in plain PyTorch over an edge list, sparse:
per-edge scores by indexing, the per-destination softmax with
scatter_reduce / index_add_, the aggregation with index_add_ (as PyG does:
messages [E, H, D] then a scatter-sum).  Nothing is N x N.

Input features: dense [N, F] @ W (torch's usual form; --sparse uses
torch.sparse.mm on a CSR tensor instead).

  /usr/bin/python3 bench/gat_torch.py --graph cora --threads 2 --epochs 50
  /usr/bin/python3 bench/gat_torch.py --graph synthetic:100000:1000000 --threads 2

Prints one line: "ms_per_epoch X  peak_rss_mib Y  loss Z".
One epoch = forward in training mode (dropout 0.6 on inputs and attention),
masked cross-entropy on the training nodes, backward, Adam step (lr 0.005,
weight_decay 5e-4).  Median over the timed epochs after 3 warm-up epochs.
"""
import argparse
import os
import resource
import statistics
import time

import torch
import torch.nn.functional as F


def load_cora(path="data/cora"):
    name = os.path.basename(path.rstrip("/"))
    meta = dict(l.split() for l in open(f"{path}/{name}.meta"))
    n, f = int(meta["nodes"]), int(meta["features"])
    rows, cols, vals = [], [], []
    for line in open(f"{path}/{name}.features"):
        p = [int(t) for t in line.split()]
        for c in p[1:]:
            rows.append(p[0]); cols.append(c); vals.append(1.0 / (len(p) - 1))
    x = torch.zeros(n, f)
    x[rows, cols] = torch.tensor(vals)
    y = torch.tensor([int(l.split()[1]) for l in open(f"{path}/{name}.labels")])
    train = torch.tensor([l.split()[1] == "train" for l in open(f"{path}/{name}.split")])
    e = torch.tensor([[int(t) for t in l.split()] for l in open(f"{path}/{name}.edges")]).t()
    return x, y.clamp(min=0), train, e, int(meta["classes"])


def synthetic(n, e_und, f=500, nnz_per_row=10, classes=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    cols = torch.randint(0, f, (n * nnz_per_row,), generator=g)
    rows = torch.arange(n).repeat_interleave(nnz_per_row)
    x = torch.zeros(n, f)
    x[rows, cols] = 1.0 / nnz_per_row
    y = torch.randint(0, classes, (n,), generator=g)
    train = torch.rand(n, generator=g) < 0.05
    u = torch.randint(0, n, (e_und,), generator=g)
    v = torch.randint(0, n, (e_und,), generator=g)
    return x, y, train, torch.stack([u, v]), classes


def both_directions_self_loops(e, n):
    src = torch.cat([e[0], e[1]])
    dst = torch.cat([e[1], e[0]])
    keep = src != dst
    loops = torch.arange(n)
    return torch.cat([src[keep], loops]), torch.cat([dst[keep], loops])


class GATConv(torch.nn.Module):
    def __init__(self, fin, d, heads, concat):
        super().__init__()
        self.h, self.d, self.concat = heads, d, concat
        self.lin = torch.nn.Linear(fin, heads * d, bias=False)
        self.att_src = torch.nn.Parameter(torch.empty(1, heads, d))
        self.att_dst = torch.nn.Parameter(torch.empty(1, heads, d))
        self.bias = torch.nn.Parameter(torch.zeros(heads * d if concat else d))
        torch.nn.init.xavier_uniform_(self.lin.weight)
        torch.nn.init.xavier_uniform_(self.att_src)
        torch.nn.init.xavier_uniform_(self.att_dst)

    def forward(self, x, src, dst, n, sparse_x=None):
        z = (torch.sparse.mm(sparse_x, self.lin.weight.t()) if sparse_x is not None
             else self.lin(x)).view(n, self.h, self.d)
        a_src = (z * self.att_src).sum(-1)
        a_dst = (z * self.att_dst).sum(-1)
        e = F.leaky_relu(a_src[src] + a_dst[dst], 0.2)                     # [E, H]
        idx = dst.unsqueeze(1).expand(-1, self.h)
        m = torch.full((n, self.h), float("-inf")).scatter_reduce(0, idx, e, "amax")
        p = (e - m[dst]).exp()
        s = torch.zeros(n, self.h).index_add_(0, dst, p)
        alpha = F.dropout(p / s[dst], 0.6, self.training)
        out = torch.zeros(n, self.h, self.d).index_add_(0, dst, alpha.unsqueeze(-1) * z[src])
        out = out.reshape(n, -1) if self.concat else out.mean(1)
        return out + self.bias


class GAT(torch.nn.Module):
    def __init__(self, fin, classes):
        super().__init__()
        self.conv1 = GATConv(fin, 8, 8, True)
        self.conv2 = GATConv(64, classes, 1, False)

    def forward(self, x, src, dst, n, sparse_x=None):
        if sparse_x is not None:  # dropout on the nonzeros
            v = F.dropout(sparse_x.values(), 0.6, self.training)
            sparse_x = torch.sparse_csr_tensor(sparse_x.crow_indices(), sparse_x.col_indices(), v,
                                               sparse_x.shape)
        else:
            x = F.dropout(x, 0.6, self.training)
        h = F.elu(self.conv1(x, src, dst, n, sparse_x))
        h = F.dropout(h, 0.6, self.training)
        return self.conv2(h, src, dst, n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--graph", default="cora", help="cora, or synthetic:N:E (E undirected edges)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--sparse", action="store_true", help="torch.sparse.mm for the input layer")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.graph == "cora":
        x, y, train, e, c = load_cora()
    else:
        _, n, ne = a.graph.split(":")
        x, y, train, e, c = synthetic(int(n), int(ne))
    n = x.shape[0]
    src, dst = both_directions_self_loops(e, n)
    sx = x.to_sparse_csr() if a.sparse else None
    model = GAT(x.shape[1], c)
    opt = torch.optim.Adam(model.parameters(), lr=0.005, weight_decay=5e-4)
    model.train()
    times = []
    for ep in range(a.epochs + 3):
        t0 = time.perf_counter()
        opt.zero_grad()
        out = model(x, src, dst, n, sx)
        loss = F.cross_entropy(out[train], y[train])
        loss.backward()
        opt.step()
        if ep >= 3:
            times.append(1e3 * (time.perf_counter() - t0))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"ms_per_epoch {statistics.median(times):.3f}  peak_rss_mib {rss:.1f}  loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
