// Issue 15: a real cgroup tree laid out like a systemd desktop, guarded by the real daemon.
// The compositor and the audio server (in user@UID.service/session.slice) are the largest
// processes; a browser of several processes in its app scope grows. The victim is the largest
// browser process, alone; the session's services are never chosen while it is there.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/hog.h"
#include "integration/support/live_util.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

TEST(SessionLive, TheLargestBrowserProcessDiesNotTheCompositorNorTheAudioServer) {
  auto sb = live::Sandbox("desk", 256 * kMiB);
  ASSERT_TRUE(sb);
  const std::string user = sb->dir() + "/user.slice/user-1000.slice/user@1000.service";
  const std::string compositor = user + "/session.slice/compositor.service";
  const std::string audio = user + "/session.slice/pipewire.service";
  const std::string browser = user + "/app.slice/app-browser.scope";
  std::vector<std::string> made;
  for (const std::string& dir :
       {sb->dir() + "/user.slice", sb->dir() + "/user.slice/user-1000.slice", user,
        user + "/session.slice", user + "/app.slice", compositor, audio, browser}) {
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
    made.push_back(dir);
  }
  Hog comp = Hog::SpawnIn({.touch_mib = 80}, compositor);
  Hog snd = Hog::SpawnIn({.touch_mib = 60}, audio);
  Hog tab_big = Hog::SpawnIn({.touch_mib = 70}, browser);
  Hog tab_small = Hog::SpawnIn({.touch_mib = 5}, browser);
  ASSERT_GT(comp.pid(), 0);
  ASSERT_GT(snd.pid(), 0);
  ASSERT_GT(tab_big.pid(), 0);
  ASSERT_GT(tab_small.pid(), 0);
  Daemon d({sb->cgroup()}, 30000);
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  // The tab that leaks: it grows until a kill is due, at about 20-30 MiB.
  Hog tab_grow = Hog::SpawnIn({.grow_mib_per_s = 30, .grow_max_mib = 40}, browser);
  ASSERT_GT(tab_grow.pid(), 0);
  EXPECT_TRUE(tab_big.WaitDead(tab_big.pid(), 15000)) << d.Log();
  EXPECT_TRUE(WaitFor([&] { return !d.Lines("reaped").empty(); }, 5000)) << d.Log();
  d.Stop();
  auto kills = d.Lines("kill");
  ASSERT_EQ(kills.size(), 1u) << d.Log();
  EXPECT_EQ(Field(kills[0], "pid"), static_cast<std::uint64_t>(tab_big.pid())) << kills[0];
  EXPECT_NE(kills[0].find("members=1 "), std::string::npos) << "one process, not the scope";
  EXPECT_NE(kills[0].find("avoided=\"none\""), std::string::npos) << kills[0];
  EXPECT_FALSE(comp.Dead(comp.pid())) << "the compositor was killed";
  EXPECT_FALSE(snd.Dead(snd.pid())) << "the audio server was killed";
  EXPECT_FALSE(tab_small.Dead(tab_small.pid())) << "the whole browser scope was killed";
  EXPECT_EQ(sb->OomKills(), 0u);
  for (Hog* h : {&comp, &snd, &tab_small, &tab_grow}) h->Kill();
  for (auto it = made.rbegin(); it != made.rend(); ++it) ::rmdir(it->c_str());
}

}  // namespace
}  // namespace reaperd::itest
