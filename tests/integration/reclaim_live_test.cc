// The graduated response end to end: `reaperd run` as a child process, scoped to
// memory-limited v1 cgroups the test creates, each test with its own config in a temp dir
// (reports there too; last_resort = "none" so nothing outside the sandboxes is ever
// touched). A trim signal frees a cache holder's memory and nothing dies; a hook that hangs
// is timed out while the kill goes ahead; a notifier that frees nothing is backed off; a
// pre-kill hook that hangs holds only its own scope's kill. The watchdog's live tests are in
// watchdog_live_test.cc. Each test prints its measured figures as "[figures] ..." lines.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/hog.h"
#include "integration/support/holder.h"
#include "integration/support/live_util.h"

namespace reaperd::itest {
namespace {

using namespace live;  // NOLINT(google-build-using-namespace): test helpers

// A cache holder (96 MiB, freed on SIGUSR1) and a hog that grows to 150 MiB in a 256 MiB
// cgroup: together they would pass the kill level (8%), so only the trim keeps the kill
// away. The reclaim level (25%) is reached while the hog is still growing.
TEST(ReclaimLive, TrimSignalFreesCacheAndNothingIsKilled) {
  constexpr std::uint64_t kLimit = 256 * kMiB, kCacheMib = 96, kHogMib = 150;
  constexpr double kKillPercent = 8.0;
  auto sb = Sandbox("trim", kLimit);
  ASSERT_TRUE(sb);
  TempConfig cfg(std::string(kCommon) + R"(
[detector]
warn_available_percent = 30.0
reclaim_available_percent = 25.0
kill_available_percent = 8.0
kill_time_to_exhaustion_ms = 500
[kill]
last_resort = "none"
[watchdog]
report_path = "@DIR@/stalls.jsonl"
[reclaim]
settle_ms = 200
[[reclaim.notifier]]
name = "trim"
kind = "signal"
comm = ["rl-cache"]
signal = "SIGUSR1"
)");
  ASSERT_TRUE(cfg.ok());
  Daemon d({sb->cgroup()}, 40000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Holder holder(*sb, kCacheMib, "rl-cache", SIGUSR1);
  ASSERT_GT(holder.pid(), 0);
  Hog hog = Hog::Spawn({.grow_mib_per_s = 30, .grow_max_mib = kHogMib}, sb.get());
  ASSERT_GT(hog.pid(), 0);

  auto trim = holder.WaitTrimmed(20000);
  ASSERT_TRUE(trim.has_value()) << "the holder was never asked to trim\n" << d.Log();
  // The hog goes on to its full size; the daemon then sees the steady state for a while.
  EXPECT_TRUE(WaitFor([&] { return RssBytes(hog.pid()) >= kHogMib * kMiB; }, 20000)) << d.Log();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const std::uint64_t usage = sb->Usage();
  const std::uint64_t hog_rss = RssBytes(hog.pid());
  d.Stop();

  EXPECT_TRUE(d.Lines("kill").empty()) << d.Log();
  EXPECT_FALSE(hog.Dead(hog.pid()));
  EXPECT_TRUE(holder.Alive());
  EXPECT_EQ(sb->OomKills(), 0u);
  // Without the trim the scope would have been past the kill level: the test can fail. The
  // hog's own size, not the cgroup's usage: file pages of the hog's binary count in its rss
  // but are charged to whoever read them first, and an ASan build's are many MiB.
  EXPECT_GT(static_cast<double>(hog_rss + trim->bytes),
            static_cast<double>(kLimit) * (1 - kKillPercent / 100))
      << "hog rss " << hog_rss << " usage " << usage;
  auto signals = d.Lines("reclaim_signal");
  ASSERT_FALSE(signals.empty()) << d.Log();
  EXPECT_EQ(Field(signals[0], "pid"), static_cast<std::uint64_t>(holder.pid()));
  auto steps = d.Lines("reclaim");
  const std::string* step = nullptr;
  for (const auto& s : steps) {
    if (s.find("notifier=\"trim\"") != std::string::npos && !step) step = &s;
  }
  ASSERT_NE(step, nullptr) << d.Log();
  EXPECT_EQ(TextField(*step, "outcome"), "done") << *step;
  // The hog grows on during the settle window, so less than the whole cache shows.
  EXPECT_GE(Field(*step, "freed_bytes"), trim->bytes / 2) << *step;

  const auto reclaim = First(d.TimedLines("level"), "to=reclaim");
  ASSERT_TRUE(reclaim.has_value()) << d.Log();
  std::printf(
      "[figures] trim: holder unmapped %.1f MiB; daemon measured freed %.1f MiB; "
      "level reclaim -> memory back %.1f ms; signal taken -> munmap done %.1f ms; "
      "usage at end %.1f MiB of %.0f\n",
      static_cast<double>(trim->bytes) / kMiB,
      static_cast<double>(Field(*step, "freed_bytes")) / kMiB, Ms(trim->freed_ns - Ns(reclaim->at)),
      Ms(trim->freed_ns - trim->signalled_ns), static_cast<double>(usage) / kMiB,
      static_cast<double>(kLimit) / kMiB);
}

// A ballast (protected by comm) keeps a 512 MiB cgroup at the reclaim level, so the chain
// runs from the start: its first step hangs (/bin/sleep 1000, 3 s timeout). A fast hog
// then drives the scope to the kill level: the kill waits for the busy chain only within
// its budget and happens before the memcg OOM killer; at the hang's timeout its process
// is gone and the chain goes on to its next step.
TEST(ReclaimLive, HangingHookIsTimedOutAndKillStillHappensInTime) {
  auto sb = Sandbox("hang", 512 * kMiB);
  ASSERT_TRUE(sb);
  TempConfig cfg(std::string(kCommon) + R"(
[detector]
warn_available_percent = 60.0
reclaim_available_percent = 55.0
kill_available_percent = 4.0
[kill]
last_resort = "none"
[rank]
protect_comm = ["rl-ballast"]
[watchdog]
report_path = "@DIR@/stalls.jsonl"
[reclaim]
kill_budget_ms = 300
[[reclaim.notifier]]
name = "hang"
kind = "hook"
argv = ["/bin/sleep", "1000"]
timeout_ms = 3000
[[reclaim.notifier]]
name = "after"
kind = "hook"
argv = ["/bin/true"]
)");
  ASSERT_TRUE(cfg.ok());
  Daemon d({sb->cgroup()}, 40000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Holder ballast(*sb, 256, "rl-ballast", SIGUSR1);
  ASSERT_GT(ballast.pid(), 0);
  pid_t sleeper = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (pid_t k : ChildrenOf(d.pid())) {
          if (Comm(k) == "sleep") sleeper = k;
        }
        return sleeper > 0;
      },
      10000))
      << "the hanging hook never started\n"
      << d.Log();
  const std::uint64_t sleeper_start = StartTime(sleeper);
  const auto hog_start = std::chrono::steady_clock::now();
  Hog hog = Hog::Spawn({.grow_mib_per_s = 400, .grow_max_mib = 600}, sb.get());
  ASSERT_GT(hog.pid(), 0);
  EXPECT_TRUE(hog.WaitDead(hog.pid(), 10000)) << d.Log();
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const auto& l : d.Lines("reclaim")) {
          if (l.find("notifier=\"after\"") != std::string::npos) return true;
        }
        return false;
      },
      15000))
      << d.Log();
  const bool sleeper_gone = StartTime(sleeper) != sleeper_start;
  d.Stop();

  EXPECT_EQ(sb->OomKills(), 0u) << "the memcg OOM killer acted first\n" << d.Log();
  EXPECT_TRUE(ballast.Alive());
  EXPECT_TRUE(sleeper_gone) << "the hanging hook outlived its timeout";
  auto kills = d.TimedLines("kill");
  ASSERT_EQ(kills.size(), 1u) << d.Log();
  EXPECT_EQ(Field(kills[0].text, "pid"), static_cast<std::uint64_t>(hog.pid()));
  // The kill was held while the hook hung, then went ahead without waiting for it.
  EXPECT_FALSE(d.Lines("reclaim_hold").empty()) << d.Log();
  EXPECT_TRUE(First(d.TimedLines("reclaim_hold"), "chain_busy=1").has_value()) << d.Log();
  const std::string log = d.Log();
  const auto hang = First(d.TimedLines("reclaim"), "notifier=\"hang\"");
  const auto after = First(d.TimedLines("reclaim"), "notifier=\"after\"");
  ASSERT_TRUE(hang && after) << log;
  EXPECT_EQ(TextField(hang->text, "outcome"), "timed_out") << hang->text;
  EXPECT_EQ(TextField(after->text, "outcome"), "done") << after->text;
  EXPECT_LT(log.find(kills[0].text), log.find(hang->text)) << "the kill waited for the hook";
  EXPECT_LT(log.find(hang->text), log.find(after->text));
  EXPECT_TRUE(First(d.TimedLines("hook"), "hook=\"hang\" event=reclaim").has_value()) << log;
  auto reaped = d.Lines("reaped");
  ASSERT_FALSE(reaped.empty()) << log;
  std::printf(
      "[figures] hang: hook run_ms %s (timeout 3000); hog start -> kill line %.1f ms; "
      "kill line -> hook timed out %.1f ms; reaped %s, %.1f MiB\n",
      TextField(hang->text, "run_ms").c_str(), Ms(Ns(kills[0].at) - Ns(hog_start)),
      Ms(Ns(hang->at) - Ns(kills[0].at)), TextField(reaped[0], "outcome").c_str(),
      static_cast<double>(Field(reaped[0], "bytes_freed")) / kMiB);
}

