// Automatic scopes found by inotify, end to end: with the periodic rescan a minute away,
// `reaperd run --scope auto:<the test's own memory cgroup>` must make a scope of a limited
// cgroup created after it started (mkdir, then the limit, as systemd and container runtimes
// do), and of one whose limit is set later on, and kill a fast hog in it before the kernel's
// memcg OOM killer acts. Every cgroup is a child of the test's own v1 memory cgroup.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "support/cgroup_sandbox.h"
#include "support/daemon.h"
#include "support/hog.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;
// The fallback rescan is far beyond every wait below: only the watcher can find the cgroups.
constexpr const char* kConfig = "[daemon]\nrescan_interval_ms = 60000\n";
// What the brief asks of the watcher: a new limited cgroup is a scope within a second.
constexpr int kFoundWithinMs = 1000;

bool Logged(const Daemon& d, const std::string& event, const std::string& cgroup,
            SteadyTime* at = nullptr) {
  const std::string want = "scope=\"cgroup:" + cgroup + "\"";
  for (const auto& l : d.TimedLines(event)) {
    if (l.text.find(want) != std::string::npos) {
      if (at) *at = l.at;
      return true;
    }
  }
  return false;
}

double MsSince(SteadyTime from, SteadyTime to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

TEST(AutoscopeWatchLive, CgroupCreatedAfterStartIsAScopeAtOnceAndItsHogKilledFirst) {
  const std::string own = OwnMemoryCgroup();
  if (own.empty()) GTEST_SKIP() << "no v1 memory cgroup";
  TempConfig cfg(kConfig);
  ASSERT_TRUE(cfg.ok());
  Daemon d({}, 60000, {"--config", cfg.path(), "--scope", "auto:" + own});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  const SteadyTime made = std::chrono::steady_clock::now();
  std::string why;
  auto sb = CgroupSandbox::Create("autowatch", 256 * kMiB, &why);  // mkdir, then the limit
  ASSERT_TRUE(sb) << why;
  SteadyTime found{};
  ASSERT_TRUE(
      WaitFor([&] { return Logged(d, "scope_added", sb->cgroup(), &found); }, kFoundWithinMs))
      << d.Log();
  RecordProperty("found_ms", std::to_string(MsSince(made, found)));

  Hog h = Hog::Spawn({.touch_mib = 0, .grow_mib_per_s = 300, .grow_max_mib = 600}, sb.get());
  ASSERT_GT(h.pid(), 0);
  EXPECT_TRUE(h.WaitDead(h.pid(), 15000)) << d.Log();
  EXPECT_EQ(sb->OomKills(), 0u) << "the kernel's memcg OOM killer acted first\n" << d.Log();
  EXPECT_TRUE(WaitFor([&] { return Logged(d, "kill", sb->cgroup()); }, 2000)) << d.Log();

  // Removed: dropped at once too, not at the next periodic rescan.
  const std::string cg = sb->cgroup();
  sb.reset();
  EXPECT_TRUE(WaitFor([&] { return Logged(d, "scope_removed", cg); }, 5000)) << d.Log();
  const int status = d.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << d.Log();
}

// The limit comes well after the mkdir: the walk the mkdir caused saw no limit, so only the
// write's IN_MODIFY (reported by cgroupfs on the cgroup's directory) can bring the rescan.
TEST(AutoscopeWatchLive, LimitWrittenLaterMakesTheScope) {
  const std::string own = OwnMemoryCgroup();
  if (own.empty()) GTEST_SKIP() << "no v1 memory cgroup";
  TempConfig cfg(kConfig);
  ASSERT_TRUE(cfg.ok());
  Daemon d({}, 60000, {"--config", cfg.path(), "--scope", "auto:" + own});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  std::string why;
  // A limit at or above MemTotal is no limit for discovery: the cgroup is not a scope yet.
  auto sb = CgroupSandbox::Create("autowatch-later", std::uint64_t{1} << 50, &why);
  ASSERT_TRUE(sb) << why;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the mkdir's rescan is done
  ASSERT_FALSE(Logged(d, "scope_added", sb->cgroup())) << d.Log();
  const SteadyTime set = std::chrono::steady_clock::now();
  ASSERT_TRUE(WriteFile(sb->dir() + "/memory.limit_in_bytes", std::to_string(128 * kMiB)));
  SteadyTime found{};
  ASSERT_TRUE(
      WaitFor([&] { return Logged(d, "scope_added", sb->cgroup(), &found); }, kFoundWithinMs))
      << d.Log();
  RecordProperty("found_ms", std::to_string(MsSince(set, found)));
  const int status = d.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << d.Log();
}

}  // namespace
}  // namespace reaperd::itest
