// Tests for io/run_dir: files land in the run directory, and config/summary carry
// a provenance block (version, commit, UTC time, host).
#include "io/run_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <regex>

#include "common/error.h"
#include "io/atomic_file.h"
#include "core_test_util.h"

namespace unigap {
namespace {

TEST(IoRunDir, Provenance) {
  const json p = provenance();
  for (const char* key : {"version", "commit", "time_utc", "host"}) {
    ASSERT_TRUE(p.contains(key)) << key;
    EXPECT_TRUE(p[key].is_string()) << key;
    EXPECT_FALSE(p[key].get<std::string>().empty()) << key;
  }
  EXPECT_TRUE(std::regex_match(p["time_utc"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << p["time_utc"];
}

TEST(IoRunDir, ProvenanceCarriesTheMachineOnceSet) {
  EXPECT_FALSE(provenance().contains("machine"));
  set_provenance_machine({{"cpu", "test CPU"}, {"threads", 3}});
  const json p = provenance();
  set_provenance_machine(nullptr);  // the other tests see none
  ASSERT_TRUE(p.contains("machine"));
  EXPECT_EQ(p["machine"]["cpu"], "test CPU");
  EXPECT_EQ(p["machine"]["threads"], 3);
  EXPECT_EQ(machine_text(p), "test CPU; BLAS kernels not OpenBLAS's; 3 thread(s)");
  EXPECT_FALSE(provenance().contains("machine"));
  EXPECT_EQ(machine_text(provenance()), "not recorded");
}

TEST(IoRunDir, WritesFilesWithProvenance) {
  TempDir tmp;
  const RunDir run(tmp.file("runs/exp1/"));
  EXPECT_TRUE(dir_exists(tmp.file("runs/exp1")));
  EXPECT_EQ(run.file("config.json"), tmp.file("runs/exp1/config.json"));
  EXPECT_FALSE(run.has("config.json"));

  run.write_config({{"seed", 7}, {"lr", 0.1}});
  const json config = read_json(run.file("config.json"));
  EXPECT_EQ(config["seed"], 7);
  EXPECT_TRUE(config["provenance"].contains("commit"));
  EXPECT_TRUE(run.has("config.json"));

  run.append_metric({{"step", 1}});
  run.append_metric({{"step", 2}});
  const auto metrics = read_jsonl(run.file("metrics.jsonl"));
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics[1].value["step"], 2);

  // A non-object summary is wrapped rather than altered.
  run.write_summary(json::array({1, 2}));
  const json summary = read_json(run.file("summary.json"));
  EXPECT_EQ(summary["value"], json::array({1, 2}));
  EXPECT_TRUE(summary["provenance"].contains("host"));
}

TEST(IoRunDir, ReopeningKeepsExistingFiles) {
  TempDir tmp;
  {
    const RunDir run(tmp.file("r"));
    run.append_metric({{"step", 1}});
  }
  const RunDir again(tmp.file("r"));
  again.append_metric({{"step", 2}});
  EXPECT_EQ(read_jsonl(again.file("metrics.jsonl")).size(), 2u);
}

// A run killed before its config was written leaves a directory with at most empty
// folders and temp files: resuming it means starting again. A directory that was not
// there, or one that holds a real file, is not such a run.
TEST(IoRunDir, InterruptedBeforeStart) {
  TempDir tmp;
  EXPECT_FALSE(RunDir(tmp.file("new")).interrupted_before_start());  // did not exist before
  EXPECT_TRUE(RunDir(tmp.file("new")).interrupted_before_start());   // now there, empty

  std::filesystem::create_directories(tmp.file("new/checkpoints"));
  write_file_atomic(tmp.file("new/.config.json.tmp.00000000000000ab"), "{\"torn");
  const RunDir torn(tmp.file("new"));
  EXPECT_TRUE(torn.interrupted_before_start());
  EXPECT_EQ(torn.remove_stray_temps(), 1);

  write_file_atomic(tmp.file("new/checkpoints/notes.txt"), "kept");
  EXPECT_FALSE(RunDir(tmp.file("new")).interrupted_before_start());
}

// The one resume rule of every command (RunDir::start).
TEST(IoRunDir, StartFreshRefusesARerunAndResumesOnlyTheSameConfig) {
  TempDir tmp;
  const json config = {{"command", "improve"}, {"seed", 1}, {"improve", {{"lr", 1e-4}}}, {"ref_images", "a"}};
  RunDir run(tmp.file("r"));
  EXPECT_EQ(run.start(config, {}), RunStart::Fresh);
  EXPECT_TRUE(read_json(run.file("config.json")).contains("provenance"));
  // A second start without --resume: refused, nothing touched.
  const std::string before = read_file(run.file("config.json"));
  try {
    RunDir(tmp.file("r")).start(config, {});
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("already holds an improve run"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_file(run.file("config.json")), before);
  // --resume with the same config (provenance aside): resumed; its temp files go.
  write_file_atomic(tmp.file("r/.metrics.jsonl.tmp.00000000000000ab"), "torn");
  EXPECT_EQ(RunDir(tmp.file("r")).start(config, {true, {}, nullptr}), RunStart::Resumed);
  EXPECT_FALSE(file_exists(tmp.file("r/.metrics.jsonl.tmp.00000000000000ab")));
  // Another value: refused naming the key; a free key may differ.
  json other = config;
  other["improve"]["lr"] = 1e-3;
  try {
    RunDir(tmp.file("r")).start(other, {true, {}, nullptr});
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("'improve'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
  json moved = config;
  moved["ref_images"] = "b";
  EXPECT_EQ(RunDir(tmp.file("r")).start(moved, {true, {"ref_images"}, nullptr}), RunStart::Resumed);
  json fewer = config;
  fewer.erase("seed");
  EXPECT_THROW(RunDir(tmp.file("r")).start(fewer, {true, {}, nullptr}), UserError);
  // --resume where nothing ran: refused; where a run died before its config: started afresh.
  EXPECT_THROW(RunDir(tmp.file("none")).start(config, {true, {}, nullptr}), UserError);
  std::filesystem::create_directories(tmp.file("died"));
  write_file_atomic(tmp.file("died/.config.json.tmp.00000000000000cd"), "{\"torn");
  EXPECT_EQ(RunDir(tmp.file("died")).start(config, {true, {}, nullptr}), RunStart::Fresh);
  EXPECT_TRUE(file_exists(tmp.file("died/config.json")));
  // The data-parallel hook decides for every rank (rank 0's answer).
  EXPECT_EQ(RunDir(tmp.file("r2")).start(config, {false, {}, [](bool) { return false; }}), RunStart::Fresh);
  EXPECT_EQ(RunDir(tmp.file("r2")).start(config, {false, {}, [](bool) { return false; }}), RunStart::Fresh);
}

}  // namespace
}  // namespace unigap
