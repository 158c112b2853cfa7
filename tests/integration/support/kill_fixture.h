// The fixture of the real kill tests: a real SystemView and ProcessOps (with a switch to
// swallow signals to chosen PIDs), a reaper, a recording sysrq (never the real one), and
// helpers to scan a sandbox, choose with the real Ranker and submit the choice.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "integration/support/cgroup_sandbox.h"
#include "integration/support/hog.h"
#include "kill/kill_log.h"
#include "kill/reaper.h"
#include "kill/trigger.h"
#include "kill/victim.h"
#include "policy/rank.h"
#include "scan/scanner.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::itest {

constexpr std::uint64_t kMiB = 1 << 20;

// The victim's memory came back: reaped by process_mrelease, or every user of its mm exited.
inline bool Released(const kill::KillResult& r) {
  return r.outcome == kill::Outcome::kReaped || r.outcome == kill::Outcome::kExited;
}

class RecordingSysrq final : public kill::SysrqWriter {
 public:
  Result<void> Trigger(char c) noexcept override {
    std::lock_guard lock(mu_);
    commands_.push_back(c);
    return {};
  }
  std::vector<char> commands() {
    std::lock_guard lock(mu_);
    return commands_;
  }

 private:
  std::mutex mu_;
  std::vector<char> commands_;
};

// Real process operations, except that signals to the PIDs in `withheld` are swallowed:
// the test's way to have a victim that does not die ("stopped in a way the test controls").
class WithholdingOps final : public kill::ProcessOps {
 public:
  explicit WithholdingOps(kill::ProcessOps& real) : real_(real) {}
  std::vector<pid_t> withheld;

  Result<sys::UniqueFd> Open(pid_t pid) noexcept override {
    auto fd = real_.Open(pid);
    if (fd) {
      std::lock_guard lock(mu_);
      fd_pid_[fd->get()] = pid;
    }
    return fd;
  }
  Result<void> Send(int pidfd, int sig) noexcept override {
    {
      std::lock_guard lock(mu_);
      for (pid_t p : withheld) {
        if (fd_pid_[pidfd] == p) return {};
      }
    }
    return real_.Send(pidfd, sig);
  }
  Result<void> Mrelease(int pidfd) noexcept override { return real_.Mrelease(pidfd); }
  Result<bool> WaitExit(int pidfd, int ms) noexcept override { return real_.WaitExit(pidfd, ms); }
  Result<bool> SameMm(pid_t a, pid_t b) noexcept override { return real_.SameMm(a, b); }
  void Boost(pid_t pid) noexcept override { real_.Boost(pid); }
  bool Unfreeze(pid_t pid) noexcept override { return real_.Unfreeze(pid); }
  Result<sys::UniqueFd> OpenMm(pid_t pid) noexcept override { return real_.OpenMm(pid); }
  Result<bool> MmGone(int fd) noexcept override { return real_.MmGone(fd); }

 private:
  kill::ProcessOps& real_;
  std::mutex mu_;
  std::map<int, pid_t> fd_pid_;
};

class KillLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (cgroups, kcmp, process_mrelease)";
    auto v = sys::RealSystemView::Open();
    ASSERT_TRUE(v) << v.error().ToString();
    if (v->cgroup_version() != sys::CgroupVersion::kV1) GTEST_SKIP() << "needs cgroup v1 memory";
    view_.emplace(std::move(*v));
    real_ops_ = std::make_unique<kill::RealProcessOps>(*view_);
    ops_ = std::make_unique<WithholdingOps>(*real_ops_);
    cfg_.deadline_ms = 2000;
  }
  void TearDown() override {
    if (reaper_) reaper_->Stop();
  }

  std::unique_ptr<CgroupSandbox> Sandbox(const std::string& name, std::uint64_t limit) {
    std::string why;
    auto sb = CgroupSandbox::Create(name, limit, &why);
    EXPECT_NE(sb, nullptr) << why;
    return sb;
  }
  void StartReaper() {
    ladder_ = std::make_unique<kill::LastResortLadder>(cfg_, sysrq_);
    kill::ReaperOptions opt;
    opt.threads = 2;
    opt.linger_interval = 20 * sys::kMilli;
    reaper_ = std::make_unique<kill::Reaper>(cfg_, opt, *view_, *ops_, clock_, skip_, *ladder_);
    ASSERT_TRUE(reaper_->Start());
  }
  policy::Snapshot Scan(const CgroupSandbox& sb) {
    scan::Scanner scanner(*view_, clock_);
    policy::Scope scope{policy::ScopeKind::kCgroup, sb.cgroup()};
    auto snap = scanner.Scan(scope, {});
    EXPECT_TRUE(snap) << snap.error().ToString();
    return snap ? std::move(*snap) : policy::Snapshot{};
  }
  // The ranker's first choice, honouring the skip list; -1 if none.
  long Choose(const policy::Snapshot& snap) {
    policy::Ranker ranker(config::RankConfig{});
    std::vector<policy::ProcessId> skipped;
    skip_.CopyTo(skipped);
    auto ranking = ranker.Rank(snap, ::getpid(), skipped);
    if (ranking.candidates.empty()) return -1;
    return static_cast<long>(ranking.candidates[0].index);
  }
  Result<std::uint64_t> KillChosen(const policy::Snapshot& snap, long index,
                                   kill::Victim* built = nullptr) {
    kill::VictimBuilder builder(*view_, *ops_, cfg_);
    kill::Victim v;
    EXPECT_TRUE(builder.Build(snap, static_cast<std::size_t>(index), clock_.Now(), v));
    if (built) built->member_count = v.member_count;
    return reaper_->Submit(std::move(v));
  }
  kill::KillResult Next(int timeout_ms = 10000) {
    kill::KillResult r;
    EXPECT_TRUE(reaper_->WaitPop(r, timeout_ms)) << "no result within " << timeout_ms << " ms";
    kill::LogKillResult(log_, r);
    return r;
  }

  std::optional<sys::RealSystemView> view_;
  std::unique_ptr<kill::RealProcessOps> real_ops_;
  std::unique_ptr<WithholdingOps> ops_;
  sys::MonotonicClock clock_;
  config::KillConfig cfg_;
  kill::SkipList skip_;
  RecordingSysrq sysrq_;
  std::unique_ptr<kill::LastResortLadder> ladder_;
  std::unique_ptr<kill::Reaper> reaper_;
  StderrSink sink_;
  Logger log_{sink_};
};

}  // namespace reaperd::itest
