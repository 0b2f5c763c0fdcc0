// Pool building on constructed scores: accepted, discard pool, DPO pairs, replay,
// save/load, supervision parsing and the audit.
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "io/atomic_file.h"
#include "test_util.h"
#include "train/audit.h"
#include "train/pool.h"
#include "world/suite.h"

using namespace unigap;

namespace {
Candidate cand(int prompt, int k, double score, bool verdict, bool oracle, int round = 0) {
  Candidate c;
  c.prompt_index = prompt, c.k = k, c.score = score, c.verdict = verdict, c.oracle = oracle, c.round = round;
  c.codes = std::vector<int64_t>(64, k);
  return c;
}
Pool three_prompts() {
  Pool p;
  p.prompts = {make_colors("circle", "red"), make_counting("square", 2), make_single_object("triangle")};
  // Prompt 0: two accepted (0.9, 0.7), one rejected (0.2). Prompt 1: none accepted. Prompt 2: all accepted.
  p.candidates = {cand(0, 0, 0.7, true, true), cand(0, 1, 0.9, true, false), cand(0, 2, 0.2, false, false),
                  cand(1, 0, 0.4, false, true), cand(1, 1, 0.1, false, false), cand(2, 0, 0.8, true, true),
                  cand(2, 1, 0.6, true, true)};
  return p;
}
}  // namespace

TEST(Pool, AcceptedDiscardAndPairs) {
  Pool p = three_prompts();
  EXPECT_EQ(p.accepted().size(), 4u);
  EXPECT_EQ(p.discard(), std::vector<int>{1});
  auto pairs = p.pairs();
  ASSERT_EQ(pairs.size(), 1u);  // only prompt 0 has both kinds
  EXPECT_EQ(p.candidates[pairs[0].chosen].k, 1);    // most confidently accepted (0.9)
  EXPECT_EQ(p.candidates[pairs[0].rejected].k, 2);  // most confidently rejected (0.2)
}

TEST(Pool, ReplayMovesPromptsOutOfTheDiscardPool) {
  Pool p = three_prompts();
  p.candidates.push_back(cand(1, 0, 0.8, true, true, /*round=*/10));
  EXPECT_TRUE(p.discard().empty());
  EXPECT_EQ(p.accepted().size(), 5u);
}

TEST(Pool, SaveLoadRoundTripAndErrors) {
  Pool p = three_prompts();
  TempDir d;
  p.judge = "ckpt:/models/judge";
  p.save(d.path + "/pool.jsonl");
  Pool q = Pool::load(d.path + "/pool.jsonl", WorldSpec::v1());
  EXPECT_EQ(q.judge, "ckpt:/models/judge");
  {  // a pool written before the judge line was judged by the oracle
    std::string text = read_file(d.path + "/pool.jsonl");
    write_file_atomic(d.path + "/old.jsonl", text.substr(text.find('\n') + 1));
    EXPECT_EQ(Pool::load(d.path + "/old.jsonl", WorldSpec::v1()).judge, "oracle");
  }
  ASSERT_EQ(q.candidates.size(), p.candidates.size());
  EXPECT_EQ(q.discard(), p.discard());
  EXPECT_EQ(q.candidates[1].codes, p.candidates[1].codes);
  {
    std::ofstream(d.path + "/bad.jsonl") << "{\"type\":\"prompt\",\"index\":0,\"metadata\":" << p.prompts[0].to_json().dump()
                                         << "}\n{\"type\":\"candidate\",\"prompt_index\":5}\n";
  }
  try {
    Pool::load(d.path + "/bad.jsonl", WorldSpec::v1());
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2"), std::string::npos) << e.what();
  }
}

// A pool made elsewhere is checked before a model reads its codes: a short code list
// would otherwise be read past its end, a code outside the codebook index out of range.
TEST(Pool, CodesAreCheckedAgainstTheModel) {
  Pool p = three_prompts();
  EXPECT_NO_THROW(p.check_codes(64, 512, "pool.jsonl"));
  p.candidates[3].codes.resize(10);
  try {
    p.check_codes(64, 512, "pool.jsonl");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("candidate 3 (prompt 1, k 0, round 0) has 10 image codes, the model uses 64"),
              std::string::npos)
        << e.what();
  }
  p = three_prompts();
  p.candidates[0].codes[5] = 512;
  EXPECT_THROW(p.check_codes(64, 512, "pool.jsonl"), UserError);
  // A fractional or huge code in the file is refused naming the field.
  TempDir d;
  {
    std::ofstream(d.path + "/bad.jsonl") << "{\"type\":\"prompt\",\"index\":0,\"metadata\":" << p.prompts[0].to_json().dump()
                                         << "}\n{\"type\":\"candidate\",\"prompt_index\":0,\"k\":0,\"round\":0,"
                                         << "\"codes\":[1,2e60],\"own_score\":0.5,\"score\":0.5,\"verdict\":true,\"oracle\":false}\n";
  }
  try {
    Pool::load(d.path + "/bad.jsonl", WorldSpec::v1());
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("field 'codes' holds 2e+60"), std::string::npos) << e.what();
  }
}

TEST(Supervision, ParsesEveryKindAndRejectsBadSpecs) {
  using K = Supervision::Kind;
  EXPECT_EQ(Supervision::parse("self").kind, K::Self);
  EXPECT_EQ(Supervision::parse("oracle").kind, K::External);
  EXPECT_EQ(Supervision::parse("inverted").kind, K::Inverted);
  EXPECT_EQ(Supervision::parse("ckpt:/a/b").kind, K::Checkpoint);
  for (const char* s : {"self", "oracle", "inverted", "ckpt:/a/b"}) EXPECT_EQ(Supervision::parse(s).name(), s);
  auto f = Supervision::parse("flip:0.25");
  EXPECT_EQ(f.kind, K::Flip);
  EXPECT_DOUBLE_EQ(f.flip_p, 0.25);
  EXPECT_EQ(Supervision::parse("ckpt:/a/b").ckpt, "/a/b");
  EXPECT_THROW(Supervision::parse("flip:1.5"), UserError);
  EXPECT_THROW(Supervision::parse("flip:x"), UserError);
  EXPECT_THROW(Supervision::parse("ckpt:"), UserError);
  EXPECT_THROW(Supervision::parse("human"), UserError);
}

TEST(Audit, PrecisionAndWeakGenByHand) {
  Pool p = three_prompts();
  auto a = audit_pool(p, 0, 1);  // all 7
  EXPECT_EQ(a.sampled, 7);
  EXPECT_EQ(a.precision.k, 3);  // accepted: (0,0) ok, (0,1) wrong, (2,0) ok, (2,1) ok
  EXPECT_EQ(a.precision.n, 4);
  EXPECT_EQ(a.weakgen.k, 2);  // rejected: (0,2) wrong, (1,0) right, (1,1) wrong
  EXPECT_EQ(a.weakgen.n, 3);
  EXPECT_EQ(audit_pool(p, 3, 1).sampled, 3);
  EXPECT_EQ(a.judge, "oracle");  // the pool's external judge, named in the audit
  EXPECT_EQ(a.to_json()["judge"], "oracle");
}
