#include "daemon/reporting.h"

#include <unistd.h>

#include "daemon/engine.h"
#include "daemon/engine_internal.h"
#include "daemon/reporting_events.h"
#include "kill/last_resort.h"
#include "sys/clock.h"
#include "sys/fs.h"

namespace reaperd::daemon {
namespace {

using nlohmann::json;
using report::MetricType;

std::string ScopeName(const kill::ScopeKey& k) {
  return k.kind == policy::ScopeKind::kSystem ? "system" : "cgroup:" + std::string(k.cgroup.view());
}

}  // namespace

Reporting::Reporting(const config::Config& cfg, Logger& log, bool dry_run)
    : cfg_(cfg),
      log_(log),
      dry_run_(dry_run),
      reports_(cfg.report, cfg.kill.deadline_ms, log),
      started_ns_(sys::MonotonicClock().Now()),
      pods_(cfg.report.pod_logs_dir) {
  DefineMetrics();
  auto ep = report::Endpoints::Create();
  if (!ep) {
    log_.Log(LogLevel::kError, "report", "endpoints=unavailable error={}",
             Q{ep.error().ToString()});
    return;
  }
  endpoints_ = std::move(*ep);
  const config::ReportConfig& rc = cfg.report;
  if (!rc.status_socket.empty()) {
    auto r = endpoints_->ListenStatus(rc.status_socket, [this] { return StatusJson(); });
    log_.Log(r ? LogLevel::kInfo : LogLevel::kWarning, "report", "status_socket={} result={}",
             Q{rc.status_socket}, Q{r ? std::string("listening") : r.error().ToString()});
    // The event stream rides on the status socket (request "events"), behind its epoll fd.
    if (auto es = report::EventStream::Create(); !es) {
      log_.Log(LogLevel::kWarning, "report", "event_stream=unavailable error={}",
               Q{es.error().ToString()});
    } else if (r) {
      events_ = std::move(*es);
      (void)endpoints_->Watch(events_->fd(), [this] { events_->OnReady(); });
      endpoints_->SetEventsHandler([this](sys::UniqueFd fd) { events_->Add(std::move(fd)); });
    }
  }
  std::uint32_t addr = 0;
  std::uint16_t port = 0;
  if (!rc.metrics_listen.empty() && config::ParseLoopbackAddress(rc.metrics_listen, &addr, &port)) {
    auto r = endpoints_->ListenHttp(addr, port, [this] { return MetricsText(); });
    log_.Log(r ? LogLevel::kInfo : LogLevel::kWarning, "report", "metrics_listen={} result={}",
             Q{rc.metrics_listen}, Q{r ? std::string("listening") : r.error().ToString()});
  }
  // node_exporter's textfile directory is the default: without node_exporter there is nothing
  // to write for, so that default is off rather than a warning at every start and rewrite. A
  // path the user chose is written, and a missing directory said once, here.
  textfile_path_ = rc.metrics_textfile_path;
  std::string textfile_note = "off";
  if (!textfile_path_.empty()) {
    const std::string dir = sys::ParentDirectory(textfile_path_);
    if (sys::IsDirectory(dir)) {
      textfile_note = "written";
    } else if (textfile_path_ == config::ReportConfig{}.metrics_textfile_path) {
      textfile_note = "off(no_node_exporter_directory)";
      textfile_path_.clear();
    } else {
      textfile_note = "missing_directory";
      textfile_errors_ = 1;  // said here: the rewrites warn again only every 100th failure
      log_.Log(LogLevel::kWarning, "report",
               "metrics_textfile={} error=\"directory {} does not exist\"", Q{textfile_path_}, dir);
    }
  }
  log_.Log(LogLevel::kInfo, "report", "metrics_textfile={} textfile_state={} metrics_listen={}",
           textfile_path_.empty() ? std::string("off") : fmt::format("\"{}\"", textfile_path_),
           textfile_note, rc.metrics_listen.empty() ? std::string("off") : rc.metrics_listen);
}

Reporting::~Reporting() { WriteTextfile(); }

void Reporting::OnReady() noexcept {
  if (endpoints_) endpoints_->OnReady();
}

void Reporting::SyncLogDrops() noexcept {
  // The sink counts on its own (it must not call out while dropping); brought in per tick.
  const std::uint64_t n = log_.sink().lines_dropped();
  if (n <= log_dropped_seen_) return;
  try {
    metrics_.Add("reaperd_log_lines_dropped_total", {}, static_cast<double>(n - log_dropped_seen_));
    log_dropped_seen_ = n;
  } catch (...) {
  }
}

void Reporting::WriteTextfile() noexcept {
  const std::string& path = textfile_path_;
  if (path.empty()) return;
  SyncLogDrops();
  FlushGauges();
  try {
    auto r = report::WriteFileAtomic(path, metrics_.Render());
    if (!r && textfile_errors_++ % 100 == 0) {
      log_.Log(LogLevel::kWarning, "report", "metrics_textfile={} error={} count={}", Q{path},
               Q{r.error().ToString()}, textfile_errors_);
    }
  } catch (...) {
  }
}

void Reporting::RetainScopes(const std::vector<std::string>& live) {
  try {
    for (auto it = scopes_.begin(); it != scopes_.end();) {
      if (std::find(live.begin(), live.end(), it->first) != live.end()) {
        ++it;
        continue;
      }
      (void)metrics_.RemoveGauges(it->second.labels);
      it = scopes_.erase(it);
    }
  } catch (...) {
  }
}

void Reporting::OnSample(const policy::Scope& scope, const pressure::PressureSample& sample,
                         const pressure::Decision& decision) {
  SyncLogDrops();
  try {
    ScopeState& st = scopes_[scope.Name()];
    if (st.scope.kind != scope.kind || st.scope.cgroup != scope.cgroup) st.scope = scope;  // new
    st.sample = sample;
    st.decision = decision;
    st.gauges_stale = true;
  } catch (...) {
  }
  // The textfile rides on the ticks (at least one every interval_slow_ms) rather than on a
  // timer of its own, which would wake an idle daemon for a file nobody may be reading.
  if (!textfile_path_.empty() &&
      (textfile_written_ns_ < 0 || sample.t_ns - textfile_written_ns_ >=
                                       std::int64_t{cfg_.report.metrics_interval_ms} * 1'000'000)) {
    WriteTextfile();
    textfile_written_ns_ = sample.t_ns;
  }
}

void Reporting::FlushGauges() noexcept {
  try {
    for (auto& [name, st] : scopes_) {
      if (!st.gauges_stale) continue;
      st.gauges_stale = false;
      const pressure::PressureSample& sample = st.sample;
      const pressure::Decision& decision = st.decision;
      if (!pods_.root().empty()) pods_.RefreshIfOlder(sample.t_ns, kPodListingAgeNs);
      const report::Labels& l = ScopeLabels(st, sample.t_ns);
      metrics_.Set("reaperd_pressure_some_percent", l, decision.psi_some_percent);
      metrics_.Set("reaperd_pressure_full_percent", l, decision.psi_full_percent);
      metrics_.Set("reaperd_available_bytes", l, static_cast<double>(sample.available_bytes));
      metrics_.Set("reaperd_total_bytes", l, static_cast<double>(sample.total_bytes));
      metrics_.Set("reaperd_swap_total_bytes", l, static_cast<double>(sample.swap_total_bytes));
      metrics_.Set("reaperd_swap_free_bytes", l, static_cast<double>(sample.swap_free_bytes));
      metrics_.Set("reaperd_level", l, static_cast<double>(decision.level));
    }
  } catch (...) {
  }
}

void Reporting::Emit(const json& event) noexcept {
  if (!events_ || events_->subscribers() == 0) return;
  try {
    events_->Publish(report::DumpLine(event));
  } catch (...) {
  }
}

bool Reporting::HasWarningStep() const {
  // The chain publishes the reclaim level's warning itself (reaperd-bus then leaves the
  // level change alone): enabled, not a dry run (which runs no chain), an event notifier.
  if (!cfg_.reclaim.enabled || dry_run_) return false;
  return std::any_of(cfg_.reclaim.notifiers.begin(), cfg_.reclaim.notifiers.end(),
                     [](const auto& n) { return n.kind == config::NotifierKind::kEvent; });
}

void Reporting::OnLevelChange(const policy::Scope& scope, pressure::Level from,
                              const pressure::Decision& decision) {
  try {
    const std::string name = scope.Name();
    metrics_.Add("reaperd_level_changes_total",
                 {{"scope", name}, {"to", pressure::LevelName(decision.level)}});
    if (events_ && events_->subscribers() > 0) {
      const auto it = scopes_.find(name);  // OnSample came first: the reading behind the change
      const pressure::PressureSample sample =
          it != scopes_.end() ? it->second.sample : pressure::PressureSample{};
      Emit(LevelEventJson(name, from, decision, sample, HasWarningStep()));
    }
  } catch (...) {
  }
}

void Reporting::OnKillDecision(const KillDecision& k) {
  if (k.scope == nullptr || k.decision == nullptr || k.sample == nullptr || k.snapshot == nullptr ||
      k.ranking == nullptr) {
    return;
  }
  try {
    const std::string name = k.scope->Name();
    for (pressure::Reasons bit = 1; bit != 0 && bit <= pressure::kReasonLast;
         bit = static_cast<pressure::Reasons>(bit << 1)) {
      if ((k.decision->reasons & bit) == 0 || bit == pressure::kReasonVictimPending) continue;
      std::string reason = ReasonsString(bit);
      metrics_.Add("reaperd_kill_decisions_total", {{"scope", name}, {"reason", reason}});
    }
    report::DecisionView view{k.seq,      *k.scope,      *k.decision, *k.sample,       *k.snapshot,
                              *k.ranking, k.victim_rank, k.members,   k.t_decision_ns, k.dry_run};
    view.step = kill::StepName(k.step);
    view.step_reason = kill::StepReasonName(k.step_reason);
    InFlight f;
    f.scope = name;
    f.t_decision_ns = k.t_decision_ns;
    if (k.victim_rank < k.ranking->candidates.size()) {
      const auto& p = k.snapshot->processes[k.ranking->candidates[k.victim_rank].index];
      f.pid = p.pid;
      f.comm = std::string(p.comm.view());
      view.victim_pod = AppendContainerLabels(p.cgroup, k.t_decision_ns, f.container_labels);
      if (!f.container_labels.empty()) {
        // One budget entry per distinct (container, namespace, pod) set.
        std::string key;
        for (const auto& kv : f.container_labels) key += kv.second + '\x1f';
        if (kill_labels_.Admit(key) == report::LabelBudget::kOther) {
          for (auto& kv : f.container_labels) kv.second = report::LabelBudget::kOther;
        }
      }
      // After the signal (observers run after Reaper::Submit), like every line here.
      if (events_ && events_->subscribers() > 0) Emit(KillEventJson(k, p, name));
    }
    reports_.NoteDecision(report::DecisionJson(view, cfg_.rank, sys::WallNow() / sys::kMilli));
    in_flight_[k.seq] = std::move(f);
    ++scopes_[name].kills;
    metrics_.Set("reaperd_victims_in_flight", {}, static_cast<double>(in_flight_.size()));
  } catch (...) {
  }
}

void Reporting::OnKillResult(const kill::KillResult& r) {
  try {
    const std::string name = ScopeName(r.scope);
    const report::Labels l = {{"scope", name}};
    const bool missed = r.outcome == kill::Outcome::kMissedDeadline && !r.after_deadline;
    const auto flight = in_flight_.find(r.seq);
    report::Labels with_container = l;
    if (flight != in_flight_.end()) {
      const auto& cl = flight->second.container_labels;
      with_container.insert(with_container.end(), cl.begin(), cl.end());
    }
    if (missed) metrics_.Add("reaperd_deadlines_missed_total", with_container);
    if (!r.after_deadline) {
      report::Labels kl = with_container;
      kl.insert(kl.begin() + 1, {"outcome", kill::OutcomeName(r.outcome)});
      metrics_.Add("reaperd_kills_total", kl);
      if (r.escalated) metrics_.Add("reaperd_escalations_total", l);
      if (r.t_decision != 0 && r.t_signal != 0) {
        metrics_.Observe("reaperd_detection_to_signal_seconds", l,
                         Seconds(r.t_decision, r.t_signal));
      }
    }
    if (r.t_signal != 0 && r.t_exit != 0 && (!missed || r.after_deadline)) {
      metrics_.Observe("reaperd_signal_to_exit_seconds", l, Seconds(r.t_signal, r.t_exit));
    }
    if (r.t_signal != 0 && r.t_reaped != 0) {
      metrics_.Observe("reaperd_signal_to_reaped_seconds", l, Seconds(r.t_signal, r.t_reaped));
    }
    if (r.bytes_freed > 0) {
      metrics_.Add("reaperd_bytes_freed_total", l, static_cast<double>(r.bytes_freed));
    }
    if (r.last_resort != kill::LastResortAction::kNone) NoteLastResort(name, r);
    const std::uint64_t errors_before = reports_.write_errors();
    reports_.NoteResult(r);
    if (reports_.write_errors() != errors_before) {
      metrics_.Add("reaperd_kill_report_write_errors_total", {});
    }
    if (events_ && events_->subscribers() > 0) Emit(KillResultEventJson(r, name));
    if (!missed) in_flight_.erase(r.seq);
    metrics_.Set("reaperd_victims_in_flight", {}, static_cast<double>(in_flight_.size()));
  } catch (...) {
  }
}

void Reporting::NoteLastResort(const std::string& scope, const kill::KillResult& r) {
  const char* action = kill::LastResortName(r.last_resort);
  metrics_.Add("reaperd_last_resort_total", {{"scope", scope}, {"action", action}});
  ++last_resorts_fired_;
  LastResortEvent e;
  e.seq = r.seq;
  e.scope = scope;
  e.action = action;
  e.failed = r.last_resort_failed;
  e.signalled = r.last_resort_signalled;
  e.at_ns = sys::MonotonicClock().Now();
  if (r.last_resort_failed) {
    metrics_.Add("reaperd_last_resort_failed_total", {{"scope", scope}, {"action", action}});
    ++last_resorts_failed_;
    e.error = r.last_resort_error.ToString();
  }
  log_.Log(r.last_resort_failed ? LogLevel::kError : LogLevel::kWarning, "last_resort",
           "seq={} scope={} action={} result={} signalled={} error={}", r.seq, Q{scope}, action,
           r.last_resort_failed ? "failed" : "done", r.last_resort_signalled,
           Q{r.last_resort_failed ? e.error : std::string("none")});
  last_resorts_.push_back(std::move(e));
  if (last_resorts_.size() > kLastResortsKept) last_resorts_.pop_front();
}

void Reporting::OnReclaimPass(const policy::Scope& scope, const reclaim::PassResult& pass) {
  try {
    for (const auto& step : pass.steps) {
      if (events_ && events_->subscribers() > 0) {
        Emit(ReclaimStepEventJson(scope.Name(), step, pass));
      }
      metrics_.Add(
          "reaperd_reclaim_runs_total",
          {{"notifier", step.notifier}, {"result", reclaim::NotifyOutcomeName(step.outcome)}});
      metrics_.Add("reaperd_reclaim_bytes_freed_total", {{"notifier", step.notifier}},
                   static_cast<double>(std::max<std::int64_t>(step.freed_bytes, 0)));
    }
  } catch (...) {
  }
}

nlohmann::json NotifierStatusJson(const Engine& engine) {
  json out = json::array();
  for (std::size_t i = 0; i < engine.status().size(); ++i) {
    const reclaim::Worker* w = engine.reclaimer(i);
    if (w == nullptr) continue;
    const reclaim::ChainStatus cs = w->status();
    for (const auto& n : cs.notifiers) {
      out.push_back(
          {{"scope", engine.status()[i].name},
           {"name", n.name},
           {"kind", n.kind},
           {"running", cs.running == n.name},
           {"runs", n.runs},
           {"skipped", n.skipped},
           {"misses", n.misses},
           {"freed_total_bytes", n.freed_total_bytes},
           {"last_freed_bytes", n.last_freed_bytes},
           // null until it has run: a default outcome would claim a run.
           {"last_result",
            n.runs == 0 ? json(nullptr) : json(reclaim::NotifyOutcomeName(n.last_outcome))},
           {"backoff_ms", n.backoff_ms}});
    }
  }
  return out;
}

}  // namespace reaperd::daemon
