// A scope's cgroup path as a user types it: from the hierarchy's root, or the absolute path
// under the memory controller's mount (v1 or v2), always ending up relative to the root.
#include "policy/scope.h"

#include <gtest/gtest.h>

namespace reaperd::policy {
namespace {

TEST(ScopePath, RelativeToTheHierarchyRootIsKept) {
  EXPECT_EQ(NormalizeCgroupPath("/a/b", "/sys/fs/cgroup/memory"), "/a/b");
  EXPECT_EQ(NormalizeCgroupPath("a/b/", "/sys/fs/cgroup/memory"), "/a/b");
  EXPECT_EQ(NormalizeCgroupPath("/", "/sys/fs/cgroup/memory"), "/");
  EXPECT_EQ(NormalizeCgroupPath("//a//b//", "/sys/fs/cgroup"), "/a/b");
}

TEST(ScopePath, AbsolutePathUnderTheV1MountIsMadeRelative) {
  EXPECT_EQ(NormalizeCgroupPath("/sys/fs/cgroup/memory/x", "/sys/fs/cgroup/memory"), "/x");
  EXPECT_EQ(NormalizeCgroupPath("/sys/fs/cgroup/memory/x/y/", "/sys/fs/cgroup/memory"), "/x/y");
  EXPECT_EQ(NormalizeCgroupPath("/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory"), "/");
  EXPECT_EQ(NormalizeCgroupPath("/sys/fs/cgroup/memory/", "/sys/fs/cgroup/memory/"), "/");
  // Another controller's mount, or a name that only starts like the mount, is not stripped
  // (and then names a cgroup that does not exist, which the CLI refuses).
  EXPECT_EQ(NormalizeCgroupPath("/sys/fs/cgroup/cpu/x", "/sys/fs/cgroup/memory"),
            "/sys/fs/cgroup/cpu/x");
  EXPECT_EQ(NormalizeCgroupPath("/sys/fs/cgroup/memoryx", "/sys/fs/cgroup/memory"),
            "/sys/fs/cgroup/memoryx");
}

TEST(ScopePath, AbsolutePathUnderTheV2MountIsMadeRelative) {
  EXPECT_EQ(NormalizeCgroupPath("/sys/fs/cgroup/system.slice/db.service", "/sys/fs/cgroup"),
            "/system.slice/db.service");
  EXPECT_EQ(NormalizeCgroupPath("/sys/fs/cgroup", "/sys/fs/cgroup"), "/");
  // Without a known mount the text is taken as relative to the root.
  EXPECT_EQ(NormalizeCgroupPath("/sys/fs/cgroup/x", ""), "/sys/fs/cgroup/x");
}

TEST(ScopePath, InvalidPathsGiveEmpty) {
  EXPECT_EQ(NormalizeCgroupPath("", "/sys/fs/cgroup"), "");
  EXPECT_EQ(NormalizeCgroupPath("/a/../b", "/sys/fs/cgroup"), "");
  EXPECT_EQ(NormalizeCgroupPath("/sys/fs/cgroup/memory/..", "/sys/fs/cgroup/memory"), "");
  EXPECT_EQ(NormalizeCgroupPath("/a\nb", "/sys/fs/cgroup"), "");
}

TEST(ScopePath, ParseScopeStripsTheMount) {
  Scope s;
  ASSERT_TRUE(ParseScope("cgroup:/sys/fs/cgroup/memory/x/y", &s, "/sys/fs/cgroup/memory"));
  EXPECT_EQ(s.kind, ScopeKind::kCgroup);
  EXPECT_EQ(s.cgroup, "/x/y");
  EXPECT_EQ(s.Name(), "cgroup:/x/y");
  ASSERT_TRUE(ParseScope("cgroup:x", &s, "/sys/fs/cgroup/memory"));
  EXPECT_EQ(s.cgroup, "/x");
  EXPECT_FALSE(ParseScope("cgroup:/sys/fs/cgroup/memory/../x", &s, "/sys/fs/cgroup/memory"));
}

// Issue 16: a container's own limit is its scope, and its kill never reaches outside it: not
// its engine's monitor (conmon's scope shares the id), not the pod's other containers or its
// sandbox, not a container whose id starts with the same digits.
TEST(ScopeContainer, AContainersScopeHoldsOnlyTheContainer) {
  const std::string id(64, 'a');
  Scope podman{ScopeKind::kCgroup, "/machine.slice/libpod-" + id + ".scope"};
  EXPECT_TRUE(podman.Contains("/machine.slice/libpod-" + id + ".scope"));
  EXPECT_TRUE(podman.Contains("/machine.slice/libpod-" + id + ".scope/container"));
  EXPECT_FALSE(podman.Contains("/machine.slice/libpod-conmon-" + id + ".scope"));
  EXPECT_FALSE(podman.Contains("/machine.slice"));
  const std::string pod = "/kubepods/burstable/pod1b2c";
  Scope k8s{ScopeKind::kCgroup, pod + "/" + id};
  EXPECT_FALSE(k8s.Contains(pod));                               // the pod's own cgroup
  EXPECT_FALSE(k8s.Contains(pod + "/" + std::string(64, 'b')));  // the sandbox (pause)
  EXPECT_FALSE(k8s.Contains(pod + "/" + id.substr(0, 12)));      // a shorter id, same digits
  EXPECT_FALSE(k8s.Contains(pod + "/" + id + "x"));
  EXPECT_TRUE(k8s.Contains(pod + "/" + id));
}

}  // namespace
}  // namespace reaperd::policy
