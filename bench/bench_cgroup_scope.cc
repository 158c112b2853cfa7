// Decision to signal for a kill in a cgroup scope (and, below, the system scope's decision
// up to the victim), with many processes elsewhere: a v1
// memory cgroup of 64 MiB (created under this process's own) holds a hog of 56 MiB, near its
// limit, while 1,000 and then 10,000 sleeping children of this benchmark sit outside it.
// Each iteration runs the kill path as Engine::KillIn runs it: the scope's scan with the
// kill path's options (scan::KillScanOptions), RankInto, VictimBuilder::Build and
// Reaper::Submit, which sends the SIGKILL; the time is t_signal - t_decision of the result,
// t_decision taken before the scan as the engine takes it. The hog is really killed (inside
// the sandbox only). A reaperd whose cgroup scan reads all of /proc pays for every sleeper.
// Run: chrt -f 50 ./build/bench_cgroup_scope (the sleepers are SIGKILLed and reaped before
// it exits). SCHED_FIFO keeps the figure to the path itself: on a loaded machine a normal
// thread waits for a CPU at any syscall, and that wait, not the path, dominates. The
// counters split the time: scan_us, rank_build_us, submit_us (Submit up to the signal).
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <string>
#include <vector>

#include "integration/support/cgroup_sandbox.h"
#include "integration/support/hog.h"
#include "kill/reaper.h"
#include "kill/victim.h"
#include "policy/rank.h"
#include "scan/scanner.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

class NoSysrq final : public kill::SysrqWriter {
 public:
  Result<void> Trigger(char) noexcept override { return {}; }
};

// Children that only sleep, outside every sandbox (in this process's own cgroup). Each dies
// with this process (PR_SET_PDEATHSIG) should the benchmark crash before ReapAll().
std::vector<pid_t>& Sleepers() {
  static std::vector<pid_t> pids;
  return pids;
}

bool GrowSleepersTo(std::size_t n) {
  auto& pids = Sleepers();
  while (pids.size() > n) {  // a later benchmark may want fewer than an earlier one left
    ::kill(pids.back(), SIGKILL);
    while (::waitpid(pids.back(), nullptr, 0) < 0 && errno == EINTR) {
    }
    pids.pop_back();
  }
  const pid_t parent = ::getpid();
  while (pids.size() < n) {
    const pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(0);
      for (;;) ::pause();
    }
    pids.push_back(pid);
  }
  return true;
}

void ReapAll() {
  for (pid_t pid : Sleepers()) ::kill(pid, SIGKILL);
  for (pid_t pid : Sleepers()) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  Sleepers().clear();
}

sys::RealSystemView& View() {
  static auto* view = new sys::RealSystemView(*sys::RealSystemView::Open());
  return *view;
}

