// How faithful the VQ tokenizer is, judged by the oracle: the share of eval-split
// scenes whose verdict on decode(encode(image)) equals the verdict on the image.
#pragma once

#include <cstdint>

#include "io/jsonl.h"
#include "model/shapes_model.h"

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

FidelityReport tokenizer_fidelity(ShapesModel& model, int scenes, uint64_t seed);

}  // namespace unigap
