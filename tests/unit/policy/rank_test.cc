#include "policy/rank.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace reaperd::policy {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

Process Proc(pid_t pid, const char* comm, std::uint64_t anon_mib, int adj = 0) {
  Process p;
  p.pid = pid;
  p.ppid = 1;
  p.starttime = 1000 + static_cast<std::uint64_t>(pid);
  p.comm.Assign(comm);
  p.has_mm = true;
  p.state = 'S';
  p.rss_anon = anon_mib * kMiB;
  p.oom_score_adj = adj;
  p.uid = 1000;
  p.cgroup = "/user.slice/app";
  return p;
}

Snapshot Snap(std::vector<Process> ps) {
  Snapshot s;
  s.processes = std::move(ps);
  s.page_size = 4096;
  s.total_pages = 1024 * 1024;  // 4 GiB
  return s;
}

TEST(Rank, KernelBadnessOrdersByFootprint) {
  auto s = Snap({Proc(10, "small", 10), Proc(11, "big", 300), Proc(12, "mid", 100)});
  s.processes[0].swap = 5 * kMiB;
  s.processes[0].pagetables = 1 * kMiB;
  Ranker r(config::RankConfig{});
  auto ranking = r.Rank(s, 999);
  ASSERT_EQ(ranking.candidates.size(), 3u);
  EXPECT_EQ(s.processes[ranking.candidates[0].index].pid, 11);
  EXPECT_EQ(s.processes[ranking.candidates[1].index].pid, 12);
  const Score& small = ranking.candidates[2];
  EXPECT_EQ(small.rss, 10 * 256);
  EXPECT_EQ(small.swap, 5 * 256);
  EXPECT_EQ(small.pagetables, 256);
  EXPECT_EQ(small.total, 16 * 256);
}

// A swap-exhausted kill takes the largest swap user (systemd-oomd's ManagedOOMSwap), but
// never past a preference: the avoided process with more swap stays behind.
TEST(Rank, SwapExhaustedKillLeadsWithTheLargestSwapUser) {
  auto s = Snap({Proc(10, "big", 300), Proc(11, "swapper", 100), Proc(12, "mid", 200),
                 Proc(13, "avoided", 10)});
  s.processes[1].swap = 150 * kMiB;  // badness 250 MiB: second by badness, first by swap
  s.processes[2].swap = 20 * kMiB;
  s.processes[3].swap = 900 * kMiB;
  s.processes[3].oomd = kOomdAvoid;
  Ranker r(config::RankConfig{});
  auto ranking = r.Rank(s, 999);
  ASSERT_EQ(ranking.candidates.size(), 4u);
  ASSERT_EQ(s.processes[ranking.candidates[0].index].pid, 10);
  LeadWithLargestSwap(ranking);
  std::vector<pid_t> order;
  for (const Score& c : ranking.candidates) order.push_back(s.processes[c.index].pid);
  EXPECT_EQ(order, (std::vector<pid_t>{11, 10, 12, 13}));
}

