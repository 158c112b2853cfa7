// Issue 14: systemd-oomd can be running beside reaperd (socket activation brings it back
// after the unit's Conflicts= stopped it, as the systemd-booted lab showed): the daemon says
// so at start, with the command that prevents it. Here a process named systemd-oomd stands
// in for it (the name is all the check reads).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/live_util.h"

namespace reaperd::itest {
namespace {

TEST(CoexistLive, ARunningSystemdOomdIsReportedAtStart) {
  auto sb = live::Sandbox("coexist", 64 << 20);
  ASSERT_TRUE(sb);
  const pid_t parent = ::getpid();
  const pid_t oomd = ::fork();
  ASSERT_GE(oomd, 0);
  if (oomd == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(0);
    ::prctl(PR_SET_NAME, "systemd-oomd");
    for (;;) ::pause();
  }
  ::usleep(50 * 1000);  // the name is set
  Daemon d({sb->cgroup()}, 1500);
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  d.Stop();
  ::kill(oomd, SIGKILL);
  ::waitpid(oomd, nullptr, 0);
  bool found = false;
  for (const auto& l : d.Lines("coexist")) {
    if (l.find("other=\"systemd-oomd\" pid=" + std::to_string(oomd) + " ") != std::string::npos &&
        l.find("systemctl mask --now systemd-oomd.service systemd-oomd.socket") !=
            std::string::npos) {
      found = true;
    }
  }
  EXPECT_TRUE(found) << d.Log();
}

}  // namespace
}  // namespace reaperd::itest
