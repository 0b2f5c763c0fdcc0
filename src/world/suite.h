// Prompt suites: every prompt the world can express, split once and for all into
// disjoint train and eval sets (by a hash of the prompt text and the world's
// split_seed), and samplers that draw GenEval-proportioned suites from a split.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "world/metadata.h"

namespace unigap {

// Val (world version 2) is the split that tuning reads: epochs, learning rate, guidance.
enum class Split { Train, Val, Eval };
Split parse_split(const std::string& s);  // "train" | "val" | "eval", UserError otherwise
const char* split_name(Split s);

// Every distinct prompt of the world, in a fixed order (by tag, then enumeration).
std::vector<Metadata> prompt_universe(const WorldSpec& spec);

// Which split a prompt belongs to. Deterministic; every tag gets at least one
// prompt in each split; no prompt text is in both.
Split split_of(const Metadata& m, const WorldSpec& spec);

// Prompts that state the same constraints in another order ("a circle and a square" /
// "a square and a circle"; "A left of B" / "B right of A") share this key, and always
// land in the same split: the eval split is disjoint in meaning, not only in text.
std::string canonical_key(const Metadata& m);

// The unique prompts of one split, in universe order. UserError for Val in a world
// without a validation split (version 1).
std::vector<Metadata> split_prompts(const WorldSpec& spec, Split split);

// The split every tuning decision reads (improve's held-out tracking, the evaluation's
// guidance): Val. A version 1 world has none; its tuning read the eval split, and results
// of version 1 are labelled so (docs/results-v1.md).
Split tuning_split(const WorldSpec& spec);
// UserError naming the first prompt of `prompts` (read from `origin`) outside the tuning split.
void refuse_outside_tuning_split(const std::vector<Metadata>& prompts, const WorldSpec& spec, const std::string& origin);

// GenEval's tag proportions (553 prompts: 80 single_object, 99 two_object, 80 counting,
// 94 colors, 100 position, 100 color_attr).
const std::map<std::string, int>& geneval_tag_counts();

// Draws n prompts from a split with GenEval's tag proportions (largest-remainder
// rounding). Within a tag, prompts are drawn without replacement until the tag's
// pool is used up, then the pool is reshuffled and drawn again (small tags repeat).
std::vector<Metadata> sample_suite(const WorldSpec& spec, Split split, int n, uint64_t seed);

}  // namespace unigap