void BM_CgroupScopeDecisionToSignal(benchmark::State& state) {
  const auto sleepers = static_cast<std::size_t>(state.range(0));
  const bool watched = state.range(1) != 0;
  if (!GrowSleepersTo(sleepers)) {
    state.SkipWithError("fork failed (ulimit -u, pid_max?)");
    return;
  }
  std::string why;
  auto sb = itest::CgroupSandbox::Create("bench-scope", 64 * kMiB, &why);
  if (sb == nullptr) {
    state.SkipWithError(why.c_str());
    return;
  }
  const config::Config cfg = config::DefaultConfig();
  const policy::Scope scope{policy::ScopeKind::kCgroup, sb->cgroup()};
  const scan::ScanOptions options = scan::KillScanOptions(cfg.rank);
  sys::MonotonicClock clock;
  scan::Scanner scanner(View(), clock);
  policy::Ranker ranker(cfg.rank);
  kill::RealProcessOps ops(View());
  kill::SkipList skip;
  NoSysrq sysrq;
  kill::LastResortLadder ladder(cfg.kill, sysrq);
  kill::Reaper reaper(cfg.kill, {}, View(), ops, clock, skip, ladder);
  if (!reaper.Start()) {
    state.SkipWithError("reaper start failed");
    return;
  }
  kill::VictimBuilder builder(View(), ops, cfg.kill);
  policy::Snapshot snap;
  policy::Ranking ranking;
  const std::vector<policy::ProcessId> skipped;
  // Warm as the engine warms its kill path: one scan of the whole system.
  (void)scanner.ScanInto(policy::Scope{}, options, snap);
  double nivcsw = 0, nvcsw = 0, minflt = 0;
  double scanned = 0, usage_mib = 0, scan_us = 0, build_us = 0, submit_us = 0, walks = 0;
  for (auto _ : state) {
    itest::Hog hog = itest::Hog::Spawn({.touch_mib = 56}, sb.get());
    if (hog.pid() <= 0) {
      state.SkipWithError("spawn failed");
      break;
    }
    // The victim at nice 19: a SIGKILLed task of equal weight is woken by the signal and
    // may preempt the signalling thread on its CPU to run its exit (tearing down 56 MiB)
    // before pidfd_send_signal returns to it, which would count in t_signal.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(hog.pid()), 19);
    usage_mib += static_cast<double>(sb->Usage()) / kMiB;
    if (watched) {
      // As the engine does while the scope is at warn (Engine::WatchSharers), off the timed
      // path: scan and rank the scope, and have its top candidates' mm sharers watched.
      if (!scanner.ScanInto(scope, options, snap)) {
        state.SkipWithError("scan failed");
        break;
      }
      ranker.RankInto(snap, ::getpid(), skipped, ranking);
      const std::size_t top = std::min<std::size_t>(ranking.candidates.size(), 2);
      walks += static_cast<double>(
          builder.WatchSharers(snap, {ranking.candidates.data(), top}, clock.Now()));
    }
    const sys::Nanos t_decision = clock.Now();
    if (!scanner.ScanInto(scope, options, snap)) {
      state.SkipWithError("scan failed");
      break;
    }
    const sys::Nanos t_scanned = clock.Now();
    ranker.RankInto(snap, ::getpid(), skipped, ranking);
    if (ranking.candidates.empty()) {
      state.SkipWithError("no candidate");
      break;
    }
    kill::Victim v;
    if (!builder.Build(snap, ranking.candidates[0].index, t_decision, v) || v.main_stale) {
      state.SkipWithError("build failed");
      break;
    }
    if (v.identity.id.pid != hog.pid()) {
      state.SkipWithError("the victim is not the hog");
      break;
    }
    const sys::Nanos t_built = clock.Now();
    struct rusage ru0, ru1;
    ::getrusage(RUSAGE_THREAD, &ru0);
    (void)reaper.Submit(std::move(v));
    ::getrusage(RUSAGE_THREAD, &ru1);
    nivcsw += static_cast<double>(ru1.ru_nivcsw - ru0.ru_nivcsw);
    nvcsw += static_cast<double>(ru1.ru_nvcsw - ru0.ru_nvcsw);
    minflt += static_cast<double>(ru1.ru_minflt - ru0.ru_minflt);
    kill::KillResult r;
    if (!reaper.WaitPop(r, 5000) || r.t_signal == 0) {
      state.SkipWithError("no result");
      break;
    }
    state.SetIterationTime(static_cast<double>(r.t_signal - r.t_decision) / 1e9);
    scanned += static_cast<double>(snap.processes.size());
    scan_us += static_cast<double>(t_scanned - t_decision) / 1e3;
    build_us += static_cast<double>(t_built - t_scanned) / 1e3;
    submit_us += static_cast<double>(r.t_signal - t_built) / 1e3;
    hog.WaitDead(hog.pid(), 5000);
  }
  reaper.Stop();
  const double n = static_cast<double>(state.iterations());
  state.counters["sleepers"] = static_cast<double>(Sleepers().size());
  state.counters["watch_walks"] = n > 0 ? walks / n : 0;
  state.counters["scanned"] = n > 0 ? scanned / n : 0;
  state.counters["usage_MiB"] = n > 0 ? usage_mib / n : 0;
  // Where the time goes: the scan, rank + victim build, and Submit up to the signal.
  state.counters["scan_us"] = n > 0 ? scan_us / n : 0;
  state.counters["rank_build_us"] = n > 0 ? build_us / n : 0;
  // Per Submit: involuntary context switches (the thread was preempted before the signal
  // went out, on a loaded machine), voluntary ones, and minor faults.
  state.counters["submit_nivcsw"] = n > 0 ? nivcsw / n : 0;
  state.counters["submit_nvcsw"] = n > 0 ? nvcsw / n : 0;
  state.counters["submit_minflt"] = n > 0 ? minflt / n : 0;
  state.counters["submit_us"] = n > 0 ? submit_us / n : 0;
}
// watched=0: the first kill of a scope that went from ok to kill in one tick (no watch yet:
// the sharers are found by a walk of /proc); watched=1: a scope that passed through warn.
BENCHMARK(BM_CgroupScopeDecisionToSignal)
    ->ArgNames({"sleepers", "watched"})
    ->Args({1000, 0})
    ->Args({1000, 1})
    ->Args({10000, 0})
    ->Args({10000, 1})
    ->Iterations(30)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// The system scope's decision, up to the built victim (no signal: the top candidate of this
