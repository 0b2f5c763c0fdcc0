// JSON Lines: one JSON value per line. Readers report the file and line of any
// malformed line; the tolerant reader collects bad lines so a partly bad batch
// still yields every good line.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace unigap {

using json = nlohmann::json;

struct JsonlLine {
  size_t line = 0;  // 1-based line number in the file
  json value;
};
struct JsonlError {
  size_t line = 0;
  std::string message;
};

// Throws UserError "<path>:<line>: ..." at the first malformed line. Blank lines are skipped.
std::vector<JsonlLine> read_jsonl(const std::string& path);
// Never throws for malformed lines (only for an unreadable file); they go to `errors`.
std::vector<JsonlLine> read_jsonl_tolerant(const std::string& path, std::vector<JsonlError>& errors);
std::vector<JsonlLine> parse_jsonl(const std::string& text, const std::string& origin, std::vector<JsonlError>* errors);

// Whole file, atomically.
void write_jsonl(const std::string& path, const std::vector<json>& values);
// Appends one line and flushes+fsyncs (metrics.jsonl); creates the file if needed.
void append_jsonl(const std::string& path, const json& value);

// Reads a JSON file; UserError with path and parser position on failure.
json read_json(const std::string& path);
void write_json(const std::string& path, const json& value);  // atomic, pretty (2 spaces)

}  // namespace unigap
