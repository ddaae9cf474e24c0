#!/usr/bin/python3
"""Write tests/data/torch_refs.safetensors: PyTorch reference values for a
few ops and blocks, checked by tests/test_torch_refs.c (which needs no torch).

    /usr/bin/python3 scripts/gen_torch_refs.py            # rewrites the file

Each case draws float32 inputs and weights (torch.manual_seed(0)), computes
the forward and the gradient of loss = sum(out * R) (R random) in float64,
and stores the results rounded to float32.  Weights are stored under
tapegrad's names (scripts/tg2torch.py torch_to_tapegrad); inputs and
results as "<case>.<what>" and gradients as "grad.<name>".  Shapes here and
in tests/test_torch_refs.c must agree (the C test's loader checks them).

  case       torch                                    tapegrad
  gelu       F.gelu(approximate="tanh"), x [4, 16]    tg_gelu
  softmax    softmax(x + mask), x [3, 9]              tg_softmax(x, mask)
  layernorm  nn.LayerNorm(12), x [5, 12]              tg_layernorm_layer
  xent       F.cross_entropy(sum, ignore_index=-1)    tg_cross_entropy(TG_SUM)
  mha        nn.MultiheadAttention(16, 4), self,      tg_mha (TG_NN_BIAS)
             key padding, x [2, 5, 16]
  xattn      the same, cross: q [2, 4, 16], kv [2, 5, 16]
  enc        nn.TransformerEncoderLayer(16, 4, 32,    tg_encoder_block, pre_ln = 1
             norm_first=True, GELU tanh), x [2, 5, 16]
  enc_post   the same, norm_first=False               tg_encoder_block, pre_ln = 0
  dec        nn.TransformerDecoderLayer, pre-LN,      tg_decoder_block, pre_ln = 1
             y [2, 4, 16], memory [2, 5, 16], causal
"""
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tg2torch  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                   "torch_refs.safetensors")
D, H, FF = 16, 4, 32
KEY_PADDING = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)   # [2, 5]
TGT_PADDING = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)         # [2, 4]

store = OrderedDict()


def put(name, t):
    store[name] = t.detach().float().contiguous()


def leaf(name, *shape, scale=1.0):
    """A float32 input (stored), returned as a float64 leaf with grad."""
    x = (torch.randn(*shape) * scale).float()
    put(name, x)
    return x.double().requires_grad_(True)


def finish(case, out, inputs, module=None, prefix=""):
    """Store out, R, d(sum(out·R))/d(inputs) and, for a module, its weights
    and their gradients under tapegrad names."""
    R = torch.rand(out.shape, dtype=torch.float64) * 2 - 1
    put(f"{case}.R", R)
    put(f"{case}.out", out)
    (out * R).sum().backward()
    for name, x in inputs.items():
        put(f"grad.{case}.{name}", x.grad)
    if module is not None:
        w = OrderedDict((prefix + k, p) for k, p in module.named_parameters())
        g = OrderedDict((prefix + k, p.grad) for k, p in module.named_parameters())
        for k, v in tg2torch.torch_to_tapegrad(w).items():
            put(k, v)
        for k, v in tg2torch.torch_to_tapegrad(g).items():
            put(f"grad.{k}", v)


def randomize(module):
    """float32 weights with biases and LayerNorm affine off their inits, then float64."""
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() == 1:
                p.add_(torch.rand_like(p) - 0.5)
            p.copy_(p.float())
    return module.double()


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


def main():
    torch.manual_seed(0)
    x = leaf("gelu.x", 4, 16, scale=2.5)
    finish("gelu", gelu_tanh(x), {"x": x})

    x = leaf("softmax.x", 3, 9, scale=2.0)
    mask = torch.zeros(3, 9)
    mask[0, 7:] = float("-inf")
    mask[2, ::2] = float("-inf")
    # stored as 1 = blocked (checkpoints hold finite values only); the C test
    # turns it back into the additive -inf mask
    put("softmax.blocked", (mask == float("-inf")).float())
    finish("softmax", torch.softmax(x + mask.double(), -1), {"x": x})

    ln = randomize(nn.LayerNorm(12))
    x = leaf("layernorm.x", 5, 12, scale=3.0)
    finish("layernorm", ln(x), {"x": x}, ln, "layernorm.")

    x = leaf("xent.logits", 6, 7, scale=2.0)
    targets = torch.tensor([3, 0, -1, 6, 2, -1])
    put("xent.targets", targets.float())
    loss = F.cross_entropy(x, targets, ignore_index=-1, reduction="sum")
    put("xent.out", loss.reshape(1))
    loss.backward()
    put("grad.xent.logits", x.grad)

    mha = randomize(nn.MultiheadAttention(D, H, batch_first=True))
    x = leaf("mha.x", 2, 5, D)
    put("mha.key_padding", KEY_PADDING.float())
    y, _ = mha(x, x, x, key_padding_mask=~KEY_PADDING, need_weights=False)
    finish("mha", y, {"x": x}, mha, "mha.self_attn.")

    xa = randomize(nn.MultiheadAttention(D, H, batch_first=True))
    q, kv = leaf("xattn.q", 2, 4, D), leaf("xattn.kv", 2, 5, D)
    put("xattn.key_padding", KEY_PADDING.float())
    y, _ = xa(q, kv, kv, key_padding_mask=~KEY_PADDING, need_weights=False)
    finish("xattn", y, {"q": q, "kv": kv}, xa, "xattn.cross_attn.")

    for case, pre_ln in (("enc", True), ("enc_post", False)):
        enc = randomize(nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation=gelu_tanh,
                                                   batch_first=True, norm_first=pre_ln))
        x = leaf(f"{case}.x", 2, 5, D)
        put(f"{case}.key_padding", KEY_PADDING.float())
        finish(case, enc(x, src_key_padding_mask=~KEY_PADDING), {"x": x}, enc, f"{case}.")

    dec = randomize(nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, activation=gelu_tanh,
                                               batch_first=True, norm_first=True))
    y, mem = leaf("dec.y", 2, 4, D), leaf("dec.memory", 2, 5, D)
    put("dec.tgt_padding", TGT_PADDING.float())
    put("dec.key_padding", KEY_PADDING.float())
    causal = torch.triu(torch.ones(4, 4, dtype=torch.bool), 1)
    out = dec(y, mem, tgt_mask=causal, tgt_key_padding_mask=~TGT_PADDING,
              memory_key_padding_mask=~KEY_PADDING)
    finish("dec", out, {"y": y, "memory": mem}, dec, "dec.")

    tg2torch.write_safetensors(OUT, store, {
        "generator": "scripts/gen_torch_refs.py", "torch": torch.__version__,
        "note": "float32 inputs and weights; results computed in float64, stored as float32"})
    n = sum(t.numel() for t in store.values())
    print(f"{os.path.relpath(OUT)}: {len(store)} tensors, {n} values")


if __name__ == "__main__":
    main()
