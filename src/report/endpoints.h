// The daemon's local endpoints, served from its loop without ever blocking it: the status
// unix socket (`reaperd status`; mode 0600, and only root or reaperd's own uid is answered,
// checked with SO_PEERCRED) and an optional HTTP/1.0 /metrics responder on loopback. They
// sit behind one epoll fd of their own, so the daemon watches a single fd and calls
// OnReady(). Every connection is non-blocking and bounded in count, size and lifetime.
// Not thread-safe: the loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "sys/event_loop.h"
#include "sys/unique_fd.h"

namespace reaperd::report {

class Endpoints {
 public:
  using Producer = std::function<std::string()>;
  using Handler = std::function<void()>;

  static Result<std::unique_ptr<Endpoints>> Create();
  Endpoints(const Endpoints&) = delete;
  Endpoints& operator=(const Endpoints&) = delete;
  ~Endpoints();  // removes the status socket file

  // Binds the status socket (replacing a stale one; refusing if another daemon answers on it).
  Result<void> ListenStatus(const std::string& path, Producer body);
  // Binds 127.x.y.z:port for GET /metrics.
  Result<void> ListenHttp(std::uint32_t addr_host_order, std::uint16_t port, Producer body);
  // Any other fd to wake on (e.g. a timerfd); handler runs from OnReady.
  Result<void> Watch(int fd, Handler handler);
  // Who takes a status connection that asked for "events" (report/event_stream.h). Without
  // one, such a request is answered with the status like any other.
  void SetEventsHandler(std::function<void(sys::UniqueFd)> take) { events_take_ = std::move(take); }
  // Who takes a "managed-oom JSON" request (report/managed_oom_message.h, sent by
  // reaperd-managed-oom): given the JSON, returns the reply line. Without one, such a request
  // is answered with the status like any other.
  void SetManagedOomHandler(std::function<std::string(std::string_view)> take) {
    managed_oom_take_ = std::move(take);
  }

  int fd() const noexcept { return ep_.get(); }
  void OnReady() noexcept;

  // Counters for status and tests.
  std::uint64_t status_served() const noexcept { return status_served_; }
  std::uint64_t refused() const noexcept { return refused_; }
  std::uint16_t http_port() const noexcept { return http_port_; }

 private:
  static constexpr std::size_t kMaxHttpConns = 8;
  static constexpr std::size_t kMaxRequest = 4096;
  static constexpr std::int64_t kHttpTimeoutNs = 5'000'000'000;
  // The status socket's request: a line ("status" or "events") sent right after connecting.
  // A client that sends nothing (older `reaperd status`, socat) gets the status after
  // kRequestWaitMs, as it got it at once before requests existed.
  static constexpr std::size_t kMaxStatusConns = 8;
  static constexpr int kRequestWaitMs = 50;
  // A request line is at most kMaxStatusRequest bytes, a managed-oom one kMaxManagedOomRequest
  // (64 cgroups of systemd's longest paths).
  static constexpr std::size_t kMaxStatusRequest = 256;
  static constexpr std::size_t kMaxManagedOomRequest = 64 * 1024;

  struct HttpConn {
    sys::UniqueFd fd;
    std::string request;
    std::int64_t started_ns = 0;
  };
  explicit Endpoints(sys::UniqueFd ep) : ep_(std::move(ep)) {}
  void AcceptStatus() noexcept;
  void AcceptHttp() noexcept;
  void ReadHttp(int fd) noexcept;
  void CloseHttp(int fd) noexcept;
  // Reads the request of a pending status connection; answers it once complete.
  void ReadStatusRequest(int fd) noexcept;
  void AnswerStatus(sys::UniqueFd fd, std::string_view request) noexcept;
  void OnRequestTimer() noexcept;

  sys::UniqueFd ep_;
  sys::UniqueFd status_fd_;
  std::string status_path_;
  Producer status_body_;
  sys::UniqueFd http_fd_;
  std::uint16_t http_port_ = 0;
  Producer http_body_;
  std::map<int, HttpConn> http_conns_;
  std::map<int, Handler> watched_;
  struct StatusConn {
    sys::UniqueFd fd;
    std::string request;
    std::int64_t accepted_ns = 0;
  };
  std::map<int, StatusConn> status_conns_;   // waiting for their request line
  std::optional<sys::Timer> request_timer_;  // answers the ones that never send one
  std::function<void(sys::UniqueFd)> events_take_;
  std::function<std::string(std::string_view)> managed_oom_take_;
  std::uint64_t status_served_ = 0;
  std::uint64_t refused_ = 0;
};

// Client side of the status socket: connects, sends "status", reads the whole answer
// (bounded, with a timeout). For `reaperd status`.
Result<std::string> QueryStatus(const std::string& path, int timeout_ms);

}  // namespace reaperd::report
