#include "train/pretrain.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/error.h"
#include "common/progress.h"
#include "common/rng.h"
#include "dist/dist.h"
#include "eval/external_judge.h"
#include "eval/tokenizer_fidelity.h"
#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "model/checkpoint.h"
#include "model/shapes_model.h"
#include "model/torch_runtime.h"
#include "train/checkpointing.h"
#include "train/losses.h"
#include "train/pretrain_data.h"
#include "train/train_step.h"

namespace unigap {

PretrainConfig PretrainConfig::for_preset(const std::string& preset, int world_version) {
  PretrainConfig c;
  c.preset = preset;
  if (world_version >= 2) {  // the recipe of the shipped version 2 bases (docs/model.md)
    c.steps = 4800;
    c.hard_negative_share = 0.9;
    c.negative_weight = 2.0;
    c.tag_weights = {{"single_object", 0.85}, {"two_object", 1.05}, {"counting", 1.0},
                     {"colors", 0.85},        {"position", 1.05},   {"color_attr", 1.2}};
  }
  if (preset == "tiny") {  // seconds, for tests
    c.vq_steps = 60;
    c.vq_batch = 32;
    c.steps = 60;
    c.batch = 16;
    c.warmup = 10;
    c.ckpt_every = 20;
    c.log_every = 10;
    c.vq_restart_every = 20;
  } else if (preset != "small") {
    ModelConfig::preset_named(preset);  // throws the "unknown preset" error
  }
  return c;
}

void PretrainConfig::validate() const {
  auto fail = [](const std::string& f, const std::string& why) { throw UserError(why, "pretrain config field '" + f + "'"); };
  if (vq_steps < 0 || steps < 0) fail("steps", "must be >= 0");
  if (vq_batch < 1) fail("vq_batch", "must be >= 1");
  if (batch < 2) fail("batch", "must be >= 2 (half of the images are asked about twice)");
  for (auto [f, v] : {std::pair{"gen_weight", gen_weight}, {"und_weight", und_weight}, {"caption_weight", caption_weight},
                       {"region_weight", region_weight}})
    if (!(v >= 0)) fail(f, "must be >= 0");
  if (!(vq_lr > 0) || !(lr > 0)) fail("lr", "must be > 0");
  if (!(min_lr_ratio >= 0 && min_lr_ratio <= 1)) fail("min_lr_ratio", "must be in [0, 1]");
  if (warmup < 0) fail("warmup", "must be >= 0");
  if (!(prompt_dropout >= 0 && prompt_dropout < 1)) fail("prompt_dropout", "must be in [0, 1)");
  if (!(hard_negative_share >= 0 && hard_negative_share <= 1)) fail("hard_negative_share", "must be in [0, 1]");
  if (!(negative_weight > 0 && std::isfinite(negative_weight))) fail("negative_weight", "must be a finite number > 0");
  double tag_total = 0;
  for (auto& [tag, w] : tag_weights) {
    if (std::find(kTags.begin(), kTags.end(), tag) == kTags.end())
      fail("tag_weights", "names '" + tag + "', which is not a tag (one of single_object, two_object, counting, colors, position, color_attr)");
    if (!(w >= 0 && std::isfinite(w))) fail("tag_weights", "weight of '" + tag + "' must be a finite number >= 0");
    tag_total += w;
  }
  if (!tag_weights.empty() && !(tag_total > 0)) fail("tag_weights", "at least one tag needs a weight > 0");
  if (ckpt_every < 1 || log_every < 1 || vq_restart_every < 1) fail("ckpt_every", "periods must be >= 1");
  if (!(grad_clip > 0)) fail("grad_clip", "must be > 0");
}

json PretrainConfig::to_json() const {
  return {{"preset", preset},         {"seed", seed},
          {"vq_steps", vq_steps},     {"vq_batch", vq_batch},
          {"vq_lr", vq_lr},           {"vq_restart_every", vq_restart_every},
          {"steps", steps},           {"batch", batch},
          {"lr", lr},                 {"min_lr_ratio", min_lr_ratio},
          {"warmup", warmup},         {"weight_decay", weight_decay},
          {"grad_clip", grad_clip},   {"prompt_dropout", prompt_dropout},
          {"gen_weight", gen_weight}, {"und_weight", und_weight}, {"caption_weight", caption_weight},
          {"region_weight", region_weight},
          {"hard_negative_share", hard_negative_share}, {"negative_weight", negative_weight},
          {"tag_weights", tag_weights},
          {"model", model},           {"vq_from", vq_from},       {"ckpt_every", ckpt_every}, {"log_every", log_every}};
}

PretrainConfig PretrainConfig::from_json(const json& j, const std::string& origin, int world_version) {
  if (!j.is_object()) throw UserError("pretrain config must be a JSON object", origin);
  std::string preset = "small";
  if (j.contains("preset")) {
    auto p = json_as<std::string>(j["preset"]);
    if (!p) throw UserError("field 'preset' must be a string, found " + j["preset"].dump(), origin);
    preset = *p;
  }
  PretrainConfig c = for_preset(preset, world_version);
  json known = c.to_json();
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.contains(it.key())) throw UserError("unknown pretrain config field '" + it.key() + "'", origin);
  auto get = [&](const char* k, auto& out) { read_field(j, k, out, "field ", origin); };
  get("seed", c.seed);
#define GET(f) get(#f, c.f);
  GET(vq_steps) GET(vq_batch) GET(vq_lr) GET(vq_restart_every) GET(steps) GET(batch) GET(lr) GET(min_lr_ratio)
  GET(warmup) GET(weight_decay) GET(grad_clip) GET(prompt_dropout) GET(gen_weight) GET(und_weight) GET(caption_weight)
  GET(region_weight)
  GET(hard_negative_share) GET(negative_weight) GET(ckpt_every) GET(log_every) GET(vq_from)
#undef GET
  if (j.contains("tag_weights")) {
    const json& w = j["tag_weights"];
    if (!w.is_object()) throw UserError("field 'tag_weights' must be an object of tag -> weight, found " + w.dump(), origin);
    c.tag_weights.clear();  // the file's weights replace the recipe's: a tag it does not name weighs 0
    for (auto it = w.begin(); it != w.end(); ++it) {
      if (!it->is_number()) throw UserError("field 'tag_weights." + it.key() + "' must be a number, found " + it->dump(), origin);
      c.tag_weights[it.key()] = it->get<double>();
    }
  }
  if (j.contains("model")) {
    if (!j["model"].is_object()) throw UserError("field 'model' must be an object of model config fields", origin);
    c.model = j["model"];
  }
  c.validate();
  return c;
}

