#include "eval/external_judge.h"

#include <cstdio>

#include "common/error.h"
#include "common/image_resize.h"
#include "dist/data_parallel.h"
#include "world/spec.h"

namespace unigap {

JudgeSpec JudgeSpec::parse(const std::string& text, const std::string& where) {
  JudgeSpec s;
  if (text == "oracle") return s;
  if (text.rfind("ckpt:", 0) == 0 && text.size() > 5) {
    s.kind = Kind::Checkpoint;
    s.path = text.substr(5);
    return s;
  }
  throw UserError("unknown external judge '" + text + "'", where, "use oracle or ckpt:PATH (another model's understanding)");
}

std::string JudgeSpec::name() const { return kind == Kind::Oracle ? "oracle" : "ckpt:" + path; }

namespace {

class OracleJudge : public ExternalJudge {
 public:
  explicit OracleJudge(const WorldSpec& world) : world_(world) {}
  std::string name() const override { return "oracle"; }
  std::vector<Verdict> verdicts(const std::vector<Image>& images, const std::vector<Metadata>& prompts) override {
    UNIGAP_ASSERT(images.size() == prompts.size(), "one prompt per image");
    std::vector<Verdict> out;
    out.reserve(images.size());
    for (size_t i = 0; i < images.size(); ++i)
      out.push_back(evaluate_metadata(prompts[i], parse_image(resize_image(images[i], world_.canvas, world_.canvas), world_), world_));
    return out;
  }

 private:
  WorldSpec world_;
};

class CheckpointJudge : public ExternalJudge {
 public:
  CheckpointJudge(std::unique_ptr<UnifiedMultimodal> model, std::string path, double threshold)
      : model_(std::move(model)), path_(std::move(path)), threshold_(threshold) {}
  std::string name() const override { return "ckpt:" + path_; }
  std::vector<Verdict> verdicts(const std::vector<Image>& images, const std::vector<Metadata>& prompts) override {
    std::vector<std::string> texts;
    for (auto& m : prompts) texts.push_back(m.prompt);
    const auto scores = model_->judge(images, texts);
    std::vector<Verdict> out;
    for (double s : scores) {
      Verdict v;
      v.correct = s > threshold_;
      if (!v.correct) {
        char b[64];
        std::snprintf(b, sizeof b, "judge score %.3f <= %.2f", s, threshold_);
        v.reason = b;
      }
      out.push_back(std::move(v));
    }
    return out;
  }

 private:
  std::unique_ptr<UnifiedMultimodal> model_;
  std::string path_;
  double threshold_;
};

}  // namespace

std::unique_ptr<ExternalJudge> make_oracle_judge(const WorldSpec& world) { return std::make_unique<OracleJudge>(world); }

std::unique_ptr<ExternalJudge> make_checkpoint_judge(std::unique_ptr<UnifiedMultimodal> model, const std::string& path,
                                                     double threshold) {
  return std::make_unique<CheckpointJudge>(std::move(model), path, threshold);
}

std::unique_ptr<ExternalJudge> make_judge(const JudgeSpec& spec, const WorldSpec& world, Dist& dist, double threshold,
                                          const ModelOptions& opt) {
  if (spec.kind == JudgeSpec::Kind::Oracle) return make_oracle_judge(world);
  auto model = open_model(spec.path, dist, opt);
  if (model->world() && model->world()->fingerprint() != world.fingerprint())
    throw UserError("the judge checkpoint was trained in another world than the prompts'", spec.path, "--judge ckpt:PATH");
  model->set_training(false);
  return make_checkpoint_judge(std::move(model), spec.path, threshold);
}

}  // namespace unigap
