// The candidate pool of self-improvement (Algorithm 1): N candidates per training
// prompt from the current generation branch, each scored by a supervision source.
// SFT data = accepted candidates; the discard pool = prompts with none accepted;
// DPO pairs = (most confidently accepted, most confidently rejected). The external
// judge's verdict (the oracle in the shapes world; eval/external_judge.h) is stored for
// analysis only: training never reads it (unless the supervision *is* that judge). Stored
// as JSON Lines: a line naming the external judge, the prompts, one candidate per line.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/rng.h"
#include "eval/external_judge.h"
#include "model/multimodal.h"
#include "world/metadata.h"

namespace unigap {

// Who labels the candidates, parsed once from --supervision.
struct Supervision {
  enum class Kind {
    Self,        // the model's own judge: s = P(yes)/(P(yes)+P(no)), accepted when s > threshold
    External,    // "oracle": the external judge's verdict (the upper bound)
    Flip,        // flip:P: each own verdict flipped with probability P (corrupted)
    Inverted,    // 1 - s: accept what the own judge rejects (corrupted)
    Checkpoint,  // ckpt:PATH: another checkpoint's judge
    // Baselines of the study (no judge selects anything):
    All,         // "all": every sampled candidate accepted (unfiltered SFT)
    Render,      // "render": the candidates are renders of the prompt's ground truth, encoded by the
                 // model's tokenizer, all accepted (continued pretraining on renders; needs a world)
  };
  Kind kind = Kind::Self;
  double flip_p = 0;  // Flip
  std::string ckpt;   // Checkpoint
  static Supervision parse(const std::string& s);  // UserError on a bad spec
  std::string name() const;                        // the text it parses from
};

struct Candidate {
  int prompt_index = 0;  // index into Pool::prompts
  int k = 0;             // candidate number within its round
  int round = 0;         // 0 = initial sampling; e > 0 = curriculum replay at epoch e
  std::vector<int64_t> codes;
  double own_score = 0;  // the model's own P(yes)/(P(yes)+P(no)) at sampling time
  double score = 0;      // the supervision's confidence that the image is right
  bool verdict = false;  // the supervision's label (accepted)
  bool oracle = false;   // the external judge's verdict (analysis only)
  std::string reason;    // the external judge's reason when wrong (analysis only)
};

// Indices into Pool::candidates: they stay valid when replay appends candidates (pointers
// would not).
struct DpoPair {
  size_t chosen = 0;
  size_t rejected = 0;
};

struct Pool {
  std::string judge = "oracle";  // the external judge of Candidate::oracle (pools without the line: the oracle)
  // The prompts are in GenEval's open vocabulary (improve --train-suite on a model of the open
  // world), not the world's: recorded in the judge line, and load() parses them so.
  bool open_vocabulary = false;
  std::vector<Metadata> prompts;
  std::vector<Candidate> candidates;

  std::vector<size_t> accepted() const;      // indices of the accepted candidates
  std::vector<int> discard() const;          // prompt indices with no accepted candidate
  std::vector<DpoPair> pairs() const;        // one per prompt with >= 1 accepted and >= 1 rejected, by prompt
  void save(const std::string& path) const;  // atomic
  static Pool load(const std::string& path, const WorldSpec& spec);  // the prompts in `spec`, or open (the file says)
  // Before a model reads the codes: every candidate has `tokens` codes, each < `vocab`;
  // otherwise a UserError naming `origin` and the candidate.
  void check_codes(int64_t tokens, int64_t vocab, const std::string& origin) const;
};

struct PoolOptions {
  int candidates = 10;     // N per prompt
  SampleOptions sampling;  // guidance etc. of candidate sampling
  double threshold = 0.5;  // own-verdict threshold
  uint64_t seed = 0;
  const WorldSpec* world = nullptr;  // the world of the prompts (render supervision draws its scenes)
};

// Sets the supervision's score and verdict of a candidate whose own score and oracle
// verdict are known (`ext`: the ckpt:PATH judge's score, unused by the other kinds). The
// flip:P coin is seeded by opt.seed and the candidate's round, prompt and number, so a pool
// relabeled under another supervision gets the labels that sampling under it would have given.
void label_candidate(Candidate& c, const Supervision& sup, double ext, const PoolOptions& opt);

// Samples `opt.candidates` images for each prompt in `which` from `model`, scores them with
// the supervision (`own`'s judge for self, flip and inverted: the sampling model itself, or
// a frozen copy of it; `other` for ckpt:PATH) and the external judge, and returns the new
// candidates (round `round`), by prompt, then number.
std::vector<Candidate> sample_candidates(UnifiedMultimodal& model, UnifiedMultimodal& own, UnifiedMultimodal* other,
                                         const Supervision& sup,
                                         ExternalJudge& judge, const std::vector<Metadata>& prompts,
                                         const std::vector<int>& which, const PoolOptions& opt, int round);

}  // namespace unigap
