#include "sys/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "sys/syscalls.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace reaperd::sys {

namespace {

// What the child needs, prepared by the parent: the child runs on a stack of its own in the
// parent's memory (CLONE_VM | CLONE_VFORK, as posix_spawn does) and may only make syscalls.
struct ChildArgs {
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int out_fd = -1;
  int exec_errno = 0;  // written by the child when execve fails
};

constexpr std::size_t kChildStackBytes = 64 * 1024;

// Until execve: every signal to its default, a process group of its own, stdin from
// /dev/null, stdout and stderr into the pipe, oom_score_adj 0, nice 0, no signal blocked.
int ChildMain(void* p) {
  auto* a = static_cast<ChildArgs*>(p);
  // The handler table is the child's own copy (no CLONE_SIGHAND); every signal is blocked
  // until the handlers are default, so none of reaperd's can run here.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) {
    if (s != SIGKILL && s != SIGSTOP) (void)::sigaction(s, &dfl, nullptr);
  }
  if (::setpgid(0, 0) != 0) {
    a->exec_errno = errno;
    ::_exit(127);
  }
  const int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(a->out_fd, 1) < 0 ||
      ::dup2(a->out_fd, 2) < 0) {
    a->exec_errno = errno;
    ::_exit(127);
  }
  if (null_fd > 2) ::close(null_fd);
  // reaperd runs at -1000; a hook must stay killable. The kernel applies this write to the
  // vfork child alone (not to reaperd, whose memory it still shares). Raising needs no
  // privilege; lowering below oom_score_adj_min is refused (EACCES): then the hook keeps the
  // parent's value, which is already above -1000 and so killable.
  const int adj = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (adj >= 0) {
    (void)!::write(adj, "0", 1);
    ::close(adj);
  }
  // The loop thread that spawns runs boosted (SetThreadNice); a hook runs at the normal 0.
  // Raising nice needs no privilege.
  (void)::setpriority(PRIO_PROCESS, 0, 0);
  sigset_t empty;
  sigemptyset(&empty);
  (void)::sigprocmask(SIG_SETMASK, &empty, nullptr);
  ::execve(a->argv[0], a->argv, a->envp);
  a->exec_errno = errno;
  ::_exit(127);
}

// Blocks every signal for the life of the object (restored on every path out), so that the
// child starts with none deliverable.
class AllSignalsBlocked {
 public:
  AllSignalsBlocked() noexcept {
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old_);
  }
  ~AllSignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  AllSignalsBlocked(const AllSignalsBlocked&) = delete;
  AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;

 private:
  sigset_t old_{};
};

}  // namespace

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, 0)),
      pidfd_(std::move(o.pidfd_)),
      out_(std::move(o.out_)),
      reaped_(std::exchange(o.reaped_, false)) {}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && !reaped_) {
      KillGroup();
      (void)Reap();
    }
    pid_ = std::exchange(o.pid_, 0);
    pidfd_ = std::move(o.pidfd_);
    out_ = std::move(o.out_);
    reaped_ = std::exchange(o.reaped_, false);
  }
  return *this;
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    KillGroup();
    (void)Reap();
  }
}

Result<bool> Child::WaitExit(int timeout_ms) noexcept {
  if (reaped_) return true;
  return PidfdWaitExit(pidfd_.get(), timeout_ms);
}

void Child::KillGroup() noexcept {
  if (pid_ <= 0 || reaped_) return;
  // The group first (the child leads it); the pidfd as well, in case the child left the
  // group (setsid) on its own.
  (void)::kill(-pid_, SIGKILL);
  (void)PidfdSendSignal(pidfd_.get(), SIGKILL);
}

Result<int> Child::Reap() noexcept {
  if (pid_ <= 0) return Fail(Error::Of(Errc::kInvalid, "reap: no child"));
  if (reaped_) return 0;
  siginfo_t info{};
  for (;;) {
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info, WEXITED) ==
        0) {
      break;
    }
    if (errno != EINTR) return Fail(Error::Sys(errno, "waitid"));
  }
  // Helpers left in the group die with the hook; the group id is still ours until now.
  (void)::kill(-pid_, SIGKILL);
  reaped_ = true;
  int status = 0;
  if (info.si_code == CLD_EXITED) {
    status = (info.si_status & 0xff) << 8;
  } else {
    status = info.si_status & 0x7f;
  }
  return status;
}

