// Benchmarks of the kill path on this machine, with real victims spawned inside v1
// memory cgroups created under this process's own (never more than one victim alive):
// - BM_DecisionToSignal: VictimBuilder::Build + Reaper::Submit, i.e. from the decision to
//   the SIGKILL sent through the pidfd (t_signal - t_decision), against a snapshot holding
//   only the victim (arg 0) or every process of the system (arg 1: kcmp prefilter cost).
// - BM_Reap/GiB/mode: signal to "memory back" (the cgroup's usage under 10% of the victim's
//   size). mode 0: SIGKILL and let exit free it; mode 1: SIGKILL then process_mrelease at
//   once from this thread, racing the exit; mode 2: victim frozen (v1 freezer), SIGKILL,
//   process_mrelease, then thaw: the reap alone (mrelease_ms is the call itself).
#include <benchmark/benchmark.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/hog.h"
#include "kill/reaper.h"
#include "kill/victim.h"
#include "scan/scanner.h"
#include "sys/clock.h"
#include "sys/syscalls.h"
#include "sys/system_view.h"

namespace reaperd {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

class NoSysrq final : public kill::SysrqWriter {
 public:
  Result<void> Trigger(char) noexcept override { return {}; }
};

sys::RealSystemView& View() {
  static auto* view = new sys::RealSystemView(*sys::RealSystemView::Open());
  return *view;
}

void BM_DecisionToSignal(benchmark::State& state) {
  std::string why;
  auto sb = itest::CgroupSandbox::Create("bench-signal", 64 * kMiB, &why);
  if (sb == nullptr) {
    state.SkipWithError(why.c_str());
    return;
  }
  sys::MonotonicClock clock;
  scan::Scanner scanner(View(), clock);
  policy::Snapshot snap;
  if (state.range(0) == 1) {
    auto s = scanner.Scan(policy::Scope{}, {});
    if (!s) {
      state.SkipWithError("system scan failed");
      return;
    }
    snap = std::move(*s);
  } else {
    snap.scope = policy::Scope{policy::ScopeKind::kCgroup, sb->cgroup()};
  }
  config::KillConfig cfg;
  kill::RealProcessOps ops(View());
  kill::SkipList skip;
  NoSysrq sysrq;
  kill::LastResortLadder ladder(cfg, sysrq);
  kill::Reaper reaper(cfg, {}, View(), ops, clock, skip, ladder);
  if (!reaper.Start()) {
    state.SkipWithError("reaper start failed");
    return;
  }
  kill::VictimBuilder builder(View(), ops, cfg);
  for (auto _ : state) {
    itest::Hog hog = itest::Hog::Spawn({.touch_mib = 4}, sb.get());
    policy::Process p;
    int unreadable = 0;
    if (hog.pid() <= 0 || !scanner.ReadProcess(hog.pid(), {}, p, &unreadable)) {
      state.SkipWithError("spawn failed");
      break;
    }
    snap.processes.push_back(p);
    kill::Victim v;
    (void)builder.Build(snap, snap.processes.size() - 1, clock.Now(), v);
    (void)reaper.Submit(std::move(v));
    kill::KillResult r;
    if (!reaper.WaitPop(r, 5000) || r.t_signal == 0) {
      state.SkipWithError("no result");
      break;
    }
    state.SetIterationTime(static_cast<double>(r.t_signal - r.t_decision) / 1e9);
    snap.processes.pop_back();
    hog.WaitDead(hog.pid(), 5000);
  }
  state.counters["candidates"] = static_cast<double>(snap.processes.size() + 1);
}
BENCHMARK(BM_DecisionToSignal)->Arg(0)->Arg(1)->UseManualTime()->Iterations(200);

void BM_Reap(benchmark::State& state) {
  const std::uint64_t gib = static_cast<std::uint64_t>(state.range(0));
  const int mode = static_cast<int>(state.range(1));
  const std::uint64_t bytes = gib << 30;
  std::string why;
  auto sb = itest::CgroupSandbox::Create("bench-reap", bytes + 512 * kMiB, &why);
  std::unique_ptr<itest::FreezerCgroup> freezer;
  if (sb != nullptr && mode == 2) freezer = itest::FreezerCgroup::Create("bench-reap", &why);
  if (sb == nullptr || (mode == 2 && freezer == nullptr)) {
    state.SkipWithError(why.c_str());
    return;
  }
  sys::MonotonicClock clock;
  double total_s = 0, exit_ms = 0, mrelease_ms = 0;
  int reaped = 0, esrch = 0;
  for (auto _ : state) {
    itest::Hog hog = itest::Hog::Spawn({.touch_mib = gib * 1024}, sb.get());
    if (hog.pid() <= 0) {
      state.SkipWithError("spawn failed");
      break;
    }
    if (freezer && (!freezer->AddProcess(hog.pid()) || !freezer->Freeze())) {
      state.SkipWithError("freeze failed");
      break;
    }
    auto fd = sys::PidfdOpen(hog.pid());
    if (!fd) {
      state.SkipWithError("pidfd_open failed");
      break;
    }
    const sys::Nanos t0 = clock.Now();
    (void)sys::PidfdSendSignal(fd->get(), SIGKILL);
    if (mode >= 1) {
      for (int i = 0; i < 100000; ++i) {
        auto r = sys::ProcessMrelease(fd->get());
        if (r) {
          ++reaped;
          mrelease_ms += static_cast<double>(clock.Now() - t0) / 1e6;
          break;
        }
        if (r.error().sys_errno == ESRCH) {
          ++esrch;
          break;
        }
      }
    }
    if (freezer) freezer->Thaw();
    const sys::Nanos give_up = t0 + 30 * sys::kSecond;
    while (sb->Usage() > bytes / 10 && clock.Now() < give_up) {
    }
    const sys::Nanos t_back = clock.Now();
    auto exited = sys::PidfdWaitExit(fd->get(), 10000);
    if (exited && *exited) exit_ms += static_cast<double>(clock.Now() - t0) / 1e6;
    double s = static_cast<double>(t_back - t0) / 1e9;
    total_s += s;
    state.SetIterationTime(s);
    hog.Kill();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["GiB_per_s"] = total_s > 0 ? static_cast<double>(gib) * n / total_s : 0;
  state.counters["mrelease_reaped"] = reaped;
  state.counters["mrelease_esrch"] = esrch;
  // Signal to process_mrelease's return, over the calls that reaped (0 when none did).
  state.counters["mrelease_ms"] = reaped > 0 ? mrelease_ms / reaped : 0;
  state.counters["signal_to_exit_ms"] = n > 0 ? exit_ms / n : 0;
}
BENCHMARK(BM_Reap)
    ->ArgNames({"GiB", "mode"})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({1, 2})
    ->Iterations(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Reap)
    ->ArgNames({"GiB", "mode"})
    ->Args({4, 0})
    ->Args({4, 1})
    ->Args({4, 2})
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace reaperd

BENCHMARK_MAIN();
