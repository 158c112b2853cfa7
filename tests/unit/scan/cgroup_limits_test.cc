// The limit walk shared by the ranking (OOM domain size) and the sampler (headroom), over
// fixture trees with a limit on the parent only (see tests/fixtures/cgroup/*-nested/README).
#include "scan/cgroup_limits.h"

#include <gtest/gtest.h>

#include <array>

namespace reaperd::scan {
namespace {

const std::string kFx = REAPERD_FIXTURES;
constexpr std::uint64_t kMiB = 1024 * 1024;

TEST(CgroupLimits, V2ParentLimitBindsTheChild) {
  auto view = sys::RealSystemView::Open(kFx + "/cgroup/v2-guest/proc", kFx + "/cgroup/v2-nested");
  ASSERT_TRUE(view.has_value());
  std::array<char, 8192> scratch;
  auto l = ReadCgroupLimits(*view, "/parent.slice/child",
                            {.swap = true, .headroom = true, .swap_total = 16 * kMiB}, scratch);
  ASSERT_TRUE(l.has_value()) << l.error().ToString();
  EXPECT_EQ(l->max, 64 * kMiB);
  EXPECT_EQ(l->ceiling, 64 * kMiB);
  EXPECT_EQ(l->max_with_swap, 64 * kMiB + 16 * kMiB);  // swap.max "max", capped at swap_total
  EXPECT_EQ(l->available, 6 * kMiB);                   // the parent's 4 MiB free + 2 MiB cache
}

TEST(CgroupLimits, V2MemoryHighIsTheCeilingNotTheMax) {
  auto view = sys::RealSystemView::Open(kFx + "/cgroup/v2-guest/proc", kFx + "/cgroup/v2-nested");
  ASSERT_TRUE(view.has_value());
  std::array<char, 8192> scratch;
  auto l = ReadCgroupLimits(*view, "/parent.slice/throttled", {.headroom = true}, scratch);
  ASSERT_TRUE(l.has_value()) << l.error().ToString();
  EXPECT_EQ(l->max, 64 * kMiB);
  EXPECT_EQ(l->ceiling, 32 * kMiB);
  EXPECT_EQ(l->max_with_swap, proc::kUnlimited);  // not asked for
  EXPECT_EQ(l->available, 2 * kMiB);
  EXPECT_EQ(l->own_ceiling, 32 * kMiB);  // its own memory.high
  EXPECT_EQ(l->own_usage, 30 * kMiB);    // its own memory.current
}

TEST(CgroupLimits, V1WalksLimitInBytes) {
  auto view = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/v1-nested");
  ASSERT_TRUE(view.has_value());
  std::array<char, 8192> scratch;
  auto l = ReadCgroupLimits(*view, "/parent/child", {.swap = true, .headroom = true}, scratch);
  ASSERT_TRUE(l.has_value()) << l.error().ToString();
  EXPECT_EQ(l->max, 64 * kMiB);
  EXPECT_EQ(l->ceiling, 64 * kMiB);
  EXPECT_EQ(l->max_with_swap, 64 * kMiB);
  EXPECT_EQ(l->available, 6 * kMiB);
  // The child has no ceiling of its own: a usage alarm on it would not see its parent fill.
  EXPECT_EQ(l->own_ceiling, proc::kUnlimited);
  EXPECT_EQ(l->own_usage, 0u);  // read only where the cgroup has a ceiling
}

TEST(CgroupLimits, MissingCgroupIsAnErrorTheRootHasNoLimit) {
  auto view = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/v1-nested");
  ASSERT_TRUE(view.has_value());
  std::array<char, 8192> scratch;
  auto gone = ReadCgroupLimits(*view, "/parent/gone", {.headroom = true}, scratch);
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().sys_errno, ENOENT);
  auto root = ReadCgroupLimits(*view, "/", {.headroom = true}, scratch);
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->max, proc::kUnlimited);
  EXPECT_EQ(root->available, proc::kUnlimited);
}

}  // namespace
}  // namespace reaperd::scan