Result<Child> Spawn(std::span<const std::string> argv, std::span<const std::string> env) noexcept {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    return Fail(Error::Of(Errc::kInvalid, "spawn: argv[0] must be an absolute path"));
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Fail(Error::Sys(errno, "pipe2"));
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (const auto& v : env) envp.push_back(const_cast<char*>(v.c_str()));
  envp.push_back(nullptr);

  // posix_spawn(3) cannot set oom_score_adj between fork and exec; this is its mechanism
  // (a vfork-like child on its own stack) with that one step added.
  void* stack = ::mmap(nullptr, kChildStackBytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return Fail(Error::Sys(errno, "mmap child stack"));
  ChildArgs ca;
  ca.argv = args.data();
  ca.envp = envp.data();
  ca.out_fd = write_end.get();
  pid_t pid = 0;
  int clone_errno = 0;
  {
    AllSignalsBlocked blocked;
    // Returns once the child has exec'd or exited (CLONE_VFORK).
    pid = ::clone(ChildMain, static_cast<char*>(stack) + kChildStackBytes,
                  CLONE_VM | CLONE_VFORK | SIGCHLD, &ca);
    if (pid < 0) clone_errno = errno;
  }
  ::munmap(stack, kChildStackBytes);
  if (pid < 0) return Fail(Error::Sys(clone_errno, "clone"));
  if (ca.exec_errno != 0) {
    int status;
    (void)::waitpid(pid, &status, 0);
    return Fail(Error::Sys(ca.exec_errno, "spawn: execve"));
  }

  Child child;
  child.pid_ = pid;
  // The child is ours and unreaped, so its pid cannot be reused before this.
  auto pidfd = PidfdOpen(pid);
  if (!pidfd) {
    (void)::kill(-pid, SIGKILL);
    (void)::kill(pid, SIGKILL);
    int status;
    (void)::waitpid(pid, &status, 0);
    child.pid_ = 0;
    return Fail(pidfd.error());
  }
  child.pidfd_ = std::move(*pidfd);
  int flags = ::fcntl(read_end.get(), F_GETFL);
  (void)::fcntl(read_end.get(), F_SETFL, flags | O_NONBLOCK);
  child.out_ = std::move(read_end);
  return child;
}

Result<Child> SpawnIdle() noexcept {
  pid_t pid = 0;
  int fork_errno = 0;
  {
    AllSignalsBlocked blocked;
    pid = ::fork();
    if (pid == 0) {
      // Only async-signal-safe calls from here: the parent has threads.
      (void)::setpgid(0, 0);
      (void)::syscall(SYS_close_range, 3U, ~0U, 0U);
      for (;;) ::pause();
    }
    if (pid < 0) fork_errno = errno;
  }
  if (pid < 0) return Fail(Error::Sys(fork_errno, "fork"));
  Child child;
  child.pid_ = pid;
  // reaperd's -1000 is inherited; the parent raises it (no privilege needed), so that the
  // child is killable before it ever runs.
  const std::string adj_path = "/proc/" + std::to_string(pid) + "/oom_score_adj";
  if (const int adj = ::open(adj_path.c_str(), O_WRONLY | O_CLOEXEC); adj >= 0) {
    (void)::write(adj, "0", 1);
    (void)::close(adj);
  }
  // Ours and unreaped: its pid cannot be reused before this.
  auto pidfd = PidfdOpen(pid);
  if (!pidfd) {
    (void)::kill(pid, SIGKILL);
    int status;
    (void)::waitpid(pid, &status, 0);
    child.pid_ = 0;
    return Fail(pidfd.error());
  }
  child.pidfd_ = std::move(*pidfd);
  return child;
}

}  // namespace reaperd::sys
