#include "report/kill_report.h"

#include <array>
#include <csignal>

#include "kill/last_resort.h"
#include "policy/container.h"

namespace reaperd::report {
namespace {

using nlohmann::json;

json Reasons(pressure::Reasons r) {
  json a = json::array();
  if (r & pressure::kReasonAvailableLow) a.push_back("available_low");
  if (r & pressure::kReasonTimeToExhaustion) a.push_back("time_to_exhaustion");
  if (r & pressure::kReasonPsiSomeSustained) a.push_back("psi_some");
  if (r & pressure::kReasonPsiFullSustained) a.push_back("psi_full");
  if (r & pressure::kReasonVictimPending) a.push_back("victim_pending");
  if (r & pressure::kReasonManagedOomPressure) a.push_back("managed_oom_pressure");
  if (r & pressure::kReasonSwapExhausted) a.push_back("swap_exhausted");
  return a;
}

json Ms(sys::Nanos from, sys::Nanos to) {
  if (from == 0 || to == 0) return nullptr;
  return static_cast<double>(to - from) / 1e6;
}

const char* SignalName(int s) {
  if (s == SIGKILL) return "KILL";
  if (s == SIGTERM) return "TERM";
  return "none";
}

}  // namespace

json DecisionJson(const DecisionView& d, const config::RankConfig& rank, std::int64_t wall_time_ms,
                  std::size_t top) {
  const std::uint64_t page = d.snapshot.page_size;
  json j;
  j["seq"] = d.seq;
  j["time_unix_ms"] = wall_time_ms;
  j["dry_run"] = d.dry_run;
  j["scope"] = d.scope.Name();
  j["trigger"] = {
      {"level", pressure::LevelName(d.decision.level)},
      {"reasons", Reasons(d.decision.reasons)},
      {"available_bytes", d.sample.available_bytes},
      {"total_bytes", d.sample.total_bytes},
      {"available_percent", d.decision.available_percent},
      {"psi_some_percent", d.decision.psi_some_percent},
      {"psi_full_percent", d.decision.psi_full_percent},
      {"has_psi", d.sample.has_psi},
      {"slope_bytes_per_s", d.decision.slope_bytes_per_s},
      {"time_to_exhaustion_ms", d.decision.time_to_exhaustion_ms},
  };
  json ranked = json::array();
  for (std::size_t i = 0; i < d.ranking.candidates.size() && i < top; ++i) {
    const policy::Score& s = d.ranking.candidates[i];
    const policy::Process& p = d.snapshot.processes[s.index];
    json rules = json::array();
    for (const auto& e : s.rules) {
      const bool known = e.rule >= 0 && static_cast<std::size_t>(e.rule) < rank.rules.size();
      rules.push_back({{"rule", e.rule},
                       {"name", known ? rank.rules[static_cast<std::size_t>(e.rule)].name : ""},
                       {"weight", e.weight},
                       {"points_pages", e.points}});
    }
    ranked.push_back({
        {"rank", i + 1},
        {"chosen", i == d.victim_rank},
        {"pid", p.pid},
        {"comm", std::string(p.comm.view())},
        {"uid", p.uid},
        {"cgroup", p.cgroup},
        {"rss_bytes", p.rss()},
        {"swap_bytes", p.swap},
        {"oom_score_adj", p.oom_score_adj},
        {"score",
         {{"total_pages", s.total},
          {"rss_pages", s.rss},
          {"swap_pages", s.swap},
          {"pagetables_pages", s.pagetables},
          {"adj_pages", s.adj},
          {"rules", rules},
          {"oom_score", s.oom_score},
          {"badness_pages", s.total - s.growth_points},
          {"growth_pages", s.growth},
          {"app_growth_pages", s.app_growth},
          {"growth_points", s.growth_points}}},
        {"application",
         {{"kind", policy::ApplicationKind(s)},
          {"root_pid", s.app_root},
          {"members", s.app_members}}},
    });
  }
  j["ranking"] = {{"candidates", d.ranking.candidates.size()},
                  {"protected", d.ranking.protected_processes.size()},
                  {"total_pages", d.snapshot.total_pages},
                  {"page_size", page},
                  {"top", ranked}};
  json victim = json::object();
  if (d.victim_rank < d.ranking.candidates.size()) {
    const policy::Process& p = d.snapshot.processes[d.ranking.candidates[d.victim_rank].index];
    victim = {
        {"pid", p.pid},         {"starttime", p.starttime}, {"comm", std::string(p.comm.view())},
        {"uid", p.uid},         {"cgroup", p.cgroup},       {"exe", p.exe},
        {"rss_bytes", p.rss()}, {"threads", p.threads},     {"rank", d.victim_rank + 1}};
    if (auto c = ContainerJson(p.cgroup, d.victim_pod); !c.is_null()) {
      victim["container"] = std::move(c);
    }
  }
  victim["members"] = d.members;
  victim["step"] = d.step;
  victim["step_reason"] = d.step_reason;
  j["victim"] = victim;
  return j;
}

json ContainerJson(std::string_view cgroup, const policy::PodName* pod) {
  const policy::ContainerInfo c = policy::IdentifyContainer(cgroup);
  if (!c.known()) return nullptr;
  std::array<char, 128> buf;
  json j = {{"engine", policy::ContainerEngineName(c.engine)},
            {"id", std::string(c.id)},
            {"label", std::string(policy::ContainerLabel(c, buf))}};
  if (c.kubernetes()) {
    j["pod_uid"] = std::string(c.pod_uid);
    j["qos"] = policy::PodQosName(c.qos);
    if (pod != nullptr) {
      j["pod_namespace"] = pod->ns;
      j["pod_name"] = pod->name;
    }
  }
  return j;
}

json TimelineJson(const kill::KillResult& r, int deadline_ms) {
  const bool missed = r.outcome == kill::Outcome::kMissedDeadline || r.after_deadline;
  return {
      {"outcome", kill::OutcomeName(r.outcome)},
      {"after_deadline", r.after_deadline},
      {"signal", SignalName(r.signal)},
      {"escalated", r.escalated},
      {"decision_to_signal_ms", Ms(r.t_decision, r.t_signal)},
      {"decision_to_exit_ms", Ms(r.t_decision, r.t_exit)},
      {"decision_to_reaped_ms", Ms(r.t_decision, r.t_reaped)},
      {"signal_to_exit_ms", Ms(r.t_signal, r.t_exit)},
      {"signal_to_reaped_ms", Ms(r.t_signal, r.t_reaped)},
      {"exited", r.t_exit != 0},
      {"reaped", r.t_reaped != 0},
      {"bytes_freed", r.bytes_freed},
      {"freed_by", kill::FreedByName(r.freed_by)},
      {"mrelease_calls", r.mrelease_calls},
      {"mrelease_einval", r.mrelease_einval},
      {"thawed", r.thawed},
      {"members", r.members},
      {"members_signalled", r.members_signalled},
      {"members_stale", r.members_stale},
      {"errors", r.errors},
      {"first_error", r.errors != 0 ? json(r.first_error.ToString()) : json(nullptr)},
      {"deadline_ms", deadline_ms},
      {"deadline", r.outcome == kill::Outcome::kDryRun ? "none" : (missed ? "missed" : "met")},
      {"last_resort", kill::LastResortName(r.last_resort)},
      {"last_resort_failed", r.last_resort_failed},
      {"last_resort_signalled", r.last_resort_signalled},
      {"last_resort_error",
       r.last_resort_failed ? json(r.last_resort_error.ToString()) : json(nullptr)},
  };
}

std::string DumpLine(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

KillReports::KillReports(const config::ReportConfig& cfg, int deadline_ms, Logger& log)
    : deadline_ms_(deadline_ms), log_(log) {
  if (!cfg.kill_report_path.empty()) {
    file_ = std::make_unique<RotatingFile>(cfg.kill_report_path, cfg.kill_report_max_bytes,
                                           cfg.kill_report_keep);
  }
}

void KillReports::NoteDecision(json decision) {
  const auto seq = decision.value("seq", std::uint64_t{0});
  if (pending_.size() >= kMaxPending) pending_.erase(pending_.begin());
  pending_[seq] = std::move(decision);
}

json KillReports::NoteResult(const kill::KillResult& r) {
  json report;
  auto it = pending_.find(r.seq);
  if (it != pending_.end()) {
    report = it->second;
    // Keep the decision for the late report of a victim that missed its deadline.
    if (r.outcome != kill::Outcome::kMissedDeadline || r.after_deadline) pending_.erase(it);
    // The rss re-read right before the signal, which bytes_freed is measured against (the
    // victim may have grown since the scan that ranked it).
    if (r.victim.rss_bytes > 0) report["victim"]["rss_at_signal_bytes"] = r.victim.rss_bytes;
  } else {
    // The decision was not seen (the pending map overflowed): report what the result knows.
    report["seq"] = r.seq;
    report["victim"] = {{"pid", r.victim.id.pid},
                        {"starttime", r.victim.id.starttime},
                        {"comm", std::string(r.victim.comm.view())},
                        {"cgroup", std::string(r.victim.cgroup.view())},
                        {"rss_bytes", r.victim.rss_bytes}};
  }
  report["timeline"] = TimelineJson(r, deadline_ms_);
  const std::string line = DumpLine(report);
  if (file_) {
    if (auto w = file_->Append(line); !w) {
      if (write_errors_++ % 100 == 0) {
        log_.Log(LogLevel::kWarning, "kill_report", "seq={} path={} error={} count={}", r.seq,
                 Q{file_->path()}, Q{w.error().ToString()}, write_errors_);
      }
    }
  }
  std::string top;
  for (const auto& c : report.value("/ranking/top"_json_pointer, json::array())) {
    if (!top.empty()) top.push_back(',');
    top += fmt::format("{}:{}", c.value("pid", 0), c.value("/score/total_pages"_json_pointer, 0));
  }
  const json& t = report["timeline"];
  auto num = [&](const char* k) { return t[k].is_null() ? -1.0 : t[k].get<double>(); };
  log_.Log(r.outcome == kill::Outcome::kMissedDeadline ? LogLevel::kError : LogLevel::kNotice,
           "kill_report",
           "seq={} scope={} pid={} comm={} level={} outcome={} deadline={} freed_bytes={} "
           "decision_to_signal_ms={:.2f} signal_to_exit_ms={:.1f} signal_to_reaped_ms={:.1f} "
           "top_pid_score={}",
           r.seq, Q{report.value("scope", std::string("?"))}, r.victim.id.pid,
           Q{r.victim.comm.view()}, report.value("/trigger/level"_json_pointer, std::string("?")),
           kill::OutcomeName(r.outcome), t["deadline"].get<std::string>(), r.bytes_freed,
           num("decision_to_signal_ms"), num("signal_to_exit_ms"), num("signal_to_reaped_ms"),
           Q{top.empty() ? std::string("none") : top});
  recent_.push_back(line);
  while (recent_.size() > kRecentKills) recent_.pop_front();
  return report;
}

}  // namespace reaperd::report
