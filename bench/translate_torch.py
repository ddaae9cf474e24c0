#!/usr/bin/python3
"""The PyTorch peer of `build/translate train`: the same encoder-decoder
Transformer (torch.nn.Transformer, pre-LN), the same split files, the same
training protocol and the same decoding and BLEU, so the two test BLEU
figures can be compared.  docs/translate.md states the protocol.

    /usr/bin/python3 bench/translate_torch.py --dir runs/translate --epochs 12 --threads 1
    /usr/bin/python3 bench/translate_torch.py --bleu HYP_FILE REF_TSV   # BLEU of a file, as ours

What is the same as examples/translate (defaults equal to its defaults):
  data      {train,dev,test}.tsv written by `translate train` (source TAB target,
            normalised); vocabularies from train.tsv, every word (min count 1),
            specials <pad> <unk> <bos> <eos>
  model     d_model, heads, d_ff, encoder/decoder blocks; pre-LN blocks
            (norm_first=True) and final encoder/decoder LayerNorms; GELU (tanh
            form); dropout p on sublayer outputs and after the GELU, none on
            the attention probabilities (ours has none there); biases
            everywhere; N(0, 1) source and target embeddings plus the
            sinusoidal table; untied output Linear; module default inits
            (MultiheadAttention: Xavier in_proj, Linear: torch default)
  training  teacher forcing; cross-entropy summed over target tokens with
            <pad> ignored, label smoothing eps; AdamW(betas (0.9, 0.98), eps
            1e-9, weight decay on matrices only); linear warm-up then cosine to
            lr_min per step; gradient-norm clipping; batches of B pairs
            shuffled each epoch; after each epoch greedy BLEU on dev, the best
            epoch's weights kept
  test      greedy and beam search (GNMT length penalty ((5+|Y|)/6)^alpha, the
            search of nn/decode.c), at most max_len tokens, corpus BLEU as
            train/bleu.c
"""
import argparse
import math
import os
import sys
import time


def tokens(s):
    return s.split()


def corpus_bleu(hyps, refs):
    """Papineni et al. 2002, as train/bleu.c: clipped 1-4-gram precisions
    summed over the corpus, geometric mean, brevity penalty; 0 when a
    precision is 0."""
    match = [0] * 4
    total = [0] * 4
    c = r = 0
    for h, ref in zip(hyps, refs):
        h, ref = tokens(h), tokens(ref)
        c += len(h)
        r += len(ref)
        for n in range(1, 5):
            hc, rc = {}, {}
            for i in range(len(h) - n + 1):
                g = tuple(h[i:i + n])
                hc[g] = hc.get(g, 0) + 1
            for i in range(len(ref) - n + 1):
                g = tuple(ref[i:i + n])
                rc[g] = rc.get(g, 0) + 1
            match[n - 1] += sum(min(k, rc.get(g, 0)) for g, k in hc.items())
            total[n - 1] += max(len(h) - n + 1, 0)
    if c == 0 or any(m == 0 for m in match):
        return 0.0
    logp = sum(math.log(m / t) for m, t in zip(match, total)) / 4
    bp = 1.0 if c > r else math.exp(1 - r / c)
    return bp * math.exp(logp)


def read_pairs(path):
    with open(path, encoding="utf-8") as f:
        return [tuple(line.rstrip("\n").split("\t")[:2]) for line in f if line.strip()]


PAD, UNK, BOS, EOS = 0, 1, 2, 3