// A refreshed snapshot: entries carried over unread may have grown since, by at most what the
// used memory grew beyond what the re-read entries account for. The first candidate stands
// only if no carried candidate ranked alike could have grown past it with that.
TEST(Rank, CarriedCandidatesWithinTheUnseenGrowthOfTheFirstMayOutrankIt) {
  auto s = Snap({Proc(10, "top", 300), Proc(11, "carried", 100), Proc(12, "avoided", 250)});
  s.processes[1].carried = true;
  s.processes[2].carried = true;
  s.processes[2].oomd = kOomdAvoid;  // ranked last whatever it grew: never a rival
  Ranker r(config::RankConfig{});
  auto ranking = r.Rank(s, 999);
  ASSERT_EQ(s.processes[ranking.candidates[0].index].pid, 10);
  constexpr std::int64_t kPagesPerMiB = 256;
  auto CarriedMayOutrank = [](const Ranking& rk, const policy::Snapshot& snap, std::int64_t pages,
                              int weight, bool by_swap) {
    return CarriedRivals(rk, snap, pages, weight, by_swap, {}) > 0;
  };
  // No growth: the carried one keeps its rank. 100 MiB: 100 + 100 (+100 growth term) < 300.
  EXPECT_FALSE(CarriedMayOutrank(ranking, s, 0, 100, false));
  EXPECT_FALSE(CarriedMayOutrank(ranking, s, 99 * kPagesPerMiB, 100, false));
  // 100 MiB with the growth term at 100%: 100 + 100 + 100 = 300, a tie at least.
  EXPECT_TRUE(CarriedMayOutrank(ranking, s, 100 * kPagesPerMiB, 100, false));
  // Without the growth term it takes 200 MiB.
  EXPECT_FALSE(CarriedMayOutrank(ranking, s, 199 * kPagesPerMiB, 0, false));
  EXPECT_TRUE(CarriedMayOutrank(ranking, s, 200 * kPagesPerMiB, 0, false));
  // Led by swap: the carried one's swap against the first's.
  ranking.candidates[0].swap = 50 * kPagesPerMiB;
  EXPECT_FALSE(CarriedMayOutrank(ranking, s, 49 * kPagesPerMiB, 100, true));
  EXPECT_TRUE(CarriedMayOutrank(ranking, s, 50 * kPagesPerMiB, 100, true));
  // A first candidate carried over itself: its own figures are old.
  s.processes[0].carried = true;
  EXPECT_TRUE(CarriedMayOutrank(ranking, s, 0, 100, false));
}

// The rivals themselves, for the kill to read again (instead of all of /proc): every carried
// candidate within the bound, the first one too when it is carried; named up to the buffer's
// size, counted beyond it.
TEST(Rank, CarriedRivalsAreNamedAndCounted) {
  auto s = Snap({Proc(10, "top", 300), Proc(11, "near", 250), Proc(12, "nearer", 280),
                 Proc(13, "far", 10), Proc(14, "fresh", 290)});
  for (int k : {1, 2, 3}) s.processes[k].carried = true;
  Ranker r(config::RankConfig{});
  auto ranking = r.Rank(s, 999);
  ASSERT_EQ(s.processes[ranking.candidates[0].index].pid, 10);
  constexpr std::int64_t kPagesPerMiB = 256;
  std::array<pid_t, 4> out{};
  // 50 MiB without the growth term: 250 + 50 and 280 + 50 reach 300; 10 + 50 does not, and
  // the fresh one (read again) is no rival whatever its size.
  ASSERT_EQ(CarriedRivals(ranking, s, 50 * kPagesPerMiB, 0, false, out), 2u);
  EXPECT_EQ((std::vector<pid_t>{out[0], out[1]}), (std::vector<pid_t>{12, 11}));
  EXPECT_EQ(CarriedRivals(ranking, s, 0, 0, false, out), 0u);
  // More rivals than room: counted all the same, so the caller knows the list is short.
  std::array<pid_t, 1> one{};
  EXPECT_EQ(CarriedRivals(ranking, s, 400 * kPagesPerMiB, 0, false, one), 3u);
  // A carried first candidate is its own rival (its figures are old), named first.
  s.processes[0].carried = true;
  ASSERT_EQ(CarriedRivals(ranking, s, 0, 0, false, out), 1u);
  EXPECT_EQ(out[0], 10);
}

TEST(Rank, AdjScalesLikeTheKernel) {
  // 500 * (1048576 / 1000) = 500 * 1048 pages: the kernel divides before multiplying.
  auto s = Snap({Proc(10, "a", 100, 500), Proc(11, "b", 1000)});
  Ranker r(config::RankConfig{});
  auto ranking = r.Rank(s, 999);
  ASSERT_EQ(ranking.candidates.size(), 2u);
  const Score& top = ranking.candidates[0];
  EXPECT_EQ(s.processes[top.index].pid, 10);
  EXPECT_EQ(top.adj, 500 * 1048);
  EXPECT_EQ(top.total, 100 * 256 + 500 * 1048);
  // oom_score: (1000 + total*1000/totalpages) * 2/3
  EXPECT_EQ(top.oom_score, static_cast<int>((1000 + top.total * 1000 / (1024 * 1024)) * 2 / 3));
}

