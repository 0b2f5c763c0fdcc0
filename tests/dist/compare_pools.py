"""Compares two candidate pools (pool.jsonl) as sets of candidates: the same external judge and prompts,
the same candidates (prompt, k, round) with identical image codes, verdicts and oracle
labels; scores equal to 1e-5 (judging in batches of another size rounds differently).
usage: compare_pools.py POOL_A POOL_B
"""
import json, sys


def load(path):
    judge, prompts, cands = None, [], {}
    for line in open(path):
        j = json.loads(line)
        if j["type"] == "judge":
            judge = j["name"]
        elif j["type"] == "prompt":
            prompts.append(j["metadata"]["prompt"])
        else:
            cands[(j["prompt_index"], j["k"], j["round"])] = j
    return judge, prompts, cands


ja, pa, ca = load(sys.argv[1])
jb, pb, cb = load(sys.argv[2])
if ja != jb:
    sys.exit(f"the external judges differ: {ja} vs {jb}")
if pa != pb:
    sys.exit("the prompts differ")
if ca.keys() != cb.keys():
    sys.exit(f"the candidates differ: {sorted(ca.keys() ^ cb.keys())[:5]}")
worst = 0.0
for key, x in ca.items():
    y = cb[key]
    for f in ("codes", "verdict", "oracle", "reason"):
        if x[f] != y[f]:
            sys.exit(f"candidate {key}: field {f} differs")
    worst = max(worst, abs(x["score"] - y["score"]), abs(x["own_score"] - y["own_score"]))
if worst > 1e-5:
    sys.exit(f"scores differ by {worst}")
rounds = sorted({k[2] for k in ca})
print(f"  pool: {len(pa)} prompts, {len(ca)} candidates (rounds {rounds}), identical codes/verdicts/oracle, "
      f"largest score difference {worst:.1e}")
