// The engine's kill stage: on a kill decision, scan and rank the scope, build the victim
// group and submit it to the reaper, which signals before Submit returns; everything that
// logs or tells the observers runs after that signal.

#include <algorithm>
#include <array>
#include <cerrno>
#include <iterator>
#include <string_view>

#include "base/escape.h"
#include "daemon/engine.h"
#include "daemon/engine_internal.h"
#include "policy/container.h"
#include "proc/pid_stat.h"

namespace reaperd::daemon {

namespace {

// The kernel OOM count's reads are timed in wall time (the kill line's oom_count_ms) whatever
// the engine's clock is, like the builder's member checks. No function-local static: its
// guard (__cxa_guard_acquire, outside the locked hot section) cost the first kill a major
// fault before its signal.
sys::Nanos WallMonotonicNow() noexcept { return sys::MonotonicClock{}.Now(); }

}  // namespace

Result<std::uint64_t> Engine::KillCountForKill(std::size_t i) noexcept {
  const sys::Nanos t_count = WallMonotonicNow();
  auto count = samplers_[i].KernelOomKills();
  stages_.oom_count_ns += WallMonotonicNow() - t_count;
  return count;
}

Result<std::uint64_t> Engine::SubmitVictim(kill::Victim&& victim) noexcept {
  const sys::Nanos t_submit = WallMonotonicNow();
  auto seq = reaper_->Submit(std::move(victim));
  stages_.submit_ns = WallMonotonicNow() - t_submit;
  return seq;
}

bool Engine::CancelIfKernelKilled(std::size_t i, const Result<std::uint64_t>& oom_before) {
  ScopeStatus& st = status_[i];
  auto oom_after = KillCountForKill(i);
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

scan::ScanOptions Engine::ScopeScan(std::size_t i, sys::Nanos now,
                                    sys::Nanos max_age) const noexcept {
  scan::ScanOptions o = scan::KillScanOptions(cfg_.rank);
  const ScopeStatus& st = status_[i];
  if (st.scope.kind == policy::ScopeKind::kCgroup && st.total_read_ns != 0 &&
      now - st.total_read_ns < max_age) {
    o.known_total_pages = st.total_pages;
  }
  return o;
}

void Engine::NoteScopeTotal(std::size_t i, const scan::ScanOptions& used,
                            const policy::Snapshot& snap) noexcept {
  ScopeStatus& st = status_[i];
  if (st.scope.kind != policy::ScopeKind::kCgroup || used.known_total_pages != 0) return;
  st.total_pages = snap.total_pages;
  st.total_read_ns = snap.taken_at_ns;
}

Result<policy::Snapshot*> Engine::ScanForKill(std::size_t i, sys::Nanos now, bool whole) {
  const policy::Scope& scope = status_[i].scope;
  // A cgroup scope watched at warn has its total from the watch's scan: the kill reads no
  // meminfo and no limits (a dozen files on a deep path) before the signal.
  const scan::ScanOptions options = ScopeScan(i, now, kScopeTotalMaxAgeNs);
  policy::Snapshot& spare = snaps_[1 - standing_];
  stages_.read = KillRead::kWhole;
  if (scope.kind != policy::ScopeKind::kSystem) {
    if (auto r = scanner_.ScanInto(scope, options, spare); !r) return Fail(r.error());
    NoteScopeTotal(i, options, spare);
    return &spare;
  }
  // The system scope: every process is listed, but only the new ones and the top candidates
  // are read, so the decision costs the same with 100 or 10,000 processes. The spare becomes
  // the standing snapshot (the old one's entries were moved into it).
  policy::Snapshot& standing = snaps_[standing_];
  const bool fresh = !whole && standing.full_at_ns != 0 &&
                     now - standing.taken_at_ns <= StandingMaxAgeNs() &&
                     now - standing.full_at_ns <= StandingWholeMaxAgeNs();
  auto r = fresh ? scanner_.RefreshInto(scope, options, {top_.data(), top_count_}, standing, spare)
                 : scanner_.ScanInto(scope, options, spare);
  standing_ = 1 - standing_;
  if (!r) {
    spare.full_at_ns = 0;  // partly filled: the next kill reads everything
    return Fail(r.error());
  }
  if (fresh) {
    stages_.read = KillRead::kRefresh;
  } else {
    standing_scan_ns_ = clock_.Now() - now;
    NoteStandingUsed(i);
  }
  return &spare;
}

void Engine::RankForKill(std::size_t i, policy::Snapshot& snap, const pressure::Decision& d,
                         bool grow_table) {
  skip_.CopyTo(skipped_);
  growth_[i].Observe(snap, grow_table);
  ranker_->RankInto(snap, options_.self, skipped_, kill_ranking_, &growth_[i]);
  if ((d.reasons & pressure::kReasonSwapExhausted) != 0) policy::LeadWithLargestSwap(kill_ranking_);
}

void Engine::WatchSharers(sys::Nanos now) {
  for (std::size_t i = 0; i < status_.size(); ++i) {
    ScopeStatus& st = status_[i];
    if (st.scope.kind != policy::ScopeKind::kCgroup) continue;
    // At warn and above; at ok too when the trend puts the kill floor within the kill level's
    // time to exhaustion: a small cgroup's kill comes straight from ok, a sample or two later,
    // and without a watch it walks /proc and reads the scope's total before its signal. Not
    // further out: each watch walks /proc again once its last walk is half as old as the
    // watch vouches for (1 s with the kernel's default pid_max), and the lab's two_cgroups
    // spent more CPU on watches from 3 s out than they took off its kills.
    if (st.decision.level < pressure::Level::kWarn &&
        !KillNear(st, now, cfg_.detector.kill_time_to_exhaustion_ms)) {
      continue;
    }
    if (st.sharers_watched_ns != 0 && now - st.sharers_watched_ns < kSharerWatchPeriodNs) continue;
    st.sharers_watched_ns = now;
    const scan::ScanOptions options = ScopeScan(i, now, kScopeTotalMaxAgeNs / 2);
    if (!scanner_.ScanInto(st.scope, options, watch_snap_)) continue;
    NoteScopeTotal(i, options, watch_snap_);
    growth_[i].Observe(watch_snap_, true);
    skip_.CopyTo(skipped_);
    ranker_->RankInto(watch_snap_, options_.self, skipped_, watch_ranking_, &growth_[i]);
    const auto& c = watch_ranking_.candidates;
    builder_.WatchSharers(watch_snap_, {c.data(), std::min(c.size(), kWatchedPerScope)}, now);
  }
}

void Engine::KillIn(std::size_t i, const pressure::Decision& d) {
  if (pending_[i].active) return;  // this scope's victim waits for its pre-kill hook
  ScopeStatus& st = status_[i];
  ++st.kill_decisions;
  const sys::Nanos t_decision = clock_.Now();
  stages_ = KillStages{};
  stages_.cpu_at_decision = sys::ThreadCpuNow();
  stages_.majflt_at_decision = sys::ThreadMajorFaults();
  // The scan can take a while under pressure, and its own reads can make the kernel's OOM
  // killer act meanwhile: note its count now and look again before choosing.
  auto oom_before = KillCountForKill(i);
  // Into the warm snapshot buffers: no allocation when they are as large as before.
  auto scanned = ScanForKill(i, t_decision);
  if (!scanned) {
    log_.Log(LogLevel::kError, "kill", "scope={} outcome=scan_failed error={}", Q{st.name},
             Q{scanned.error().ToString()});
    return;
  }
  policy::Snapshot* read = *scanned;
  const sys::Nanos t_scanned = clock_.Now();
  stages_.scan_ns = t_scanned - t_decision;
  if (CancelIfKernelKilled(i, oom_before)) return;
  // A process already exiting is giving its memory back (the kernel's victim, or one that
  // was killed or quit on its own): wait for it, bounded, as the kernel does.
  if (HoldForExiting(i, *read, clock_.Now())) return;
  policy::Ranking& ranking = kill_ranking_;
  const sys::Nanos t_rank = clock_.Now();
  RankForKill(i, *read, d);
  sys::Nanos reread_ns = 0;
  if (stages_.read == KillRead::kRefresh) {
    // Carried-over entries may have grown past the first: their second look is a scan's time.
    const sys::Nanos t_reread = clock_.Now();
    const RivalCheck check = CheckRivals(i, *read, d);
    stages_.unseen_growth_mib = check.unseen_mib;
    stages_.rivals_read = check.rivals_read;
    if (check.rivals_read > 0) stages_.read = KillRead::kRefreshRivals;
    if (!check.vouched) {
      // Too many rivals, or rivals still: read everything, as a kill without a standing
      // snapshot does.
      auto whole = ScanForKill(i, clock_.Now(), true);
      if (!whole) {
        log_.Log(LogLevel::kError, "kill", "scope={} outcome=scan_failed error={}", Q{st.name},
                 Q{whole.error().ToString()});
        return;
      }
      read = *whole;
      stages_.read = KillRead::kWholeAfterRefresh;
      stages_.rivals_read = 0;
      RankForKill(i, *read, d);
    }
    reread_ns = clock_.Now() - t_reread;
  }
  policy::Snapshot& snap = *read;
  if (st.scope.kind == policy::ScopeKind::kSystem) NoteTop(ranking, snap);
  const sys::Nanos t_ranked = clock_.Now();
  stages_.scan_ns += reread_ns;
  stages_.rank_ns = t_ranked - t_rank - reread_ns;
  const std::uint64_t vouched_before = builder_.sharer_watch().vouched();
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
    // The kill's size: the process, or a step up when this application was killed before in
    // this episode and pressure stayed after its memory came back.
    const kill::StepPlan plan = st.ladder.Plan(snap, score.index, score.avoid, score.tier,
                                               cfg_.kill.step_up, *ranker_->protection());
    auto built = builder_.Build(snap, score.index, t_decision, victim, plan);
    if (!built || victim.main_stale) {
      // Gone or reused since the scan: pass over it without a signal (one line per decision).
      ++passed_over;
      if (!built && first_error.empty()) first_error = built.error().ToString();
      continue;
    }
    auto log_passed_over = [&] {
      if (passed_over == 0) return;
      log_.Log(LogLevel::kNotice, "kill", "scope={} outcome=passed_over count={} first_error={}",
               Q{st.name}, passed_over, Q{first_error.empty() ? "stale" : first_error});
    };
    stages_.build_ns = clock_.Now() - t_ranked;
    stages_.slowest_check = victim.slowest_check;
    stages_.checks_ns = victim.checks_ns;
    stages_.oom_group_ns = victim.oom_group_ns;
    if (st.scope.kind != policy::ScopeKind::kSystem) {
      stages_.sharers = builder_.sharer_watch().vouched() != vouched_before ? "watched" : "walked";
    }
    if (StartPreKill(i, p, d)) {
      stages_ = KillStages{};
      log_passed_over();
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
    log_passed_over();  // after the signal: a log line may block
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
  record.step = victim.step;
  record.step_reason = victim.step_reason;
  auto seq = SubmitVictim(std::move(victim));
  if (stages_.cpu_at_decision != 0) {
    stages_.cpu_ns = sys::ThreadCpuNow() - stages_.cpu_at_decision;
    stages_.majflt = sys::ThreadMajorFaults() - stages_.majflt_at_decision;
  }
  if (!seq) {
    log_.Log(LogLevel::kError, "kill", "scope={} pid={} outcome=submit_failed error={}", Q{st.name},
             p.pid, Q{seq.error().ToString()});
    return;
  }
  ++st.kills;
  st.ladder.NoteKill(*seq, snap, score.index, record.step, *ranker_->protection());
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
  const sys::Nanos deadline = t_decision + cfg_.kill.deadline_ms * sys::kMilli;
  detectors_[i].NoteKill(t_decision, rss, deadline);
  LogKill(st, *seq, p, members, score, ranking, snap, d);
  for (auto* o : observers_) o->OnKillDecision(record);
}

namespace {

// The victim's application, as the kill line names it: "cgroup", "tree:PID" or "none"
// (policy::ApplicationKind).
SmallString<32> AppText(const policy::Score& s) noexcept {
  SmallString<32> out;
  if (s.app_hash == 0 || s.app_root == 0) {
    out.Assign(policy::ApplicationKind(s));
  } else {
    std::array<char, 32> buf;
    auto r = fmt::format_to_n(buf.data(), buf.size(), "tree:{}", s.app_root);
    out.Assign(std::string_view(buf.data(), r.size));
  }
  return out;
}

// The kill line's read= (KillRead).
std::string_view ReadName(KillRead r) noexcept {
  switch (r) {
    case KillRead::kWhole:
      return "whole";
    case KillRead::kRefresh:
      return "refresh";
    case KillRead::kRefreshRivals:
      return "refresh_rivals";
    case KillRead::kWholeAfterRefresh:
      return "whole_after_refresh";
  }
  return "?";
}

}  // namespace

void Engine::LogKill(const ScopeStatus& st, std::uint64_t seq, const policy::Process& p,
                     std::size_t members, const policy::Score& score,
                     const policy::Ranking& ranking, const policy::Snapshot& snap,
                     const pressure::Decision& d) {
  const std::uint64_t rss = p.rss();
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
  // The container the victim is in, named from its cgroup path alone (nothing read).
  std::array<char, 128> container_buf;
  const policy::ContainerInfo ci = policy::IdentifyContainer(p.cgroup);
  const std::string_view container = policy::ContainerLabel(ci, container_buf);
  const policy::PodName* pod =
      pods_ != nullptr && !ci.pod_uid.empty() ? pods_->Find(ci.pod_uid) : nullptr;
  // decided_mono_ms: the decision's time on the engine's clock (CLOCK_MONOTONIC in the
  // daemon), to match the kill with a trace on the same clock (the lab's lab.trace=1).
  log_.Log(LogLevel::kWarning, "kill",
           "seq={} scope={} {}pid={} comm={} uid={} cgroup={} container={} pod_namespace={} pod={} "
           "members={} "
           "rss_mib={:.1f} "
           "score={} rss_pages={} swap_pages={} pgtables_pages={} adj_pages={} rules={} "
           "growth_pages={} app_growth_pages={} growth_points={} app={} app_members={} "
           "reasons={} available_pct={:.1f} tte_ms={} psi_some_pct={:.1f} psi_full_pct={:.1f} "
           "candidates={} protected={} unreadable={} read={} read_unchanged={} rivals_read={} "
           "read_held={} unseen_growth_mib={:.1f} listed={} probed={} "
           "snapshot_age_ms={} "
           "largest_protected={} avoided={} scan_ms={:.2f} rank_ms={:.2f} build_ms={:.2f} "
           "submit_ms={:.2f} "
           "decision_cpu_ms={:.2f} slowest_check_ms={:.2f} slowest_check_open_ms={:.2f} "
           "slowest_check_pid={} "
           "slowest_check_held={} sharers={} step={} step_reason={} checks_ms={:.2f} "
           "oom_group_ms={:.2f} oom_count_ms={:.2f} decision_majflt={} decided_mono_ms={:.3f}",
           seq, Q{st.name}, options_.dry_run ? "dry_run=1 " : "", p.pid, Q{p.comm.view()}, p.uid,
           Q{p.cgroup}, Q{container.empty() ? std::string_view("none") : container},
           Q{pod != nullptr ? std::string_view(pod->ns) : std::string_view("none")},
           Q{pod != nullptr ? std::string_view(pod->name) : std::string_view("none")}, members,
           Mib(rss), score.total, score.rss, score.swap, score.pagetables, score.adj,
           std::string_view(rules.data(), rules.size()), score.growth, score.app_growth,
           score.growth_points, AppText(score).view(), score.app_members,
           ReasonsText(d.reasons).view(), d.available_percent, d.time_to_exhaustion_ms,
           d.psi_some_percent, d.psi_full_percent, ranking.candidates.size(),
           ranking.protected_processes.size(), snap.unreadable, ReadName(stages_.read), snap.reused,
           stages_.rivals_read, snap.reread_held, stages_.unseen_growth_mib,
           snap.probed < 0 ? 1 : 0, std::max(snap.probed, 0),
           (snap.taken_at_ns - snap.full_at_ns) / sys::kMilli,
           Q{std::string_view(bigger_protected.data(), bigger_protected.size())},
           Q{policy::AvoidReasonName(score.avoid)}, Ms(stages_.scan_ns), Ms(stages_.rank_ns),
           Ms(stages_.build_ns), Ms(stages_.submit_ns), Ms(stages_.cpu_ns),
           Ms(stages_.slowest_check.ns), Ms(stages_.slowest_check.open_ns),
           stages_.slowest_check.pid, stages_.slowest_check.held ? 1 : 0, stages_.sharers,
           kill::StepName(kill_record_.step), kill::StepReasonName(kill_record_.step_reason),
           Ms(stages_.checks_ns), Ms(stages_.oom_group_ns), Ms(stages_.oom_count_ns),
           stages_.majflt, Ms(kill_record_.t_decision_ns));
}

}  // namespace reaperd::daemon
