#!/usr/bin/python3
"""Convert tapegrad checkpoints to PyTorch state_dicts and back.

    /usr/bin/python3 scripts/tg2torch.py to-torch  run/pos.safetensors pos.pt
    /usr/bin/python3 scripts/tg2torch.py to-tapegrad pos.pt back.safetensors --meta-from run/pos.safetensors

tapegrad names its parameters as torch does (docs/checkpoints.md), except in
the Transformer layers, which keep four separate attention projections and
their own sublayer names (docs/layers.md, "Mapping to PyTorch state_dict
names").  This script maps them:

  tapegrad (tg_mha, tg_encoder_block, tg_decoder_block)   torch
  <blk>.self_attn.w_q|w_k|w_v.weight [C, C] each           <blk>.self_attn.in_proj_weight [3C, C] (rows Q, K, V)
  <blk>.self_attn.w_q|w_k|w_v.bias   [C] each              <blk>.self_attn.in_proj_bias [3C]
  <blk>.self_attn.w_o.weight|bias                          <blk>.self_attn.out_proj.weight|bias
  <blk>.cross_attn.*                                       <blk>.multihead_attn.* (as self_attn)
  <blk>.mlp.fc1.* / <blk>.mlp.fc2.*                        <blk>.linear1.* / <blk>.linear2.*
  <blk>.ln1.* / ln2.* / ln3.*                              <blk>.norm1.* / norm2.* / norm3.*
  everything else (Linear, LayerNorm, Embedding, ...)      unchanged (same names, same layouts)

<blk> is any prefix that holds a `self_attn` (a tg_encoder_block or
tg_decoder_block = torch.nn.TransformerEncoderLayer / TransformerDecoderLayer);
a lone tg_mha under another name maps the same way when the name ends in
self_attn or cross_attn.  timm-style packed blocks (attn.qkv, attn.proj) are
timm's own names and pass through unchanged.  `__optim__.*` tensors (Adam's
moments) are dropped on the way to torch: a state_dict holds the model only.

Input and output files: `.safetensors` (read and written here, no
`safetensors` package needed) or a torch.save'd state_dict (`.pt`, `.pth`,
`.bin`).  The tapegrad file's metadata (model config, vocabularies) cannot
ride in a state_dict: `to-torch` prints it, and `to-tapegrad --meta-from
CKPT` copies it from a tapegrad checkpoint (the `tapegrad.*` keys, which
describe a training run's step and optimizer, are left behind).

As a module: read_safetensors, write_safetensors, tapegrad_to_torch,
torch_to_tapegrad (tests/torch_interop.py uses them).
"""
import argparse
import json
import re
import struct
import sys
from collections import OrderedDict

import torch

_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16,
           "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32,
           "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}
_NAMES = {v: k for k, v in _DTYPES.items()}


