// A v1 cgroup scope's usage alarm (Engine::UsageAlarmAt, ScopeSources): an idle small cgroup
// is not sampled every interval_fast_ms, because the kernel wakes the loop when its usage
// crosses the alarm. Before the alarm, a 64 MiB scope was sampled ten times a second however
// idle, since a hog at 2 GiB/s could fill it between two slower samples.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "support/cgroup_sandbox.h"
#include "support/daemon.h"
#include "support/hog.h"
#include "sys/system_view.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

// Voluntary and involuntary context switches of one thread: each wait the loop ends is one.
std::uint64_t Switches(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/status");
  std::string line;
  std::uint64_t n = 0;
  while (std::getline(in, line)) {
    if (line.find("ctxt_switches:") != std::string::npos) {
      n += std::stoull(line.substr(line.find(':') + 1));
    }
  }
  return n;
}

bool V1() {
  auto view = sys::RealSystemView::Open();
  return view && view->cgroup_version() == sys::CgroupVersion::kV1;
}

TEST(UsageAlarmLive, AnIdleSmallCgroupIsNotSampledFastAndItsAlarmWakesTheLoop) {
  if (!V1()) GTEST_SKIP() << "usage thresholds are cgroup v1's; this host has v2";
  std::string why;
  auto sb = CgroupSandbox::Create("alarm", 64 * kMiB, &why);
  ASSERT_TRUE(sb) << why;
  Daemon d({sb->cgroup()}, 20000);
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // past the first ticks
  // Idle: the loop thread sleeps through the slow interval (10 s) instead of waking every
  // 100 ms (20 wake-ups in these 2 s before the alarm). The alarm is 8 MiB up (an eighth of
  // the headroom): whatever starts to grow in the cgroup wakes the loop from there on.
  const std::uint64_t before = Switches(d.pid());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const std::uint64_t woke = Switches(d.pid()) - before;
  EXPECT_LT(woke, 8u) << "the loop still polls an idle small cgroup\n" << d.Log();
  // Growing to 58 of 64 MiB at 32 MiB/s: past the alarm, and on to below the warn
  // threshold's 10% left. Only the alarms (each an eighth of the headroom up) can bring the
  // ticks that see it before the slow interval ends. (It once touched its 58 MiB before
  // saying it was ready; a loop quick enough to kill it first made the spawn fail.)
  const auto t0 = std::chrono::steady_clock::now();
  Hog hog = Hog::Spawn({.touch_mib = 0, .grow_mib_per_s = 32, .grow_max_mib = 58}, sb.get());
  ASSERT_GT(hog.pid(), 0);
  ASSERT_TRUE(WaitFor([&] { return !d.Lines("level").empty(); }, 5000))
      << "no level change: the alarm did not wake the loop\n"
      << d.Log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(d.Lines("level")[0].find("to=ok"), std::string::npos) << d.Lines("level")[0];
  d.Stop();
}

// A fast hog in a scope whose loop sleeps on its alarm: the alarm an eighth of the headroom
// up wakes the loop early enough for the detector to see the trend and kill before the
// kernel's memcg OOM killer. (An alarm at twice the warn threshold, 80% of the limit, left
// 128 ms at 400 MiB/s and the kernel won under load: BusLive.Stopped* failed so.)
TEST(UsageAlarmLive, AFastHogAfterAnIdleSpellIsKilledBeforeTheMemcgOomKiller) {
  if (!V1()) GTEST_SKIP() << "usage thresholds are cgroup v1's; this host has v2";
  std::string why;
  auto sb = CgroupSandbox::Create("alarmfast", 256 * kMiB, &why);
  ASSERT_TRUE(sb) << why;
  Daemon d({sb->cgroup()}, 20000);
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  std::this_thread::sleep_for(std::chrono::seconds(1));  // asleep on the alarm
  Hog hog = Hog::Spawn({.touch_mib = 0, .grow_mib_per_s = 400, .grow_max_mib = 600}, sb.get());
  ASSERT_GT(hog.pid(), 0);
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 10000)) << d.Log();
  EXPECT_TRUE(WaitFor([&] { return !d.Lines("reaped").empty(); }, 5000)) << d.Log();
  d.Stop();
  EXPECT_EQ(sb->OomKills(), 0u) << "the kernel's memcg OOM killer acted first\n" << d.Log();
  const auto kills = d.Lines("kill");
  ASSERT_EQ(kills.size(), 1u) << d.Log();
  EXPECT_EQ(Field(kills[0], "pid"), static_cast<std::uint64_t>(hog.pid()));
}

}  // namespace
}  // namespace reaperd::itest
