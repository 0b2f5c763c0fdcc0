// The Janus-Pro backend against the official implementation: every reference tensor of
// tests/data/janus/reference (computed by deepseek-ai/Janus on the tiny checkpoint, float32
// from the bf16 weights; tests/data/janus/README.md) within the tolerances its README
// suggests for a float32 implementation: float tensors atol = rtol = 1e-4, ids and codes
// exact, the VQ's uint8 within 1. The checkpoint loads through load_model like any backend,
// single-file and sharded to identical weights.
#include <gtest/gtest.h>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/png.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/few_rows_linear.h"
#include "model/janus_model.h"
#include "model/janus_modules.h"
#include "model/registry.h"
#include "test_util.h"

using namespace unigap;

namespace {

const std::string kData = std::string(UNIGAP_TEST_DATA_DIR) + "/janus";

struct Reference {
  SafetensorsFile f;
  explicit Reference(const std::string& name) : f(read_safetensors(kData + "/reference/" + name + ".safetensors")) {}
  torch::Tensor operator[](const std::string& k) const {
    const TensorData& t = f.tensors.at(k);
    if (t.dtype != DType::U8) return from_tensor_data(t, k);
    return torch::from_blob(const_cast<uint8_t*>(t.bytes.data()), t.shape, torch::kUInt8).clone();
  }
};

JanusModel& tiny_janus() {
  static std::unique_ptr<JanusModel> m = JanusModel::load(kData + "/tiny");
  return *m;
}

// |a - b| <= 1e-4 + 1e-4 |b| everywhere, with the worst offender in the message.
::testing::AssertionResult close(const torch::Tensor& a, const torch::Tensor& b, double tol = 1e-4) {
  if (a.sizes() != b.sizes()) return ::testing::AssertionFailure() << "shapes " << a.sizes() << " vs " << b.sizes();
  auto x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
  auto excess = (x - y).abs() - (tol + tol * y.abs());
  const double worst = excess.max().item<double>();
  if (worst <= 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max |a - b| = " << (x - y).abs().max().item<double>() << " beyond the tolerance";
}

}  // namespace

TEST(Janus, LoadsTheOfficialFolderThroughTheRegistry) {
  auto m = load_model(kData + "/tiny");
  EXPECT_EQ(m->image_size(), 64);
  EXPECT_EQ(m->image_tokens(), 16);
  EXPECT_EQ(m->codebook_size(), 256);
  EXPECT_EQ(m->world(), nullptr);
  const JanusDims& d = tiny_janus().dims();
  EXPECT_EQ(d.llm.hidden, 64);
  EXPECT_EQ(d.llm.heads, 4);
  EXPECT_EQ(d.siglip.depth, 2);
  EXPECT_EQ(d.vq.ch, 32);
  EXPECT_EQ(d.vq.ch_mult, (std::vector<int64_t>{1, 1, 2, 2, 4}));
  EXPECT_EQ(d.vq.decoder_res_blocks, 3);
}

TEST(Janus, ShardedAndSingleFileCheckpointsGiveIdenticalWeights) {
  auto sharded = JanusModel::load(kData + "/tiny-sharded");
  auto a = tiny_janus().named_parameters(), b = sharded->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
}

TEST(Janus, UnderstandingMatchesTheOfficialForward) {
  JanusModel& m = tiny_janus();
  Reference r("understanding");
  torch::NoGradGuard ng;
  auto pixels = r["pixel_values"][0][0];
  auto siglip = m.net().tower->forward(pixels.unsqueeze(0))[0];
  EXPECT_TRUE(close(siglip, r["siglip_out"]));
  EXPECT_TRUE(close(m.net().aligner->forward(siglip), r["aligner_out"]));
  // The prompt: the official template and image expansion, token for token.
  const auto ids = r["input_ids"];
  const auto mine = m.understanding_ids("Is there a red circle in the image? Answer yes or no.");
  ASSERT_EQ(int64_t(mine.size()), ids.size(0));
  for (int64_t i = 0; i < ids.size(0); ++i) EXPECT_EQ(mine[size_t(i)], ids[i].item<int64_t>()) << "position " << i;
  auto embeds = m.understanding_embeds(mine, pixels);
  EXPECT_TRUE(close(embeds, r["inputs_embeds"]));
  // The LLM on the official embeddings: logits at the reference positions and the last hidden state.
  auto h = m.net().llm->forward(r["inputs_embeds"].unsqueeze(0))[0];
  EXPECT_TRUE(close(h[-1], r["hidden_last"]));
  EXPECT_TRUE(close(m.net().llm->logits(h.index_select(0, r["logit_positions"])), r["logits_at_positions"]));
  EXPECT_TRUE(close(m.net().llm->logits(h[-1]), r["logits_last"]));
  // Greedy decoding with the KV cache, 8 tokens.
  janus::KvCache cache;
  auto step = m.net().llm->forward(embeds.unsqueeze(0), &cache);
  auto greedy = r["greedy_ids"], step_logits = r["greedy_step_logits"];
  for (int64_t t = 0; t < greedy.size(0); ++t) {
    auto logits = m.net().llm->logits(step[0][-1]);
    EXPECT_TRUE(close(logits, step_logits[t])) << "step " << t;
    const int64_t next = logits.argmax().item<int64_t>();
    ASSERT_EQ(next, greedy[t].item<int64_t>()) << "step " << t;
    step = m.net().llm->forward(m.net().llm->embed(torch::tensor({next})).unsqueeze(0), &cache);
  }
}

TEST(Janus, PreprocessedPixelsEqualTheOfficialProcessor) {
  Reference u("understanding");
  const Image landscape = read_png(kData + "/reference/landscape.png");
  EXPECT_TRUE(torch::equal(tiny_janus().pixel_values(landscape), u["pixel_values"][0][0]));
}

TEST(Janus, GenerationStepsMatchTheOfficialCfgLoop) {
  JanusModel& m = tiny_janus();
  Reference r("generation");
  torch::NoGradGuard ng;
  auto rows = r["prompt_tokens"];
  const std::string prompt = "A bright red circle in the center of a dark blue square.";  // reference.json
  auto cond = m.generation_ids(prompt, false), uncond = m.generation_ids(prompt, true);
  ASSERT_EQ(int64_t(cond.size()), rows.size(1));
  for (int64_t i = 0; i < rows.size(1); ++i) {
    EXPECT_EQ(cond[size_t(i)], rows[0][i].item<int64_t>()) << i;
    EXPECT_EQ(uncond[size_t(i)], rows[1][i].item<int64_t>()) << i;
  }
  // Teacher forcing through the KV cache, both rows fed the same code.
  for (const bool greedy : {false, true}) {
    janus::KvCache cache;
    auto h = m.net().llm->forward(m.net().llm->embed(rows), &cache);
    auto forced = r["forced_codes"];
    for (int64_t t = 0; t < forced.size(0); ++t) {
      auto logits = m.net().gen_head->forward(h.select(1, h.size(1) - 1));
      auto cfg = logits[1] + 5.0 * (logits[0] - logits[1]);
      int64_t code = forced[t].item<int64_t>();
      if (greedy) {
        EXPECT_TRUE(close(cfg, r["greedy.logits_cfg"][t])) << "greedy step " << t;
        code = cfg.argmax().item<int64_t>();
        ASSERT_EQ(code, r["greedy_codes"][t].item<int64_t>()) << "step " << t;
      } else {
        EXPECT_TRUE(close(h.select(1, h.size(1) - 1), r["forced.hidden_last"].select(1, t))) << "step " << t;
        EXPECT_TRUE(close(logits[0], r["forced.logits_cond"][t])) << "step " << t;
        EXPECT_TRUE(close(logits[1], r["forced.logits_uncond"][t])) << "step " << t;
        EXPECT_TRUE(close(cfg, r["forced.logits_cfg"][t])) << "step " << t;
        EXPECT_TRUE(close(torch::softmax(cfg, -1), r["forced.probs_cfg"][t])) << "step " << t;
      }
      h = m.net().llm->forward(m.net().code_embeds(torch::tensor({code, code})).unsqueeze(1), &cache);
    }
  }
  // image_logprob teacher-forces the same conditional row without a cache: its per-token terms
  // are the forced conditional logits' log-softmax at the forced codes.
  auto lp = m.image_logprob({prompt}, r["forced_codes"].unsqueeze(0));
  auto want = torch::log_softmax(r["forced.logits_cond"].to(torch::kFloat64), -1)
                  .gather(1, r["forced_codes"].unsqueeze(1)).sum();
  EXPECT_NEAR(lp.item<double>(), want.item<double>(), 1e-3);
}

TEST(Janus, VqDecodeAndEncodeMatchTheOfficialModel) {
  JanusModel& m = tiny_janus();
  Reference r("vq");
  torch::NoGradGuard ng;
  auto& vq = *m.net().vq;
  auto codes = r["decode.codes"];
  EXPECT_TRUE(close(vq.codebook_entries(codes, 4), r["decode.codebook_entries"]));
  EXPECT_TRUE(close(vq.decode_codes(codes, 4), r["decode.float"]));
  // uint8 by truncation: within 1 of the official (a few pixels lie within 1e-4 of a boundary).
  auto images = m.decode_codes(codes);
  auto want = r["decode.uint8"];
  int64_t differ = 0;
  for (int64_t b = 0; b < 2; ++b) {
    auto got = torch::from_blob(images[size_t(b)].rgb.data(), {64, 64, 3}, torch::kUInt8).to(torch::kInt32);
    auto diff = (got - want[b].to(torch::kInt32)).abs();
    EXPECT_LE(diff.max().item<int>(), 1);
    differ += (diff > 0).sum().item<int64_t>();
  }
  EXPECT_LE(differ, 9);
  // Encode: encoder, quant_conv, the quantizer's distances, its argmin codes.
  auto x = r["encode.input"];
  EXPECT_TRUE(close(vq.encoder->forward(x), r["encode.encoder_out"]));
  auto z = vq.quantizer_input(x);
  EXPECT_TRUE(close(z, r["encode.quant_conv_out"]));
  EXPECT_TRUE(close(vq.distances(z), r["encode.distances"]));
  EXPECT_TRUE(torch::equal(vq.encode(x)[0], r["encode.codes"]));
  EXPECT_TRUE(close(vq.codebook_entries(r["encode.codes"].unsqueeze(0), 4), r["encode.quant"]));
}

namespace {
// The tensors resolve_janus_dims checks, with the shapes an official checkpoint of these
// dimensions has (the layer and block lists by their first index and count).
std::map<std::string, std::vector<int64_t>> official_shapes(const json& r) {
  const json &lm = r["language_model"], &vt = r["vision_tower"], &vq = r["vq"];
  const int64_t H = lm["hidden_size"], V = lm["vocab_size"], I = lm["intermediate_size"], kv = lm["num_key_value_heads"],
                hd = lm["head_dim"], W = vt["width"], P = vt["patch_size"], N = vt["tokens"], K = vq["codebook_size"],
                D = vq["codebook_embed_dim"], z = vq["z_channels"], ch = vq["ch"];
  std::map<std::string, std::vector<int64_t>> s;
  const std::string L = "language_model.model.", T = "vision_model.vision_tower.", Q = "gen_vision_model.";
  s[L + "embed_tokens.weight"] = {V, H}, s["language_model.lm_head.weight"] = {V, H};
  for (int64_t i = 0; i < lm["num_hidden_layers"].get<int64_t>(); ++i) s[L + "layers." + std::to_string(i) + ".input_layernorm.weight"] = {H};
  s[L + "layers.0.mlp.gate_proj.weight"] = {I, H}, s[L + "layers.0.self_attn.k_proj.weight"] = {kv * hd, H};
  s[T + "patch_embed.proj.weight"] = {W, 3, P, P}, s[T + "pos_embed"] = {1, N, W};
  s[T + "blocks.0.mlp.fc1.weight"] = {W * vt["mlp_ratio"].get<int64_t>(), W};
  for (int64_t i = 0; i < vt["depth_used"].get<int64_t>(); ++i) s[T + "blocks." + std::to_string(i) + ".norm1.weight"] = {W};
  s["aligner.layers.0.weight"] = {H, W}, s["gen_aligner.layers.0.weight"] = {H, D};
  s["gen_head.output_mlp_projector.weight"] = {H, H}, s["gen_head.vision_head.weight"] = {K, H}, s["gen_embed.weight"] = {K, D};
  s[Q + "quantize.embedding.weight"] = {K, D}, s[Q + "post_quant_conv.weight"] = {z, D, 1, 1}, s[Q + "decoder.conv_out.weight"] = {3, ch, 3, 3};
  const auto mult = vq["ch_mult"].get<std::vector<int64_t>>();
  for (size_t l = 0; l < mult.size(); ++l) {
    const std::string e = Q + "encoder.conv_blocks." + std::to_string(l) + ".res.", d = Q + "decoder.conv_blocks." + std::to_string(l) + ".res.";
    for (int64_t b = 0; b < vq["num_res_blocks"].get<int64_t>(); ++b) s[e + std::to_string(b) + ".conv1.weight"] = {ch * mult[l], 1, 3, 3};
    for (int64_t b = 0; b <= vq["num_res_blocks"].get<int64_t>(); ++b) s[d + std::to_string(b) + ".conv1.weight"] = {1};
  }
  return s;
}
}  // namespace

// The published 7B config omits every LLaMA size but the layer count and vocabulary: they
// come from LlamaConfig's defaults, as the official code resolves them.
TEST(Janus, The7BConfigResolvesAsTheOfficialCodeDoes) {
  const json cfg = read_json(kData + "/configs/janus-pro-7b.config.json"), r = read_json(kData + "/configs/janus-pro-7b.resolved.json");
  const JanusDims d = resolve_janus_dims(cfg, official_shapes(r), "janus-pro-7b.config.json");
  const json& lm = r["language_model"];
  EXPECT_EQ(d.llm.hidden, lm["hidden_size"].get<int64_t>());
  EXPECT_EQ(d.llm.intermediate, lm["intermediate_size"].get<int64_t>());
  EXPECT_EQ(d.llm.layers, lm["num_hidden_layers"].get<int64_t>());
  EXPECT_EQ(d.llm.heads, lm["num_attention_heads"].get<int64_t>());
  EXPECT_EQ(d.llm.kv_heads, lm["num_key_value_heads"].get<int64_t>());
  EXPECT_EQ(d.llm.head_dim, lm["head_dim"].get<int64_t>());
  EXPECT_EQ(d.llm.vocab, lm["vocab_size"].get<int64_t>());
  EXPECT_DOUBLE_EQ(d.llm.rms_eps, lm["rms_norm_eps"].get<double>());
  EXPECT_DOUBLE_EQ(d.llm.rope_theta, lm["rope_theta"].get<double>());
  const json& vt = r["vision_tower"];
  EXPECT_EQ(d.siglip.width, vt["width"].get<int64_t>());
  EXPECT_EQ(d.siglip.heads, vt["heads"].get<int64_t>());
  EXPECT_EQ(d.siglip.depth, vt["depth_used"].get<int64_t>());
  EXPECT_EQ(d.siglip.tokens(), vt["tokens"].get<int64_t>());
  EXPECT_EQ(d.vq.ch, r["vq"]["ch"].get<int64_t>());
  EXPECT_EQ(d.vq.ch_mult, r["vq"]["ch_mult"].get<std::vector<int64_t>>());
  EXPECT_EQ(d.vq.z_channels, r["vq"]["z_channels"].get<int64_t>());
  EXPECT_EQ(d.vq.codebook_size, r["vq"]["codebook_size"].get<int64_t>());
  EXPECT_EQ(d.image_tokens(), 576);
  // Heads the shapes cannot give: with the 7B's 4096-wide k_proj, 64 heads would be refused.
  json wrong = cfg;
  wrong["language_config"]["num_key_value_heads"] = 16;
  EXPECT_THROW(resolve_janus_dims(wrong, official_shapes(r), "x"), UserError);
}

namespace {
// A copy of the tiny folder written by the backend itself (float32 safetensors, the same keys).
std::string saved_copy(const TempDir& d) {
  tiny_janus().save(d.path + "/st");
  return d.path + "/st";
}
std::string load_error(const std::string& dir) {
  try {
    load_model(dir);
  } catch (const UserError& e) {
    return e.what();
  }
  return "loaded";
}
}  // namespace

// Safetensors with the official key names, single or sharded with an index, load to the same
// weights; every bad folder is refused naming the file and the tensor or field.
TEST(Janus, SafetensorsFoldersAndBadInputs) {
  TempDir d;
  const std::string st = saved_copy(d);
  auto m = load_model(st);
  auto a = tiny_janus().named_parameters(), b = m->named_parameters();
  for (auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
  // Sharded: two files and model.safetensors.index.json.
  SafetensorsFile all = read_safetensors(st + "/model.safetensors"), s1, s2;
  json map = json::object();
  int i = 0;
  for (auto& [k, t] : all.tensors) ((i++ % 2) ? s1 : s2).tensors[k] = t, map[k] = (i % 2) ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  TempDir sh;
  for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "preprocessor_config.json",
                        "processor_config.json"})
    write_file_atomic(sh.path + "/" + f, read_file(st + "/" + f));
  write_safetensors(sh.path + "/model-00001-of-00002.safetensors", s1);
  write_safetensors(sh.path + "/model-00002-of-00002.safetensors", s2);
  write_json(sh.path + "/model.safetensors.index.json", {{"metadata", json::object()}, {"weight_map", map}});
  auto c = load_model(sh.path)->named_parameters();
  for (auto& p : a) EXPECT_TRUE(torch::equal(p.value(), c[p.key()])) << p.key();

