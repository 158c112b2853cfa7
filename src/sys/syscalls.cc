#include "sys/syscalls.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_process_mrelease
#define SYS_process_mrelease 448
#endif
#ifndef SYS_kcmp
#define SYS_kcmp 312
#endif

namespace reaperd::sys {

Result<UniqueFd> PidfdOpen(pid_t pid, unsigned flags) noexcept {
  long fd = ::syscall(SYS_pidfd_open, pid, flags);
  if (fd < 0) return Fail(Error::Sys(errno, "pidfd_open"));
  return UniqueFd(static_cast<int>(fd));
}

Result<void> PidfdSendSignal(int pidfd, int sig) noexcept {
  if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0) {
    return Fail(Error::Sys(errno, "pidfd_send_signal"));
  }
  return {};
}

Result<void> ProcessMrelease(int pidfd) noexcept {
  if (::syscall(SYS_process_mrelease, pidfd, 0) < 0) {
    return Fail(Error::Sys(errno, "process_mrelease"));
  }
  return {};
}

Result<bool> SameMm(pid_t a, pid_t b) noexcept {
  long r = ::syscall(SYS_kcmp, a, b, KCMP_VM, 0, 0);
  if (r < 0) return Fail(Error::Sys(errno, "kcmp"));
  return r == 0;
}

Result<bool> PidfdWaitExit(int pidfd, int timeout_ms) noexcept {
  pollfd p{pidfd, POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::Sys(errno, "poll(pidfd)"));
    }
    return r > 0;
  }
}

Result<UniqueFd> OpenProcMem(pid_t pid) noexcept {
  char path[48] = "/proc/";
  auto [end, ec] = std::to_chars(path + 6, path + 32, pid);
  if (ec != std::errc() || pid <= 0) return Fail(Error::Of(Errc::kInvalid, "open /proc/PID/mem"));
  std::memcpy(end, "/mem", 5);  // with the terminating NUL
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(Error::Sys(errno, "open /proc/PID/mem"));
  return UniqueFd(fd);
}

Result<bool> ProcMemGone(int fd) noexcept {
  char byte;
  for (;;) {
    ssize_t n = ::pread(fd, &byte, 1, 0);
    if (n == 0) return true;
    if (n > 0) return false;
    if (errno == EINTR) continue;
    if (errno == EIO) return false;
    return Fail(Error::Sys(errno, "pread /proc/PID/mem"));
  }
}

}  // namespace reaperd::sys
