#include "sys/event_loop.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

namespace reaperd::sys {
namespace {

timespec MsToTimespec(int ms) noexcept {
  return {static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1'000'000L};
}

// Appends text to buf at pos; false if it does not fit.
bool Append(std::span<char> buf, std::size_t& pos, std::string_view text) noexcept {
  if (text.size() > buf.size() - pos) return false;
  std::memcpy(buf.data() + pos, text.data(), text.size());
  pos += text.size();
  return true;
}

bool AppendNumber(std::span<char> buf, std::size_t& pos, std::uint64_t v) noexcept {
  const auto r = std::to_chars(buf.data() + pos, buf.data() + buf.size(), v);
  if (r.ec != std::errc{}) return false;
  pos = static_cast<std::size_t>(r.ptr - buf.data());
  return true;
}

// write(2) of a whole small buffer; a short write of a control file is an error.
Result<void> WriteAll(int fd, const char* data, std::size_t size, const char* ctx) noexcept {
  const ssize_t n = ::write(fd, data, size);
  if (n < 0) return Fail(Error::Sys(errno, ctx));
  if (static_cast<std::size_t>(n) != size) return Fail(Error::Of(Errc::kSys, ctx));
  return {};
}

}  // namespace

// ---- Epoll ----

Result<Epoll> Epoll::Create() noexcept {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return Fail(Error::Sys(errno, "epoll_create1"));
  return Epoll(UniqueFd(fd));
}

Result<void> Epoll::Add(int fd, std::uint32_t events, std::uint64_t data) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  if (::epoll_ctl(fd_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) {
    return Fail(Error::Sys(errno, "epoll_ctl(ADD)"));
  }
  return {};
}

Result<void> Epoll::Modify(int fd, std::uint32_t events, std::uint64_t data) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  if (::epoll_ctl(fd_.get(), EPOLL_CTL_MOD, fd, &ev) < 0) {
    return Fail(Error::Sys(errno, "epoll_ctl(MOD)"));
  }
  return {};
}

Result<void> Epoll::Remove(int fd) noexcept {
  if (::epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, nullptr) < 0) {
    return Fail(Error::Sys(errno, "epoll_ctl(DEL)"));
  }
  return {};
}

Result<std::size_t> Epoll::Wait(std::span<epoll_event> out, int timeout_ms) noexcept {
  const int n = ::epoll_wait(fd_.get(), out.data(), static_cast<int>(out.size()), timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return std::size_t{0};
    return Fail(Error::Sys(errno, "epoll_wait"));
  }
  return static_cast<std::size_t>(n);
}

// ---- Timer ----

Result<Timer> Timer::Create() noexcept {
  const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) return Fail(Error::Sys(errno, "timerfd_create"));
  return Timer(UniqueFd(fd));
}

Result<void> Timer::Set(int first_ms, int interval_ms) noexcept {
  if (first_ms < 0 || interval_ms < 0) return Fail(Error::Of(Errc::kInvalid, "timer interval"));
  itimerspec spec{};
  spec.it_value = MsToTimespec(first_ms);
  spec.it_interval = MsToTimespec(interval_ms);
  if (::timerfd_settime(fd_.get(), 0, &spec, nullptr) < 0) {
    return Fail(Error::Sys(errno, "timerfd_settime"));
  }
  return {};
}

Result<std::uint64_t> Timer::ReadExpirations() noexcept {
  std::uint64_t n = 0;
  if (::read(fd_.get(), &n, sizeof n) != static_cast<ssize_t>(sizeof n)) {
    if (errno == EAGAIN) return std::uint64_t{0};
    return Fail(Error::Sys(errno, "read(timerfd)"));
  }
  return n;
}

// ---- SignalFd ----

Result<SignalFd> SignalFd::Create() noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return Create(set);
}

Result<SignalFd> SignalFd::Create(const sigset_t& set) noexcept {
  sigset_t old;
  // Blocked first, so a signal arriving between the two calls waits in the fd's queue.
  if (const int e = ::pthread_sigmask(SIG_BLOCK, &set, &old); e != 0) {
    return Fail(Error::Sys(e, "pthread_sigmask"));
  }
  const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return Fail(Error::Sys(e, "signalfd"));
  }
  return SignalFd(UniqueFd(fd), old);
}

SignalFd::SignalFd(SignalFd&& o) noexcept
    : fd_(std::move(o.fd_)), old_(o.old_), restore_(std::exchange(o.restore_, false)) {}

