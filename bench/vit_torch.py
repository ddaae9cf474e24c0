"""bench/vit_torch.py — the PyTorch peer of bench/bench_vit.c (W2, W3 of
shared/bench/WORKLOADS.md): the same model, step and figures.

Model: Conv2d(C, d, P, stride P) patch embedding (timm's PatchEmbed, the same
arithmetic as tapegrad's patchify + Linear), a learned [CLS] token and
position table, `depth` pre-LN blocks x + MHA(LN(x)), x + MLP(LN(x)) with a
packed qkv Linear, attention softmax(Q Kᵀ/√D) V written out (torch 1.13 has
no fused scaled_dot_product_attention), GELU tanh form, LayerNorm eps 1e-5,
final LN, linear head on [CLS]; mean cross-entropy; torch.optim.AdamW(lr 1e-3,
betas 0.9/0.999, eps 1e-8, weight_decay 0.05); no dropout.  Random inputs
N(0, 1) (NCHW, torch's layout) and random labels, fixed seed.

Figures: median ms/step over 20 steps after 3 warm-up steps, images/s, the
peak RSS of this process (resource.getrusage ru_maxrss after the last step).

Run (as bench/vit.sh does):
  OMP_NUM_THREADS=N OPENBLAS_NUM_THREADS=N /usr/bin/python3 bench/vit_torch.py \
      --workload w2 --threads N
prints a human line and "RESULT impl=torch workload=w2 threads=N ms=... ..."
"""
import argparse
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

WORKLOADS = {
    "w2": dict(image=32, channels=3, patch=4, d=128, depth=6, heads=4, d_ff=256, classes=10, batch=128),
    "w3": dict(image=224, channels=3, patch=16, d=192, depth=12, heads=3, d_ff=768, classes=1000, batch=16),
}


class Block(nn.Module):
    def __init__(self, d, heads, d_ff):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d, eps=1e-5)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, eps=1e-5)
        self.fc1 = nn.Linear(d, d_ff)
        self.fc2 = nn.Linear(d_ff, d)

    def forward(self, x):
        B, T, C = x.shape
        H, D = self.heads, C // self.heads
        qkv = self.qkv(self.norm1(x)).reshape(B, T, 3, H, D).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
        att = att.softmax(dim=-1)
        o = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.proj(o)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x)), approximate="tanh"))


class ViT(nn.Module):
    def __init__(self, w):
        super().__init__()
        d, P = w["d"], w["patch"]
        n = (w["image"] // P) ** 2
        self.patch_embed = nn.Conv2d(w["channels"], d, kernel_size=P, stride=P)
        self.cls_token = nn.Parameter(torch.randn(1, 1, d) * 1e-6)
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, w["heads"], w["d_ff"]) for _ in range(w["depth"]))
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.head = nn.Linear(d, w["classes"])

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)  # [B, N, d]
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for b in self.blocks:
            x = b(x)
        return self.head(self.norm(x[:, 0]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", choices=sorted(WORKLOADS), required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(2024)
    w = WORKLOADS[a.workload]
    model = ViT(w)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)
    B = w["batch"]
    x = torch.randn(B, w["channels"], w["image"], w["image"])
    y = torch.randint(0, w["classes"], (B,))
    times, losses = [], []
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        t = (time.perf_counter() - t0) * 1e3
        losses.append(loss.item())
        if s >= a.warmup:
            times.append(t)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    times.sort()
    med = times[len(times) // 2]
    print(f"torch {torch.__version__} {a.workload}, {a.threads} thread(s): {med:.1f} ms/step "
          f"(min {times[0]:.1f}), {B / (med * 1e-3):.1f} images/s, peak RSS {rss_mib:.1f} MiB; "
          f"loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    print(f"RESULT impl=torch workload={a.workload} threads={a.threads} ms={med:.2f} "
          f"images_per_s={B / (med * 1e-3):.1f} rss_mib={rss_mib:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
