#include "daemon/engine.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <string_view>

#include "base/escape.h"
#include "proc/pid_stat.h"

namespace reaperd::daemon {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

double Mib(std::uint64_t b) { return static_cast<double>(b) / kMiB; }

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
    if (n > 0) buf[n++] = ',';
    n += name.copy(buf.data() + n, buf.size() - n);
  };
  add(pressure::kReasonAvailableLow, "available_low");
  add(pressure::kReasonTimeToExhaustion, "time_to_exhaustion");
  add(pressure::kReasonPsiSomeSustained, "psi_some");
  add(pressure::kReasonPsiFullSustained, "psi_full");
  add(pressure::kReasonVictimPending, "victim_pending");
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
  reaper_ = std::make_unique<kill::Reaper>(cfg_.kill, MakeReaperOptions(cfg_, options_.dry_run),
                                           view_, ops_, clock_, skip_, ladder_);
  BuildShared();
  for (const auto& s : scopes) {
    samplers_.emplace_back(view_, clock_, s);
    detectors_.emplace_back(cfg_.detector);
    ScopeStatus st;
    st.scope = s;
    st.name = s.Name();
    status_.push_back(st);
    episodes_.emplace_back();
    pending_.emplace_back();
    reclaimers_.push_back(MakeReclaimer(s));
  }
}

bool Engine::AddScope(const policy::Scope& scope, bool automatic) {
  const std::string name = scope.Name();
  for (const auto& st : status_) {
    if (st.name == name) return false;
  }
  samplers_.emplace_back(view_, clock_, scope);
  detectors_.emplace_back(cfg_.detector);
  ScopeStatus st;
  st.scope = scope;
  st.name = name;
  st.automatic = automatic;
  status_.push_back(std::move(st));
  episodes_.emplace_back();
  pending_.emplace_back();
  reclaimers_.push_back(MakeReclaimer(scope));
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
  EraseAt(pending_, i);
  EraseAt(reclaimers_, i);
  ++scopes_generation_;
  log_.Log(LogLevel::kNotice, "scope_removed",
           "scope={} reason={} dropped_pending_kill={} scopes={}", Q{name}, Q{std::string(reason)},
           dropped_kill ? 1 : 0, status_.size());
}

Engine::~Engine() { Stop(); }

int Engine::CoverInterval(const pressure::PressureSample& s) const {
  // However idle a scope looks, look again before the fastest plausible hog could eat the
  // headroom down to the kill floor: a small cgroup is sampled often, a big machine rarely.
  const double floor =
      static_cast<double>(s.total_bytes) * cfg_.detector.kill_available_percent / 100.0;
  const double headroom = std::max(0.0, static_cast<double>(s.available_bytes) - floor);
  const double ms = headroom / kMaxFillBytesPerSecond * 1000.0;
  return static_cast<int>(std::clamp(ms, static_cast<double>(cfg_.detector.interval_fast_ms),
                                     static_cast<double>(cfg_.detector.interval_slow_ms)));
}

void Engine::WarmKillPath() {
  if (!scanner_.ScanInto(policy::Scope{}, scan::KillScanOptions(cfg_.rank), kill_snap_)) return;
  skip_.CopyTo(skipped_);
  ranker_->RankInto(kill_snap_, options_.self, skipped_, kill_ranking_);
}

Result<void> Engine::Start() {
  WarmKillPath();
  if (watchdog_) {
    if (auto w = watchdog_->Start(); !w) {
      log_.Log(LogLevel::kWarning, "start", "watchdog=failed error={}", Q{w.error().ToString()});
    }
  }
  auto started = reaper_->Start();
  if (started && cfg_.kill.reaper_realtime_priority > 0) {
    if (const auto& e = reaper_->realtime_error()) {
      log_.Log(LogLevel::kWarning, "start", "reaper_realtime_priority={} result=refused error={}",
               cfg_.kill.reaper_realtime_priority, Q{e->ToString()});
    } else {
      log_.Log(LogLevel::kInfo, "start", "reaper_realtime_priority={} result=set policy=SCHED_FIFO",
               cfg_.kill.reaper_realtime_priority);
    }
  }
  return started;
}

void Engine::Stop() noexcept {
  for (auto& w : reclaimers_) {
    if (w) w->Stop();
  }
  if (watchdog_) watchdog_->Stop();
  if (reaper_) reaper_->Stop();
}

