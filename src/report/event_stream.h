// The event stream of the status socket (`events` request): JSON lines, one per event (level
// changes, reclaim steps, kills), sent to a few subscribers without ever blocking the daemon.
// Each subscriber has a buffer reserved when the stream is made; a subscriber that does not
// keep up loses the events that do not fit, and gets {"event":"lost","count":N} in their place
// once its buffer has room again. Loop thread only, except Post().
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "sys/event_loop.h"
#include "sys/unique_fd.h"

namespace reaperd::report {

// A bounded byte queue of whole lines, its memory reserved at construction. Pure: no I/O.
class EventBuffer {
 public:
  explicit EventBuffer(std::size_t capacity);

  // Queues `line` (it must end in '\n'). When earlier lines were lost, the lost note goes
  // first, and the line is queued only if both fit. False: the line was lost (counted).
  bool Push(std::string_view line);
  // The bytes not yet sent, contiguous.
  std::string_view Pending() const noexcept { return std::string_view(buf_).substr(head_); }
  // n bytes of Pending() were sent; once the queue has room, a pending lost note is queued.
  void Consume(std::size_t n);
  bool empty() const noexcept { return head_ == buf_.size(); }
  std::uint64_t lost_unreported() const noexcept { return lost_; }
  std::uint64_t lost_total() const noexcept { return lost_total_; }
  std::size_t capacity() const noexcept { return capacity_; }
  void Clear() noexcept;

 private:
  bool Fits(std::size_t n) const noexcept { return buf_.size() - head_ + n <= capacity_; }
  void Append(std::string_view s);
  // Queues the lost note if it fits; false if it did not.
  bool NoteLost();

  std::size_t capacity_;
  std::string buf_;
  std::size_t head_ = 0;
  std::uint64_t lost_ = 0;  // lost since the last note
  std::uint64_t lost_total_ = 0;
};

class EventStream {
 public:
  static constexpr std::size_t kMaxSubscribers = 4;
  static constexpr std::size_t kBufferBytes = 64 * 1024;

  static Result<std::unique_ptr<EventStream>> Create();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // Readable when a subscriber can take more, has gone, or Post() queued lines.
  int fd() const noexcept { return ep_.fd(); }
  void OnReady() noexcept;

  // Takes a connected, non-blocking socket as a subscriber (after sending it the
  // "subscribed" line). False (fd closed) when kMaxSubscribers are already connected.
  bool Add(sys::UniqueFd fd) noexcept;
  // Queues one JSON line (no newline) for every subscriber and sends what the sockets take.
  void Publish(std::string_view json_line) noexcept;
  // From any thread: the line is published by the loop at its next OnReady. False (the line
  // dropped) when nobody is subscribed or the loop has not taken the last 64 lines.
  bool Post(std::string json_line) noexcept;

  std::size_t subscribers() const noexcept { return subscribers_.load(std::memory_order_relaxed); }
  std::uint64_t lost_total() const noexcept { return lost_total_; }

 private:
  struct Slot {
    sys::UniqueFd fd;
    EventBuffer buf{kBufferBytes};
    bool want_out = false;
  };
  EventStream(sys::Epoll ep, sys::EventFd wake) : ep_(std::move(ep)), wake_(std::move(wake)) {}
  void Flush(Slot& s) noexcept;
  void Close(Slot& s) noexcept;
  void Drain(Slot& s) noexcept;  // reads and discards what the subscriber sent; closes at EOF

  sys::Epoll ep_;
  sys::EventFd wake_;
  std::array<Slot, kMaxSubscribers> slots_;
  std::mutex posted_mu_;
  std::vector<std::string> posted_;
  std::vector<std::string> taking_;
  std::uint64_t lost_total_ = 0;
  std::atomic<std::size_t> subscribers_{0};  // read by Post from other threads
};

// Client side: connects to the status socket, asks for `events` and checks the answer's
// first line. The returned socket then carries one JSON line per event.
Result<sys::UniqueFd> SubscribeEvents(const std::string& socket_path, int timeout_ms);

}  // namespace reaperd::report