TEST(Rank, ProtectionsWithReasons) {
  auto init = Proc(1, "systemd", 50);
  auto kthread = Proc(2, "kthreadd", 0);
  kthread.kernel_thread = true;
  kthread.has_mm = false;
  auto self = Proc(50, "reaperd", 5);
  auto zombie = Proc(51, "z", 0);
  zombie.state = 'Z';
  zombie.has_mm = false;
  auto min = Proc(52, "sshd-like", 500, -1000);
  auto named = Proc(53, "Xorg", 400);
  auto cg = Proc(54, "svc", 400);
  cg.cgroup = "/system.slice/important.service";
  auto user = Proc(55, "rootjob", 400);
  user.uid = 0;
  auto skipped = Proc(56, "stuck", 900);
  auto victim = Proc(57, "leaker", 100);
  auto s = Snap({init, kthread, self, zombie, min, named, cg, user, skipped, victim});

  config::RankConfig rc;
  rc.protect_comm = {"Xorg"};
  rc.protect_cgroup = {"/system.slice/important.service"};
  rc.protect_uid = {0};
  Ranker r(rc);
  auto ranking = r.Rank(s, 50, {ProcessId{56, 1056}});
  ASSERT_EQ(ranking.candidates.size(), 1u);
  EXPECT_EQ(s.processes[ranking.candidates[0].index].pid, 57);
  std::vector<std::pair<pid_t, ProtectReason>> got;
  for (const auto& p : ranking.protected_processes) {
    got.emplace_back(s.processes[p.index].pid, p.reason);
  }
  std::vector<std::pair<pid_t, ProtectReason>> want = {{1, ProtectReason::kInit},
                                                       {2, ProtectReason::kKernelThread},
                                                       {50, ProtectReason::kSelf},
                                                       {51, ProtectReason::kNoMm},
                                                       {52, ProtectReason::kOomScoreAdjMin},
                                                       {53, ProtectReason::kConfigComm},
                                                       {54, ProtectReason::kConfigCgroup},
                                                       {55, ProtectReason::kConfigUid},
                                                       {56, ProtectReason::kSkipped}};
  EXPECT_EQ(got, want);
}

TEST(Rank, SkippedOnlyMatchesSameIncarnation) {
  auto s = Snap({Proc(56, "reused", 900)});
  Ranker r(config::RankConfig{});
  // Same PID, different start time: a new process, not the skipped victim.
  auto ranking = r.Rank(s, 1, {ProcessId{56, 1}});
  EXPECT_EQ(ranking.candidates.size(), 1u);
}

TEST(Rank, CgroupPrefixMatchesWholeComponents) {
  auto a = Proc(10, "a", 100);
  a.cgroup = "/app.slice/db";
  auto b = Proc(11, "b", 100);
  b.cgroup = "/app.slice/dbx";
  config::RankConfig rc;
  rc.protect_cgroup = {"/app.slice/db"};
  Ranker r(rc);
  auto ranking = r.Rank(Snap({a, b}), 1);
  ASSERT_EQ(ranking.candidates.size(), 1u);
  EXPECT_EQ(ranking.candidates[0].index, 1u);
}

