#!/usr/bin/python3
"""Writes a Janus-Pro checkpoint with random weights in the official layout, for benchmarks.

The official weights cannot be downloaded here; unigap's speed and memory on a real-sized
model are measured on this file instead (bench/janus.sh). It holds every tensor the official
`MultiModalityCausalLM` state dict holds, with the official key names, shapes, order and
dtype (bf16), written by `torch.save` as the official `pytorch_model.bin` is, next to the
config, tokenizer and processor files of a real folder.

The module structure is enumerated here from deepseek-ai/Janus (siglip_vit.py: timm's
VisionTransformer; vq_model.py: LlamaGen's VQ-16; projector.py; modeling_vlm.py) and
transformers' LlamaForCausalLM. tests/core/test_janus_random_checkpoint.py checks the
enumeration against the tensors of the fixture that the official code wrote
(tests/data/janus/reference/checkpoint_manifest.json): names, shapes and order.

Usage:
  janus_random_checkpoint.py OUT_DIR [--config bench/janus-pro-1b/config.json]
                             [--side-files DIR] [--seed 0] [--manifest-only]
--side-files: where tokenizer.json and the processor files come from (default: the tiny
fixture's, whose tokenizer has 570 tokens: enough for timing; token ids never index
beyond the embedding rows). --manifest-only prints name/shape/dtype lines and writes nothing.
"""
import argparse
import json
import os
import shutil
import sys

# siglip_vit.py's SigLIP_MODEL_CONFIG, plus the tiny fixture's entry (tests/data/janus/README.md).
SIGLIP = {
    "siglip_so400m_patch14_384": dict(image_size=384, patch=14, width=1152, layers=27, mlp=4304),
    "siglip_so400m_patch14_224": dict(image_size=224, patch=14, width=1152, layers=27, mlp=4304),
    "siglip_large_patch16_384": dict(image_size=384, patch=16, width=1024, layers=24, mlp=4096),
    "siglip_tiny_patch16_64": dict(image_size=64, patch=16, width=128, layers=2, mlp=512),
}
# vq_model.py's ModelArgs for VQ_16() (the official code passes no arguments), and the
# fixture's reduced VQ (ch 32, z 32, codebook 256).
VQ = {
    "VQ-16": dict(ch=128, ch_mult=[1, 1, 2, 2, 4], z=256, res_blocks=2, codebook=16384, dim=8),
    "tiny": dict(ch=32, ch_mult=[1, 1, 2, 2, 4], z=32, res_blocks=2, codebook=256, dim=8),
}
# transformers' LlamaConfig defaults for what language_config omits.
LLAMA_DEFAULTS = dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, vocab_size=32000)


def resnet(p, cin, cout):
    out = [(p + "norm1.weight", [cin]), (p + "norm1.bias", [cin]),
           (p + "conv1.weight", [cout, cin, 3, 3]), (p + "conv1.bias", [cout]),
           (p + "norm2.weight", [cout]), (p + "norm2.bias", [cout]),
           (p + "conv2.weight", [cout, cout, 3, 3]), (p + "conv2.bias", [cout])]
    if cin != cout:
        out += [(p + "nin_shortcut.weight", [cout, cin, 1, 1]), (p + "nin_shortcut.bias", [cout])]
    return out


def attn(p, c):
    out = [(p + "norm.weight", [c]), (p + "norm.bias", [c])]
    for n in ("q", "k", "v", "proj_out"):
        out += [(p + n + ".weight", [c, c, 1, 1]), (p + n + ".bias", [c])]
    return out


