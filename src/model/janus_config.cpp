#include "model/janus_config.h"

#include <set>

#include "common/error.h"
#include "io/safetensors.h"

namespace unigap {

const std::map<std::string, SiglipDims>& siglip_table() {
  // The entry of janus/models/siglip_vit.py's SigLIP_MODEL_CONFIG that Janus-Pro uses (mlp_ratio 4
  // x width = mlp_hidden), plus the fixtures' tiny entry (tests/data/janus/README.md: the official
  // table extended, not the code).
  static const std::map<std::string, SiglipDims> t = {
      {"siglip_large_patch16_384", {"siglip_large_patch16_384", 384, 16, 1024, 24, 16, 4096, 24}},
      {"siglip_tiny_patch16_64", {"siglip_tiny_patch16_64", 64, 16, 128, 2, 2, 512, 2}},
  };
  return t;
}

namespace {

// One config section's reader: typed fields with defaults, errors naming the field.
struct Section {
  const json& j;
  std::string where;
  const json& sub(const char* k) const {
    if (!j.contains(k) || !j.at(k).is_object()) throw UserError("missing or not an object: '" + std::string(k) + "'", where);
    return j.at(k);
  }
  template <class T>
  T get(const char* k, T fallback) const {
    T v = fallback;
    read_field(j, k, v, "field ", where);
    return v;
  }
  template <class T>
  T need(const char* k) const {
    T v{};
    read_required_field(j, k, v, where);
    return v;
  }
};

using Shapes = std::map<std::string, std::vector<int64_t>>;

const std::vector<int64_t>& shape_of(const Shapes& shapes, const std::string& name, const std::string& origin) {
  auto it = shapes.find(name);
  if (it == shapes.end()) throw UserError("missing tensor '" + name + "'", origin, "is this an official Janus-Pro checkpoint?");
  return it->second;
}

void expect_shape(const Shapes& shapes, const std::string& name, const std::vector<int64_t>& want, const std::string& origin,
                  const std::string& from) {
  const auto& got = shape_of(shapes, name, origin);
  if (got != want)
    throw UserError("tensor '" + name + "' has shape " + shape_str(got) + ", " + from + " gives " + shape_str(want), origin);
}

// How many indices N there are of `prefix` N `.`: blocks.0., blocks.1., ...
int64_t count_indices(const Shapes& shapes, const std::string& prefix) {
  std::set<int64_t> seen;
  for (auto& [name, s] : shapes) {
    if (name.rfind(prefix, 0) != 0) continue;
    const auto dot = name.find('.', prefix.size());
    const std::string idx = name.substr(prefix.size(), dot - prefix.size());
    if (!idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos) seen.insert(std::stoll(idx));
  }
  return int64_t(seen.size());
}

ProjectorDims projector(const json& cfg, const char* key, const std::string& origin) {
  const Section s{Section{cfg, origin}.sub(key), origin + ": " + key};
  const Section p{s.sub("params"), s.where + ".params"};
  if (s.get<std::string>("cls", "MlpProjector") != "MlpProjector") throw UserError("unknown cls (expected MlpProjector)", s.where);
  if (p.get<std::string>("projector_type", "mlp_gelu") != "mlp_gelu" || p.get<int64_t>("depth", 1) != 2)
    throw UserError("only projector_type mlp_gelu of depth 2 is implemented (Janus-Pro's)", p.where);
  return {p.need<int64_t>("input_dim"), p.need<int64_t>("n_embed")};
}

}  // namespace

JanusDims resolve_janus_dims(const json& config, const Shapes& shapes, const std::string& origin) {
  if (!config.is_object()) throw UserError("config.json is not a JSON object", origin);
  const Section root{config, origin};
  if (root.get<std::string>("model_type", "") != "multi_modality")
    throw UserError("model_type is '" + root.get<std::string>("model_type", "") + "', not multi_modality", origin);
  JanusDims d;

  // ---- language model: LlamaConfig(**language_config), transformers' defaults ----
  const Section lc{root.sub("language_config"), origin + ": language_config"};
  d.llm.vocab = lc.get<int64_t>("vocab_size", 32000);
  d.llm.hidden = lc.get<int64_t>("hidden_size", 4096);
  d.llm.intermediate = lc.get<int64_t>("intermediate_size", 11008);
  d.llm.layers = lc.get<int64_t>("num_hidden_layers", 32);
  d.llm.heads = lc.get<int64_t>("num_attention_heads", 32);
  d.llm.kv_heads = lc.get<int64_t>("num_key_value_heads", d.llm.heads);
  d.llm.rms_eps = lc.get<double>("rms_norm_eps", 1e-6);
  d.llm.rope_theta = lc.get<double>("rope_theta", 10000.0);
  if (lc.get<std::string>("hidden_act", "silu") != "silu") throw UserError("hidden_act must be silu", lc.where);
  if (lc.j.contains("rope_scaling") && !lc.j.at("rope_scaling").is_null()) throw UserError("rope_scaling is not implemented", lc.where);
  if (lc.get<bool>("tie_word_embeddings", false)) throw UserError("tied word embeddings are not implemented", lc.where);
  if (d.llm.heads < 1 || d.llm.hidden % d.llm.heads || d.llm.kv_heads < 1 || d.llm.heads % d.llm.kv_heads)
    throw UserError("hidden_size " + std::to_string(d.llm.hidden) + " with " + std::to_string(d.llm.heads) + " heads and " +
                        std::to_string(d.llm.kv_heads) + " KV heads does not split into heads",
                    lc.where);
  d.llm.head_dim = d.llm.hidden / d.llm.heads;
  const std::string L = "language_model.model.";
  expect_shape(shapes, L + "embed_tokens.weight", {d.llm.vocab, d.llm.hidden}, origin, "language_config");
  expect_shape(shapes, "language_model.lm_head.weight", {d.llm.vocab, d.llm.hidden}, origin, "language_config");
  expect_shape(shapes, L + "layers.0.mlp.gate_proj.weight", {d.llm.intermediate, d.llm.hidden}, origin, "language_config");
  expect_shape(shapes, L + "layers.0.self_attn.k_proj.weight", {d.llm.kv_heads * d.llm.head_dim, d.llm.hidden}, origin,
               "language_config (KV heads)");
  if (count_indices(shapes, L + "layers.") != d.llm.layers)
    throw UserError("the checkpoint has " + std::to_string(count_indices(shapes, L + "layers.")) + " LLM layers, num_hidden_layers is " +
                        std::to_string(d.llm.layers),
                    origin);

  // ---- vision tower: the SigLIP table by name, image_size and select_layer from params ----
  const Section vc{root.sub("vision_config"), origin + ": vision_config"};
  const Section vp{vc.sub("params"), vc.where + ".params"};
  const std::string name = vp.need<std::string>("model_name");
  auto it = siglip_table().find(name);
  if (it == siglip_table().end()) {
    std::string known;
    for (auto& [k, v] : siglip_table()) known += (known.empty() ? "" : ", ") + k;
    throw UserError("unknown SigLIP model_name '" + name + "'", vp.where, "known: " + known);
  }
  d.siglip = it->second;
  d.siglip.image_size = vp.get<int64_t>("image_size", d.siglip.image_size);
  const int64_t select = vp.get<int64_t>("select_layer", -1);
  d.siglip.depth = select <= 0 ? std::min(d.siglip.layers, d.siglip.layers + select + 1) : std::min(d.siglip.layers, select);
  if (vp.get<std::string>("select_feature", "same") != "same") throw UserError("only select_feature 'same' is implemented", vp.where);
  if (d.siglip.image_size % d.siglip.patch) throw UserError("image_size is not a multiple of the patch size", vp.where);
  const std::string V = "vision_model.vision_tower.";
  expect_shape(shapes, V + "patch_embed.proj.weight", {d.siglip.width, 3, d.siglip.patch, d.siglip.patch}, origin, name);
  expect_shape(shapes, V + "pos_embed", {1, d.siglip.tokens(), d.siglip.width}, origin, name + " at image_size " + std::to_string(d.siglip.image_size));
  expect_shape(shapes, V + "blocks.0.mlp.fc1.weight", {d.siglip.mlp_hidden, d.siglip.width}, origin, name);
  if (count_indices(shapes, V + "blocks.") != d.siglip.depth)
    throw UserError("the checkpoint has " + std::to_string(count_indices(shapes, V + "blocks.")) + " SigLIP blocks, " + name +
                        " with select_layer " + std::to_string(select) + " uses " + std::to_string(d.siglip.depth),
                    origin);

  // ---- aligners and the generation head ----
  d.aligner = projector(config, "aligner_config", origin);
  d.gen_aligner = projector(config, "gen_aligner_config", origin);
  expect_shape(shapes, "aligner.layers.0.weight", {d.aligner.n_embed, d.aligner.input_dim}, origin, "aligner_config");
  expect_shape(shapes, "gen_aligner.layers.0.weight", {d.gen_aligner.n_embed, d.gen_aligner.input_dim}, origin, "gen_aligner_config");
  if (d.aligner.input_dim != d.siglip.width || d.aligner.n_embed != d.llm.hidden || d.gen_aligner.n_embed != d.llm.hidden)
    throw UserError("the aligners do not connect the tower (" + std::to_string(d.siglip.width) + ") and the VQ codes to the LLM (" +
                        std::to_string(d.llm.hidden) + ")",
                    origin);
  const Section gh{Section{root.sub("gen_head_config"), origin + ": gen_head_config"}.sub("params"), origin + ": gen_head_config.params"};
  d.gen_head_embed = gh.need<int64_t>("image_token_embed");
  const int64_t gen_codes = gh.need<int64_t>("image_token_size");
  expect_shape(shapes, "gen_head.output_mlp_projector.weight", {d.gen_head_embed, gh.need<int64_t>("n_embed")}, origin, "gen_head_config");
  expect_shape(shapes, "gen_head.vision_head.weight", {gen_codes, d.gen_head_embed}, origin, "gen_head_config");
  const Section gv{root.sub("gen_vision_config"), origin + ": gen_vision_config"};
  if (gv.get<std::string>("cls", "") != "VQ-16") throw UserError("unknown cls '" + gv.get<std::string>("cls", "") + "' (expected VQ-16)", gv.where);
  const Section gvp{gv.sub("params"), gv.where + ".params"};
  d.gen_embed_dim = gvp.need<int64_t>("n_embed");
  expect_shape(shapes, "gen_embed.weight", {gvp.need<int64_t>("image_token_size"), d.gen_embed_dim}, origin, "gen_vision_config");
  if (d.gen_aligner.input_dim != d.gen_embed_dim) throw UserError("gen_aligner input_dim differs from gen_embed's n_embed", origin);

  // ---- VQ-16: from the tensor shapes (VQ_16() takes no arguments) ----
  const std::string Q = "gen_vision_model.";
  const auto& cb = shape_of(shapes, Q + "quantize.embedding.weight", origin);
  if (cb.size() != 2) throw UserError("tensor '" + Q + "quantize.embedding.weight' is not a matrix", origin);
  d.vq.codebook_size = cb[0], d.vq.codebook_dim = cb[1];
  d.vq.z_channels = shape_of(shapes, Q + "post_quant_conv.weight", origin).at(0);
  d.vq.ch = shape_of(shapes, Q + "decoder.conv_out.weight", origin).at(1);
  const int64_t levels = count_indices(shapes, Q + "encoder.conv_blocks.");
  if (levels < 1 || count_indices(shapes, Q + "decoder.conv_blocks.") != levels) throw UserError("VQ encoder and decoder levels differ", origin);
  d.vq.ch_mult.clear();
  for (int64_t l = 0; l < levels; ++l) {
    const int64_t out = shape_of(shapes, Q + "encoder.conv_blocks." + std::to_string(l) + ".res.0.conv1.weight", origin).at(0);
    if (out % d.vq.ch) throw UserError("VQ level " + std::to_string(l) + " width " + std::to_string(out) + " is not a multiple of ch", origin);
    d.vq.ch_mult.push_back(out / d.vq.ch);
  }
  d.vq.encoder_res_blocks = count_indices(shapes, Q + "encoder.conv_blocks.0.res.");
  d.vq.decoder_res_blocks = count_indices(shapes, Q + "decoder.conv_blocks.0.res.");
  if (d.vq.codebook_size != gen_codes || d.vq.codebook_dim != d.gen_embed_dim)
    throw UserError("the VQ codebook (" + std::to_string(d.vq.codebook_size) + " x " + std::to_string(d.vq.codebook_dim) +
                        ") differs from the generation head's codes",
                    origin);

  // Generated images: the official generate() takes img_size 384 = the tower's image_size.
  d.image_size = d.siglip.image_size;
  if (d.image_size % d.vq.downsample()) throw UserError("the image size is not a multiple of the VQ's downsampling", origin);
  d.und_tokens = d.siglip.tokens();
  return d;
}

}  // namespace unigap
