// The pre-kill hook passes the same per-run trust check as every other hook: a root-owned
// hook made group-writable after the daemon started is refused (outcome=untrusted), never
// run, and the kill goes ahead without it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/hog.h"
#include "integration/support/live_util.h"

namespace reaperd::itest {
namespace {

using namespace live;  // NOLINT(google-build-using-namespace): test helpers

TEST(HookTrustLive, PreKillHookMadeWritableAfterStartIsRefused) {
  auto sb = Sandbox("hooktrust", 256 * kMiB);
  ASSERT_TRUE(sb);
  TempConfig cfg(std::string(kCommon) + R"(
[detector]
warn_available_percent = 40.0
reclaim_available_percent = 30.0
kill_available_percent = 20.0
[kill]
last_resort = "none"
[watchdog]
enabled = false
[hooks.pre_kill]
argv = ["@DIR@/pre-kill"]
timeout_ms = 2000
)");
  ASSERT_TRUE(cfg.ok());
  const std::string hook = cfg.dir() + "/pre-kill";
  const std::string marker = cfg.dir() + "/ran";
  {
    std::ofstream f(hook);
    f << "#!/bin/sh\ntouch " << marker << "\n";
  }
  ASSERT_EQ(::chmod(hook.c_str(), 0755), 0);
  Daemon d({sb->cgroup()}, 30000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();  // trusted at start
  ASSERT_EQ(::chmod(hook.c_str(), 0775), 0);

  Hog hog = Hog::Spawn({.grow_mib_per_s = 200, .grow_max_mib = 220}, sb.get());
  ASSERT_GT(hog.pid(), 0);
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 10000)) << d.Log();
  d.Stop();

  EXPECT_EQ(::access(marker.c_str(), F_OK), -1) << "the untrusted hook ran\n" << d.Log();
  const auto hooks = d.Lines("hook");
  bool refused = false;
  for (const auto& l : hooks) {
    refused = refused || l.find("event=pre_kill outcome=untrusted") != std::string::npos;
  }
  EXPECT_TRUE(refused) << d.Log();
  EXPECT_EQ(sb->OomKills(), 0u) << d.Log();
  ::unlink(hook.c_str());
  ::unlink(marker.c_str());
}

}  // namespace
}  // namespace reaperd::itest
