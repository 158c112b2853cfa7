#include "integration/support/holder.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <fstream>

#include "integration/support/cgroup_sandbox.h"

namespace reaperd::itest {

namespace {

constexpr std::size_t kMiB = 1 << 20;

std::int64_t MonoNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The child's life: only raw syscalls (it was forked from a threaded process). The trim
// signal is blocked from the start, so an early one waits instead of killing it.
[[noreturn]] void HolderMain(std::uint64_t mib, const char* comm, int sig, int go, int ready,
                             int report) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  ::prctl(PR_SET_NAME, comm, 0, 0, 0);
  char c;
  if (::read(go, &c, 1) != 1) ::_exit(11);
  const std::size_t bytes = mib * kMiB;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) ::_exit(12);
  std::memset(p, 0x5a, bytes);
  if (::write(ready, &c, 1) != 1) ::_exit(13);
  siginfo_t si{};
  while (::sigwaitinfo(&set, &si) < 0) continue;  // EINTR
  TrimReport r;
  r.signalled_ns = MonoNs();
  ::munmap(p, bytes);
  r.freed_ns = MonoNs();
  r.bytes = bytes;
  if (::write(report, &r, sizeof r) != sizeof r) ::_exit(14);
  for (;;) ::syscall(SYS_pause);  // later trim signals stay pending: nothing more to free
}

}  // namespace

Holder::Holder(const CgroupSandbox& sandbox, std::uint64_t mib, const std::string& comm,
               int trim_signal) {
  std::array<int, 2> go{}, ready{}, report{};
  if (::pipe2(go.data(), O_CLOEXEC) != 0) return;
  if (::pipe2(ready.data(), O_CLOEXEC) != 0 || ::pipe2(report.data(), O_CLOEXEC) != 0) {
    ::close(go[0]);
    ::close(go[1]);
    return;
  }
  const pid_t pid = ::fork();
  if (pid == 0) HolderMain(mib, comm.c_str(), trim_signal, go[0], ready[1], report[1]);
  ::close(go[0]);
  ::close(ready[1]);
  ::close(report[1]);
  pid_ = pid;
  report_fd_ = report[0];
  bool ok = pid > 0 && sandbox.AddProcess(pid);
  char c = 'g';
  ok = ok && ::write(go[1], &c, 1) == 1;
  ok = ok && ::read(ready[0], &c, 1) == 1;
  ::close(go[1]);
  ::close(ready[0]);
  if (!ok && pid > 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid_ = -1;
  }
}

Holder::~Holder() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);  // our own child, not yet reaped: its PID cannot be reused
    ::waitpid(pid_, nullptr, 0);
  }
  if (report_fd_ >= 0) ::close(report_fd_);
}

bool Holder::Alive() const {
  siginfo_t si{};
  if (pid_ <= 0) return false;
  if (::waitid(P_PID, static_cast<id_t>(pid_), &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return false;
  }
  return si.si_pid != pid_;
}

std::optional<TrimReport> Holder::WaitTrimmed(int timeout_ms) {
  if (report_fd_ < 0) return std::nullopt;
  pollfd p{report_fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return std::nullopt;
  TrimReport r;
  if (::read(report_fd_, &r, sizeof r) != sizeof r) return std::nullopt;
  return r;
}

VforkStall::VforkStall() {
  parent_ = ::fork();
  if (parent_ == 0) {
    // vfork's parent sleeps (uninterruptibly) until the child execs or exits; this child
    // stops itself first, so that lasts until the destructor kills it.
    pid_t c = ::vfork();
    if (c == 0) {
      ::raise(SIGSTOP);
      ::_exit(0);
    }
    ::_exit(0);
  }
}

VforkStall::~VforkStall() {
  if (parent_ <= 0) return;
  std::ifstream kids("/proc/" + std::to_string(parent_) + "/task/" + std::to_string(parent_) +
                     "/children");
  pid_t kid = 0;
  if (kids >> kid && kid > 0) ::kill(kid, SIGKILL);
  ::kill(parent_, SIGKILL);
  ::waitpid(parent_, nullptr, 0);
}

bool VforkStall::WaitInD(int timeout_ms) const {
  for (int i = 0; i < timeout_ms / 10 && TaskState(parent_) != 'D'; ++i) ::usleep(10000);
  return TaskState(parent_) == 'D';
}

char TaskState(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  std::getline(f, s);
  auto p = s.rfind(')');
  return p == std::string::npos || p + 2 >= s.size() ? '?' : s[p + 2];
}

std::string Wchan(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/wchan");
  std::string s;
  std::getline(f, s);
  return s;
}

}  // namespace reaperd::itest
