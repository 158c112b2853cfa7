// The task census on this machine's /proc (Scanner::RefreshInto, issue 13): a refresh of the
// system scope that probes the PIDs allocated since its census, instead of listing /proc,
// reads a process made since whole and leaves out the TIDs of threads made since (/proc/TID
// opens for a thread, though the listing never shows it), against the real kernel's
// /proc/loadavg. Other tasks come and go on this machine, so a refresh may list instead
// (the count moved, or too many PIDs went by): the test tries again until one probes.
#include <dirent.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>
#include <vector>

#include "scan/scanner.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd {
namespace {

constexpr int kThreads = 3;

void* Block(void* arg) {
  const auto tid = static_cast<pid_t>(::syscall(SYS_gettid));
  const int fd = *static_cast<int*>(arg);
  if (::write(fd, &tid, sizeof tid) != sizeof tid) ::_exit(3);
  for (;;) ::pause();
  return nullptr;
}

// A child that starts kThreads threads and waits to be killed; its PID and its threads' TIDs.
struct Family {
  pid_t pid = -1;
  std::array<pid_t, kThreads> tids{};
};

Family Spawn() {
  int pipefd[2];
  if (::pipe(pipefd) != 0) std::abort();
  Family f;
  f.pid = ::fork();
  if (f.pid == 0) {
    ::close(pipefd[0]);
    static int fd = pipefd[1];
    for (int i = 0; i < kThreads; ++i) {
      pthread_t t;
      if (::pthread_create(&t, nullptr, Block, &fd) != 0) ::_exit(2);
    }
    for (;;) ::pause();
  }
  ::close(pipefd[1]);
  for (auto& tid : f.tids) EXPECT_EQ(::read(pipefd[0], &tid, sizeof tid), sizeof tid);
  ::close(pipefd[0]);
  return f;
}

void Kill(const Family& f) {
  ::kill(f.pid, SIGKILL);
  ::waitpid(f.pid, nullptr, 0);
}

bool Holds(const policy::Snapshot& s, pid_t pid) {
  return std::any_of(s.processes.begin(), s.processes.end(),
                     [pid](const policy::Process& p) { return p.pid == pid; });
}

TEST(CensusLive, AProbingRefreshReadsANewProcessAndSkipsItsThreads) {
  std::array<char, 64> link{};
  const ssize_t n = ::readlink("/proc/self/ns/pid", link.data(), link.size() - 1);
  if (n <= 0 || std::string(link.data(), static_cast<std::size_t>(n)) != "pid:[4026531836]") {
    GTEST_SKIP() << "not in the initial PID namespace: the census is not used there";
  }
  auto view = sys::RealSystemView::Open();
  ASSERT_TRUE(view.has_value());
  sys::MonotonicClock clock;
  scan::Scanner scanner(*view, clock);
  const scan::ScanOptions options{
      .cmdline_max = 0, .read_exe = true, .read_kernel_oom_score = false};
  int listed = 0;
  for (int attempt = 0; attempt < 50; ++attempt) {
    policy::Snapshot standing;
    ASSERT_TRUE(scanner.ScanInto(policy::Scope{}, options, standing));
    ASSERT_GE(standing.census_pid, 0) << "no census read from /proc/loadavg";
    const Family f = Spawn();
    policy::Snapshot out;
    ASSERT_TRUE(scanner.RefreshInto(policy::Scope{}, options, {}, standing, out));
    if (out.probed < 0) {
      ++listed;
      Kill(f);
      ::usleep(20 * 1000);
      continue;
    }
    // The threads' TIDs were among the PIDs probed, and each opens as /proc/TID.
    for (pid_t tid : f.tids) {
      EXPECT_GT(tid, standing.census_pid);
      DIR* d = ::opendir(("/proc/" + std::to_string(tid)).c_str());
      EXPECT_NE(d, nullptr) << tid;
      if (d != nullptr) ::closedir(d);
    }
    EXPECT_TRUE(Holds(out, f.pid)) << "the new process was not read";
    for (pid_t tid : f.tids) EXPECT_FALSE(Holds(out, tid)) << "a thread read as a process: " << tid;
    EXPECT_EQ(out.vanished, 0);
    EXPECT_TRUE(std::is_sorted(
        out.processes.begin(), out.processes.end(),
        [](const policy::Process& a, const policy::Process& b) { return a.pid < b.pid; }));
    std::printf("census: probed %d PIDs after %d refreshes that listed /proc\n", out.probed,
                listed);
    Kill(f);
    return;
  }
  GTEST_SKIP() << "every refresh listed /proc (tasks came and went meanwhile): " << listed;
}

}  // namespace
}  // namespace reaperd
