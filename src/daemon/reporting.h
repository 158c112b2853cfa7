// The daemon's reporting: an EngineObserver that turns samples, decisions and results into
// kill reports (report/kill_report.h), Prometheus metrics (report/metrics.h, rewritten to the
// textfile collector's file and served on loopback if configured) and the answer of the
// status socket (systemd's WATCHDOG=1 is sent by the engine's tick, engine_reclaim.cc).
// Everything runs on the loop thread behind one fd (fd()/OnReady());
// nothing blocks on a client or the disk beyond small writes.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "daemon/observer.h"
#include "report/endpoints.h"
#include "report/event_stream.h"
#include "report/kill_report.h"
#include "report/metrics.h"
#include "scan/pod_names.h"

namespace reaperd::daemon {

class Engine;

// The "notifiers" of the status answer: every scope's reclaim notifiers with their figures
// and last result (the chains' own status, read on the loop thread).
nlohmann::json NotifierStatusJson(const Engine& engine);

class Reporting final : public EngineObserver {
 public:
  // Never fails as a whole: an output that cannot be set up is logged and left off.
  Reporting(const config::Config& cfg, Logger& log, bool dry_run);
  ~Reporting() override;

  // The fd to watch for EPOLLIN; call OnReady() when it is readable.
  int fd() const noexcept { return endpoints_ ? endpoints_->fd() : -1; }
  // Who takes the status socket's managed-oom request (report/managed_oom_message.h).
  void SetManagedOomHandler(std::function<std::string(std::string_view)> take) {
    if (endpoints_) endpoints_->SetManagedOomHandler(std::move(take));
  }
  void OnReady() noexcept;

  // The registry other modules add to (reclaim: reaperd_reclaim_runs_total{notifier,result},
  // reaperd_reclaim_bytes_freed_total{notifier}; see docs/metrics.md). Thread-safe.
  report::Metrics& metrics() noexcept { return metrics_; }
  // What `reaperd status` shows under "notifiers"; called on the loop thread per query.
  void SetNotifierStatus(std::function<nlohmann::json()> f) { notifier_status_ = std::move(f); }

  // The event stream of the status socket (null if it could not be made). Post() is
  // thread-safe: the reclaim chain's "event" notifier publishes through it.
  report::EventStream* events() noexcept { return events_.get(); }

  // The status answer and the metrics text (public for tests).
  std::string StatusJson() const;
  std::string MetricsText() {
    FlushGauges();
    return metrics_.Render();
  }
  // Sets the scopes' gauges from their last samples. A sample only notes itself (OnSample):
  // seven gauges a scope at every tick, most of them never read, were CPU for nothing (issue
  // 13); they are set here, on the loop thread, before the metrics are read (the HTTP
  // endpoint, the textfile, a test).
  void FlushGauges() noexcept;
  // Forgets every scope not in `live` (names as Scope::Name() gives them): its status entry and
  // its gauges, so a removed automatic scope does not linger in `reaperd status` or metrics.
  void RetainScopes(const std::vector<std::string>& live);
  std::size_t scopes_known() const noexcept { return scopes_.size(); }
  // The pod names the node has (report.pod_logs_dir), for the engine's kill line: it only
  // Find()s, after the signal; this class lists the directory when a uid is missing.
  const scan::PodNames& pod_names() const noexcept { return pods_; }
  // Distinct container/pod label sets the kill counters may carry; later ones are "other".
  static constexpr std::size_t kKillLabelSets = 64;
  // How old the pod listing may grow on the ticks: the kill line only Find()s, so a pod
  // started since the last listing is named in the kill report but not in the kill line.
  static constexpr std::int64_t kPodListingAgeNs = 30'000'000'000;

  // Rewrites the textfile now (also done at the first sample, then at the first sample
  // report.metrics_interval_ms after the last rewrite, and at stop).
  void WriteTextfile() noexcept;

  void OnSample(const policy::Scope& scope, const pressure::PressureSample& sample,
                const pressure::Decision& decision) override;
  void OnLevelChange(const policy::Scope& scope, pressure::Level from,
                     const pressure::Decision& decision) override;
  void OnKillDecision(const KillDecision& kill) override;
  void OnKillResult(const kill::KillResult& result) override;
  // Counts each notifier's run (reaperd_reclaim_runs_total) and what it freed.
  void OnReclaimPass(const policy::Scope& scope, const reclaim::PassResult& pass) override;

 private:
  struct ScopeState {
    pressure::PressureSample sample;
    pressure::Decision decision;
    std::uint64_t kills = 0;
    policy::Scope scope;        // as its samples name it (cgroup "" for the system scope)
    report::Labels labels;      // of its gauges: scope, and container and pod when in one
    bool gauges_stale = false;  // a sample since FlushGauges
  };
  // A last resort pulled (after repeated misses), as `reaperd status` shows it.
  struct LastResortEvent {
    std::uint64_t seq = 0;
    std::string scope;
    std::string action;
    bool failed = false;
    std::string error;
    int signalled = 0;
    std::int64_t at_ns = 0;
  };
  static constexpr std::size_t kLastResortsKept = 16;
  struct InFlight {
    std::string scope;
    pid_t pid = 0;
    std::string comm;
    std::int64_t t_decision_ns = 0;
    report::Labels container_labels;  // the victim's, within the budget
  };
  void DefineMetrics();
  // Appends container, pod_namespace and pod labels for a process or scope in cgroup (none
  // outside a container; the pod's only where the node names it), listing the pod
  // directory if the uid is new. The pod itself is returned, or nullptr.
  const policy::PodName* AppendContainerLabels(std::string_view cgroup, std::int64_t now_ns,
                                               report::Labels& out);
  // The scope's gauge labels, recomputed while its pod is still unnamed; the gauges of a
  // superseded label set are dropped.
  // The status answer's "container" of a scope (null outside one), with the pod's name as
  // last listed (nothing is read for a status query).
  nlohmann::json ScopeContainerJson(std::string_view cgroup) const;
  const report::Labels& ScopeLabels(ScopeState& st, std::int64_t now_ns);
  // Counts, logs and keeps for the status answer a last resort r pulled in scope.
  void NoteLastResort(const std::string& scope, const kill::KillResult& r);
  // Whether the scopes' reclaim chains have an "event" notifier (level events say so).
  bool HasWarningStep() const;
  // Publishes one event line to the stream's subscribers (none: nothing is formatted).
  void Emit(const nlohmann::json& event) noexcept;
  // Brings reaperd_log_lines_dropped_total up to the log sink's own count.
  void SyncLogDrops() noexcept;

  const config::Config& cfg_;
  Logger& log_;
  bool dry_run_;
  report::Metrics metrics_;
  report::KillReports reports_;
  std::unique_ptr<report::Endpoints> endpoints_;
  std::unique_ptr<report::EventStream> events_;
  std::int64_t textfile_written_ns_ = -1;  // the sample time of the last rewrite
  std::string textfile_path_;  // empty: no textfile (off, or the default without node_exporter)
  std::map<std::string, ScopeState> scopes_;
  std::map<std::uint64_t, InFlight> in_flight_;
  std::function<nlohmann::json()> notifier_status_;
  std::deque<LastResortEvent> last_resorts_;  // the newest kLastResortsKept
  std::uint64_t last_resorts_fired_ = 0;
  std::uint64_t last_resorts_failed_ = 0;
  std::int64_t started_ns_ = 0;
  std::uint64_t textfile_errors_ = 0;
  std::uint64_t log_dropped_seen_ = 0;
  scan::PodNames pods_;
  report::LabelBudget kill_labels_{kKillLabelSets};
};

}  // namespace reaperd::daemon
