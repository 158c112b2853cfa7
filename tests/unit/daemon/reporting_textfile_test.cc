// The metrics textfile on a fresh start: the default path is used only where node_exporter's
// textfile directory exists (a machine without node_exporter gets no warning at start or at
// each rewrite), a path the user chose is written or warned about once, and one line at start
// says where the metrics go.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "daemon/reporting.h"

namespace reaperd::daemon {
namespace {

class RecordingSink final : public LogSink {
 public:
  void Write(LogLevel level, std::string_view event, std::string_view line) noexcept override {
    lines.push_back({level, std::string(event), std::string(line)});
  }
  struct Line {
    LogLevel level;
    std::string event;
    std::string text;
  };
  std::vector<Line> lines;
  int Warnings() const {
    int n = 0;
    for (const auto& l : lines) n += l.level >= LogLevel::kWarning ? 1 : 0;
    return n;
  }
  int Containing(const std::string& s) const {
    int n = 0;
    for (const auto& l : lines) n += l.text.find(s) != std::string::npos ? 1 : 0;
    return n;
  }
};

config::Config QuietConfig() {
  config::Config cfg;
  cfg.report.status_socket.clear();
  cfg.report.metrics_listen.clear();
  cfg.report.kill_report_path.clear();
  return cfg;
}

TEST(ReportingTextfile, DefaultPathWithoutNodeExporterIsOffWithoutAWarning) {
  config::Config cfg = QuietConfig();  // metrics_textfile_path keeps its default
  const std::string dir = "/var/lib/node_exporter/textfile_collector";
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) GTEST_SKIP() << dir << " exists on this machine";
  RecordingSink sink;
  Logger log(sink, LogLevel::kDebug);
  {
    Reporting r(cfg, log, /*dry_run=*/true);
    r.WriteTextfile();
    r.WriteTextfile();
  }
  EXPECT_EQ(sink.Warnings(), 0);
  EXPECT_EQ(sink.Containing("metrics_textfile=off"), 1);
}

TEST(ReportingTextfile, ChosenPathInAMissingDirectoryWarnsOnceAtStart) {
  config::Config cfg = QuietConfig();
  cfg.report.metrics_textfile_path = "/nonexistent-reaperd-test/dir/reaperd.prom";
  RecordingSink sink;
  Logger log(sink, LogLevel::kDebug);
  {
    Reporting r(cfg, log, /*dry_run=*/true);
    EXPECT_EQ(sink.Warnings(), 1);  // at start, before the first rewrite
    r.WriteTextfile();
  }
  EXPECT_EQ(sink.Warnings(), 1);
  bool named = false;
  for (const auto& l : sink.lines) {
    if (l.level >= LogLevel::kWarning)
      named = l.text.find("/nonexistent-reaperd-test/dir") != std::string::npos;
  }
  EXPECT_TRUE(named);
}

TEST(ReportingTextfile, ChosenPathIsWrittenAndSaidOnceAtStart) {
  char tmpl[] = "/tmp/reaperd-textfile-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/reaperd.prom";
  config::Config cfg = QuietConfig();
  cfg.report.metrics_textfile_path = path;
  RecordingSink sink;
  Logger log(sink, LogLevel::kDebug);
  {
    Reporting r(cfg, log, /*dry_run=*/true);
    r.WriteTextfile();
  }
  EXPECT_EQ(sink.Warnings(), 0);
  EXPECT_EQ(sink.Containing("metrics_textfile=\"" + path + "\""), 1);
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  EXPECT_NE(first.find("reaperd"), std::string::npos) << first;
  ::unlink(path.c_str());
  ::rmdir(tmpl);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The textfile is rewritten by the loop's ticks, not by a timer of its own (an idle daemon
// would wake for it): at the first sample, then at the first sample metrics_interval_ms after
// the last write.
TEST(ReportingTextfile, RewrittenOnTheTickOnceTheIntervalPassed) {
  char tmpl[] = "/tmp/reaperd-textfile-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/reaperd.prom";
  config::Config cfg = QuietConfig();
  cfg.report.metrics_textfile_path = path;
  RecordingSink sink;
  Logger log(sink, LogLevel::kDebug);
  {
    Reporting r(cfg, log, /*dry_run=*/true);
    const std::int64_t ms = 1'000'000;
    const std::int64_t interval = cfg.report.metrics_interval_ms * ms;
    auto at = [&](std::int64_t t_ns, std::uint64_t available) {
      pressure::PressureSample s;
      s.t_ns = t_ns;
      s.total_bytes = 1000;
      s.available_bytes = available;
      r.OnSample(policy::Scope{}, s, pressure::Decision{});
    };
    at(1000 * ms, 111);
    EXPECT_NE(ReadAll(path).find("reaperd_available_bytes{scope=\"system\"} 111"),
              std::string::npos);
    at(1000 * ms + interval - ms, 222);  // too soon: not rewritten
    EXPECT_NE(ReadAll(path).find("} 111"), std::string::npos);
    at(1000 * ms + interval, 333);
    EXPECT_NE(ReadAll(path).find("reaperd_available_bytes{scope=\"system\"} 333"),
              std::string::npos);
  }
  ::unlink(path.c_str());
  ::rmdir(tmpl);
}

}  // namespace
}  // namespace reaperd::daemon
