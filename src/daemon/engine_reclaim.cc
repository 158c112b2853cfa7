// The engine's part of the graduated response: the warn hook, the reclaim chain per scope
// (run on its own worker thread; the loop only starts passes and looks at their state), the
// hold of the first kill of an episode while the chain runs, the pre- and post-kill hooks,
// and systemd's watchdog ping.

#include <algorithm>

#include "daemon/engine.h"
#include "daemon/engine_internal.h"
#include "kill/kill_result.h"
#include "sys/systemd_notify.h"

namespace reaperd::daemon {

void Engine::BuildShared() {
  hooks_ = std::make_unique<reclaim::HookRunner>(clock_, log_);
  if (cfg_.watchdog.enabled) {
    watchdog_ = std::make_unique<watchdog::Watchdog>(cfg_.watchdog, view_, clock_, log_);
  }
  sd_watchdog_usec_ = sys::WatchdogUsec();
}

std::unique_ptr<reclaim::Worker> Engine::MakeReclaimer(const policy::Scope& scope) {
  if (!cfg_.reclaim.enabled || cfg_.reclaim.notifiers.empty() || options_.dry_run) return nullptr;
  std::vector<std::unique_ptr<reclaim::Notifier>> notifiers;
  for (const auto& n : cfg_.reclaim.notifiers) {
    notifiers.push_back(reclaim::MakeNotifier(n, {view_, clock_, log_, &event_post_}));
  }
  // The worker samples the scope on its own thread with a sampler of its own.
  auto sampler = std::make_shared<Sampler>(view_, clock_, scope);
  reclaim::Probe probe = [sampler] { return sampler->Sample(); };
  return std::make_unique<reclaim::Worker>(
      std::make_unique<reclaim::Chain>(cfg_.reclaim, std::move(notifiers), clock_, log_),
      std::move(probe), clock_);
}

void Engine::NotifySystemdWatchdog(sys::Nanos now) noexcept {
  // The loop is alive (it is running this); ping at half of systemd's interval.
  if (sd_watchdog_usec_ == 0) return;
  const auto half = static_cast<sys::Nanos>(sd_watchdog_usec_) * sys::kMicro / 2;
  if (now - last_sd_notify_ns_ < half) return;
  // Never waiting: systemd stalled by the same pressure must not hold this tick's kill. A
  // ping it refused is sent again next tick.
  if (sys::Notify("WATCHDOG=1", /*wait=*/false)) last_sd_notify_ns_ = now;
}

int Engine::SystemdWatchdogWaitMs() const noexcept {
  if (sd_watchdog_usec_ == 0) return -1;
  const auto half = static_cast<sys::Nanos>(sd_watchdog_usec_) * sys::kMicro / 2;
  const sys::Nanos left = last_sd_notify_ns_ + half - clock_.Now();
  if (left <= 0) return 0;
  return static_cast<int>((left + sys::kMilli - 1) / sys::kMilli);  // rounded up: due then
}

std::uint64_t Engine::ReclaimTarget(const pressure::PressureSample& s) const {
  // Back above the reclaim level with its hysteresis: the level the detector would leave.
  const double pct = cfg_.detector.reclaim_available_percent + cfg_.detector.hysteresis_percent;
  return static_cast<std::uint64_t>(static_cast<double>(s.total_bytes) * pct / 100.0);
}

void Engine::CollectReclaimPasses() {
  for (std::size_t i = 0; i < reclaimers_.size(); ++i) {
    if (!reclaimers_[i]) continue;
    // The chain logged the pass; the next sample shows its effect on the level.
    auto pass = reclaimers_[i]->TakeResult();
    if (!pass) continue;
    for (auto* o : observers_) o->OnReclaimPass(status_[i].scope, *pass);
  }
}

void Engine::MaybeReclaim(std::size_t i, const pressure::PressureSample& s,
                          const pressure::Decision& d) {
  reclaim::Worker* w = reclaimers_[i].get();
  if (w == nullptr) return;
  if (w->busy()) return;
  const sys::Nanos now = clock_.Now();
  const sys::Nanos last = w->last_end_ns();
  if (last != 0 && now - last < cfg_.reclaim.interval_ms * sys::kMilli &&
      d.level != pressure::Level::kKill) {
    return;
  }
  reclaim::NotifyContext ctx;
  ctx.scope = status_[i].scope;
  ctx.level = d.level;
  ctx.sample = s;
  ctx.decision = d;
  (void)w->Request(ctx, ReclaimTarget(s));
}

bool Engine::HoldKill(std::size_t i, const pressure::PressureSample& s,
                      const pressure::Decision& d) {
  reclaim::Worker* w = reclaimers_[i].get();
  Episode& ep = episodes_[i];
  if (w == nullptr || ep.hold_done) return false;
  const sys::Nanos now = clock_.Now();
  if (ep.hold_until == 0) {
    int budget = cfg_.reclaim.kill_budget_ms;
    // Never wait longer than half the time the trend gives before memory runs out.
    if (d.time_to_exhaustion_ms >= 0) {
      budget = std::min<int>(budget, static_cast<int>(d.time_to_exhaustion_ms / 2));
    }
    log_.Log(LogLevel::kNotice, "reclaim_hold", "scope={} budget_ms={} chain_busy={}",
             Q{status_[i].name}, budget, w->busy() ? 1 : 0);
    if (budget <= 0) {
      ep.hold_done = true;
      return false;
    }
    ep.hold_until = now + budget * sys::kMilli;
    holding_ = true;
    return true;
  }
  if (now < ep.hold_until && w->busy()) {
    holding_ = true;
    return true;
  }
  // The chain ended (or the budget ran out): judge once more on a fresh sample, then kill
  // if the scope is still at the kill level.
  if (!w->busy() && !ep.rechecked && now < ep.hold_until) {
    ep.rechecked = true;
    holding_ = true;
    return true;
  }
  ep.hold_done = true;
  log_.Log(LogLevel::kNotice, "reclaim_hold", "scope={} outcome={} available_mib={:.1f}",
           Q{status_[i].name}, w->busy() ? "budget_spent" : "chain_done",
           static_cast<double>(s.available_bytes) / kMiB);
  return false;
}

reclaim::HookEnv Engine::PressureEnv(std::size_t i, const char* event,
                                     const pressure::Decision& d) const {
  reclaim::HookEnv e;
  e.event = event;
  e.scope = status_[i].scope.Name();
  e.level = d.level;
  e.available_bytes = status_[i].sample.available_bytes;
  e.total_bytes = status_[i].sample.total_bytes;
  e.available_percent = d.available_percent;
  e.psi_some_percent = d.psi_some_percent;
  e.psi_full_percent = d.psi_full_percent;
  e.reason = ReasonsString(d.reasons);
  return e;
}

void Engine::OnWarn(std::size_t i, const pressure::Decision& d) {
  const auto& s = status_[i].sample;
  log_.Log(LogLevel::kNotice, "warn",
           "scope={} available_mib={:.0f} total_mib={:.0f} available_pct={:.1f} reasons={} "
           "hook={}",
           Q{status_[i].name}, static_cast<double>(s.available_bytes) / kMiB,
           static_cast<double>(s.total_bytes) / kMiB, d.available_percent,
           ReasonsText(d.reasons).view(), cfg_.hooks.warn.argv.empty() ? "none" : "queued");
  // systemd-oomd may have been socket-activated since the start (see CoexistCheck).
  coexist_.CheckIfDue(view_, log_, clock_.Now());
  if (cfg_.hooks.warn.argv.empty() || options_.dry_run) return;
  hooks_->Queue("warn", cfg_.hooks.warn.argv, PressureEnv(i, "warn", d),
                cfg_.hooks.warn.timeout_ms);
}

bool Engine::StartPreKill(std::size_t i, const policy::Process& p, const pressure::Decision& d) {
  const config::HookConfig& h = cfg_.hooks.pre_kill;
  if (h.argv.empty() || options_.dry_run) return false;
  reclaim::HookEnv e = PressureEnv(i, "pre_kill", d);
  e.victim_pid = p.pid;
  e.victim_comm = std::string(p.comm.view());
  e.victim_uid = p.uid;
  e.victim_cgroup = p.cgroup;
  e.victim_rss_bytes = p.rss();
  const sys::Nanos started = clock_.Now();
  // Trust-checked like every hook, before every run; refused or failed, the kill goes on.
  auto child = reclaim::StartHook("pre_kill", h.argv, e, log_);
  if (!child) return false;
  PendingKill& pk = pending_[i];
  pk.hook = std::move(*child);
  pk.started = started;
  pk.deadline = started + h.timeout_ms * sys::kMilli;
  holding_ = true;
  return true;
}

void Engine::PollPendingKills() {
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    PendingKill& pk = pending_[i];
    if (!pk.active) continue;
    auto ended = pk.hook.WaitExit(0);
    if (ended && !*ended && clock_.Now() < pk.deadline) {
      holding_ = true;  // look again on the next (fast) tick
      continue;
    }
    // Its output and its end (or its kill, past the timeout) are the hook runner's business.
    hooks_->Adopt("pre_kill", std::move(pk.hook), pk.started, pk.deadline);
    pk.active = false;
    stages_ = KillStages{};  // the decision's time went to the hook
    Commit(i, pk.victim, pk.snap, pk.ranking, pk.rank, pk.decision, pk.t_decision);
  }
}

void Engine::QueuePostKill(const kill::KillResult& r) {
  const config::HookConfig& h = cfg_.hooks.post_kill;
  if (h.argv.empty() || options_.dry_run || r.after_deadline) return;
  reclaim::HookEnv e;
  e.event = "post_kill";
  e.scope = r.scope.kind == policy::ScopeKind::kSystem
                ? std::string("system")
                : "cgroup:" + std::string(r.scope.cgroup.view());
  e.victim_pid = r.victim.id.pid;
  e.victim_comm = std::string(r.victim.comm.view());
  e.victim_uid = r.victim.uid;
  e.victim_cgroup = std::string(r.victim.cgroup.view());
  e.victim_rss_bytes = r.victim.rss_bytes;
  e.reason = "killed";
  e.outcome = kill::OutcomeName(r.outcome);
  e.bytes_freed = r.bytes_freed;
  hooks_->Queue("post_kill", h.argv, std::move(e), h.timeout_ms);
}

}  // namespace reaperd::daemon