  auto variant = [&](auto edit) {
    SafetensorsFile f = all;
    edit(f);
    write_safetensors(st + "/model.safetensors", f);
    return load_error(st);
  };
  const std::string key = "language_model.model.layers.1.mlp.up_proj.weight";
  EXPECT_NE(variant([&](SafetensorsFile& f) { f.tensors.erase(key); }).find("missing tensor '" + key + "'"), std::string::npos);
  EXPECT_NE(variant([&](SafetensorsFile& f) { f.tensors[key].shape = {64, 128}; }).find("tensor '" + key + "'"), std::string::npos);
  EXPECT_NE(variant([&](SafetensorsFile& f) {
              auto& t = f.tensors[key];
              t.dtype = DType::I32;
            }).find("not a weight dtype"),
            std::string::npos);
  EXPECT_NE(variant([&](SafetensorsFile& f) { f.tensors["language_model.extra.weight"] = f.tensors[key]; }).find("unexpected tensor 'language_model.extra.weight'"),
            std::string::npos);
  // Unused official keys are accepted: the tiny .bin holds attn_pool.* and codebook_used.
  write_safetensors(st + "/model.safetensors", all);
  json cfg = read_json(st + "/config.json");
  json bad = cfg;
  bad["vision_config"]["params"]["model_name"] = "siglip_huge";
  write_json(st + "/config.json", bad);
  EXPECT_NE(load_error(st).find("unknown SigLIP model_name 'siglip_huge'"), std::string::npos);
  bad = cfg;
  bad["model_type"] = "multi_modality_v2";
  write_json(st + "/config.json", bad);
  EXPECT_NE(load_error(st).find("config.json"), std::string::npos);
  write_json(st + "/config.json", cfg);
  // A truncated pytorch_model.bin names the file.
  TempDir t;
  for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "preprocessor_config.json",
                        "processor_config.json"})
    write_file_atomic(t.path + "/" + f, read_file(kData + "/tiny/" + f));
  const std::string bin = read_file(kData + "/tiny/pytorch_model.bin");
  write_file_atomic(t.path + "/pytorch_model.bin", bin.substr(0, bin.size() / 2));
  EXPECT_NE(load_error(t.path).find("pytorch_model.bin"), std::string::npos);
}

