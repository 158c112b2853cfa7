// The sampler over captured fixture trees: a v2 cgroup of the lab VM, a v1 cgroup of the build
// machine, and the system scope. Figures are the captured files' own.
#include "daemon/sampler.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "sys/clock.h"
#include "sys/faulty_system_view.h"
#include "sys/system_view.h"

namespace reaperd::daemon {
namespace {

const std::string kFx = REAPERD_FIXTURES;

// A temporary fixture tree, removed with it (also when an assertion ends the test early).
struct TempTree {
  std::string root;
  explicit TempTree(std::string templ) {
    EXPECT_NE(::mkdtemp(templ.data()), nullptr);
    root = templ;
  }
  ~TempTree() { std::filesystem::remove_all(root); }
  void Put(const std::string& rel, const std::string& text) const {
    std::filesystem::create_directories(std::filesystem::path(root + "/" + rel).parent_path());
    std::ofstream(root + "/" + rel) << text;
  }
};

policy::Scope Cgroup(const char* path) {
  policy::Scope s;
  EXPECT_TRUE(policy::ParseScope(std::string("cgroup:") + path, &s));
  return s;
}

TEST(Sampler, V2CgroupCountsReclaimableCacheStopsAtMemoryHighAndReadsItsPsi) {
  auto view = sys::RealSystemView::Open(kFx + "/cgroup/v2-guest/proc", kFx + "/cgroup/v2-guest");
  ASSERT_TRUE(view.has_value());
  ASSERT_EQ(view->cgroup_version(), sys::CgroupVersion::kV2);
  sys::FakeClock clock;
  Sampler s(*view, clock, Cgroup("/lab.slice"));
  EXPECT_EQ(s.PsiPath(), "lab.slice/memory.pressure");
  auto r = s.Sample();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->t_ns, clock.Now());
  // memory.max is 64 MiB but memory.high 48 MiB: the kernel throttles from there on.
  EXPECT_EQ(r->total_bytes, 50331648u);
  // free (48 MiB - 9068544) + inactive_file 524288 + active_file 4096 / 2
  EXPECT_EQ(r->available_bytes, 50331648u - 9068544u + 524288u + 2048u);
  EXPECT_TRUE(r->has_psi);
  EXPECT_EQ(r->psi_some_total_us, 68921u);
  EXPECT_EQ(r->psi_full_total_us, 68921u);
}

// A sample reads only what a decision uses (issue 13: no work per tick that does not change a
// decision). The refault and scan counters (/proc/vmstat; a v2 scope's own memory.stat read a
// second time for them) were read on every sample and used by nothing: vmstat is read only for
// the kernel's OOM kill count, and a limited v2 cgroup's memory.stat once per sample, for its
// reclaimable cache. The view counts an open and each read through it. Red on the old code:
// vmstat opened and read 3 times, and the v2 scope's memory.stat opened twice and read 6 times.
TEST(Sampler, ASampleReadsNoFileNoDecisionUses) {
  for (const bool system : {true, false}) {
    SCOPED_TRACE(system ? "system" : "v2 cgroup");
    auto base =
        system ? sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1")
               : sys::RealSystemView::Open(kFx + "/cgroup/v2-guest/proc", kFx + "/cgroup/v2-guest");
    ASSERT_TRUE(base.has_value());
    sys::FaultySystemView view(*base);
    // Never fires (skip at its maximum): counts the reads of each file.
    view.AddRule({"vmstat", sys::Fault::kEio, 1, UINT32_MAX});
    view.AddRule({"lab.slice/memory.stat", sys::Fault::kEio, 1, UINT32_MAX});
    sys::FakeClock clock;
    Sampler s(view, clock, system ? policy::Scope{} : Cgroup("/lab.slice"));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(s.Sample().has_value());
    EXPECT_EQ(view.rules()[0].seen, 0u) << "vmstat read by a sample";
    EXPECT_EQ(view.rules()[1].seen, system ? 0u : 1u + 3u) << "memory.stat: one open, 3 reads";
  }
}

// A cgroup scope whose ceiling is below MemTotal takes nothing from /proc/meminfo but MemTotal
// (the comparison), and MemTotal changes only when memory is plugged or ballooned: it is read
// again after 10 s, not at every sample. A cgroup without a ceiling of its own or above it
// lives within the system's memory and reads MemAvailable at every sample. Red on the old
// code: meminfo was read at each of the three samples (1 open + 3 reads).
TEST(Sampler, ACgroupBelowMemTotalReadsMeminfoOnlyToRefreshMemTotal) {
  struct Case {
    const char* name;
    std::string proc, cgroup;
    const char* scope;
  };
  for (const Case& c :
       {Case{"v2", kFx + "/cgroup/v2-guest/proc", kFx + "/cgroup/v2-guest", "/lab.slice"},
        Case{"v1", kFx + "/proc/host-v1", kFx + "/cgroup/host-v1", "/reaperd-capture"}}) {
    SCOPED_TRACE(c.name);
    auto base = sys::RealSystemView::Open(c.proc, c.cgroup);
    ASSERT_TRUE(base.has_value());
    sys::FaultySystemView view(*base);
    view.AddRule({"meminfo", sys::Fault::kEio, 1, UINT32_MAX});  // counts, never fires
    sys::FakeClock clock;
    Sampler s(view, clock, Cgroup(c.scope));
    auto first = s.Sample();
    ASSERT_TRUE(first.has_value());
    for (int i = 0; i < 2; ++i) {
      clock.Advance(100 * sys::kMilli);
      auto r = s.Sample();
      ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->total_bytes, first->total_bytes);
      EXPECT_EQ(r->available_bytes, first->available_bytes);
    }
    EXPECT_EQ(view.rules()[0].seen, 2u) << "meminfo: one open, one read";
    clock.Advance(10 * sys::kSecond);
    ASSERT_TRUE(s.Sample().has_value());
    EXPECT_EQ(view.rules()[0].seen, 3u) << "MemTotal read again after 10 s";
  }
}

