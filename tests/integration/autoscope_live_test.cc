// Automatic cgroup scopes end to end: `reaperd run --scope auto:<the test's own memory cgroup>`
// must find memory-limited cgroups created after it started, kill a fast hog in each before
// the kernel's memcg OOM killer acts, and drop a watched cgroup that is removed, cleanly.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <memory>
#include <string>
#include <vector>

#include "support/cgroup_sandbox.h"
#include "support/daemon.h"
#include "support/hog.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;
// Rescans often, so a test waits little for its sandboxes to be found.
constexpr const char* kConfig = "[daemon]\nrescan_interval_ms = 200\n";

std::unique_ptr<CgroupSandbox> Sandbox(const char* name, std::uint64_t limit) {
  std::string why;
  auto sb = CgroupSandbox::Create(name, limit, &why);
  if (!sb) ADD_FAILURE() << "no cgroup sandbox: " << why;
  return sb;
}

// True once the daemon logged `event` for the scope of `cgroup`.
bool Logged(const Daemon& d, const std::string& event, const std::string& cgroup) {
  const std::string want = "scope=\"cgroup:" + cgroup + "\"";
  for (const auto& l : d.Lines(event)) {
    if (l.find(want) != std::string::npos) return true;
  }
  return false;
}

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0; }

TEST(AutoscopeLive, SandboxesCreatedAfterStartAreFoundAndTheirHogsKilledFirst) {
  const std::string own = OwnMemoryCgroup();
  if (own.empty()) GTEST_SKIP() << "no v1 memory cgroup";
  TempConfig cfg(kConfig);
  ASSERT_TRUE(cfg.ok());
  Daemon d({}, 60000, {"--config", cfg.path(), "--scope", "auto:" + own});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  // The start line lists the cgroups found so far (another test's, running beside this one),
  // then the discovery: ",auto:..." came first when none was found.
  const auto start = d.Lines("start");
  ASSERT_EQ(start.size(), 1u) << d.Log();
  const std::string scopes = TextField(start[0], "scopes");
  EXPECT_TRUE(scopes.ends_with("auto:" + own + "\"")) << start[0];
  EXPECT_FALSE(scopes.starts_with("\",")) << start[0];
  auto a = Sandbox("autoscope-a", 256 * kMiB);
  auto b = Sandbox("autoscope-b", 256 * kMiB);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitFor(
      [&] {
        return Logged(d, "scope_added", a->cgroup()) && Logged(d, "scope_added", b->cgroup());
      },
      5000))
      << d.Log();
  Hog ha = Hog::Spawn({.touch_mib = 0, .grow_mib_per_s = 300, .grow_max_mib = 600}, a.get());
  Hog hb = Hog::Spawn({.touch_mib = 0, .grow_mib_per_s = 300, .grow_max_mib = 600}, b.get());
  ASSERT_GT(ha.pid(), 0);
  ASSERT_GT(hb.pid(), 0);
  EXPECT_TRUE(ha.WaitDead(ha.pid(), 15000)) << d.Log();
  EXPECT_TRUE(hb.WaitDead(hb.pid(), 15000)) << d.Log();
  EXPECT_EQ(a->OomKills(), 0u) << "the kernel's memcg OOM killer acted first\n" << d.Log();
  EXPECT_EQ(b->OomKills(), 0u) << "the kernel's memcg OOM killer acted first\n" << d.Log();
  // Each hog was killed by reaperd, in its own scope.
  EXPECT_TRUE(WaitFor([&] { return Logged(d, "kill", a->cgroup()); }, 2000)) << d.Log();
  EXPECT_TRUE(WaitFor([&] { return Logged(d, "kill", b->cgroup()); }, 2000)) << d.Log();
  const int status = d.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << d.Log();
}

TEST(AutoscopeLive, RemovedSandboxIsDroppedCleanly) {
  const std::string own = OwnMemoryCgroup();
  if (own.empty()) GTEST_SKIP() << "no v1 memory cgroup";
  TempConfig cfg(kConfig);
  ASSERT_TRUE(cfg.ok());
  Daemon d({}, 60000, {"--config", cfg.path(), "--scope", "auto:" + own});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  auto sb = Sandbox("autoscope-gone", 256 * kMiB);
  ASSERT_TRUE(sb);
  const std::string cg = sb->cgroup();
  ASSERT_TRUE(WaitFor([&] { return Logged(d, "scope_added", cg); }, 5000)) << d.Log();
  sb.reset();  // kills what is inside and removes the cgroup
  ASSERT_TRUE(WaitFor([&] { return Logged(d, "scope_removed", cg); }, 5000)) << d.Log();
  EXPECT_EQ(d.Lines("scope_removed").size(), 1u) << d.Log();
  // Still running, no sample warnings for the gone scope, and it stops cleanly.
  EXPECT_TRUE(Alive(d.pid()));
  for (const auto& l : d.Lines("sample")) {
    EXPECT_EQ(l.find(cg), std::string::npos) << l;
  }
  const int status = d.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << d.Log();
}

}  // namespace
}  // namespace reaperd::itest
