// `unigap pretrain`: the VQ tokenizer, then the unified model, from scratch on the
// shapes world. Resumable: checkpoints (weights + optimizer) every ckpt_every steps,
// batches are a pure function of (seed, step), so a resumed run repeats an
// uninterrupted one. Non-finite losses or gradients stop the run naming the step and
// tensor; the last good checkpoint stays.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "io/jsonl.h"
#include "model/config.h"
#include "world/spec.h"

namespace unigap {

struct PretrainConfig {
  std::string preset = "small";  // model preset (model/config.h)
  uint64_t seed = 0;             // model init, data and everything random
  // --- stage 1: VQ tokenizer ---
  int vq_steps = 2000;           // optimizer steps
  int vq_batch = 64;             // images per step
  double vq_lr = 2e-3;           // Adam
  int vq_restart_every = 50;     // dead-code restart period, steps
  // --- stage 2: unified model (VQ frozen) ---
  int steps = 4000;              // optimizer steps (about 30 minutes at the small preset on 2 cores)
  int batch = 32;                // images per step: each gives a generation sequence; the first half
                                 // also a \"yes\" and a \"no\" understanding sequence
  double lr = 1.5e-3;            // AdamW peak learning rate
  double min_lr_ratio = 0.1;     // cosine decay floor, fraction of lr
  int warmup = 100;              // linear warm-up steps
  double weight_decay = 0.01;
  double grad_clip = 1.0;        // global norm
  double prompt_dropout = 0.1;   // generation rows trained unconditionally (for guidance)
  double gen_weight = 1.0;       // generation loss weight
  double und_weight = 2.0;       // yes/no loss weight (one answer token against 64 image tokens)
  double caption_weight = 1.0;   // caption loss weight (positives only)
  double region_weight = 1.0;    // grounding loss weight: object positions name their colour and shape
  double hard_negative_share = 0.75;  // understanding negatives that change one attribute
  double negative_weight = 1.0;  // weight of the "no" rows in the yes/no loss, against 1 for the "yes" rows
  // Relative weights of the six task families in the batches (tag -> weight; tags not named
  // weigh 0). Empty = every tag alike, the default.
  std::map<std::string, double> tag_weights;
  json model = json::object();   // overrides of the preset's model config fields (model/config.h)
  std::string vq_from;           // reuse the VQ tokenizer of this checkpoint folder and skip stage 1 ("" = train it)
  // --- bookkeeping ---
  int ckpt_every = 250;          // steps between checkpoints
  int log_every = 25;            // steps between metrics lines

  // The preset's schedule, with the recipe of the world version's shipped base: version 2 adds
  // 4,800 steps (small), hard negatives 0.9, "no" rows x2 and the tag weights of docs/model.md.
  static PretrainConfig for_preset(const std::string& preset, int world_version = 2);
  void validate() const;
  json to_json() const;
  // Fields absent from `j` take for_preset's values for j's preset and `world_version`.
  static PretrainConfig from_json(const json& j, const std::string& origin, int world_version = 2);
};

struct PretrainResult {
  std::string model_dir;  // the final checkpoint folder
  double seconds = 0;
};

PretrainResult pretrain(const PretrainConfig& cfg, const WorldSpec& world, const std::string& out_dir, bool resume);

}  // namespace unigap