// Without a ceiling below MemTotal the cgroup's room is the system's: MemAvailable is read at
// every sample.
TEST(Sampler, ACgroupWithoutACeilingReadsMeminfoAtEverySample) {
  TempTree t("/tmp/reaperd-sampler-XXXXXX");
  t.Put("proc/meminfo", "MemTotal: 1000 kB\nMemFree: 500 kB\nMemAvailable: 600 kB\n");
  t.Put("cgroup/cgroup.controllers", "memory\n");
  t.Put("cgroup/free/memory.max", "max\n");
  t.Put("cgroup/free/memory.high", "max\n");
  t.Put("cgroup/free/memory.current", "4096\n");
  t.Put("cgroup/free/memory.pressure",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  auto base = sys::RealSystemView::Open(t.root + "/proc", t.root + "/cgroup");
  ASSERT_TRUE(base.has_value());
  sys::FaultySystemView view(*base);
  view.AddRule({"meminfo", sys::Fault::kEio, 1, UINT32_MAX});
  sys::FakeClock clock;
  Sampler s(view, clock, Cgroup("/free"));
  for (int i = 0; i < 3; ++i) {
    auto r = s.Sample();
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(r->total_bytes, 1000u * 1024);
    EXPECT_EQ(r->available_bytes, 600u * 1024);
    t.Put("proc/meminfo", "MemTotal: 1000 kB\nMemFree: 400 kB\nMemAvailable: 600 kB\n");
  }
  EXPECT_EQ(view.rules()[0].seen, 4u) << "meminfo: one open, 3 reads";
}

TEST(Sampler, V1CgroupUsesTheHierarchicalLimitAndHasNoPsi) {
  auto view = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
  ASSERT_TRUE(view.has_value());
  ASSERT_EQ(view->cgroup_version(), sys::CgroupVersion::kV1);
  sys::FakeClock clock;
  Sampler s(*view, clock, Cgroup("/reaperd-capture"));
  EXPECT_EQ(s.PsiPath(), "");
  auto r = s.Sample();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->total_bytes, 134217728u);
  EXPECT_EQ(r->available_bytes, 134217728u - 7770112u);
  EXPECT_FALSE(r->has_psi);
}

