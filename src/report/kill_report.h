// Kill reports: one JSON object per kill, answering "why did it kill that?": the scope, the
// trigger (level, reasons, PSI, available memory, trend), the top of the ranking with each
// score's breakdown, the victim group, and the timeline from decision to reaped with the
// bytes freed and the deadline's outcome. The decision and the reaper's result arrive at
// different times; KillReports joins them by the reaper's sequence number, appends the report
// to a bounded, rotated JSON-lines file, logs one summary line, and keeps the last few for
// `reaperd status`. Called on the daemon loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "kill/kill_result.h"
#include "policy/container.h"
#include "policy/rank.h"
#include "policy/scope.h"
#include "policy/snapshot.h"
#include "pressure/sample.h"
#include "report/rotating_file.h"

namespace reaperd::report {

// What the engine knew when it chose the victim (references valid during the call only).
struct DecisionView {
  std::uint64_t seq = 0;
  const policy::Scope& scope;
  const pressure::Decision& decision;
  const pressure::PressureSample& sample;
  const policy::Snapshot& snapshot;
  const policy::Ranking& ranking;
  std::size_t victim_rank = 0;
  const std::vector<pid_t>& members;
  std::int64_t t_decision_ns = 0;
  bool dry_run = false;
  const policy::PodName* victim_pod = nullptr;  // the victim's pod, if the node names it
  // The kill's size on the kill-size ladder and why (kill::StepName, kill::StepReasonName).
  std::string_view step = "process";
  std::string_view step_reason = "first";
};

inline constexpr std::size_t kReportTop = 5;
inline constexpr std::size_t kRecentKills = 16;

// The decision half of a report: seq, time, scope, trigger, ranking (top `top`), victim.
nlohmann::json DecisionJson(const DecisionView& d, const config::RankConfig& rank,
                            std::int64_t wall_time_ms, std::size_t top = kReportTop);
// The result half: the timeline (milliseconds from the decision; null when it did not happen).
nlohmann::json TimelineJson(const kill::KillResult& r, int deadline_ms);
// The container a cgroup path belongs to (policy::IdentifyContainer): {"engine", "id",
// "label", and for a Kubernetes pod "pod_uid", "qos", and with pod given "pod_namespace",
// "pod_name"}; null when it is in none.
nlohmann::json ContainerJson(std::string_view cgroup, const policy::PodName* pod = nullptr);
// JSON text on one line; invalid UTF-8 (a comm is arbitrary bytes) is replaced, not thrown on.
std::string DumpLine(const nlohmann::json& j);

class KillReports {
 public:
  KillReports(const config::ReportConfig& cfg, int deadline_ms, Logger& log);

  void NoteDecision(nlohmann::json decision);
  // Joins the result to its decision, writes the report and returns it. A victim that missed
  // its deadline is reported then, and again (after_deadline) when it finally goes.
  nlohmann::json NoteResult(const kill::KillResult& r);

  // The last kRecentKills reports, each as its one-line JSON text (what the report file got):
  // kept as trees they were about 10 kB each, most of the daemon's heap growth over a burst
  // of kills (issue 13); RecentKillsJson (recent_kills.h) parses them for the status, off the
  // kill path.
  const std::deque<std::string>& recent() const noexcept { return recent_; }
  std::uint64_t write_errors() const noexcept { return write_errors_; }

 private:
  static constexpr std::size_t kMaxPending = 64;  // decisions whose result has not come yet

  int deadline_ms_;
  Logger& log_;
  std::unique_ptr<RotatingFile> file_;
  std::map<std::uint64_t, nlohmann::json> pending_;
  std::deque<std::string> recent_;
  std::uint64_t write_errors_ = 0;
};

}  // namespace reaperd::report
