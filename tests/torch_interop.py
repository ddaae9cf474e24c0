#!/usr/bin/python3
"""The PyTorch half of tests/test_torch_interop.c (which runs it; it needs
torch, Debian python3-torch, and is run with /usr/bin/python3).

    torch_interop.py make  DIR   torch models -> DIR/<m>_torch.pt and, through
                                 scripts/tg2torch.py, DIR/<m>_torch.safetensors
    torch_interop.py check DIR   compare outputs and gradients, both directions

Models <m>: `pos` (examples/pos_tagger, its default layout: max-pooled
character CNN, sinusoidal positions), `pos_attn` (attention pooling, learned
positions) and `tr` (examples/translate: encoder-decoder), each written here
in torch from its C model.c, with torch's own modules for the Transformer
(nn.TransformerEncoderLayer / DecoderLayer, pre-LN, GELU in tanh form,
dropout 0, batch_first) and nn.MultiheadAttention with its packed in_proj.

The C test writes, for each model, DIR/<m>_tg.safetensors (a tapegrad
checkpoint, random weights) and DIR/<m>_tg_out.safetensors: the inputs
("in.*", ids stored as floats), a random weighting R, the logits ("out.logits")
and the gradient of loss = sum(logits * R) with respect to every parameter
("grad.<tapegrad name>"); then, after `make`, the same for the torch-made
checkpoint (DIR/<m>_torch_out.safetensors).  `check` converts, loads into
torch (load_state_dict strict), recomputes and compares:

  tapegrad -> torch   torch model loaded from tg2torch(DIR/<m>_tg.safetensors)
                      against C's outputs and gradients on that checkpoint
  torch -> tapegrad   C loaded the converted DIR/<m>_torch.safetensors; its
                      outputs and gradients against torch's own model

Error of a tensor: max |tapegrad − torch| / max |torch| (over the tensor),
gradients compared in torch's names (the packed in_proj).  The test fails
above TOL = 1e-5.
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import tg2torch  # noqa: E402

TOL = 1e-5
UPOS = 17
KW, LC = 3, 20          # examples/pos_tagger/corpus.h: POS_KW, POS_LC
LW = LC - KW + 1
MODELS = ("pos", "pos_attn", "tr")
# Gradients that are zero in exact arithmetic: softmax ignores a constant
# added to all its inputs, so the bias of the character-pooling score gets
# only rounding noise (~1e-8), in tapegrad as in torch.  A relative error
# means nothing there; both must instead be below TOL times the model's
# largest gradient.  (The key projection's bias is the same case but sits
# inside in_proj_bias with the query and value biases, whose gradients set
# the scale.)
ZERO_GRAD = {"char_score.bias"}


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


def sinusoidal(T, C):
    """nn/posenc.c: PE[t, 2i] = sin(t / 10000^(2i/C)), PE[t, 2i+1] = cos(...)."""
    pe = torch.empty(T, C, dtype=torch.float64)
    for c in range(C):
        div = 10000.0 ** ((c & ~1) / C)
        ang = torch.arange(T, dtype=torch.float64) / div
        pe[:, c] = torch.cos(ang) if c & 1 else torch.sin(ang)
    return pe.float()


def enc_layer(d, h, ff):
    return nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, activation=gelu_tanh,
                                      layer_norm_eps=1e-5, batch_first=True, norm_first=True)


def dec_layer(d, h, ff):
    return nn.TransformerDecoderLayer(d, h, ff, dropout=0.0, activation=gelu_tanh,
                                      layer_norm_eps=1e-5, batch_first=True, norm_first=True)


class PosTagger(nn.Module):
    """examples/pos_tagger/model.c in torch (same parameter names)."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        F_ = c["n_filters"]
        self.word_emb = nn.Embedding(c["word_vocab"], c["d_word"])
        self.char_emb = nn.Embedding(c["char_vocab"], c["d_char"])
        self.char_conv = nn.Linear(KW * c["d_char"], F_)
        if not c["char_pool"]:
            self.char_score = nn.Linear(F_, 1)
        self.proj = nn.Linear(c["d_word"] + F_, c["d_model"])
        if c["learned_pos"]:
            self.pos_emb = nn.Embedding(c["max_len"], c["d_model"])
        self.layers = nn.ModuleList(enc_layer(c["d_model"], c["n_heads"], c["d_ff"])
                                    for _ in range(c["n_layers"]))
        self.ln_f = nn.LayerNorm(c["d_model"])
        self.head = nn.Linear(c["d_model"], UPOS)

    def forward(self, io):
        c = self.c
        word_ids, real = io["in.word_ids"].long(), io["in.key_padding"] > 0.5
        type_chars, type_mask = io["in.type_chars"].long(), io["in.type_mask"]
        type_ids = io["in.type_ids"].long()
        B, T = word_ids.shape
        NT = type_chars.shape[0]
        we = self.word_emb(word_ids)
        ce = self.char_emb(type_chars)                                  # [NT, LC, d_char]
        win = torch.cat([ce[:, k:k + LW] for k in range(KW)], 2)       # [NT, LW, KW·d_char]
        h = F.relu(self.char_conv(win))                                 # [NT, LW, F]
        if c["char_pool"]:
            pooled = (h + type_mask[:, :, None]).max(1).values
        else:
            score = self.char_score(h).reshape(NT, 1, LW)
            a = torch.softmax(score + type_mask.reshape(NT, 1, LW), -1)
            pooled = (a @ h).reshape(NT, -1)
        table = torch.cat([torch.zeros(1, pooled.shape[1]), pooled], 0)
        x = self.proj(torch.cat([we, table[type_ids]], 2))
        x = x + (self.pos_emb.weight[:T] if c["learned_pos"] else sinusoidal(T, c["d_model"]))
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=~real)
        return self.head(self.ln_f(x))


