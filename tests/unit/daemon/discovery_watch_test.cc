// AutoScopes with its inotify watcher over a private copy of the captured v1 host tree: a
// cgroup made after the first walk, then given a limit, becomes a scope at the next rescan
// the events ask for (the periodic one being a minute away); writes to other files ask for
// nothing; a removed cgroup's scope and watch go; rescans keep their minimum gap.
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "base/log.h"
#include "config/config.h"
#include "daemon/discovery.h"
#include "daemon/engine.h"
#include "sys/clock.h"
#include "sys/event_loop.h"
#include "sys/system_view.h"
#include "unit/kill/fakes.h"

namespace reaperd::daemon {
namespace {

namespace fs = std::filesystem;
const std::string kFx = REAPERD_FIXTURES;
constexpr int kRescanMs = 60000;

class NullSink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view, std::string_view) noexcept override {}
};

bool Watched(const Engine& e, const std::string& cgroup) {
  for (const auto& st : e.status()) {
    if (st.automatic && st.scope.cgroup == cgroup) return true;
  }
  return false;
}

class DiscoveryWatch : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/reaperd-discovery-watch-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs::copy(kFx + "/cgroup/host-v1", root_, fs::copy_options::recursive);
    auto v = sys::RealSystemView::Open(kFx + "/proc/host-v1", root_);
    ASSERT_TRUE(v.has_value());
    ASSERT_EQ(v->cgroup_version(), sys::CgroupVersion::kV1);
    view_.emplace(std::move(*v));
    engine_ = std::make_unique<Engine>(cfg_, std::vector<policy::Scope>{policy::Scope{}},
                                       EngineOptions{.dry_run = true, .self = 1}, *view_, clock_,
                                       log_, ops_, sysrq_);
    autos_.emplace(*view_, clock_, log_, DiscoveryOptions{}, kRescanMs);
    auto fd = autos_->EnableWatch();
    ASSERT_TRUE(fd.has_value()) << fd.error().ToString();
    auto ep = sys::Epoll::Create();
    ASSERT_TRUE(ep && ep->Add(*fd, EPOLLIN, 1));
    ep_.emplace(std::move(*ep));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Waits (bounded) for the watcher's fd, as the daemon loop does, then lets autos_ drain it.
  bool Wake() {
    std::array<epoll_event, 1> out{};
    auto n = ep_->Wait(out, 5000);
    EXPECT_TRUE(n && *n == 1) << "no inotify event";
    return autos_->OnWatchReady();
  }
  // Nothing pending on the watcher right now.
  bool Quiet() {
    std::array<epoll_event, 1> out{};
    auto n = ep_->Wait(out, 0);
    return n && *n == 0;
  }

  std::string root_;
  config::Config cfg_;
  std::optional<sys::RealSystemView> view_;
  sys::FakeClock clock_;
  NullSink sink_;
  Logger log_{sink_, LogLevel::kDebug};
  kill::testing::FakeOps ops_;
  kill::testing::FakeSysrq sysrq_;
  std::unique_ptr<Engine> engine_;
  std::optional<AutoScopes> autos_;
  std::optional<sys::Epoll> ep_;
};

TEST_F(DiscoveryWatch, NewCgroupGivenALimitBecomesAScopeWithoutWaitingForThePeriodicRescan) {
  EXPECT_GT(autos_->MaybeRescan(*engine_), 1000) << "the periodic rescan is a minute away";
  EXPECT_TRUE(Watched(*engine_, "/reaperd-capture"));
  EXPECT_EQ(autos_->watches(), 2u);  // the root and the captured child
  const std::uint64_t first = autos_->rescans();

  // mkdir: a rescan is asked for, but not before the minimum gap since the last one.
  const std::string dir = root_ + "/box";
  ASSERT_TRUE(fs::create_directory(dir));
  EXPECT_TRUE(Wake());
  const int wait_ms = autos_->MaybeRescan(*engine_);
  EXPECT_EQ(autos_->rescans(), first) << "too soon after the last rescan";
  EXPECT_LE(wait_ms, AutoScopes::kMinRescanGapNs / sys::kMilli);
  clock_.Advance(AutoScopes::kMinRescanGapNs);
  (void)autos_->MaybeRescan(*engine_);
  EXPECT_EQ(autos_->rescans(), first + 1);
  EXPECT_EQ(autos_->watches(), 3u);
  EXPECT_FALSE(Watched(*engine_, "/box")) << "no limit yet";

  // The limit, written after the walk read none: its IN_MODIFY asks for the rescan.
  { std::ofstream(dir + "/memory.limit_in_bytes") << "67108864\n"; }
  EXPECT_TRUE(Wake());
  clock_.Advance(AutoScopes::kMinRescanGapNs);
  (void)autos_->MaybeRescan(*engine_);
  EXPECT_TRUE(Watched(*engine_, "/box"));

  // Writes to other files of a cgroup (cgroup.procs, as systemd does all day) ask nothing.
  { std::ofstream(dir + "/cgroup.procs") << "1\n"; }
  EXPECT_FALSE(Wake());

  // Removed: the next rescan drops the scope, and the watch goes with the directory.
  fs::remove_all(dir);
  bool wanted = false;
  while (!Quiet()) wanted = Wake() || wanted;
  EXPECT_TRUE(wanted);
  EXPECT_EQ(autos_->watches(), 2u);
  clock_.Advance(AutoScopes::kMinRescanGapNs);
  EXPECT_GT(autos_->MaybeRescan(*engine_), 1000);
  EXPECT_FALSE(Watched(*engine_, "/box"));
  EXPECT_TRUE(Watched(*engine_, "/reaperd-capture"));
}

TEST_F(DiscoveryWatch, WithoutEventsOnlyThePeriodicRescanRuns) {
  (void)autos_->MaybeRescan(*engine_);
  const std::uint64_t first = autos_->rescans();
  clock_.Advance(kRescanMs * sys::kMilli - sys::kMilli);
  EXPECT_FALSE(autos_->OnWatchReady()) << "nothing happened";
  (void)autos_->MaybeRescan(*engine_);
  EXPECT_EQ(autos_->rescans(), first);
  clock_.Advance(sys::kMilli);
  (void)autos_->MaybeRescan(*engine_);
  EXPECT_EQ(autos_->rescans(), first + 1);
}

TEST_F(DiscoveryWatch, OnlyARescanAnEventAskedForIsWorthAWakeUp) {
  // The daemon loop arms its timer for the next rescan only when it was asked for by an
  // event, or when some cgroup is not watched: the periodic one then rides on a tick.
  (void)autos_->MaybeRescan(*engine_);
  EXPECT_TRUE(autos_->watching());
  EXPECT_FALSE(autos_->rescan_wanted());
  ASSERT_TRUE(fs::create_directory(root_ + "/box"));
  EXPECT_TRUE(Wake());
  EXPECT_TRUE(autos_->rescan_wanted());
  clock_.Advance(AutoScopes::kMinRescanGapNs);
  (void)autos_->MaybeRescan(*engine_);
  EXPECT_FALSE(autos_->rescan_wanted());
  fs::remove_all(root_ + "/box");
}

}  // namespace
}  // namespace reaperd::daemon
