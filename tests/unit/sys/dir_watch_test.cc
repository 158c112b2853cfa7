// DirWatcher against the real kernel, in a private directory tree under /tmp: mkdir, rmdir
// and writes come back as events, a removed directory's watch is dropped, sweeps and the
// watch bound hold, and a queue overflow is reported. Waits are bounded; no time is asserted.
#include "sys/dir_watch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "sys/event_loop.h"

namespace reaperd::sys {
namespace {

constexpr int kPatienceMs = 5000;
constexpr std::uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY;

struct Seen {
  std::string dir;
  std::string name;
  std::uint32_t mask;
};

class DirWatch : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/reaperd-dirwatch-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    // Only what the tests made: plain directories and files under root_.
    const std::string cmd = "rm -rf '" + root_ + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }

  // Waits (epoll, bounded) until the watcher is readable, then drains it into seen_.
  DrainResult WaitAndDrain(DirWatcher& w, std::size_t max_events = 1024) {
    auto ep = Epoll::Create();
    EXPECT_TRUE(ep && ep->Add(w.fd(), EPOLLIN, 1));
    std::array<epoll_event, 1> out{};
    auto n = ep->Wait(out, kPatienceMs);
    EXPECT_TRUE(n && *n == 1) << "no event";
    auto r = w.Drain(max_events, [&](const DirEvent& e) {
      seen_.push_back({std::string(e.dir), std::string(e.name), e.mask});
    });
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r.value_or(DrainResult{});
  }

  bool SeenEvent(const std::string& dir, const std::string& name, std::uint32_t bits) const {
    for (const auto& s : seen_) {
      if (s.dir == dir && s.name == name && (s.mask & bits) == bits) return true;
    }
    return false;
  }

  std::string root_;
  std::vector<Seen> seen_;
};

TEST_F(DirWatch, MkdirWriteAndRmdirComeBackAsEventsAndRemovalDropsTheWatch) {
  auto w = DirWatcher::Create(kMask, 16);
  ASSERT_TRUE(w) << w.error().ToString();
  ASSERT_TRUE(w->Watch(root_).value());
  const std::string child = root_ + "/child";
  ASSERT_EQ(::mkdir(child.c_str(), 0755), 0);
  WaitAndDrain(*w);
  EXPECT_TRUE(SeenEvent(root_, "child", IN_CREATE | IN_ISDIR));

  ASSERT_TRUE(w->Watch(child).value());
  EXPECT_EQ(w->size(), 2u);
  { std::ofstream(child + "/memory.max") << "1048576\n"; }
  WaitAndDrain(*w);
  EXPECT_TRUE(SeenEvent(child, "memory.max", IN_MODIFY));

  ASSERT_EQ(::unlink((child + "/memory.max").c_str()), 0);
  ASSERT_EQ(::rmdir(child.c_str()), 0);
  WaitAndDrain(*w);
  EXPECT_TRUE(SeenEvent(root_, "child", IN_DELETE | IN_ISDIR));
  EXPECT_FALSE(w->watching(child)) << "the removed directory's watch must be dropped";
  EXPECT_TRUE(w->watching(root_));
  EXPECT_EQ(w->size(), 1u);
}

TEST_F(DirWatch, WatchIsBoundedAndIdempotent) {
  auto w = DirWatcher::Create(kMask, 2);
  ASSERT_TRUE(w);
  std::vector<std::string> dirs;
  for (int i = 0; i < 3; ++i) {
    dirs.push_back(root_ + "/d" + std::to_string(i));
    ASSERT_EQ(::mkdir(dirs.back().c_str(), 0755), 0);
  }
  EXPECT_TRUE(w->Watch(dirs[0]).value());
  EXPECT_TRUE(w->Watch(dirs[0]).value()) << "watching twice is one watch";
  EXPECT_TRUE(w->Watch(dirs[1]).value());
  EXPECT_FALSE(w->Watch(dirs[2]).value()) << "beyond max_watches nothing is added";
  EXPECT_EQ(w->size(), 2u);
  EXPECT_FALSE(w->watching(dirs[2]));

  w->Unwatch(dirs[1]);
  EXPECT_EQ(w->size(), 1u);
  auto gone = w->Watch(root_ + "/no-such-dir");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().sys_errno, ENOENT);
  auto file = root_ + "/plain-file";
  { std::ofstream(file) << "x"; }
  auto not_dir = w->Watch(file);
  ASSERT_FALSE(not_dir) << "IN_ONLYDIR refuses a file";
  EXPECT_EQ(not_dir.error().sys_errno, ENOTDIR);
}

TEST_F(DirWatch, SweepDropsWhatWasNotWatchedAgainAndClearDropsAll) {
  auto w = DirWatcher::Create(kMask, 16);
  ASSERT_TRUE(w);
  const std::string a = root_ + "/a", b = root_ + "/b";
  ASSERT_EQ(::mkdir(a.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(b.c_str(), 0755), 0);
  w->BeginSweep();
  ASSERT_TRUE(w->Watch(a).value());
  ASSERT_TRUE(w->Watch(b).value());
  EXPECT_EQ(w->EndSweep(), 0u);
  w->BeginSweep();
  ASSERT_TRUE(w->Watch(a).value());
  EXPECT_EQ(w->EndSweep(), 1u);
  EXPECT_TRUE(w->watching(a));
  EXPECT_FALSE(w->watching(b));
  w->Clear();
  EXPECT_EQ(w->size(), 0u);
  // Nothing is reported for a directory no longer watched.
  ASSERT_EQ(::mkdir((a + "/x").c_str(), 0755), 0);
  auto r = w->Drain(1024, [&](const DirEvent& e) {
    seen_.push_back({"", std::string(e.name), 0});
  });
  ASSERT_TRUE(r);
  EXPECT_TRUE(seen_.empty());
}

// The kernel's queue holds fs.inotify.max_queued_events; one more event than that overflows
// it. Writes alternate between two files, since the kernel merges an event identical to the
// one queued last (and a write is far cheaper than a mkdir/rmdir pair on the build disk).
TEST_F(DirWatch, OverflowIsReportedAndDrainStopsAtItsBound) {
  std::ifstream f("/proc/sys/fs/inotify/max_queued_events");
  std::size_t max_queued = 0;
  f >> max_queued;
  if (max_queued == 0 || max_queued > 1000000) GTEST_SKIP() << "queue " << max_queued;
  auto w = DirWatcher::Create(IN_MODIFY, 16);
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Watch(root_).value());
  const int fa = ::open((root_ + "/a").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  const int fb = ::open((root_ + "/b").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fa, 0);
  ASSERT_GE(fb, 0);
  for (std::size_t i = 0; i <= max_queued; ++i) {
    ASSERT_EQ(::pwrite(i % 2 == 0 ? fa : fb, "x", 1, 0), 1);
  }
  ::close(fa);
  ::close(fb);
  // A small bound first: it stops early and says more may be pending.
  auto first = w->Drain(10, [](const DirEvent&) {});
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->more);
  EXPECT_GE(first->events, 10u);
  EXPECT_LT(first->events, max_queued);
  EXPECT_FALSE(first->overflow) << "the overflow event is queued last";
  bool overflow = false;
  for (int i = 0; i < 1000 && !overflow; ++i) {
    auto r = w->Drain(max_queued + 1, [](const DirEvent&) {});
    ASSERT_TRUE(r);
    overflow = r->overflow;
    if (r->events == 0) break;
  }
  EXPECT_TRUE(overflow);
}

}  // namespace
}  // namespace reaperd::sys
