// The check for other OOM daemons beside reaperd: said once per process, and, when a scope
// reaches warn, walked at most once per CoexistCheck::kPeriodNs (a fake /proc, read through a
// FaultySystemView whose rule on "<pids>" counts every listing after the first).
#include "daemon/coexist.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "sys/faulty_system_view.h"

namespace reaperd::daemon {
namespace {

class Sink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view, std::string_view line) noexcept override {
    lines.emplace_back(line);
  }
  std::vector<std::string> lines;
};

struct FakeProc {
  std::string root;
  FakeProc() {
    char tmpl[] = "/tmp/reaperd-coexist-XXXXXX";
    root = ::mkdtemp(tmpl);
    Task(100, "bash");
    Task(200, "earlyoom");
  }
  ~FakeProc() { std::filesystem::remove_all(root); }
  void Task(pid_t pid, const std::string& comm) {
    std::filesystem::create_directories(root + "/" + std::to_string(pid));
    std::ofstream(root + "/" + std::to_string(pid) + "/stat")
        << pid << " (" << comm << ") S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 " << 5000 + pid
        << " 1000000 100\n";
  }
};

TEST(CoexistCheck, AFlappingScopeWalksProcOncePerPeriod) {
  FakeProc proc;
  auto base = sys::RealSystemView::Open(proc.root, proc.root);
  ASSERT_TRUE(base);
  sys::FaultySystemView view(*base);
  Sink sink;
  Logger log(sink, LogLevel::kDebug);
  CoexistCheck check;
  sys::Nanos now = 1000 * sys::kSecond;
  EXPECT_EQ(check.CheckIfDue(view, log, now), 1);  // the first walk finds earlyoom
  ASSERT_EQ(sink.lines.size(), 1u);
  EXPECT_NE(sink.lines[0].find("other=\"earlyoom\""), std::string::npos) << sink.lines[0];
  view.AddRule({"<pids>", sys::Fault::kEio, 1, 0});  // every later listing fails, counted
  for (int i = 0; i < 20; ++i) {                     // warn, kill, warn, ... every 100 ms
    now += 100 * sys::kMilli;
    EXPECT_EQ(check.CheckIfDue(view, log, now), -1);
  }
  EXPECT_EQ(view.injected_total(), 0);
  now += CoexistCheck::kPeriodNs;
  (void)check.CheckIfDue(view, log, now);
  EXPECT_EQ(view.injected_total(), 1);
  EXPECT_EQ(sink.lines.size(), 1u) << "a daemon already reported is not reported again";
}

}  // namespace
}  // namespace reaperd::daemon