def build_vocab(sents):
    counts = {}
    for s in sents:
        for w in tokens(s):
            counts[w] = counts.get(w, 0) + 1
    words = sorted(counts, key=lambda w: (-counts[w], w.encode()))
    itos = ["<pad>", "<unk>", "<bos>", "<eos>"] + words
    return itos, {w: i for i, w in enumerate(itos)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default="runs/translate")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--time-budget", type=float, default=0)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--lr-min", type=float, default=1e-5)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-ff", type=int, default=256)
    ap.add_argument("--enc-layers", type=int, default=2)
    ap.add_argument("--dec-layers", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--beam", type=int, default=4)
    ap.add_argument("--alpha", type=float, default=0.6)
    ap.add_argument("--max-len", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--metrics-json", default=None)
    ap.add_argument("--bleu", nargs=2, metavar=("HYP", "REF_TSV"),
                    help="only print the corpus BLEU of HYP lines against the targets of REF_TSV")
    a = ap.parse_args()

    if a.bleu:
        hyps = open(a.bleu[0], encoding="utf-8").read().split("\n")
        refs = [t for _, t in read_pairs(a.bleu[1])]
        print("%.2f" % (100 * corpus_bleu(hyps[:len(refs)], refs)))
        return 0

    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError:
        print("translate_torch: PyTorch is not installed (Debian python3-torch): SKIPPED")
        return 0
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    random = __import__("random")
    random.seed(a.seed)

    train, dev, test = (read_pairs(os.path.join(a.dir, p + ".tsv")) for p in ("train", "dev", "test"))
    src_itos, src_stoi = build_vocab(s for s, _ in train)
    tgt_itos, tgt_stoi = build_vocab(t for _, t in train)

    def enc(s, stoi):
        return [stoi.get(w, UNK) for w in tokens(s)]

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            C = a.d_model
            self.src_emb = nn.Embedding(len(src_itos), C)
            self.tgt_emb = nn.Embedding(len(tgt_itos), C)
            self.tf = nn.Transformer(C, a.heads, a.enc_layers, a.dec_layers, a.d_ff, a.dropout,
                                     activation=lambda x: F.gelu(x, approximate="tanh"),
                                     batch_first=True, norm_first=True)
            # module default inits (nn.Transformer re-inits every matrix with Xavier)
            for m in self.tf.modules():
                if isinstance(m, nn.MultiheadAttention):
                    m._reset_parameters()
                    m.dropout = 0.0  # no dropout on attention probabilities (as ours)
                elif isinstance(m, nn.Linear):
                    m.reset_parameters()
            self.head = nn.Linear(C, len(tgt_itos))
            pe = torch.zeros(256, C, dtype=torch.float64)
            pos = torch.arange(256, dtype=torch.float64)[:, None]
            div = torch.pow(10000.0, torch.arange(0, C, 2, dtype=torch.float64) / C)
            pe[:, 0::2] = torch.sin(pos / div)
            pe[:, 1::2] = torch.cos(pos / div)[:, :C // 2]
            self.register_buffer("pe", pe.float())

        def encode(self, src, src_pad):
            x = self.src_emb(src) + self.pe[:src.shape[1]]
            return self.tf.encoder(x, src_key_padding_mask=src_pad)

        def decode(self, mem, src_pad, dec_in, tgt_pad):
            L = dec_in.shape[1]
            y = self.tgt_emb(dec_in) + self.pe[:L]
            causal = torch.triu(torch.full((L, L), float("-inf")), 1)
            h = self.tf.decoder(y, mem, tgt_mask=causal, tgt_key_padding_mask=tgt_pad,
                                memory_key_padding_mask=src_pad)
            return self.head(h)

    def batch(pairs):
        src = [enc(s, src_stoi) for s, _ in pairs]
        tgt = [enc(t, tgt_stoi) for _, t in pairs]
        ls = max(1, max(len(s) for s in src))
        lt = max(len(t) for t in tgt) + 1
        S = torch.full((len(pairs), ls), PAD, dtype=torch.long)
        D = torch.full((len(pairs), lt), PAD, dtype=torch.long)
        T = torch.full((len(pairs), lt), PAD, dtype=torch.long)
        sp = torch.ones((len(pairs), ls), dtype=torch.bool)
        tp = torch.ones((len(pairs), lt), dtype=torch.bool)
        for i, (s, t) in enumerate(zip(src, tgt)):
            S[i, :len(s)] = torch.tensor(s, dtype=torch.long)
            sp[i, :max(len(s), 1)] = False
            D[i, 0] = BOS
            D[i, 1:len(t) + 1] = torch.tensor(t, dtype=torch.long)
            T[i, :len(t)] = torch.tensor(t, dtype=torch.long)
            T[i, len(t)] = EOS
            tp[i, :len(t) + 1] = False
        return S, sp, D, tp, T

    def step_logits(model, mem, src_pad, prefix):
        # the decoder over the whole prefix (torch's nn.TransformerDecoder has
        # no key/value cache); the last position's logits
        return model.decode(mem, src_pad, prefix, None)[:, -1]

    @torch.no_grad()
    def greedy(model, pairs):
        model.eval()
        out = []
        for i in range(0, len(pairs), 128):
            S, sp, _, _, _ = batch(pairs[i:i + 128])
            mem = model.encode(S, sp)
            prefix = torch.full((S.shape[0], 1), BOS, dtype=torch.long)
            done = torch.zeros(S.shape[0], dtype=torch.bool)
            toks = []
            for _ in range(a.max_len):
                nxt = step_logits(model, mem, sp, prefix).argmax(-1)
                nxt = torch.where(done, torch.full_like(nxt, EOS), nxt)
                toks.append(nxt)
                done |= nxt == EOS
                prefix = torch.cat([prefix, nxt[:, None]], 1)
                if done.all():
                    break
            toks = torch.stack(toks, 1).tolist()
            for row in toks:
                words = []
                for t in row:
                    if t == EOS:
                        break
                    words.append(tgt_itos[t])
                out.append(" ".join(words))
        return out

    def lp(n):
        return ((5.0 + n) / 6.0) ** a.alpha

    @torch.no_grad()
    def beam(model, pairs):
        model.eval()
        W, L, out = a.beam, a.max_len, []
        for s, t in pairs:
            S, sp, _, _, _ = batch([(s, t)])
            mem = model.encode(S, sp)
            live = [([], 0.0)]
            fin = []  # (norm, s, toks)
            steps = 0
            while steps < L:
                prefix = torch.tensor([[BOS] + h for h, _ in live], dtype=torch.long)
                logp = F.log_softmax(step_logits(model, mem.expand(len(live), -1, -1),
                                                 sp.expand(len(live), -1), prefix).double(), -1)
                cand = []
                for w, (h, sc) in enumerate(live):
                    vals, idx = logp[w].topk(min(2 * W, logp.shape[1]))
                    cand += [(sc + v, w, i) for v, i in zip(vals.tolist(), idx.tolist())]
                cand.sort(key=lambda c: (-c[0], c[1], c[2]))
                cand = cand[:2 * W]
                new_live = []
                for k, (sc, w, v) in enumerate(cand):
                    if len(new_live) == W:
                        break
                    if v == EOS:
                        if k < W and len(fin) < W:
                            fin.append((sc / lp(steps + 1), sc, live[w][0] + [v]))
                        continue
                    new_live.append((live[w][0] + [v], sc))
                live = new_live
                steps += 1
                if len(fin) == W or not live or steps == L:
                    break
                if fin and max(f[0] for f in fin) >= max(sc / lp(L) for _, sc in live):
                    break
            best = max(fin, key=lambda f: f[0]) if fin else None
            if steps == L or not fin:
                for h, sc in live:
                    if best is None or sc / lp(steps) > best[0]:
                        best = (sc / lp(steps), sc, h)
            out.append(" ".join(tgt_itos[x] for x in best[2] if x != EOS))
        return out

    model = Seq2Seq()
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-9)
    n_batches = (len(train) + a.batch_size - 1) // a.batch_size
    total = a.epochs * n_batches
    warmup = min(a.warmup, total)

    def lr_at(step):
        if step < warmup:
            return a.lr * (step + 1) / warmup
        if step >= total:
            return a.lr_min
        p = (step - warmup) / max(total - warmup, 1)
        return a.lr_min + 0.5 * (a.lr - a.lr_min) * (1 + math.cos(math.pi * p))

    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD, reduction="sum", label_smoothing=a.label_smoothing)
    print("torch %s, %d threads: %d parameters, train %d / dev %d / test %d pairs, vocab %d / %d"
          % (torch.__version__, torch.get_num_threads(), n_params, len(train), len(dev), len(test),
             len(src_itos), len(tgt_itos)), flush=True)
    t0, c0 = time.time(), time.process_time()
    step, best, best_epoch, best_state, stop = 0, -1.0, 0, None, False
    for epoch in range(1, a.epochs + 1):
        model.train()
        order = list(range(len(train)))
        random.shuffle(order)
        loss_sum = tok_sum = 0
        for i in range(0, len(order), a.batch_size):
            S, sp, D, tp, T = batch([train[j] for j in order[i:i + a.batch_size]])
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            mem = model.encode(S, sp)
            logits = model.decode(mem, sp, D, tp)
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), T.reshape(-1))
            opt.zero_grad()
            loss.backward()
            if a.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
            step += 1
            loss_sum += loss.item()
            tok_sum += int((T != PAD).sum())
            if a.time_budget > 0 and time.time() - t0 >= a.time_budget:
                stop = True
                break
        train_s, train_cpu = time.time() - t0, time.process_time() - c0
        dev_bleu = corpus_bleu(greedy(model, dev), [t for _, t in dev])
        print("epoch %d: step %d, train loss %.4f per token, dev BLEU %.2f (greedy), %.0f s"
              % (epoch, step, loss_sum / tok_sum, 100 * dev_bleu, train_s), flush=True)
        if dev_bleu > best:
            best, best_epoch = dev_bleu, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        if stop:
            break
    model.load_state_dict(best_state)
    refs = [t for _, t in test]
    t1 = time.time()
    g = corpus_bleu(greedy(model, test), refs)
    gs = time.time() - t1
    t1 = time.time()
    b = corpus_bleu(beam(model, test), refs)
    bs = time.time() - t1
    print("torch: best epoch %d of %d (dev BLEU %.2f): test BLEU greedy %.2f (%.1f s), beam %d (alpha %.2f) "
          "%.2f (%.1f s); training %.0f s (%.0f s CPU), %d steps"
          % (best_epoch, epoch, 100 * best, 100 * g, gs, a.beam, a.alpha, 100 * b, bs, train_s, train_cpu, step),
          flush=True)
    if a.metrics_json:
        import json
        with open(a.metrics_json, "w") as f:
            json.dump({"dev_bleu": 100 * best, "test_bleu_greedy": 100 * g, "test_bleu_beam": 100 * b,
                       "train_seconds": train_s, "train_cpu_seconds": train_cpu, "epochs": epoch, "best_epoch": best_epoch, "steps": step,
                       "parameters": n_params}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
