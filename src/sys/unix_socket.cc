#include "sys/unix_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/unique_fd.h"

namespace reaperd::sys {

namespace {

long long NowMs() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Polls fd for events until deadline_ms; true if ready.
Result<bool> WaitFor(int fd, short events, long long deadline_ms) noexcept {
  for (;;) {
    long long left = deadline_ms - NowMs();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::Sys(errno, "poll(unix socket)"));
    }
    if (r > 0) return true;
  }
}

}  // namespace

Result<UnixReply> UnixRequest(std::string_view path, std::string_view line, int timeout_ms,
                              std::string* reply) noexcept {
  const long long deadline = NowMs() + timeout_ms;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return Fail(Error::Of(Errc::kInvalid, "unix socket path length"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Fail(Error::Sys(errno, "socket"));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) return Fail(Error::Sys(errno, "connect"));
    auto ready = WaitFor(fd.get(), POLLOUT, deadline);
    if (!ready) return Fail(ready.error());
    if (!*ready) return UnixReply::kTimedOut;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Fail(Error::Sys(err, "connect"));
  }
  std::size_t sent = 0;
  while (sent < line.size()) {
    ssize_t n = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      auto ready = WaitFor(fd.get(), POLLOUT, deadline);
      if (!ready) return Fail(ready.error());
      if (!*ready) return UnixReply::kTimedOut;
      continue;
    }
    return Fail(Error::Sys(errno, "send"));
  }
  char buf[512];
  for (;;) {
    auto ready = WaitFor(fd.get(), POLLIN, deadline);
    if (!ready) return Fail(ready.error());
    if (!*ready) return UnixReply::kTimedOut;
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) return UnixReply::kClosed;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Fail(Error::Sys(errno, "recv"));
    }
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') return UnixReply::kReplied;
      if (reply != nullptr && reply->size() < 4096) reply->push_back(buf[i]);
    }
  }
}

}  // namespace reaperd::sys