def vq_tensors(v):
    ch, mult, nres, z = v["ch"], v["ch_mult"], v["res_blocks"], v["z"]
    levels = len(mult)
    e, out = "gen_vision_model.encoder.", []
    out += [(e + "conv_in.weight", [ch, 3, 3, 3]), (e + "conv_in.bias", [ch])]
    cin = ch
    for i in range(levels):
        cout = ch * mult[i]
        p = f"{e}conv_blocks.{i}."
        block = []
        for r in range(nres):
            block += resnet(f"{p}res.{r}.", cin, cout)
            cin = cout
        if i == levels - 1:
            for r in range(nres):
                block += attn(f"{p}attn.{r}.", cin)
        if i != levels - 1:
            block += [(p + "downsample.conv.weight", [cin, cin, 3, 3]), (p + "downsample.conv.bias", [cin])]
        out += block
    out += resnet(e + "mid.0.", cin, cin) + attn(e + "mid.1.", cin) + resnet(e + "mid.2.", cin, cin)
    out += [(e + "norm_out.weight", [cin]), (e + "norm_out.bias", [cin]), (e + "conv_out.weight", [z, cin, 3, 3]), (e + "conv_out.bias", [z])]
    d = "gen_vision_model.decoder."
    cin = ch * mult[-1]
    out += [(d + "conv_in.weight", [cin, z, 3, 3]), (d + "conv_in.bias", [cin])]
    out += resnet(d + "mid.0.", cin, cin) + attn(d + "mid.1.", cin) + resnet(d + "mid.2.", cin, cin)
    for i in range(levels):
        cout = ch * mult[levels - 1 - i]
        p = f"{d}conv_blocks.{i}."
        for r in range(nres + 1):
            out += resnet(f"{p}res.{r}.", cin, cout)
            cin = cout
        if i == 0:
            for r in range(nres + 1):
                out += attn(f"{p}attn.{r}.", cin)
        if i != levels - 1:
            out += [(p + "upsample.conv.weight", [cin, cin, 3, 3]), (p + "upsample.conv.bias", [cin])]
    out += [(d + "norm_out.weight", [cin]), (d + "norm_out.bias", [cin]), (d + "conv_out.weight", [3, cin, 3, 3]), (d + "conv_out.bias", [3])]
    q = "gen_vision_model."
    out += [(q + "quantize.codebook_used", [65536]), (q + "quantize.embedding.weight", [v["codebook"], v["dim"]]),
            (q + "quant_conv.weight", [v["dim"], z, 1, 1]), (q + "quant_conv.bias", [v["dim"]]),
            (q + "post_quant_conv.weight", [z, v["dim"], 1, 1]), (q + "post_quant_conv.bias", [z])]
    return out


def linear(p, i, o, bias=True):
    return [(p + "weight", [o, i])] + ([(p + "bias", [o])] if bias else [])


