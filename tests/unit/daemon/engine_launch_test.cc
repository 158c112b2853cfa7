// Engine::Launch and Engine::Start: the daemon drops the executable's start-up code between
// them (sys::TrimColdCode), so what only the start-up needs must be made by Launch: the kill
// drill's child (fork) and the stall watchdog's and the reaper's threads (pthread_create and
// thread start-up). Made after the trim, their code was faulted back in and kept locked: about
// 130 kB of the daemon's resident size (bench/kill_footprint.sh, issue 13). Start then warms
// the kill path and runs the drill on the child Launch made.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "unit/daemon/engine_test_base.h"

namespace reaperd::daemon {
namespace {

int Tasks() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (const dirent* e = ::readdir(d)) n += e->d_name[0] != '.' ? 1 : 0;
    ::closedir(d);
  }
  return n;
}

// This thread's children (the drill's child is forked by the thread that launches).
std::string Children() {
  std::ifstream in("/proc/self/task/" + std::to_string(::gettid()) + "/children");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class EngineLaunch : public testing::EngineTestBase {};

TEST_F(EngineLaunch, LaunchMakesTheDrillsChildAndTheThreadsAndStartRunsTheDrillOnIt) {
  if (::access(("/proc/self/task/" + std::to_string(::gettid()) + "/children").c_str(), R_OK) !=
      0) {
    GTEST_SKIP() << "no /proc/PID/task/TID/children here";
  }
  auto opened =
      sys::RealSystemView::Open(sys_.dir, std::string(REAPERD_FIXTURES) + "/cgroup/host-v1");
  ASSERT_TRUE(opened.has_value());
  sys::RealSystemView& view = *opened;
  Engine engine(cfg_, {policy::Scope{}},
                EngineOptions{.dry_run = false, .self = ::getpid(), .kill_drill = true}, view,
                clock_, log_, ops_, sysrq_);
  const int tasks = Tasks();
  ASSERT_TRUE(Children().empty()) << Children();
  ASSERT_TRUE(engine.Launch());
  EXPECT_GT(Tasks(), tasks) << "the threads are Launch's";
  EXPECT_FALSE(Children().empty()) << "the drill's child is Launch's";
  EXPECT_EQ(Count("kill_drill"), 0u) << "the drill itself is Start's";
  const int launched = Tasks();
  ASSERT_TRUE(engine.Start());
  EXPECT_EQ(Tasks(), launched) << "Start made threads of its own";
  EXPECT_EQ(Count("kill_drill"), 1u);
  // Whatever the drill's outcome over the fixture /proc, its child is gone.
  EXPECT_TRUE(Children().empty()) << Children();
  engine.Stop();
}

}  // namespace
}  // namespace reaperd::daemon
