// Issue 15, the kill-size ladder, with real processes and the real daemon: in one
// memory-limited cgroup, a "build" (a parent in a process group of its own whose jobs all
// grow, none large alone) and a static bystander in another process group. The first kill
// takes one job (step=process); pressure stays as the other jobs grow, the same application
// is on top, so the next kill takes the build's process group (step=process_group); the
// bystander lives, and the kernel's memcg OOM killer never acts. A few seconds.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "integration/support/build_group.h"
#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/hog.h"
#include "integration/support/live_util.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;
constexpr int kJobs = 8;
constexpr std::uint64_t kJobGrowMib = 30;  // 8 x 30 MiB: more than the limit
constexpr long kJobNsPerMib = 40 * 1000 * 1000;

TEST(LadderLive, PressureThatStaysAfterAJobDiesTakesItsProcessGroupNotTheBystander) {
  auto sb = live::Sandbox("ladder", 256 * kMiB);
  ASSERT_TRUE(sb);
  // Kill well before the limit, on headroom alone, without a reclaim chain holding the kill.
  TempConfig cfg(
      "[detector]\nwarn_available_percent = 75\nreclaim_available_percent = 30\n"
      "kill_available_percent = 25\nkill_time_to_exhaustion_ms = 0\n"
      "[reclaim]\nenabled = false\n");
  ASSERT_TRUE(cfg.ok());
  Hog bystander = Hog::Spawn({.touch_mib = 20}, sb.get());  // the test's process group
  BuildGroup build = BuildGroup::Start(*sb, {.jobs = kJobs,
                                             .start_mib = 2,
                                             .grow_mib = kJobGrowMib,
                                             .ns_per_mib = kJobNsPerMib,
                                             .own_group = true});
  ASSERT_GT(bystander.pid(), 0);
  ASSERT_GT(build.parent(), 0);
  ASSERT_TRUE(WaitFor([&] { return sb->Procs().size() >= 2 + kJobs; }, 3000));
  Daemon d({sb->cgroup()}, 20000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  build.ReleaseGrowth();
  const bool stepped = WaitFor(
      [&] {
        for (const auto& l : d.Lines("kill")) {
          if (TextField(l, "step") == "process_group") return true;
        }
        return false;
      },
      10000);
  const bool parent_dead =
      WaitFor([&] { return ::waitpid(build.parent(), nullptr, WNOHANG) == build.parent(); }, 3000);
  d.Stop();
  const auto kills = d.Lines("kill");
  ASSERT_TRUE(stepped) << d.Log();
  ASSERT_GE(kills.size(), 2u) << d.Log();
  EXPECT_EQ(TextField(kills[0], "step"), "process") << kills[0];
  EXPECT_NE(static_cast<pid_t>(Field(kills[0], "pid")), bystander.pid()) << kills[0];
  for (const auto& k : kills) {
    EXPECT_NE(static_cast<pid_t>(Field(k, "pid")), bystander.pid()) << k;
  }
  EXPECT_TRUE(parent_dead) << "the build's parent, in the process group, lives on\n" << d.Log();
  if (parent_dead) build.Forget();
  EXPECT_FALSE(bystander.Dead(bystander.pid())) << "the bystander was killed\n" << d.Log();
  EXPECT_EQ(sb->OomKills(), 0u) << "the kernel's memcg OOM killer acted\n" << d.Log();
  bystander.Kill();
  sb->KillAll();
}

}  // namespace
}  // namespace reaperd::itest
