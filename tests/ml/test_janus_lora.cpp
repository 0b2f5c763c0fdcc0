// LoRA adapters on the Janus-Pro backend (model/lora.h), on the tiny official-layout
// checkpoint: PEFT's names and files, training through them, merging, reloading, gradient
// checkpointing, and the errors of bad adapter folders.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/janus_model.h"
#include "model/janus_modules.h"
#include "model/lora.h"
#include "model/registry.h"
#include "model/without_adapter.h"
#include "test_util.h"

using namespace unigap;

namespace {

const std::string kTiny = std::string(UNIGAP_TEST_DATA_DIR) + "/janus/tiny";
const std::vector<std::string> kPrompts = {"a photo of a red cube", "a photo of two dogs"};

LoraOptions rank4(double dropout = 0) {
  LoraOptions o;
  o.rank = 4;
  o.alpha = 8;
  o.dropout = dropout;
  return o;
}

torch::Tensor some_codes(const UnifiedMultimodal& m) {
  auto gen = at::detail::createCPUGenerator(7);
  return torch::randint(m.codebook_size(), {2, m.image_tokens()}, gen, torch::kLong);
}

torch::Tensor logprob(UnifiedMultimodal& m, const torch::Tensor& codes) {
  torch::NoGradGuard ng;
  m.set_training(false);
  return m.image_logprob(kPrompts, codes).to(torch::kFloat64);
}

// A few Adam steps of the SFT objective (the codes' NLL) through the adapter.
void train_steps(UnifiedMultimodal& m, const torch::Tensor& codes, int steps) {
  m.train_only(m.default_train_groups());
  torch::optim::Adam opt(m.trainable_parameters(), torch::optim::AdamOptions(1e-2));
  m.set_training(true);
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    (-m.image_logprob(kPrompts, codes).sum()).backward();
    opt.step();
  }
  m.set_training(false);
}

}  // namespace

TEST(JanusLora, AFreshAdapterChangesNothingAndIsTheOnlyTrainGroup) {
  auto m = JanusModel::load(kTiny);
  const auto codes = some_codes(*m);
  const auto before = logprob(*m, codes);
  EXPECT_EQ(m->default_train_groups(), std::vector<std::string>{"llm"});
  m->add_lora(rank4(), 1);
  EXPECT_TRUE(m->has_adapter());
  EXPECT_TRUE(torch::equal(before, logprob(*m, codes)));  // B = 0
  EXPECT_EQ(m->default_train_groups(), std::vector<std::string>{"lora"});
  const int64_t layers = m->dims().llm.layers;
  EXPECT_EQ(int64_t(m->parameter_groups().at("lora").size()), layers * 7 * 2);
  m->train_only({"lora"});
  const auto trainable = m->trainable_parameters();
  EXPECT_EQ(int64_t(trainable.size()), layers * 7 * 2);
  // Named by PEFT's keys, after the official ones.
  auto named = m->named_parameters();
  EXPECT_TRUE(named.contains("base_model.model.language_model.model.layers.0.self_attn.q_proj.lora_A.weight"));
  EXPECT_TRUE(named.contains("base_model.model.language_model.model.layers.0.mlp.down_proj.lora_B.weight"));
  const auto& qa = named["base_model.model.language_model.model.layers.0.self_attn.q_proj.lora_A.weight"];
  EXPECT_EQ(qa.size(0), 4);
  EXPECT_EQ(qa.size(1), m->dims().llm.hidden);
  try {
    m->train_only({"llm"});
    FAIL() << "a group beside the adapter was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("only the group 'lora'"), std::string::npos) << e.what();
  }
  try {
    m->add_lora(rank4(), 2);
    FAIL() << "a second adapter was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("already has"), std::string::npos) << e.what();
  }
}