TEST(Rank, PreferAvoidAndProtectRules) {
  config::RankConfig rc;
  config::Rule prefer;
  prefer.name = "renderers";
  prefer.action = config::RuleAction::kPrefer;
  prefer.weight = 300;
  prefer.cmdline = "--type=renderer";
  config::Rule avoid;
  avoid.name = "editor";
  avoid.action = config::RuleAction::kAvoid;
  avoid.weight = 400;  // the sign is normalised: avoid always subtracts
  avoid.comm = "^emacs$";
  avoid.uid = 1000;
  config::Rule protect;
  protect.action = config::RuleAction::kProtect;
  protect.exe = "/usr/bin/important$";
  config::Rule empty;  // no matcher: matches nothing
  empty.weight = 1000;
  rc.rules = {prefer, avoid, protect, empty};

  auto renderer = Proc(10, "chrome", 100);
  renderer.cmdline = "/opt/chrome --type=renderer --lang=en";
  auto emacs = Proc(11, "emacs", 600);
  auto imp = Proc(12, "important", 900);
  imp.exe = "/usr/bin/important";
  auto plain = Proc(13, "plain", 200);
  Ranker r(rc);
  auto s = Snap({renderer, emacs, imp, plain});
  auto ranking = r.Rank(s, 1);
  ASSERT_EQ(ranking.candidates.size(), 3u);
  EXPECT_EQ(s.processes[ranking.candidates[0].index].pid, 10);
  ASSERT_EQ(ranking.candidates[0].rules.size(), 1u);
  EXPECT_EQ(ranking.candidates[0].rules[0].points, 300 * 1048);
  EXPECT_EQ(s.processes[ranking.candidates[1].index].pid, 13);
  const Score& e = ranking.candidates[2];
  EXPECT_EQ(s.processes[e.index].pid, 11);
  ASSERT_EQ(e.rules.size(), 1u);
  EXPECT_EQ(e.rules[0].weight, -400);
  ASSERT_EQ(ranking.protected_processes.size(), 1u);
  EXPECT_EQ(ranking.protected_processes[0].reason, ProtectReason::kRule);
  EXPECT_EQ(ranking.protected_processes[0].rule, 2);
}

TEST(Rank, UidMatcherMustMatch) {
  config::RankConfig rc;
  config::Rule avoid;
  avoid.action = config::RuleAction::kAvoid;
  avoid.weight = 900;
  avoid.comm = "emacs";
  avoid.uid = 0;  // emacs of root only
  rc.rules = {avoid};
  Ranker r(rc);
  auto ranking = r.Rank(Snap({Proc(11, "emacs", 600)}), 1);
  ASSERT_EQ(ranking.candidates.size(), 1u);
  EXPECT_TRUE(ranking.candidates[0].rules.empty());
}

TEST(Scope, ParseAndContain) {
  Scope s;
  ASSERT_TRUE(ParseScope("system", &s));
  EXPECT_EQ(s.kind, ScopeKind::kSystem);
  ASSERT_TRUE(ParseScope("cgroup:user.slice/app/", &s));
  EXPECT_EQ(s.cgroup, "/user.slice/app");
  EXPECT_EQ(s.Name(), "cgroup:/user.slice/app");
  EXPECT_TRUE(s.Contains("/user.slice/app"));
  EXPECT_TRUE(s.Contains("/user.slice/app/tab1"));
  EXPECT_FALSE(s.Contains("/user.slice/apps"));
  EXPECT_FALSE(s.Contains(""));
  EXPECT_FALSE(ParseScope("cgroup:", &s));
  EXPECT_FALSE(ParseScope("cgroup:/a/../b", &s));
  EXPECT_FALSE(ParseScope("sys", &s));
}