namespace {

double lr_at(const PretrainConfig& c, int step) {
  if (step < c.warmup) return c.lr * (step + 1) / double(c.warmup);
  const double t = c.steps > c.warmup ? double(step - c.warmup) / double(c.steps - c.warmup) : 1.0;
  return c.lr * (c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + std::cos(M_PI * std::min(1.0, t))));
}

torch::Tensor images_tensor(ShapesModel& m, const std::vector<PretrainExample>& ex) {
  std::vector<Image> imgs;
  for (auto& e : ex) imgs.push_back(e.image);
  return m.images_to_tensor(imgs);
}

// ---- stage 1 ----
// The tokenizer's loss terms on this rank's rows, each scaled to its share of the global
// batch mean: object-weighted reconstruction and the VQ commitment/codebook loss.
struct VqTerms {
  torch::Tensor recon, vq;
};

VqTerms vq_terms(ShapesModel& m, const torch::Tensor& x, bool quantize, double frac) {
  auto out = m.net().vq->forward(x, 0.25, quantize);
  // Object pixels weigh 5x: the background is most of the image and easy.
  auto bg = torch::tensor({m.world()->background[0] / 255.0, m.world()->background[1] / 255.0,
                           m.world()->background[2] / 255.0}, torch::kFloat32).view({1, 3, 1, 1});
  auto weight = 1.0 + 4.0 * ((x - bg).abs().sum(1, true) > 0.05).to(torch::kFloat32);
  auto diff = out.recon - x;
  return {frac * (weight * (diff.pow(2) + diff.abs())).mean(), frac * out.vq_loss};
}

