// Janus-Pro's VLMImageProcessor (common/janus_preprocess.h): the config file, the size rule,
// expand2square and the float32 pixel values, each in the official code's arithmetic.
#include "common/janus_preprocess.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "common/error.h"
#include "common/pil_resize.h"

namespace unigap {

namespace {

std::string triple_str(const std::array<double, 3>& v) {
  std::string s = "[";
  for (size_t i = 0; i < 3; ++i) s += (i ? ", " : "") + json(v[i]).dump();
  return s + "]";
}

// A field holding three finite numbers (image_mean, image_std).
void read_triple(const json& j, const char* key, std::array<double, 3>& out, const std::string& origin) {
  if (!j.contains(key)) return;
  const json& v = j.at(key);
  bool ok = v.is_array() && v.size() == 3;
  for (size_t i = 0; ok && i < 3; ++i) {
    const auto x = json_as<double>(v[i]);
    if (x) out[i] = *x;
    ok = bool(x);
  }
  if (!ok)
    throw UserError(std::string("field '") + key + "' must be an array of 3 finite numbers (one per RGB channel), found " +
                        v.dump(),
                    origin);
}

}  // namespace

std::array<uint8_t, 3> JanusImageConfig::background() const {
  std::array<uint8_t, 3> bg{};
  // Python's int() truncates; validate() keeps mean in [0, 1], so this is 0..255.
  for (size_t c = 0; c < 3; ++c) bg[c] = uint8_t(int(image_mean[c] * 255));
  return bg;
}

void JanusImageConfig::validate() const {
  auto fail = [](const char* field, const std::string& why) { throw UserError(why, field); };
  if (image_size < 1) fail("image_size", "must be at least 1 pixel, found " + std::to_string(image_size));
  if (min_size < 1 || min_size > image_size)
    fail("min_size",
         "must lie in [1, image_size = " + std::to_string(image_size) + "], found " + std::to_string(min_size));
  for (size_t c = 0; c < 3; ++c) {
    if (!(image_mean[c] >= 0.0 && image_mean[c] <= 1.0))
      fail("image_mean", "each channel must lie in [0, 1] (it also sets the padding colour int(mean * 255)), found " +
                             triple_str(image_mean));
    if (!(image_std[c] > 0.0 && std::isfinite(image_std[c])))
      fail("image_std", "each channel must be a finite number > 0, found " + triple_str(image_std));
  }
  if (!(rescale_factor > 0.0 && std::isfinite(rescale_factor)))
    fail("rescale_factor",
         "must be a finite number > 0 (1/255 maps u8 to [0, 1]), found " + json(rescale_factor).dump());
}

JanusImageConfig JanusImageConfig::from_json(const json& j, const std::string& origin) {
  if (!j.is_object())
    throw UserError("preprocessor config must be a JSON object, found " + std::string(j.type_name()), origin);
  static const std::set<std::string> known = {"image_size",     "min_size",         "image_mean",
                                              "image_std",      "rescale_factor",   "do_normalize",
                                              "background_color", "image_processor_type", "processor_class"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key()))
      throw UserError("unknown preprocessor config field '" + it.key() + "'", origin,
                      "expected only image_size, min_size, image_mean, image_std, rescale_factor, do_normalize, "
                      "background_color, image_processor_type, processor_class");
  JanusImageConfig c;
  read_required_field(j, "image_size", c.image_size, origin);
  read_field(j, "min_size", c.min_size, "field ", origin);
  read_triple(j, "image_mean", c.image_mean, origin);
  read_triple(j, "image_std", c.image_std, origin);
  read_field(j, "rescale_factor", c.rescale_factor, "field ", origin);
  read_field(j, "do_normalize", c.do_normalize, "field ", origin);
  std::string type = "VLMImageProcessor", processor_class;
  read_field(j, "image_processor_type", type, "field ", origin);
  read_field(j, "processor_class", processor_class, "field ", origin);  // names the wrapper; unused here
  if (type != "VLMImageProcessor")
    throw UserError("field 'image_processor_type' must be \"VLMImageProcessor\", found \"" + type + "\"", origin,
                    "this file describes another image processor");
  try {
    c.validate();
  } catch (const UserError& e) {
    throw UserError(e.bare_message(), origin + ": " + e.where(), e.hint());
  }
  if (j.contains("background_color")) {
    // The official constructor overwrites background_color with int(mean * 255); a file whose
    // value disagrees was written for some other code, so say so rather than pick one.
    const json& v = j.at("background_color");
    const std::array<uint8_t, 3> bg = c.background();
    bool ok = v.is_array() && v.size() == 3;
    for (size_t i = 0; ok && i < 3; ++i) ok = json_as<int>(v[i]) == std::optional<int>(bg[i]);
    if (!ok)
      throw UserError("field 'background_color' must equal int(image_mean * 255) = [" + std::to_string(bg[0]) + ", " +
                          std::to_string(bg[1]) + ", " + std::to_string(bg[2]) + "], found " + v.dump(),
                      origin, "VLMImageProcessor pads with int(image_mean * 255) and ignores this field");
  }
  return c;
}

JanusImageConfig JanusImageConfig::read(const std::string& path) { return from_json(read_json(path), path); }

ImageSize janus_resized_size(int width, int height, const JanusImageConfig& cfg) {
  if (width < 1 || height < 1)
    throw UserError("image must be at least 1x1, found " + std::to_string(width) + "x" + std::to_string(height),
                    "janus_resized_size");
  // Python: max(int(h / max_size * image_size), min_size); the division and the product are
  // float64 operations in this order, int() truncates.
  const double m = double(std::max(width, height));
  ImageSize s;
  s.height = std::max(int(double(height) / m * double(cfg.image_size)), cfg.min_size);
  s.width = std::max(int(double(width) / m * double(cfg.image_size)), cfg.min_size);
  return s;
}

Image expand_to_square(const Image& img, const std::array<uint8_t, 3>& background) {
  if (img.width == img.height) return img;
  const int side = std::max(img.width, img.height);
  Image out(side, side, background[0], background[1], background[2]);
  const int x0 = (side - img.width) / 2, y0 = (side - img.height) / 2;  // one of them is 0
  for (int y = 0; y < img.height; ++y) std::copy_n(img.px(0, y), size_t(img.width) * 3, out.px(x0, y0 + y));
  return out;
}

JanusPreprocessed preprocess_janus_image(const Image& img, const JanusImageConfig& cfg) {
  cfg.validate();
  const ImageSize size = janus_resized_size(img.width, img.height, cfg);
  JanusPreprocessed r;
  r.resized = resize_bicubic(img, size.width, size.height);
  r.square = expand_to_square(r.resized, cfg.background());
  const int side = r.square.width;
  UNIGAP_ASSERT(side == cfg.image_size && r.square.height == side, "the longer side resizes to image_size");

  // transformers: rescale multiplies in float64 and casts to float32; normalize casts mean
  // and std to float32 and computes (x - mean) / std in float32.
  const size_t plane = size_t(side) * size_t(side);
  r.pixel_values.resize(3 * plane);
  for (size_t c = 0; c < 3; ++c) {
    const float mean = float(cfg.image_mean[c]), std = float(cfg.image_std[c]);
    float* out = &r.pixel_values[c * plane];
    for (size_t i = 0; i < plane; ++i) {
      float x = float(double(r.square.rgb[i * 3 + c]) * cfg.rescale_factor);
      if (cfg.do_normalize) x = (x - mean) / std;
      out[i] = x;
    }
  }
  return r;
}

}  // namespace unigap
