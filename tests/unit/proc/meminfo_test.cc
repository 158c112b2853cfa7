// Golden tests of ParseMemInfo; expected values read by hand from the captured files.
#include "proc/meminfo.h"

#include <gtest/gtest.h>

#include <limits>

#include "unit/proc/fixture.h"

namespace reaperd::proc {
namespace {

using testing::Fixture;

TEST(MemInfo, CapturedHost) {
  auto m = ParseMemInfo(Fixture("proc/host-v1/meminfo"));
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->mem_total, 24731700ull * 1024);
  EXPECT_EQ(m->mem_free, 20749800ull * 1024);
  EXPECT_EQ(m->mem_available, 22975208ull * 1024);
  EXPECT_TRUE(m->has_mem_available);
  EXPECT_EQ(m->buffers, 58788ull * 1024);
  EXPECT_EQ(m->cached, 2809704ull * 1024);
  EXPECT_EQ(m->swap_total, 0u);  // this host has no swap
  EXPECT_EQ(m->swap_free, 0u);
  EXPECT_EQ(m->shmem, 479940ull * 1024);
  EXPECT_EQ(m->sreclaimable, 112020ull * 1024);
  EXPECT_EQ(m->active_file, 512116ull * 1024);
  EXPECT_EQ(m->inactive_file, 1876320ull * 1024);
}

TEST(MemInfo, WithoutMemAvailableItIsEstimated) {
  auto m = ParseMemInfo(Fixture("proc/hostile/meminfo_no_memavailable"));
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_FALSE(m->has_mem_available);
  // MemFree + Active(file) + Inactive(file) + SReclaimable of the capture.
  EXPECT_EQ(m->mem_available, (20749800ull + 512116 + 1876320 + 112020) * 1024);
}

TEST(MemInfo, HugeSaturatesAndOverflowIsRange) {
  auto huge = ParseMemInfo(Fixture("proc/hostile/meminfo_huge"));
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->mem_total, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(ParseMemInfo(Fixture("proc/hostile/meminfo_overflow")).error().code, Errc::kRange);
}

TEST(MemInfo, Rejects) {
  EXPECT_EQ(ParseMemInfo(Fixture("proc/hostile/meminfo_no_memtotal")).error().code, Errc::kMissing);
  EXPECT_EQ(ParseMemInfo(Fixture("proc/hostile/meminfo_truncated_mid_line")).error().code,
            Errc::kParse);
  EXPECT_EQ(ParseMemInfo(Fixture("proc/hostile/meminfo_truncated_mid_number")).error().code,
            Errc::kParse);
  EXPECT_EQ(ParseMemInfo(Fixture("proc/hostile/empty")).error().code, Errc::kParse);
  EXPECT_EQ(ParseMemInfo(Fixture("proc/hostile/garbage")).error().code, Errc::kParse);
  // Another /proc file handed over by mistake.
  EXPECT_FALSE(ParseMemInfo(Fixture("proc/host-v1/pressure/memory")));
}

}  // namespace
}  // namespace reaperd::proc