// --dtype bf16 runs the same code in bfloat16 (what a CUDA build uses; here on the CPU): within
// the deviations the official code shows in bfloat16 (tolerances.json: logits <= 0.047, CFG
// logits 0.18, VQ decode 0.18), with the README's suggested margins.
TEST(Janus, Bf16ComputeStaysWithinTheOfficialBf16Deviations) {
  ModelOptions opt;
  opt.dtype = torch::kBFloat16;
  auto m = JanusModel::load(kData + "/tiny", opt);
  Reference u("understanding"), g("generation"), v("vq");
  torch::NoGradGuard ng;
  auto h = m->net().llm->forward(u["inputs_embeds"].to(torch::kBFloat16).unsqueeze(0))[0];
  EXPECT_TRUE(close(m->net().llm->logits(h.index_select(0, u["logit_positions"])), u["logits_at_positions"], 0.1));
  EXPECT_TRUE(close(m->net().tower->forward(u["pixel_values"][0].to(torch::kBFloat16))[0], u["siglip_out"], 0.1));
  auto rows = g["prompt_tokens"];
  auto hg = m->net().llm->forward(m->net().llm->embed(rows));
  auto logits = m->net().gen_head->forward(hg.select(1, hg.size(1) - 1));
  EXPECT_TRUE(close(logits[0], g["forced.logits_cond"][0], 0.1));
  EXPECT_TRUE(close(logits[1] + 5.0 * (logits[0] - logits[1]), g["forced.logits_cfg"][0], 0.3));
  // The VQ decoder is the exception on the CPU: ATen's own bfloat16 convolutions (oneDNN's are
  // off, model/torch_runtime.h) round more than the official run's oneDNN ones (0.18): 0.78
  // measured. The CPU computes in float32; bfloat16 is for CUDA, where cuDNN accumulates in float32.
  EXPECT_TRUE(close(m->net().vq->decode_codes(v["decode.codes"], 4), v["decode.float"], 1.0));
  // The interface's outputs are the same types as in float32.
  auto samples = m->generate({{"a photo of a cat", 1}}, SampleOptions{});
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].image.width, 64);
  EXPECT_EQ(m->judge({samples[0].image}, {"a photo of a cat"}).size(), 1u);
}