void Engine::Reload(const config::Config& cfg) {
  ranker_ = std::make_unique<policy::Ranker>(cfg.rank);
  builder_.SetProtection(ranker_->protection());  // widening spares what ranking spares
  for (auto& d : detectors_) d = pressure::Detector(cfg.detector);
  log_.Log(LogLevel::kNotice, "reload",
           "applied=detector,rank note=\"kill.* settings take effect at restart\"");
}

int Engine::Tick() {
  int next = cfg_.detector.interval_slow_ms;
  if (watchdog_) watchdog_->Beat();
  NotifySystemdWatchdog(clock_.Now());
  holding_ = false;
  PollPendingKills();
  vanished_.clear();
  for (std::size_t i = 0; i < samplers_.size(); ++i) {
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
    Decide(i, *sample, d);
    next = std::min(next, std::max(d.next_interval_ms, 10));
    next = std::min(next, CoverInterval(*sample));
  }
  for (auto it = vanished_.rbegin(); it != vanished_.rend(); ++it) RemoveAt(*it, "vanished");
  // A kill held for the reclaim chain is decided again soon, on a fresh sample.
  if (holding_) next = std::min(next, kHoldTickMs);
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

void Engine::Decide(std::size_t i, const pressure::PressureSample& s, const pressure::Decision& d) {
  pressure::Level before = status_[i].decision.level;
  status_[i].sample = s;
  status_[i].decision = d;
  for (auto* o : observers_) o->OnSample(status_[i].scope, s, d);
  if (d.level != before) {
    LogLevelChange(i, before, d);
    for (auto* o : observers_) o->OnLevelChange(status_[i].scope, before, d);
    if (d.level >= pressure::Level::kWarn && before < pressure::Level::kWarn) OnWarn(i, d);
  }
  if (d.level < pressure::Level::kReclaim) episodes_[i] = Episode{};
  if (d.level >= pressure::Level::kReclaim) MaybeReclaim(i, s, d);
  // The first kill of an episode waits (briefly) for the chain; kill only if still at kKill.
  if (d.level == pressure::Level::kKill && !HoldKill(i, s, d)) KillIn(i, d);
}

bool Engine::CancelIfKernelKilled(std::size_t i, const Result<std::uint64_t>& oom_before) {
  ScopeStatus& st = status_[i];
  auto oom_after = samplers_[i].KernelOomKills();
  if (oom_before && oom_after && *oom_after > *oom_before) {
    // The kernel killed in this scope while we scanned: its victim's memory is coming back,
    // and a second victim now would be overkill. The next tick judges afresh.
    log_.Log(LogLevel::kNotice, "kill",
             "scope={} outcome=cancelled reason=kernel_oom_kill count={}", Q{st.name},
             *oom_after - *oom_before);
    return true;
  }
  return false;
}

bool Engine::HoldForExiting(std::size_t i, const policy::Snapshot& snap, sys::Nanos now) {
  ScopeStatus& st = status_[i];
  const policy::Process* exiting = nullptr;
  for (const auto& p : snap.processes) {
    if ((p.flags & proc::kPfExiting) != 0 && !p.kernel_thread && p.state != 'Z' && p.state != 'X' &&
        p.pid != options_.self) {
      exiting = &p;
      break;
    }
  }
  if (exiting == nullptr) {
    st.exit_hold_since_ns = 0;
    return false;
  }
  if (st.exit_hold_since_ns == 0) st.exit_hold_since_ns = now;
  if (now - st.exit_hold_since_ns >= kExitHoldNs) return false;  // stuck: choose anyway
  log_.Log(LogLevel::kNotice, "kill", "scope={} outcome=held reason=exiting pid={} comm={}",
           Q{st.name}, exiting->pid, Q{exiting->comm.view()});
  return true;
}

void Engine::KillIn(std::size_t i, const pressure::Decision& d) {
  if (pending_[i].active) return;  // this scope's victim waits for its pre-kill hook
  ScopeStatus& st = status_[i];
  ++st.kill_decisions;
  const sys::Nanos t_decision = clock_.Now();
  // The scan can take a while under pressure, and its own reads can make the kernel's OOM
  // killer act meanwhile: note its count now and look again before choosing.
  auto oom_before = samplers_[i].KernelOomKills();
  // Into the warm member snapshot: no allocation when it is as large as before.
  policy::Snapshot& snap = kill_snap_;
  if (auto r = scanner_.ScanInto(st.scope, scan::KillScanOptions(cfg_.rank), snap); !r) {
    log_.Log(LogLevel::kError, "kill", "scope={} outcome=scan_failed error={}", Q{st.name},
             Q{r.error().ToString()});
    return;
  }
  if (CancelIfKernelKilled(i, oom_before)) return;
  // A process already exiting is giving its memory back (the kernel's victim, or one that
  // was killed or quit on its own): wait for it, bounded, as the kernel does.
  if (HoldForExiting(i, snap, clock_.Now())) return;
  skip_.CopyTo(skipped_);
  policy::Ranking& ranking = kill_ranking_;
  ranker_->RankInto(snap, options_.self, skipped_, ranking);
  if (ranking.candidates.empty()) {
    if (t_decision - last_no_candidate_log_ns_ > sys::kSecond) {
      last_no_candidate_log_ns_ = t_decision;
      log_.Log(LogLevel::kError, "kill", "scope={} outcome=no_candidate protected={}", Q{st.name},
               ranking.protected_processes.size());
    }
    return;
  }
  // The first candidate whose identity still holds; a stale one (PID reused, gone) is
  // passed over without a signal.
  int passed_over = 0;
  std::string first_error;
  for (std::size_t c = 0; c < ranking.candidates.size() && c < 4; ++c) {
    const policy::Score& score = ranking.candidates[c];
    const policy::Process& p = snap.processes[score.index];
    kill::Victim victim;
    auto built = builder_.Build(snap, score.index, t_decision, victim);
    if (!built || victim.main_stale) {
      // Gone or reused since the scan: pass over it without a signal (one line per decision).
      ++passed_over;
      if (!built && first_error.empty()) first_error = built.error().ToString();
      continue;
    }
    if (passed_over > 0) {
      log_.Log(LogLevel::kNotice, "kill", "scope={} outcome=passed_over count={} first_error={}",
               Q{st.name}, passed_over, Q{first_error.empty() ? "stale" : first_error});
    }
    if (StartPreKill(i, p, d)) {
      PendingKill& pk = pending_[i];
      pk.active = true;
      pk.victim = std::move(victim);
      // Copied, so the engine's own snapshot and ranking stay warm (this path spawns a
      // hook, which allocates anyway).
      pk.snap = snap;
      pk.ranking = ranking;
      pk.rank = c;
      pk.decision = d;
      pk.t_decision = t_decision;
      return;
    }
    Commit(i, victim, snap, ranking, c, d, t_decision);
    return;
  }
  log_.Log(LogLevel::kError, "kill",
           "scope={} outcome=no_valid_candidate passed_over={} first_error={}", Q{st.name},
           passed_over, Q{first_error.empty() ? "stale" : first_error});
}

void Engine::Commit(std::size_t i, kill::Victim& victim, const policy::Snapshot& snap,
                    const policy::Ranking& ranking, std::size_t c, const pressure::Decision& d,
                    sys::Nanos t_decision) {
  ScopeStatus& st = status_[i];
  const policy::Score& score = ranking.candidates[c];
  const policy::Process& p = snap.processes[score.index];
  const std::size_t members = victim.member_count;
  const std::uint64_t rss = p.rss();
  // The member record: reserved for kMaxMembers at construction, so push_back never grows it.
  KillDecision& record = kill_record_;
  record.members.clear();
  for (const auto& m : victim.active()) record.members.push_back(m.pid);
  auto seq = reaper_->Submit(std::move(victim));
  if (!seq) {
    log_.Log(LogLevel::kError, "kill", "scope={} pid={} outcome=submit_failed error={}", Q{st.name},
             p.pid, Q{seq.error().ToString()});
    return;
  }
  ++st.kills;
  if (watchdog_) watchdog_->NoteKill(p.pid);
  record.seq = *seq;
  record.scope = &st.scope;
  record.decision = &d;
  record.sample = &st.sample;
  record.snapshot = &snap;
  record.ranking = &ranking;
  record.victim_rank = c;
  record.t_decision_ns = t_decision;
  record.dry_run = options_.dry_run;
  for (auto* o : observers_) o->OnKillDecision(record);
  const sys::Nanos deadline = t_decision + cfg_.kill.deadline_ms * sys::kMilli;
  detectors_[i].NoteKill(t_decision, rss, deadline);
  // The texts of the kill line go into stack buffers (they grow onto the heap only past
  // their inline size: hundreds of rules, which allocate in the ranking anyway).
  fmt::memory_buffer rules;
  for (const auto& e : score.rules) {
    if (rules.size() > 0) rules.push_back(',');
    fmt::format_to(std::back_inserter(rules), "{}:{:+d}", e.rule, e.weight);
  }
  if (rules.size() == 0) rules.append(std::string_view("none"));
  // Explain what was not chosen although bigger: the largest protected process, if it holds
  // more than the victim (a protection by accident would show here first).
  const policy::Protected* bigger = nullptr;
  std::uint64_t biggest = rss;
  for (const auto& pr : ranking.protected_processes) {
    const policy::Process& q = snap.processes[pr.index];
    if (q.rss() <= biggest) continue;
    biggest = q.rss();
    bigger = &pr;
  }
  fmt::memory_buffer bigger_protected;
  if (bigger == nullptr) {
    bigger_protected.append(std::string_view("none"));
  } else {
    const policy::Process& q = snap.processes[bigger->index];
    auto out = fmt::format_to(std::back_inserter(bigger_protected), "{}:", q.pid);
    out = EscapeTo(q.comm.view(), out);
    fmt::format_to(out, ":{:.1f}MiB:{}", Mib(q.rss()), policy::ProtectReasonName(bigger->reason));
  }
  log_.Log(LogLevel::kWarning, "kill",
           "seq={} scope={} {}pid={} comm={} uid={} cgroup={} members={} rss_mib={:.1f} "
           "score={} rss_pages={} swap_pages={} pgtables_pages={} adj_pages={} rules={} "
           "reasons={} available_pct={:.1f} tte_ms={} psi_some_pct={:.1f} psi_full_pct={:.1f} "
           "candidates={} protected={} unreadable={} largest_protected={}",
           *seq, Q{st.name}, options_.dry_run ? "dry_run=1 " : "", p.pid, Q{p.comm.view()}, p.uid,
           Q{p.cgroup}, members, Mib(rss), score.total, score.rss, score.swap, score.pagetables,
           score.adj, std::string_view(rules.data(), rules.size()), ReasonsText(d.reasons).view(),
           d.available_percent, d.time_to_exhaustion_ms, d.psi_some_percent, d.psi_full_percent,
           ranking.candidates.size(), ranking.protected_processes.size(), snap.unreadable,
           Q{std::string_view(bigger_protected.data(), bigger_protected.size())});
}

void Engine::OnReaperEvent() {
  kill::KillResult r;
  while (reaper_->Pop(r)) {
    auto ms = [](sys::Nanos from, sys::Nanos to) -> double {
      if (from == 0 || to == 0) return -1;
      return static_cast<double>(to - from) / static_cast<double>(sys::kMilli);
    };
    LogLevel lvl =
        r.outcome == kill::Outcome::kMissedDeadline ? LogLevel::kError : LogLevel::kNotice;
    log_.Log(lvl, "reaped",
             "seq={} pid={} comm={} outcome={} after_deadline={} bytes_freed={} freed_mib={:.1f} "
             "freed_by={} members={} signalled={} stale={} errors={} first_error={} "
             "decision_to_signal_ms={:.2f} signal_to_exit_ms={:.1f} signal_to_reaped_ms={:.1f} "
             "mrelease_calls={} escalated={} thawed={} last_resort={}",
             r.seq, r.victim.id.pid, Q{r.victim.comm.view()}, kill::OutcomeName(r.outcome),
             r.after_deadline ? 1 : 0, r.bytes_freed, Mib(r.bytes_freed),
             kill::FreedByName(r.freed_by), r.members, r.members_signalled, r.members_stale,
             r.errors, Q{r.errors ? r.first_error.ToString() : std::string("none")},
             ms(r.t_decision, r.t_signal), ms(r.t_signal, r.t_exit), ms(r.t_signal, r.t_reaped),
             r.mrelease_calls, r.escalated ? 1 : 0, r.thawed ? 1 : 0,
             kill::LastResortName(r.last_resort));
    for (auto* o : observers_) o->OnKillResult(r);
    if (watchdog_) {
      if (r.outcome == kill::Outcome::kMissedDeadline && !r.after_deadline) {
        watchdog_->NoteMissedDeadline(r.victim.id.pid, std::string(r.victim.comm.view()),
                                      r.t_signal);
      } else {
        watchdog_->NoteVictimDone(r.victim.id.pid);
      }
    }
    QueuePostKill(r);
    // Tell the scope's detector the victim is done (or stuck: its deadline handles that).
    if (r.outcome == kill::Outcome::kMissedDeadline && !r.after_deadline) continue;
    for (std::size_t i = 0; i < status_.size(); ++i) {
      const policy::Scope& sc = status_[i].scope;
      bool same = sc.kind == r.scope.kind &&
                  (sc.kind == policy::ScopeKind::kSystem || sc.cgroup == r.scope.cgroup.view());
      if (same) detectors_[i].NoteVictimDone(clock_.Now());
    }
  }
}

}  // namespace reaperd::daemon