void vq_step(ShapesModel& m, torch::optim::Optimizer& opt, const PretrainData& data, const PretrainConfig& c, int step,
             const RunDir& run, Progress& prog) {
  Dist& d = Dist::current();
  auto& vq = *m.net().vq;
  // Warm-up as a plain autoencoder, then start the codebook from real latents.
  const int warm = c.vq_steps / 5;
  const bool quantize = step >= warm;
  if (step == warm) {
    torch::NoGradGuard ng;
    auto big = images_tensor(m, data.batch(step, 512, "vq-init"));
    vq.init_codebook_from(vq.encode_latent(big), derive_seed(c.seed, "vq-init"));
  }
  // Batch: this rank's rows of the global batch (data parallel, dist/dist.h).
  auto x_all = images_tensor(m, data.batch(step, c.vq_batch, "vq"));
  const auto [lo, hi] = d.share(size_t(x_all.size(0)));
  auto x = x_all.narrow(0, int64_t(lo), int64_t(hi - lo));
  const double frac = double(hi - lo) / double(x_all.size(0));
  // Loss terms (the usage counts of the global batch feed the dead-code restarts).
  auto usage_before = d.active() ? vq.usage.clone() : torch::Tensor();
  const VqTerms t = vq_terms(m, x, quantize, frac);
  if (d.active()) {
    std::vector<torch::Tensor> inc{vq.usage - usage_before};
    d.allreduce_sum(inc);
    vq.usage.copy_(usage_before + inc[0]);
  }
  auto loss = t.recon + t.vq;
  // All-reduce, step, log.
  const Metrics fig = all_reduce_metrics(
      {{"loss", loss.item<double>()}, {"recon", t.recon.item<double>()}, {"vq_loss", t.vq.item<double>()}}, d);
  const StepStats st = optimizer_step(loss, opt, vq.parameters(), m.net().named_parameters(), {"vq", step, 1.0, {}});
  int64_t restarted = -1;
  if (quantize && (step + 1 - warm) % c.vq_restart_every == 0) {
    torch::NoGradGuard ng;
    restarted = vq.restart_dead_codes(vq.encode_latent(x_all), derive_seed(c.seed, "vq-restart", step));
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "loss %.4f", fig.at("loss"));
  prog.update(1, buf);
  if (step % c.log_every == 0 || restarted >= 0) {
    json rec = {{"stage", "vq"}, {"step", step}, {"loss", fig.at("loss")}, {"recon", fig.at("recon")}, {"vq_loss", fig.at("vq_loss")}};
    if (restarted >= 0) rec["codes_restarted"] = restarted;
    if (d.active()) rec["dist/allreduce_ms"] = st.allreduce_ms;
    run.append_metric(rec);
  }
}
// ---- stage 2 ----
// Data parallel: the inputs of the whole global batch are built on every rank (cheap, and
// the random draws stay in step); the model sees only this rank's rows, and every loss term
// is normalised by the global batch, so that the summed gradients are the global ones.

// The loss terms of one unified step on this rank's rows, each its share of the global
// batch mean, and the understanding counts of the log (this rank's; summed over ranks).
struct UnifiedTerms {
  torch::Tensor gen, und, caption, region;  // scalars
  Metrics counts;                           // und/correct, und/hard_negatives, und/hard_correct
};

// Generation, with prompt dropout so that the unconditional branch of guidance is trained.
torch::Tensor gen_term(ShapesModel& m, const std::vector<PretrainExample>& ex, const PretrainConfig& c, int step, Dist& d) {
  if (!(c.gen_weight > 0)) return torch::zeros({});  // a zero weight skips the branch
  const auto [lo, hi] = d.share(ex.size());
  std::vector<std::string> prompts;
  std::vector<Image> images;
  std::vector<bool> uncond;  // drawn for the global batch on every rank
  Rng rng(derive_seed(c.seed, "prompt-dropout", uint64_t(step)));
  for (size_t b = 0; b < ex.size(); ++b) {
    uncond.push_back(rng.bernoulli(c.prompt_dropout));
    if (b >= lo && b < hi) prompts.push_back(ex[b].prompt.prompt), images.push_back(ex[b].image);
  }
  torch::Tensor codes;
  {
    torch::NoGradGuard ng;
    codes = m.net().vq->encode(m.images_to_tensor(images));
  }
  const double frac = double(hi - lo) / double(ex.size());
  return frac * sft_loss_from_logprobs(m.image_logprob(prompts, codes, {uncond.begin() + lo, uncond.begin() + hi}), codes.size(1));
}

