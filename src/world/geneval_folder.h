// GenEval's folder layout for generated images:
//   <root>/<index:05d>/metadata.jsonl     one line: the prompt's metadata
//   <root>/<index:05d>/samples/<k:04d>.png
// plus unigap's optional <root>/<index>/scenes.jsonl (ground-truth objects of
// rendered scenes, one line per sample). Scanning collects bad folders and files
// instead of stopping, so a partly bad batch still yields every good image.
#pragma once

#include <string>
#include <vector>

#include "common/image.h"
#include "world/metadata.h"

namespace unigap {

struct SampleFolder {
  int index = 0;
  std::string dir;
  Metadata metadata;
  std::vector<std::string> images;  // sorted sample paths
};

struct ScanProblem {
  std::string path;
  std::string message;
};

std::string sample_folder_name(int index);  // "00042"
std::string sample_file_name(int k);        // "0003.png"

// Writes one prompt's folder (metadata + images) atomically file by file.
void write_sample_folder(const std::string& root, int index, const Metadata& m, const std::vector<Image>& images,
                         const std::vector<json>* scenes = nullptr);

// Scans root for numeric sub-folders. A missing root throws UserError; a folder
// with bad metadata, or no samples, is reported in `problems` and skipped. `spec` null:
// metadata in GenEval's open vocabulary (Metadata::from_json).
std::vector<SampleFolder> scan_sample_root(const std::string& root, const WorldSpec* spec,
                                           std::vector<ScanProblem>& problems);
inline std::vector<SampleFolder> scan_sample_root(const std::string& root, const WorldSpec& spec,
                                                  std::vector<ScanProblem>& problems) {
  return scan_sample_root(root, &spec, problems);
}

}  // namespace unigap
