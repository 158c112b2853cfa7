// HeldOomGroups over a real view of a temporary cgroup tree (plain files stand for the
// cgroupfs ones): what it holds, what it lets go of, and that a held read sees the file now.
#include "kill/held_oom_groups.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "sys/system_view.h"

namespace reaperd::kill {
namespace {

class HeldOomGroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/reaperd-oomgroups-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/proc");
    for (const char* c : {"a", "a/b", "a/b/c", "a/d", "e"}) Set(c, "0\n");
    std::ofstream(dir_ + "/cg/cgroup.controllers") << "memory\n";
    auto v = sys::RealSystemView::Open(dir_ + "/proc", dir_ + "/cg");
    ASSERT_TRUE(v.has_value()) << v.error().ToString();
    view_.emplace(std::move(*v));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Set(const std::string& cgroup, const std::string& value) {
    std::filesystem::create_directories(dir_ + "/cg/" + cgroup);
    std::ofstream(dir_ + "/cg/" + cgroup + "/memory.oom.group") << value;
  }
  std::string ReadHeld(const HeldOomGroups& h, std::string_view cgroup) {
    std::array<char, 16> buf;
    const int fd = h.Fd(cgroup);
    if (fd < 0) return "(not held)";
    auto r = view_->ReadFd(fd, buf);
    return r ? std::string(buf.data(), r->size) : "(read failed)";
  }

  std::string dir_;
  std::optional<sys::RealSystemView> view_;
};

TEST_F(HeldOomGroupsTest, HoldsEachCgroupAndItsAncestorsButTheRoot) {
  HeldOomGroups h;
  const std::array<std::string_view, 2> cgroups = {"/a/b/c", "/a/d"};
  h.Hold(*view_, cgroups);
  EXPECT_EQ(h.held(), 4u);  // /a/b/c, /a/b, /a, /a/d: /a once
  for (const char* c : {"/a/b/c", "/a/b", "/a", "/a/d"}) EXPECT_GE(h.Fd(c), 0) << c;
  EXPECT_LT(h.Fd("/"), 0);
  EXPECT_LT(h.Fd("/e"), 0);
  // A held read is a read of the file as it is now.
  Set("a/b", "1\n");
  EXPECT_EQ(ReadHeld(h, "/a/b"), "1\n");
}

TEST_F(HeldOomGroupsTest, LetsGoOfWhatIsNoLongerWantedAndKeepsTheRest) {
  HeldOomGroups h;
  const std::array<std::string_view, 1> first = {"/a/b/c"};
  h.Hold(*view_, first);
  const int a = h.Fd("/a");
  ASSERT_GE(a, 0);
  const std::array<std::string_view, 1> then = {"/a/d"};
  h.Hold(*view_, then);
  EXPECT_EQ(h.held(), 2u);
  EXPECT_EQ(h.Fd("/a"), a) << "kept open, not opened again";
  EXPECT_LT(h.Fd("/a/b/c"), 0);
  EXPECT_LT(h.Fd("/a/b"), 0);
  h.Hold(*view_, {});
  EXPECT_EQ(h.held(), 0u);
}

TEST_F(HeldOomGroupsTest, ACgroupWithoutTheFileOrGoneIsLeftToThePath) {
  HeldOomGroups h;
  const std::array<std::string_view, 2> cgroups = {"/gone", "/a"};
  h.Hold(*view_, cgroups);
  EXPECT_LT(h.Fd("/gone"), 0);
  EXPECT_GE(h.Fd("/a"), 0);
  EXPECT_EQ(h.held(), 1u);
}

TEST_F(HeldOomGroupsTest, HoldsAtMostKMax) {
  std::array<std::string, HeldOomGroups::kMax + 4> names;
  std::array<std::string_view, HeldOomGroups::kMax + 4> cgroups;
  for (std::size_t i = 0; i < names.size(); ++i) {
    names[i] = "/many" + std::to_string(i);
    Set(names[i].substr(1), "0\n");
    cgroups[i] = names[i];
  }
  HeldOomGroups h;
  h.Hold(*view_, cgroups);
  EXPECT_EQ(h.held(), HeldOomGroups::kMax);
  EXPECT_GE(h.Fd(names[0]), 0) << "the first given first";
  EXPECT_LT(h.Fd(names.back()), 0);
}

}  // namespace
}  // namespace reaperd::kill
