// Fault injection in the middle of a scan: the captured host-v1 /proc and cgroup trees seen
// through a FaultySystemView that fails chosen reads (ENOENT, ESRCH, EACCES, EIO, short
// reads, garbage) by path and every Nth call. The scanner, the ranking and the kill path
// must cope: no crash, no process misjudged (a fault may only drop a process from the
// scan, never change who it is, its oom_score_adj or its cgroup), and every signal goes to
// a process the fault-free scan also ranked as a candidate. Signals go to a recording fake.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "kill/killer.h"
#include "kill/victim.h"
#include "policy/rank.h"
#include "scan/scanner.h"
#include "sys/faulty_system_view.h"
#include "unit/kill/fakes.h"

namespace reaperd {
namespace {

using sys::Fault;

const std::string kProc = std::string(REAPERD_FIXTURES) + "/proc/host-v1";

// The captured processes live in /process_api/<id>/reaperd-capture of the v1 memory
// hierarchy, but the captured cgroup tree holds only that leaf: a cgroup scope needs the
// limits along the path, so this builds them (values copied from the captured leaf).
struct CgroupTree {
  std::string root;
  std::vector<std::string> made;
  CgroupTree() {
    char templ[] = "/tmp/reaperd-fault-XXXXXX";
    EXPECT_NE(::mkdtemp(templ), nullptr);
    root = templ;
    Put("memory.usage_in_bytes", "4096\n");  // marks the root as a v1 memory hierarchy
    std::string dir;
    for (const char* part :
         {"process_api", "f23a496f531af42c86ef3b5f16495f23", "reaperd-capture"}) {
      dir += std::string(dir.empty() ? "" : "/") + part;
      ::mkdir((root + "/" + dir).c_str(), 0755);
      made.push_back(dir);
      Put(dir + "/memory.limit_in_bytes", "268435456\n");
      Put(dir + "/memory.usage_in_bytes", "4096\n");
      Put(dir + "/cgroup.procs", "");  // every cgroup has one
    }
    // The leaf's members, as the captured leaf listed them (19630 exited before the capture
    // of /proc: a vanished member).
    Put(dir + "/cgroup.procs", "19627\n19628\n19629\n19630\n19631\n19632\n");
  }
  void Put(const std::string& rel, const std::string& text) {
    std::ofstream(root + "/" + rel) << text;
  }
  ~CgroupTree() {
    for (auto it = made.rbegin(); it != made.rend(); ++it) {
      ::unlink((root + "/" + *it + "/memory.limit_in_bytes").c_str());
      ::unlink((root + "/" + *it + "/memory.usage_in_bytes").c_str());
      ::unlink((root + "/" + *it + "/cgroup.procs").c_str());
      ::rmdir((root + "/" + *it).c_str());
    }
    ::unlink((root + "/memory.usage_in_bytes").c_str());
    ::rmdir(root.c_str());
  }
};

class FixedClock final : public sys::Clock {
 public:
  sys::Nanos Now() const noexcept override { return 1'000'000'000; }
};

struct Pipeline {
  CgroupTree tree;
  sys::RealSystemView base;
  sys::FaultySystemView view{base};
  FixedClock clock;
  scan::Scanner scanner{view, clock};
  config::Config cfg = config::DefaultConfig();

  static sys::RealSystemView Open(const std::string& cgroup_root) {
    auto v = sys::RealSystemView::Open(kProc, cgroup_root);
    EXPECT_TRUE(v) << v.error().ToString();
    return std::move(*v);
  }
  Pipeline() : base(Open(tree.root)) {}

