// The kill drill (Engine::DrillKillPath): at start, the real daemon runs its kill path on a
// child of its own, through pidfd_send_signal and process_mrelease, and says so. The child is
// gone afterwards (killed and reaped, not left behind as a zombie or a sleeper).
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <string>

#include "support/cgroup_sandbox.h"
#include "support/daemon.h"

namespace reaperd::itest {
namespace {

TEST(KillDrillLive, TheDaemonKillsAndReapsAChildOfItsOwnAtStart) {
  std::string why;
  auto sb = CgroupSandbox::Create("drill", 64 * 1024 * 1024, &why);
  ASSERT_TRUE(sb) << why;
  Daemon d({sb->cgroup()}, 5000);
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  const auto drills = d.Lines("kill_drill");
  ASSERT_EQ(drills.size(), 1u) << d.Log();
  EXPECT_NE(drills[0].find("outcome=ok"), std::string::npos) << drills[0];
  EXPECT_NE(drills[0].find("mrelease="), std::string::npos) << drills[0];
  const auto pid = static_cast<pid_t>(Field(drills[0], "pid"));
  ASSERT_GT(pid, 0) << drills[0];
  EXPECT_EQ(::kill(pid, 0), -1) << "the drill's child is still there";
  EXPECT_EQ(errno, ESRCH);
  // Not a kill: nothing is counted or reported as one.
  EXPECT_TRUE(d.Lines("kill").empty()) << d.Log();
  d.Stop();
}

TEST(KillDrillLive, ADryRunDrillsNothing) {
  std::string why;
  auto sb = CgroupSandbox::Create("drill-dry", 64 * 1024 * 1024, &why);
  ASSERT_TRUE(sb) << why;
  Daemon d({sb->cgroup()}, 3000, {"--dry-run"});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  EXPECT_TRUE(d.Lines("kill_drill").empty()) << d.Log();
  d.Stop();
}

}  // namespace
}  // namespace reaperd::itest
