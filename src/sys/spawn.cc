#include "sys/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "sys/syscalls.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace reaperd::sys {

namespace {

// Frees posix_spawn's attribute and file-action objects on every path out.
struct SpawnState {
  posix_spawnattr_t attr{};
  posix_spawn_file_actions_t actions{};
  bool attr_ok = false;
  bool actions_ok = false;
  ~SpawnState() {
    if (attr_ok) posix_spawnattr_destroy(&attr);
    if (actions_ok) posix_spawn_file_actions_destroy(&actions);
  }
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

  SpawnState st;
  int e = posix_spawnattr_init(&st.attr);
  if (e != 0) return Fail(Error::Sys(e, "posix_spawnattr_init"));
  st.attr_ok = true;
  e = posix_spawn_file_actions_init(&st.actions);
  if (e != 0) return Fail(Error::Sys(e, "posix_spawn_file_actions_init"));
  st.actions_ok = true;

  // The daemon blocks SIGTERM/SIGINT/SIGHUP for its signalfd; a hook must not inherit that.
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t all;
  sigemptyset(&all);
  for (int s = 1; s < NSIG; ++s) {
    if (s != SIGKILL && s != SIGSTOP) sigaddset(&all, s);
  }
  posix_spawnattr_setsigmask(&st.attr, &empty);
  posix_spawnattr_setsigdefault(&st.attr, &all);
  posix_spawnattr_setpgroup(&st.attr, 0);
  posix_spawnattr_setflags(
      &st.attr,
      static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP));
  posix_spawn_file_actions_addopen(&st.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&st.actions, write_end.get(), 1);
  posix_spawn_file_actions_adddup2(&st.actions, write_end.get(), 2);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (const auto& v : env) envp.push_back(const_cast<char*>(v.c_str()));
  envp.push_back(nullptr);

  Child child;
  pid_t pid = 0;
  e = ::posix_spawn(&pid, args[0], &st.actions, &st.attr, args.data(), envp.data());
  if (e != 0) return Fail(Error::Sys(e, "posix_spawn"));
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

}  // namespace reaperd::sys
