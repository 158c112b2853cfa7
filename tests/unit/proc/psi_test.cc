// Golden tests of ParsePsi on the captured system file and the v2-docs cgroup file.
#include "proc/psi.h"

#include <gtest/gtest.h>

#include "unit/proc/fixture.h"

namespace reaperd::proc {
namespace {

using testing::Fixture;

TEST(Psi, CapturedHost) {
  // Captured after a memcg OOM in the capture's child cgroup: totals are non-zero, the
  // 10 s averages had already decayed to 0.00.
  auto p = ParsePsi(Fixture("proc/host-v1/pressure/memory"));
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_TRUE(p->has_full);
  EXPECT_EQ(p->some.total_us, 1777u);
  EXPECT_EQ(p->full.total_us, 507u);
  EXPECT_DOUBLE_EQ(p->some.avg10, 0.0);
  EXPECT_DOUBLE_EQ(p->full.avg300, 0.0);
}

TEST(Psi, CgroupV2MemoryPressure) {
  // Format from the kernel docs, to be replaced by a capture (cgroup/v2-guest).
  auto p = ParsePsi(Fixture("cgroup/v2-docs/reaperd-capture/memory.pressure"));
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_EQ(p->some.total_us, 1777u);
  EXPECT_EQ(p->full.total_us, 507u);
}

TEST(Psi, AveragesAreRead) {
  // The captured averages are all 0.00, so the decimal path is checked on the documented
  // line format with non-zero averages.
  auto p = ParsePsi("some avg10=1.25 avg60=0.50 avg300=0.01 total=300\n");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->some.avg10, 1.25);
  EXPECT_DOUBLE_EQ(p->some.avg60, 0.50);
  EXPECT_DOUBLE_EQ(p->some.avg300, 0.01);
  EXPECT_FALSE(p->has_full);
}

TEST(Psi, SomeOnly) {
  auto p = ParsePsi(Fixture("proc/hostile/psi_some_only"));
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->has_full);
  EXPECT_EQ(p->some.total_us, 1777u);
}

TEST(Psi, Rejects) {
  EXPECT_EQ(ParsePsi(Fixture("proc/hostile/psi_truncated")).error().code, Errc::kParse);
  EXPECT_EQ(ParsePsi(Fixture("proc/hostile/psi_overflow")).error().code, Errc::kRange);
  EXPECT_EQ(ParsePsi(Fixture("proc/hostile/psi_avg_out_of_range")).error().code, Errc::kRange);
  EXPECT_EQ(ParsePsi(Fixture("proc/hostile/empty")).error().code, Errc::kParse);
  EXPECT_EQ(ParsePsi(Fixture("proc/hostile/garbage")).error().code, Errc::kParse);
  EXPECT_EQ(ParsePsi("full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n").error().code,
            Errc::kMissing);
}

}  // namespace
}  // namespace reaperd::proc
