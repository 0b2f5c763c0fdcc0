#include "model/multimodal.h"

#include <cstring>

#include "common/error.h"
#include "common/image_resize.h"

namespace unigap {

std::vector<Image> images_from_hwc(const torch::Tensor& u8) {
  UNIGAP_ASSERT(u8.dim() == 4 && u8.size(3) == 3 && u8.scalar_type() == torch::kUInt8, "images_from_hwc: (B, H, W, 3) uint8");
  auto c = u8.to(torch::kCPU).contiguous();
  std::vector<Image> out;
  for (int64_t b = 0; b < c.size(0); ++b) {
    Image img(int(c.size(2)), int(c.size(1)));
    std::memcpy(img.rgb.data(), c[b].data_ptr(), img.rgb.size());
    out.push_back(std::move(img));
  }
  return out;
}

std::vector<double> UnifiedMultimodal::judge(const std::vector<Image>& images, const std::vector<std::string>& prompts,
                                             int batch) {
  if (images.size() != prompts.size())
    throw UserError("judge: " + std::to_string(images.size()) + " images but " + std::to_string(prompts.size()) +
                    " prompts; one prompt per image is needed");
  if (batch < 1) throw UserError("judge batch must be >= 1, found " + std::to_string(batch));
  return judge_sized(judges_any_size() ? images : fit_images(images, image_size()), prompts, batch);
}

torch::Tensor UnifiedMultimodal::judge_answer_logprobs(const std::vector<Image>& images, const std::vector<std::string>& prompts,
                                                        const char* caller) {
  if (images.size() != prompts.size()) throw UserError(std::string(caller) + ": one prompt per image is needed");
  return judge_answer_logprobs_sized(judges_any_size() ? images : fit_images(images, image_size()), prompts);
}

torch::Tensor UnifiedMultimodal::judge_logprob_yes(const std::vector<Image>& images, const std::vector<std::string>& prompts) {
  return judge_answer_logprobs(images, prompts, "judge_logprob_yes").select(1, 0);
}

torch::Tensor UnifiedMultimodal::judge_log_odds(const std::vector<Image>& images, const std::vector<std::string>& prompts) {
  auto lp = judge_answer_logprobs(images, prompts, "judge_log_odds");
  return lp.select(1, 0) - lp.select(1, 1);
}

torch::Tensor UnifiedMultimodal::encode_images(const std::vector<Image>& images) {
  return encode_images_sized(fit_images(images, image_size()));
}

void UnifiedMultimodal::add_lora(const LoraOptions&, uint64_t) {
  throw UserError("the " + name() + " model takes no LoRA adapters", "--lora-rank", "train its parameter groups instead (--train-groups)");
}
void UnifiedMultimodal::load_adapter(const std::string& dir) {
  throw UserError("the " + name() + " model takes no LoRA adapters", dir);
}
void UnifiedMultimodal::merge_adapter() { throw UserError("the " + name() + " model has no adapter to merge"); }
void UnifiedMultimodal::set_adapter_enabled(bool) { throw UserError("the " + name() + " model has no adapter to switch"); }
void UnifiedMultimodal::set_gradient_checkpointing(bool on) {
  if (on) throw UserError("the " + name() + " model has no gradient checkpointing", "--grad-checkpointing");
}

}  // namespace unigap
