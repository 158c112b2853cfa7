#include "report/event_stream.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace reaperd::report {
namespace {

constexpr std::uint64_t kWakeTag = EventStream::kMaxSubscribers;
constexpr std::string_view kSubscribed = "{\"event\":\"subscribed\"}\n";

}  // namespace

EventBuffer::EventBuffer(std::size_t capacity) : capacity_(capacity) { buf_.reserve(capacity); }

void EventBuffer::Clear() noexcept {
  buf_.clear();
  head_ = 0;
  lost_ = 0;
}

void EventBuffer::Append(std::string_view s) {
  // Moves the unsent bytes to the front when the tail has no room: the capacity reserved at
  // construction is never exceeded, so this never allocates.
  if (buf_.size() + s.size() > capacity_ && head_ > 0) {
    buf_.erase(0, head_);
    head_ = 0;
  }
  buf_.append(s);
}

bool EventBuffer::NoteLost() {
  if (lost_ == 0) return true;
  char note[64];
  const int n = std::snprintf(note, sizeof note, "{\"event\":\"lost\",\"count\":%llu}\n",
                              static_cast<unsigned long long>(lost_));
  if (n <= 0 || !Fits(static_cast<std::size_t>(n))) return false;
  Append(std::string_view(note, static_cast<std::size_t>(n)));
  lost_ = 0;
  return true;
}

bool EventBuffer::Push(std::string_view line) {
  // The note is counted as if it were queued first; if the line does not fit after it, the
  // note waits too, so the count stays in order with the lines around it.
  char note[64];
  std::size_t note_len = 0;
  if (lost_ > 0) {
    const int n = std::snprintf(note, sizeof note, "{\"event\":\"lost\",\"count\":%llu}\n",
                                static_cast<unsigned long long>(lost_ + 1));
    note_len = n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  if (!Fits(note_len + line.size())) {
    ++lost_;
    ++lost_total_;
    return false;
  }
  (void)NoteLost();
  Append(line);
  return true;
}

void EventBuffer::Consume(std::size_t n) {
  head_ += std::min(n, buf_.size() - head_);
  if (head_ == buf_.size()) {
    buf_.clear();
    head_ = 0;
  }
  (void)NoteLost();
}

Result<std::unique_ptr<EventStream>> EventStream::Create() {
  auto ep = sys::Epoll::Create();
  if (!ep) return Fail(ep.error());
  auto wake = sys::EventFd::Create();
  if (!wake) return Fail(wake.error());
  if (auto r = ep->Add(wake->fd(), EPOLLIN, kWakeTag); !r) return Fail(r.error());
  auto s = std::unique_ptr<EventStream>(new EventStream(std::move(*ep), std::move(*wake)));
  s->posted_.reserve(16);
  s->taking_.reserve(16);
  return s;
}

bool EventStream::Add(sys::UniqueFd fd) noexcept {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.fd) continue;
    if (!ep_.Add(fd.get(), EPOLLIN | EPOLLRDHUP, i)) return false;
    s.fd = std::move(fd);
    subscribers_.fetch_add(1, std::memory_order_relaxed);
    s.buf.Clear();
    s.want_out = false;
    try {
      s.buf.Push(kSubscribed);
    } catch (...) {
    }
    Flush(s);
    return true;
  }
  return false;
}

void EventStream::Close(Slot& s) noexcept {
  if (!s.fd) return;
  (void)ep_.Remove(s.fd.get());
  s.fd.Reset();
  subscribers_.fetch_sub(1, std::memory_order_relaxed);
  s.buf.Clear();
  s.want_out = false;
}

