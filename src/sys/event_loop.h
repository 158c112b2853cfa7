// The event sources of the daemon loop, as RAII fds: epoll, timerfd, signalfd, eventfd, PSI
// triggers and cgroup v1 memory.pressure_level notifications. Each wrapper owns its fd and
// only makes the syscalls; the daemon decides what to wait for. None allocates after
// construction, so all may be used in the kill path. Not thread-safe; one owner each.
#pragma once

#include <signal.h>
#include <sys/epoll.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "base/error.h"
#include "sys/unique_fd.h"

namespace reaperd::sys {

class Epoll {
 public:
  static Result<Epoll> Create() noexcept;

  // events: EPOLLIN, EPOLLPRI (PSI triggers), ...; data comes back with each event.
  Result<void> Add(int fd, std::uint32_t events, std::uint64_t data) noexcept;
  Result<void> Modify(int fd, std::uint32_t events, std::uint64_t data) noexcept;
  Result<void> Remove(int fd) noexcept;
  // Waits up to timeout_ms (-1: forever); returns how many of `out` were filled. EINTR
  // returns 0 events rather than an error.
  Result<std::size_t> Wait(std::span<epoll_event> out, int timeout_ms) noexcept;

  int fd() const noexcept { return fd_.get(); }

 private:
  explicit Epoll(UniqueFd fd) noexcept : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// A CLOCK_MONOTONIC timerfd, non-blocking. Readable when it has expired.
class Timer {
 public:
  static Result<Timer> Create() noexcept;

  // First expiry after first_ms, then every interval_ms (0: once). first_ms 0 disarms.
  Result<void> Set(int first_ms, int interval_ms) noexcept;
  // Expirations since the last read; 0 if none (EAGAIN).
  Result<std::uint64_t> ReadExpirations() noexcept;

  int fd() const noexcept { return fd_.get(); }

 private:
  explicit Timer(UniqueFd fd) noexcept : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// A signalfd for SIGTERM, SIGINT and SIGHUP (or another set). Create() blocks the signals in
// the calling thread (do it before starting threads, so they inherit the mask) and the
// destructor restores the previous mask.
class SignalFd {
 public:
  static Result<SignalFd> Create() noexcept;  // SIGTERM, SIGINT, SIGHUP
  static Result<SignalFd> Create(const sigset_t& set) noexcept;
  SignalFd(SignalFd&& o) noexcept;
  SignalFd& operator=(SignalFd&&) = delete;
  ~SignalFd();

  // The next pending signal number; 0 if none.
  Result<int> Read() noexcept;

  int fd() const noexcept { return fd_.get(); }

 private:
  SignalFd(UniqueFd fd, const sigset_t& old) noexcept : fd_(std::move(fd)), old_(old) {}
  UniqueFd fd_;
  sigset_t old_{};
  bool restore_ = true;
};

// A non-blocking eventfd counter: a wake-up from another thread, or a cgroup v1 notification.
class EventFd {
 public:
  static Result<EventFd> Create() noexcept;

  Result<void> Signal(std::uint64_t n = 1) noexcept;
  // The counter, reset to 0; 0 if it was 0 (EAGAIN).
  Result<std::uint64_t> Read() noexcept;

  int fd() const noexcept { return fd_.get(); }

 private:
  explicit EventFd(UniqueFd fd) noexcept : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// A PSI trigger on `path` (/proc/pressure/memory or a cgroup v2 memory.pressure): kind is
// "some" or "full"; it fires (EPOLLPRI) when stall time reaches stall_us within window_us.
// Opened O_RDWR|O_NONBLOCK; the trigger is written with its trailing NUL. Errors: kInvalid for
// a bad kind or numbers; kSys with errno for the kernel's refusal (EINVAL: a window over 10 s,
// or, without CAP_SYS_RESOURCE (even as root), a window that is not a multiple of 2 s;
// ENOENT: no PSI; EACCES: rights).
Result<UniqueFd> OpenPsiTrigger(std::string_view path, std::string_view kind,
                                std::uint32_t stall_us, std::uint32_t window_us) noexcept;

// cgroup v1 memory.pressure_level, registered through cgroup.event_control: the returned
// EventFd becomes readable each time the cgroup's reclaim reaches `level` ("low", "medium"
// or "critical", optionally ",hierarchy" or ",local"). cgroup_dirfd is the cgroup's
// directory; the registration lasts as long as the EventFd (and the cgroup) does.
Result<EventFd> RegisterPressureLevel(int cgroup_dirfd, std::string_view level) noexcept;

// cgroup v1 memory.usage_in_bytes threshold, registered through cgroup.event_control: the
// returned EventFd becomes readable each time the cgroup's usage (its descendants' included)
// crosses `bytes`, upwards or downwards. The kernel checks thresholds every few hundred KiB
// of charges, so a crossing is seen within that much. Errors: kSys (ENOENT: not a v1 memory
// cgroup; EINVAL: refused).
Result<EventFd> RegisterUsageThreshold(int cgroup_dirfd, std::uint64_t bytes) noexcept;

}  // namespace reaperd::sys
