#include "proc/loadavg.h"

#include <gtest/gtest.h>

namespace reaperd::proc {
namespace {

TEST(Loadavg, LastFieldIsTheLastPidAllocated) {
  auto v = ParseLoadavgLastPid("0.18 1.06 1.52 1/77 7237\n");
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(*v, 7237);
}

TEST(Loadavg, MalformedTextIsAnErrorNotAPid) {
  EXPECT_FALSE(ParseLoadavgLastPid(""));
  EXPECT_FALSE(ParseLoadavgLastPid("0.18 1.06 1.52 1/77\n"));
  EXPECT_FALSE(ParseLoadavgLastPid("0.18 1.06 1.52 1/77 x\n"));
  EXPECT_FALSE(ParseLoadavgLastPid("0.18 1.06 1.52 1/77 99999999999\n"));
  EXPECT_FALSE(ParseLoadavgLastPid("0.18 1.06 1.52 1/77 7237 9\n"));
}

TEST(Loadavg, CensusIsTheTaskCountAndTheLastPid) {
  auto v = ParseLoadavgCensus("0.18 1.06 1.52 1/77 7237\n");
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->tasks, 77u);
  EXPECT_EQ(v->last_pid, 7237);
  EXPECT_FALSE(ParseLoadavgCensus("0.18 1.06 1.52 177 7237\n"));
  EXPECT_FALSE(ParseLoadavgCensus("0.18 1.06 1.52 1/ 7237\n"));
  EXPECT_FALSE(ParseLoadavgCensus("0.18 1.06 1.52 1/7x 7237\n"));
  EXPECT_FALSE(ParseLoadavgCensus("0.18 1.06 1.52 1/77\n"));
}

}  // namespace
}  // namespace reaperd::proc