void EventStream::Flush(Slot& s) noexcept {
  while (s.fd && !s.buf.empty()) {
    const std::string_view p = s.buf.Pending();
    const ssize_t n = ::send(s.fd.get(), p.data(), p.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      try {
        s.buf.Consume(static_cast<std::size_t>(n));
      } catch (...) {
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    Close(s);  // the subscriber has gone
    return;
  }
  if (!s.fd) return;
  const bool want_out = !s.buf.empty();
  if (want_out != s.want_out) {
    const auto i = static_cast<std::uint64_t>(&s - slots_.data());
    (void)ep_.Modify(s.fd.get(), EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0U), i);
    s.want_out = want_out;
  }
}

void EventStream::Drain(Slot& s) noexcept {
  char buf[512];
  for (;;) {
    const ssize_t n = ::recv(s.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    Close(s);
    return;
  }
}

void EventStream::Publish(std::string_view json_line) noexcept {
  for (Slot& s : slots_) {
    if (!s.fd) continue;
    try {
      // The newline is appended in a stack buffer when it fits, so a typical line costs no
      // allocation; a longer one is rare and may.
      char line[2048];
      if (json_line.size() + 1 <= sizeof line) {
        std::memcpy(line, json_line.data(), json_line.size());
        line[json_line.size()] = '\n';
        if (!s.buf.Push(std::string_view(line, json_line.size() + 1))) ++lost_total_;
      } else if (!s.buf.Push(std::string(json_line) + "\n")) {
        ++lost_total_;
      }
    } catch (...) {
    }
    Flush(s);
  }
}

bool EventStream::Post(std::string json_line) noexcept {
  if (subscribers() == 0) return false;
  try {
    std::lock_guard lock(posted_mu_);
    if (posted_.size() >= 64) return false;  // the loop is not taking them: drop, not grow
    posted_.push_back(std::move(json_line));
  } catch (...) {
    return false;
  }
  (void)wake_.Signal();
  return true;
}

void EventStream::OnReady() noexcept {
  epoll_event events[kMaxSubscribers + 1];
  auto n = ep_.Wait(events, 0);
  if (!n) return;
  for (std::size_t k = 0; k < *n; ++k) {
    const std::uint64_t tag = events[k].data.u64;
    if (tag == kWakeTag) {
      (void)wake_.Read();
      {
        std::lock_guard lock(posted_mu_);
        taking_.swap(posted_);
      }
      for (const std::string& line : taking_) Publish(line);
      taking_.clear();
      continue;
    }
    if (tag >= slots_.size()) continue;
    Slot& s = slots_[tag];
    if (!s.fd) continue;
    if (events[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) Drain(s);
    if (s.fd && (events[k].events & EPOLLOUT)) Flush(s);
  }
}

Result<sys::UniqueFd> SubscribeEvents(const std::string& socket_path, int timeout_ms) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    return Fail(Error::Of(Errc::kRange, "status socket path too long"));
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  sys::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Fail(Error::Sys(errno, "socket(AF_UNIX)"));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Fail(Error::Sys(errno, "connect to the status socket"));
  }
  static constexpr std::string_view kRequest = "events\n";
  if (::send(fd.get(), kRequest.data(), kRequest.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(kRequest.size())) {
    return Fail(Error::Sys(errno, "send the events request"));
  }
  // The first line, read byte by byte so nothing after it is consumed here.
  std::string line;
  while (line.size() < 4096) {
    pollfd p{fd.get(), POLLIN, 0};
    const int r = ::poll(&p, 1, timeout_ms);
    if (r == 0) return Fail(Error::Of(Errc::kTimeout, "status socket: no answer to events"));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Fail(Error::Sys(errno, "poll status socket"));
    }
    char c = 0;
    const ssize_t n = ::read(fd.get(), &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Fail(Error::Of(Errc::kMissing,
                            "the daemon closed the connection: too many subscribers, or a "
                            "reaperd without the event stream"));
    }
    if (c == '\n') break;
    line.push_back(c);
  }
  if (line + "\n" != kSubscribed) {
    return Fail(Error::Of(Errc::kInvalid, "the status socket did not accept the events request"));
  }
  return fd;
}

}  // namespace reaperd::report