TEST(Sampler, SystemScopeReadsMeminfoPsiAndVmstat) {
  auto view = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
  ASSERT_TRUE(view.has_value());
  sys::FakeClock clock;
  Sampler s(*view, clock, policy::Scope{});
  EXPECT_EQ(s.PsiPath(), "pressure/memory");
  auto r = s.Sample();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->total_bytes, std::uint64_t{24731700} * 1024);
  EXPECT_EQ(r->available_bytes, std::uint64_t{22975208} * 1024);
  EXPECT_EQ(r->swap_total_bytes, 0u);
  EXPECT_TRUE(r->has_psi);
  EXPECT_EQ(r->psi_some_total_us, 1777u);
  EXPECT_EQ(r->psi_full_total_us, 507u);
}

// The system scope's files are opened once and held (sys::HeldFile): a sample is a pread of
// each, and a /proc file regenerated in place reads afresh. Here the files are removed by path
// after the first sample: the second still reads them, through the held fds (issue 13: no
// open per tick, no kernel allocation that may reclaim under pressure).
TEST(Sampler, SystemScopeHoldsItsFilesOpenAcrossSamples) {
  TempTree t("/tmp/reaperd-sampler-XXXXXX");
  t.Put("proc/meminfo", "MemTotal: 1000000 kB\nMemFree: 100000 kB\nMemAvailable: 400000 kB\n");
  t.Put("proc/pressure/memory",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=10\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=5\n");
  t.Put("proc/vmstat", "pgscan_kswapd 7\nworkingset_refault_file 3\noom_kill 2\n");
  t.Put("cg/memory.usage_in_bytes", "4096\n");
  auto view = sys::RealSystemView::Open(t.root + "/proc", t.root + "/cg");
  ASSERT_TRUE(view.has_value());
  sys::FakeClock clock;
  Sampler s(*view, clock, policy::Scope{});
  auto first = s.Sample();
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  ASSERT_EQ(s.KernelOomKills().value_or(0), 2u);
  // Regenerated in place (as the kernel does at each read from 0): the held fd sees it.
  t.Put("proc/meminfo", "MemTotal: 1000000 kB\nMemFree: 100000 kB\nMemAvailable: 300000 kB\n");
  for (const char* f : {"proc/meminfo", "proc/pressure/memory", "proc/vmstat"}) {
    std::filesystem::remove(t.root + "/" + f);
  }
  auto second = s.Sample();
  ASSERT_TRUE(second.has_value()) << "read by path: " << second.error().ToString();
  EXPECT_EQ(second->available_bytes, std::uint64_t{300000} * 1024);
  EXPECT_TRUE(second->has_psi) << "PSI read by path";
  EXPECT_EQ(second->psi_some_total_us, 10u);
  EXPECT_EQ(s.KernelOomKills().value_or(0), 2u);
}

// A cgroup scope's files, at every level of its walk, are held too (issue 13: the sampler's
// opens and closes were most of the daemon's CPU while two cgroup scopes were sampled fast).
// Here every file of the walk is rewritten in place and then removed by path after the first
// sample: the second reads the new figures through the held fds. Red on the old code, which
// read each file by path on every sample.
void CgroupScopeHoldsItsFiles(bool v1) {
  constexpr std::uint64_t kMiB = 1024 * 1024;
  TempTree t("/tmp/reaperd-sampler-XXXXXX");
  const std::string meminfo =
      "MemTotal: 4000000 kB\nMemFree: 100000 kB\nMemAvailable: 3000000 kB\n";
  t.Put("proc/meminfo", meminfo);
  const std::string limit = v1 ? "memory.limit_in_bytes" : "memory.max";
  const std::string usage = v1 ? "memory.usage_in_bytes" : "memory.current";
  const std::string stat = v1 ? "total_inactive_file 0\ntotal_active_file 0\n"
                              : "anon 0\nfile 0\ninactive_file 0\nactive_file 0\n"
                                "workingset_refault_anon 1\n"
                                "workingset_refault_file 2\npgscan 3\n";
  auto put_level = [&](const std::string& dir, std::uint64_t max_mib, std::uint64_t used_mib) {
    t.Put("cg/" + dir + "/" + limit, std::to_string(max_mib * 1024 * 1024) + "\n");
    t.Put("cg/" + dir + "/" + usage, std::to_string(used_mib * 1024 * 1024) + "\n");
    t.Put("cg/" + dir + "/memory.stat", stat);
    if (!v1) {
      t.Put("cg/" + dir + "/memory.high", "max\n");
      t.Put("cg/" + dir + "/memory.pressure",
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=10\n"
            "full avg10=0.00 avg60=0.00 avg300=0.00 total=5\n");
      t.Put("cg/" + dir + "/memory.events", "oom 0\noom_kill 4\n");
    } else {
      t.Put("cg/" + dir + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n");
    }
  };
  put_level("parent", 512, 100);
  put_level("parent/child", 256, 60);
  t.Put(v1 ? "cg/memory.usage_in_bytes" : "cg/cgroup.controllers", v1 ? "0\n" : "memory\n");
  auto view = sys::RealSystemView::Open(t.root + "/proc", t.root + "/cg");
  ASSERT_TRUE(view.has_value());
  ASSERT_EQ(view->cgroup_version(), v1 ? sys::CgroupVersion::kV1 : sys::CgroupVersion::kV2);
  sys::FakeClock clock;
  Sampler s(*view, clock, Cgroup("/parent/child"));
  auto first = s.Sample();
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_EQ(first->total_bytes, 256 * kMiB);
  EXPECT_EQ(first->available_bytes, 196 * kMiB);
  ASSERT_EQ(s.KernelOomKills().value_or(0), 4u);
  // In place, as the kernel regenerates them; the parent now binds (10 MiB left).
  put_level("parent", 128, 118);
  put_level("parent/child", 256, 100);
  t.Put("proc/meminfo", meminfo);
  std::filesystem::remove_all(t.root + "/cg/parent");
  std::filesystem::remove(t.root + "/proc/meminfo");
  auto second = s.Sample();
  ASSERT_TRUE(second.has_value()) << "read by path: " << second.error().ToString();
  EXPECT_EQ(second->total_bytes, 128 * kMiB);
  EXPECT_EQ(second->available_bytes, 10 * kMiB);
  EXPECT_EQ(s.own_usage(), 100 * kMiB);
  EXPECT_EQ(s.KernelOomKills().value_or(0), 4u) << "memory.events/oom_control read by path";
  if (!v1) {
    EXPECT_TRUE(second->has_psi) << "memory.pressure read by path";
  }
}

TEST(Sampler, V2CgroupScopeHoldsItsFilesAtEveryLevelAcrossSamples) {
  CgroupScopeHoldsItsFiles(false);
}
TEST(Sampler, V1CgroupScopeHoldsItsFilesAtEveryLevelAcrossSamples) {
  CgroupScopeHoldsItsFiles(true);
}

// A cgroup tree of either version for the sampler, in a temporary directory: 4 GB of
// MemTotal, the root's file that tells the version, and per level a limit, a usage, a
// memory.stat of the file LRU alone (v1: its total_* forms) and, on v2, memory.high "max".
struct CgroupTree {
  static constexpr std::uint64_t kMiB = 1024 * 1024;
  bool v1;
  TempTree t{"/tmp/reaperd-sampler-XXXXXX"};
  explicit CgroupTree(bool is_v1) : v1(is_v1) {
    t.Put("proc/meminfo", "MemTotal: 4000000 kB\nMemFree: 100000 kB\nMemAvailable: 3000000 kB\n");
    t.Put(v1 ? "cg/memory.usage_in_bytes" : "cg/cgroup.controllers", v1 ? "0\n" : "memory\n");
  }
  std::string Limit() const { return v1 ? "memory.limit_in_bytes" : "memory.max"; }
  std::string Unlimited() const { return v1 ? "9223372036854771712\n" : "max\n"; }
  static std::string Mib(std::uint64_t mib) { return std::to_string(mib * kMiB) + "\n"; }
  void Put(const std::string& dir, const std::string& file, const std::string& text) {
    t.Put("cg/" + dir + "/" + file, text);
  }
  void Usage(const std::string& dir, std::uint64_t mib) {
    Put(dir, v1 ? "memory.usage_in_bytes" : "memory.current", Mib(mib));
  }
  std::string FileLru(std::uint64_t inactive_mib, std::uint64_t active_mib) const {
    const std::string p = v1 ? "total_" : "";
    return p + "inactive_file " + Mib(inactive_mib) + p + "active_file " + Mib(active_mib);
  }
  // A level: its limit (a figure, or Unlimited()), its usage and its file LRU.
  void Level(const std::string& dir, const std::string& limit, std::uint64_t used_mib,
             std::uint64_t inactive_mib = 0, std::uint64_t active_mib = 0) {
    Put(dir, Limit(), limit);
    Usage(dir, used_mib);
    Put(dir, "memory.stat", FileLru(inactive_mib, active_mib));
    if (!v1) Put(dir, "memory.high", "max\n");
  }
  Result<sys::RealSystemView> View() const {
    return sys::RealSystemView::Open(t.root + "/proc", t.root + "/cg");
  }
};

// An ancestor without a limit (memory.max and memory.high "max"; v1's huge number) binds
// nothing, and one that gets a limit is an administrator's change: its limit files are read
// again once a second, not at every sample (issue 13: at a fast hog's pace, a scope three
// levels down read six such files per sample under v2, more than half of its reads). A
// limited ancestor is read at every sample, as are the scope's own limits. Red on the old
// code: the ancestor's limit read at each of the three samples (one open and 3 reads).
void UnlimitedAncestorReadOncePerSecond(bool v1) {
  constexpr std::uint64_t kMiB = CgroupTree::kMiB;
  CgroupTree tree(v1);
  tree.Level("parent", tree.Unlimited(), 100);
  tree.Level("parent/child", CgroupTree::Mib(256), 60);
  auto base = tree.View();
  ASSERT_TRUE(base.has_value());
  sys::FaultySystemView view(*base);
  view.AddRule({"parent/" + tree.Limit(), sys::Fault::kEio, 1, UINT32_MAX});  // counts only
  view.AddRule({"parent/memory.high", sys::Fault::kEio, 1, UINT32_MAX});
  view.AddRule({"child/" + tree.Limit(), sys::Fault::kEio, 1, UINT32_MAX});
  sys::FakeClock clock;
  Sampler s(view, clock, Cgroup("/parent/child"));
  for (int i = 0; i < 3; ++i) {
    auto r = s.Sample();
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(r->total_bytes, 256 * kMiB);
    EXPECT_EQ(r->available_bytes, 196 * kMiB);
    clock.Advance(100 * sys::kMilli);
  }
  EXPECT_EQ(view.rules()[0].seen, 2u) << "the ancestor's limit: one open, one read";
  EXPECT_EQ(view.rules()[1].seen, v1 ? 0u : 2u) << "its memory.high: one open, one read";
  EXPECT_EQ(view.rules()[2].seen, 4u) << "the scope's own limit: one open, 3 reads";
  // The parent gets a limit that binds (10 MiB left): not seen 300 ms after its last read,
  // seen a second after it.
  tree.Level("parent", CgroupTree::Mib(128), 118);
  auto stale = s.Sample();
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->total_bytes, 256 * kMiB);
  clock.Advance(700 * sys::kMilli);
  auto r = s.Sample();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->total_bytes, 128 * kMiB);
  EXPECT_EQ(r->available_bytes, 10 * kMiB);
  // Limited now: read at every sample.
  const std::uint32_t before = view.rules()[0].seen;
  clock.Advance(100 * sys::kMilli);
  ASSERT_TRUE(s.Sample().has_value());
  EXPECT_EQ(view.rules()[0].seen, before + 1);
}

