#include "config/reload.h"

namespace reaperd::config {

namespace {

// Appends "section.field" to out when the field differs.
#define REAPERD_DIFF(section, field) \
  if (!(running.section.field == fresh.section.field)) out->push_back(#section "." #field)

void DiffLive(const Config& running, const Config& fresh, std::vector<std::string>* out) {
  REAPERD_DIFF(detector, warn_available_percent);
  REAPERD_DIFF(detector, reclaim_available_percent);
  REAPERD_DIFF(detector, kill_available_percent);
  REAPERD_DIFF(detector, kill_time_to_exhaustion_ms);
  REAPERD_DIFF(detector, psi_some_warn_percent);
  REAPERD_DIFF(detector, psi_full_kill_percent);
  REAPERD_DIFF(detector, swap_used_kill_percent);
  REAPERD_DIFF(detector, psi_window_ms);
  REAPERD_DIFF(detector, psi_sustain_ms);
  REAPERD_DIFF(detector, interval_fast_ms);
  REAPERD_DIFF(detector, interval_slow_ms);
  REAPERD_DIFF(detector, hysteresis_percent);
  REAPERD_DIFF(detector, trend_window_ms);
  REAPERD_DIFF(detector, tte_confirm_samples);
  REAPERD_DIFF(detector, victim_return_percent);
  REAPERD_DIFF(detector, victim_settle_ms);
  REAPERD_DIFF(rank, protect_comm);
  REAPERD_DIFF(rank, avoid_comm);
  REAPERD_DIFF(rank, unavoid_comm);
  REAPERD_DIFF(rank, session_avoid);
  REAPERD_DIFF(rank, protect_cgroup);
  REAPERD_DIFF(rank, protect_uid);
  REAPERD_DIFF(rank, rules);
  REAPERD_DIFF(rank, cmdline_max);
  REAPERD_DIFF(rank, growth_weight);
  REAPERD_DIFF(hooks, warn);
  REAPERD_DIFF(hooks, pre_kill);
  REAPERD_DIFF(hooks, post_kill);
  REAPERD_DIFF(reclaim, enabled);
  REAPERD_DIFF(reclaim, settle_ms);
  REAPERD_DIFF(reclaim, min_freed_mib);
  REAPERD_DIFF(reclaim, backoff_after);
  REAPERD_DIFF(reclaim, backoff_initial_ms);
  REAPERD_DIFF(reclaim, backoff_max_ms);
  REAPERD_DIFF(reclaim, interval_ms);
  REAPERD_DIFF(reclaim, kill_budget_ms);
  if (!(running.reclaim.notifiers == fresh.reclaim.notifiers)) out->push_back("reclaim.notifier");
}

void DiffRestart(const Config& running, const Config& fresh, std::vector<std::string>* out) {
  REAPERD_DIFF(daemon, log_level);
  REAPERD_DIFF(daemon, dry_run);
  REAPERD_DIFF(daemon, watch_limited_cgroups);
  REAPERD_DIFF(daemon, watch_limited_cgroups_under);
  REAPERD_DIFF(daemon, max_cgroup_scopes);
  REAPERD_DIFF(daemon, rescan_interval_ms);
  REAPERD_DIFF(kill, signal_grace_ms);
  REAPERD_DIFF(kill, deadline_ms);
  REAPERD_DIFF(kill, widen);
  REAPERD_DIFF(kill, honour_oom_group);
  REAPERD_DIFF(kill, step_up);
  REAPERD_DIFF(kill, last_resort);
  REAPERD_DIFF(kill, last_resort_after_misses);
  REAPERD_DIFF(kill, reaper_threads);
  REAPERD_DIFF(kill, reaper_realtime_priority);
  REAPERD_DIFF(kill, mrelease_retries);
  REAPERD_DIFF(kill, mrelease_retry_delay_ms);
  REAPERD_DIFF(watchdog, enabled);
  REAPERD_DIFF(watchdog, check_interval_ms);
  REAPERD_DIFF(watchdog, d_state_ms);
  REAPERD_DIFF(watchdog, psi_full_percent);
  REAPERD_DIFF(watchdog, psi_full_sustain_ms);
  REAPERD_DIFF(watchdog, loop_late_ms);
  REAPERD_DIFF(watchdog, report_interval_ms);
  REAPERD_DIFF(watchdog, max_tasks);
  REAPERD_DIFF(watchdog, read_stack);
  REAPERD_DIFF(watchdog, report_path);
  REAPERD_DIFF(report, kill_report_path);
  REAPERD_DIFF(report, kill_report_max_bytes);
  REAPERD_DIFF(report, kill_report_keep);
  REAPERD_DIFF(report, metrics_textfile_path);
  REAPERD_DIFF(report, metrics_interval_ms);
  REAPERD_DIFF(report, metrics_listen);
  REAPERD_DIFF(report, status_socket);
  REAPERD_DIFF(report, pod_logs_dir);
}

#undef REAPERD_DIFF

}  // namespace

ReloadPlan PlanReload(const Config& running, const Config& fresh) {
  ReloadPlan plan;
  DiffLive(running, fresh, &plan.applied);
  DiffRestart(running, fresh, &plan.restart_needed);
  return plan;
}

void ApplyLive(Config& running, const Config& fresh) {
  running.detector = fresh.detector;
  running.rank = fresh.rank;
  running.hooks = fresh.hooks;
  running.reclaim = fresh.reclaim;
}

std::string JoinKeys(const std::vector<std::string>& keys) {
  if (keys.empty()) return "none";
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ",") + k;
  return out;
}

}  // namespace reaperd::config
