// The external judge: the truth that Gen, WeakGen, the precision of self-labelled data and
// the win rate are measured against, and the labels of `oracle` supervision (the paper used
// GenEval's detector, a large VLM and people). Two kinds, parsed once from the command
// line (--judge):
//   oracle      the exact oracle of the shapes world (world/oracle.h): pixels -> objects ->
//               GenEval's rules; images of another size are resized to the world's canvas
//   ckpt:PATH   another checkpoint's understanding branch, as the paper used a larger VLM:
//               right when its P(yes)/(P(yes)+P(no)) exceeds the verdict threshold
// Every output that reports a figure measured against it names it (name()).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/image.h"
#include "world/metadata.h"
#include "world/oracle.h"

namespace unigap {

class Dist;
class UnifiedMultimodal;
struct ModelOptions;

struct JudgeSpec {
  enum class Kind { Oracle, Checkpoint };
  Kind kind = Kind::Oracle;
  std::string path;  // Checkpoint: the model folder
  // "oracle" or "ckpt:PATH"; anything else is a UserError naming `where`.
  static JudgeSpec parse(const std::string& text, const std::string& where = "--judge");
  std::string name() const;  // the text it was parsed from
};

class ExternalJudge {
 public:
  virtual ~ExternalJudge() = default;
  virtual std::string name() const = 0;
  // One verdict per (image, prompt), in order; images at any size.
  virtual std::vector<Verdict> verdicts(const std::vector<Image>& images, const std::vector<Metadata>& prompts) = 0;
};

// The oracle of `world` (a strict closed-world parse, docs/oracle.md).
std::unique_ptr<ExternalJudge> make_oracle_judge(const WorldSpec& world);
// A checkpoint's own judge; `threshold` is the verdict threshold of the run that uses it.
std::unique_ptr<ExternalJudge> make_checkpoint_judge(std::unique_ptr<UnifiedMultimodal> model, const std::string& path,
                                                     double threshold);
// The judge a JudgeSpec names; a checkpoint opened through open_model (sharded with `dist`).
std::unique_ptr<ExternalJudge> make_judge(const JudgeSpec& spec, const WorldSpec& world, Dist& dist, double threshold,
                                          const ModelOptions& opt);

}  // namespace unigap