TEST(Sampler, V2UnlimitedAncestorIsReadOncePerSecond) { UnlimitedAncestorReadOncePerSecond(false); }
TEST(Sampler, V1UnlimitedAncestorIsReadOncePerSecond) { UnlimitedAncestorReadOncePerSecond(true); }

// A sample takes two counters from memory.stat, the file LRU's (v1: their total_* forms), and
// finds them by their keys: it parses no other line (issue 13: the whole file's parse was 60%
// of the daemon's instructions beside two busy cgroup scopes, callgrind on the build machine),
// so a line it does not read, in a format it does not know, cannot void them. Red on the old
// code: the unknown three-field line failed the whole parse and the cache counted for nothing
// (available 196 MiB, not 196 + 30 + 10 / 2).
void FileCacheReadByItsKeys(bool v1) {
  constexpr std::uint64_t kMiB = CgroupTree::kMiB;
  CgroupTree tree(v1);
  tree.Level("child", CgroupTree::Mib(256), 60);
  // v1: the cgroup's own inactive_file and active_file are not the hierarchy's.
  tree.Put("child", "memory.stat",
           std::string(v1 ? "cache 1\nrss 2\ntotal_cache 3\ntotal_rss 4\n" : "anon 1\nfile 2\n") +
               "future_counter 7 8\n" + (v1 ? "inactive_file 5\nactive_file 6\n" : "") +
               tree.FileLru(30, 10));
  auto view = tree.View();
  ASSERT_TRUE(view.has_value());
  sys::FakeClock clock;
  Sampler s(*view, clock, Cgroup("/child"));
  auto r = s.Sample();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->available_bytes, 196 * kMiB + 30 * kMiB + 10 * kMiB / 2);
}

