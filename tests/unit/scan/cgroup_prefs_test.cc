// ManagedOOMPreference= and oomd's preferences from cgroup extended attributes (issue 15):
// inherited from ancestors, user.* trusted only on cgroups owned by root or the scope's
// owner (systemd-oomd's rule), cached until the next whole read.
#include "scan/cgroup_prefs.h"

#include <gtest/gtest.h>

#include "policy/snapshot.h"
#include "scan/scanner.h"
#include "sys/clock.h"
#include "unit/kill/fakes.h"

namespace reaperd::scan {
namespace {

using kill::testing::FakeView;

TEST(CgroupPrefs, AUnitsPreferenceHoldsForEveryCgroupBelowIt) {
  FakeView v;
  v.xattrs["system.slice/db.service|user.oomd_omit"] = "1";
  v.xattrs["user.slice/user-1000.slice/user@1000.service/app.slice|user.oomd_avoid"] = "1";
  v.xattrs["batch.slice|trusted.oomd_prefer"] = "";
  CgroupPrefs prefs;
  EXPECT_EQ(prefs.Lookup(v, "/system.slice/db.service", 0), policy::kOomdOmit);
  EXPECT_EQ(prefs.Lookup(v, "/system.slice/db.service/worker", 0), policy::kOomdOmit);
  EXPECT_EQ(prefs.Lookup(v, "/user.slice/user-1000.slice/user@1000.service/app.slice/a.scope", 0),
            policy::kOomdAvoid);
  EXPECT_EQ(prefs.Lookup(v, "/batch.slice/job.service", 0), policy::kOomdPrefer);
  EXPECT_EQ(prefs.Lookup(v, "/system.slice/other.service", 0), 0);
}

TEST(CgroupPrefs, UserAttributesCountOnlyOnCgroupsOwnedByRootOrTheScopesOwner) {
  FakeView v;
  // A user's delegated cgroup: they can set user.* xattrs on it themselves.
  v.owners["user.slice/user-1000.slice/user@1000.service/app.scope"] = 1000;
  v.xattrs["user.slice/user-1000.slice/user@1000.service/app.scope|user.oomd_avoid"] = "1";
  v.xattrs["user.slice/user-1000.slice/user@1000.service/app.scope|user.oomd_omit"] = "1";
  CgroupPrefs system_scope;  // the scope's cgroup (the root) is root's
  EXPECT_EQ(system_scope.Lookup(v, "/user.slice/user-1000.slice/user@1000.service/app.scope", 0),
            0);
  CgroupPrefs users_scope;  // a scope on the user's own subtree, owned by 1000
  EXPECT_EQ(users_scope.Lookup(v, "/user.slice/user-1000.slice/user@1000.service/app.scope", 1000),
            policy::kOomdOmit | policy::kOomdAvoid);
  // trusted.* can be set by root alone: honoured whoever owns the cgroup.
  v.xattrs["user.slice/user-1000.slice/user@1000.service/app.scope|trusted.oomd_prefer"] = "1";
  CgroupPrefs again;
  EXPECT_EQ(again.Lookup(v, "/user.slice/user-1000.slice/user@1000.service/app.scope", 0),
            policy::kOomdPrefer);
}

TEST(CgroupPrefs, OnlyTrueValuesCount) {
  FakeView v;
  v.xattrs["a|user.oomd_avoid"] = "0";
  v.xattrs["b|user.oomd_avoid"] = "yes\n";
  CgroupPrefs prefs;
  EXPECT_EQ(prefs.Lookup(v, "/a", 0), 0);
  EXPECT_EQ(prefs.Lookup(v, "/b", 0), policy::kOomdAvoid);
}

TEST(CgroupPrefs, ALookupIsCachedUntilCleared) {
  FakeView v;
  v.xattrs["a/b|user.oomd_avoid"] = "1";
  CgroupPrefs prefs;
  EXPECT_EQ(prefs.Lookup(v, "/a/b/c", 0), policy::kOomdAvoid);
  const int calls = v.xattr_calls;
  EXPECT_EQ(prefs.Lookup(v, "/a/b/c", 0), policy::kOomdAvoid);
  EXPECT_EQ(v.xattr_calls, calls) << "a cached cgroup was read again";
  v.xattrs.erase("a/b|user.oomd_avoid");
  prefs.Clear();
  EXPECT_EQ(prefs.Lookup(v, "/a/b/c", 0), 0);
}

// The kill path's refresh re-reads the top candidates: one that is still in the cgroup it
// was in keeps that cgroup's preference without a lookup, even when more cgroups than the
// cache holds were read since (a host has dozens).
TEST(CgroupPrefs, ARefreshReadsNoAttributeForAProcessStillInItsCgroup) {
  kill::testing::World w;
  w.view.SetProc("meminfo",
                 "MemTotal: 16777216 kB\nMemFree: 1000 kB\nMemAvailable: 1000 kB\n"
                 "SwapTotal: 0 kB\nSwapFree: 0 kB\n");
  const int cgroups = static_cast<int>(CgroupPrefs::kCached) + 8;
  for (int i = 0; i < cgroups; ++i) {
    auto p = w.Outside(100 + i, 5000 + static_cast<std::uint64_t>(i),
                       "/app.slice/s" + std::to_string(i) + ".service", i + 1);
  }
  w.view.xattrs["app.slice/s0.service|user.oomd_avoid"] = "1";
  sys::FakeClock clock;
  Scanner scanner(w.view, clock);
  policy::Snapshot standing, refreshed;
  const ScanOptions options{.cmdline_max = 0, .read_exe = true, .read_kernel_oom_score = false};
  ASSERT_TRUE(scanner.ScanInto(policy::Scope{}, options, standing));
  ASSERT_EQ(standing.processes.size(), static_cast<std::size_t>(cgroups));
  EXPECT_EQ(standing.processes[0].oomd, policy::kOomdAvoid);
  const int calls = w.view.xattr_calls;
  const pid_t top[] = {100};
  ASSERT_TRUE(scanner.RefreshInto(policy::Scope{}, options, top, standing, refreshed));
  EXPECT_EQ(refreshed.processes[0].oomd, policy::kOomdAvoid);
  EXPECT_EQ(w.view.xattr_calls, calls) << "the refresh looked the cgroup up again";
}

// In a cgroup scope, the scope's own owner is trusted: a user's delegated subtree guarded as
// a scope honours the user's own ManagedOOMPreference= (systemd --user writes them there).
TEST(CgroupPrefs, ACgroupScopeTrustsItsOwnOwner) {
  kill::testing::World w;
  w.view.SetProc("meminfo",
                 "MemTotal: 16777216 kB\nMemFree: 1000 kB\nMemAvailable: 1000 kB\n"
                 "SwapTotal: 0 kB\nSwapFree: 0 kB\n");
  w.Outside(100, 5000, "/user.slice/u1000/app.scope", 1);
  w.view.SetCgroup("user.slice/u1000/memory.limit_in_bytes", "1073741824\n");
  w.view.SetCgroup("user.slice/u1000/app.scope/cgroup.procs", "100\n");
  w.view.owners["user.slice/u1000"] = 1000;
  w.view.owners["user.slice/u1000/app.scope"] = 1000;
  w.view.xattrs["user.slice/u1000/app.scope|user.oomd_avoid"] = "1";
  sys::FakeClock clock;
  Scanner scanner(w.view, clock);
  policy::Snapshot snap;
  const ScanOptions options{.cmdline_max = 0, .read_exe = true, .read_kernel_oom_score = false};
  ASSERT_TRUE(scanner.ScanInto({policy::ScopeKind::kCgroup, "/user.slice/u1000"}, options, snap));
  ASSERT_EQ(snap.processes.size(), 1u);
  EXPECT_EQ(snap.processes[0].oomd, policy::kOomdAvoid);
  // The same process seen from the system scope (the root is root's): not trusted.
  Scanner system(w.view, clock);
  ASSERT_TRUE(system.ScanInto(policy::Scope{}, options, snap));
  EXPECT_EQ(snap.processes[0].oomd, 0);
}

}  // namespace
}  // namespace reaperd::scan