// The CPU float32 attention kernels (prefill with its own backward, decode over the cache)
// compute what the eager attention of transformers computes, GQA included.
TEST(Janus, AttentionKernelsEqualTheEagerAttention) {
  LlamaDims d;
  d.hidden = 64, d.intermediate = 32, d.heads = 4, d.kv_heads = 4, d.head_dim = 16, d.vocab = 8, d.layers = 1;
  janus::LlamaLayer fast(d), eager(d);
  eager->force_eager_attention = true;
  torch::manual_seed(3);
  for (const int64_t T : {int64_t(5), int64_t(1)}) {
    auto q = torch::randn({2, 4, T, 16}, torch::requires_grad()), k = torch::randn({2, 4, 7, 16}, torch::requires_grad()),
         v = torch::randn({2, 4, 7, 16}, torch::requires_grad());
    auto a = fast->attention(q, k, v), b = eager->attention(q, k, v);
    EXPECT_TRUE(close(a, b, 1e-5)) << "T " << T;
    auto w = torch::randn_like(a);
    auto ga = torch::autograd::grad({(a * w).sum()}, {q, k, v}), gb = torch::autograd::grad({(b * w).sum()}, {q, k, v});
    for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(close(ga[i], gb[i], 1e-5)) << "gradient " << i << ", T " << T;
    torch::NoGradGuard ng;  // decoding: the cache kernel
    if (T == 1) {
      EXPECT_TRUE(close(fast->attention(q, k, v), b, 1e-5));
    }
  }
}

