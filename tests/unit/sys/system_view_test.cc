// RealSystemView pointed at the captured fixture trees instead of /proc and cgroupfs.
#include "sys/system_view.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <string>

namespace reaperd::sys {
namespace {

const std::string kProc = std::string(REAPERD_FIXTURES) + "/proc/host-v1";
const std::string kCgroup = std::string(REAPERD_FIXTURES) + "/cgroup/host-v1";

std::string FileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

RealSystemView OpenFixtures() {
  auto v = RealSystemView::Open(kProc, kCgroup);
  EXPECT_TRUE(v) << v.error().ToString();
  return std::move(*v);
}

TEST(RealSystemView, DetectsTheV1FixtureTree) {
  RealSystemView v = OpenFixtures();
  EXPECT_EQ(v.cgroup_version(), CgroupVersion::kV1);
  EXPECT_EQ(v.cgroup_root_path(), kCgroup);
  auto v2 = RealSystemView::Open(kProc, std::string(REAPERD_FIXTURES) + "/cgroup/v2-docs");
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->cgroup_version(), CgroupVersion::kV2);
}

TEST(RealSystemView, ReadsFilesUnderBothRoots) {
  RealSystemView v = OpenFixtures();
  std::array<char, 8192> buf{};
  auto r = v.Read(Root::kProc, "meminfo", buf);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_FALSE(r->truncated);
  EXPECT_EQ(std::string(buf.data(), r->size), FileText(kProc + "/meminfo"));

  r = v.Read(Root::kCgroup, "reaperd-capture/memory.limit_in_bytes", buf);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(std::string(buf.data(), r->size), "134217728\n");
}

TEST(RealSystemView, ListsThePidDirectories) {
  RealSystemView v = OpenFixtures();
  std::vector<pid_t> pids;
  ASSERT_TRUE(v.ListPids(pids));
  std::sort(pids.begin(), pids.end());
  // The PID directories of the capture (see ROLES); meminfo, pressure and ROLES are not PIDs.
  EXPECT_EQ(pids, (std::vector<pid_t>{2, 10, 19627, 19628, 19629, 19631, 19632, 19635}));
}

TEST(RealSystemView, ListsChildCgroups) {
  RealSystemView v = OpenFixtures();
  std::vector<std::string> dirs;
  ASSERT_TRUE(v.ListDirs(Root::kCgroup, "", dirs));
  EXPECT_EQ(dirs, std::vector<std::string>{"reaperd-capture"});
}

TEST(RealSystemView, ListsTheCgroupsProcsAndItsDescendants) {
  RealSystemView v = OpenFixtures();
  std::vector<pid_t> pids;
  ASSERT_TRUE(v.ListCgroupPids("/reaperd-capture", pids));
  EXPECT_EQ(pids, (std::vector<pid_t>{19627, 19628, 19629, 19630, 19631, 19632}));
  pids.clear();
  ASSERT_TRUE(v.ListCgroupPids("/", pids));  // the root and its child
  EXPECT_EQ(pids.size(), 13u);
  EXPECT_FALSE(v.ListCgroupPids("/gone", pids));
}

TEST(RealSystemView, ListsALongCgroupProcsReadInChunks) {
  // 20,000 PIDs (~120 KB): numbers cut by the read buffer's end must carry over whole.
  char templ[] = "/tmp/reaperd-procs-XXXXXX";
  ASSERT_NE(::mkdtemp(templ), nullptr);
  const std::string dir = templ;
  std::ofstream(dir + "/memory.usage_in_bytes") << "4096\n";
  ::mkdir((dir + "/a").c_str(), 0755);
  ::mkdir((dir + "/a/b").c_str(), 0755);
  std::string text;
  std::vector<pid_t> want;
  for (pid_t pid = 1; pid <= 20000; ++pid) {
    text += std::to_string(pid * 7) + "\n";
    want.push_back(pid * 7);
  }
  std::ofstream(dir + "/a/cgroup.procs") << text;
  std::ofstream(dir + "/a/b/cgroup.procs") << "3\n";
  want.push_back(3);
  auto v = RealSystemView::Open(kProc, dir);
  ASSERT_TRUE(v);
  std::vector<pid_t> pids;
  EXPECT_TRUE(v->ListCgroupPids("/a", pids));
  EXPECT_EQ(pids, want);
  std::ofstream(dir + "/a/b/cgroup.procs") << "3\nx\n";  // not a PID list: an error
  pids.clear();
  EXPECT_FALSE(v->ListCgroupPids("/a", pids));
  for (const char* f : {"/a/b/cgroup.procs", "/a/cgroup.procs", "/memory.usage_in_bytes"}) {
    ::unlink((dir + f).c_str());
  }
  ::rmdir((dir + "/a/b").c_str());
  ::rmdir((dir + "/a").c_str());
  ::rmdir(dir.c_str());
}

TEST(RealSystemView, OpenDirThenReadAt) {
  RealSystemView v = OpenFixtures();
  auto dir = v.OpenDir(Root::kProc, "19629");
  ASSERT_TRUE(dir) << dir.error().ToString();
  std::array<char, 1024> buf{};
  auto r = v.ReadAt(dir->get(), "stat", buf);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(std::string(buf.data(), r->size), FileText(kProc + "/19629/stat"));
  EXPECT_TRUE(std::string(buf.data(), r->size).starts_with("19629 (a) b\n(c) d) S "));

  auto n = v.ReadLinkAt(dir->get(), "exe", buf);
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(std::string(buf.data(), *n), "/usr/bin/python3.11");
}

TEST(RealSystemView, TruncatedWithASmallBuffer) {
  RealSystemView v = OpenFixtures();
  const std::string whole = FileText(kProc + "/19627/stat");
  ASSERT_GT(whole.size(), 16u);
  std::array<char, 16> small{};
  auto r = v.Read(Root::kProc, "19627/stat", small);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->size, small.size());
  EXPECT_EQ(std::string(small.data(), r->size), whole.substr(0, 16));

  // A buffer of exactly the file's size holds it all: not truncated.
  std::vector<char> exact(whole.size());
  r = v.Read(Root::kProc, "19627/stat", exact);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->truncated);
  EXPECT_EQ(r->size, whole.size());

  // An empty file (a zombie's cmdline) reads as zero bytes, not an error.
  r = v.Read(Root::kProc, "19635/cmdline", small);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size, 0u);
  EXPECT_FALSE(r->truncated);
}

TEST(RealSystemView, MissingFilesAreSysErrorsWithEnoent) {
  RealSystemView v = OpenFixtures();
  std::array<char, 64> buf{};
  auto r = v.Read(Root::kProc, "19627/no_such_file", buf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kSys);
  EXPECT_EQ(r.error().sys_errno, ENOENT);

  auto gone = v.OpenDir(Root::kProc, "4194304");  // a PID that is not in the tree
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::kSys);
  EXPECT_EQ(gone.error().sys_errno, ENOENT);

  // Kernel threads have no exe link.
  auto kthread = v.OpenDir(Root::kProc, "2");
  ASSERT_TRUE(kthread);
  auto link = v.ReadLinkAt(kthread->get(), "exe", buf);
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().code, Errc::kSys);
  EXPECT_EQ(link.error().sys_errno, ENOENT);

  auto root = RealSystemView::Open(std::string(REAPERD_FIXTURES) + "/proc/no-such-tree", kCgroup);
  ASSERT_FALSE(root);
  EXPECT_EQ(root.error().sys_errno, ENOENT);
}

}  // namespace
}  // namespace reaperd::sys