def read_safetensors(path):
    """(OrderedDict name -> tensor in file order, metadata dict of strings)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: {len(raw)} bytes, too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = memoryview(raw)[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    out = OrderedDict()
    for name, e in entries:
        b, end = e["data_offsets"]
        dt = _DTYPES[e["dtype"]]
        buf = bytearray(data[b:end])
        t = torch.frombuffer(buf, dtype=dt) if buf else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    return out, dict(meta)


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> tensor (written contiguous, little-endian, in the
    dict's order); metadata: dict of strings or None."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        b = t.numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# Sublayer renames inside a Transformer block: tapegrad -> torch.
_BLOCK = [("mlp.fc1.", "linear1."), ("mlp.fc2.", "linear2."),
          ("ln1.", "norm1."), ("ln2.", "norm2."), ("ln3.", "norm3.")]
_ATTN = {"self_attn": "self_attn", "cross_attn": "multihead_attn"}


def _blocks(names, marker):
    """Prefixes P (with their dot) such that P + marker is a name."""
    return {n[:-len(marker)] for n in names if n.endswith(marker)}


def _rename_sublayer(n, blocks, pairs):
    """n with its block's sublayer renamed by the first (old, new) pair whose
    old starts the part after the block prefix; n itself outside blocks."""
    for pre in blocks:
        if n.startswith(pre):
            rest = n[len(pre):]
            for old, new in pairs:
                if rest.startswith(old):
                    return pre + new + rest[len(old):]
    return n


def tapegrad_to_torch(sd):
    """tapegrad names/layouts -> torch state_dict (OrderedDict, new tensors)."""
    names = list(sd)
    blocks = _blocks(names, "self_attn.w_q.weight")
    out = OrderedDict()
    done = set()
    for n in names:
        if n.startswith("__optim__.") or n in done:
            continue
        m = re.match(r"^((?:.*\.)?)(self_attn|cross_attn)\.w_([qkvo])\.(weight|bias)$", n)
        if m:
            pre, attn, which, kind = m.groups()
            tattn = _ATTN[attn]
            if pre not in blocks and attn == "cross_attn":
                tattn = "cross_attn"   # a lone tg_mha keeps its own name
            if which == "o":
                out[f"{pre}{tattn}.out_proj.{kind}"] = sd[n].clone()
                done.add(n)
            else:
                parts = [f"{pre}{attn}.w_{c}.{kind}" for c in "qkv"]
                missing = [p for p in parts if p not in sd]
                if missing:
                    raise ValueError(f"{n}: {missing[0]} is missing (tg_mha has all three)")
                out[f"{pre}{tattn}.in_proj_{kind}"] = torch.cat([sd[p] for p in parts], 0)
                done.update(parts)
            continue
        out[_rename_sublayer(n, blocks, _BLOCK)] = sd[n].clone()
    return out


def torch_to_tapegrad(sd):
    """torch state_dict -> tapegrad names/layouts (OrderedDict, float32,
    contiguous, no shared storage).  Inverse of tapegrad_to_torch."""
    names = list(sd)
    blocks = _blocks(names, "self_attn.in_proj_weight") | _blocks(names, "self_attn.out_proj.weight")
    back = {"self_attn": "self_attn", "multihead_attn": "cross_attn", "cross_attn": "cross_attn"}
    out = OrderedDict()
    for n in names:
        t = sd[n].detach()
        m = re.match(r"^((?:.*\.)?)(self_attn|multihead_attn|cross_attn)\.(in_proj_weight|in_proj_bias|"
                     r"out_proj\.weight|out_proj\.bias|q_proj_weight|k_proj_weight|v_proj_weight)$", n)
        if m:
            pre, attn, what = m.groups()
            attn = back[attn]
            if what.startswith("in_proj_"):
                kind = what[len("in_proj_"):]
                if t.shape[0] % 3:
                    raise ValueError(f"{n}: {list(t.shape)} is not 3 stacked projections")
                for c, part in zip("qkv", torch.chunk(t, 3, 0)):
                    out[f"{pre}{attn}.w_{c}.{kind}"] = part.float().contiguous().clone()
            elif what.startswith("out_proj"):
                out[f"{pre}{attn}.w_o.{what.split('.')[1]}"] = t.float().contiguous().clone()
            else:
                raise ValueError(f"{n}: separate q/k/v projections of different widths "
                                 "(kdim/vdim != embed_dim) have no tg_mha equivalent")
            continue
        new = _rename_sublayer(n, blocks, [(b, a) for a, b in _BLOCK])
        out[new] = t.float().contiguous().clone() if t.is_floating_point() else t.contiguous().clone()
    return out


def _read_any(path):
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    return OrderedDict(obj), {}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("to-torch", help="tapegrad .safetensors -> torch state_dict (.pt or .safetensors)")
    a.add_argument("src")
    a.add_argument("dst")
    a.add_argument("--meta-json", help="also write the checkpoint's metadata to this JSON file")
    b = sub.add_parser("to-tapegrad", help="torch state_dict (.pt or .safetensors) -> tapegrad .safetensors")
    b.add_argument("src")
    b.add_argument("dst")
    b.add_argument("--meta-from", help="copy the metadata (config, vocabularies) of this tapegrad checkpoint")
    b.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE",
                   help="set one metadata string (repeatable; e.g. config='{...}')")
    args = ap.parse_args(argv)

    if args.cmd == "to-torch":
        sd, meta = read_safetensors(args.src)
        out = tapegrad_to_torch(sd)
        if args.dst.endswith(".safetensors"):
            write_safetensors(args.dst, out, {k: v for k, v in meta.items() if not k.startswith("tapegrad.")})
        else:
            torch.save(out, args.dst)
        if args.meta_json:
            with open(args.meta_json, "w") as f:
                json.dump(meta, f, indent=1)
        print(f"{args.dst}: {len(out)} tensors ({sum(t.numel() for t in out.values())} values)"
              f" from {len(sd)} in {args.src}")
        for k in ("model", "config"):
            if k in meta:
                print(f"  {k}: {meta[k]}")
    else:
        sd, meta = _read_any(args.src)
        if args.meta_from:
            _, m = read_safetensors(args.meta_from)
            meta.update({k: v for k, v in m.items() if not k.startswith("tapegrad.")})
        for kv in args.meta:
            k, sep, v = kv.partition("=")
            if not sep:
                ap.error(f"--meta {kv}: expected KEY=VALUE")
            meta[k] = v
        meta = {k: v for k, v in meta.items() if not k.startswith("tapegrad.")}
        out = torch_to_tapegrad(sd)
        write_safetensors(args.dst, out, meta)
        print(f"{args.dst}: {len(out)} tensors from {len(sd)} in {args.src}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
