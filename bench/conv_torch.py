"""bench/conv_torch.py — W8 (shared/bench/WORKLOADS.md): the PyTorch peer of
bench/bench_conv.c.  nn.Conv2d (3x3, stride 1, padding 1, bias) forward +
backward of the sum of the outputs (input, weight and bias gradients) on a
batch of 128 for the three layers (1->32 at 28x28, 32->64 at 14x14,
64->128 at 7x7), each timed separately; nn.MaxPool2d(2, 2) forward +
backward on the first two layers' outputs.  Layout NCHW (torch's native;
tapegrad uses NHWC).  Median of --reps after 3 warm-up repetitions.

    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/conv_torch.py --threads 2

Prints one line: "conv_ms a b c pool_ms d e" (milliseconds per repetition).
"""
import argparse
import statistics
import time

import torch

LAYERS = [(1, 32, 28), (32, 64, 14), (64, 128, 7)]


def median_ms(fn, reps):
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    conv_ms, pool_ms = [], []
    for i, (cin, cout, side) in enumerate(LAYERS):
        conv = torch.nn.Conv2d(cin, cout, 3, stride=1, padding=1, bias=True)
        x = torch.randn(a.batch, cin, side, side, requires_grad=True)

        def conv_step():
            x.grad = None
            conv.zero_grad(set_to_none=True)
            conv(x).sum().backward()

        conv_ms.append(median_ms(conv_step, a.reps))
        if i < 2:
            pool = torch.nn.MaxPool2d(2, 2)
            y = torch.randn(a.batch, cout, side, side, requires_grad=True)

            def pool_step():
                y.grad = None
                pool(y).sum().backward()

            pool_ms.append(median_ms(pool_step, a.reps))
    print("conv_ms " + " ".join("%.4f" % t for t in conv_ms)
          + " pool_ms " + " ".join("%.4f" % t for t in pool_ms))


if __name__ == "__main__":
    main()
