#!/usr/bin/python3
"""The adapter `unigap improve --lora-rank` writes reads the way PEFT reads it.

PEFT (peft.PeftModel.from_pretrained) reads adapter_config.json into a LoraConfig and loads
adapter_model.safetensors with set_peft_model_state_dict, whose keys are the wrapped model's
module paths: "base_model.model.<module>.lora_A.weight" (r, in_features) and ".lora_B.weight"
(out_features, r) for every nn.Linear whose name equals a target_modules entry or ends with
"." + one. The update is lora_alpha / r * B @ A (alpha / sqrt(r) with use_rslora).

Checked here with python3-torch on the tiny official-layout checkpoint:
1. adapter_config.json holds PEFT's fields with PEFT's types, and its base exists;
2. the tensors are exactly PEFT's keys for the base's linear layers that the targets name,
   with PEFT's shapes, float32;
3. `unigap merge` writes weights equal to W + scale * B @ A, and one layer's output through
   the merged weight equals the base layer's plus the adapter's path (x A^T B^T * scale);
4. the trained adapter is not the fresh one (B moved off zero).
Usage: test_peft_adapter.py UNIGAP_BINARY WORK_DIR
"""
import json, os, shutil, struct, subprocess, sys

import numpy as np
import torch

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
tiny = os.path.join(root, "tests", "data", "janus", "tiny")
unigap, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)


def fail(msg):
    sys.exit("FAIL: " + msg)


def read_safetensors(path):
    """A plain reader of the format (8-byte header length, JSON header, raw little-endian data)."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        if v["dtype"] != "F32":
            fail(f"{path}: {k} is {v['dtype']}, PEFT's save_pretrained of a float32 adapter writes F32")
        b, e = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[b:e], dtype="<f4").copy()).reshape(v["shape"])
    return out


def run(*args):
    r = subprocess.run([unigap, *args], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"unigap {' '.join(args)} exited {r.returncode}:\n{r.stderr}")


run("improve", "--ckpt", tiny, "-o", os.path.join(work, "run"), "--method", "sft", "--supervision", "flip:0.5",
    "--judge", "ckpt:" + tiny, "--prompts", "6", "-n", "2", "--epochs", "2", "--batch", "4", "--eval-prompts", "2",
    "--eval-k", "1", "--audit-sample", "4", "--lora-rank", "4", "--lora-alpha", "8",
    "--lora-targets", "q_proj,v_proj,down_proj", "-q")
adapter = os.path.join(work, "run", "model")

# 1. adapter_config.json
cfg = json.load(open(os.path.join(adapter, "adapter_config.json")))
expect = {"peft_type": str, "r": int, "lora_alpha": (int, float), "lora_dropout": (int, float), "target_modules": list,
          "bias": str, "fan_in_fan_out": bool, "use_rslora": bool, "use_dora": bool, "base_model_name_or_path": str,
          "inference_mode": bool, "init_lora_weights": bool}
for k, t in expect.items():
    if k not in cfg or not isinstance(cfg[k], t) or (t is int and isinstance(cfg[k], bool)):
        fail(f"adapter_config.json: field {k} missing or not {t}: {cfg.get(k)!r}")
if (cfg["peft_type"], cfg["r"], cfg["lora_alpha"], cfg["bias"]) != ("LORA", 4, 8, "none"):
    fail(f"adapter_config.json: {cfg}")
if sorted(cfg["target_modules"]) != ["down_proj", "q_proj", "v_proj"]:
    fail(f"target_modules {cfg['target_modules']}")
if os.path.realpath(cfg["base_model_name_or_path"]) != os.path.realpath(tiny):
    fail(f"base_model_name_or_path {cfg['base_model_name_or_path']} is not the base {tiny}")
if "unigap" in cfg:
    fail("unigap's own record belongs in unigap.json, not in PEFT's config")

# 2. keys and shapes, from the base's state dict as the official code saved it
base = torch.load(os.path.join(tiny, "pytorch_model.bin"), map_location="cpu", weights_only=True)
targets = cfg["target_modules"]
want = {}
for name, w in base.items():
    if not name.endswith(".weight") or w.dim() != 2:
        continue
    module = name[: -len(".weight")]
    if any(module == t or module.endswith("." + t) for t in targets):
        out_f, in_f = w.shape
        want[f"base_model.model.{module}.lora_A.weight"] = (cfg["r"], in_f)
        want[f"base_model.model.{module}.lora_B.weight"] = (out_f, cfg["r"])
tensors = read_safetensors(os.path.join(adapter, "adapter_model.safetensors"))
if not want:
    fail("the targets name no linear layer of the base")
if set(tensors) != set(want):
    fail(f"keys differ from PEFT's: missing {sorted(set(want) - set(tensors))[:3]}, extra {sorted(set(tensors) - set(want))[:3]}")
for k, shape in want.items():
    if tuple(tensors[k].shape) != shape:
        fail(f"{k}: shape {tuple(tensors[k].shape)}, PEFT's is {shape}")
if all(float(t.abs().max()) == 0 for k, t in tensors.items() if k.endswith("lora_B.weight")):
    fail("every lora_B is zero: the adapter did not train")

# 3. merge
merged_dir = os.path.join(work, "merged")
run("merge", "--ckpt", adapter, "-o", merged_dir)
merged = read_safetensors(os.path.join(merged_dir, "model.safetensors"))
scale = cfg["lora_alpha"] / cfg["r"]
for k in want:
    if not k.endswith("lora_A.weight"):
        continue
    module = k[len("base_model.model."): -len(".lora_A.weight")]
    A, B = tensors[k], tensors[k.replace("lora_A", "lora_B")]
    W = base[module + ".weight"].float()
    expect_w = W + scale * (B @ A)
    if not torch.allclose(merged[module + ".weight"], expect_w, atol=1e-6, rtol=1e-6):
        fail(f"{module}: merged weight differs from W + scale B A by {float((merged[module + '.weight'] - expect_w).abs().max())}")
module = "language_model.model.layers.0.self_attn.q_proj"
A, B = tensors[f"base_model.model.{module}.lora_A.weight"], tensors[f"base_model.model.{module}.lora_B.weight"]
x = torch.randn(5, A.shape[1], generator=torch.Generator().manual_seed(0))
W = base[module + ".weight"].float()
y_peft = x @ W.T + scale * ((x @ A.T) @ B.T)
y_merged = x @ merged[module + ".weight"].T
if not torch.allclose(y_peft, y_merged, atol=1e-5, rtol=1e-5):
    fail(f"{module}: merged output differs from the LoRA path by {float((y_peft - y_merged).abs().max())}")
if float((y_merged - x @ W.T).abs().max()) == 0:
    fail(f"{module}: the adapter changes nothing")
# Everything that is not a target is the base's, unchanged.
for name, w in base.items():
    if name not in merged:
        if "attn_pool" in name or "codebook_used" in name:
            continue  # the official keys unigap does not keep (docs/janus.md)
        fail(f"merged folder lacks {name}")
    if name[: -len(".weight")] in [k[len("base_model.model."): -len(".lora_A.weight")] for k in want]:
        continue
    if not torch.equal(merged[name], w.float()):
        fail(f"{name} changed in the merge")
print(f"PASS: {len(want)} PEFT tensors for {len(want) // 2} layers, merged weights and one layer's output agree")
