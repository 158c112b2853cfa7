// The kill drill (Engine::DrillKillPath): at start, the real daemon runs its kill path on a
// child of its own, through pidfd_send_signal and process_mrelease, and says so. The child is
// gone afterwards (killed and reaped, not left behind as a zombie or a sleeper).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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
  // Through the reaper's own steps before a kill's signal: the child's mm was held through
  // /proc/PID/mem, as Reaper::Submit holds a victim's.
  EXPECT_NE(drills[0].find(" mm=held "), std::string::npos) << drills[0];
  const auto pid = static_cast<pid_t>(Field(drills[0], "pid"));
  ASSERT_GT(pid, 0) << drills[0];
  EXPECT_EQ(::kill(pid, 0), -1) << "the drill's child is still there";
  EXPECT_EQ(errno, ESRCH);
  // Not a kill: nothing is counted or reported as one.
  EXPECT_TRUE(d.Lines("kill").empty()) << d.Log();
  d.Stop();
}

// The drill's child shares the daemon's process group and cgroup: a widening configured for
// real kills must not carry its signal past the child. A process beside the daemon, in the
// same group and cgroup (this test's own child), outlives the drill with either widening.
void DrillSparesItsNeighbours(const char* widen) {
  std::string why;
  auto sb = CgroupSandbox::Create(std::string("drill-") + widen, 64 * 1024 * 1024, &why);
  ASSERT_TRUE(sb) << why;
  const pid_t neighbour = ::fork();
  ASSERT_GE(neighbour, 0);
  if (neighbour == 0) {
    ::pause();
    ::_exit(0);
  }
  TempConfig cfg(std::string("[report]\nkill_report_path = \"\"\nmetrics_textfile_path = \"\"\n"
                             "status_socket = \"\"\n[watchdog]\nreport_path = \"\"\n"
                             "[kill]\nlast_resort = \"none\"\nwiden = \"") +
                 widen + "\"\n");
  ASSERT_TRUE(cfg.ok());
  Daemon d({sb->cgroup()}, 3000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  const auto drills = d.Lines("kill_drill");
  ASSERT_EQ(drills.size(), 1u) << d.Log();
  EXPECT_NE(drills[0].find("outcome=ok"), std::string::npos) << drills[0];
  EXPECT_EQ(::kill(neighbour, 0), 0) << "the drill signalled a process beside its child";
  d.Stop();
  ::kill(neighbour, SIGKILL);
  ::waitpid(neighbour, nullptr, 0);
}

TEST(KillDrillLive, AProcessGroupWideningStaysOnTheChild) {
  DrillSparesItsNeighbours("process_group");
}

TEST(KillDrillLive, ACgroupWideningStaysOnTheChild) { DrillSparesItsNeighbours("cgroup"); }

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