SignalFd::~SignalFd() {
  if (restore_) ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

Result<int> SignalFd::Read() noexcept {
  signalfd_siginfo info{};
  if (::read(fd_.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) {
    if (errno == EAGAIN) return 0;
    return Fail(Error::Sys(errno, "read(signalfd)"));
  }
  return static_cast<int>(info.ssi_signo);
}

// ---- EventFd ----

Result<EventFd> EventFd::Create() noexcept {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return Fail(Error::Sys(errno, "eventfd"));
  return EventFd(UniqueFd(fd));
}

Result<void> EventFd::Signal(std::uint64_t n) noexcept {
  if (::write(fd_.get(), &n, sizeof n) != static_cast<ssize_t>(sizeof n)) {
    return Fail(Error::Sys(errno, "write(eventfd)"));
  }
  return {};
}

Result<std::uint64_t> EventFd::Read() noexcept {
  std::uint64_t n = 0;
  if (::read(fd_.get(), &n, sizeof n) != static_cast<ssize_t>(sizeof n)) {
    if (errno == EAGAIN) return std::uint64_t{0};
    return Fail(Error::Sys(errno, "read(eventfd)"));
  }
  return n;
}

// ---- PSI triggers and v1 pressure levels ----

Result<UniqueFd> OpenPsiTrigger(std::string_view path, std::string_view kind,
                                std::uint32_t stall_us, std::uint32_t window_us) noexcept {
  if (kind != "some" && kind != "full") return Fail(Error::Of(Errc::kInvalid, "PSI trigger kind"));
  if (stall_us == 0 || window_us == 0 || stall_us > window_us) {
    return Fail(Error::Of(Errc::kInvalid, "PSI trigger stall/window"));
  }
  std::array<char, 4096> path_z{};
  if (path.empty() || path.size() >= path_z.size()) {
    return Fail(Error::Of(Errc::kInvalid, "PSI trigger path"));
  }
  std::memcpy(path_z.data(), path.data(), path.size());

  // "some 150000 1000000\0": the kernel overwrites the last byte it copies, so the NUL is part
  // of what is written.
  std::array<char, 64> text{};
  std::size_t n = 0;
  const bool ok = Append(text, n, kind) && Append(text, n, " ") &&
                  AppendNumber(text, n, stall_us) && Append(text, n, " ") &&
                  AppendNumber(text, n, window_us) && Append(text, n, std::string_view("\0", 1));
  if (!ok) return Fail(Error::Of(Errc::kInvalid, "PSI trigger text"));

  UniqueFd fd(::open(path_z.data(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return Fail(Error::Sys(errno, "open PSI file"));
  if (auto w = WriteAll(fd.get(), text.data(), n, "write PSI trigger"); !w) return Fail(w.error());
  return fd;
}

namespace {

// cgroup v1's event registration: "<event_fd> <fd of file> <argument>" written to the cgroup's
// cgroup.event_control. The kernel keeps its own references, so the file's fd may be closed
// once registered. ctx names the file in errors ("open memory.pressure_level").
Result<EventFd> RegisterCgroupEvent(int cgroup_dirfd, const char* file, std::string_view arg,
                                    const char* open_ctx) noexcept {
  auto efd = EventFd::Create();
  if (!efd) return Fail(efd.error());
  UniqueFd watched(::openat(cgroup_dirfd, file, O_RDONLY | O_CLOEXEC));
  if (!watched) return Fail(Error::Sys(errno, open_ctx));
  UniqueFd control(::openat(cgroup_dirfd, "cgroup.event_control", O_WRONLY | O_CLOEXEC));
  if (!control) return Fail(Error::Sys(errno, "open cgroup.event_control"));
  std::array<char, 96> text{};
  std::size_t n = 0;
  const bool ok = AppendNumber(text, n, static_cast<std::uint64_t>(efd->fd())) &&
                  Append(text, n, " ") &&
                  AppendNumber(text, n, static_cast<std::uint64_t>(watched.get())) &&
                  Append(text, n, " ") && Append(text, n, arg);
  if (!ok) return Fail(Error::Of(Errc::kInvalid, "cgroup.event_control argument"));
  if (auto w = WriteAll(control.get(), text.data(), n, "write cgroup.event_control"); !w) {
    return Fail(w.error());
  }
  return efd;
}

}  // namespace

Result<EventFd> RegisterPressureLevel(int cgroup_dirfd, std::string_view level) noexcept {
  const std::string_view base = level.substr(0, level.find(','));
  if (base != "low" && base != "medium" && base != "critical") {
    return Fail(Error::Of(Errc::kInvalid, "memory.pressure_level level"));
  }
  return RegisterCgroupEvent(cgroup_dirfd, "memory.pressure_level", level,
                             "open memory.pressure_level");
}

Result<EventFd> RegisterUsageThreshold(int cgroup_dirfd, std::uint64_t bytes) noexcept {
  std::array<char, 24> number{};
  std::size_t n = 0;
  if (!AppendNumber(number, n, bytes)) return Fail(Error::Of(Errc::kInvalid, "threshold"));
  return RegisterCgroupEvent(cgroup_dirfd, "memory.usage_in_bytes", {number.data(), n},
                             "open memory.usage_in_bytes");
}

}  // namespace reaperd::sys