TEST(JanusLora, TrainingRaisesTheLogprobAndTheAdapterRoundTripsThroughItsFolder) {
  TempDir tmp;
  auto m = JanusModel::load(kTiny);
  const auto codes = some_codes(*m);
  const auto base = logprob(*m, codes);
  m->add_lora(rank4(), 3);
  auto frozen = m->named_parameters()["language_model.model.layers.0.self_attn.q_proj.weight"].clone();
  train_steps(*m, codes, 5);
  const auto trained = logprob(*m, codes);
  EXPECT_GT(trained[0].item<double>(), base[0].item<double>() + 1.0);
  EXPECT_GT(trained[1].item<double>(), base[1].item<double>() + 1.0);
  EXPECT_TRUE(torch::equal(frozen, m->named_parameters()["language_model.model.layers.0.self_attn.q_proj.weight"]));

  const std::string dir = tmp.path + "/adapter";
  m->save(dir, {{"note", "test"}});
  EXPECT_TRUE(is_adapter_folder(dir));
  EXPECT_FALSE(file_exists(dir + "/model.safetensors"));
  const json cfg = read_json(dir + "/adapter_config.json");
  EXPECT_EQ(cfg["peft_type"], "LORA");
  EXPECT_EQ(cfg["r"], 4);
  EXPECT_EQ(cfg["base_model_name_or_path"], std::filesystem::absolute(kTiny).lexically_normal().string());
  // Opened as a checkpoint folder (its base, then the adapter) and as --adapter on the base.
  auto reopened = load_model(dir);
  EXPECT_TRUE(reopened->has_adapter());
  EXPECT_TRUE(torch::equal(trained, logprob(*reopened, codes)));
  ModelOptions mo;
  mo.adapter = dir;
  auto with_flag = load_model(kTiny, mo);
  EXPECT_TRUE(torch::equal(trained, logprob(*with_flag, codes)));
  // The file holds float32 tensors under PEFT's keys only.
  const auto f = read_safetensors(dir + "/adapter_model.safetensors");
  EXPECT_EQ(int64_t(f.tensors.size()), m->dims().llm.layers * 14);
  for (auto& [k, t] : f.tensors) {
    EXPECT_EQ(k.rfind("base_model.model.language_model.model.layers.", 0), 0u) << k;
    EXPECT_EQ(t.dtype, DType::F32);
  }
}

TEST(JanusLora, TheBaseViewIsThePolicyWithItsAdapterOff) {
  auto m = JanusModel::load(kTiny);
  const auto codes = some_codes(*m);
  const auto base = logprob(*m, codes);
  m->add_lora(rank4(), 8);
  train_steps(*m, codes, 3);
  const auto trained = logprob(*m, codes);
  WithoutAdapter view(*m);
  EXPECT_TRUE(torch::equal(logprob(view, codes), base));
  EXPECT_TRUE(torch::equal(logprob(*m, codes), trained));  // on again after the call
  EXPECT_TRUE(view.trainable_parameters().empty());
  SampleOptions so;
  EXPECT_EQ(view.generate({{kPrompts[0], 3}}, so)[0].codes, JanusModel::load(kTiny)->generate({{kPrompts[0], 3}}, so)[0].codes);
}

TEST(JanusLora, MergedWeightsEqualBasePlusTheScaledProduct) {
  TempDir tmp;
  auto m = JanusModel::load(kTiny);
  const auto codes = some_codes(*m);
  const auto W0 = m->named_parameters()["language_model.model.layers.1.mlp.up_proj.weight"].clone();
  m->add_lora(rank4(), 4);
  train_steps(*m, codes, 3);
  const auto with_adapter = logprob(*m, codes);
  auto named = m->named_parameters();
  const auto A = named["base_model.model.language_model.model.layers.1.mlp.up_proj.lora_A.weight"].clone();
  const auto B = named["base_model.model.language_model.model.layers.1.mlp.up_proj.lora_B.weight"].clone();
  m->merge_adapter();
  EXPECT_FALSE(m->has_adapter());
  const auto W1 = m->named_parameters()["language_model.model.layers.1.mlp.up_proj.weight"];
  EXPECT_TRUE(torch::allclose(W1, W0 + (8.0 / 4.0) * torch::matmul(B, A), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(logprob(*m, codes), with_adapter, 1e-5, 1e-4));
  // Written as an official-layout folder that loads as a plain model.
  m->save(tmp.path + "/merged");
  EXPECT_TRUE(file_exists(tmp.path + "/merged/model.safetensors"));
  EXPECT_TRUE(file_exists(tmp.path + "/merged/tokenizer.json"));
  auto merged = load_model(tmp.path + "/merged");
  EXPECT_FALSE(merged->has_adapter());
  EXPECT_TRUE(torch::equal(logprob(*merged, codes), logprob(*m, codes)));
}

TEST(JanusLora, GradientCheckpointingGivesTheSameLossAndGradientsWithDropout) {
  auto run = [](bool checkpointing) {
    auto m = JanusModel::load(kTiny);
    m->add_lora(rank4(/*dropout=*/0.3), 5);
    m->set_gradient_checkpointing(checkpointing);
    m->train_only({"lora"});
    m->set_training(true);
    const auto codes = some_codes(*m);
    torch::manual_seed(11);
    auto loss = -m->image_logprob(kPrompts, codes).sum();
    loss.backward();
    std::vector<torch::Tensor> grads = {loss.detach()};
    for (auto& p : m->trainable_parameters()) grads.push_back(p.grad().clone());
    // The recomputation leaves torch's generator where the backward found it.
    grads.push_back(torch::rand({4}));
    return grads;
  };
  const auto plain = run(false), recomputed = run(true);
  ASSERT_EQ(plain.size(), recomputed.size());
  int nonzero = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_TRUE(torch::allclose(plain[i], recomputed[i], 1e-5, 1e-6)) << "tensor " << i;
    nonzero += plain[i].abs().sum().item<double>() > 0;
  }
  EXPECT_GT(nonzero, int(plain.size()) / 2);  // the B gradients and the loss at least
}