  Result<policy::Snapshot> Scan(const policy::Scope& scope) {
    scan::ScanOptions so;
    return scanner.Scan(scope, so);
  }
};

policy::Scope ScopeOf(const char* text) {
  policy::Scope s;
  EXPECT_TRUE(policy::ParseScope(text, &s));
  return s;
}

std::map<pid_t, policy::Process> ByPid(const policy::Snapshot& s) {
  std::map<pid_t, policy::Process> m;
  for (const auto& p : s.processes) m[p.pid] = p;
  return m;
}

std::vector<pid_t> CandidatePids(const policy::Snapshot& s, const policy::Ranking& r) {
  std::vector<pid_t> out;
  for (const auto& c : r.candidates) out.push_back(s.processes[c.index].pid);
  return out;
}

struct Case {
  const char* scope;
  const char* file;
};

// Every per-process file the scanner reads, the /proc entry itself, and both scopes.
const Case kCases[] = {
    {"system", "/stat"},
    {"system", "/status"},
    {"system", "/oom_score_adj"},
    {"system", "/cgroup"},
    {"system", "/oom_score"},
    {"system", "/cmdline"},
    {"system", "/exe"},
    {"system", "19631"},
    {"cgroup:/process_api", "/cgroup"},
    {"cgroup:/process_api", "/oom_score_adj"},
    {"cgroup:/process_api", "/status"},
    {"cgroup:/process_api", "<cgroup.procs>"},  // the listing fails: all of /proc is read
};
const Fault kFaults[] = {Fault::kEnoent, Fault::kEsrch,     Fault::kEacces,
                         Fault::kEio,    Fault::kShortRead, Fault::kGarbage};

TEST(FaultInjection, ScanAndRankNeverMisjudgeAProcess) {
  int cases = 0, injected = 0, dropped = 0;
  for (const Case& c : kCases) {
    Pipeline clean;
    const policy::Scope scope = ScopeOf(c.scope);
    auto base = clean.Scan(scope);
    ASSERT_TRUE(base) << base.error().ToString();
    ASSERT_GE(base->processes.size(), 3u);
    const auto truth = ByPid(*base);
    policy::Ranker ranker(clean.cfg.rank);
    const auto base_candidates = CandidatePids(*base, ranker.Rank(*base, 0));
    ASSERT_FALSE(base_candidates.empty());

    for (Fault f : kFaults) {
      for (std::uint32_t nth : {1u, 2u, 3u}) {
        Pipeline p;
        // skip = 1: the first process reads cleanly, the fault lands mid-scan.
        p.view.AddRule({c.file, f, nth, 1});
        auto snap = p.Scan(scope);
        SCOPED_TRACE(std::string(c.scope) + " " + c.file + " " + sys::FaultName(f) + " every " +
                     std::to_string(nth));
        ASSERT_TRUE(snap) << snap.error().ToString();
        ++cases;
        injected += p.view.injected_total();
        dropped += static_cast<int>(base->processes.size() - snap->processes.size());
        for (const auto& q : snap->processes) {
          auto it = truth.find(q.pid);
          ASSERT_NE(it, truth.end()) << "pid " << q.pid << " appeared from nowhere";
          const policy::Process& t = it->second;
          EXPECT_EQ(q.starttime, t.starttime) << q.pid;
          EXPECT_EQ(q.comm.view(), t.comm.view()) << q.pid;
          EXPECT_EQ(q.oom_score_adj, t.oom_score_adj) << q.pid;
          EXPECT_EQ(q.cgroup, t.cgroup) << q.pid;
          // Without status the uid is unknown, never another uid.
          EXPECT_TRUE(q.uid == t.uid || q.uid == scan::kUnknownUid) << q.pid;
          EXPECT_EQ(q.kernel_thread, t.kernel_thread) << q.pid;
          EXPECT_EQ(q.has_mm, t.has_mm) << q.pid;
          EXPECT_EQ(q.rss(), t.rss()) << q.pid;
        }
        // A dropped process is counted (unreadable or vanished), not silently lost.
        EXPECT_GE(snap->processes.size() + (snap->unreadable - base->unreadable) +
                      (snap->vanished - base->vanished),
                  base->processes.size());
        policy::Ranker r(p.cfg.rank);
        for (pid_t pid : CandidatePids(*snap, r.Rank(*snap, 0))) {
          EXPECT_NE(std::find(base_candidates.begin(), base_candidates.end(), pid),
                    base_candidates.end())
              << "pid " << pid << " became a candidate only because of a fault";
        }
      }
    }
  }
  EXPECT_EQ(cases, static_cast<int>(std::size(kCases) * std::size(kFaults) * 3));
  EXPECT_GT(injected, cases);  // every case injected at least one fault, most several
  EXPECT_GT(dropped, 0);
  std::printf("fault cases %d, faults injected %d, processes dropped %d\n", cases, injected,
              dropped);
}

TEST(FaultInjection, OomScoreAdjCutShortIsNeverReadAsAnotherValue) {
  // "500\n" cut to "50": the process must be left out, not ranked with adj 50.
  Pipeline p;
  p.view.AddRule({"19631/oom_score_adj", Fault::kShortRead, 1, 0});
  auto snap = p.Scan(ScopeOf("system"));
  ASSERT_TRUE(snap);
  EXPECT_EQ(p.view.injected(Fault::kShortRead), 1);
  for (const auto& q : snap->processes) EXPECT_NE(q.pid, 19631);
  EXPECT_GE(snap->unreadable, 1);
}

// The lab's hog was spared twice because its status read failed under pressure: first as
// "no mm" (protected), then left out of the scan. The memory of a process can be read
// from statm or stat, so a status fault must leave the ranking as it was.
TEST(FaultInjection, StatusUnreadableNeverSparesTheBiggestProcess) {
  Pipeline clean;
  auto base = clean.Scan(ScopeOf("system"));
  ASSERT_TRUE(base);
  policy::Ranker ranker(clean.cfg.rank);
  const auto base_candidates = CandidatePids(*base, ranker.Rank(*base, 0));
  ASSERT_FALSE(base_candidates.empty());
  const pid_t top = base_candidates.front();
  const auto truth = ByPid(*base);
  for (Fault f : {Fault::kEacces, Fault::kEio, Fault::kShortRead, Fault::kGarbage}) {
    SCOPED_TRACE(sys::FaultName(f));
    Pipeline p;
    p.view.AddRule({std::to_string(top) + "/status", f, 1, 0});
    auto snap = p.Scan(ScopeOf("system"));
    ASSERT_TRUE(snap);
    EXPECT_EQ(p.view.injected(f), 1);
    EXPECT_EQ(snap->unreadable, base->unreadable + 1);
    const auto got = ByPid(*snap);
    ASSERT_TRUE(got.contains(top));
    const policy::Process& q = got.at(top);
    EXPECT_TRUE(q.has_mm);
    EXPECT_EQ(q.uid, scan::kUnknownUid);
    EXPECT_EQ(q.rss(), truth.at(top).rss());  // statm and status agree in the capture
    EXPECT_EQ(q.oom_score_adj, truth.at(top).oom_score_adj);
    policy::Ranker r(p.cfg.rank);
    EXPECT_EQ(CandidatePids(*snap, r.Rank(*snap, 0)), base_candidates);
  }
}

TEST(FaultInjection, StatusAndStatmUnreadableFallBackToStatRss) {
  Pipeline clean;
  auto base = clean.Scan(ScopeOf("system"));
  ASSERT_TRUE(base);
  policy::Ranker ranker(clean.cfg.rank);
  const pid_t top = CandidatePids(*base, ranker.Rank(*base, 0)).front();
  // stat field 24 of the captured process, read here from the fixture itself.
  std::ifstream in(kProc + "/" + std::to_string(top) + "/stat");
  std::string stat_text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string_view rest(stat_text);
  rest.remove_prefix(rest.rfind(')') + 2);  // field 3 onward
  std::uint64_t rss_pages = 0;
  for (int field = 3; field <= 24; ++field) {
    const std::size_t sp = rest.find(' ');
    if (field == 24) rss_pages = std::stoull(std::string(rest.substr(0, sp)));
    rest.remove_prefix(sp + 1);
  }
  ASSERT_GT(rss_pages, 0u);

  Pipeline p;
  p.view.AddRule({std::to_string(top) + "/status", Fault::kEio, 1, 0});
  p.view.AddRule({std::to_string(top) + "/statm", Fault::kGarbage, 1, 0});
  auto snap = p.Scan(ScopeOf("system"));
  ASSERT_TRUE(snap);
  const auto got = ByPid(*snap);
  ASSERT_TRUE(got.contains(top));
  EXPECT_TRUE(got.at(top).has_mm);
  EXPECT_EQ(got.at(top).rss(), rss_pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)));
}

// A status fault on a kernel thread or a zombie (vsize 0 in stat) never gives it a mm.
TEST(FaultInjection, StatusUnreadableKeepsNoMmProcessesWithoutMm) {
  Pipeline clean;
  auto base = clean.Scan(ScopeOf("system"));
  ASSERT_TRUE(base);
  Pipeline p;
  p.view.AddRule({"/status", Fault::kEio, 1, 0});
  auto snap = p.Scan(ScopeOf("system"));
  ASSERT_TRUE(snap);
  const auto truth = ByPid(*base);
  int without_mm = 0;
  for (const auto& q : snap->processes) {
    ASSERT_TRUE(truth.contains(q.pid));
    EXPECT_EQ(q.has_mm, truth.at(q.pid).has_mm) << q.pid;
    if (!q.has_mm) ++without_mm;
  }
  EXPECT_GE(without_mm, 2);  // the kernel threads and the zombie of the capture
}

// The kill path's scan reads no command line unless a rule matches on one.
TEST(FaultInjection, KillScanReadsCmdlineOnlyForCmdlineRules) {
  config::Config cfg = config::DefaultConfig();
  ASSERT_TRUE(std::none_of(cfg.rank.rules.begin(), cfg.rank.rules.end(),
                           [](const config::Rule& r) { return r.cmdline.has_value(); }));
  Pipeline p;
  p.view.AddRule({"/cmdline", Fault::kEio, 1, 0});
  ASSERT_TRUE(p.scanner.Scan(ScopeOf("system"), scan::KillScanOptions(cfg.rank)));
  EXPECT_EQ(p.view.injected(Fault::kEio), 0);

  config::Rule rule;
  rule.action = config::RuleAction::kPrefer;
  rule.weight = 100;
  rule.cmdline = "stress";
  cfg.rank.rules.push_back(rule);
  Pipeline q;
  q.view.AddRule({"/cmdline", Fault::kEio, 1, 0});
  auto snap = q.scanner.Scan(ScopeOf("system"), scan::KillScanOptions(cfg.rank));
  ASSERT_TRUE(snap);
  EXPECT_GT(q.view.injected(Fault::kEio), 0);
}

TEST(FaultInjection, CgroupUnreadableNeverPutsAProcessInsideAScope) {
  for (Fault f : kFaults) {
    Pipeline p;
    p.view.AddRule({"/cgroup", f, 1, 0});
    auto snap = p.Scan(ScopeOf("cgroup:/process_api"));
    ASSERT_TRUE(snap);
    EXPECT_TRUE(snap->processes.empty()) << sys::FaultName(f);
  }
}

// The kill path: victims built from a faulted scan, with faults also hitting the pidfd
// start-time check, are signalled only when they are exactly the scanned process.
TEST(FaultInjection, KillPathSignalsOnlyVerifiedCandidates) {
  Pipeline clean;
  auto base = clean.Scan(ScopeOf("system"));
  ASSERT_TRUE(base);
  policy::Ranker ranker(clean.cfg.rank);
  const auto allowed = CandidatePids(*base, ranker.Rank(*base, 0));

  int builds = 0, stale = 0, signalled = 0;
  for (const char* file : {"/stat", "/statm", "/status", "/oom_score_adj"}) {
    for (Fault f : kFaults) {
      for (std::uint32_t nth : {1u, 2u}) {
        Pipeline p;
        kill::testing::FakeOps ops;
        for (const auto& q : base->processes) ops.procs[q.pid] = {};
        p.view.AddRule({file, f, nth, 1});
        auto snap = p.Scan(ScopeOf("system"));
        ASSERT_TRUE(snap);
        // Then a fault of another kind on the start-time check of every other build.
        p.view.ClearRules();
        p.view.AddRule({"/stat", kFaults[(builds + nth) % std::size(kFaults)], 2, 0});
        policy::Ranker r(p.cfg.rank);
        auto ranking = r.Rank(*snap, 0);
        config::KillConfig kc = p.cfg.kill;
        kc.widen = config::Widen::kNone;
        kill::VictimBuilder builder(p.view, ops, kc);
        kill::Killer killer(p.view, ops, p.clock, kc, false);
        for (std::size_t i = 0; i < ranking.candidates.size() && i < 4; ++i) {
          kill::Victim v;
          ASSERT_TRUE(builder.Build(*snap, ranking.candidates[i].index, 0, v));
          ++builds;
          if (v.main_stale) {
            ++stale;
            continue;
          }
          kill::KillResult kr;
          killer.Signal(v, kr);
        }
        for (const auto& s : ops.Sent()) {
          ++signalled;
          EXPECT_NE(std::find(allowed.begin(), allowed.end(), s.pid), allowed.end())
              << "signalled pid " << s.pid << " under " << file << " " << sys::FaultName(f);
          EXPECT_EQ(s.generation, 1);
        }
      }
    }
  }
  EXPECT_GT(builds, 0);
  EXPECT_GT(stale, 0);  // faults on stat during the start-time check make victims stale
  EXPECT_GT(signalled, 0);
  std::printf("victims built %d, stale %d, signals %d\n", builds, stale, signalled);
}

}  // namespace
}  // namespace reaperd
