// Hooks against the real kernel: a clean environment, output logged line by line (escaped),
// and a hook that hangs (with a helper of its own) killed as a whole group at its timeout.
#include "reclaim/hook.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

namespace reaperd::reclaim {
namespace {

struct Fixture {
  sys::MonotonicClock clock;
  RecordingSink sink;
  Logger log{sink, LogLevel::kDebug};
};

TEST(HookTest, CleanEnvironmentAndOutputLogged) {
  Fixture f;
  HookEnv env;
  env.event = "pre_kill";
  env.scope = "cgroup:/x";
  env.level = pressure::Level::kKill;
  env.available_bytes = 1234;
  env.victim_pid = 42;
  env.victim_comm = "evil\nkill";
  ::setenv("REAPERD_TEST_LEAK", "1", 1);
  HookResult r = RunHook("t", {"/usr/bin/env"}, env, 5000, f.clock, f.log, nullptr);
  EXPECT_EQ(r.outcome, HookOutcome::kExited);
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_TRUE(f.sink.Contains("line=\"REAPERD_AVAILABLE_BYTES=1234\""));
  EXPECT_TRUE(f.sink.Contains("line=\"REAPERD_LEVEL=kill\""));
  EXPECT_TRUE(f.sink.Contains("line=\"REAPERD_VICTIM_PID=42\""));
  EXPECT_TRUE(f.sink.Contains("line=\"REAPERD_VICTIM_COMM=evil\""));
  EXPECT_FALSE(f.sink.Contains("REAPERD_TEST_LEAK"));
}

TEST(HookTest, HangingHookAndItsHelperAreKilledAtTheTimeout) {
  Fixture f;
  char dir[] = "/tmp/reaperd-hook-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string pidfile = std::string(dir) + "/helper.pid";
  // The hook starts a helper in the background, then hangs itself.
  const std::vector<std::string> argv = {
      "/bin/sh", "-c", "sleep 100 & echo $! > " + pidfile + "; echo started; sleep 100"};
  const auto t0 = std::chrono::steady_clock::now();
  HookResult r = RunHook("hang", argv, HookEnv{}, 300, f.clock, f.log, nullptr);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_EQ(r.outcome, HookOutcome::kTimedOut);
  EXPECT_GE(ms, 300);
  EXPECT_TRUE(f.sink.Contains("line=\"started\""));
  std::ifstream in(pidfile);
  pid_t helper = 0;
  in >> helper;
  ASSERT_GT(helper, 0);
  // The helper was in the hook's process group: it is gone (or a zombie of init's).
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(helper) + "/stat");
    std::string line;
    std::getline(stat, line);
    gone = line.empty() || line.find(") Z") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "helper " << helper << " outlived its hook";
  ::unlink(pidfile.c_str());
  ::rmdir(dir);
}

TEST(HookTest, RelativeProgramIsRefused) {
  Fixture f;
  HookResult r = RunHook("rel", {"sleep", "1"}, HookEnv{}, 1000, f.clock, f.log, nullptr);
  EXPECT_EQ(r.outcome, HookOutcome::kSpawnFailed);
  EXPECT_TRUE(f.sink.Contains("outcome=spawn_failed"));
}

// A program in a directory others may write (no sticky bit) could be swapped for anything:
// refused before every run, with the reason logged, and never executed.
TEST(HookTest, UntrustedProgramIsNeverRun) {
  Fixture f;
  char dir[] = "/tmp/reaperd-untrusted-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string d = dir;
  const std::string prog = d + "/hook.sh";
  const std::string marker = d + "/ran";
  {
    std::ofstream s(prog);
    s << "#!/bin/sh\ntouch " << marker << "\n";
  }
  ASSERT_EQ(::chmod(prog.c_str(), 0755), 0);
  // Trusted as made (root's 0700 directory in the sticky /tmp): it runs.
  HookResult ok = RunHook("t", {prog}, HookEnv{}, 5000, f.clock, f.log, nullptr);
  EXPECT_EQ(ok.outcome, HookOutcome::kExited);
  EXPECT_EQ(::access(marker.c_str(), F_OK), 0);
  ::unlink(marker.c_str());
  // Its directory made writable by others: refused, and not run.
  ASSERT_EQ(::chmod(d.c_str(), 0777), 0);
  HookResult r = RunHook("t", {prog}, HookEnv{}, 5000, f.clock, f.log, nullptr);
  EXPECT_EQ(r.outcome, HookOutcome::kUntrusted);
  EXPECT_NE(::access(marker.c_str(), F_OK), 0);
  EXPECT_TRUE(f.sink.Contains("outcome=untrusted"));
  // And a group-writable program in a trusted directory, likewise.
  ASSERT_EQ(::chmod(d.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(prog.c_str(), 0775), 0);
  HookResult g = RunHook("t", {prog}, HookEnv{}, 5000, f.clock, f.log, nullptr);
  EXPECT_EQ(g.outcome, HookOutcome::kUntrusted);
  EXPECT_NE(::access(marker.c_str(), F_OK), 0);
  ::unlink(prog.c_str());
  ::rmdir(d.c_str());
}

TEST(HookTest, RunnerRunsQueuedHooksOffTheCallersThread) {
  Fixture f;
  char dir[] = "/tmp/reaperd-hook-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string go = std::string(dir) + "/go";
  HookRunner runner(f.clock, f.log);
  // The hook cannot end before the test creates `go`: if Queue() waited for it, the hook
  // would have timed out by the time Queue() returned.
  runner.Queue("slow", {"/bin/sh", "-c", "while [ ! -e " + go + " ]; do sleep 0.01; done"},
               HookEnv{}, 5000);
  EXPECT_FALSE(f.sink.Contains("hook=\"slow\""));
  std::ofstream(go) << "go";
  runner.Drain();
  EXPECT_TRUE(f.sink.Contains("hook=\"slow\" event= scope=\"\" outcome=exited exit=0"));
  ::unlink(go.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace reaperd::reclaim