// whole machine is nobody's to kill): a full scan of /proc each time (refresh=0, as before
// the standing snapshot), or the kill path's refresh of the standing snapshot (refresh=1,
// Scanner::RefreshInto: the listing, the new processes and the top 8 re-read), or the same
// with the top 8's files held open as the engine holds them (refresh=2, Scanner::Hold: four
// preads each instead of a directory and four files opened and read), then rank and build. The
// standing snapshot is read whole once, off the timed path, as the engine does at warn and reclaim.
void BM_SystemScopeDecisionToVictim(benchmark::State& state) {
  const auto sleepers = static_cast<std::size_t>(state.range(0));
  const bool refresh = state.range(1) != 0;
  const bool hold = state.range(1) == 2;
  if (!GrowSleepersTo(sleepers)) {
    state.SkipWithError("fork failed (ulimit -u, pid_max?)");
    return;
  }
  const config::Config cfg = config::DefaultConfig();
  const policy::Scope scope{};
  const scan::ScanOptions options = scan::KillScanOptions(cfg.rank);
  sys::MonotonicClock clock;
  scan::Scanner scanner(View(), clock);
  policy::Ranker ranker(cfg.rank);
  kill::RealProcessOps ops(View());
  kill::VictimBuilder builder(View(), ops, cfg.kill);
  std::array<policy::Snapshot, 2> snaps;
  std::size_t standing = 0;
  policy::Ranking ranking;
  const std::vector<policy::ProcessId> skipped;
  (void)scanner.ScanInto(scope, options, snaps[0]);
  snaps[1] = snaps[0];
  ranker.RankInto(snaps[0], ::getpid(), skipped, ranking);
  std::vector<pid_t> top;
  for (std::size_t i = 0; i < ranking.candidates.size() && i < 8; ++i) {
    top.push_back(snaps[0].processes[ranking.candidates[i].index].pid);
  }
  if (hold) scanner.Hold(top);
  double read = 0, listed = 0, probed = 0;
  for (auto _ : state) {
    const sys::Nanos t_decision = clock.Now();
    policy::Snapshot& out = snaps[1 - standing];
    auto r = refresh ? scanner.RefreshInto(scope, options, top, snaps[standing], out)
                     : scanner.ScanInto(scope, options, out);
    if (!r) {
      state.SkipWithError("scan failed");
      break;
    }
    if (refresh) standing = 1 - standing;
    ranker.RankInto(out, ::getpid(), skipped, ranking);
    if (ranking.candidates.empty()) {
      state.SkipWithError("no candidate");
      break;
    }
    kill::Victim v;
    (void)builder.Build(out, ranking.candidates[0].index, t_decision, v);
    state.SetIterationTime(static_cast<double>(clock.Now() - t_decision) / 1e9);
    listed += static_cast<double>(out.processes.size());
    read += static_cast<double>(out.processes.size() - static_cast<std::size_t>(out.reused));
    probed += out.probed >= 0 ? 1 : 0;
    if (refresh) {
      // As the engine does after a kill: the standing snapshot keeps its age, so refresh it
      // whole now and then (the engine: every second at warn and reclaim).
      snaps[standing].full_at_ns = clock.Now();
    }
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["sleepers"] = static_cast<double>(Sleepers().size());
  state.counters["listed"] = n > 0 ? listed / n : 0;
  state.counters["read"] = n > 0 ? read / n : 0;
  // The share of refreshes that probed the PIDs made since instead of listing /proc.
  state.counters["probed"] = n > 0 ? probed / n : 0;
}
BENCHMARK(BM_SystemScopeDecisionToVictim)
    ->ArgNames({"sleepers", "refresh"})
    ->Args({1000, 0})
    ->Args({1000, 1})
    ->Args({1000, 2})
    ->Args({10000, 0})
    ->Args({10000, 1})
    ->Args({10000, 2})
    ->Iterations(20)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace reaperd

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  reaperd::ReapAll();
  return 0;
}
