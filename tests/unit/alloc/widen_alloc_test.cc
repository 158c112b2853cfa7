// Widening reads every process it reaches afresh and judges it by the victim's protections
// (issue 12); that must stay allocation-free once warm. A cgroup-scope victim with
// process-group widening: the system-wide mm sharer walk (statm of every process), the
// scan's group members, and the killer's /proc pass reading each newcomer through
// Scanner::ReadProcess, with one newcomer outside the scope and one at -1000 (never
// signalled). Cgroup widening is not covered: its walk into child cgroups lists them into
// std::strings (the documented exception).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "kill/reaper.h"
#include "kill/victim.h"
#include "sys/clock.h"
#include "unit/alloc/counting.h"
#include "unit/alloc/static_ops.h"

namespace reaperd {
namespace {

using alloc_test::Count;
using alloc_test::Counted;
using alloc_test::StaticOps;

constexpr int kFirst = 100, kEnd = 108;
const char* const kFiles[] = {"stat", "statm", "status", "oom_score_adj", "cgroup"};

// Processes 100..107, all of process group 100: 100..103 are the scan's (in /sandbox),
// 104..105 forked since (in /sandbox), 106 in /elsewhere, 107 at oom_score_adj -1000.
struct GroupTree {
  std::string dir;
  GroupTree() {
    char templ[] = "/tmp/reaperd-widen-alloc-XXXXXX";
    EXPECT_NE(::mkdtemp(templ), nullptr);
    dir = templ;
    for (int pid = kFirst; pid < kEnd; ++pid) {
      const std::string d = dir + "/" + std::to_string(pid);
      ::mkdir(d.c_str(), 0755);
      std::ofstream(d + "/stat") << pid
                                 << " (hog) S 1 100 100 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 "
                                 << 5000 + pid << " 1000000 100\n";
      std::ofstream(d + "/statm") << "1000 " << 250 * (pid - 99) << " 10 1 0 500 0\n";
      std::ofstream(d + "/status") << "Name:\thog\nState:\tS (sleeping)\nTgid:\t" << pid
                                   << "\nPid:\t" << pid << "\nPPid:\t1\nUid:\t0\t0\t0\t0\n"
                                   << "VmRSS:\t" << pid << " kB\nRssAnon:\t" << pid << " kB\n";
      std::ofstream(d + "/oom_score_adj") << (pid == 107 ? -1000 : 0) << "\n";
      const char* cg = pid == 106 ? "/elsewhere" : "/sandbox";
      std::ofstream(d + "/cgroup") << "4:memory:" << cg << "\n0::" << cg << "\n";
    }
  }
  ~GroupTree() {
    for (int pid = kFirst; pid < kEnd; ++pid) {
      const std::string d = dir + "/" + std::to_string(pid);
      for (const char* f : kFiles) ::unlink((d + "/" + f).c_str());
      ::rmdir(d.c_str());
    }
    ::rmdir(dir.c_str());
  }
};

policy::Snapshot ScopeSnapshot() {
  policy::Snapshot s;
  s.scope.kind = policy::ScopeKind::kCgroup;
  s.scope.cgroup = "/sandbox";
  for (int pid = kFirst; pid < 104; ++pid) {
    policy::Process p;
    p.pid = pid;
    p.ppid = 1;
    p.starttime = static_cast<std::uint64_t>(5000 + pid);
    p.comm.Assign("hog");
    p.cgroup = "/sandbox";
    p.has_mm = true;
    p.pgrp = 100;
    p.rss_anon = static_cast<std::uint64_t>(250 * (pid - 99)) * 4096;
    s.processes.push_back(p);
  }
  s.total_pages = 1 << 20;
  return s;
}

TEST(ZeroAlloc, WarmProcessGroupWideningInACgroupScopeAllocatesNothing) {
  GroupTree tree;
  auto view = sys::RealSystemView::Open(tree.dir, tree.dir);
  ASSERT_TRUE(view) << view.error().ToString();
  StaticOps ops;
  config::KillConfig cfg;
  cfg.widen = config::Widen::kProcessGroup;
  sys::MonotonicClock clock;
  kill::SkipList skip;
  struct NoSysrq final : kill::SysrqWriter {
    Result<void> Trigger(char) noexcept override { return {}; }
  } sysrq;
  kill::LastResortLadder ladder(cfg, sysrq);
  kill::ReaperOptions opt;
  kill::Reaper reaper(cfg, opt, *view, ops, clock, skip, ladder);
  ASSERT_TRUE(reaper.Start());
  const policy::Snapshot snap = ScopeSnapshot();
  kill::VictimBuilder builder(*view, ops, cfg);

  auto cycle = [&] {
    kill::Victim v;
    auto b = builder.Build(snap, 3, clock.Now(), v);
    if (!b || v.main_stale || v.widen_pgrp != 100) std::abort();
    auto seq = reaper.Submit(std::move(v));
    if (!seq) std::abort();
    kill::KillResult r;
    if (!reaper.WaitPop(r, 5000)) std::abort();
  };
  cycle();  // warm-up: first use of every path
  ops.Revive();
  const int before = ops.signals.load();
  Counted c = Count([&] {
    for (int i = 0; i < 3; ++i) {
      cycle();
      ops.Revive();
    }
  });
  EXPECT_EQ(c.allocs, 0) << c.bytes << " bytes";
  // Every cycle signalled the scan's four and the two newcomers inside the scope...
  EXPECT_GE(ops.signals.load() - before, 3 * 6);
  reaper.Stop();
  // ...and never the one outside the scope nor the -1000 one (the last cycle's marks).
  ops.Revive();
  kill::Victim v;
  ASSERT_TRUE(builder.Build(snap, 3, clock.Now(), v));
  kill::Killer killer(*view, ops, clock, cfg, false);
  kill::KillResult r;
  killer.Signal(v, r);
  EXPECT_TRUE(ops.killed[5].load());
  EXPECT_FALSE(ops.killed[6].load()) << "outside the scope";
  EXPECT_FALSE(ops.killed[7].load()) << "oom_score_adj -1000";
}

}  // namespace
}  // namespace reaperd