def siglip_tensors(s):
    p, w = "vision_model.vision_tower.", s["width"]
    tokens = (s["image_size"] // s["patch"]) ** 2
    out = [(p + "pos_embed", [1, tokens, w]), (p + "patch_embed.proj.weight", [w, 3, s["patch"], s["patch"]]),
           (p + "patch_embed.proj.bias", [w])]
    for b in range(s["layers"]):
        q = f"{p}blocks.{b}."
        out += [(q + "norm1.weight", [w]), (q + "norm1.bias", [w])] + linear(q + "attn.qkv.", w, 3 * w) + linear(q + "attn.proj.", w, w)
        out += [(q + "norm2.weight", [w]), (q + "norm2.bias", [w])] + linear(q + "mlp.fc1.", w, s["mlp"]) + linear(q + "mlp.fc2.", s["mlp"], w)
    out += [(p + "norm.weight", [w]), (p + "norm.bias", [w])]
    a = p + "attn_pool."  # global_pool "map": built, never run (ignore_head)
    out += [(a + "latent", [1, 1, w])] + linear(a + "q.", w, w) + linear(a + "kv.", w, 2 * w) + linear(a + "proj.", w, w)
    out += [(a + "norm.weight", [w]), (a + "norm.bias", [w])] + linear(a + "mlp.fc1.", w, s["mlp"]) + linear(a + "mlp.fc2.", s["mlp"], w)
    return out


def projector(p, params):
    assert params.get("projector_type") == "mlp_gelu" and params.get("depth") == 2, p
    return linear(p + "layers.0.", params["input_dim"], params["n_embed"]) + linear(p + "layers.2.", params["n_embed"], params["n_embed"])


def tensors(cfg, vq_name):
    lc = dict(LLAMA_DEFAULTS, **cfg["language_config"])
    H, I, L, V = lc["hidden_size"], lc["intermediate_size"], lc["num_hidden_layers"], lc["vocab_size"]
    kv = lc.get("num_key_value_heads", lc.get("num_attention_heads", 32))
    heads = lc.get("num_attention_heads", 32)
    kv_rows = H // heads * kv
    gh = cfg["gen_head_config"]["params"]
    out = siglip_tensors(SIGLIP[cfg["vision_config"]["params"]["model_name"]])
    out += projector("aligner.", cfg["aligner_config"]["params"])
    out += vq_tensors(VQ[vq_name])
    out += projector("gen_aligner.", cfg["gen_aligner_config"]["params"])
    out += linear("gen_head.output_mlp_projector.", gh["n_embed"], gh["image_token_embed"])
    out += linear("gen_head.vision_head.", gh["image_token_embed"], gh["image_token_size"])
    gv = cfg["gen_vision_config"]["params"]
    out += [("gen_embed.weight", [gv["image_token_size"], gv["n_embed"]])]
    m = "language_model.model."
    out += [(m + "embed_tokens.weight", [V, H])]
    for i in range(L):
        p = f"{m}layers.{i}."
        out += [(p + "self_attn.q_proj.weight", [H, H]), (p + "self_attn.k_proj.weight", [kv_rows, H]),
                (p + "self_attn.v_proj.weight", [kv_rows, H]), (p + "self_attn.o_proj.weight", [H, H]),
                (p + "mlp.gate_proj.weight", [I, H]), (p + "mlp.up_proj.weight", [I, H]), (p + "mlp.down_proj.weight", [H, I]),
                (p + "input_layernorm.weight", [H]), (p + "post_attention_layernorm.weight", [H])]
    out += [(m + "norm.weight", [H]), ("language_model.lm_head.weight", [V, H])]
    return out


def random_tensor(torch, name, shape, gen):
    """Values of the fixture's kind: weights ~N(0, 1/fan_in), norm weights near 1, small biases;
    codebook_used zeros. Generated in float32 per tensor, stored as bf16."""
    if name.endswith("codebook_used"):
        return torch.zeros(shape, dtype=torch.bfloat16)
    leaf = name.rsplit(".", 2)
    is_norm = any(k in name for k in ("norm", "layernorm")) and len(shape) == 1
    if is_norm and name.endswith("weight"):
        t = 1 + 0.1 * torch.randn(shape, generator=gen)
    elif name.endswith("bias") or len(shape) == 1:
        t = 0.05 * torch.randn(shape, generator=gen)
    elif "embed" in leaf[-2] or name.endswith(("latent", "pos_embed", "embedding.weight")) or "embed_tokens" in name:
        t = torch.randn(shape, generator=gen) * (0.5 if name.endswith("pos_embed") else 1.0)
    else:
        fan_in = 1
        for s in shape[1:]:
            fan_in *= s
        t = torch.randn(shape, generator=gen) / fan_in ** 0.5
    return t.to(torch.bfloat16)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--config", default=os.path.join(here, "janus-pro-1b", "config.json"))
    ap.add_argument("--vq", default="VQ-16", choices=sorted(VQ))
    ap.add_argument("--side-files", default=os.path.join(root, "tests", "data", "janus", "tiny"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--manifest-only", action="store_true")
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    if cfg.get("model_type") != "multi_modality":
        sys.exit(f"{a.config}: model_type is {cfg.get('model_type')!r}, not 'multi_modality'")
    names = tensors(cfg, a.vq)
    if a.manifest_only:
        for n, s in names:
            print(n, "x".join(map(str, s)), "bfloat16")
        return
    import collections
    import torch
    os.makedirs(a.out, exist_ok=True)

    def write_atomic(name, write):  # a killed run never leaves a half-written file
        tmp = os.path.join(a.out, name + ".tmp")
        write(tmp)
        os.replace(tmp, os.path.join(a.out, name))

    def write_json(name, obj):
        write_atomic(name, lambda path: json.dump(obj, open(path, "w"), indent=2))

    # The side files first, the weights last: bench/janus.sh takes a folder with
    # pytorch_model.bin as complete. The processor files follow the model's image size.
    write_json("config.json", cfg)
    for side in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        write_atomic(side, lambda path: shutil.copy(os.path.join(a.side_files, side), path))
    sig = SIGLIP[cfg["vision_config"]["params"]["model_name"]]
    pre = json.load(open(os.path.join(a.side_files, "preprocessor_config.json")))
    pre["image_size"] = sig["image_size"]
    write_json("preprocessor_config.json", pre)
    proc = json.load(open(os.path.join(a.side_files, "processor_config.json")))
    proc["num_image_tokens"] = (sig["image_size"] // sig["patch"]) ** 2
    write_json("processor_config.json", proc)

    gen = torch.Generator().manual_seed(a.seed)
    state = collections.OrderedDict()
    total = sum(torch.Size(s).numel() for _, s in names)
    done = 0
    for i, (n, s) in enumerate(names):
        state[n] = random_tensor(torch, n, s, gen)
        done += state[n].numel()
        if i % 100 == 0 or i == len(names) - 1:
            print(f"\r{i + 1}/{len(names)} tensors, {done / 1e9:.2f}/{total / 1e9:.2f} G parameters", end="", file=sys.stderr)
    print(file=sys.stderr)
    write_atomic("pytorch_model.bin", lambda path: torch.save(state, path))
    print(f"{a.out}: {len(names)} tensors, {total:,} parameters, "
          f"{os.path.getsize(os.path.join(a.out, 'pytorch_model.bin')) / 1e9:.2f} GB", file=sys.stderr)


if __name__ == "__main__":
    main()
