#include "report/endpoints.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace reaperd::report {
namespace {

std::int64_t NowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

bool FillAddr(const std::string& path, sockaddr_un& a) {
  a = {};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) return false;
  std::memcpy(a.sun_path, path.data(), path.size());
  return true;
}

// Sends what fits without blocking; a status or metrics answer is far below the buffer size
// set here, so in practice it goes out whole, and a client that does not read loses it.
void SendOnce(int fd, std::string_view data) {
  int size = 1 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

Result<std::unique_ptr<Endpoints>> Endpoints::Create() {
  sys::UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep) return Fail(Error::Sys(errno, "epoll_create1"));
  return std::unique_ptr<Endpoints>(new Endpoints(std::move(ep)));
}

Endpoints::~Endpoints() {
  if (status_fd_ && !status_path_.empty()) ::unlink(status_path_.c_str());
}

Result<void> Endpoints::ListenStatus(const std::string& path, Producer body) {
  sockaddr_un addr;
  if (!FillAddr(path, addr)) return Fail(Error::Of(Errc::kRange, "status socket path too long"));
  if (auto slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
    ::mkdir(path.substr(0, slash).c_str(), 0755);
  }
  // A socket file left by a daemon that died is replaced; one that answers is another daemon's.
  {
    sys::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      return Fail(Error::Sys(EADDRINUSE, "status socket in use by another reaperd"));
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  }
  sys::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Fail(Error::Sys(errno, "socket(AF_UNIX)"));
  // Created with mode 0600 from the start: no window in which another user may connect.
  const mode_t old = ::umask(0177);
  const int b = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::umask(old);
  if (b != 0) return Fail(Error::Sys(bind_errno, "bind status socket"));
  if (::listen(fd.get(), 8) != 0) return Fail(Error::Sys(errno, "listen status socket"));
  auto timer = sys::Timer::Create();
  if (!timer) return Fail(timer.error());
  epoll_event tev{};
  tev.events = EPOLLIN;
  tev.data.fd = timer->fd();
  if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, timer->fd(), &tev) != 0) {
    return Fail(Error::Sys(errno, "epoll_ctl status timer"));
  }
  request_timer_ = std::move(*timer);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd.get();
  if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) {
    return Fail(Error::Sys(errno, "epoll_ctl status socket"));
  }
  status_fd_ = std::move(fd);
  status_path_ = path;
  status_body_ = std::move(body);
  return {};
}

Result<void> Endpoints::ListenHttp(std::uint32_t addr_host_order, std::uint16_t port,
                                   Producer body) {
  sys::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Fail(Error::Sys(errno, "socket(AF_INET)"));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(addr_host_order);
  a.sin_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return Fail(Error::Sys(errno, "bind metrics endpoint"));
  }
  if (::listen(fd.get(), 8) != 0) return Fail(Error::Sys(errno, "listen metrics endpoint"));
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd.get();
  if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) {
    return Fail(Error::Sys(errno, "epoll_ctl metrics endpoint"));
  }
  http_port_ = ntohs(a.sin_port);
  http_fd_ = std::move(fd);
  http_body_ = std::move(body);
  return {};
}

Result<void> Endpoints::Watch(int fd, Handler handler) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    return Fail(Error::Sys(errno, "epoll_ctl"));
  watched_[fd] = std::move(handler);
  return {};
}

void Endpoints::OnReady() noexcept {
  epoll_event events[16];
  const int n = ::epoll_wait(ep_.get(), events, 16, 0);
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (status_fd_ && fd == status_fd_.get()) {
      AcceptStatus();
    } else if (request_timer_ && fd == request_timer_->fd()) {
      OnRequestTimer();
    } else if (status_conns_.contains(fd)) {
      ReadStatusRequest(fd);
    } else if (http_fd_ && fd == http_fd_.get()) {
      AcceptHttp();
    } else if (http_conns_.contains(fd)) {
      ReadHttp(fd);
    } else if (auto it = watched_.find(fd); it != watched_.end()) {
      try {
        it->second();
      } catch (...) {
      }
    }
  }
  // Drop HTTP clients that never finished their request.
  const std::int64_t now = NowNs();
  for (auto it = http_conns_.begin(); it != http_conns_.end();) {
    const int fd = it->first;
    ++it;
    if (now - http_conns_[fd].started_ns > kHttpTimeoutNs) CloseHttp(fd);
  }
}

void Endpoints::AcceptStatus() noexcept {
  for (int i = 0; i < 8; ++i) {
    sys::UniqueFd c(::accept4(status_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!c) return;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(c.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        (cred.uid != 0 && cred.uid != ::geteuid())) {
      ++refused_;
      continue;
    }
    if (status_conns_.size() >= kMaxStatusConns) {
      AnswerStatus(std::move(c), "");  // no room to wait for its request: the old answer
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = c.get();
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, c.get(), &ev) != 0) {
      AnswerStatus(std::move(c), "");
      continue;
    }
    const int fd = c.get();
    try {
      StatusConn conn;
      conn.fd = std::move(c);
      conn.accepted_ns = NowNs();
      status_conns_.emplace(fd, std::move(conn));
    } catch (...) {
      ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr);
      continue;
    }
    // The request is usually there already (sent right after connect).
    ReadStatusRequest(fd);
    if (status_conns_.contains(fd)) (void)request_timer_->Set(kRequestWaitMs, 0);
  }
}

