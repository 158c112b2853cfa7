// A cgroup scope's scan reads only the cgroup's members, listed from cgroup.procs of the
// cgroup and its descendants, not all of /proc: a /proc and a v1 cgroup tree in a temporary
// directory, read through a FaultySystemView that fails (and so records) any read of a
// process outside the scope.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "scan/cgroup_namespace.h"
#include "scan/scanner.h"
#include "sys/faulty_system_view.h"
#include "unit/scan/proc_tree.h"

namespace reaperd {
namespace {

class FixedClock final : public sys::Clock {
 public:
  sys::Nanos Now() const noexcept override { return 1'000'000'000; }
};

using Tree = scan::testing::ProcTree;

// Options under which a held candidate is re-read through its held files (the kernel's own
// oom_score, which only a whole read gives, is not asked for).
const scan::ScanOptions kHeldOptions{
    .cmdline_max = 0, .read_exe = true, .read_kernel_oom_score = false};

std::vector<pid_t> Pids(const policy::Snapshot& s) {
  std::vector<pid_t> out;
  for (const auto& p : s.processes) out.push_back(p.pid);
  return out;
}

// The tree's /proc read whole, as the system scope's standing snapshot, through a
// FaultySystemView that fails nothing until a test adds a rule.
struct WholeRead {
  explicit WholeRead(const Tree& t) : base(t.View()), view(base), scanner(view, clock) {
    EXPECT_TRUE(scanner.ScanInto(policy::Scope{}, {}, standing));
  }
  sys::RealSystemView base;
  sys::FaultySystemView view;
  FixedClock clock;
  scan::Scanner scanner;
  policy::Snapshot standing;
};

TEST(ScannerCgroup, ScopeScanReadsOnlyTheCgroupsMembers) {
  Tree t;
  t.Process(100, "/app");
  t.Process(101, "/app/sub");
  t.Process(102, "/other");  // elsewhere: must not even be opened
  t.Process(103, "/other");  // listed in /app but moved out since: not a member
  // 104 is listed in /app but has no /proc entry: it exited, a normal event.
  t.Procs("/app", "103\n100\n104\n100\n");
  t.Procs("/app/sub", "101\n");
  t.Procs("/other", "102\n");
  auto base = sys::RealSystemView::Open(t.root + "/proc", t.root + "/cg");
  ASSERT_TRUE(base) << base.error().ToString();
  sys::FaultySystemView view(*base);
  view.AddRule({"102/", sys::Fault::kEio, 1, 0});
  FixedClock clock;
  scan::Scanner scanner(view, clock);
  policy::Scope scope;
  ASSERT_TRUE(policy::ParseScope("cgroup:/app", &scope));
  policy::Snapshot snap;
  ASSERT_TRUE(scanner.ScanInto(scope, {}, snap));
  EXPECT_EQ(Pids(snap), (std::vector<pid_t>{100, 101}));
  EXPECT_EQ(snap.vanished, 1);
  EXPECT_EQ(snap.unreadable, 0);
  EXPECT_EQ(view.injected_total(), 0) << "read outside the scope: " << view.faulted_paths()[0];

  // The system scope still reads every process of /proc.
  sys::FaultySystemView plain(*base);
  scan::Scanner all(plain, clock);
  auto sys_snap = all.Scan(policy::Scope{}, {});
  ASSERT_TRUE(sys_snap);
  EXPECT_EQ(Pids(*sys_snap), (std::vector<pid_t>{100, 101, 102, 103}));
}

TEST(ScannerCgroup, UnlistableCgroupFallsBackToAllOfProc) {
  // Without a cgroup.procs to read, the scan still finds the members, through /proc.
  Tree t;
  t.Process(100, "/app");
  t.Process(102, "/other");
  auto base = sys::RealSystemView::Open(t.root + "/proc", t.root + "/cg");
  ASSERT_TRUE(base);
  FixedClock clock;
  scan::Scanner scanner(*base, clock);
  policy::Scope scope;
  ASSERT_TRUE(policy::ParseScope("cgroup:/app", &scope));
  auto snap = scanner.Scan(scope, {});
  ASSERT_TRUE(snap) << snap.error().ToString();
  EXPECT_EQ(Pids(*snap), (std::vector<pid_t>{100}));
}

// reaperd in a container's cgroup namespace (the DaemonSet's pod, Podman on cgroup v2) with
// the host's hierarchy bind-mounted: mountinfo shows the mount's root two levels above the
// namespace's ("/../.."), reaperd's own cgroup reads "/" and is /pods/reaperd under the mount,
// and the processes of a sibling cgroup read "/../leaker". Red on the old code: the scope's
// member read "/../leaker", so it was no member, and the scan found nobody to kill.
TEST(ScannerCgroup, InsideACgroupNamespaceMembersAreFoundUnderTheMount) {
  Tree t;
  constexpr pid_t kSelf = 4242;
  t.Put("proc/self/mountinfo",
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw\n"
        "35 31 0:32 /../.. " +
            t.root + "/cg rw,relatime - cgroup cgroup rw,memory\n");
  t.Put("proc/self/cgroup", "4:memory:/\n1:name=systemd:/\n");
  t.Procs("/pods/reaperd", std::to_string(kSelf) + "\n");
  t.Procs("/pods/other", "7\n");
  t.Put("cg/pods/leaker/memory.limit_in_bytes", "268435456\n");
  t.Procs("/pods/leaker", "100\n");
  t.Process(100, "/../leaker");
  t.Process(101, "/../../system.slice/kubelet.service");

  auto base = sys::RealSystemView::Open(t.root + "/proc", t.root + "/cg");
  ASSERT_TRUE(base);
  const scan::CgroupNamespace ns = scan::FindCgroupNamespace(*base, kSelf);
  EXPECT_EQ(ns.levels, 2);
  EXPECT_EQ(ns.base, "/pods/reaperd");
  EXPECT_EQ(ns.problem, "");
  base->set_cgroup_ns_base(ns.base);

  FixedClock clock;
  scan::Scanner scanner(*base, clock);
  policy::Scope scope;
  ASSERT_TRUE(policy::ParseScope("cgroup:/pods/leaker", &scope));
  policy::Snapshot snap;
  ASSERT_TRUE(scanner.ScanInto(scope, {}, snap));
  ASSERT_EQ(Pids(snap), (std::vector<pid_t>{100}));
  EXPECT_EQ(snap.processes[0].cgroup, "/pods/leaker");

  // The system scope sees the host's services by their host paths, so rules and protections
  // written for them (the kubelet's) apply.
  scan::Scanner all(*base, clock);
  auto sys_snap = all.Scan(policy::Scope{}, {});
  ASSERT_TRUE(sys_snap);
  ASSERT_EQ(Pids(*sys_snap), (std::vector<pid_t>{100, 101}));
  EXPECT_EQ(sys_snap->processes[1].cgroup, "/system.slice/kubelet.service");
}

// Without the bind-mounted host tree (a mount made inside the namespace, root "/"), nothing is
// rebased, and a process outside the namespace is in no cgroup at all rather than in "/../x".
TEST(ScannerCgroup, APathTheMountCannotShowIsNoCgroup) {
  Tree t;
  t.Put("proc/self/mountinfo", "35 31 0:32 / " + t.root + "/cg rw - cgroup cgroup rw,memory\n");
  t.Put("proc/self/cgroup", "4:memory:/\n");
  t.Process(100, "/../leaker");
  auto base = sys::RealSystemView::Open(t.root + "/proc", t.root + "/cg");
  ASSERT_TRUE(base);
  const scan::CgroupNamespace ns = scan::FindCgroupNamespace(*base, 4242);
  EXPECT_EQ(ns.levels, 0);
  EXPECT_EQ(ns.base, "");
  FixedClock clock;
  scan::Scanner all(*base, clock);
  auto snap = all.Scan(policy::Scope{}, {});
  ASSERT_TRUE(snap);
  ASSERT_EQ(Pids(*snap), (std::vector<pid_t>{100}));
  EXPECT_EQ(snap->processes[0].cgroup, "");
}

// Own cgroup not found at the mount's depth: said, and nothing rebased.
TEST(ScannerCgroup, AnUnfoundNamespaceRootIsReported) {
  Tree t;
  t.Put("proc/self/mountinfo", "35 31 0:32 /.. " + t.root + "/cg rw - cgroup cgroup rw,memory\n");
  t.Put("proc/self/cgroup", "4:memory:/\n");
  t.Procs("/pods", "1\n");
  auto base = sys::RealSystemView::Open(t.root + "/proc", t.root + "/cg");
  ASSERT_TRUE(base);
  const scan::CgroupNamespace ns = scan::FindCgroupNamespace(*base, 4242);
  EXPECT_EQ(ns.levels, 1);
  EXPECT_EQ(ns.base, "");
  EXPECT_NE(ns.problem.find("not found"), std::string::npos) << ns.problem;
}

TEST(ScannerRefresh, ReadsOnlyNewProcessesAndTheOnesAskedFor) {
  // The kill path's refresh of a standing system snapshot: a process that appeared since is
  // read, a top candidate named in reread is read again, one that exited is dropped, and
  // every other entry is carried over unread (a fault on any of their files would show).
  Tree t;
  for (pid_t pid = 100; pid < 110; ++pid) t.Process(pid, "/app");
  WholeRead r(t);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(r.standing.processes.size(), 10u);
  ASSERT_EQ(r.standing.full_at_ns, 1'000'000'000);

  t.Process(120, "/app");                             // new since
  std::filesystem::remove_all(t.root + "/proc/103");  // exited
  t.Put("proc/101/status", "Name:\tp\nTgid:\t101\nUid:\t0\t0\t0\t0\nRssAnon:\t9000 kB\n");
  t.Put("proc/105/status", "Name:\tp\nTgid:\t105\nUid:\t0\t0\t0\t0\nRssAnon:\t7000 kB\n");
  for (pid_t pid : {100, 102, 104, 105, 106, 107, 108, 109}) {
    r.view.AddRule({std::to_string(pid) + "/", sys::Fault::kEio, 1, 0});
  }
  const std::vector<pid_t> reread = {101, 103};
  policy::Snapshot out;
  ASSERT_TRUE(r.scanner.RefreshInto(policy::Scope{}, {}, reread, r.standing, out));
  EXPECT_EQ(r.view.injected_total(), 0)
      << "read a carried-over process: " << r.view.faulted_paths()[0];
  EXPECT_EQ(Pids(out), (std::vector<pid_t>{100, 101, 102, 104, 105, 106, 107, 108, 109, 120}));
  EXPECT_EQ(out.reused, 8);
  EXPECT_EQ(out.full_at_ns, r.standing.full_at_ns);
  auto rss = [&](pid_t pid) {
    for (const auto& p : out.processes) {
      if (p.pid == pid) return p.rss_anon;
    }
    return std::uint64_t{0};
  };
  EXPECT_EQ(rss(101), 9000u * 1024) << "a top candidate is read again";
  EXPECT_EQ(rss(105), 1000u * 1024) << "the others keep the standing snapshot's figures";
  EXPECT_EQ(rss(120), 1000u * 1024);
  // What the refresh saw change: 120's 1000 KiB new, 101's 8000 KiB grown, 103's 1000 KiB
  // gone; not 105's growth (carried over unread, and marked so).
  EXPECT_EQ(out.seen_growth_bytes, std::int64_t{8000} * 1024);
  for (const auto& p : out.processes) {
    EXPECT_EQ(p.carried, p.pid != 101 && p.pid != 120) << p.pid;
  }

  // Another scope in prev: a full scan instead.
  policy::Scope app;
  ASSERT_TRUE(policy::ParseScope("cgroup:/app", &app));
  policy::Snapshot wrong_scope;
  wrong_scope.scope = app;
  wrong_scope.full_at_ns = 1;
  r.view.ClearRules();
  policy::Snapshot full;
  ASSERT_TRUE(r.scanner.RefreshInto(policy::Scope{}, {}, reread, wrong_scope, full));
  EXPECT_EQ(full.reused, 0);
  EXPECT_EQ(full.processes.size(), 10u);
}

// A refresh of the system scope keeps its whole read's total memory: /proc/meminfo, the
// heaviest file it would read, is read by the whole reads alone (issue 13: the kill's refresh).
TEST(ScannerRefresh, ASystemRefreshKeepsTheWholeReadsTotalWithoutReadingMeminfo) {
  Tree t;
  for (pid_t pid = 100; pid < 103; ++pid) t.Process(pid, "/app");
  WholeRead r(t);
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(r.standing.total_pages, 1000000u * 1024 / 4096);
  r.view.AddRule({"meminfo", sys::Fault::kEio, 1, 0});
  policy::Snapshot out;
  ASSERT_TRUE(r.scanner.RefreshInto(policy::Scope{}, {}, {}, r.standing, out));
  EXPECT_EQ(r.view.injected_total(), 0) << "read " << r.view.faulted_paths()[0];
  EXPECT_EQ(out.total_pages, r.standing.total_pages);
  EXPECT_EQ(out.processes.size(), 3u);
  // A whole read still reads it (and fails here).
  policy::Snapshot whole;
  EXPECT_FALSE(r.scanner.ScanInto(policy::Scope{}, {}, whole));
}

// The top candidates' files held open (Scanner::Hold): the refresh re-reads them through
// the held files alone, four reads and no open of the process's directory or files, and
// sees what changed since (a real /proc regenerates a file at each read from 0; the fixture's
// files are rewritten in place).
TEST(ScannerRefresh, AHeldTopCandidateIsReReadThroughItsHeldFilesAlone) {
  Tree t;
  for (pid_t pid = 100; pid < 104; ++pid) t.Process(pid, "/app");
  WholeRead r(t);
  ASSERT_FALSE(HasFailure());
  const std::vector<pid_t> top = {101, 102};
  r.scanner.Hold(top);
  ASSERT_EQ(r.scanner.held(), 2u);
  t.Put("proc/101/status", "Name:\tp\nTgid:\t101\nUid:\t0\t0\t0\t0\nRssAnon:\t9000 kB\n");
  t.Put("proc/101/oom_score_adj", "300\n");
  t.Put("proc/101/cgroup", "4:memory:/app/sub\n");
  // The four held reads of 101 pass; any other read of it (a whole read) fails.
  r.view.AddRule({"101/", sys::Fault::kEio, 1, 4});
  policy::Snapshot out;
  ASSERT_TRUE(r.scanner.RefreshInto(policy::Scope{}, kHeldOptions, top, r.standing, out));
  EXPECT_EQ(r.view.injected_total(), 0) << "read whole: " << r.view.faulted_paths()[0];
  ASSERT_EQ(Pids(out), (std::vector<pid_t>{100, 101, 102, 103}));
  const policy::Process& p = out.processes[1];
  EXPECT_EQ(p.rss_anon, 9000u * 1024);
  EXPECT_EQ(p.oom_score_adj, 300);
  EXPECT_EQ(p.cgroup, "/app/sub");
  EXPECT_EQ(p.starttime, 5101u);
  EXPECT_EQ(out.reused, 2);
  EXPECT_EQ(out.seen_growth_bytes, std::int64_t{8000} * 1024);  // 101's growth, read held

  // Holding another set closes what left it.
  const std::vector<pid_t> other = {103};
  r.scanner.Hold(other);
  EXPECT_EQ(r.scanner.held(), 1u);
  r.scanner.Hold({});
  EXPECT_EQ(r.scanner.held(), 0u);
}

// A held file names the process it was opened on: if that was a newcomer on a reused PID
// (another start time than the snapshot's entry), or the process exec'd (another comm), the
// process is read whole; if it died, it is dropped as vanished.
TEST(ScannerRefresh, AHeldCandidateThatChangedIsReadWholeAndOneThatDiedIsDropped) {
  Tree t;
  for (pid_t pid = 100; pid < 103; ++pid) t.Process(pid, "/app");
  WholeRead r(t);
  ASSERT_FALSE(HasFailure());
  const std::vector<pid_t> top = {100, 101};
  r.scanner.Hold(top);
  // 100: reused by a process started later, with another name.
  t.Put("proc/100/stat",
        "100 (new) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 9999 1000000 100\n");
  // 101: died (its held stat reads ESRCH).
  r.view.AddRule({"101/stat", sys::Fault::kEsrch, 1, 0});
  policy::Snapshot out;
  ASSERT_TRUE(r.scanner.RefreshInto(policy::Scope{}, {}, top, r.standing, out));
  ASSERT_EQ(Pids(out), (std::vector<pid_t>{100, 102}));
  EXPECT_EQ(out.processes[0].starttime, 9999u);
  EXPECT_EQ(out.processes[0].comm.view(), "new");
  EXPECT_EQ(out.vanished, 1);
  EXPECT_EQ(out.seen_growth_bytes, -std::int64_t{1000} * 1024);  // 101's, gone
}

// A held candidate whose held stat reads as gone (ESRCH: its process died) is let go at
// that refresh: a process that takes its PID later is held afresh by the next Hold, and
// its checks do not read a dead process's files.
TEST(ScannerRefresh, AHeldCandidateThatDiedIsLetGo) {
  Tree t;
  for (pid_t pid = 100; pid < 103; ++pid) t.Process(pid, "/app");
  WholeRead r(t);
  ASSERT_FALSE(HasFailure());
  const std::vector<pid_t> top = {100, 101};
  r.scanner.Hold(top);
  ASSERT_EQ(r.scanner.held(), 2u);
  r.view.AddRule({"101/stat", sys::Fault::kEsrch, 1, 0});
  policy::Snapshot out;
  ASSERT_TRUE(r.scanner.RefreshInto(policy::Scope{}, kHeldOptions, top, r.standing, out));
  EXPECT_EQ(Pids(out), (std::vector<pid_t>{100, 102}));
  EXPECT_EQ(out.vanished, 1);
  EXPECT_EQ(r.scanner.held(), 1u);
  EXPECT_EQ(r.scanner.HeldFd(101, scan::Scanner::HeldFile::kStat), -1);
  EXPECT_GE(r.scanner.HeldFd(100, scan::Scanner::HeldFile::kStat), 0);
}

// The kill's second look (RereadInto): only the carried entries named are read, in place;
// their growth is seen, their carried flags cleared; one that exited is dropped (what it held
// freed); nothing else is read.
TEST(ScannerRefresh, RereadIntoReadsOnlyTheNamedCarriedEntries) {
  Tree t;
  for (pid_t pid = 100; pid < 106; ++pid) t.Process(pid, "/app");
  auto base = sys::RealSystemView::Open(t.root + "/proc", t.root + "/cg");
  ASSERT_TRUE(base);
  sys::FaultySystemView view(*base);
  FixedClock clock;
  scan::Scanner scanner(view, clock);
  const policy::Scope app;  // the system
  policy::Snapshot standing;
  ASSERT_TRUE(scanner.ScanInto(app, {}, standing));
  policy::Snapshot out;
  ASSERT_TRUE(scanner.RefreshInto(app, {}, std::vector<pid_t>{105}, standing, out));
  ASSERT_EQ(out.reused, 5);
  t.Put("proc/101/status", "Name:\tp\nTgid:\t101\nUid:\t0\t0\t0\t0\nRssAnon:\t9000 kB\n");
  t.Put("proc/104/status", "Name:\tp\nTgid:\t104\nUid:\t0\t0\t0\t0\nRssAnon:\t5000 kB\n");
  std::filesystem::remove_all(t.root + "/proc/103");
  // Any read of 100, 104 (not named) or 105 (not carried) fails the test.
  for (const char* pid : {"100/", "104/", "105/"}) view.AddRule({pid, sys::Fault::kEio, 1, 0});
  scanner.RereadInto(app, {}, std::vector<pid_t>{101, 102, 103, 105, 107}, out);
  EXPECT_EQ(view.injected_total(), 0) << "read: " << view.faulted_paths()[0];
  ASSERT_EQ(Pids(out), (std::vector<pid_t>{100, 101, 102, 104, 105}));
  EXPECT_FALSE(out.processes[1].carried);
  EXPECT_EQ(out.processes[1].rss_anon, 9000u * 1024);
  EXPECT_FALSE(out.processes[2].carried);
  EXPECT_TRUE(out.processes[3].carried);
  EXPECT_EQ(out.processes[3].rss_anon, 1000u * 1024) << "not named: as carried";
  EXPECT_EQ(out.reused, 2);
  EXPECT_EQ(out.vanished, 1);
  // 101 grew by 8000 KiB, 102 not at all; 103 (exited) took its 1000 KiB away.
  EXPECT_EQ(out.seen_growth_bytes, std::int64_t{7000} * 1024);
}

// The task census (/proc/loadavg's task count and last PID): a refresh of the system scope
// probes the PIDs allocated since the standing snapshot's census instead of listing /proc,
// when the count vouches that none of its processes exited (issue 13: the kill's cost does
// not grow with the number of processes).
struct CensusTree : Tree {
  CensusTree() {
    for (pid_t pid = 100; pid < 110; ++pid) Process(pid, "/app");
    Census(10, 109);
    std::filesystem::create_directories(root + "/proc/self/ns");
    std::filesystem::create_symlink("pid:[4026531836]", root + "/proc/self/ns/pid");
  }
  void Census(int tasks, pid_t last) {
    Put("proc/loadavg",
        "0.00 0.00 0.00 1/" + std::to_string(tasks) + " " + std::to_string(last) + "\n");
  }
  // A thread of tgid, seen at /proc/TID though the listing never shows it.
  void Thread(pid_t tid, pid_t tgid) {
    Process(tid, "/app");
    Put("proc/" + std::to_string(tid) + "/status", "Name:\tp\nTgid:\t" + std::to_string(tgid) +
                                                       "\nPid:\t" + std::to_string(tid) +
                                                       "\nUid:\t0\t0\t0\t0\nRssAnon:\t1000 kB\n");
  }
};

TEST(ScannerCensus, ARefreshProbesThePidsMadeSinceInsteadOfListing) {
  CensusTree t;
  WholeRead r(t);
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(r.standing.census_pid, 109);
  EXPECT_EQ(r.standing.census_tasks, 10u);
  EXPECT_EQ(r.standing.probed, -1);

  t.Process(110, "/app");  // a new process
  t.Thread(111, 104);      // a new thread of 104
  t.Census(12, 112);       // 112: made and gone already
  t.Put("proc/101/status", "Name:\tp\nTgid:\t101\nUid:\t0\t0\t0\t0\nRssAnon:\t9000 kB\n");
  r.view.AddRule({"<pids>", sys::Fault::kEio, 1, 0});  // a listing of /proc would fail
  for (pid_t pid : {100, 102, 103, 104, 105, 106, 107, 108, 109}) {
    r.view.AddRule({std::to_string(pid) + "/", sys::Fault::kEio, 1, 0});
  }
  const std::vector<pid_t> reread = {101};
  policy::Snapshot out;
  ASSERT_TRUE(r.scanner.RefreshInto(policy::Scope{}, {}, reread, r.standing, out));
  EXPECT_EQ(r.view.injected_total(), 0) << "listed or read: " << r.view.faulted_paths()[0];
  EXPECT_EQ(Pids(out), (std::vector<pid_t>{100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110}));
  EXPECT_EQ(out.probed, 3);
  EXPECT_EQ(out.census_pid, 112);
  EXPECT_EQ(out.census_tasks, 12u);
  EXPECT_EQ(out.vanished, 0) << "a thread's TID is no vanished process";
  EXPECT_EQ(out.unreadable, 0);
  EXPECT_EQ(out.reused, 9);
  EXPECT_EQ(out.seen_growth_bytes, std::int64_t{9000} * 1024);  // 110's 1000, 101's 8000

  // The next refresh probes from the new census: nothing made since, nothing read but 101.
  policy::Snapshot again;
  ASSERT_TRUE(r.scanner.RefreshInto(policy::Scope{}, {}, reread, out, again));
  EXPECT_EQ(r.view.injected_total(), 0);
  EXPECT_EQ(again.probed, 0);
  EXPECT_EQ(again.processes.size(), 11u);
}

// The census file is held open (sys::HeldFile): a refresh reads it twice with a pread each,
// not by path. Here /proc/loadavg is renamed away after the whole read; the held fd still
// reads it (and sees it rewritten in place), so the refresh still probes instead of listing.
TEST(ScannerCensus, TheCensusIsReadThroughItsHeldFile) {
  CensusTree t;
  WholeRead r(t);
  ASSERT_FALSE(HasFailure());
  std::filesystem::rename(t.root + "/proc/loadavg", t.root + "/proc/loadavg.kept");
  t.Process(110, "/app");
  t.Put("proc/loadavg.kept", "0.00 0.00 0.00 1/11 110\n");  // in place: the held file
  policy::Snapshot out;
  ASSERT_TRUE(r.scanner.RefreshInto(policy::Scope{}, {}, {}, r.standing, out));
  EXPECT_EQ(out.probed, 1) << "the census was read by path";
  EXPECT_EQ(out.census_pid, 110);
  EXPECT_EQ(out.processes.size(), 11u);
}

TEST(ScannerCensus, AProcessGoneSinceTheCensusMakesTheRefreshList) {
  CensusTree t;
  WholeRead r(t);
  ASSERT_FALSE(HasFailure());
  // 103 exited and 110 was made: the last PID moved by one and the count did not, so the
  // count cannot vouch that every process of the snapshot is still there.
  std::filesystem::remove_all(t.root + "/proc/103");
  t.Process(110, "/app");
  t.Census(10, 110);
  policy::Snapshot out;
  ASSERT_TRUE(r.scanner.RefreshInto(policy::Scope{}, {}, {}, r.standing, out));
  EXPECT_EQ(out.probed, -1);
  EXPECT_EQ(Pids(out), (std::vector<pid_t>{100, 101, 102, 104, 105, 106, 107, 108, 109, 110}));
  EXPECT_EQ(out.seen_growth_bytes, 0);  // 110's 1000 KiB made, 103's gone
  EXPECT_EQ(out.census_pid, 110);
}

TEST(ScannerCensus, TooManyPidsSinceAWrapOrAnotherPidNamespaceMakeTheRefreshList) {
  for (int c = 0; c < 3; ++c) {
    CensusTree t;
    if (c == 2) {
      std::filesystem::remove(t.root + "/proc/self/ns/pid");
      std::filesystem::create_symlink("pid:[4026532999]", t.root + "/proc/self/ns/pid");
    }
    WholeRead r(t);
    ASSERT_FALSE(HasFailure());
    if (c == 0) t.Census(10, 109 + scan::Scanner::kMaxProbe + 1);  // nothing alive made since
    if (c == 1) t.Census(10, 50);                                  // wrapped
    policy::Snapshot out;
    ASSERT_TRUE(r.scanner.RefreshInto(policy::Scope{}, {}, {}, r.standing, out));
    EXPECT_EQ(out.probed, -1) << c;
    EXPECT_EQ(out.processes.size(), 10u) << c;
  }
}

// A PID in the probed range that the snapshot holds (a process alive since before the PIDs
// last wrapped, here reused since by another) is read again, not carried over.
TEST(ScannerCensus, AProbedPidTheSnapshotHoldsIsReadAgain) {
  CensusTree t;
  t.Process(150, "/app");
  t.Census(11, 120);
  WholeRead r(t);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(r.standing.processes.size(), 11u);
  // 150 exited and its PID went to a new process: the count is the same.
  t.Put("proc/150/stat",
        "150 (new) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 9999 1000000 100\n");
  t.Census(11, 150);
  policy::Snapshot out;
  ASSERT_TRUE(r.scanner.RefreshInto(policy::Scope{}, {}, {}, r.standing, out));
  EXPECT_EQ(out.probed, 30);
  ASSERT_EQ(out.processes.size(), 11u);
  EXPECT_EQ(out.processes.back().starttime, 9999u);
  EXPECT_EQ(out.processes.back().comm.view(), "new");
  EXPECT_FALSE(out.processes.back().carried);
}

}  // namespace
}  // namespace reaperd
