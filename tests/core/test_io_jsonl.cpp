// Tests for io/jsonl: strict and tolerant readers (file:line in every error),
// blank lines and CRLF, atomic whole-file writes, and append_jsonl including
// recovery from a torn last line.
#include "io/jsonl.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "common/error.h"
#include "io/atomic_file.h"
#include "core_test_util.h"

namespace unigap {
namespace {

TEST(IoJsonl, ReadsGoodFile) {
  TempDir dir;
  write_file_atomic(dir.file("a.jsonl"), "{\"step\":1}\n[1,2]\n\"s\"\n3.5\n");
  const auto lines = read_jsonl(dir.file("a.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].line, 1u);
  EXPECT_EQ(lines[0].value["step"], 1);
  EXPECT_EQ(lines[1].value, json({1, 2}));
  EXPECT_EQ(lines[2].value, "s");
  EXPECT_EQ(lines[3].line, 4u);
  EXPECT_EQ(lines[3].value, 3.5);
}

TEST(IoJsonl, LastLineWithoutNewline) {
  const auto lines = parse_jsonl("{\"a\":1}\n{\"b\":2}", "mem", nullptr);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].line, 2u);
  EXPECT_EQ(lines[1].value["b"], 2);
}

TEST(IoJsonl, MalformedLineReportsPathAndLine) {
  TempDir dir;
  const std::string path = dir.file("bad.jsonl");
  write_file_atomic(path, "{\"a\":1}\n\n{\"a\":\n{\"a\":3}\n");
  try {
    read_jsonl(path);
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ":3: malformed JSON: ", 0), 0u) << msg;
    EXPECT_EQ(msg.find("[json.exception"), std::string::npos) << "internal exception id leaked: " << msg;
    EXPECT_EQ(e.where(), path + ":3");
  }
}

TEST(IoJsonl, TrailingGarbageIsMalformed) {
  EXPECT_THROW(parse_jsonl("{\"a\":1} x\n", "mem", nullptr), UserError);
  EXPECT_THROW(parse_jsonl("{\"a\":1}{\"b\":2}\n", "mem", nullptr), UserError);
}

TEST(IoJsonl, TolerantReaderKeepsGoodLines) {
  TempDir dir;
  const std::string path = dir.file("mixed.jsonl");
  write_file_atomic(path, "{\"a\":1}\nnot json\n{\"a\":2}\n{\"a\":\n{\"a\":3}\n");
  std::vector<JsonlError> errors;
  const auto lines = read_jsonl_tolerant(path, errors);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].value["a"], 1);
  EXPECT_EQ(lines[1].value["a"], 2);
  EXPECT_EQ(lines[1].line, 3u);
  EXPECT_EQ(lines[2].value["a"], 3);
  EXPECT_EQ(lines[2].line, 5u);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].line, 2u);
  EXPECT_EQ(errors[1].line, 4u);
  EXPECT_CONTAINS(errors[0].message, "malformed JSON");
}

TEST(IoJsonl, TolerantReaderStillThrowsForMissingFile) {
  std::vector<JsonlError> errors;
  EXPECT_THROW(read_jsonl_tolerant("/nonexistent/unigap/x.jsonl", errors), UserError);
}

TEST(IoJsonl, BlankLinesAndCrlf) {
  const auto lines = parse_jsonl("{\"a\":1}\r\n\r\n  \t\n{\"b\":\"x\"}\r\n\n", "mem", nullptr);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].line, 1u);
  EXPECT_EQ(lines[1].line, 4u);
  EXPECT_EQ(lines[1].value["b"], "x");
  EXPECT_TRUE(parse_jsonl("", "mem", nullptr).empty());
  EXPECT_TRUE(parse_jsonl("\n\n", "mem", nullptr).empty());
}

TEST(IoJsonl, WriteThenRead) {
  TempDir dir;
  const std::vector<json> values = {json{{"k", "v"}}, json::array({1, 2}), json(nullptr)};
  write_jsonl(dir.file("w.jsonl"), values);
  EXPECT_EQ(read_file(dir.file("w.jsonl")), "{\"k\":\"v\"}\n[1,2]\nnull\n");
  const auto lines = read_jsonl(dir.file("w.jsonl"));
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(lines[i].value, values[i]);
}

TEST(IoJsonl, AppendCreatesAndAppends) {
  TempDir dir;
  const std::string path = dir.file("metrics.jsonl");
  append_jsonl(path, {{"step", 1}});
  append_jsonl(path, {{"step", 2}, {"loss", 0.5}});
  EXPECT_EQ(read_file(path), "{\"step\":1}\n{\"loss\":0.5,\"step\":2}\n");
  const auto lines = read_jsonl(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].value["step"], 2);
}

TEST(IoJsonl, AppendAfterTornLineStartsFreshLine) {
  // Simulates a crash mid-append: the torn record must not swallow the next one.
  TempDir dir;
  const std::string path = dir.file("metrics.jsonl");
  write_file_atomic(path, "{\"step\":1}\n{\"step\":2,\"lo");
  append_jsonl(path, {{"step", 3}});
  std::vector<JsonlError> errors;
  const auto lines = read_jsonl_tolerant(path, errors);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].value["step"], 3);
  EXPECT_EQ(lines[1].line, 3u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 2u);
}

TEST(IoJsonl, AppendToMissingDirectoryFails) {
  try {
    append_jsonl("/nonexistent/unigap/m.jsonl", {{"a", 1}});
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_CONTAINS(e.what(), "/nonexistent/unigap/m.jsonl");
  }
}

TEST(IoJson, ReadWriteAndErrors) {
  TempDir dir;
  const json v = {{"name", "unigap"}, {"n", 3}, {"list", {1, 2}}};
  write_json(dir.file("c.json"), v);
  EXPECT_EQ(read_json(dir.file("c.json")), v);
  EXPECT_NE(read_file(dir.file("c.json")).find("\n  \"list\""), std::string::npos) << "expected 2-space indent";

  write_file_atomic(dir.file("bad.json"), "{\"a\": [1, 2,]}");
  try {
    read_json(dir.file("bad.json"));
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_CONTAINS(e.what(), dir.file("bad.json"));
    EXPECT_CONTAINS(e.what(), "malformed JSON");
    EXPECT_CONTAINS(e.what(), "column");
  }
  // Invalid UTF-8 cannot be serialised; it must surface as a UserError, not a json exception.
  EXPECT_THROW(write_json(dir.file("u.json"), json("\xff\xfe")), UserError);
  EXPECT_FALSE(file_exists(dir.file("u.json")));
}

}  // namespace
}  // namespace unigap
