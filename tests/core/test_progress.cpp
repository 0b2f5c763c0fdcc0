// The progress line's rate: items per second, or seconds per item for a loop slower than one a
// second (a GRPO step), which would otherwise read "0.0 step/s".
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/progress.h"

using namespace unigap;

TEST(Progress, ASlowLoopShowsSecondsPerStepAndAFastOneItemsPerSecond) {
  Progress::set_enabled(true);
  testing::internal::CaptureStderr();
  {
    Progress slow("grpo", 4, "step");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // at most 0.9 step/s, whatever the load
    slow.update(1);
    slow.finish();
    Progress fast("generate", 1000, "img");
    fast.update(1000);
    fast.finish();
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find(" s/step elapsed"), std::string::npos) << err;
  EXPECT_EQ(err.find("0.0 step/s"), std::string::npos) << err;
  EXPECT_NE(err.find(" img/s elapsed"), std::string::npos) << err;
}
