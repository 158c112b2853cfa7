// The sampler on a real v1 hierarchy: a cgroup scope with no limit of its own, inside a
// limited one, is judged by the parent's limit and the parent's headroom (the memcg OOM
// killer acts on the parent's usage, siblings' memory included).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/sampler.h"
#include "support/cgroup_sandbox.h"
#include "support/daemon.h"
#include "support/hog.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

TEST(SamplerLive, V1ChildWithoutALimitUsesTheParentsHeadroom) {
  std::string why;
  auto sb = CgroupSandbox::Create("nested", 96 * kMiB, &why);
  ASSERT_TRUE(sb) << why;
  const std::string child = sb->dir() + "/child";
  ASSERT_EQ(::mkdir(child.c_str(), 0755), 0);
  struct Rmdir {
    std::string dir;
    ~Rmdir() { ::rmdir(dir.c_str()); }
  } cleanup{child};

  // 48 MiB in the parent itself, nothing in the child.
  Hog hog = Hog::Spawn({.touch_mib = 48}, sb.get());
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

}  // namespace
}  // namespace reaperd::itest
