// Issue 16: a victim in a cgroup laid out the way the kubelet's cgroupfs driver lays out a
// pod's container (kubepods/burstable/pod<uid>/<container id>) is named by its container in
// the kill line, from the cgroup path alone: real cgroups, a real kill by the daemon.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/hog.h"
#include "integration/support/live_util.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;
const char* const kPod = "pod1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901";
const char* const kContainer = "3f1c9a6e0b2d4f8a9c7e5d3b1a0f2e4d6c8b0a9f7e5d3c1b2a4f6e8d0c2b4a6e";

TEST(ContainerLive, AKillInAPodsContainerNamesTheContainer) {
  auto sb = live::Sandbox("node", 256 * kMiB);
  ASSERT_TRUE(sb);
  // The pod's layout below the scope (the scope is the node's slice here).
  std::string dir = sb->dir();
  for (const std::string part : {"kubepods", "burstable", kPod, kContainer}) {
    dir += "/" + part;
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
  }
  Daemon d({sb->cgroup()}, 30000);
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Hog hog = Hog::Spawn({.grow_mib_per_s = 60, .grow_max_mib = 400}, nullptr);
  ASSERT_GT(hog.pid(), 0);
  ASSERT_TRUE(WriteFile(dir + "/cgroup.procs", std::to_string(hog.pid())));
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 20000)) << d.Log();
  d.Stop();
  auto kills = d.Lines("kill");
  ASSERT_EQ(kills.size(), 1u) << d.Log();
  EXPECT_EQ(Field(kills[0], "pid"), static_cast<std::uint64_t>(hog.pid()));
  EXPECT_EQ(TextField(kills[0], "container"), "\"cri:3f1c9a6e0b2d\"") << kills[0];
  hog.Kill();
  // Leaf first: the sandbox removes only its own directory.
  for (int i = 0; i < 4; ++i) {
    ::rmdir(dir.c_str());
    dir.resize(dir.rfind('/'));
  }
}

}  // namespace
}  // namespace reaperd::itest
