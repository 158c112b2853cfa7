// The daemon's early wake-up under real memory pressure: the event sources ScopeSources
// registers for a scope (here a v1 cgroup's memory.pressure_level eventfd, as on this build
// machine) must wake a loop blocked in epoll_wait when the cgroup reclaims hard. Replaces a
// test that only opened a PSI trigger and never waited for it to fire.
#include <gtest/gtest.h>
#include <sys/epoll.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "base/log.h"
#include "daemon/sampler.h"
#include "daemon/scope_sources.h"
#include "support/cgroup_sandbox.h"
#include "support/hog.h"
#include "sys/clock.h"
#include "sys/event_loop.h"
#include "sys/system_view.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;
// The loop's own tags, as in daemon.cc: the low bits of the epoll data.
constexpr std::uint64_t kTagPsi = 5;
constexpr std::uint64_t kTagLevel = 6;
constexpr std::uint64_t kTagMask = (std::uint64_t{1} << daemon::ScopeSources::kIdShift) - 1;

TEST(PressureEventLive, ReclaimInACgroupWakesTheLoopThroughItsScopeSource) {
  std::string why;
  auto sb = CgroupSandbox::Create("pressure", 64 * kMiB, &why);
  ASSERT_TRUE(sb) << why;
  auto view = sys::RealSystemView::Open();
  ASSERT_TRUE(view.has_value()) << view.error().ToString();
  if (view->cgroup_version() != sys::CgroupVersion::kV1) {
    GTEST_SKIP() << "v1 memory.pressure_level: this host has cgroup v2";
  }
  sys::MonotonicClock clock;
  policy::Scope scope;
  ASSERT_TRUE(policy::ParseScope("cgroup:" + sb->cgroup(), &scope));
  std::vector<daemon::Sampler> samplers;
  samplers.emplace_back(*view, clock, scope);

  RecordingSink sink;
  Logger log(sink, LogLevel::kDebug);
  auto ep = sys::Epoll::Create();
  ASSERT_TRUE(ep.has_value());
  daemon::ScopeSources sources(*ep, *view, log, kTagPsi, kTagLevel);
  sources.Sync(samplers);
  ASSERT_NE(sources.described().find("pressure_level:cgroup:" + sb->cgroup()), std::string::npos)
      << sources.described();

  std::array<epoll_event, 8> events{};
  auto quiet = ep->Wait(events, 0);
  ASSERT_TRUE(quiet.has_value());
  ASSERT_EQ(*quiet, 0u) << "a pressure event before any pressure";

  // Anonymous memory growing past the limit (no swap here): the cgroup reclaims at every
  // priority, vmpressure reports "critical" (at or above the "medium" the source asked for),
  // and then the kernel's memcg OOM killer ends the hog inside the sandbox.
  Hog hog = Hog::Spawn({.touch_mib = 0, .grow_mib_per_s = 100, .grow_max_mib = 256}, sb.get());
  ASSERT_GT(hog.pid(), 0);

  // Blocks in the loop's wait as the daemon does; generous, as this asserts the wake-up, not
  // its latency.
  bool woke = false;
  std::uint64_t id = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!woke && std::chrono::steady_clock::now() < deadline) {
    auto n = ep->Wait(events, 5000);
    ASSERT_TRUE(n.has_value()) << n.error().ToString();
    for (std::size_t i = 0; i < *n; ++i) {
      ASSERT_EQ(events[i].data.u64 & kTagMask, kTagLevel) << "woken by another source";
      id = events[i].data.u64 >> daemon::ScopeSources::kIdShift;
      sources.OnEvent(id, events[i].events);  // reads (resets) the eventfd, as the loop does
      woke = true;
    }
  }
  EXPECT_TRUE(woke) << "no memory.pressure_level event in 60 s; usage " << sb->Usage()
                    << ", oom_kills " << sb->OomKills();
  EXPECT_EQ(id, 1u);  // the first (only) source
  // OnEvent drained the eventfd: the loop does not spin on the same event. (A later real
  // event may wake it again while the hog is still reclaiming, so this only checks level
  // triggering is not stuck when the cgroup is quiet: after the hog is gone.)
  hog.Kill();
  sb->KillAll();
  for (int i = 0; i < 3; ++i) {
    auto n = ep->Wait(events, 500);
    ASSERT_TRUE(n.has_value());
    for (std::size_t k = 0; k < *n; ++k) sources.OnEvent(id, events[k].events);
  }
  auto after = ep->Wait(events, 200);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after, 0u) << "the eventfd was not reset";
}

}  // namespace
}  // namespace reaperd::itest
