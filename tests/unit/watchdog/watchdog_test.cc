// The watchdog against the real kernel: the parent of a vfork child that is kept stopped
// sleeps in D (kernel_clone on 6.18); the watchdog reports it once it has been in D for
// d_state_ms, with its wchan, and a victim past its deadline is reported at once.
#include "watchdog/watchdog.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace reaperd::watchdog {
namespace {

// A forked process that vforks a child which stops itself: the forked process then waits in
// D until the child execs or exits. The destructor kills both.
class VforkStall {
 public:
  VforkStall() {
    parent_ = ::fork();
    if (parent_ == 0) {
      pid_t c = ::vfork();
      if (c == 0) {
        ::raise(SIGSTOP);
        ::_exit(0);
      }
      ::_exit(0);
    }
  }
  ~VforkStall() {
    // The stopped vfork child is the parent's child: find it and kill it, then the parent.
    std::ifstream kids("/proc/" + std::to_string(parent_) + "/task/" + std::to_string(parent_) +
                       "/children");
    pid_t kid = 0;
    if (kids >> kid && kid > 0) ::kill(kid, SIGKILL);
    ::kill(parent_, SIGKILL);
    int st;
    ::waitpid(parent_, &st, 0);
  }
  pid_t pid() const { return parent_; }

 private:
  pid_t parent_ = 0;
};

char State(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  std::getline(f, s);
  auto p = s.rfind(')');
  return p == std::string::npos || p + 2 >= s.size() ? '?' : s[p + 2];
}

struct Fixture {
  Fixture() {
    auto v = sys::RealSystemView::Open();
    EXPECT_TRUE(v.has_value());
    view.emplace(std::move(*v));
    char tmpl[] = "/tmp/reaperd-wd-XXXXXX";
    dir = ::mkdtemp(tmpl);
    cfg.d_state_ms = 300;
    cfg.report_interval_ms = 60000;
    cfg.psi_full_percent = 0;  // off: the host's own pressure is not this test's business
    cfg.report_path = dir + "/stalls.jsonl";
  }
  ~Fixture() {
    ::unlink(cfg.report_path.c_str());
    ::rmdir(dir.c_str());
  }
  std::string Jsonl() {
    std::ifstream f(cfg.report_path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  std::optional<sys::RealSystemView> view;
  sys::MonotonicClock clock;
  RecordingSink sink;
  Logger log{sink, LogLevel::kDebug};
  std::string dir;
  config::WatchdogConfig cfg;
};

TEST(WatchdogTest, ReportsTheParentOfAStoppedVforkChildInD) {
  Fixture f;
  VforkStall stall;
  for (int i = 0; i < 100 && State(stall.pid()) != 'D'; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(State(stall.pid()), 'D') << "this kernel does not show a vfork parent in D";
  f.cfg.report_interval_ms = 0;  // a D task elsewhere on the host must not rate-limit ours
  Watchdog wd(f.cfg, *f.view, f.clock, f.log);
  // First look: in D, but not yet for d_state_ms.
  auto first = wd.Check();
  bool listed_early = false;
  if (first) {
    for (const auto& t : first->tasks) listed_early = listed_early || t.pid == stall.pid();
  }
  EXPECT_FALSE(listed_early);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto rep = wd.Check();
  ASSERT_TRUE(rep.has_value());
  const StalledTask* mine = nullptr;
  for (const auto& t : rep->tasks) {
    if (t.pid == stall.pid()) mine = &t;
  }
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(mine->state, 'D');
  EXPECT_GE(mine->seconds, 0.3);
  EXPECT_EQ(mine->wchan, "kernel_clone");
  EXPECT_FALSE(mine->victim);
  EXPECT_GE(rep->stalled, 1);
  EXPECT_TRUE(f.sink.Contains("stall stalled="));
  EXPECT_TRUE(f.sink.Contains(fmt::format("stall_task pid={} ", stall.pid())));
  const std::string jsonl = f.Jsonl();
  EXPECT_NE(jsonl.find("\"type\":\"summary\""), std::string::npos) << jsonl;
  EXPECT_NE(jsonl.find(fmt::format("\"pid\":{}", stall.pid())), std::string::npos) << jsonl;
  EXPECT_NE(jsonl.find("\"wchan\":\"kernel_clone\""), std::string::npos) << jsonl;
}

TEST(WatchdogTest, AVictimPastItsDeadlineIsReportedAtOnce) {
  Fixture f;
  f.cfg.d_state_ms = 600000;  // only the victim matters here
  Watchdog wd(f.cfg, *f.view, f.clock, f.log);
  // A SIGSTOPped process stands in for the victim whose memory did not come back.
  pid_t victim = ::fork();
  if (victim == 0) {
    ::raise(SIGSTOP);
    ::_exit(0);
  }
  // Wait until it has really stopped: before that, its state may still read R or S.
  int stopped = 0;
  ASSERT_EQ(::waitpid(victim, &stopped, WUNTRACED), victim);
  ASSERT_TRUE(WIFSTOPPED(stopped));
  wd.NoteKill(victim);
  EXPECT_FALSE(wd.Check().has_value());
  wd.NoteMissedDeadline(victim, "stuck", f.clock.Now() - 5 * sys::kSecond);
  auto rep = wd.Check();
  ::kill(victim, SIGKILL);
  int st;
  ::waitpid(victim, &st, 0);
  ASSERT_TRUE(rep.has_value());
  EXPECT_EQ(rep->victims, 1);
  EXPECT_EQ(rep->kills, 1u);
  EXPECT_EQ(rep->dying, 1);
  ASSERT_FALSE(rep->tasks.empty());
  EXPECT_EQ(rep->tasks[0].pid, victim);
  EXPECT_TRUE(rep->tasks[0].victim);
  EXPECT_EQ(rep->tasks[0].state, 'T');
  EXPECT_GE(rep->tasks[0].seconds, 5.0);
  EXPECT_NE(std::find(rep->reasons.begin(), rep->reasons.end(), "victim_deadline"),
            rep->reasons.end());
  // Once reported, the same miss is not reported again before the interval.
  EXPECT_FALSE(wd.Check().has_value());
  wd.NoteVictimDone(victim);
}

TEST(WatchdogTest, LateLoopIsAStall) {
  Fixture f;
  f.cfg.loop_late_ms = 100;
  f.cfg.d_state_ms = 600000;
  sys::FakeClock clock;
  Watchdog wd(f.cfg, *f.view, clock, f.log);
  wd.Beat();
  EXPECT_FALSE(wd.Check().has_value());
  clock.Advance(200 * sys::kMilli);
  auto rep = wd.Check();
  ASSERT_TRUE(rep.has_value());
  EXPECT_NEAR(rep->loop_late_seconds, 0.2, 1e-9);
  EXPECT_NE(std::find(rep->reasons.begin(), rep->reasons.end(), "loop_late"), rep->reasons.end());
}

TEST(WatchdogTest, StartCreatesTheReportDirectory) {
  Fixture f;
  const std::string sub = f.dir + "/reports";
  f.cfg.report_path = sub + "/stalls.jsonl";
  {
    Watchdog wd(f.cfg, *f.view, f.clock, f.log);
    ASSERT_TRUE(wd.Start().has_value());
    wd.Stop();
  }
  struct stat st {};
  ASSERT_EQ(::stat(sub.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_TRUE(f.sink.Contains("report_dir=\"" + sub + "\" created=1"));
  ::rmdir(sub.c_str());
}

TEST(WatchdogTest, StartSaysWhenTheReportDirectoryCannotBeMade) {
  Fixture f;
  // A regular file where a directory would have to be.
  const std::string file = f.dir + "/file";
  std::ofstream(file) << "x";
  f.cfg.report_path = file + "/sub/stalls.jsonl";
  {
    Watchdog wd(f.cfg, *f.view, f.clock, f.log);
    ASSERT_TRUE(wd.Start().has_value());
    wd.Stop();
  }
  EXPECT_TRUE(f.sink.Contains("report_dir=\"" + file + "/sub\" error="));
  EXPECT_TRUE(f.sink.Contains("stall reports go to the log only"));
  ::unlink(file.c_str());
}

TEST(WatchdogTest, TaskLineEscapesTheComm) {
  StalledTask t;
  t.pid = 7;
  t.comm = "a\nb";
  t.state = 'D';
  t.stack = "[<0>] x\n[<0>] y";
  const std::string s = TaskFields(t);
  EXPECT_EQ(s.find('\n'), std::string::npos) << s;
  EXPECT_NE(s.find("comm=\"a\\nb\""), std::string::npos) << s;
}

}  // namespace
}  // namespace reaperd::watchdog
