// Cgroup paths read inside a cgroup namespace, put under the mounted hierarchy.
#include "proc/cgroup_path.h"

#include <gtest/gtest.h>

#include <string>

namespace reaperd::proc {
namespace {

std::string Rebase(std::string_view path, std::string_view base) {
  SmallString<512> out;
  if (!RebaseCgroupPath(path, base, out)) return "<outside>";
  return std::string(out.view());
}

TEST(CgroupPath, MountLevelsAboveCountsOnlyUpSteps) {
  EXPECT_EQ(MountLevelsAbove("/"), 0);
  EXPECT_EQ(MountLevelsAbove(""), 0);
  EXPECT_EQ(MountLevelsAbove("/.."), 1);
  EXPECT_EQ(MountLevelsAbove("/../.."), 2);
  EXPECT_EQ(MountLevelsAbove("/../../"), 2);
  EXPECT_EQ(MountLevelsAbove("/kubepods.slice"), -1);
  EXPECT_EQ(MountLevelsAbove("/../x"), -1);
  EXPECT_EQ(MountLevelsAbove("/..x"), -1);
}

TEST(CgroupPath, OutsideANamespacePathsStayAsTheyAre) {
  EXPECT_EQ(Rebase("/", ""), "/");
  EXPECT_EQ(Rebase("/user.slice/user-1000.slice/session-2.scope", ""),
            "/user.slice/user-1000.slice/session-2.scope");
  EXPECT_EQ(Rebase("/a//b/", "/"), "/a/b");
}

// Podman on cgroup v2: reaperd's container is machine.slice/libpod-R.scope, its namespace's
// root; the kubelet-like host service and a sibling container read with "..".
TEST(CgroupPath, InsideANamespacePathsAreRebasedOntoItsRoot) {
  const std::string base = "/machine.slice/libpod-R.scope";
  EXPECT_EQ(Rebase("/", base), base);
  EXPECT_EQ(Rebase("/../libpod-L.scope", base), "/machine.slice/libpod-L.scope");
  EXPECT_EQ(Rebase("/../../system.slice/kubelet.service", base), "/system.slice/kubelet.service");
  EXPECT_EQ(Rebase("/../../init.scope", base), "/init.scope");
  EXPECT_EQ(Rebase("/../..", base), "/");
}

// The red case: the old code kept "/../a", which names no scope and, joined to the mount as
// a relative path, leads outside it. A path above the mount's root is unknown.
TEST(CgroupPath, APathAboveTheMountIsRefused) {
  EXPECT_EQ(Rebase("/../a", ""), "<outside>");
  EXPECT_EQ(Rebase("/../../../x", "/a/b"), "<outside>");
  EXPECT_EQ(Rebase("/..", ""), "<outside>");
}

TEST(CgroupPath, ATooLongPathIsRefused) {
  std::string longp;
  while (longp.size() < 600) longp += "/abcdefgh";
  EXPECT_EQ(Rebase(longp, ""), "<outside>");
}

}  // namespace
}  // namespace reaperd::proc