TEST(Sampler, V2FileCacheIsReadByItsKeysAlone) { FileCacheReadByItsKeys(false); }
TEST(Sampler, V1FileCacheIsReadByItsKeysAlone) { FileCacheReadByItsKeys(true); }

// memory.stat is the costliest file of a cgroup sample for the kernel (its formatting; v2
// flushes the memcg statistics first), and it counts only the reclaimable cache. Far from
// the ceiling, where free memory alone is at least three times the warn share (so that no
// level, and no trend the detector acts on, can hang on the cache), a read of it serves for a
// second; nearer, it is read at every sample. Red on the old code: read at every sample
// (one open and four reads before the second has passed).
void StatReusedFarFromTheCeiling(bool v1) {
  constexpr std::uint64_t kMiB = CgroupTree::kMiB;
  CgroupTree tree(v1);
  tree.Level("child", CgroupTree::Mib(256), 100, 30, 10);
  auto base = tree.View();
  ASSERT_TRUE(base.has_value());
  sys::FaultySystemView view(*base);
  view.AddRule({"child/memory.stat", sys::Fault::kEio, 1, UINT32_MAX});  // counts, never fires
  sys::FakeClock clock;
  Sampler s(view, clock, Cgroup("/child"));
  s.SetCacheReuse(10.0);  // the default warn_available_percent: far is 30% free or more
  auto sample = [&] {
    auto r = s.Sample();
    EXPECT_TRUE(r.has_value());
    clock.Advance(100 * sys::kMilli);
    return r.has_value() ? r->available_bytes / kMiB : 0;
  };
  // 156 MiB free (61%) and 30 + 10 / 2 MiB of cache.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sample(), 156u + 35u);
  tree.Put("child", "memory.stat", tree.FileLru(50, 10));  // grown: not seen within the second
  EXPECT_EQ(sample(), 156u + 35u);
  EXPECT_EQ(view.rules()[0].seen, 2u) << "memory.stat: one open, one read";
  clock.Advance(600 * sys::kMilli);
  EXPECT_EQ(sample(), 156u + 55u);
  EXPECT_EQ(view.rules()[0].seen, 3u);
  // 60 MiB free (23%): near the ceiling, read at every sample.
  tree.Usage("child", 196);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sample(), 60u + 55u);
  EXPECT_EQ(view.rules()[0].seen, 6u);
  // A warn share so high that no free share is far: read at every sample.
  s.SetCacheReuse(40.0);
  tree.Usage("child", 100);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(sample(), 156u + 55u);
  EXPECT_EQ(view.rules()[0].seen, 8u);
}

