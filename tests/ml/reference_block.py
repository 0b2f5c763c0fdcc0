#!/usr/bin/env python3
"""Independent python3-torch mirror of unigap's decoder block (LLaMA-style).

Reads FILE (safetensors written by the C++ test): block weights under "block.",
inputs "x" (B, T, d) and "q" (B, H, T, hd), and the C++ outputs "out_rmsnorm",
"out_rope" (q rotated at positions pos0.., pos0 stored in metadata) and "out_block".
Recomputes each from the formulas (not from unigap's code) and prints the max
absolute difference per output, one "name diff" line each.
"""
import json
import struct
import sys

import numpy as np
import torch


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", info
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[base + b:base + e], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, meta


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, pos0, theta):
    hd = x.shape[-1]
    T = x.shape[-2]
    inv = theta ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    pos = torch.arange(pos0, pos0 + T, dtype=torch.float64)
    ang = torch.outer(pos, inv)  # (T, hd/2)
    cos, sin = ang.cos().float(), ang.sin().float()
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    # Rotate each (x1_i, x2_i) pair by angle pos * inv_i.
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def block(t, x, heads, eps, theta):
    B, T, d = x.shape
    hd = d // heads
    h = rmsnorm(x, t["block.attn_norm.weight"], eps)
    qkv = h @ t["block.attn.qkv.weight"].T
    q, k, v = qkv.view(B, T, 3, heads, hd).permute(2, 0, 3, 1, 4)
    q, k = rope(q, 0, theta), rope(k, 0, theta)
    att = (q @ k.transpose(-1, -2)) / np.sqrt(hd)
    att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf")).softmax(-1)
    y = (att @ v).transpose(1, 2).reshape(B, T, d) @ t["block.attn.out.weight"].T
    x = x + y
    h = rmsnorm(x, t["block.mlp_norm.weight"], eps)
    gu = h @ t["block.mlp.gate_up.weight"].T
    hidden = gu.shape[-1] // 2
    g, u = gu[..., :hidden], gu[..., hidden:]
    return x + (torch.nn.functional.silu(g) * u) @ t["block.mlp.down.weight"].T


def main():
    t, meta = load(sys.argv[1])
    heads, eps, theta, pos0 = int(meta["heads"]), float(meta["eps"]), float(meta["theta"]), int(meta["pos0"])
    x = t["x"]
    ref = {
        "out_rmsnorm": rmsnorm(x, t["block.attn_norm.weight"], eps),
        "out_rope": rope(t["q"], pos0, theta),
        "out_block": block(t, x, heads, eps, theta),
    }
    for name, r in ref.items():
        print(name, float((r - t[name]).abs().max()))


if __name__ == "__main__":
    main()
