#include "sys/nonblocking_output.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

namespace reaperd::sys {

NonBlockingOutput::NonBlockingOutput(int fd) noexcept : fd_(fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return;
  if (S_ISSOCK(st.st_mode)) {
    kind_ = Kind::kSocket;
    return;
  }
  if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) return;
  // Opening /proc/self/fd/N of a pipe or a terminal makes a new open file description, so
  // O_NONBLOCK here is ours alone (setting it on fd itself would change a shell's terminal).
  char path[40];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  own_.Reset(::open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  kind_ = own_ ? Kind::kReopened : Kind::kPolled;
}

Result<void> NonBlockingOutput::Write(std::string_view data) const noexcept {
  if (kind_ == Kind::kPolled) {
    // Room for one buffer is room for a line of up to PIPE_BUF; another writer can still
    // take it first, which is why this is only the fallback.
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, 0) != 1 || (p.revents & POLLOUT) == 0) {
      return Fail(Error::Sys(EAGAIN, "poll(log output)"));
    }
  }
  ssize_t n;
  do {
    switch (kind_) {
      case Kind::kSocket:
        n = ::send(fd_, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        break;
      case Kind::kReopened:
        n = ::write(own_.get(), data.data(), data.size());
        break;
      case Kind::kPlain:
      case Kind::kPolled:
      default:
        n = ::write(fd_, data.data(), data.size());
        break;
    }
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return {};
  const int e = errno == EWOULDBLOCK ? EAGAIN : errno;
  return Fail(Error::Sys(e, "write(log output)"));
}

}  // namespace reaperd::sys