// Grounding (region words): the backbone's output at the visual position holding an
// object's centre names that object, half its colour word and half its shape word, through
// the language head; normalised by the global batch's object count. Without it the judge
// never learned to bind words to the image at this budget (docs/model.md). Rows [lo, lo+n)
// of the 2P understanding rows are this rank's; visual_hidden holds them.
torch::Tensor region_term(ShapesModel& m, const std::vector<PretrainExample>& ex, const PretrainConfig& c,
                          const torch::Tensor& visual_hidden, int64_t lo, int64_t n) {
  if (!(c.region_weight > 0) || !visual_hidden.defined()) return torch::zeros({});
  auto& net = m.net();
  const int64_t P = int64_t(ex.size()) / 2;
  const int64_t g = int64_t(std::sqrt(double(net.cfg.und_tokens())));
  const int64_t cell = net.cfg.image_size / g;
  const WorldSpec& w = *m.world();
  std::vector<int64_t> color_word, shape_word;
  for (auto& col : w.colors) color_word.push_back(m.tokenizer().encode(col.name).at(0));
  for (auto& sh : w.shapes) shape_word.push_back(m.tokenizer().encode(sh).at(0));
  std::vector<int64_t> row, pos, cw, sw;
  double objects = 0;  // over the global batch's understanding rows
  for (int64_t r = 0; r < 2 * P; ++r)
    for (auto& o : ex[size_t(r % P)].scene.objects) {
      ++objects;
      if (r < lo || r >= lo + n) continue;
      const int64_t cx = std::min(g - 1, int64_t(o.x + o.size / 2) / cell);
      const int64_t cy = std::min(g - 1, int64_t(o.y + o.size / 2) / cell);
      row.push_back(r - lo), pos.push_back(cy * g + cx);
      cw.push_back(color_word.at(size_t(o.color))), sw.push_back(shape_word.at(size_t(o.shape)));
    }
  if (row.empty()) return torch::zeros({});
  auto h = visual_hidden.index({torch::tensor(row), torch::tensor(pos)});  // (n_obj, d)
  auto lp = torch::log_softmax(net.text_head->forward(h), -1);
  auto pick = [&](const std::vector<int64_t>& ids) { return lp.gather(1, torch::tensor(ids).unsqueeze(1)).sum(); };
  return -0.5 * (pick(cw) + pick(sw)) / objects;
}

