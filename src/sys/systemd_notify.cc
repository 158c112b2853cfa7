#include "sys/systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "sys/unique_fd.h"

namespace reaperd::sys {

namespace {

// Parses a whole decimal string; false for empty, trailing text or overflow.
template <class T>
bool ParseWhole(const char* s, T* out) noexcept {
  if (s == nullptr || *s == '\0') return false;
  const char* end = s + std::strlen(s);
  auto [p, ec] = std::from_chars(s, end, *out);
  return ec == std::errc() && p == end;
}

}  // namespace

Result<void> NotifyTo(std::string_view socket_path, std::string_view state, bool wait) noexcept {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() < 2 || (socket_path[0] != '/' && socket_path[0] != '@') ||
      socket_path.size() >= sizeof addr.sun_path) {
    return Fail(Error::Of(Errc::kInvalid, "NOTIFY_SOCKET path"));
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  // An abstract address starts with a NUL byte and is exactly as long as given, no NUL after.
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return Fail(Error::Sys(errno, "socket(notify)"));
  ssize_t n;
  do {
    n = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT),
                 reinterpret_cast<const sockaddr*>(&addr), len);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Fail(Error::Sys(errno, "sendto(notify)"));
  if (static_cast<std::size_t>(n) != state.size()) {
    return Fail(Error::Sys(EMSGSIZE, "sendto(notify) short"));
  }
  return {};
}

Result<bool> Notify(std::string_view state, bool wait) noexcept {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || *path == '\0') return false;
  if (auto r = NotifyTo(path, state, wait); !r) return Fail(r.error());
  return true;
}

std::uint64_t ParseWatchdogUsec(const char* usec, const char* pid, pid_t self) noexcept {
  std::uint64_t value = 0;
  if (!ParseWhole(usec, &value) || value == 0) return 0;
  if (pid != nullptr) {
    long p = 0;
    if (!ParseWhole(pid, &p) || p != static_cast<long>(self)) return 0;
  }
  return value;
}

std::uint64_t WatchdogUsec() noexcept {
  return ParseWatchdogUsec(std::getenv("WATCHDOG_USEC"), std::getenv("WATCHDOG_PID"), ::getpid());
}

}  // namespace reaperd::sys
