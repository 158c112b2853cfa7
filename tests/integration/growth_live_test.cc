// Issue 15, "blame what grows, counted per application": in one memory-limited cgroup, a
// static process larger than any other and a "build" (one parent whose jobs start small and
// grow once the scope is at warn). With the growth term the victim is one of the build's
// jobs, not the static process; with rank.growth_weight = 0 (the kernel's badness alone) it
// is the static one. Real processes, the real daemon, a few seconds each.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/support/build_group.h"
#include "integration/support/cgroup_sandbox.h"
#include "integration/support/daemon.h"
#include "integration/support/hog.h"
#include "integration/support/live_util.h"

namespace reaperd::itest {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;
constexpr int kJobs = 8;
constexpr std::uint64_t kJobStartMib = 3;
constexpr std::uint64_t kJobGrowMib = 20;  // 8 x 20 MiB: more than the headroom, so a kill
constexpr long kJobNsPerMib = 50 * 1000 * 1000;

// Runs the scenario with the given growth weight; returns the first kill line ("" if none).
std::string FirstKill(int growth_weight, pid_t* static_pid, pid_t* build_parent) {
  auto sb = live::Sandbox("growth", 256 * kMiB);
  if (!sb) return "";
  // Warn at once (the baseline is taken there), kill well before the limit, and no reclaim
  // chain holding the first kill while the jobs grow.
  TempConfig cfg(
      "[detector]\nwarn_available_percent = 75\nreclaim_available_percent = 20\n"
      "kill_available_percent = 15\nkill_time_to_exhaustion_ms = 0\n"
      "[reclaim]\nenabled = false\n[rank]\ngrowth_weight = " +
      std::to_string(growth_weight) + "\n");
  if (!cfg.ok()) return "";
  Hog editor = Hog::Spawn({.touch_mib = 60}, sb.get());  // static, larger than any job
  BuildGroup build = BuildGroup::Start(*sb, {.jobs = kJobs,
                                             .start_mib = kJobStartMib,
                                             .grow_mib = kJobGrowMib,
                                             .ns_per_mib = kJobNsPerMib});
  *static_pid = editor.pid();
  *build_parent = build.parent();
  if (editor.pid() <= 0 || build.parent() <= 0) return "";
  // The jobs are in the cgroup with their first pages touched.
  WaitFor([&] { return sb->Procs().size() >= 2 + kJobs && sb->Usage() > 80 * kMiB; }, 3000);
  Daemon d({sb->cgroup()}, 15000, {"--config", cfg.path()});
  if (!d.WaitStarted()) return "";
  const bool warned = WaitFor(
      [&] {
        for (const auto& l : d.Lines("level")) {
          if (l.find(" to=warn ") != std::string::npos) return true;
        }
        return false;
      },
      3000);
  EXPECT_TRUE(warned) << d.Log();
  build.ReleaseGrowth();
  WaitFor([&] { return !d.Lines("kill").empty(); }, 6000);
  d.Stop();
  EXPECT_EQ(sb->OomKills(), 0u) << "the kernel's memcg OOM killer acted first\n" << d.Log();
  const auto kills = d.Lines("kill");
  if (kills.empty()) ADD_FAILURE() << "no kill\n" << d.Log();
  std::string first = kills.empty() ? "" : kills.front();
  editor.Kill();
  sb->KillAll();
  return first;
}

TEST(GrowthLive, TheGrowingBuildsJobDiesNotTheLargerStaticProcess) {
  pid_t editor = 0, parent = 0;
  const std::string kill = FirstKill(100, &editor, &parent);
  ASSERT_FALSE(kill.empty());
  const auto victim = static_cast<pid_t>(Field(kill, "pid"));
  EXPECT_NE(victim, editor) << "the static process was chosen: " << kill;
  EXPECT_NE(victim, parent) << kill;
  // The kill line shows the term: the job's own growth, its application's (the build's
  // tree, rooted at the parent), and the points they added to the score.
  EXPECT_EQ(TextField(kill, "app"), "tree:" + std::to_string(parent)) << kill;
  EXPECT_EQ(Field(kill, "app_members"), static_cast<std::uint64_t>(kJobs + 1)) << kill;
  EXPECT_GT(Field(kill, "growth_pages"), 0u) << kill;
  EXPECT_GT(Field(kill, "app_growth_pages"), Field(kill, "growth_pages")) << kill;
  EXPECT_EQ(Field(kill, "growth_points"), Field(kill, "app_growth_pages")) << kill;
#if !defined(__SANITIZE_ADDRESS__)
  // Under ASan a forked job's rss counts the shadow pages it shares with the test process
  // (charged elsewhere), so it can read larger than the static process: the pid checks above
  // already say the victim is a job.
  EXPECT_LT(Field(kill, "rss_pages"), 60 * kMiB / 4096) << "a job, smaller than the static one";
#endif
}

TEST(GrowthLive, WithoutTheGrowthTermTheLargestProcessDies) {
  pid_t editor = 0, parent = 0;
  const std::string kill = FirstKill(0, &editor, &parent);
  ASSERT_FALSE(kill.empty());
  EXPECT_EQ(static_cast<pid_t>(Field(kill, "pid")), editor) << kill;
  EXPECT_EQ(Field(kill, "growth_points"), 0u) << kill;
  EXPECT_EQ(TextField(kill, "app"), "none") << kill;
}

// `reaperd rank --growth-window` measures growth as the daemon does during an episode: a
// process that grows in the window shows it, a static one shows none, and the score is the
// badness plus the term.
TEST(GrowthLive, RankGrowthWindowShowsWhatGrew) {
  auto sb = live::Sandbox("growth-rank", 256 * kMiB);
  ASSERT_TRUE(sb);
  Hog still = Hog::Spawn({.touch_mib = 20}, sb.get());
  Hog grows = Hog::Spawn({.touch_mib = 1, .grow_mib_per_s = 40, .grow_max_mib = 60}, sb.get());
  ASSERT_GT(still.pid(), 0);
  ASSERT_GT(grows.pid(), 0);
  const std::string cmd = std::string(REAPERD_BINARY) +
                          " rank --json --top 0 --scope cgroup:" + sb->cgroup() +
                          " --growth-window 500ms";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  std::array<char, 65536> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ASSERT_EQ(::pclose(p), 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["growth_window_ms"], 500);
  EXPECT_EQ(j["growth_weight"], 100);
  std::map<pid_t, nlohmann::json> cands;
  for (const auto& c : j["candidates"]) cands[c["process"]["pid"].get<pid_t>()] = c;
  ASSERT_EQ(cands.count(still.pid()), 1u) << out;
  ASSERT_EQ(cands.count(grows.pid()), 1u) << out;
  const auto& g = cands[grows.pid()]["score"];
  EXPECT_GT(g["growth"].get<std::int64_t>(), 5 * 256) << "over 5 MiB in 500 ms at 40 MiB/s";
  EXPECT_EQ(g["growth_points"], g["app_growth"]);
  EXPECT_EQ(g["total"].get<std::int64_t>(),
            g["badness"].get<std::int64_t>() + g["growth_points"].get<std::int64_t>());
  EXPECT_EQ(cands[grows.pid()]["application"]["kind"], "tree");
  EXPECT_EQ(cands[still.pid()]["score"]["growth"], 0);
  EXPECT_EQ(cands[still.pid()]["score"]["app_growth"], 0) << "its own application";
  still.Kill();
  grows.Kill();
}

}  // namespace
}  // namespace reaperd::itest
