// ManagedOOMMemoryPressure=kill through the engine (engine_managed_oom.cc), over a fixture
// /proc and a temporary cgroup v2 tree laid out like TEST-55: an opted-in slice /w.slice with a
// hog's service (munch: pids 100 and 101, reclaim scanning) and an idle one (chill: pid 102)
// below it, and a process outside it (103 in /other.slice). The system has plenty of memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "daemon/engine.h"
#include "sys/system_view.h"
#include "unit/alloc/fake_system.h"
#include "unit/daemon/engine_test_base.h"
#include "unit/kill/fakes.h"

namespace reaperd::daemon {
namespace {

using alloc_test::FakeSystem;
using alloc_test::kFirstPid;
using alloc_test::kProcesses;
using alloc_test::WriteFile;

std::string Psi(double full_avg10) {
  return "some avg10=" + std::to_string(full_avg10 + 5) +
         " avg60=10.00 avg300=5.00 total=123456\nfull avg10=" + std::to_string(full_avg10) +
         " avg60=8.00 avg300=4.00 total=100000\n";
}
std::string Stat(std::uint64_t pgscan) {
  return "anon 1048576\nfile 0\npgscan " + std::to_string(pgscan) + "\npgsteal 10\npgmajfault 0\n";
}

class EngineManagedOom : public testing::EngineTestBase {
 protected:
  void SetUp() override {
    cg_ = sys_.dir + "-cg";
    namespace fs = std::filesystem;
    for (const char* d : {"/w.slice/munch.service", "/w.slice/chill.service", "/other.slice"}) {
      fs::create_directories(cg_ + d);
    }
    WriteFile(cg_ + "/cgroup.controllers", "cpu memory pids\n");
    SetSlice(0, 0);
    Cgroup("/w.slice/munch.service", {100, 101}, 0, 12 << 20);
    Cgroup("/w.slice/chill.service", {102}, 0, 200 << 10);
    Cgroup("/other.slice", {103}, 0, 1 << 30);
    auto v = sys::RealSystemView::Open(sys_.dir, cg_);
    ASSERT_TRUE(v.has_value()) << v.error().ToString();
    view_.emplace(std::move(*v));
    ASSERT_EQ(view_->cgroup_version(), sys::CgroupVersion::kV2);
    MakeEngine(*view_);
  }
  void TearDown() override {
    EngineTestBase::TearDown();
    std::filesystem::remove_all(cg_);
  }
  void Cgroup(const std::string& path, std::vector<pid_t> pids, std::uint64_t pgscan,
              std::uint64_t current) {
    std::string procs;
    for (pid_t p : pids) {
      procs += std::to_string(p) + "\n";
      WriteFile(sys_.dir + "/" + std::to_string(p) + "/cgroup", "0::" + path + "\n");
    }
    WriteFile(cg_ + path + "/cgroup.procs", procs);
    WriteFile(cg_ + path + "/memory.stat", Stat(pgscan));
    WriteFile(cg_ + path + "/memory.current", std::to_string(current) + "\n");
    WriteFile(cg_ + path + "/memory.pressure", Psi(0));
    WriteFile(cg_ + path + "/memory.oom.group", "0\n");
    for (const char* f : {"/memory.max", "/memory.high", "/memory.swap.max"}) {
      WriteFile(cg_ + path + f, "max\n");
    }
    WriteFile(cg_ + path + "/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
  }
  void SetSlice(double full_avg10, std::uint64_t pgscan) {
    WriteFile(cg_ + "/w.slice/memory.pressure", Psi(full_avg10));
    WriteFile(cg_ + "/w.slice/memory.stat", Stat(pgscan));
  }
  // One second of TEST-55: the slice at full_avg10, munch scanning 4096 pages a second.
  void Second(double full_avg10) {
    pgscan_ += 4096;
    SetSlice(full_avg10, pgscan_);
    WriteFile(cg_ + "/w.slice/munch.service/memory.stat", Stat(pgscan_));
    clock_.Advance(sys::kSecond);
    (void)engine_->Tick();
  }
  std::vector<pid_t> Killed() {
    std::lock_guard lock(ops_.mu);
    std::vector<pid_t> out;
    for (const auto& s : ops_.sent) {
      if (s.sig == SIGKILL) out.push_back(s.pid);
    }
    return out;
  }
  void OptIn(std::int64_t duration_ns = 3 * sys::kSecond) {
    EXPECT_EQ(engine_->SetManagedOom({{"/w.slice", 2000, duration_ns}}, 0), "ok cgroups=1\n");
  }

  std::string cg_;
  std::uint64_t pgscan_ = 0;
  std::optional<sys::RealSystemView> view_;
};

TEST_F(EngineManagedOom, PressureAboveForTheDurationKillsInTheScanningChildOnly) {
  OptIn();
  for (int i = 0; i < 3; ++i) Second(40.0);
  EXPECT_TRUE(Killed().empty()) << "before the duration has passed";
  Second(40.0);
  const auto killed = Killed();
  ASSERT_FALSE(killed.empty());
  for (pid_t p : killed) EXPECT_TRUE(p == 100 || p == 101) << "killed " << p;
  // The whole cgroup, as systemd-oomd kills it: both of munch's processes.
  EXPECT_NE(std::find(killed.begin(), killed.end(), 100), killed.end());
  EXPECT_NE(std::find(killed.begin(), killed.end(), 101), killed.end());
  EXPECT_EQ(Count("reasons=managed_oom_pressure"), 1u);
  EXPECT_EQ(Count(" cgroup=\"/w.slice/munch.service\" container="), 1u);  // the kill line
  EXPECT_EQ(Count("victim_cgroup=\"/w.slice/munch.service\" outcome=killed"), 1u);
  // Backed off: the pressure stays up, but nothing more dies within the post-kill delay.
  for (int i = 0; i < 10; ++i) Second(60.0);
  EXPECT_EQ(Killed(), killed);
}

TEST_F(EngineManagedOom, ABriefSpikeKillsNothing) {
  OptIn();
  for (int i = 0; i < 12; ++i) Second(i % 4 < 2 ? 90.0 : 5.0);  // never 3 s in a row
  EXPECT_TRUE(Killed().empty());
  EXPECT_EQ(Count("managed_oom"), 1u);  // the table line only
}

TEST_F(EngineManagedOom, NothingOptedInKillsNothing) {
  for (int i = 0; i < 8; ++i) Second(90.0);
  EXPECT_TRUE(Killed().empty());
  EXPECT_EQ(engine_->SetManagedOom({}, 0), "ok cgroups=0\n");
  for (int i = 0; i < 8; ++i) Second(90.0);
  EXPECT_TRUE(Killed().empty());
}

TEST_F(EngineManagedOom, AnIdleChildAloneIsNeverKilled) {
  // Only chill below the slice scans nothing: no candidate, said once, nothing killed.
  std::filesystem::remove_all(cg_ + "/w.slice/munch.service");
  OptIn();
  for (int i = 0; i < 8; ++i) {
    pgscan_ += 4096;
    SetSlice(80.0, pgscan_);
    clock_.Advance(sys::kSecond);
    (void)engine_->Tick();
  }
  EXPECT_TRUE(Killed().empty());
  EXPECT_EQ(Count("outcome=no_candidate"), 1u);
}

TEST_F(EngineManagedOom, LeftToSystemdOomdWhileItRuns) {
  // Process 103 is systemd-oomd.
  WriteFile(sys_.dir + "/103/stat",
            "103 (systemd-oomd) S 1 103 103 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 1000 1000000 "
            "100\n");
  OptIn();
  for (int i = 0; i < 8; ++i) Second(40.0);
  EXPECT_TRUE(Killed().empty());
  EXPECT_EQ(Count("outcome=left_to other=\"systemd-oomd\""), 1u);
}

TEST_F(EngineManagedOom, TheTableKeepsAFollowedCgroupsHistory) {
  OptIn();
  Second(40.0);
  Second(40.0);
  OptIn();  // reaperd-managed-oom's next report, the same table
  Second(40.0);
  Second(40.0);
  EXPECT_FALSE(Killed().empty());
  EXPECT_EQ(Count("outcome=table"), 1u);  // said once: it did not change
}

}  // namespace
}  // namespace reaperd::daemon