class Translator(nn.Module):
    """examples/translate/model.c in torch (same parameter names)."""

    def __init__(self, c):
        super().__init__()
        d, h, ff = c["d_model"], c["n_heads"], c["d_ff"]
        self.src_emb = nn.Embedding(c["src_vocab"], d)
        self.tgt_emb = nn.Embedding(c["tgt_vocab"], d)
        self.encoder = nn.TransformerEncoder(enc_layer(d, h, ff), c["n_enc"], norm=nn.LayerNorm(d),
                                             enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(dec_layer(d, h, ff), c["n_dec"], norm=nn.LayerNorm(d))
        self.head = nn.Linear(d, c["tgt_vocab"])

    def forward(self, io):
        src, src_real = io["in.src"].long(), io["in.src_real"] > 0.5
        dec_in, tgt_real = io["in.dec_in"].long(), io["in.tgt_real"] > 0.5
        Ls, Lt, d = src.shape[1], dec_in.shape[1], self.src_emb.embedding_dim
        memory = self.encoder(self.src_emb(src) + sinusoidal(Ls, d), src_key_padding_mask=~src_real)
        causal = torch.triu(torch.ones(Lt, Lt, dtype=torch.bool), 1)   # True = may not attend
        y = self.decoder(self.tgt_emb(dec_in) + sinusoidal(Lt, d), memory, tgt_mask=causal,
                         tgt_key_padding_mask=~tgt_real, memory_key_padding_mask=~src_real)
        return self.head(y)


def build(name, config):
    return (Translator if name == "tr" else PosTagger)(config)


def config_of(path):
    import json
    _, meta = tg2torch.read_safetensors(path)
    return json.loads(meta["config"]), meta


def make(d):
    """Torch-made models with weights unlike tapegrad's inits (biases and
    LayerNorm affine drawn at random, so every term is exercised)."""
    for i, m in enumerate(MODELS):
        config, meta = config_of(os.path.join(d, f"{m}_tg.safetensors"))
        torch.manual_seed(1234 + i)
        model = build(m, config)
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() == 1:
                    p.add_(torch.rand_like(p) - 0.5)
        sd = model.state_dict()
        torch.save(sd, os.path.join(d, f"{m}_torch.pt"))
        tg2torch.write_safetensors(os.path.join(d, f"{m}_torch.safetensors"),
                                   tg2torch.torch_to_tapegrad(sd),
                                   {"model": meta.get("model", m), "config": meta["config"]})


def rel(a, b):
    den = b.abs().max().item()
    return (a - b).abs().max().item() / (den if den > 0 else 1.0)


def compare(model, io, label):
    """Worst relative errors (logits, gradients) of C's io against model."""
    model.zero_grad()
    logits = model(io)
    (logits * io["in.R"]).sum().backward()
    e_out = rel(io["out.logits"], logits.detach())
    grads_tg = {k[len("grad."):]: v for k, v in io.items() if k.startswith("grad.")}
    grads = tg2torch.tapegrad_to_torch(grads_tg)
    params = dict(model.named_parameters())
    if set(grads) != set(params):
        raise SystemExit(f"{label}: gradient names differ from the model's: "
                         f"{sorted(set(grads) ^ set(params))[:4]}")
    scale = max(p.grad.abs().max().item() for p in params.values())
    worst, where, zero = 0.0, "", 0.0
    for k, p in params.items():
        if k in ZERO_GRAD:
            zero = max(zero, grads[k].abs().max().item() / scale, p.grad.abs().max().item() / scale)
            continue
        e = rel(grads[k], p.grad)
        if e > worst:
            worst, where = e, k
    n = sum(p.numel() for p in params.values())
    note = f"; zero-gradient {sorted(ZERO_GRAD & set(params))[0]}: {zero:.1e} of the largest" if zero else ""
    print(f"  {label:<26} logits {e_out:.2e}   gradients {worst:.2e} (worst: {where}; "
          f"{len(params)} tensors, {n} values{note})")
    return max(e_out, worst, zero)


def check(d):
    worst = 0.0
    print(f"torch {torch.__version__}: max |tapegrad - torch| / max |torch| per tensor (tolerance {TOL:g})")
    for m in MODELS:
        config, _ = config_of(os.path.join(d, f"{m}_tg.safetensors"))
        # tapegrad -> torch: the C checkpoint through tg2torch, loaded strictly.
        sd, _ = tg2torch.read_safetensors(os.path.join(d, f"{m}_tg.safetensors"))
        model = build(m, config)
        model.load_state_dict(tg2torch.tapegrad_to_torch(sd), strict=True)
        io, _ = tg2torch.read_safetensors(os.path.join(d, f"{m}_tg_out.safetensors"))
        worst = max(worst, compare(model, io, f"{m}: tapegrad -> torch"))
        # torch -> tapegrad: C loaded the converted file; torch runs its own model.
        sd_t = torch.load(os.path.join(d, f"{m}_torch.pt"))
        back, _ = tg2torch.read_safetensors(os.path.join(d, f"{m}_torch.safetensors"))
        again = tg2torch.tapegrad_to_torch(back)
        if list(again) != list(sd_t) and set(again) != set(sd_t):
            raise SystemExit(f"{m}: round trip changed the names")
        if any(not torch.equal(again[k], sd_t[k]) for k in sd_t):
            raise SystemExit(f"{m}: torch -> tapegrad -> torch is not bit-identical")
        model = build(m, config)
        model.load_state_dict(sd_t, strict=True)
        io, _ = tg2torch.read_safetensors(os.path.join(d, f"{m}_torch_out.safetensors"))
        worst = max(worst, compare(model, io, f"{m}: torch -> tapegrad"))
    ok = worst <= TOL and math.isfinite(worst)
    print(f"worst relative error {worst:.2e}: {'PASS' if ok else 'FAIL'} (tolerance {TOL:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    torch.set_num_threads(1)
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "check"):
        sys.exit(__doc__)
    if sys.argv[1] == "make":
        make(sys.argv[2])
        sys.exit(0)
    sys.exit(check(sys.argv[2]))
