// sys::HeldFile: a file opened once and read from offset 0 again and again, with a fall back
// to a read by path when the held read fails or the view holds nothing.
#include "sys/held_file.h"

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <string>

#include "sys/faulty_system_view.h"
#include "sys/system_view.h"
#include "unit/scan/proc_tree.h"

namespace reaperd::sys {
namespace {

using scan::testing::ProcTree;

std::string Text(const Result<ReadResult>& r, const std::array<char, 64>& buf) {
  return r ? std::string(buf.data(), r->size) : "error: " + r.error().ToString();
}

TEST(HeldFile, ReadsThroughOneFdOpenedOnceAndSeesTheFileRewrittenInPlace) {
  ProcTree d;
  d.Put("proc/pressure/memory", "one\n");
  RealSystemView v = d.View();
  HeldFile f(Root::kProc, "pressure/memory");
  EXPECT_FALSE(f.held());
  std::array<char, 64> buf;
  EXPECT_EQ(Text(f.Read(v, buf), buf), "one\n");
  EXPECT_TRUE(f.held());
  d.Put("proc/pressure/memory", "two\n");  // in place: same file
  EXPECT_EQ(Text(f.Read(v, buf), buf), "two\n");
  std::filesystem::remove(d.root + "/proc/pressure/memory");  // gone by path, held still
  EXPECT_EQ(Text(f.Read(v, buf), buf), "two\n");
}

TEST(HeldFile, AFailedHeldReadFallsBackToThePathAndOpensAgain) {
  ProcTree d;
  d.Put("proc/meminfo", "a\n");
  RealSystemView base = d.View();
  FaultySystemView v(base);
  HeldFile f(Root::kProc, "meminfo");
  std::array<char, 64> buf;
  EXPECT_EQ(Text(f.Read(v, buf), buf), "a\n");
  ASSERT_TRUE(f.held());
  // One failure (the held read): the same call reads by path, and the file is let go.
  v.AddRule({"meminfo", Fault::kEio, 1, 0});
  auto r = f.Read(v, buf);
  EXPECT_FALSE(r);  // the path read fails too here: its error is what the caller sees
  EXPECT_FALSE(f.held());
  v.ClearRules();
  // A file replaced (another inode): the next read opens it again and reads the new one.
  std::filesystem::remove(d.root + "/proc/meminfo");
  d.Put("proc/meminfo", "b\n");
  EXPECT_EQ(Text(f.Read(v, buf), buf), "b\n");
  EXPECT_TRUE(f.held());
}

// A view that cannot hold files (the default SystemView::OpenAt: ENOTSUP) is read by path.
class PathOnlyView final : public SystemView {
 public:
  explicit PathOnlyView(SystemView& base) : base_(base) {}
  int reads = 0;
  Result<ReadResult> Read(Root r, std::string_view p, std::span<char> b) noexcept override {
    ++reads;
    return base_.Read(r, p, b);
  }
  Result<UniqueFd> OpenDir(Root r, std::string_view p) noexcept override {
    return base_.OpenDir(r, p);
  }
  Result<ReadResult> ReadAt(int d, std::string_view n, std::span<char> b) noexcept override {
    return base_.ReadAt(d, n, b);
  }
  Result<std::size_t> ReadLinkAt(int d, std::string_view n, std::span<char> b) noexcept override {
    return base_.ReadLinkAt(d, n, b);
  }
  Result<void> Write(Root r, std::string_view p, std::string_view d) noexcept override {
    return base_.Write(r, p, d);
  }
  Result<void> ListPids(std::vector<pid_t>& out) override { return base_.ListPids(out); }
  Result<void> ListCgroupPids(std::string_view p, std::vector<pid_t>& out) override {
    return base_.ListCgroupPids(p, out);
  }
  Result<void> ListDirs(Root r, std::string_view p, std::vector<std::string>& out) override {
    return base_.ListDirs(r, p, out);
  }
  CgroupVersion cgroup_version() const noexcept override { return base_.cgroup_version(); }
  std::string_view cgroup_root_path() const noexcept override { return base_.cgroup_root_path(); }

 private:
  SystemView& base_;
};

TEST(HeldFile, AViewThatHoldsNothingIsReadByPath) {
  ProcTree d;
  d.Put("proc/meminfo", "a\n");
  RealSystemView base = d.View();
  PathOnlyView v(base);
  HeldFile f(Root::kProc, "meminfo");
  std::array<char, 64> buf;
  EXPECT_EQ(Text(f.Read(v, buf), buf), "a\n");
  EXPECT_EQ(Text(f.Read(v, buf), buf), "a\n");
  EXPECT_FALSE(f.held());
  EXPECT_EQ(v.reads, 2);
}

// Files held for the cgroup scopes share a budget (HeldFile::Budget), so that a machine with
// hundreds of limited cgroups cannot spend the daemon's file descriptors on them: a file over
// the budget is read by path, and is held once another lets its place go.
TEST(HeldFile, BudgetedFilesOverTheBudgetAreReadByPathUntilAPlaceIsFree) {
  ProcTree d;
  d.Put("proc/a", "a\n");
  d.Put("proc/b", "b\n");
  RealSystemView v = d.View();
  HeldFile::Budget budget(1);
  std::array<char, 64> buf;
  HeldFile b(Root::kProc, "b", &budget);
  {
    HeldFile a(Root::kProc, "a", &budget);
    EXPECT_EQ(Text(a.Read(v, buf), buf), "a\n");
    EXPECT_TRUE(a.held());
    EXPECT_EQ(Text(b.Read(v, buf), buf), "b\n");
    EXPECT_FALSE(b.held()) << "over the budget";
    HeldFile moved = std::move(a);  // the place moves with the fd, and is not counted twice
    EXPECT_TRUE(moved.held());
    EXPECT_EQ(budget.used(), 1u);
  }
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(Text(b.Read(v, buf), buf), "b\n");
  EXPECT_TRUE(b.held());
  EXPECT_EQ(budget.used(), 1u);
  // An unbudgeted file holds whatever the budget says.
  HeldFile c(Root::kProc, "a");
  EXPECT_EQ(Text(c.Read(v, buf), buf), "a\n");
  EXPECT_TRUE(c.held());
  EXPECT_EQ(budget.used(), 1u);
}

}  // namespace
}  // namespace reaperd::sys
