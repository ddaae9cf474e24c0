#!/usr/bin/python3
"""bench/charlm_torch.py — the PyTorch peer of W4 (../shared/bench/WORKLOADS.md):
the same decoder-only character Transformer and training loop as
examples/charlm (build/charlm train), so the two can be timed side by side.

Model (nanoGPT's model.py with bias=False, written out here): token and
learned position embeddings, n_layer pre-LN blocks x + MHA(LN(x)),
x + MLP(LN(x)) with causal self-attention and a 4x GELU (tanh) MLP, final LN,
output head tied to the token embedding; no biases in Linear or LayerNorm;
init N(0, 0.02²), the residual projections N(0, (0.02/sqrt(2·n_layer))²).
Loop: random windows of block_size+1 characters of the first 90% of the
text (teacher forcing: targets = inputs shifted by one), mean
cross-entropy, AdamW(betas 0.9/0.99, eps 1e-8, weight decay 0.1 on ≥2-D
tensors only), lr (step+1)/warmup·lr_max then cosine to lr_min at `steps`,
gradient clipping at global norm 1.0.  At the end: the mean loss over 20
random batches of the last 10% (validation).

Then also the mean loss over every consecutive window of the validation split
(val_loss_full: no sampling noise).

--nanogpt switches the two points where this loop (and examples/charlm)
differ from nanoGPT's train.py/model.py: the exact erf GELU (nn.GELU())
instead of the tanh form, and get_lr's warm-up lr·(it+1)/(warmup+1) (this
loop's is lr·(step+1)/warmup; the cosine part is the same).  Everything else
is nanoGPT's CPU configuration already (nanoGPT's loop runs one step more,
max_iters + 1, after its last evaluation).

Prints one line "charlm_torch: steps N threads T wall_s W ms_per_step M
train_loss L val_loss V val_loss_full F".
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm(nn.Module):
    """LayerNorm with a gain and no bias (nn.LayerNorm(bias=False) in torch >= 2.1)."""

    def __init__(self, C):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(C))

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, None, 1e-5)


class Block(nn.Module):
    def __init__(self, C, H, T, gelu="tanh"):
        super().__init__()
        self.H = H
        self.gelu = gelu
        self.register_buffer("causal", torch.tril(torch.ones(T, T)))
        self.ln1 = LayerNorm(C)
        self.qkv = nn.Linear(C, 3 * C, bias=False)
        self.proj = nn.Linear(C, C, bias=False)
        self.ln2 = LayerNorm(C)
        self.fc1 = nn.Linear(C, 4 * C, bias=False)
        self.fc2 = nn.Linear(4 * C, C, bias=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # torch 1.13: no SDPA
        att = att.masked_fill(self.causal[:T, :T] == 0, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        x = x + self.proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate=self.gelu))


class CharLM(nn.Module):
    def __init__(self, V, T, C, H, L, gelu="tanh"):
        super().__init__()
        self.tok = nn.Embedding(V, C)
        self.pos = nn.Embedding(T, C)
        self.blocks = nn.ModuleList(Block(C, H, T, gelu) for _ in range(L))
        self.ln_f = LayerNorm(C)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * L) if name.endswith(("proj.weight", "fc2.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(T))
        for b in self.blocks:
            x = b(x)
        return self.ln_f(x) @ self.tok.weight.t()  # tied head


def lr_at(step, lr_max, lr_min, warmup, total):
    if step < warmup:
        return lr_max * (step + 1) / warmup
    if step >= total:
        return lr_min
    p = (step - warmup) / (total - warmup)
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * p))


def lr_nanogpt(it, lr_max, lr_min, warmup, total):
    """nanoGPT train.py get_lr (lr_decay_iters = total)."""
    if it < warmup:
        return lr_max * (it + 1) / (warmup + 1)
    if it > total:
        return lr_min
    ratio = (it - warmup) / (total - warmup)
    return lr_min + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr_max - lr_min)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="data/tinyshakespeare/input.txt")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--block-size", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=12)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--eval-batches", type=int, default=20)
    ap.add_argument("--nanogpt", action="store_true", help="erf GELU and nanoGPT's get_lr")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    text = open(a.data, encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n_train = int(0.9 * len(data))
    train, val = data[:n_train], data[n_train:]

    def batch(split):
        ix = torch.randint(len(split) - a.block_size, (a.batch_size,))
        x = torch.stack([split[i:i + a.block_size] for i in ix])
        y = torch.stack([split[i + 1:i + 1 + a.block_size] for i in ix])
        return x, y

    model = CharLM(len(chars), a.block_size, a.d_model, a.n_head, a.n_layer,
                   "none" if a.nanogpt else "tanh")
    schedule = lr_nanogpt if a.nanogpt else lr_at
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.99), eps=1e-8)
    t0 = time.perf_counter()
    loss_sum = 0.0
    for step in range(a.steps):
        for g in opt.param_groups:
            g["lr"] = schedule(step, a.lr, a.min_lr, a.warmup, a.steps)
        x, y = batch(train)
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step >= a.steps - 100:
            loss_sum += loss.item()
    wall = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        vl = [F.cross_entropy(model(x).view(-1, len(chars)), y.view(-1)).item()
              for x, y in (batch(val) for _ in range(a.eval_batches))]
        T = a.block_size
        W = (len(val) - 1) // T
        full = 0.0
        for s in range(0, W, 64):
            ks = range(s, min(W, s + 64))
            x = torch.stack([val[k * T:k * T + T] for k in ks])
            y = torch.stack([val[k * T + 1:k * T + T + 1] for k in ks])
            full += len(ks) * F.cross_entropy(model(x).view(-1, len(chars)), y.view(-1)).item()
    print(f"charlm_torch: steps {a.steps} threads {a.threads} wall_s {wall:.2f} "
          f"ms_per_step {1000 * wall / a.steps:.2f} train_loss {loss_sum / min(100, a.steps):.4f} "
          f"val_loss {sum(vl) / len(vl):.4f} val_loss_full {full / W:.4f}", flush=True)


if __name__ == "__main__":
    main()