// Understanding, contrastive: each image of the first half of the global batch is asked
// twice, with its own prompt ("yes", plus a caption loss) and with a wrong one ("no"), so
// the only difference between the two answers is the prompt. Measured on understanding
// alone: these pairs learn the hard negatives faster than a "yes" image and a "no" image
// drawn separately. Rows 0..P-1 are the "yes" sequences, P..2P-1 the "no" ones; the "no"
// rows weigh negative_weight in the loss (yes_no_loss).
void und_terms(ShapesModel& m, const std::vector<PretrainExample>& ex, const PretrainConfig& c, Dist& d, UnifiedTerms& t) {
  auto& net = m.net();
  const auto& tok = m.tokenizer();
  const int64_t P = int64_t(ex.size()) / 2;
  const auto [lo_u, hi_u] = d.share(size_t(2 * P));
  const int64_t lo = int64_t(lo_u), n = int64_t(hi_u - lo_u);
  std::vector<std::string> pos, neg;
  for (int64_t r = 0; r < P; ++r) pos.push_back(ex[size_t(r)].prompt.prompt), neg.push_back(ex[size_t(r)].negative.prompt);
  auto pos_ids = m.prompt_ids(pos), neg_ids = m.prompt_ids(neg);
  auto pixels = images_tensor(m, {ex.begin(), ex.begin() + P});
  torch::Tensor codes;
  if (net.cfg.und_input == "vq") {
    torch::NoGradGuard ng;
    codes = net.vq->encode(pixels);
  }
  auto visual = net.image_tokens(pixels, codes).index_select(0, torch::arange(lo, lo + n, torch::kLong).remainder(P));
  auto und = net.und_forward(visual, torch::cat({pos_ids, neg_ids}).narrow(0, lo, n));
  auto labels = torch::cat({torch::full({P}, int64_t(tok.yes()), torch::kLong), torch::full({P}, int64_t(tok.no()), torch::kLong)})
                    .narrow(0, lo, n);
  t.und = yes_no_loss(und.answer, labels, labels == int64_t(tok.no()), P, c.negative_weight);
  // Caption (image_first only): the prompt's tokens predicted from the image, "yes" rows
  // only, averaged over the non-pad tokens of the global batch's positives.
  t.caption = torch::zeros({});
  const int64_t n_pos = std::max<int64_t>(0, std::min(lo + n, P) - lo);
  if (und.caption.defined() && n_pos > 0) {
    auto cap_logits = und.caption.narrow(0, 0, n_pos);
    auto cap_ids = pos_ids.narrow(0, lo, n_pos);
    auto cap_targets = cap_ids.masked_fill(cap_ids == net.tok_pad, -100);
    const double tokens = (pos_ids != net.tok_pad).sum().item<double>();
    t.caption = torch::nn::functional::cross_entropy(
                    cap_logits.reshape({-1, cap_logits.size(-1)}), cap_targets.reshape({-1}),
                    torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum)) /
                tokens;
  }
  t.region = region_term(m, ex, c, und.visual_hidden, lo, n);
  // Counts for the log; the hard negatives are the part of understanding that needs binding.
  torch::NoGradGuard ng;
  auto yes = und.answer.select(1, tok.yes()), no = und.answer.select(1, tok.no());
  double hard_n = 0, hard_ok = 0;
  for (int64_t r = std::max(lo, P); r < lo + n; ++r)
    if (ex[size_t(r - P)].hard_negative) ++hard_n, hard_ok += (no[r - lo] > yes[r - lo]).item<bool>();
  t.counts = {{"und/correct", ((yes > no) == (labels == tok.yes())).sum().item<double>()},
              {"und/hard_negatives", hard_n},
              {"und/hard_correct", hard_ok}};
}

void unified_step(ShapesModel& m, torch::optim::AdamW& opt, const PretrainData& data, const PretrainConfig& c, int step,
                  const RunDir& run, Progress& prog) {
  Dist& d = Dist::current();
  const auto ex = data.batch(step, c.batch, "unified");
  UnifiedTerms t;
  t.gen = gen_term(m, ex, c, step, d);
  und_terms(m, ex, c, d, t);
  const auto loss = c.gen_weight * t.gen + c.und_weight * t.und + c.caption_weight * t.caption + c.region_weight * t.region;

  Metrics mine = t.counts;
  mine["loss"] = loss.item<double>(), mine["loss/gen"] = t.gen.item<double>(), mine["loss/und"] = t.und.item<double>();
  mine["loss/caption"] = t.caption.item<double>(), mine["loss/region"] = t.region.item<double>();
  const Metrics fig = all_reduce_metrics(mine, d);

  const double lr = lr_at(c, step);
  set_learning_rate(opt, lr);
  // Clip each parameter group on its own: the pixel encoder's gradients (summed over every
  // image position) are orders of magnitude larger than the backbone's early on, and a
  // global clip would freeze the backbone to let the encoder through.
  StepOptions so{"unified", step, c.grad_clip, {}};
  for (auto& [group, params] : m.parameter_groups())
    if (group != "vq") so.clip_groups.push_back(params);
  const StepStats st = optimizer_step(loss, opt, opt.param_groups().at(0).params(), m.named_parameters(), so);

  const double und_acc = fig.at("und/correct") / double(2 * (c.batch / 2));
  const double hard_n = fig.at("und/hard_negatives");
  char buf[160];
  std::snprintf(buf, sizeof buf, "gen %.3f und %.3f cap %.3f acc %.2f", fig.at("loss/gen"), fig.at("loss/und"),
                fig.at("loss/caption"), und_acc);
  prog.update(1, buf);
  if (step % c.log_every == 0 || step == c.steps - 1) {
    json rec = {{"stage", "unified"},
                {"step", step},
                {"loss", fig.at("loss")},
                {"loss/gen", fig.at("loss/gen")},
                {"loss/und", fig.at("loss/und")},
                {"loss/caption", fig.at("loss/caption")},
                {"loss/region", fig.at("loss/region")},
                {"und/batch_accuracy", und_acc},
                {"und/batch_hard_negative_accuracy", hard_n > 0 ? json(fig.at("und/hard_correct") / hard_n) : json(nullptr)},
                {"lr", lr},
                {"grad_norm", st.grad_norm},
                {"images_per_s", prog.rate() * c.batch}};
    if (d.active()) rec["dist/allreduce_ms"] = st.allreduce_ms;
    run.append_metric(rec);
  }
}

}  // namespace

