#include "dist/data_parallel.h"

#include <cstring>

#include "common/error.h"
#include "model/registry.h"

namespace unigap {

namespace {

// Byte packing for the all-gather of sharded results (same machine type on every rank).
template <class T>
void put(std::string& b, const T& v) {
  b.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_bytes(std::string& b, const void* p, size_t n) { b.append(static_cast<const char*>(p), n); }

struct Reader {
  const std::string& b;
  size_t at = 0;
  template <class T>
  T take() {
    T v;
    bytes(&v, sizeof v);
    return v;
  }
  void bytes(void* out, size_t n) {
    UNIGAP_ASSERT(at + n <= b.size(), "short all-gather message");
    std::memcpy(out, b.data() + at, n);
    at += n;
  }
};

}  // namespace

DataParallelModel::DataParallelModel(std::unique_ptr<UnifiedMultimodal> inner, Dist& dist)
    : inner_(std::move(inner)), dist_(dist) {}

std::vector<GeneratedSample> DataParallelModel::generate(const std::vector<GenerationRequest>& requests,
                                                         const SampleOptions& opt) {
  opt.validate();
  const auto [lo, hi] = dist_.share(requests.size());
  auto mine = inner_->generate({requests.begin() + lo, requests.begin() + hi}, opt);
  std::string b;
  put(b, uint64_t(mine.size()));
  for (auto& s : mine) {
    put(b, uint64_t(s.codes.size()));
    put_bytes(b, s.codes.data(), s.codes.size() * sizeof(int64_t));
    put(b, int32_t(s.image.width));
    put(b, int32_t(s.image.height));
    put_bytes(b, s.image.rgb.data(), s.image.rgb.size());
  }
  std::vector<GeneratedSample> out;
  out.reserve(requests.size());
  for (auto& part : dist_.all_gather(b)) {
    Reader r{part};
    const auto n = r.take<uint64_t>();
    for (uint64_t i = 0; i < n; ++i) {
      GeneratedSample s;
      s.codes.resize(r.take<uint64_t>());
      r.bytes(s.codes.data(), s.codes.size() * sizeof(int64_t));
      const int w = r.take<int32_t>(), h = r.take<int32_t>();
      s.image = Image(w, h);
      r.bytes(s.image.rgb.data(), s.image.rgb.size());
      out.push_back(std::move(s));
    }
  }
  UNIGAP_ASSERT(out.size() == requests.size(), "all-gather lost samples");
  return out;
}

std::vector<double> DataParallelModel::judge_sized(const std::vector<Image>& images, const std::vector<std::string>& prompts,
                                                   int batch) {
  const auto [lo, hi] = dist_.share(images.size());
  auto mine = inner_->judge_sized({images.begin() + lo, images.begin() + hi}, {prompts.begin() + lo, prompts.begin() + hi}, batch);
  std::vector<double> out;
  out.reserve(images.size());
  for (auto& part : dist_.all_gather(std::string(reinterpret_cast<const char*>(mine.data()), mine.size() * sizeof(double)))) {
    const size_t n = part.size() / sizeof(double);
    out.resize(out.size() + n);
    std::memcpy(out.data() + out.size() - n, part.data(), n * sizeof(double));
  }
  UNIGAP_ASSERT(out.size() == images.size(), "all-gather lost judgments");
  return out;
}

std::unique_ptr<UnifiedMultimodal> open_model(const std::string& dir, Dist& dist, const ModelOptions& opt) {
  auto m = load_model(dir, opt);
  if (!dist.active()) return m;
  return std::make_unique<DataParallelModel>(std::move(m), dist);
}

}  // namespace unigap
