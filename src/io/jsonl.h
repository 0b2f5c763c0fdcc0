// JSON Lines: one JSON value per line. Readers report the file and line of any
// malformed line; the tolerant reader collects bad lines so a partly bad batch
// still yields every good line.
#pragma once

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
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

// Converts a JSON value to T like json::get<T>(), but never with undefined behaviour
// (nlohmann converts 2e60 to int with a plain cast): an integer T takes only an
// integral number in its range, a floating T only a finite number in its range, bool
// only true/false. Anything else, or a value of the wrong type, gives std::nullopt.
template <class T>
std::optional<T> json_as(const json& v) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) return std::nullopt;
    return v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    constexpr int digits = std::numeric_limits<T>::digits;  // value bits: 31 for int, 64 for uint64_t
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if constexpr (digits < 64)
        if (u >= (uint64_t(1) << digits)) return std::nullopt;
      return T(u);
    }
    if (v.is_number_integer()) {
      const int64_t x = v.get<int64_t>();
      if (x < 0 && !std::is_signed_v<T>) return std::nullopt;
      if constexpr (digits < 63)
        if (x >= (int64_t(1) << digits) || x < -(int64_t(1) << digits)) return std::nullopt;
      return T(x);
    }
    if (v.is_number_float()) {
      const double d = v.get<double>();
      const double limit = std::ldexp(1.0, digits);
      if (!std::isfinite(d) || d != std::floor(d) || d >= limit || d < (std::is_signed_v<T> ? -limit : 0.0))
        return std::nullopt;
      return T(d);
    }
    return std::nullopt;
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) return std::nullopt;
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > double(std::numeric_limits<T>::max())) return std::nullopt;
    return T(d);
  } else {
    try {
      return v.get<T>();
    } catch (const json::exception&) {
      return std::nullopt;
    }
  }
}

// A number of a summary read for a table or a sum, or `fallback` (NaN: not measured) where the
// value is missing, null or not a number.
inline double number_or(const json& v, double fallback = std::numeric_limits<double>::quiet_NaN()) {
  return v.is_number() ? v.get<double>() : fallback;
}

// Reads optional field `key` of object `j` into `out` through json_as; a value of the wrong
// type or out of range throws UserError("<label>'<key>' has the wrong type or is out of
// range: <value>", origin). Absent: `out` keeps its default.
void throw_bad_field(const std::string& label, const char* key, const json& value, const std::string& origin);
void throw_missing_field(const char* key, const std::string& origin);
template <class T>
void read_field(const json& j, const char* key, T& out, const std::string& label, const std::string& origin) {
  if (!j.contains(key)) return;
  auto v = json_as<T>(j.at(key));
  if (!v) throw_bad_field(label, key, j.at(key), origin);
  out = std::move(*v);
}

// read_field for a field that must be there: absent throws UserError("missing field '<key>'", origin).
template <class T>
void read_required_field(const json& j, const char* key, T& out, const std::string& origin) {
  if (!j.contains(key)) throw_missing_field(key, origin);
  read_field(j, key, out, "field ", origin);
}

// Reads a JSON file; UserError with path and parser position on failure.
json read_json(const std::string& path);
void write_json(const std::string& path, const json& value);  // atomic, pretty (2 spaces)

}  // namespace unigap