TEST(JanusLora, BadAdapterFoldersAreUserErrorsNamingTheFieldOrTensor) {
  TempDir tmp;
  auto m = JanusModel::load(kTiny);
  m->add_lora(rank4(), 6);
  const std::string good = tmp.path + "/good";
  m->save(good);
  auto variant = [&](const std::string& name, const std::function<void(const std::string&)>& damage) {
    const std::string dir = tmp.path + "/" + name;
    std::filesystem::copy(good, dir);
    damage(dir);
    return dir;
  };
  auto expect_error = [&](const std::string& dir, const std::string& needle) {
    try {
      load_model(dir);
      ADD_FAILURE() << dir << " loaded";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto edit_config = [](const std::string& key, const json& value) {
    return [key, value](const std::string& dir) {
      json c = read_json(dir + "/adapter_config.json");
      if (value.is_null()) c.erase(key);
      else c[key] = value;
      write_json(dir + "/adapter_config.json", c);
    };
  };
  expect_error(variant("ia3", edit_config("peft_type", "IA3")), "peft_type");
  expect_error(variant("dora", edit_config("use_dora", true)), "use_dora");
  expect_error(variant("regex", edit_config("target_modules", ".*q_proj")), "target_modules");
  expect_error(variant("norank", edit_config("r", nullptr)), "missing field 'r'");
  expect_error(variant("bias", edit_config("bias", "all")), "bias");
  expect_error(variant("dropout", edit_config("lora_dropout", "0.1")), "lora_dropout");
  expect_error(variant("target", edit_config("target_modules", json::array({"qkv_proj"}))), "'qkv_proj' names no module");
  expect_error(variant("conv", edit_config("target_modules", json::array({"conv_in"}))), "not a linear layer");
  expect_error(variant("nobase", edit_config("base_model_name_or_path", "/no/such/base")), "/no/such/base");
  expect_error(variant("rank", edit_config("r", 8)), "has shape");
  expect_error(variant("tensor", [](const std::string& dir) {
                 auto f = read_safetensors(dir + "/adapter_model.safetensors");
                 f.tensors.erase(f.tensors.begin());
                 write_safetensors(dir + "/adapter_model.safetensors", f);
               }),
               "missing tensor 'base_model.model.language_model.model.layers.0.");
  expect_error(variant("extra", [](const std::string& dir) {
                 auto f = read_safetensors(dir + "/adapter_model.safetensors");
                 f.tensors["base_model.model.gen_head.vision_head.lora_A.weight"] = f.tensors.begin()->second;
                 write_safetensors(dir + "/adapter_model.safetensors", f);
               }),
               "unexpected tensor 'base_model.model.gen_head.vision_head.lora_A.weight'");
  // A failed load leaves no half-attached adapter behind.
  auto base = JanusModel::load(kTiny);
  try {
    base->load_adapter(tmp.path + "/tensor");
  } catch (const UserError&) {
  }
  EXPECT_FALSE(base->has_adapter());
  EXPECT_EQ(base->default_train_groups(), std::vector<std::string>{"llm"});
}