void Endpoints::ReadStatusRequest(int fd) noexcept {
  auto it = status_conns_.find(fd);
  if (it == status_conns_.end()) return;
  StatusConn& c = it->second;
  char buf[4096];
  const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  bool done = n <= 0;  // EOF or an error: answer what there is
  if (n > 0) {
    try {
      c.request.append(buf, static_cast<std::size_t>(n));
    } catch (...) {
    }
    const std::size_t max = c.request.starts_with("managed-oom ") && managed_oom_take_
                                ? kMaxManagedOomRequest
                                : kMaxStatusRequest;
    done = c.request.find('\n') != std::string::npos || c.request.size() >= max;
  }
  if (!done) return;
  ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr);
  sys::UniqueFd conn = std::move(c.fd);
  std::string request = std::move(c.request);
  status_conns_.erase(it);
  AnswerStatus(std::move(conn), request);
}

void Endpoints::OnRequestTimer() noexcept {
  (void)request_timer_->ReadExpirations();
  const std::int64_t now = NowNs();
  std::int64_t oldest_left = -1;
  for (auto it = status_conns_.begin(); it != status_conns_.end();) {
    if (now - it->second.accepted_ns < kRequestWaitMs * 1'000'000LL) {
      if (oldest_left < 0 || it->second.accepted_ns < oldest_left) {
        oldest_left = it->second.accepted_ns;
      }
      ++it;
      continue;
    }
    ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, it->first, nullptr);
    sys::UniqueFd conn = std::move(it->second.fd);
    it = status_conns_.erase(it);
    AnswerStatus(std::move(conn), "");
  }
  if (oldest_left >= 0) {
    const std::int64_t left = oldest_left + kRequestWaitMs * 1'000'000LL - now;
    const auto ms = static_cast<int>(std::max<std::int64_t>((left + 999'999) / 1'000'000, 1));
    (void)request_timer_->Set(ms, 0);
  }
}

void Endpoints::AnswerStatus(sys::UniqueFd fd, std::string_view request) noexcept {
  while (!request.empty() &&
         (request.back() == '\n' || request.back() == '\r' || request.back() == ' ')) {
    request.remove_suffix(1);
  }
  if (request.starts_with("managed-oom ") && managed_oom_take_) {
    try {
      SendOnce(fd.get(), managed_oom_take_(request.substr(12)));
    } catch (...) {
    }
    return;
  }
  if (request == "events" && events_take_) {
    try {
      events_take_(std::move(fd));
    } catch (...) {
    }
    return;
  }
  try {
    SendOnce(fd.get(), status_body_());
    ++status_served_;
  } catch (...) {
  }
}

void Endpoints::AcceptHttp() noexcept {
  for (int i = 0; i < 8; ++i) {
    sys::UniqueFd c(::accept4(http_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!c) return;
    if (http_conns_.size() >= kMaxHttpConns) {
      ++refused_;
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = c.get();
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, c.get(), &ev) != 0) continue;
    const int fd = c.get();
    HttpConn conn;
    conn.fd = std::move(c);
    conn.started_ns = NowNs();
    http_conns_.emplace(fd, std::move(conn));
  }
}

void Endpoints::CloseHttp(int fd) noexcept {
  ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr);
  http_conns_.erase(fd);
}

void Endpoints::ReadHttp(int fd) noexcept {
  HttpConn& c = http_conns_[fd];
  char buf[1024];
  const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    CloseHttp(fd);
    return;
  }
  c.request.append(buf, static_cast<std::size_t>(n));
  const bool complete = c.request.find("\r\n\r\n") != std::string::npos ||
                        c.request.find("\n\n") != std::string::npos;
  if (!complete && c.request.size() < kMaxRequest) return;
  try {
    std::string response;
    if (complete && (c.request.starts_with("GET /metrics ") || c.request.starts_with("GET / "))) {
      const std::string body = http_body_();
      response =
          "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
          "Content-Length: " +
          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    } else {
      response = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    }
    SendOnce(fd, response);
  } catch (...) {
  }
  ::shutdown(fd, SHUT_WR);
  CloseHttp(fd);
}

Result<std::string> QueryStatus(const std::string& path, int timeout_ms) {
  sockaddr_un addr;
  if (!FillAddr(path, addr)) return Fail(Error::Of(Errc::kRange, "status socket path too long"));
  sys::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Fail(Error::Sys(errno, "socket(AF_UNIX)"));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Fail(Error::Sys(errno, "connect to the status socket"));
  }
  // The request; a daemon from before requests existed ignores it and answers anyway.
  static constexpr std::string_view kRequest = "status\n";
  (void)::send(fd.get(), kRequest.data(), kRequest.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[16384];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    const int r = ::poll(&p, 1, timeout_ms);
    if (r == 0) return Fail(Error::Of(Errc::kTimeout, "status socket: no answer"));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::Sys(errno, "poll status socket"));
    }
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::Sys(errno, "read status socket"));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > (8U << 20)) return Fail(Error::Of(Errc::kRange, "status answer too large"));
  }
  if (out.empty()) return Fail(Error::Of(Errc::kMissing, "status socket closed without an answer"));
  return out;
}

}  // namespace reaperd::report