TEST(Sampler, V2StatIsReusedForASecondFarFromTheCeiling) { StatReusedFarFromTheCeiling(false); }
TEST(Sampler, V1StatIsReusedForASecondFarFromTheCeiling) { StatReusedFarFromTheCeiling(true); }

// A desktop with 4 GiB of RAM, 1 GiB available, and swap on zram of 4 GiB holding 1 GiB at
// 4:1 (256 MiB of RAM) beside a 1 GiB swap file. Red on the old code: the zram device counted
// as 4 GiB of swap with 3 GiB free, so headroom read (1 + 4) / (4 + 5) = 56 % where what is
// left is 1 GiB of RAM, 1 GiB of file and what 3 GiB more of zram would free (2.25 GiB).
TEST(Sampler, SwapOnZramCountsAsTheMemoryItFrees) {
  TempTree tree("/tmp/reaperd-zram-XXXXXX");
  const std::string& root = tree.root;
  auto put = [&](const std::string& rel, const std::string& text) { tree.Put(rel, text); };
  put("proc/meminfo",
      "MemTotal: 4194304 kB\nMemFree: 524288 kB\nMemAvailable: 1048576 kB\n"
      "SwapTotal: 5242876 kB\nSwapFree: 4194300 kB\n");
  put("proc/swaps",
      "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
      "/dev/zram0                              partition\t4194300\t\t1048576\t\t100\n"
      "/swapfile                               file\t\t1048576\t\t0\t\t-2\n");
  put("sys/block/zram0/mm_stat", "1073741824 260046848 268435456 0 268435456 0 0 0\n");
  put("cg/memory.usage_in_bytes", "0\n");
  auto view = sys::RealSystemView::Open(root + "/proc", root + "/cg");
  ASSERT_TRUE(view.has_value());
  sys::FakeClock clock;
  Sampler s(*view, clock, policy::Scope{});
  auto r = s.Sample();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  constexpr std::uint64_t kKiB = 1024;
  const std::uint64_t zram_free = (4194300 - 1048576) * kKiB;
  // The swap file as it is, the zram device as 3/4 of its size and of its free space.
  EXPECT_EQ(r->swap_total_bytes, 1048576 * kKiB + 4194300 * kKiB / 4 * 3);
  EXPECT_EQ(r->swap_free_bytes, 1048576 * kKiB + zram_free / 4 * 3);
  EXPECT_EQ(r->zram_swap_bytes, 4194300 * kKiB);
  EXPECT_EQ(r->zram_swap_free_bytes, zram_free);
}

