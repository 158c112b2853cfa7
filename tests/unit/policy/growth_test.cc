// Growth during an episode, counted per application (issue 15): the baseline, the growth
// term in the score, the grouping by cgroup or process tree, the weight.
#include "policy/growth.h"

#include <gtest/gtest.h>

#include "policy/rank.h"

namespace reaperd::policy {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::int64_t kPagesPerMiB = 256;

Process Proc(pid_t pid, const char* comm, std::uint64_t anon_mib, pid_t ppid = 1,
             const char* cgroup = "/user.slice/user-1000.slice/session-2.scope") {
  Process p;
  p.pid = pid;
  p.ppid = ppid;
  p.session = 100;  // the terminal's shell, pid 100, leads the session
  p.pgrp = pid;
  p.starttime = 1000 + static_cast<std::uint64_t>(pid);
  p.comm.Assign(comm);
  p.has_mm = true;
  p.state = 'S';
  p.rss_anon = anon_mib * kMiB;
  p.uid = 1000;
  p.cgroup = cgroup;
  return p;
}

Snapshot Snap(std::vector<Process> ps) {
  Snapshot s;
  s.processes = std::move(ps);
  s.page_size = 4096;
  s.total_pages = 4 * 1024 * 1024;  // 16 GiB
  return s;
}

config::RankConfig Weight(int w) {
  config::RankConfig c;
  c.growth_weight = w;
  return c;
}

pid_t TopPid(const Snapshot& s, const Ranking& r) {
  return r.candidates.empty() ? 0 : s.processes[r.candidates.front().index].pid;
}

const Score& ScoreOf(const Snapshot& s, const Ranking& r, pid_t pid) {
  for (const Score& c : r.candidates) {
    if (s.processes[c.index].pid == pid) return c;
  }
  ADD_FAILURE() << "pid " << pid << " not ranked";
  return r.candidates.front();
}

// The terminal: shell 100 (session leader) runs an editor (101, 1 GiB, idle) and make (102),
// whose 20 compiler jobs (200..219) start at 20 MiB each, all in one session scope.
Snapshot Terminal(std::uint64_t job_mib) {
  std::vector<Process> ps;
  ps.push_back(Proc(100, "bash", 5, 1));
  ps.push_back(Proc(101, "editor", 1024, 100));
  ps.push_back(Proc(102, "make", 10, 100));
  for (pid_t j = 200; j < 220; ++j) ps.push_back(Proc(j, "cc1plus", job_mib, 102));
  return Snap(std::move(ps));
}

TEST(Growth, TwentyGrowingJobsOutrankAStaticEditorOnlyWithTheGrowthTerm) {
  GrowthBaseline base;
  base.Observe(Terminal(20), true);    // the episode starts
  const Snapshot now = Terminal(200);  // each job grew by 180 MiB, the editor by nothing
  base.Observe(now, false);

  Ranker off(Weight(0));
  Ranking r0;
  off.RankInto(now, 999, {}, r0, &base);
  EXPECT_EQ(TopPid(now, r0), 101) << "growth_weight 0: the kernel's badness alone";

  Ranker on(config::RankConfig{});  // the default weight
  Ranking r1;
  on.RankInto(now, 999, {}, r1, &base);
  const pid_t top = TopPid(now, r1);
  EXPECT_GE(top, 200) << "a growing job is the victim, not the static editor";
  EXPECT_LT(top, 220);
  const Score& job = r1.candidates.front();
  EXPECT_EQ(job.growth, 180 * kPagesPerMiB);
  EXPECT_EQ(job.app_growth, 20 * 180 * kPagesPerMiB);
  EXPECT_EQ(job.app_members, 21);  // make and its 20 jobs: the shell's job
  EXPECT_EQ(job.app_root, 102);
  EXPECT_EQ(job.growth_points, job.app_growth);  // weight 100: a page grown counts once more
  EXPECT_EQ(job.total, job.rss + job.growth_points);
  const Score& editor = ScoreOf(now, r1, 101);
  EXPECT_EQ(editor.growth, 0);
  EXPECT_EQ(editor.app_growth, 0);
  EXPECT_EQ(editor.app_root, 101);  // its own job of the shell
  EXPECT_EQ(editor.total, editor.rss);
}

TEST(Growth, WeightScalesTheTerm) {
  GrowthBaseline base;
  base.Observe(Snap({Proc(10, "a", 100)}), true);
  const Snapshot now = Snap({Proc(10, "a", 140)});
  for (int w : {50, 100, 300}) {
    Ranker r(Weight(w));
    Ranking out;
    r.RankInto(now, 999, {}, out, &base);
    ASSERT_EQ(out.candidates.size(), 1u);
    EXPECT_EQ(out.candidates[0].growth, 40 * kPagesPerMiB);
    EXPECT_EQ(out.candidates[0].growth_points, 40 * kPagesPerMiB * w / 100) << w;
    EXPECT_EQ(out.candidates[0].total, 140 * kPagesPerMiB + 40 * kPagesPerMiB * w / 100) << w;
  }
}

TEST(Growth, NeverNegative) {
  GrowthBaseline base;
  base.Observe(Snap({Proc(10, "shrinks", 500), Proc(11, "grows", 10)}), true);
  const Snapshot now = Snap({Proc(10, "shrinks", 100), Proc(11, "grows", 30)});
  EXPECT_EQ(base.Growth(now.processes[0]), 0u);
  EXPECT_EQ(base.Growth(now.processes[1]), 20 * kMiB);
  Ranker r(config::RankConfig{});
  Ranking out;
  r.RankInto(now, 999, {}, out, &base);
  // Both are their own application (children of init): the shrinking one adds nothing, and
  // takes nothing away from its score.
  EXPECT_EQ(ScoreOf(now, out, 10).app_growth, 0);
  EXPECT_EQ(ScoreOf(now, out, 10).total, 100 * kPagesPerMiB);
}

TEST(Growth, NoBaselineNoTerm) {
  const Snapshot now = Snap({Proc(10, "a", 100)});
  GrowthBaseline base;  // never observed: no episode
  EXPECT_EQ(base.Growth(now.processes[0]), 0u);
  Ranker r(config::RankConfig{});
  Ranking out;
  r.RankInto(now, 999, {}, out, &base);
  EXPECT_EQ(out.candidates[0].growth_points, 0);
  EXPECT_EQ(out.candidates[0].total, 100 * kPagesPerMiB);
}

TEST(Growth, NothingGrewNothingGrouped) {
  const Snapshot now = Terminal(20);
  GrowthBaseline base;
  base.Observe(now, true);
  Ranker r(config::RankConfig{});
  Ranking out;
  r.RankInto(now, 999, {}, out, &base);
  EXPECT_EQ(TopPid(now, out), 101);
  for (const Score& s : out.candidates) {
    EXPECT_EQ(s.growth_points, 0);
    EXPECT_STREQ(ApplicationKind(s), "none");  // the grouping is skipped: no cost at the kill
  }
}

TEST(Growth, ReusedPidGetsNothingFromTheOldBaseline) {
  GrowthBaseline base;
  // pid 10 had 10 MiB when the episode started; then it exited and its PID was reused.
  base.Observe(Snap({Proc(10, "old", 10), Proc(11, "other", 50)}), true);
  Process reused = Proc(10, "new", 100);
  reused.starttime = 5000;  // started after the episode's first scan
  const Snapshot now = Snap({reused, Proc(11, "other", 50)});
  base.Observe(now, false);
  // Not 90 MiB against the old process's baseline: it is new in the episode, so all of its
  // rss grew during it.
  EXPECT_EQ(base.Growth(now.processes[0]), 100 * kMiB);

  // And an old process's baseline stays with it: a reused PID that was seen with 500 MiB
  // at the start gives its successor no baseline to shrink against either.
  GrowthBaseline base2;
  base2.Observe(Snap({Proc(10, "old", 500)}), true);
  Process again = Proc(10, "new", 100);
  again.starttime = 6000;
  base2.Observe(Snap({again}), false);
  EXPECT_EQ(base2.Growth(again), 100 * kMiB);
}

TEST(Growth, ProcessSeenLateButOlderThanTheEpisodeCountsFromItsFirstSighting) {
  GrowthBaseline base;
  base.Observe(Snap({Proc(10, "a", 10), Proc(20, "b", 10)}), true);
  // pid 15 started before pid 20 (which the first scan saw) but was not in that scan (moved
  // into the scope since): its baseline is its rss when first seen, not 0.
  base.Observe(Snap({Proc(10, "a", 10), Proc(15, "moved", 300), Proc(20, "b", 10)}), false);
  EXPECT_EQ(base.Growth(Proc(15, "moved", 340)), 40 * kMiB);
}

TEST(Growth, PerApplicationCgroupCountsTogetherWhateverTheTree) {
  // A browser in its own app scope: its renderers are children of the browser, some of a
  // zygote, some re-parented to the user manager. The cgroup is the application.
  const char* app = "/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-42.scope";
  const char* other = "/user.slice/user-1000.slice/user@1000.service/app.slice/app-editor-7.scope";
  auto snap = [&](std::uint64_t r) {
    Process main = Proc(300, "firefox", 350, 1, app);
    Process r1 = Proc(301, "Web Content", r, 300, app);
    Process r2 = Proc(302, "Web Content", r, 1, app);  // re-parented
    r2.session = 302;                                  // and in a session of its own
    Process ed = Proc(400, "editor", 700, 1, other);
    return Snap({main, r1, r2, ed});
  };
  GrowthBaseline base;
  base.Observe(snap(50), true);
  const Snapshot now = snap(250);
  Ranker r(config::RankConfig{});
  Ranking out;
  r.RankInto(now, 999, {}, out, &base);
  for (pid_t pid : {300, 301, 302}) {
    EXPECT_EQ(ScoreOf(now, out, pid).app_growth, 400 * kPagesPerMiB) << pid;
    EXPECT_EQ(ScoreOf(now, out, pid).app_root, 0) << pid;  // the cgroup
    EXPECT_EQ(ScoreOf(now, out, pid).app_members, 3) << pid;
  }
  // The largest process of the growing application is the victim, not the larger editor.
  EXPECT_EQ(TopPid(now, out), 300);
  EXPECT_EQ(ScoreOf(now, out, 400).app_growth, 0);
}

TEST(Growth, OneTerminalScopeSplitsByTheShellsJobs) {
  // Two shells (two sessions) in one scope, each with a job; their growth is not shared.
  const char* tab =
      "/user.slice/user-1000.slice/user@1000.service/app.slice/"
      "app-org.gnome.Terminal.slice/vte-spawn-1234.scope";
  auto snap = [&](std::uint64_t grow) {
    Process sh1 = Proc(100, "bash", 5, 50, tab);
    Process job1 = Proc(110, "ninja", 10, 100, tab);
    Process cc = Proc(111, "cc1", 10 + grow, 110, tab);
    cc.pgrp = 111;  // ninja puts each job in a process group of its own
    Process sh2 = Proc(200, "bash", 5, 50, tab);
    sh2.session = 200;
    Process job2 = Proc(210, "python3", 10 + grow / 2, 200, tab);
    job2.session = 200;
    return Snap({sh1, job1, cc, sh2, job2});
  };
  GrowthBaseline base;
  base.Observe(snap(0), true);
  const Snapshot now = snap(100);
  Ranker r(config::RankConfig{});
  Ranking out;
  r.RankInto(now, 999, {}, out, &base);
  EXPECT_EQ(ScoreOf(now, out, 111).app_root, 110);  // ninja's tree, across process groups
  EXPECT_EQ(ScoreOf(now, out, 111).app_growth, 100 * kPagesPerMiB);
  EXPECT_EQ(ScoreOf(now, out, 110).app_growth, 100 * kPagesPerMiB);
  EXPECT_EQ(ScoreOf(now, out, 210).app_root, 210);
  EXPECT_EQ(ScoreOf(now, out, 210).app_growth, 50 * kPagesPerMiB);
  EXPECT_EQ(ScoreOf(now, out, 100).app_root, 100);  // a session leader is its own
  EXPECT_EQ(ScoreOf(now, out, 100).app_growth, 0);
}

TEST(Growth, TheTreeStopsAtTheCgroupsEdge) {
  // make in one scope, its jobs moved into another (systemd-run --scope): not one tree.
  Process make = Proc(102, "make", 10, 100);
  Process job = Proc(200, "cc1", 10, 102, "/user.slice/user-1000.slice/run-u5.scope");
  GrowthBaseline base;
  base.Observe(Snap({make, job}), true);
  job.rss_anon = 110 * kMiB;
  const Snapshot now = Snap({make, job});
  Ranker r(config::RankConfig{});
  Ranking out;
  r.RankInto(now, 999, {}, out, &base);
  EXPECT_EQ(ScoreOf(now, out, 200).app_root, 200);
  EXPECT_EQ(ScoreOf(now, out, 102).app_growth, 0);
}

TEST(Growth, WhichCgroupsHoldOneApplication) {
  EXPECT_TRUE(CgroupIsOneApplication("/system.slice/nginx.service"));
  EXPECT_TRUE(CgroupIsOneApplication(
      "/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-42.scope"));
  EXPECT_TRUE(
      CgroupIsOneApplication("/system.slice/docker-0123456789abcdef0123456789abcdef"
                             "0123456789abcdef0123456789abcdef.scope"));
  EXPECT_FALSE(CgroupIsOneApplication("/user.slice/user-1000.slice/session-2.scope"));
  EXPECT_FALSE(
      CgroupIsOneApplication("/user.slice/user-1000.slice/user@1000.service/app.slice/"
                             "app-org.gnome.Terminal.slice/vte-spawn-1.scope"));
  EXPECT_FALSE(CgroupIsOneApplication("/"));
  EXPECT_FALSE(CgroupIsOneApplication("/user.slice"));
}

TEST(Growth, ResetEndsTheEpisode) {
  GrowthBaseline base;
  base.Observe(Snap({Proc(10, "a", 10)}), true);
  EXPECT_EQ(base.Growth(Proc(10, "a", 30)), 20 * kMiB);
  base.Reset();
  EXPECT_FALSE(base.started());
  EXPECT_EQ(base.Growth(Proc(10, "a", 30)), 0u);
  base.Observe(Snap({Proc(10, "a", 30)}), false);  // the next episode: the table kept its room
  EXPECT_EQ(base.Growth(Proc(10, "a", 45)), 15 * kMiB);
}

TEST(Growth, KillPathObserveNeverGrowsTheTable) {
  GrowthBaseline base;
  base.Observe(Snap({Proc(10, "a", 10)}), true);
  const std::size_t cap = base.capacity();
  std::vector<Process> many;
  for (pid_t p = 10; p < 10 + static_cast<pid_t>(cap); ++p) many.push_back(Proc(p, "x", 1));
  base.Observe(Snap(many), false);
  EXPECT_EQ(base.capacity(), cap);
  EXPECT_GT(base.dropped(), 0u);  // what did not fit grows nothing, and is counted
  EXPECT_EQ(base.Growth(Proc(10 + static_cast<pid_t>(cap) - 1, "x", 50)), 0u);
}

}  // namespace
}  // namespace reaperd::policy
