// ManagedOOMPreference= and oomd's preferences from cgroup extended attributes (issue 15):
// inherited from ancestors, user.* trusted only on cgroups owned by root or the scope's
// owner (systemd-oomd's rule), cached until the next whole read.
#include "scan/cgroup_prefs.h"

#include <gtest/gtest.h>

#include "policy/snapshot.h"
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

}  // namespace
}  // namespace reaperd::scan