// Decoding's few-rows linear layer equals F::linear for 1..8 rows, with and without bias,
// odd sizes included; more rows, gradients or other dtypes go to F::linear.
TEST(Janus, FewRowsLinearEqualsLinear) {
  torch::manual_seed(5);
  c10::InferenceMode guard;
  for (const int64_t K : {int64_t(7), int64_t(64), int64_t(301)})
    for (int64_t M = 1; M <= kFewRowsMax; ++M) {
      auto x = torch::randn({M, 1, K}), w = torch::randn({37, K}), b = torch::randn({37});
      ASSERT_TRUE(few_rows_linear_applies(x, w));
      EXPECT_TRUE(close(few_rows_linear(x, w, b), torch::nn::functional::linear(x, w, b), 1e-5)) << M << " x " << K;
      EXPECT_TRUE(close(few_rows_linear(x, w, {}), torch::nn::functional::linear(x, w), 1e-5)) << M << " x " << K;
    }
  EXPECT_FALSE(few_rows_linear_applies(torch::randn({9, 4}), torch::randn({3, 4})));
  EXPECT_FALSE(few_rows_linear_applies(torch::randn({2, 4}, torch::kBFloat16), torch::randn({3, 4}, torch::kBFloat16)));
  EXPECT_FALSE(few_rows_linear_applies(torch::randn({2, 4}), torch::randn({4, 3}).t()));
}

TEST(Janus, FewRowsLinearStaysOutOfTraining) {
  auto x = torch::randn({2, 4}), w = torch::randn({3, 4}, torch::requires_grad());
  EXPECT_FALSE(few_rows_linear_applies(x, w));
  torch::NoGradGuard ng;
  EXPECT_TRUE(few_rows_linear_applies(x, w));
}
