// Issue 15: systemd's ManagedOOMPreference=avoid, as systemd writes it (the user.oomd_avoid
// extended attribute on the unit's cgroup), read from real cgroupfs by the real daemon: a
// larger process in an avoided cgroup is passed over for a smaller one that grows.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/hog.h"
#include "integration/support/live_util.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

TEST(OomdPrefsLive, AnAvoidedCgroupsBiggerProcessIsPassedOverForAGrowingOne) {
  auto sb = live::Sandbox("avoid", 256 * kMiB);
  ASSERT_TRUE(sb);
  const std::string app = sb->dir() + "/app.service", tab = sb->dir() + "/tab.scope";
  ASSERT_EQ(::mkdir(app.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(tab.c_str(), 0755), 0);
  if (::setxattr(app.c_str(), "user.oomd_avoid", "1", 1, 0) != 0) {
    GTEST_SKIP() << "this cgroupfs takes no user.* extended attributes";
  }
  Hog big = Hog::SpawnIn({.touch_mib = 140}, app);
  ASSERT_GT(big.pid(), 0);
  Daemon d({sb->cgroup()}, 30000);
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Hog grower = Hog::SpawnIn({.grow_mib_per_s = 40, .grow_max_mib = 300}, tab);
  ASSERT_GT(grower.pid(), 0);
  EXPECT_TRUE(grower.WaitDead(grower.pid(), 20000)) << d.Log();
  d.Stop();
  auto kills = d.Lines("kill");
  ASSERT_GE(kills.size(), 1u) << d.Log();
  // At the kill the grower holds about 100 MiB, the avoided process 140 MiB (both charged
  // inside the scope): without the preference the bigger one would be the victim.
  EXPECT_EQ(Field(kills[0], "pid"), static_cast<std::uint64_t>(grower.pid())) << kills[0];
  EXPECT_FALSE(big.Dead(big.pid())) << "the avoided cgroup's process was killed";
  EXPECT_EQ(sb->OomKills(), 0u);
  big.Kill();
  grower.Kill();
  ::rmdir(app.c_str());
  ::rmdir(tab.c_str());
}

// ManagedOOMPreference=omit (user.oomd_omit): the cgroup's processes are never chosen, even
// the largest, even when the only other candidate is small; the growing one dies.
TEST(OomdPrefsLive, AnOmittedCgroupsProcessIsNeverTheVictim) {
  auto sb = live::Sandbox("omit", 256 * kMiB);
  ASSERT_TRUE(sb);
  const std::string db = sb->dir() + "/db.service", tab = sb->dir() + "/tab.scope";
  ASSERT_EQ(::mkdir(db.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(tab.c_str(), 0755), 0);
  if (::setxattr(db.c_str(), "user.oomd_omit", "1", 1, 0) != 0) {
    GTEST_SKIP() << "this cgroupfs takes no user.* extended attributes";
  }
  Hog big = Hog::SpawnIn({.touch_mib = 160}, db);
  ASSERT_GT(big.pid(), 0);
  Daemon d({sb->cgroup()}, 30000);
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Hog grower = Hog::SpawnIn({.grow_mib_per_s = 40, .grow_max_mib = 300}, tab);
  ASSERT_GT(grower.pid(), 0);
  EXPECT_TRUE(grower.WaitDead(grower.pid(), 20000)) << d.Log();
  d.Stop();
  auto kills = d.Lines("kill");
  ASSERT_GE(kills.size(), 1u) << d.Log();
  for (const auto& k : kills) {
    EXPECT_NE(Field(k, "pid"), static_cast<std::uint64_t>(big.pid())) << k;
  }
  EXPECT_EQ(Field(kills[0], "pid"), static_cast<std::uint64_t>(grower.pid())) << kills[0];
  EXPECT_FALSE(big.Dead(big.pid())) << "the omitted cgroup's process was killed";
  EXPECT_EQ(sb->OomKills(), 0u);
  big.Kill();
  grower.Kill();
  ::rmdir(db.c_str());
  ::rmdir(tab.c_str());
}

}  // namespace
}  // namespace reaperd::itest
