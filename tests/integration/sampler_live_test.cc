// The sampler on a real v1 hierarchy: a cgroup scope with no limit of its own, inside a
// limited one, is judged by the parent's limit and the parent's headroom (the memcg OOM
// killer acts on the parent's usage, siblings' memory included).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "daemon/sampler.h"
#include "support/cgroup_sandbox.h"
#include "support/daemon.h"
#include "support/hog.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

// A 96 MiB sandbox with an unlimited child cgroup, removed (child first) with it.
struct Nested {
  std::unique_ptr<CgroupSandbox> sb;
  std::string child;
  ~Nested() {
    if (!child.empty()) ::rmdir(child.c_str());
  }
};

void MakeNested(const char* name, Nested& n) {
  std::string why;
  n.sb = CgroupSandbox::Create(name, 96 * kMiB, &why);
  ASSERT_TRUE(n.sb) << why;
  const std::string child = n.sb->dir() + "/child";
  ASSERT_EQ(::mkdir(child.c_str(), 0755), 0);
  n.child = child;
}

TEST(SamplerLive, V1ChildWithoutALimitUsesTheParentsHeadroom) {
  Nested n;
  ASSERT_NO_FATAL_FAILURE(MakeNested("nested", n));
  CgroupSandbox* sb = n.sb.get();

  // 48 MiB in the parent itself, nothing in the child.
  Hog hog = Hog::Spawn({.touch_mib = 48}, sb);
  ASSERT_GT(hog.pid(), 0);
  ASSERT_TRUE(WaitFor([&] { return sb->Usage() >= 48 * kMiB; }, 10000)) << sb->Usage();

  auto view = sys::RealSystemView::Open();
  ASSERT_TRUE(view.has_value());
  if (view->cgroup_version() != sys::CgroupVersion::kV1) GTEST_SKIP() << "needs cgroup v1";
  sys::MonotonicClock clock;
  policy::Scope scope;
  ASSERT_TRUE(policy::ParseScope("cgroup:" + sb->cgroup() + "/child", &scope));
  daemon::Sampler sampler(*view, clock, scope);
  auto s = sampler.Sample();
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(s->total_bytes, 96 * kMiB);
  // At most the parent's 96 - 48 MiB (plus its little page cache), not the child's 96 - 0.
  EXPECT_LE(s->available_bytes, 96 * kMiB - sb->Usage() + 4 * kMiB) << s->available_bytes;
}

// The sampler holds a cgroup scope's files open (issue 13), so the figures must still follow
// the cgroup as it fills, and a removed cgroup must still be an error (kernfs fails a read of a
// held file of a removed cgroup; the read by path then names the cgroup gone): the engine drops
// the scope on it. And a cgroup made again under the same name is sampled afresh.
TEST(SamplerLive, HeldCgroupFilesFollowUsageAndTheCgroupsRemoval) {
  Nested n;
  ASSERT_NO_FATAL_FAILURE(MakeNested("held", n));
  CgroupSandbox* sb = n.sb.get();
  const std::string& child = n.child;
  auto view = sys::RealSystemView::Open();
  ASSERT_TRUE(view.has_value());
  if (view->cgroup_version() != sys::CgroupVersion::kV1) GTEST_SKIP() << "needs cgroup v1";
  sys::MonotonicClock clock;
  policy::Scope scope;
  ASSERT_TRUE(policy::ParseScope("cgroup:" + sb->cgroup() + "/child", &scope));
  daemon::Sampler sampler(*view, clock, scope);
  auto before = sampler.Sample();
  ASSERT_TRUE(before.has_value()) << before.error().ToString();
  EXPECT_EQ(before->total_bytes, 96 * kMiB);
  const std::uint64_t held_before = daemon::CgroupFileBudget().used();
  EXPECT_GE(held_before, 4u) << "the scope's files are held";

  {
    Hog hog = Hog::Spawn({.touch_mib = 48}, sb);
    ASSERT_GT(hog.pid(), 0);
    ASSERT_TRUE(WaitFor([&] { return sb->Usage() >= 48 * kMiB; }, 10000)) << sb->Usage();
    auto during = sampler.Sample();
    ASSERT_TRUE(during.has_value()) << during.error().ToString();
    EXPECT_LE(during->available_bytes, before->available_bytes - 40 * kMiB)
        << "the held files give the usage of now";
  }
  ASSERT_TRUE(WaitFor([&] { return sb->Usage() < 8 * kMiB; }, 10000)) << sb->Usage();

  ASSERT_EQ(::rmdir(child.c_str()), 0);
  auto gone = sampler.Sample();
  EXPECT_FALSE(gone.has_value()) << "a removed cgroup read through held files";
  ASSERT_EQ(::mkdir(child.c_str(), 0755), 0);
  auto again = sampler.Sample();
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(again->total_bytes, 96 * kMiB);
}

}  // namespace
}  // namespace reaperd::itest
