#include "world/geneval_folder.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/png.h"

namespace unigap {

std::string sample_folder_name(int index) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%05d", index);
  return buf;
}
std::string sample_file_name(int k) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d.png", k);
  return buf;
}

void write_sample_folder(const std::string& root, int index, const Metadata& m, const std::vector<Image>& images,
                         const std::vector<json>* scenes) {
  const std::string dir = root + "/" + sample_folder_name(index);
  make_dirs(dir + "/samples");
  for (size_t k = 0; k < images.size(); ++k) write_png(dir + "/samples/" + sample_file_name(int(k)), images[k]);
  if (scenes) write_jsonl(dir + "/scenes.jsonl", *scenes);
  // Metadata last: a folder with metadata is complete (resume looks for it).
  write_jsonl(dir + "/metadata.jsonl", {m.to_json()});
}

namespace {
std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}
bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}
}  // namespace

std::vector<SampleFolder> scan_sample_root(const std::string& root, const WorldSpec* spec,
                                           std::vector<ScanProblem>& problems) {
  if (!dir_exists(root))
    throw UserError("folder not found", root, "expected GenEval layout: <root>/<index>/metadata.jsonl and samples/NNNN.png");
  std::vector<SampleFolder> out;
  for (const auto& name : list_dir(root)) {
    const std::string dir = root + "/" + name;
    if (!all_digits(name) || !dir_exists(dir)) continue;
    SampleFolder f;
    f.index = std::stoi(name.size() > 9 ? name.substr(name.size() - 9) : name);
    f.dir = dir;
    const std::string meta = dir + "/metadata.jsonl";
    try {
      auto lines = read_jsonl(meta);
      if (lines.empty()) throw UserError("empty metadata file", meta);
      f.metadata = Metadata::from_json(lines[0].value, spec, meta + ":" + std::to_string(lines[0].line));
    } catch (const UserError& e) {
      std::string msg = e.what();  // drop a leading "<path>: ", it is in .path already
      if (msg.rfind(meta + ": ", 0) == 0) msg = msg.substr(meta.size() + 2);
      problems.push_back({meta, msg});
      continue;
    }
    const std::string sdir = dir + "/samples";
    if (!dir_exists(sdir)) {
      problems.push_back({sdir, "samples folder missing"});
      continue;
    }
    for (const auto& img : list_dir(sdir)) {
      // GenEval reads files named by digits + ".png"; anything else is listed as a problem.
      const bool ok = img.size() > 4 && img.substr(img.size() - 4) == ".png" && all_digits(img.substr(0, img.size() - 4));
      if (ok)
        f.images.push_back(sdir + "/" + img);
      else
        problems.push_back({sdir + "/" + img, "not a sample (expected NNNN.png)"});
    }
    if (f.images.empty()) {
      problems.push_back({sdir, "no samples"});
      continue;
    }
    out.push_back(std::move(f));
  }
  if (out.empty() && problems.empty())
    throw UserError("no sample folders found", root, "expected numeric sub-folders such as 00000/");
  return out;
}

}  // namespace unigap