// Swap on a disk only: /proc/swaps is read once, and again only when SwapTotal changes (a
// swapon or swapoff), not at every sample: at the fast interval that was one read per 100 ms
// that changed nothing. Red on the old code: `seen` 3 after three samples.
TEST(Sampler, DiskSwapIsListedOnceUntilSwapTotalChanges) {
  TempTree tree("/tmp/reaperd-swaps-XXXXXX");
  const std::string& root = tree.root;
  auto put = [&](const std::string& rel, const std::string& text) { tree.Put(rel, text); };
  put("proc/meminfo",
      "MemTotal: 4194304 kB\nMemFree: 524288 kB\nMemAvailable: 1048576 kB\n"
      "SwapTotal: 1048576 kB\nSwapFree: 1048576 kB\n");
  put("proc/swaps",
      "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
      "/swapfile                               file\t\t1048576\t\t0\t\t-2\n");
  put("cg/memory.usage_in_bytes", "0\n");
  put("sys/block/zram0/mm_stat", "0 0 0 0 0 0 0 0\n");  // the view opens sys/ once
  auto real = sys::RealSystemView::Open(root + "/proc", root + "/cg");
  ASSERT_TRUE(real.has_value());
  sys::FaultySystemView view(*real);
  view.AddRule({.path_contains = "swaps", .skip = ~std::uint32_t{0}});  // counts, never fires
  sys::FakeClock clock;
  Sampler s(view, clock, policy::Scope{});
  for (int i = 0; i < 3; ++i) {
    auto r = s.Sample();
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(r->swap_total_bytes, std::uint64_t{1048576} * 1024);
  }
  EXPECT_EQ(view.rules()[0].seen, 1u) << "/proc/swaps read at every sample";
  // swapon /dev/zram0 (1 GiB, empty: worth half its size until it holds 1 MiB).
  put("proc/meminfo",
      "MemTotal: 4194304 kB\nMemFree: 524288 kB\nMemAvailable: 1048576 kB\n"
      "SwapTotal: 2097152 kB\nSwapFree: 2097152 kB\n");
  put("proc/swaps",
      "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
      "/dev/zram0                              partition\t1048576\t\t0\t\t100\n"
      "/swapfile                               file\t\t1048576\t\t0\t\t-2\n");
  for (int i = 0; i < 2; ++i) {
    auto r = s.Sample();
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(r->zram_swap_bytes, std::uint64_t{1048576} * 1024);
    EXPECT_EQ(r->swap_total_bytes, std::uint64_t{1048576} * 1024 * 3 / 2);
  }
  // With zram the listing is read at every sample: its used space is the device's.
  EXPECT_EQ(view.rules()[0].seen, 3u);
}

