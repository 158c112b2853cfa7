#include "daemon/engine.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <string_view>

#include "config/reload.h"
#include "daemon/engine_internal.h"
#include "proc/cgroup_memory.h"
#include "sys/realtime.h"

namespace reaperd::daemon {

namespace {

// Removes v[i] by moving the others into a new vector: the per-scope types hold references
// (Sampler), so they can be move-constructed but not assigned, which vector::erase needs.
template <class T>
void EraseAt(std::vector<T>& v, std::size_t i) {
  std::vector<T> kept;
  kept.reserve(v.size());
  for (std::size_t j = 0; j < v.size(); ++j) {
    if (j != i) kept.push_back(std::move(v[j]));
  }
  v.swap(kept);
}

kill::ReaperOptions MakeReaperOptions(const config::Config& cfg, bool dry_run) {
  kill::ReaperOptions o;
  o.threads = cfg.kill.reaper_threads;
  o.realtime_priority = cfg.kill.reaper_realtime_priority;
  o.dry_run = dry_run;
  return o;
}

}  // namespace

SmallString<96> ReasonsText(pressure::Reasons r) noexcept {
  std::array<char, 96> buf;
  std::size_t n = 0;
  auto add = [&](pressure::Reasons bit, std::string_view name) {
    if ((r & bit) == 0) return;
    if (n > 0 && n < buf.size()) buf[n++] = ',';  // always room; the bound quiets GCC
    n += name.copy(buf.data() + n, buf.size() - n);
  };
  add(pressure::kReasonAvailableLow, "available_low");
  add(pressure::kReasonTimeToExhaustion, "time_to_exhaustion");
  add(pressure::kReasonPsiSomeSustained, "psi_some");
  add(pressure::kReasonPsiFullSustained, "psi_full");
  add(pressure::kReasonVictimPending, "victim_pending");
  add(pressure::kReasonManagedOomPressure, "managed_oom_pressure");
  add(pressure::kReasonSwapExhausted, "swap_exhausted");
  return SmallString<96>(n == 0 ? std::string_view("none") : std::string_view(buf.data(), n));
}

std::string ReasonsString(pressure::Reasons r) { return std::string(ReasonsText(r).view()); }

Engine::Engine(const config::Config& cfg, std::vector<policy::Scope> scopes, EngineOptions options,
               sys::SystemView& view, const sys::Clock& clock, Logger& log, kill::ProcessOps& ops,
               kill::SysrqWriter& sysrq)
    : cfg_(cfg),
      options_(options),
      view_(view),
      clock_(clock),
      log_(log),
      ops_(ops),
      ranker_(std::make_unique<policy::Ranker>(cfg.rank)),
      scanner_(view, clock),
      ladder_(cfg.kill, sysrq),
      builder_(view, ops, cfg.kill, ranker_->protection()) {
  // The decision record never holds more members than a victim can.
  kill_record_.members.reserve(kill::Victim::kMaxMembers);
  // The top candidates' files the scanner holds (the system scope) check a victim's identity
  // and oom_score_adj before its signal.
  builder_.ReadThroughHeld(&scanner_);
  reaper_ = std::make_unique<kill::Reaper>(cfg_.kill, MakeReaperOptions(cfg_, options_.dry_run),
                                           view_, ops_, clock_, skip_, ladder_);
  reaper_->SetProtection(ranker_->protection());
  BuildShared();
  for (const auto& s : scopes) AppendScope(s, s.Name(), false);
}

void Engine::AppendScope(const policy::Scope& scope, std::string name, bool automatic) {
  samplers_.emplace_back(view_, clock_, scope);
  samplers_.back().SetCacheReuse(cfg_.detector.warn_available_percent);
  detectors_.emplace_back(cfg_.detector);
  ScopeStatus st;
  st.scope = scope;
  st.name = std::move(name);
  st.automatic = automatic;
  status_.push_back(std::move(st));
  episodes_.emplace_back();
  growth_.emplace_back();
  pending_.emplace_back();
  reclaimers_.push_back(MakeReclaimer(scope));
}

bool Engine::AddScope(const policy::Scope& scope, bool automatic) {
  const std::string name = scope.Name();
  for (const auto& st : status_) {
    if (st.name == name) return false;
  }
  AppendScope(scope, name, automatic);
  (void)samplers_.back().KernelOomKills();  // as WarmKillPath does for the scopes at start
  ++scopes_generation_;
  log_.Log(LogLevel::kNotice, "scope_added", "scope={} automatic={} scopes={}", Q{name},
           automatic ? 1 : 0, status_.size());
  return true;
}

bool Engine::RemoveScope(std::string_view name, std::string_view reason) {
  for (std::size_t i = 0; i < status_.size(); ++i) {
    if (status_[i].name == name) {
      RemoveAt(i, reason);
      return true;
    }
  }
  return false;
}

void Engine::RemoveAt(std::size_t i, std::string_view reason) {
  const std::string name = status_[i].scope.Name();
  // The chain's worker thread samples this scope: stop it (a running pass is cancelled) and
  // join before anything it could reach goes away.
  if (reclaimers_[i]) reclaimers_[i]->Stop();
  PendingKill& pk = pending_[i];
  const bool dropped_kill = pk.active;
  if (pk.active) hooks_->Adopt("pre_kill", std::move(pk.hook), pk.started, pk.deadline);
  EraseAt(samplers_, i);
  EraseAt(detectors_, i);
  EraseAt(status_, i);
  EraseAt(episodes_, i);
  EraseAt(growth_, i);
  EraseAt(pending_, i);
  EraseAt(reclaimers_, i);
  ++scopes_generation_;
  log_.Log(LogLevel::kNotice, "scope_removed",
           "scope={} reason={} dropped_pending_kill={} scopes={}", Q{name}, Q{std::string(reason)},
           dropped_kill ? 1 : 0, status_.size());
}

Engine::~Engine() { Stop(); }

Result<void> Engine::Launch() {
  if (launched_) return {};
  launched_ = true;
  if (options_.kill_drill && !options_.dry_run) drill_child_ = sys::SpawnIdle();
  if (watchdog_) {
    if (auto w = watchdog_->Start(); !w) {
      log_.Log(LogLevel::kWarning, "start", "watchdog=failed error={}", Q{w.error().ToString()});
    }
  }
  return reaper_->Start();
}

Result<void> Engine::Start() {
  if (auto l = Launch(); !l) return l;
  WarmKillPath();
  if (options_.kill_drill && !options_.dry_run) DrillKillPath();
  coexist_.Check(view_, log_);
  if (cfg_.kill.reaper_realtime_priority > 0) {
    if (const auto& e = reaper_->realtime_error()) {
      log_.Log(LogLevel::kWarning, "start",
               "reaper_realtime_priority={} result=refused error={} note={}",
               cfg_.kill.reaper_realtime_priority, Q{e->ToString()}, Q{sys::kRealtimeAdvice});
    } else {
      log_.Log(LogLevel::kInfo, "start", "reaper_realtime_priority={} result=set policy=SCHED_FIFO",
               cfg_.kill.reaper_realtime_priority);
    }
  }
  return {};
}

void Engine::Stop() noexcept {
  for (auto& w : reclaimers_) {
    if (w) w->Stop();
  }
  CollectReclaimPasses();  // the last passes count in the metrics written at exit
  if (watchdog_) watchdog_->Stop();
  if (reaper_) reaper_->Stop();
}

void Engine::Reload(config::Config& live, const config::Config& fresh) {
  if (&live != &cfg_) {
    log_.Log(LogLevel::kError, "reload", "result=kept_old error=\"not the engine's config\"");
    return;
  }
  const config::ReloadPlan plan = config::PlanReload(live, fresh);
  const bool reclaim_changed = !(live.reclaim == fresh.reclaim);
  config::ApplyLive(live, fresh);  // live is cfg_: the loop reads it from the next tick on
  ranker_ = std::make_unique<policy::Ranker>(cfg_.rank);
  builder_.SetProtection(ranker_->protection());  // widening spares what ranking spares
  reaper_->SetProtection(ranker_->protection());  // and so does a cgroup's last resort
  for (auto& d : detectors_) d.Reconfigure(cfg_.detector);
  for (auto& sm : samplers_) sm.SetCacheReuse(cfg_.detector.warn_available_percent);
  for (auto& st : status_) st.due_ns = 0;  // every scope looked at with the new settings
  if (reclaim_changed) {
    // A chain holds its own copy of the section: rebuild them (a running pass is cancelled;
    // a kill held for it is judged again on the next tick).
    for (auto& w : reclaimers_) {
      if (w) w->Stop();
    }
    CollectReclaimPasses();
    for (std::size_t i = 0; i < reclaimers_.size(); ++i) {
      reclaimers_[i] = MakeReclaimer(status_[i].scope);
    }
  }
  log_.Log(LogLevel::kNotice, "reload", "result=applied applied={} restart_needed={}",
           config::JoinKeys(plan.applied), config::JoinKeys(plan.restart_needed));
}

int Engine::Tick() {
  int next = cfg_.detector.interval_slow_ms;
  NotifySystemdWatchdog(clock_.Now());
  holding_ = false;
  PollPendingKills();
  CollectReclaimPasses();
  vanished_.clear();
  const sys::Nanos now = clock_.Now();
  for (std::size_t i = 0; i < samplers_.size(); ++i) {
    if (!Due(i, now)) {
      // Not yet: a scope with room is not sampled at a busier scope's pace.
      const sys::Nanos left = status_[i].due_ns - now;
      next = std::min(next, static_cast<int>(std::max<sys::Nanos>(left / sys::kMilli, 1)));
      continue;
    }
    if (std::uint64_t usage = 0; UsagePollCovers(i, now, &usage)) {
      // Looked at again as soon as a fast hog could have used up what the usage leaves.
      pressure::PressureSample polled = status_[i].sample;
      const std::uint64_t grown =
          usage > samplers_[i].own_usage() ? usage - samplers_[i].own_usage() : 0;
      polled.available_bytes -= std::min(grown, polled.available_bytes);
      const int look = NextLook(status_[i].decision, polled);
      SetDue(i, now, look);
      next = std::min(next, look);
      continue;
    }
    auto sample = samplers_[i].Sample();
    if (!sample) {
      // A discovered cgroup that was removed: expected, dropped below with one line.
      if (status_[i].automatic && sample.error().sys_errno == ENOENT) {
        vanished_.push_back(i);
        continue;
      }
      if (status_[i].sample_errors++ % 100 == 0) {
        log_.Log(LogLevel::kWarning, "sample", "scope={} error={} count={}", Q{status_[i].name},
                 Q{sample.error().ToString()}, status_[i].sample_errors);
      }
      continue;
    }
    pressure::Decision d = detectors_[i].Update(*sample);
    // A kill this scope holds for its reclaim chain is looked at again on a fast tick.
    const bool held_before = holding_;
    holding_ = false;
    Decide(i, *sample, d);
    const bool holds = holding_;
    holding_ = held_before || holds;
    if (!samplers_[i].v1()) {
      // No threshold to arm: the tick polls the usage against it (UsagePollCovers).
      status_[i].usage_poll_at = d.busy ? 0 : UsageAlarmAt(i, false, status_[i].usage_poll_at);
    } else if (const std::uint64_t want = UsageAlarmAt(i, d.busy, status_[i].usage_alarm_wanted);
               want != status_[i].usage_alarm_wanted) {
      status_[i].usage_alarm_wanted = want;
      ++alarms_generation_;  // the loop moves the alarm on its next sync
    }
    // Nothing going on and the kernel's alarm watching the headroom: no need to look again
    // before the fastest hog could use it up; the alarm wakes the loop first.
    int look = cfg_.detector.interval_slow_ms;
    if (d.busy || !AlarmCovers(i, *sample)) look = std::min(look, NextLook(d, *sample));
    if (holds) look = std::min(look, kHoldTickMs);
    SetDue(i, now, look);
    next = std::min(next, look);
  }
  sample_whole_ = false;
  for (auto it = vanished_.rbegin(); it != vanished_.rend(); ++it) RemoveAt(*it, "vanished");
  RefreshStanding(clock_.Now());
  HoldTop();
  WatchSharers(clock_.Now());
  if (const int m = ManagedOomTick(clock_.Now()); m >= 0) next = std::min(next, m);
  // A kill held for the reclaim chain is decided again soon, on a fresh sample.
  if (holding_) next = std::min(next, kHoldTickMs);
  // Told the next tick, the stall watchdog does not take a long idle one for a stuck loop.
  if (watchdog_) watchdog_->Beat(next);
  return next;
}

void Engine::LogLevelChange(std::size_t i, pressure::Level from, const pressure::Decision& d) {
  const auto& s = status_[i].sample;
  LogLevel lvl = d.level >= pressure::Level::kReclaim ? LogLevel::kWarning
                 : d.level == pressure::Level::kWarn  ? LogLevel::kNotice
                                                      : LogLevel::kInfo;
  log_.Log(lvl, "level",
           "scope={} from={} to={} reasons={} available_mib={:.0f} total_mib={:.0f} "
           "available_pct={:.1f} slope_mib_s={:.1f} tte_ms={} psi_some_pct={:.1f} "
           "psi_full_pct={:.1f}",
           Q{status_[i].name}, pressure::LevelName(from), pressure::LevelName(d.level),
           ReasonsText(d.reasons).view(), Mib(s.available_bytes), Mib(s.total_bytes),
           d.available_percent, d.slope_bytes_per_s / kMiB, d.time_to_exhaustion_ms,
           d.psi_some_percent, d.psi_full_percent);
}

void Engine::EndEpisodeIfQuiet(std::size_t i, const pressure::Decision& d) {
  ScopeStatus& st = status_[i];
  if (d.level != pressure::Level::kOk) {
    st.ok_since_ns = 0;
    return;
  }
  const sys::Nanos now = clock_.Now();
  if (st.ok_since_ns == 0) st.ok_since_ns = now;
  if (now - st.ok_since_ns < kEpisodeEndNs) return;
  if (growth_[i].started()) growth_[i].Reset();
  st.ladder.Reset();
}

void Engine::Decide(std::size_t i, const pressure::PressureSample& s, const pressure::Decision& d) {
  pressure::Level before = status_[i].decision.level;
  status_[i].sample = s;
  status_[i].decision = d;
  if (d.level < pressure::Level::kReclaim) episodes_[i] = Episode{};
  EndEpisodeIfQuiet(i, d);
  if (d.level >= pressure::Level::kReclaim) MaybeReclaim(i, s, d);
  // The first kill of an episode waits (briefly) for the chain; kill only if still at kKill.
  // The kill comes before the level's log line and the observers: a log line can block on
  // journald and an observer allocates, and neither may delay the signal.
  if (d.level == pressure::Level::kKill && !HoldKill(i, s, d)) KillIn(i, d);
  for (auto* o : observers_) o->OnSample(status_[i].scope, s, d);
  if (d.level != before) {
    LogLevelChange(i, before, d);
    for (auto* o : observers_) o->OnLevelChange(status_[i].scope, before, d);
    if (d.level >= pressure::Level::kWarn && before < pressure::Level::kWarn) OnWarn(i, d);
  }
}

}  // namespace reaperd::daemon