TEST(Rank, RankIntoAWarmRankingMatchesAFreshOne) {
  // The kill path ranks into the same Ranking every time: what a previous, bigger ranking
  // left there (more candidates, rule effects, protections) must not show through.
  config::RankConfig rc;
  config::Rule prefer;
  prefer.action = config::RuleAction::kPrefer;
  prefer.weight = 300;
  prefer.comm = "^chrome$";
  config::Rule protect;
  protect.action = config::RuleAction::kProtect;
  protect.comm = "^important$";
  rc.rules = {prefer, protect};
  Ranker r(rc);
  auto before = Snap({Proc(10, "chrome", 100), Proc(11, "important", 900), Proc(12, "a", 50),
                      Proc(13, "b", 60), Proc(1, "init", 5)});
  Ranking warm;
  r.RankInto(before, 99, {}, warm);
  ASSERT_EQ(warm.candidates.size(), 3u);
  ASSERT_EQ(warm.protected_processes.size(), 2u);

  auto after = Snap({Proc(20, "x", 10), Proc(21, "important", 700), Proc(22, "y", 30)});
  r.RankInto(after, 99, {}, warm);
  const Ranking fresh = r.Rank(after, 99);
  ASSERT_EQ(warm.candidates.size(), 2u);
  ASSERT_EQ(fresh.candidates.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(warm.candidates[i].index, fresh.candidates[i].index);
    EXPECT_EQ(warm.candidates[i].total, fresh.candidates[i].total);
    EXPECT_TRUE(warm.candidates[i].rules.empty());
  }
  EXPECT_EQ(after.processes[warm.candidates[0].index].pid, 22);
  ASSERT_EQ(warm.protected_processes.size(), 1u);
  EXPECT_EQ(warm.protected_processes[0].reason, ProtectReason::kRule);
}

TEST(Rank, FullTiesKeepSnapshotOrder) {
  // Same score, footprint and start time: the order of the snapshot decides, as a stable
  // sort would. Forty of them: past std::sort's insertion-sort cut-off (16), where an
  // unstable sort would shuffle them.
  std::vector<Process> ps;
  for (pid_t pid = 30; pid < 70; ++pid) {
    ps.push_back(Proc(pid, "twin", 64));
    ps.back().starttime = 5000;
  }
  Ranker r(config::RankConfig{});
  auto ranking = r.Rank(Snap(ps), 1);
  ASSERT_EQ(ranking.candidates.size(), ps.size());
  for (std::size_t i = 0; i < ps.size(); ++i) EXPECT_EQ(ranking.candidates[i].index, i);
}

// Issue 15: the cgroup's own preferences (scan::CgroupPrefs) order before any score:
// ManagedOOMPreference=omit protects, avoid ranks last, oomd's prefer ranks first.
TEST(Rank, CgroupPreferencesOrderBeforeTheScore) {
  auto omitted = Proc(10, "db", 900);
  omitted.oomd = kOomdOmit;
  auto avoided = Proc(11, "shell", 800);
  avoided.oomd = kOomdAvoid;
  auto preferred = Proc(12, "batch", 5);
  preferred.oomd = kOomdPrefer;
  auto plain = Proc(13, "tab", 100);
  Ranker r(config::RankConfig{});
  auto out = r.Rank(Snap({omitted, avoided, preferred, plain}), 1);
  ASSERT_EQ(out.candidates.size(), 3u);
  EXPECT_EQ(out.candidates[0].index, 2u) << "the preferred cgroup's process first";
  EXPECT_EQ(out.candidates[1].index, 3u);
  EXPECT_EQ(out.candidates[2].index, 1u) << "the avoided one only when nothing else is left";
  EXPECT_EQ(out.candidates[2].tier, -1);
  ASSERT_EQ(out.protected_processes.size(), 1u);
  EXPECT_EQ(out.protected_processes[0].reason, ProtectReason::kOomdOmit);
  EXPECT_TRUE(r.protection()->Check(omitted, 1).has_value()) << "the killer's re-walks spare it";
}

