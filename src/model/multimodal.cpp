#include "model/multimodal.h"

#include "common/error.h"
#include "common/image_resize.h"

namespace unigap {

std::vector<double> UnifiedMultimodal::judge(const std::vector<Image>& images, const std::vector<std::string>& prompts,
                                             int batch) {
  if (images.size() != prompts.size())
    throw UserError("judge: " + std::to_string(images.size()) + " images but " + std::to_string(prompts.size()) +
                    " prompts; one prompt per image is needed");
  if (batch < 1) throw UserError("judge batch must be >= 1, found " + std::to_string(batch));
  return judge_sized(fit_images(images, image_size()), prompts, batch);
}

torch::Tensor UnifiedMultimodal::judge_logprob_yes(const std::vector<Image>& images, const std::vector<std::string>& prompts) {
  if (images.size() != prompts.size()) throw UserError("judge_logprob_yes: one prompt per image is needed");
  return judge_logprob_yes_sized(fit_images(images, image_size()), prompts);
}

torch::Tensor UnifiedMultimodal::encode_images(const std::vector<Image>& images) {
  return encode_images_sized(fit_images(images, image_size()));
}

}  // namespace unigap