TEST(Sampler, MissingCgroupIsAnErrorNotACrash) {
  auto view = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
  ASSERT_TRUE(view.has_value());
  sys::FakeClock clock;
  Sampler s(*view, clock, Cgroup("/gone"));
  auto r = s.Sample();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().sys_errno, ENOENT);
}

}  // namespace
}  // namespace reaperd::daemon

namespace reaperd::daemon {
namespace {

// The kernel's own OOM kill count per scope: the engine cancels a kill decision when it rose
// during the scan (the kernel acted first; a second victim would be overkill).
TEST(Sampler, KernelOomKillsPerScope) {
  sys::FakeClock clock;
  auto v2 = sys::RealSystemView::Open(kFx + "/cgroup/v2-guest/proc", kFx + "/cgroup/v2-guest");
  ASSERT_TRUE(v2.has_value());
  Sampler a(*v2, clock, Cgroup("/lab.slice"));
  EXPECT_EQ(a.KernelOomKills().value(), 1u);  // memory.events oom_kill

  auto v1 = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
  ASSERT_TRUE(v1.has_value());
  Sampler b(*v1, clock, Cgroup("/reaperd-capture"));
  auto k = b.KernelOomKills();
  ASSERT_TRUE(k.has_value()) << k.error().ToString();
  EXPECT_EQ(*k, 1u);  // memory.oom_control oom_kill
  Sampler c(*v1, clock, policy::Scope{});
  auto s = c.KernelOomKills();
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(*s, 2u);  // /proc/vmstat oom_kill
}

}  // namespace
}  // namespace reaperd::daemon

namespace reaperd::daemon {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

// A cgroup without a limit of its own under a limited parent lives within the parent's
// headroom: the parent's limit less the parent's usage (all its children), plus the parent's
// reclaimable cache; never the system's MemAvailable.
TEST(Sampler, V2CgroupUnderALimitedParentUsesTheParentsHeadroom) {
  auto view = sys::RealSystemView::Open(kFx + "/cgroup/v2-guest/proc", kFx + "/cgroup/v2-nested");
  ASSERT_TRUE(view.has_value());
  ASSERT_EQ(view->cgroup_version(), sys::CgroupVersion::kV2);
  sys::FakeClock clock;
  Sampler s(*view, clock, Cgroup("/parent.slice/child"));
  auto r = s.Sample();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->total_bytes, 64 * kMiB);
  // parent: 64 - 60 MiB free + inactive_file 1 MiB + active_file 2 MiB / 2
  EXPECT_EQ(r->available_bytes, 6 * kMiB);
}

// memory.high below the effective memory.max is where the headroom ends.
TEST(Sampler, V2CgroupHeadroomEndsAtItsMemoryHigh) {
  auto view = sys::RealSystemView::Open(kFx + "/cgroup/v2-guest/proc", kFx + "/cgroup/v2-nested");
  ASSERT_TRUE(view.has_value());
  sys::FakeClock clock;
  Sampler s(*view, clock, Cgroup("/parent.slice/throttled"));
  auto r = s.Sample();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->total_bytes, 32 * kMiB);
  EXPECT_EQ(r->available_bytes, 2 * kMiB);  // 32 - 30 MiB, no cache; the parent has 6 MiB
}

// v1: hierarchical_memory_limit gives the parent's limit, and the headroom is the parent's.
TEST(Sampler, V1CgroupUnderALimitedParentUsesTheParentsHeadroom) {
  auto view = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/v1-nested");
  ASSERT_TRUE(view.has_value());
  ASSERT_EQ(view->cgroup_version(), sys::CgroupVersion::kV1);
  sys::FakeClock clock;
  Sampler s(*view, clock, Cgroup("/parent/child"));
  auto r = s.Sample();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->total_bytes, 64 * kMiB);
  // parent: 64 - 60 MiB free + total_inactive_file 1 MiB + total_active_file 2 MiB / 2; the
  // child's own 64 - 20 MiB would be a lie.
  EXPECT_EQ(r->available_bytes, 6 * kMiB);
}

}  // namespace
}  // namespace reaperd::daemon
