// The victim's checks right before its signal (start time, rss, oom_score_adj) go through the
// files the scanner holds open for its top candidates (VictimBuilder::ReadThroughHeld), a
// pread each, instead of opening the process's files by path (issue 13). A /proc in a
// temporary directory read through a real view: a file removed after the hold still reads
// through the held fd, and not by path.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "kill/victim.h"
#include "scan/scanner.h"
#include "sys/faulty_system_view.h"
#include "unit/kill/fakes.h"
#include "unit/scan/proc_tree.h"

namespace reaperd::kill {
namespace {

struct HeldWorld {
  scan::testing::ProcTree tree;
  sys::RealSystemView base;
  sys::FaultySystemView view;
  sys::FakeClock clock;
  scan::Scanner scanner;
  testing::FakeOps ops;
  config::KillConfig cfg;
  policy::Snapshot snap;

  HeldWorld() : base(tree.View()), view(base), scanner(view, clock) {
    for (pid_t pid = 100; pid < 103; ++pid) {
      tree.Process(pid, "/app");
      ops.procs[pid] = testing::FakeProc{};
      ops.procs[pid].mm = pid;
    }
    EXPECT_TRUE(scanner.ScanInto(policy::Scope{}, {}, snap));
  }
  std::size_t IndexOf(pid_t pid) const {
    return static_cast<std::size_t>(policy::FindByPid(snap.processes, pid) -
                                    snap.processes.begin());
  }
};

TEST(VictimBuilderHeld, AHeldVictimIsCheckedThroughItsHeldFilesAndNotByPath) {
  HeldWorld w;
  ASSERT_EQ(w.snap.processes.size(), 3u);
  const std::vector<pid_t> top = {101};
  w.scanner.Hold(top);
  ASSERT_EQ(w.scanner.held(), 1u);
  // 101's stat and oom_score_adj are gone by path; the held fds still read them.
  std::filesystem::remove(w.tree.root + "/proc/101/stat");
  std::filesystem::remove(w.tree.root + "/proc/101/oom_score_adj");
  VictimBuilder b(w.view, w.ops, w.cfg);
  b.ReadThroughHeld(&w.scanner);
  Victim v;
  ASSERT_TRUE(b.Build(w.snap, w.IndexOf(101), 0, v));
  EXPECT_FALSE(v.main_stale) << "checked by path";
  ASSERT_EQ(v.member_count, 1u);
  EXPECT_EQ(v.members[0].pid, 101);
  EXPECT_EQ(v.identity.rss_bytes, 100u * 4096u);  // stat's rss, read with the start time

  // Without the held files (another builder), the same check by path finds nothing.
  VictimBuilder by_path(w.view, w.ops, w.cfg);
  Victim v2;
  ASSERT_TRUE(by_path.Build(w.snap, w.IndexOf(101), 0, v2));
  EXPECT_TRUE(v2.main_stale);
}

// A held file names the process it was opened on: once that process is gone (ESRCH), the
// victim is stale, whatever the PID names now.
TEST(VictimBuilderHeld, AHeldVictimThatDiedIsStale) {
  HeldWorld w;
  const std::vector<pid_t> top = {100};
  w.scanner.Hold(top);
  w.view.AddRule({"100/stat", sys::Fault::kEsrch, 1, 0});
  VictimBuilder b(w.view, w.ops, w.cfg);
  b.ReadThroughHeld(&w.scanner);
  Victim v;
  ASSERT_TRUE(b.Build(w.snap, w.IndexOf(100), 0, v));
  EXPECT_TRUE(v.main_stale);
  EXPECT_EQ(v.member_count, 0u);
}

// The held process died and its PID names another process now, the one the snapshot read
// since (another start time): the held read fails, and the check falls back to the path,
// which names the snapshot's process. No miss for a stale held file.
TEST(VictimBuilderHeld, AHeldFileOfADeadProcessFallsBackToThePath) {
  HeldWorld w;
  const std::vector<pid_t> top = {101};
  w.scanner.Hold(top);
  w.tree.Put("proc/101/stat",
             "101 (p) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 9999 1000000 50\n");
  w.snap.processes[w.IndexOf(101)].starttime = 9999;
  // The first read of 101/stat (the held one) fails as a dead process's; the path's passes.
  w.view.AddRule({"101/stat", sys::Fault::kEsrch, 2, 0});
  VictimBuilder b(w.view, w.ops, w.cfg);
  b.ReadThroughHeld(&w.scanner);
  Victim v;
  ASSERT_TRUE(b.Build(w.snap, w.IndexOf(101), 0, v));
  EXPECT_FALSE(v.main_stale) << "a stale held file stopped the kill";
  EXPECT_EQ(v.identity.rss_bytes, 50u * 4096u);
  EXPECT_EQ(w.view.injected(sys::Fault::kEsrch), 1);
}

// A held oom_score_adj that reads -1000 now (set since the scan) stops the kill.
TEST(VictimBuilderHeld, AHeldVictimThatAskedNeverToBeKilledIsStale) {
  HeldWorld w;
  const std::vector<pid_t> top = {102};
  w.scanner.Hold(top);
  w.tree.Put("proc/102/oom_score_adj", "-1000\n");  // rewritten in place: the held fd sees it
  VictimBuilder b(w.view, w.ops, w.cfg);
  b.ReadThroughHeld(&w.scanner);
  Victim v;
  ASSERT_TRUE(b.Build(w.snap, w.IndexOf(102), 0, v));
  EXPECT_TRUE(v.main_stale);
}

}  // namespace
}  // namespace reaperd::kill