PretrainResult pretrain(const PretrainConfig& c, const WorldSpec& world, const std::string& out_dir, bool resume) {
  c.validate();
  world.validate();
  const auto t0 = std::chrono::steady_clock::now();
  RunDir run(out_dir);
  json mj = ModelConfig::preset_named(c.preset).to_json();
  for (auto it = c.model.begin(); it != c.model.end(); ++it) mj[it.key()] = it.value();
  ModelConfig mc = ModelConfig::from_json(mj, "pretrain config field 'model'");
  mc.image_size = world.canvas;
  ShapesModel model(mc, world, derive_seed(c.seed, "init"));
  auto& net = model.net();
  PretrainData data(world, c.seed, c.hard_negative_share, c.tag_weights);

  // Optimizers: Adam for the VQ stage, AdamW for the unified stage (VQ frozen).
  net.train_only({"vq"});
  std::vector<torch::Tensor> vq_params = net.vq->parameters();
  torch::optim::Adam vq_opt(vq_params, torch::optim::AdamOptions(c.vq_lr));
  net.train_only({"backbone", "gen_aligner", "gen_head", "und_encoder"});
  torch::optim::AdamW uni_opt(net.trainable_parameters(), torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay).betas({0.9, 0.95}));

  Checkpointer ckpt(out_dir + "/checkpoints");
  std::string stage = "vq";
  int start = 0;
  json run_config = {{"command", "pretrain"}, {"pretrain", c.to_json()}, {"model", mc.to_json()}, {"world", world.to_json()}};
  Dist& dist = Dist::current();
  if (run.start(run_config, {resume, {}, [&](bool b) { return dist.main_value(b); }}) == RunStart::Resumed) {
    // Whatever a crash left half-done goes: an incomplete checkpoint folder, metrics of
    // steps after the checkpoint (they are replayed identically).
    const int orphans = ckpt.remove_orphans();
    const auto st = ckpt.latest();
    const int stage_rank = !st ? -1 : st->stage == "vq" ? 0 : 1;
    const int dropped = run.rewind_metrics([&](const json& r) {
      const int rank = r.value("stage", "") == "vq" ? 0 : 1;
      return st && (rank < stage_rank || (rank == stage_rank && r.value("step", 0) <= st->step));
    });
    if (orphans + dropped > 0)
      log_info("resume: removed " + std::to_string(orphans) + " incomplete checkpoint(s), " + std::to_string(dropped) +
               " metrics record(s) after the checkpoint");
    if (st) {
      if (st->stage != "vq" && st->stage != "unified")
        throw UserError("names stage '" + st->stage + "', not vq or unified", out_dir + "/checkpoints/latest.json");
      ckpt.restore(*st, model, st->stage == "vq" ? static_cast<torch::optim::Optimizer&>(vq_opt) : uni_opt);
      stage = st->stage;
      start = st->step + 1;
      log_info("resuming " + stage + " stage at step " + std::to_string(start));
    } else {
      log_info("resume: no checkpoint was completed yet; starting from step 0");
    }
  }

  if (stage == "vq" && !c.vq_from.empty()) {
    // Reuse a trained tokenizer: copy every vq.* tensor from the checkpoint.
    auto f = read_safetensors(c.vq_from + "/model.safetensors");
    torch::NoGradGuard ng;
    int copied = 0;
    for (auto& p : net.named_parameters())
      if (p.key().rfind("vq.", 0) == 0) {
        auto it = f.tensors.find(p.key());
        if (it == f.tensors.end()) throw UserError("missing tensor '" + p.key() + "'", c.vq_from + "/model.safetensors");
        auto t = from_tensor_data(it->second, c.vq_from);
        if (t.sizes() != p.value().sizes())
          throw UserError("tensor '" + p.key() + "' has another shape than this preset's", c.vq_from);
        p.value().copy_(t);
        ++copied;
      }
    log_info("VQ tokenizer: " + std::to_string(copied) + " tensors from " + c.vq_from + " (stage 1 skipped)");
    stage = "unified";
    start = 0;
  }
  if (Dist& d = dist; d.active()) {
    if (c.batch < d.world() || c.vq_batch < d.world())
      throw UserError("batch " + std::to_string(std::min(c.batch, c.vq_batch)) + " is smaller than WORLD_SIZE " +
                          std::to_string(d.world()),
                      "pretrain config field 'batch'", "every rank needs at least one row of the global batch");
    d.agree("the pretraining stage and step to start from", stage + " " + std::to_string(start));
    // Every rank starts from rank 0's weights (they are equal anyway: same seed or same checkpoint).
    std::vector<torch::Tensor> state = net.parameters();
    for (auto& b : net.buffers()) state.push_back(b);
    d.broadcast(state);
  }
  if (stage == "vq") {
    // oneDNN convolutions are 3x faster for the tokenizer's wider convs and were never
    // seen to fail there; the unified stage runs with them off (model/torch_runtime.h).
    OneDnnConvolutions onednn(true);
    net.train_only({"vq"});
    net.train();
    Progress prog("pretrain vq", c.vq_steps - start, "step");
    for (int step = start; step < c.vq_steps; ++step) {
      vq_step(model, vq_opt, data, c, step, run, prog);
      if ((step + 1) % c.ckpt_every == 0 || step + 1 == c.vq_steps) ckpt.save("vq", step, model, vq_opt);
    }
    prog.finish();
    net.eval();
    auto oracle = make_oracle_judge(world);
    auto fid = tokenizer_fidelity(model, *oracle, world, 500, derive_seed(c.seed, "vq-fidelity"));
    log_info("VQ tokenizer: oracle verdicts agree on " + std::to_string(fid.agree) + "/" + std::to_string(fid.scenes) +
             " eval scenes, pixel MAE " + std::to_string(fid.pixel_mae));
    run.append_metric({{"stage", "vq"}, {"step", c.vq_steps}, {"fidelity", fid.to_json()}});
    stage = "unified";
    start = 0;
  }
  net.train_only({"backbone", "gen_aligner", "gen_head", "und_encoder"});
  net.train();
  net.vq->eval();
  {
    Progress prog("pretrain unified", c.steps - start, "step");
    for (int step = start; step < c.steps; ++step) {
      unified_step(model, uni_opt, data, c, step, run, prog);
      if ((step + 1) % c.ckpt_every == 0 || step + 1 == c.steps) ckpt.save("unified", step, model, uni_opt);
    }
    prog.finish();
  }
  net.eval();
  PretrainResult res;
  res.model_dir = out_dir + "/model";
  model.save(res.model_dir, {{"pretrain", c.to_json()}});
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.write_summary({{"model_dir", res.model_dir}, {"seconds", res.seconds}});
  return res;
}

}  // namespace unigap
