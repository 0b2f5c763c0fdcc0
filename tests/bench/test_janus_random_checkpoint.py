#!/usr/bin/python3
"""bench/janus_random_checkpoint.py writes what the official code writes.

1. Its tensor list for the tiny fixture's config equals, name for name, shape for shape
   and in file order, the tensors that the official code wrote into the fixture
   (tests/data/janus/reference/checkpoint_manifest.json).
2. Its tensor list for the Janus-Pro-1B config has the 882 tensors and 2,089,297,547
   parameters of the official 1B checkpoint (4.18 GB in bf16).
3. A checkpoint it writes (tiny dims) is read by `unigap generate` as an official folder.
Usage: test_janus_random_checkpoint.py UNIGAP_BINARY WORK_DIR
"""
import json, math, os, shutil, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
script = os.path.join(root, "bench", "janus_random_checkpoint.py")
fixture = os.path.join(root, "tests", "data", "janus")
unigap, work = sys.argv[1], sys.argv[2]


def listing(*args):
    out = subprocess.run([sys.executable, script, "unused", "--manifest-only", *args], check=True, capture_output=True, text=True).stdout
    return [tuple(l.split()) for l in out.splitlines()]


tiny = listing("--config", os.path.join(fixture, "tiny", "config.json"), "--vq", "tiny")
ref = [(t["name"], "x".join(map(str, t["shape"])), t["dtype"])
       for t in json.load(open(os.path.join(fixture, "reference", "checkpoint_manifest.json")))["tensors"]]
if tiny != ref:
    diff = next(i for i in range(min(len(tiny), len(ref)) + 1) if i >= min(len(tiny), len(ref)) or tiny[i] != ref[i])
    sys.exit(f"tensor {diff} differs from the official fixture: {tiny[diff:diff+1]} vs {ref[diff:diff+1]} "
             f"({len(tiny)} vs {len(ref)} tensors)")

full = listing()
params = sum(math.prod(int(x) for x in s.split("x")) for _, s, _ in full)
if (len(full), params) != (882, 2089297547):
    sys.exit(f"Janus-Pro-1B: {len(full)} tensors, {params} parameters; the official file has 882 and 2089297547")

shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
ckpt = os.path.join(work, "ckpt")
subprocess.run([sys.executable, script, ckpt, "--config", os.path.join(fixture, "tiny", "config.json"), "--vq", "tiny", "--seed", "3"],
               check=True)
with open(os.path.join(root, "data", "geneval", "evaluation_metadata.jsonl")) as f, \
        open(os.path.join(work, "prompts.jsonl"), "w") as out:
    out.write(f.readline())
r = subprocess.run([unigap, "--threads", "1", "generate", "--ckpt", ckpt, "--prompts", os.path.join(work, "prompts.jsonl"),
                    "--n", "1", "-o", os.path.join(work, "gen"), "-q"], capture_output=True, text=True)
if r.returncode != 0:
    sys.exit(f"unigap generate on the written checkpoint failed ({r.returncode}): {r.stderr}")
pngs = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(work, "gen")) for f in fs if f.endswith(".png")]
if len(pngs) != 1:
    sys.exit(f"expected one image, found {pngs}")
print("ok: 420 tensors as the official fixture; 1B: 882 tensors, 2089297547 parameters; the written folder loads")