// Issue 16: the kubelet and the container runtime keep every container on the node alive;
// like the kernel's -999 for them under kubelet, they are never victims. Only as root and
// outside any container: a process can name itself "kubelet", and a container can run its
// own "containerd"; a conmon in its engine's conmon scope is the engine's.
TEST(Rank, TheKubeletAndTheContainerRuntimeAreProtected) {
  std::vector<Process> ps;
  const char* comms[] = {"kubelet", "containerd", "containerd-shim", "crio",
                         "conmon",  "dockerd",    "podman"};
  pid_t pid = 100;
  for (const char* c : comms) {
    Process p = Proc(pid++, c, 500);
    p.uid = 0;
    p.cgroup = "/system.slice/" + std::string(c) + ".service";
    ps.push_back(p);
  }
  Process conmon = Proc(pid++, "conmon", 500);
  conmon.uid = 0;
  conmon.cgroup = "/machine.slice/libpod-conmon-" + std::string(64, 'a') + ".scope";
  ps.push_back(conmon);
  Process user_named = Proc(pid++, "kubelet", 400);  // uid 1000: any user can name a process so
  Process in_container = Proc(pid++, "containerd", 300);
  in_container.uid = 0;
  in_container.cgroup = "/system.slice/docker-" + std::string(64, 'b') + ".scope";
  ps.push_back(user_named);
  ps.push_back(in_container);
  Ranker r(config::RankConfig{});
  auto ranking = r.Rank(Snap(ps), 999);
  ASSERT_EQ(ranking.candidates.size(), 2u);
  EXPECT_EQ(ranking.candidates[0].index, ps.size() - 2);
  EXPECT_EQ(ranking.candidates[1].index, ps.size() - 1);
  ASSERT_EQ(ranking.protected_processes.size(), ps.size() - 2);
  for (const auto& pr : ranking.protected_processes) {
    EXPECT_EQ(pr.reason, ProtectReason::kContainerRuntime) << ps[pr.index].comm.view();
  }
  EXPECT_STREQ(ProtectReasonName(ProtectReason::kContainerRuntime), "kubelet or container runtime");
}

// Issue 16: as the kubelet ranks evictions (and sets oom_score_adj), a BestEffort pod goes
// before a Burstable one or a host process, and a Guaranteed pod after them, whatever their
// sizes; within a class the score decides.
TEST(Rank, PodQosClassesOrderBeforeTheScore) {
  const std::string id(64, 'c');
  auto pod = [&](pid_t pid, std::uint64_t mib, const std::string& qos_dir) {
    Process p = Proc(pid, "app", mib);
    p.cgroup = "/kubepods" + qos_dir + "/pod" + std::to_string(pid) + "/" + id;
    return p;
  };
  auto ranking =
      Ranker(config::RankConfig{})
          .Rank(Snap({pod(10, 900, ""), pod(11, 100, "/besteffort"), pod(12, 500, "/burstable"),
                      Proc(13, "host", 400), pod(14, 50, "/besteffort"), pod(15, 800, "")}),
                999);
  std::vector<pid_t> order;
  for (const auto& s : ranking.candidates) order.push_back(static_cast<pid_t>(10 + s.index));
  EXPECT_EQ(order, (std::vector<pid_t>{11, 14, 12, 13, 10, 15}));
  EXPECT_EQ(ranking.candidates[0].qos_tier, 1);
  EXPECT_EQ(ranking.candidates[2].qos_tier, 0);
  EXPECT_EQ(ranking.candidates[4].qos_tier, -1);
}

// An administrator's cgroup preference (oomd) still comes first: it was set on purpose.
TEST(Rank, AnOomdPreferenceOrdersBeforeThePodsQos) {
  Process guaranteed = Proc(10, "app", 100);
  guaranteed.cgroup = "/kubepods/pod10/" + std::string(64, 'd');
  guaranteed.oomd = kOomdPrefer;
  Process besteffort = Proc(11, "app", 100);
  besteffort.cgroup = "/kubepods/besteffort/pod11/" + std::string(64, 'e');
  auto ranking = Ranker(config::RankConfig{}).Rank(Snap({guaranteed, besteffort}), 999);
  ASSERT_EQ(ranking.candidates.size(), 2u);
  EXPECT_EQ(ranking.candidates[0].index, 0u);
}

}  // namespace
}  // namespace reaperd::policy
