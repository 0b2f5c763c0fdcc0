// How faithful a model's image tokenizer is, judged by the external judge: the share of
// eval-split scenes of the world whose verdict on decode(encode(image)) equals the verdict
// on the image itself, and the pixel error of the reconstruction (at the world's canvas).
#pragma once

#include <cstdint>

#include "eval/external_judge.h"
#include "io/jsonl.h"
#include "model/multimodal.h"

namespace unigap {

struct FidelityReport {
  int scenes = 0;
  int agree = 0;           // verdict on the reconstruction == verdict on the original
  int original_correct = 0;
  int recon_correct = 0;
  double pixel_mae = 0;    // mean absolute error, 0-255 scale
  double agreement() const { return scenes ? double(agree) / scenes : 0.0; }
  json to_json() const;
};

FidelityReport tokenizer_fidelity(UnifiedMultimodal& model, ExternalJudge& judge, const WorldSpec& world, int scenes,
                                  uint64_t seed);

}  // namespace unigap