// A ballast keeps the scope at the reclaim level and the only notifier (/bin/true) frees
// nothing: after backoff_after misses it is backed off, with the delay doubling per miss up
// to backoff_max_ms, and passes skip it meanwhile. The ballast fills at about 1 GiB/s, a
// time to exhaustion of about 130 ms while it grows: the prediction is off
// (kill_time_to_exhaustion_ms = 0), or the ladder could climb to kill while it grows and log
// a kill line (no_candidate, the ballast being protected) that this test is not about.
TEST(ReclaimLive, NotifierThatFreesNothingIsBackedOff) {
  auto sb = Sandbox("backoff", 256 * kMiB);
  ASSERT_TRUE(sb);
  TempConfig cfg(std::string(kCommon) + R"(
[detector]
warn_available_percent = 60.0
reclaim_available_percent = 55.0
kill_available_percent = 4.0
kill_time_to_exhaustion_ms = 0
[kill]
last_resort = "none"
[rank]
protect_comm = ["rl-ballast"]
[watchdog]
report_path = "@DIR@/stalls.jsonl"
[reclaim]
settle_ms = 50
interval_ms = 50
backoff_after = 2
backoff_initial_ms = 200
backoff_max_ms = 1600
[[reclaim.notifier]]
name = "noop"
kind = "hook"
argv = ["/bin/true"]
)");
  ASSERT_TRUE(cfg.ok());
  Daemon d({sb->cgroup()}, 40000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Holder ballast(*sb, 128, "rl-ballast", SIGUSR1);
  ASSERT_GT(ballast.pid(), 0);
  EXPECT_TRUE(WaitFor([&] { return d.Lines("reclaim_backoff").size() >= 6; }, 30000)) << d.Log();
  d.Stop();

  EXPECT_TRUE(d.Lines("kill").empty()) << d.Log();
  EXPECT_TRUE(ballast.Alive());
  auto backoffs = d.Lines("reclaim_backoff");
  ASSERT_GE(backoffs.size(), 6u) << d.Log();
  for (std::size_t k = 0; k < backoffs.size(); ++k) {
    EXPECT_EQ(Field(backoffs[k], "misses"), 2 + k) << backoffs[k];
    EXPECT_EQ(Field(backoffs[k], "backoff_ms"), std::min<std::uint64_t>(200u << k, 1600))
        << backoffs[k];
  }
  // Every run after the first miss is a miss: one back-off line per run but the first.
  std::vector<LogLine> runs;
  for (const auto& l : d.TimedLines("reclaim")) {
    if (l.text.find("notifier=\"noop\"") != std::string::npos) runs.push_back(l);
  }
  EXPECT_EQ(runs.size(), backoffs.size() + 1) << d.Log();
  // While backed off, passes run and skip the notifier.
  EXPECT_TRUE(First(d.TimedLines("reclaim_pass"), "steps=0 skipped=1").has_value()) << d.Log();
  std::string gaps;
  for (std::size_t k = 1; k < runs.size(); ++k) {
    gaps += fmt::format(" {:.0f}", Ms(Ns(runs[k].at) - Ns(runs[k - 1].at)));
  }
  std::printf("[figures] backoff: %zu runs, %zu back-offs; ms between runs:%s\n", runs.size(),
              backoffs.size(), gaps.c_str());
}

// Two scopes; the pre-kill hook hangs (until its 2 s timeout) for scope A's victim and
// returns at once for scope B's. B's hog starts only once A's hook runs: B's victim is
// killed before A's, so the loop went on deciding while A's hook ran. Both hogs stop
// growing below their limits, at the kill level (20%).
TEST(ReclaimLive, PreKillHookHoldsOnlyItsOwnKill) {
  auto a = Sandbox("pre-a", 256 * kMiB);
  auto b = Sandbox("pre-b", 256 * kMiB);
  ASSERT_TRUE(a && b);
  TempConfig cfg(std::string(kCommon) + R"(
[detector]
warn_available_percent = 40.0
reclaim_available_percent = 30.0
kill_available_percent = 20.0
[kill]
last_resort = "none"
[watchdog]
report_path = "@DIR@/stalls.jsonl"
[hooks.pre_kill]
argv = ["/bin/sh", "-c", "[ \"$REAPERD_SCOPE\" = \"cgroup:)" +
                 b->cgroup() + R"(\" ] || exec /bin/sleep 1000"]
timeout_ms = 2000
)");
  ASSERT_TRUE(cfg.ok());
  Daemon d({a->cgroup(), b->cgroup()}, 40000, {"--config", cfg.path()});
  ASSERT_TRUE(d.WaitStarted()) << d.Log();
  Hog ha = Hog::Spawn({.grow_mib_per_s = 150, .grow_max_mib = 220}, a.get());
  ASSERT_GT(ha.pid(), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        for (pid_t k : ChildrenOf(d.pid())) {
          if (Comm(k) == "sleep") return true;
        }
        return false;
      },
      10000))
      << "scope A's pre-kill hook never started\n"
      << d.Log();
  const auto a_hook_seen = std::chrono::steady_clock::now();
  Hog hb = Hog::Spawn({.grow_mib_per_s = 300, .grow_max_mib = 220}, b.get());
  ASSERT_GT(hb.pid(), 0);
  EXPECT_TRUE(ha.WaitDead(ha.pid(), 10000)) << d.Log();
  EXPECT_TRUE(hb.WaitDead(hb.pid(), 10000)) << d.Log();
  d.Stop();

  EXPECT_EQ(a->OomKills(), 0u) << d.Log();
  EXPECT_EQ(b->OomKills(), 0u) << d.Log();
  auto kills = d.TimedLines("kill");
  ASSERT_EQ(kills.size(), 2u) << d.Log();
  EXPECT_EQ(Field(kills[0].text, "pid"), static_cast<std::uint64_t>(hb.pid())) << d.Log();
  EXPECT_EQ(Field(kills[1].text, "pid"), static_cast<std::uint64_t>(ha.pid())) << d.Log();
  const auto a_hook = First(d.TimedLines("hook"), "event=pre_kill outcome=timed_out");
  EXPECT_TRUE(a_hook.has_value()) << d.Log();
  std::printf(
      "[figures] pre-kill: A's hook seen -> B's kill %.1f ms, -> A's kill %.1f ms "
      "(A's hook timeout 2000)\n",
      Ms(Ns(kills[0].at) - Ns(a_hook_seen)), Ms(Ns(kills[1].at) - Ns(a_hook_seen)));
}

}  // namespace
}  // namespace reaperd::itest
