#include "report/claims.h"

#include <cmath>

namespace unigap {

namespace {

bool reproduced(const std::string& v) { return v.rfind("reproduced", 0) == 0; }

Claim gap_claim(const Study& st) {
  bool all_pos = true, wg = true;
  std::vector<double> w;
  for (auto& [s, b] : st.base_of) {
    for (auto& [t, g] : b["gap"]["by_tag"].items()) all_pos &= number_or(g["non"]["value"], 0) > 0;
    const Rate r = Rate::from_json(b["gap"]["pooled"]["weakgen"]);
    wg &= r.n > 0 && r.ci().lo > 0.5;
    w.push_back(number_or(b["gap"]["pooled"]["weakgen"]["value"]));
  }
  return {"1. Non > 0 on every task; WeakGen > 50%", all_pos && wg ? "reproduced" : "not reproduced",
          "base WeakGen " + pct_ms(w) + "%, its 95% interval above 50% in every seed: " + (wg ? "yes" : "no") +
              "; Non > 0 on every tag in every seed: " + (all_pos ? "yes" : "no")};
}

Rate pooled_win(const Arm& a) {
  Rate win;
  for (auto& s : a.seeds) win.k += s.win_k, win.n += s.win_n;
  return win;
}

Claim dynamics_claim(const json& dyn) {
  if (!dyn.is_object() || !dyn.contains("fits") || !dyn["fits"].is_array() || dyn["fits"].empty())
    return {"4. First-order eNTK prediction agrees with a real step", "see docs/dynamics.md",
            "measured by `unigap dynamics`, not by this script"};
  const json& f = dyn["fits"][0];
  const double r = number_or(f["dG"]["pearson"], 0);
  char b[200];
  std::snprintf(b, sizeof b, "Pearson r = %.3f at eta %g (%d probes); at a small step this tests the expansion, not the mechanism",
                r, number_or(f["eta"], 0), int(dyn.value("probes", json::array()).size()));
  return {"4. First-order eNTK prediction of dG agrees with a real step", r >= 0.9 ? "reproduced" : "not reproduced", b};
}

}  // namespace

std::vector<Claim> judge_claims(const Study& st, const json& dynamics) {
  std::vector<Claim> claims;
  if (st.base_of.empty()) return claims;
  claims.push_back(gap_claim(st));
  const Arm* plain = st.find([](const Arm& a) { return a.method == "sft" && a.supervision == "self" && a.replay.empty(); });
  const Arm* dpo = st.find([](const Arm& a) { return a.method == "dpo" && a.supervision == "self"; });
  const std::vector<const Arm*> replays =
      st.find_all([](const Arm& a) { return a.method == "sft" && a.supervision == "self" && !a.replay.empty(); });
  if (plain) {
    const Diff dg = gen_diff(*plain), dn = non_diff(*plain);
    const std::string vg = verdict_of(dg, +1), vn = verdict_of(dn, -1);
    claims.push_back({"2a. SFT (self) raises Gen and lowers Non on held-out prompts",
                      reproduced(vg) && reproduced(vn) ? vg : (vg == "not reproduced" || vn == "not reproduced") ? "not reproduced" : "inconclusive",
                      "Gen " + diff_text(dg) + " pts, Non " + diff_text(dn) + " pts"});
  }
  if (dpo && plain) {
    const Rate win = pooled_win(*dpo);
    const Diff dg = gen_diff(*dpo);
    const bool less = mean_std(dg.per_seed).mean < mean_std(column(*plain, [](auto& s) { return s.d_gen; })).mean;
    const bool helps = win.n > 0 && win.ci().lo > 0.5;
    claims.push_back({"2b. DPO moves Gen less than SFT but still helps understanding",
                      less && helps ? "reproduced" : (!less || (win.n > 0 && win.ci().hi < 0.5)) ? "not reproduced" : "inconclusive",
                      "DPO Gen " + diff_text(dg) + " pts vs SFT " + diff_text(gen_diff(*plain)) + "; DPO win rate " + rate_text(win)});
  }
  if (plain) {
    const Rate win = pooled_win(*plain);
    int64_t fptn = 0, tnfp = 0;
    for (auto& s : plain->seeds) fptn += s.fp_to_tn, tnfp += s.tn_to_fp;
    const bool up = fptn > tnfp && win.n > 0 && win.ci().lo > 0.5, down = fptn <= tnfp || (win.n > 0 && win.ci().hi < 0.5);
    claims.push_back({"3. Understanding improves though only generation trained (FP->TN > TN->FP, win rate > 50%)",
                      up ? "reproduced" : down ? "not reproduced" : "inconclusive",
                      "SFT (self): FP->TN " + std::to_string(fptn) + " vs TN->FP " + std::to_string(tnfp) + ", win rate " + rate_text(win) +
                          "; Und on rendered pairs " + diff_text(und_diff(*plain)) + " pts"});
  }
  claims.push_back(dynamics_claim(dynamics));
  // The paper's corrupted supervision is offline: a GRPO arm's is a primary endpoint of the page.
  for (const Arm* corrupted : st.find_all([](const Arm& a) {
         return a.method == "sft" && (a.supervision == "inverted" || a.supervision.rfind("flip:", 0) == 0);
       })) {
    const Arm& a = *corrupted;
    const Diff dg = gen_diff(a), du = und_diff(a), dn = non_diff(a);
    const std::string vg = verdict_of(dg, -1), vu = verdict_of(du, -1);
    const bool non_not_up = mean_std(dn.per_seed).mean <= 0 || !reproduced(verdict_of(dn, +1));  // fell or flat
    Rate p;
    for (auto& s : a.seeds) p.k += s.audit_precision.k, p.n += s.audit_precision.n;
    const bool flagged = p.n > 0 && p.ci().hi < 0.5;
    std::string v = reproduced(vg) && reproduced(vu) && non_not_up ? vg
                    : (vg == "not reproduced" || vu == "not reproduced" || !non_not_up) ? "not reproduced" : "inconclusive";
    claims.push_back({"5. Corrupted supervision (" + a.supervision + "): Gen and external Und fall while Non falls or stays flat; the audit flags it",
                      v + (flagged ? "; audit: flagged" : "; audit: not flagged"),
                      "Gen " + diff_text(dg) + ", Und " + diff_text(du) + ", Non " + diff_text(dn) + " pts; audited precision " + rate_text(p)});
  }
  if (const Arm* o = st.find([](const Arm& a) { return a.method == "sft" && a.supervision == "oracle"; })) {
    const Diff dg = gen_diff(*o);
    claims.push_back({"Oracle supervision (upper bound) raises Gen", verdict_of(dg, +1),
                      "Gen " + diff_text(dg) + " pts" + (plain ? "; minus self SFT: " + diff_text(gen_vs(*o, *plain)) + " pts" : "")});
  }
  if (!replays.empty() && plain) {
    const Arm* late = replays.back();
    const Arm* early = replays.size() > 1 ? replays.front() : nullptr;
    bool grew = true;
    for (auto* r : replays)
      for (auto& s : r->seeds) grew &= s.joined > 0;
    const Diff vs_plain = gen_vs(*late, *plain);
    claims.push_back({"6a. Curriculum replay grows the training set", grew ? "reproduced" : "not reproduced",
                      "prompts rejoined at replay, mean over seeds: " + fmt("%.0f", mean_std(column(*late, [](auto& s) { return double(s.joined); })).mean) +
                          " (" + late->name + ")"});
    claims.push_back({"6b. Curriculum SFT beats plain SFT (Gen)", verdict_of(vs_plain, +1), late->name + " minus plain: " + diff_text(vs_plain) + " pts"});
    if (early) {
      const Diff d = gen_vs(*late, *early);
      claims.push_back({"6c. Later replay beats earlier replay (Gen)", verdict_of(d, +1), late->name + " minus " + early->name + ": " + diff_text(d) + " pts"});
    }
  }
  return claims;
}

std::string verdict_legend() {
  return "Verdicts: *reproduced* when the 95% interval of the paired differences over seeds lies on the claimed side (or, for "
         "the win rate, the pooled Wilson interval lies above 50%); *reproduced (one seed)* when only one seed was run and its "
         "interval over prompts lies on the claimed side: a weaker statement, since another training seed may differ; "
         "*not reproduced* when the mean lies on the other side; *inconclusive* otherwise.";
}

}  // namespace unigap
