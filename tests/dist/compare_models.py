"""Compares two unigap checkpoints (or LoRA adapter folders) tensor by tensor (a plain safetensors reader).

usage: compare_models.py DIR_A DIR_B --max-abs X --mean-abs Y --label L [--reference DIR_C]
Exits 1 if a tensor is missing, has another shape, or the largest / mean absolute
difference of the float tensors exceeds the bounds; integer tensors must be equal
except the tokenizer's code-usage counter, which is compared like floats. With
--reference (the same run on another thread count) the distance of DIR_A to DIR_C is the
rounding scale: the bounds become max(bound, --reference-factor x that distance), so that
"2 ranks differ from 1 no more than 2 threads differ from 1" is what is tested.
"""
import argparse, json, os, struct, sys
import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def load(d):
    # A model folder, or a LoRA adapter folder (PEFT's file name).
    path = d + "/model.safetensors"
    if not os.path.exists(path):
        path = d + "/adapter_model.safetensors"
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + s:8 + n + e], dtype=DTYPES[v["dtype"]]).reshape(v["shape"])
    return out


def distance(a, b):
    if a.keys() != b.keys():
        sys.exit(f"tensor names differ: {sorted(a.keys() ^ b.keys())}")
    worst, worst_name, total, n = 0.0, "", 0.0, 0
    for k in sorted(a):
        if a[k].shape != b[k].shape:
            sys.exit(f"tensor {k}: shape {a[k].shape} vs {b[k].shape}")
        d = np.abs(a[k].astype(np.float64) - b[k].astype(np.float64))
        if k.endswith("usage"):
            continue  # a counter of code assignments: reported by the float tensors it drives
        if d.size and d.max() > worst:
            worst, worst_name = float(d.max()), k
        total += float(d.sum()); n += d.size
    return worst, worst_name, total / max(n, 1), n


p = argparse.ArgumentParser()
p.add_argument("a"); p.add_argument("b")
p.add_argument("--max-abs", type=float, required=True)
p.add_argument("--mean-abs", type=float, required=True)
p.add_argument("--label", default="models")
p.add_argument("--reference")
p.add_argument("--reference-factor", type=float, default=1.5)
args = p.parse_args()
worst, name, mean, n = distance(load(args.a), load(args.b))
line = f"  {args.label}: {n} weights, max |diff| {worst:.2e} ({name}), mean |diff| {mean:.2e}"
if args.reference:
    rw, _, rm, _ = distance(load(args.a), load(args.reference))
    line += f"; for scale, 1 process on 2 threads vs 1 thread: max {rw:.2e}, mean {rm:.2e}"
print(line)
if args.reference:
    args.max_abs = max(args.max_abs, args.reference_factor * rw)
    args.mean_abs = max(args.mean_abs, args.reference_factor * rm)
if worst > args.max_abs or mean > args.mean_abs:
    sys.exit(f"  beyond tolerance (max {args.max_abs}, mean {args.mean_abs})")
