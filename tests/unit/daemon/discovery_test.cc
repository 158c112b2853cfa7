// Discovery of limited cgroups over the captured fixture trees: the v1 build host (a limited
// child under an unlimited root) and the v2 lab guest (lab.slice with memory.max).
#include "daemon/discovery.h"

#include <gtest/gtest.h>

#include "sys/system_view.h"

namespace reaperd::daemon {
namespace {

const std::string kFx = REAPERD_FIXTURES;

TEST(Discovery, V1FindsTheLimitedChildNotTheUnlimitedRoot) {
  auto view = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
  ASSERT_TRUE(view.has_value());
  ASSERT_EQ(view->cgroup_version(), sys::CgroupVersion::kV1);
  auto d = DiscoverLimitedCgroups(*view, {});
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  ASSERT_EQ(d->cgroups.size(), 1u);
  EXPECT_EQ(d->cgroups[0].path, "/reaperd-capture");
  EXPECT_EQ(d->cgroups[0].limit_bytes, 134217728u);  // the captured memory.limit_in_bytes
  EXPECT_EQ(d->visited, 2u);
  EXPECT_EQ(d->dropped, 0u);
}

TEST(Discovery, V2FindsTheSliceWithMemoryMax) {
  auto view = sys::RealSystemView::Open(kFx + "/cgroup/v2-guest/proc", kFx + "/cgroup/v2-guest");
  ASSERT_TRUE(view.has_value());
  ASSERT_EQ(view->cgroup_version(), sys::CgroupVersion::kV2);
  auto d = DiscoverLimitedCgroups(*view, {});
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  ASSERT_EQ(d->cgroups.size(), 1u);
  EXPECT_EQ(d->cgroups[0].path, "/lab.slice");
  EXPECT_EQ(d->cgroups[0].limit_bytes, 67108864u);
}

TEST(Discovery, UnderTheLimitedCgroupItselfIncludesIt) {
  auto view = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
  ASSERT_TRUE(view.has_value());
  auto d = DiscoverLimitedCgroups(*view, {.under = "/reaperd-capture/", .max_scopes = 64});
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  ASSERT_EQ(d->cgroups.size(), 1u);
  EXPECT_EQ(d->cgroups[0].path, "/reaperd-capture");
  EXPECT_EQ(d->visited, 1u);
}

TEST(Discovery, MaxScopesDropsTheRestAndCountsThem) {
  auto view = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
  ASSERT_TRUE(view.has_value());
  auto d = DiscoverLimitedCgroups(*view, {.under = "/", .max_scopes = 0});
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  EXPECT_TRUE(d->cgroups.empty());
  EXPECT_EQ(d->dropped, 1u);
}

TEST(Discovery, MissingUnderIsAnError) {
  auto view = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
  ASSERT_TRUE(view.has_value());
  auto d = DiscoverLimitedCgroups(*view, {.under = "/no-such-cgroup", .max_scopes = 64});
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().sys_errno, ENOENT);
}

// The observer hears of every cgroup the walk looks at, the parent before its children, so a
// watch set up on a parent is in place before the children are listed.
TEST(Discovery, ObserverIsToldOfEachVisitedCgroupParentFirst) {
  auto view = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
  ASSERT_TRUE(view.has_value());
  struct Recorder final : WalkObserver {
    void Visiting(const std::string& cgroup) override { seen.push_back(cgroup); }
    std::vector<std::string> seen;
  } rec;
  auto d = DiscoverLimitedCgroups(*view, {}, &rec);
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  EXPECT_EQ(rec.seen, (std::vector<std::string>{"/", "/reaperd-capture"}));
  EXPECT_EQ(rec.seen.size(), d->visited);
}

}  // namespace
}  // namespace reaperd::daemon
