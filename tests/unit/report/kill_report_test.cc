// Kill reports: the decision half (trigger, top of the ranking with breakdowns, victim), the
// timeline, the join by seq (also across a missed deadline), the summary log line, the
// bounded recent list, and the rotation of the JSON-lines file.
#include "report/kill_report.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "report/recent_kills.h"

namespace reaperd::report {
namespace {

using nlohmann::json;

struct Fixture {
  policy::Scope scope{policy::ScopeKind::kCgroup, "/test"};
  pressure::Decision decision;
  pressure::PressureSample sample;
  policy::Snapshot snapshot;
  policy::Ranking ranking;
  std::vector<pid_t> members = {100, 101};
  config::RankConfig rank;

  Fixture() {
    decision.level = pressure::Level::kKill;
    decision.reasons = pressure::kReasonAvailableLow | pressure::kReasonTimeToExhaustion;
    decision.available_percent = 3.5;
    decision.slope_bytes_per_s = -400.0 * 1024 * 1024;
    decision.time_to_exhaustion_ms = 120;
    sample.available_bytes = 9 << 20;
    sample.total_bytes = 256 << 20;
    snapshot.scope = scope;
    snapshot.total_pages = 65536;
    for (int i = 0; i < 7; ++i) {
      policy::Process p;
      p.pid = 100 + i;
      p.comm.Assign("hog" + std::to_string(i));
      p.rss_anon = static_cast<std::uint64_t>(7 - i) << 20;
      p.cgroup = "/test";
      snapshot.processes.push_back(p);
      policy::Score s;
      s.index = static_cast<std::size_t>(i);
      s.rss = static_cast<std::int64_t>(p.rss_anon / 4096);
      s.total = s.rss;
      if (i == 1) s.rules.push_back({0, 300, 19660});
      ranking.candidates.push_back(s);
    }
    config::Rule rule;
    rule.name = "browser tabs";
    rank.rules.push_back(rule);
  }
  DecisionView View(std::uint64_t seq) {
    return {seq, scope, decision, sample, snapshot, ranking, 0, members, 5'000'000, false};
  }
};

kill::KillResult Result(std::uint64_t seq, kill::Outcome o) {
  kill::KillResult r;
  r.seq = seq;
  r.victim.id.pid = 100;
  r.victim.comm.Assign("hog0");
  r.scope.kind = policy::ScopeKind::kCgroup;
  r.scope.cgroup.Assign("/test");
  r.signal = SIGKILL;
  r.t_decision = 5'000'000;
  r.t_signal = 5'400'000;
  r.t_exit = 25'400'000;
  r.t_reaped = 15'400'000;
  r.bytes_freed = 7 << 20;
  r.freed_by = kill::FreedBy::kMrelease;
  r.outcome = o;
  return r;
}

TEST(KillReportTest, DecisionHoldsTriggerTopFiveAndVictim) {
  Fixture fx;
  json j = DecisionJson(fx.View(9), fx.rank, 1700000000000);
  EXPECT_EQ(j["seq"], 9);
  EXPECT_EQ(j["scope"], "cgroup:/test");
  EXPECT_EQ(j["trigger"]["level"], "kill");
  EXPECT_EQ(j["trigger"]["reasons"], json({"available_low", "time_to_exhaustion"}));
  EXPECT_EQ(j["trigger"]["available_bytes"], 9 << 20);
  EXPECT_EQ(j["trigger"]["time_to_exhaustion_ms"], 120);
  ASSERT_EQ(j["ranking"]["top"].size(), 5u);  // of 7 candidates
  EXPECT_EQ(j["ranking"]["candidates"], 7);
  EXPECT_EQ(j["ranking"]["top"][0]["chosen"], true);
  EXPECT_EQ(j["ranking"]["top"][1]["chosen"], false);
  EXPECT_EQ(j["ranking"]["top"][1]["score"]["rules"][0]["name"], "browser tabs");
  EXPECT_EQ(j["ranking"]["top"][1]["score"]["rules"][0]["weight"], 300);
  EXPECT_EQ(j["ranking"]["top"][0]["score"]["rss_pages"], (7 << 20) / 4096);
  EXPECT_EQ(j["victim"]["pid"], 100);
  EXPECT_EQ(j["victim"]["comm"], "hog0");
  EXPECT_EQ(j["victim"]["members"], json({100, 101}));
}

// Issue 15: the report shows the badness and the growth term apart, and the application.
TEST(KillReportTest, ScoreShowsBadnessGrowthAndTheApplication) {
  Fixture fx;
  policy::Score& s = fx.ranking.candidates[0];
  s.growth = 300;
  s.app_growth = 900;
  s.growth_points = 900;
  s.total += 900;
  s.app_members = 3;
  s.app_root = 100;
  s.app_hash = 1;
  json j = DecisionJson(fx.View(9), fx.rank, 1700000000000);
  const json& top = j["ranking"]["top"][0];
  EXPECT_EQ(top["score"]["badness_pages"], (7 << 20) / 4096);
  EXPECT_EQ(top["score"]["growth_pages"], 300);
  EXPECT_EQ(top["score"]["app_growth_pages"], 900);
  EXPECT_EQ(top["score"]["growth_points"], 900);
  EXPECT_EQ(top["score"]["total_pages"], (7 << 20) / 4096 + 900);
  EXPECT_EQ(top["application"]["kind"], "tree");
  EXPECT_EQ(top["application"]["root_pid"], 100);
  EXPECT_EQ(top["application"]["members"], 3);
  EXPECT_EQ(j["ranking"]["top"][1]["application"]["kind"], "none");  // not grouped
}

// Issue 16: a victim in a Kubernetes pod's container is named by its container and pod.
TEST(KillReportTest, VictimInAContainerNamesTheContainerAndThePod) {
  Fixture fx;
  EXPECT_FALSE(DecisionJson(fx.View(1), fx.rank, 0)["victim"].contains("container"));
  fx.snapshot.processes[0].cgroup =
      "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podab_cd.slice/"
      "cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope";
  json c = DecisionJson(fx.View(2), fx.rank, 0)["victim"]["container"];
  EXPECT_EQ(c["engine"], "containerd");
  EXPECT_EQ(c["label"], "containerd:0123456789ab");
  EXPECT_EQ(c["pod_uid"], "ab_cd");
  EXPECT_EQ(c["qos"], "burstable");
}

TEST(KillReportTest, TimelineInMillisecondsFromDecision) {
  json t = TimelineJson(Result(1, kill::Outcome::kReaped), 5000);
  EXPECT_DOUBLE_EQ(t["decision_to_signal_ms"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(t["signal_to_reaped_ms"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(t["signal_to_exit_ms"].get<double>(), 20.0);
  EXPECT_EQ(t["signal"], "KILL");
  EXPECT_EQ(t["deadline"], "met");
  EXPECT_EQ(t["freed_by"], "process_mrelease");
  kill::KillResult stuck = Result(2, kill::Outcome::kMissedDeadline);
  stuck.t_exit = 0;
  stuck.t_reaped = 0;
  json s = TimelineJson(stuck, 5000);
  EXPECT_TRUE(s["signal_to_exit_ms"].is_null());
  EXPECT_EQ(s["reaped"], false);
  EXPECT_EQ(s["deadline"], "missed");
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(KillReportTest, JoinsBySeqWritesLinesAndLogsASummary) {
  char tmpl[] = "/tmp/reaperd-kr-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  config::ReportConfig cfg;
  cfg.kill_report_path = dir + "/kills.jsonl";
  RecordingSink sink;
  Logger log(sink, LogLevel::kDebug);
  KillReports reports(cfg, 5000, log);
  Fixture fx;
  reports.NoteDecision(DecisionJson(fx.View(1), fx.rank, 0));
  reports.NoteDecision(DecisionJson(fx.View(2), fx.rank, 0));
  json second = reports.NoteResult(Result(2, kill::Outcome::kMissedDeadline));
  EXPECT_EQ(second["trigger"]["level"], "kill") << "joined to its decision";
  kill::KillResult late_r = Result(2, kill::Outcome::kExited);
  late_r.after_deadline = true;
  json again = reports.NoteResult(late_r);
  EXPECT_EQ(again["trigger"]["level"], "kill") << "the decision is kept for the late report";
  EXPECT_EQ(again["timeline"]["after_deadline"], true);
  reports.NoteResult(Result(1, kill::Outcome::kReaped));
  const std::string text = Slurp(cfg.kill_report_path);
  std::istringstream in(text);
  std::string line;
  std::vector<json> lines;
  while (std::getline(in, line)) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 3u) << text;
  EXPECT_EQ(lines[2]["seq"], 1);
  EXPECT_EQ(lines[2]["timeline"]["outcome"], "reaped");
  EXPECT_TRUE(sink.Contains("kill_report seq=1 scope=\"cgroup:/test\" pid=100"));
  EXPECT_TRUE(sink.Contains("outcome=missed_deadline deadline=missed"));
  EXPECT_EQ(reports.recent().size(), 3u);
  // Kept as the lines the file got (issue 13: as trees, about 10 kB of heap each), and
  // parsed back whole for the status.
  std::istringstream again_in(text);
  for (std::size_t i = 0; std::getline(again_in, line); ++i) {
    EXPECT_EQ(reports.recent()[i], line);
  }
  const json status = RecentKillsJson(reports.recent());
  ASSERT_EQ(status.size(), 3u);
  EXPECT_EQ(status[2], lines[2]);
  for (int i = 0; i < 20; ++i) reports.NoteResult(Result(100 + i, kill::Outcome::kReaped));
  EXPECT_EQ(reports.recent().size(), kRecentKills);
  ::system(("rm -rf " + dir).c_str());
}

// bytes_freed is measured against the rss re-read right before the signal, not the scan's:
// a victim that grew between the two must not look as if it freed more than it held.
TEST(KillReportTest, VictimCarriesTheRssAtSignalThatBytesFreedIsMeasuredAgainst) {
  config::ReportConfig cfg;
  RecordingSink sink;
  Logger log(sink, LogLevel::kDebug);
  KillReports reports(cfg, 5000, log);
  Fixture fx;
  reports.NoteDecision(DecisionJson(fx.View(1), fx.rank, 0));
  kill::KillResult r = Result(1, kill::Outcome::kExited);
  r.victim.rss_bytes = (7 << 20) + (512 << 10);  // grew 512 KiB after the scan
  r.bytes_freed = r.victim.rss_bytes;
  json report = reports.NoteResult(r);
  EXPECT_EQ(report["victim"]["rss_bytes"], 7 << 20) << "the scan's figure, as ranked";
  ASSERT_TRUE(report["victim"].contains("rss_at_signal_bytes")) << report.dump();
  EXPECT_EQ(report["victim"]["rss_at_signal_bytes"], r.victim.rss_bytes);
  EXPECT_LE(report["timeline"]["bytes_freed"].get<std::uint64_t>(),
            report["victim"]["rss_at_signal_bytes"].get<std::uint64_t>());
}

TEST(KillReportTest, FileRotatesAndKeepsN) {
  char tmpl[] = "/tmp/reaperd-rot-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/k.jsonl";
  RotatingFile f(path, 100, 2);
  const std::string line(39, 'x');  // 40 bytes with the newline: two fit in 100
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(f.Append(line).has_value());
  EXPECT_EQ(Slurp(path).size(), 40u);  // the 9th line began a new file
  EXPECT_EQ(Slurp(path + ".1").size(), 80u);
  EXPECT_EQ(Slurp(path + ".2").size(), 80u);
  EXPECT_NE(::access((path + ".3").c_str(), F_OK), 0) << "keep = 2";
  ::system((std::string("rm -rf ") + tmpl).c_str());
}

}  // namespace
}  // namespace reaperd::report
