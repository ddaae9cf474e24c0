#!/usr/bin/python3
"""bench/pos_torch.py - W5 (shared/bench/WORKLOADS.md) in PyTorch: the model
that `pos_tagger train --words-only 1 --learned-pos 1 --dropout 0
--word-dropout 0` builds in tapegrad, trained the same way, for the
tokens/s comparison of bench/pos_w5.sh.

Model: word embedding [V, 128] (training words seen >= 2 times, others
<unk>) + learned positions [512, 128] -> 2 pre-LN Transformer encoder
blocks (d_model 128, 4 heads, MLP 256 with GELU, no dropout, key padding
mask) -> LayerNorm -> Linear to the 17 UPOS tags; summed cross-entropy over
the words of a batch; Adam(lr 1e-3).  Batches as examples/pos_tagger/corpus.c
makes them: sentences sorted by length (ties in corpus order) cut into
batches of 32, their order shuffled (seeded).

  /usr/bin/python3 bench/pos_torch.py --train data/ud_english_ewt/en_ewt-ud-train.conllu.gz \
      --steps 100 --threads 2

Prints one line "RESULT impl=torch threads=N steps=S words=W seconds=X
words_per_s=Y": every step from the first, timed end to end, as
pos_tagger's train_words_per_second with --max-steps.
"""
import argparse
import gzip
import random
import time

import torch
import torch.nn as nn

UPOS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
        "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"]


def read_conllu(path):
    """Sentences as lists of (form, upos index); multi-word token lines
    (1-2) and empty nodes (1.1) are skipped, as data/conllu.c does."""
    tag = {t: i for i, t in enumerate(UPOS)}
    opener = gzip.open if path.endswith(".gz") else open
    sents, cur = [], []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if cur:
                    sents.append(cur)
                cur = []
                continue
            if line.startswith("#"):
                continue
            cols = line.split("\t")
            if "-" in cols[0] or "." in cols[0]:
                continue
            cur.append((cols[1], tag.get(cols[3], -1)))
    if cur:
        sents.append(cur)
    return sents


def make_batches(sents, vocab, batch_size):
    order = sorted(range(len(sents)), key=lambda i: (len(sents[i]), i))
    batches = []
    for k in range(0, len(order), batch_size):
        idx = order[k:k + batch_size]
        T = max(len(sents[i]) for i in idx)
        words = torch.zeros(len(idx), T, dtype=torch.long)       # 0 = <pad>
        targets = torch.full((len(idx), T), -1, dtype=torch.long)
        pad = torch.ones(len(idx), T, dtype=torch.bool)          # True on padding
        n = 0
        for b, i in enumerate(idx):
            for t, (form, y) in enumerate(sents[i]):
                words[b, t] = vocab.get(form, 1)                  # 1 = <unk>
                targets[b, t] = y
                pad[b, t] = False
            n += len(sents[i])
        batches.append((words, targets, pad, n))
    return batches


class Tagger(nn.Module):
    def __init__(self, vocab_size, d_model=128, n_layers=2, n_heads=4, d_ff=256, max_len=512):
        super().__init__()
        self.word_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Parameter(torch.zeros(max_len, d_model))
        nn.init.normal_(self.word_emb.weight, 0.0, 0.1)   # pos_tagger --emb-std 0.1
        nn.init.normal_(self.pos_emb, 0.0, 0.02)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, d_ff, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, len(UPOS))

    def forward(self, words, pad):
        x = self.word_emb(words) + self.pos_emb[: words.shape[1]]
        x = self.layers(x, src_key_padding_mask=pad)
        return self.head(self.ln_f(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    sents = read_conllu(a.train)
    counts = {}
    for s in sents:
        for form, _ in s:
            counts[form] = counts.get(form, 0) + 1
    vocab = {}
    for form in sorted(counts):
        if counts[form] >= 2:
            vocab[form] = len(vocab) + 2                          # after <pad>, <unk>
    batches = make_batches(sents, vocab, a.batch_size)
    model = Tagger(len(vocab) + 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-1, reduction="sum")
    rng = random.Random(a.seed + 1)
    order = []
    words_done, step = 0, 0
    t0 = time.perf_counter()
    while step < a.steps:
        if not order:
            order = list(range(len(batches)))
            rng.shuffle(order)
        words, targets, pad, n = batches[order.pop()]
        opt.zero_grad(set_to_none=False)
        logits = model(words, pad)
        loss = loss_fn(logits.reshape(-1, len(UPOS)), targets.reshape(-1))
        loss.backward()
        opt.step()
        words_done += n
        step += 1
    sec = time.perf_counter() - t0
    print(f"RESULT impl=torch threads={a.threads} steps={step} words={words_done} seconds={sec:.3f} "
          f"words_per_s={words_done / sec:.1f} loss_last={loss.item() / n:.4f}")


if __name__ == "__main__":
    main()
