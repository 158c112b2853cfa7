// Container and pod labels in Reporting (issue 16): a scope in a pod's cgroup carries its
// container and, where the kubelet's pod directory names it, the pod's namespace and name in
// its gauges and its status entry; a kill carries its victim's in the kill counters and the
// kill report, with the distinct label sets of the kill counters capped.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "daemon/reporting.h"

namespace reaperd::daemon {
namespace {

class NullSink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view, std::string_view) noexcept override {}
};

const std::string kUid = "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901";
const std::string kId = "3f1c9a6e0b2d4f8a9c7e5d3b1a0f2e4d6c8b0a9f7e5d3c1b2a4f6e8d0c2b4a6e";

std::string PodCgroup(const std::string& uid_underscored, const std::string& id) {
  return "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_underscored +
         ".slice/cri-containerd-" + id + ".scope";
}

std::string Underscored(std::string uid) {
  for (char& c : uid) c = c == '-' ? '_' : c;
  return uid;
}

class ReportingContainers : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/reaperd_rc_XXXXXX";
    pods_ = ::mkdtemp(tmpl);
    ASSERT_EQ(::mkdir((pods_ + "/shop_cart-5d8f7_" + kUid).c_str(), 0755), 0);
    cfg_.report.status_socket.clear();
    cfg_.report.metrics_textfile_path.clear();
    cfg_.report.metrics_listen.clear();
    cfg_.report.kill_report_path.clear();
    cfg_.report.pod_logs_dir = pods_;
  }
  void TearDown() override { (void)std::system(("rm -rf " + pods_).c_str()); }

  // A kill decision for a victim in cgroup, then its result (reaped).
  void Kill(Reporting& r, std::uint64_t seq, const std::string& cgroup) {
    policy::Scope scope;
    pressure::Decision d;
    pressure::PressureSample s;
    policy::Snapshot snap;
    snap.processes.resize(1);
    snap.processes[0].pid = 4242;
    snap.processes[0].cgroup = cgroup;
    policy::Ranking ranking;
    ranking.candidates.resize(1);
    ranking.candidates[0].index = 0;
    KillDecision k;
    k.seq = seq;
    k.scope = &scope;
    k.decision = &d;
    k.sample = &s;
    k.snapshot = &snap;
    k.ranking = &ranking;
    k.t_decision_ns = 1'000'000'000;
    r.OnKillDecision(k);
    kill::KillResult res;
    res.seq = seq;
    res.outcome = kill::Outcome::kReaped;
    r.OnKillResult(res);
  }

  std::string pods_;
  config::Config cfg_;
  NullSink sink_;
  Logger log_{sink_, LogLevel::kDebug};
};

TEST_F(ReportingContainers, APodScopesGaugesAndStatusNameContainerAndPod) {
  Reporting r(cfg_, log_, /*dry_run=*/true);
  policy::Scope scope;
  scope.kind = policy::ScopeKind::kCgroup;
  scope.cgroup = PodCgroup(Underscored(kUid), kId);
  pressure::PressureSample sample;
  sample.total_bytes = 4000;
  sample.t_ns = 1'000'000'000;
  r.OnSample(scope, sample, pressure::Decision{});
  const report::Labels l = {{"scope", scope.Name()},
                            {"container", "containerd:3f1c9a6e0b2d"},
                            {"pod_namespace", "shop"},
                            {"pod", "cart-5d8f7"}};
  r.FlushGauges();
  EXPECT_EQ(r.metrics().Value("reaperd_total_bytes", l), 4000) << r.MetricsText();
  const std::string status = r.StatusJson();
  EXPECT_NE(status.find("\"pod_name\":\"cart-5d8f7\""), std::string::npos) << status;
  EXPECT_NE(status.find("\"pod_namespace\":\"shop\""), std::string::npos) << status;
  r.RetainScopes({"system"});
  EXPECT_EQ(r.MetricsText().find("reaperd_total_bytes{"), std::string::npos) << r.MetricsText();
}

TEST_F(ReportingContainers, APodNamedAfterItsFirstSampleReplacesTheUnnamedSeries) {
  const std::string late = "0a0b0c0d-0000-1111-2222-333344445555";
  Reporting r(cfg_, log_, /*dry_run=*/true);
  policy::Scope scope;
  scope.kind = policy::ScopeKind::kCgroup;
  scope.cgroup = PodCgroup(Underscored(late), kId);
  pressure::PressureSample sample;
  sample.total_bytes = 4000;
  sample.t_ns = 1'000'000'000;
  r.OnSample(scope, sample, pressure::Decision{});
  ASSERT_EQ(::mkdir((pods_ + "/shop_late_" + late).c_str(), 0755), 0);
  sample.t_ns += 2'000'000'000;  // past the listing's refresh interval
  r.OnSample(scope, sample, pressure::Decision{});
  const std::string text = r.MetricsText();
  EXPECT_NE(text.find("pod=\"late\""), std::string::npos) << text;
  std::size_t series = 0;
  for (auto at = text.find("reaperd_total_bytes{"); at != std::string::npos;
       at = text.find("reaperd_total_bytes{", at + 1)) {
    ++series;
  }
  EXPECT_EQ(series, 1u) << text;
}

TEST_F(ReportingContainers, AKillCountsUnderItsVictimsContainerAndPod) {
  Reporting r(cfg_, log_, /*dry_run=*/true);
  Kill(r, 1, PodCgroup(Underscored(kUid), kId));
  EXPECT_EQ(r.metrics().Value("reaperd_kills_total", {{"scope", "system"},
                                                      {"outcome", "reaped"},
                                                      {"container", "containerd:3f1c9a6e0b2d"},
                                                      {"pod_namespace", "shop"},
                                                      {"pod", "cart-5d8f7"}}),
            1)
      << r.MetricsText();
  const std::string status = r.StatusJson();
  EXPECT_NE(status.find("\"pod_name\":\"cart-5d8f7\""), std::string::npos) << status;
  Kill(r, 2, "/user.slice/session-1.scope");  // no container: the scope's labels alone
  EXPECT_EQ(r.metrics().Value("reaperd_kills_total", {{"scope", "system"}, {"outcome", "reaped"}}),
            1)
      << r.MetricsText();
}

TEST_F(ReportingContainers, KillLabelSetsPastTheCapFoldIntoOther) {
  Reporting r(cfg_, log_, /*dry_run=*/true);
  const std::size_t n = Reporting::kKillLabelSets + 3;
  for (std::size_t i = 0; i < n; ++i) {
    std::string id = kId;
    id.replace(0, 4, fmt::format("{:04x}", i));
    Kill(r, i + 1, "/system.slice/docker-" + id + ".scope");
  }
  EXPECT_EQ(r.metrics().Value("reaperd_kills_total",
                              {{"scope", "system"}, {"outcome", "reaped"}, {"container", "other"}}),
            3)
      << r.MetricsText();
  const std::string text = r.MetricsText();
  std::size_t series = 0;
  for (auto at = text.find("reaperd_kills_total{"); at != std::string::npos;
       at = text.find("reaperd_kills_total{", at + 1)) {
    ++series;
  }
  EXPECT_EQ(series, Reporting::kKillLabelSets + 1) << text;
}

}  // namespace
}  // namespace reaperd::daemon
