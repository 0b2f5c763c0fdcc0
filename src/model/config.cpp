#include "model/config.h"

#include <set>

#include "common/error.h"

namespace unigap {

void ModelConfig::validate() const {
  auto fail = [](const std::string& f, const std::string& why) { throw UserError(why, "model config field '" + f + "'"); };
  // Upper bounds too: derived sizes (ffn, token counts) must not overflow an int (found by fuzz_model_config).
  auto range = [&](const char* f, int v, int lo, int hi) {
    if (v < lo || v > hi) fail(f, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], found " + std::to_string(v));
  };
  range("image_size", image_size, 8, 1024);
  range("vq_dim", vq_dim, 1, 4096);
  range("vq_channels", vq_channels, 1, 4096);
  range("d_model", d_model, 8, 65536);
  range("n_layers", n_layers, 1, 1024);
  range("n_heads", n_heads, 1, 4096);
  range("ffn_hidden", ffn_hidden, 0, 1 << 20);
  range("text_len", text_len, 4, 4096);
  range("und_channels", und_channels, 1, 4096);
  range("gen_embed_dim", gen_embed_dim, 1, 65536);
  if (patch != 4) fail("patch", "only 4 is supported (two stride-2 stages), found " + std::to_string(patch));
  if (image_size % patch) fail("image_size", "must be a multiple of patch");
  if (vq_codes < 2 || vq_codes > 65536) fail("vq_codes", "must be in [2, 65536]");
  if (d_model % n_heads) fail("n_heads", "must divide d_model (" + std::to_string(d_model) + ")");
  if (head_dim() % 2) fail("n_heads", "head dimension must be even for RoPE");
  if (und_input != "pixels" && und_input != "vq") fail("und_input", "must be \"pixels\" or \"vq\", found \"" + und_input + "\"");
  if (und_patch != 4 && und_patch != 8) fail("und_patch", "must be 4 or 8, found " + std::to_string(und_patch));
  if (image_size % und_patch) fail("und_patch", "must divide image_size");
  if (und_order != "image_first" && und_order != "prompt_first")
    fail("und_order", "must be \"image_first\" or \"prompt_first\", found \"" + und_order + "\"");
  if (rope_theta <= 0 || norm_eps <= 0) fail("rope_theta", "rope_theta and norm_eps must be > 0");
}

json ModelConfig::to_json() const {
  return {{"preset", preset},       {"image_size", image_size},     {"patch", patch},
          {"vq_codes", vq_codes},   {"vq_dim", vq_dim},             {"vq_channels", vq_channels},
          {"d_model", d_model},     {"n_layers", n_layers},         {"n_heads", n_heads},
          {"ffn_hidden", ffn()},    {"text_len", text_len},         {"rope_theta", rope_theta},
          {"norm_eps", norm_eps},   {"und_input", und_input},       {"und_order", und_order},       {"und_channels", und_channels}, {"und_patch", und_patch},
          {"gen_embed_dim", gen_embed_dim}};
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& origin) {
  if (!j.is_object()) throw UserError("model config must be a JSON object", origin);
  ModelConfig c;
  static const std::set<std::string> known = {"preset", "image_size", "patch", "vq_codes", "vq_dim", "vq_channels",
                                              "d_model", "n_layers", "n_heads", "ffn_hidden", "text_len", "rope_theta",
                                              "norm_eps", "und_input", "und_order", "und_channels", "und_patch", "gen_embed_dim"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key())) throw UserError("unknown model config field '" + it.key() + "'", origin);
  auto get = [&](const char* k, auto& out) { read_field(j, k, out, "model config field ", origin); };
  get("preset", c.preset);
  get("image_size", c.image_size);
  get("patch", c.patch);
  get("vq_codes", c.vq_codes);
  get("vq_dim", c.vq_dim);
  get("vq_channels", c.vq_channels);
  get("d_model", c.d_model);
  get("n_layers", c.n_layers);
  get("n_heads", c.n_heads);
  get("ffn_hidden", c.ffn_hidden);
  get("text_len", c.text_len);
  get("rope_theta", c.rope_theta);
  get("norm_eps", c.norm_eps);
  get("und_input", c.und_input);
  get("und_order", c.und_order);
  get("und_channels", c.und_channels);
  get("und_patch", c.und_patch);
  get("gen_embed_dim", c.gen_embed_dim);
  try {
    c.validate();
  } catch (const UserError& e) {
    throw UserError(e.bare_message(), origin + ": " + e.where());
  }
  return c;
}

ModelConfig ModelConfig::preset_named(const std::string& name) {
  ModelConfig c;
  c.preset = name;
  if (name == "small") return c;
  if (name == "tiny") {  // for tests: trains in seconds, exercises every code path
    c.vq_codes = 64;
    c.vq_dim = 16;
    c.vq_channels = 16;
    c.d_model = 64;
    c.n_layers = 2;
    c.n_heads = 2;
    c.und_channels = 16;
    c.gen_embed_dim = 16;
    return c;
  }
  throw UserError("unknown preset '" + name + "'", "--preset", "use tiny or small");
}

}  // namespace unigap
