// A fixed-size history of recent readings of one scope, and the arithmetic the detector
// needs over it: the least-squares trend of headroom and PSI stall shares over a window.
// No allocation after construction (the detector runs on the kill path).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace reaperd::pressure {

struct HistoryPoint {
  std::int64_t t_ns = 0;
  double headroom_bytes = 0;  // available + swap free
  std::uint64_t psi_some_us = 0;
  std::uint64_t psi_full_us = 0;
};

class History {
 public:
  // Enough for a 10 s window (the kernel's PSI window limit) at 100 ms, or 6.4 s at 50 ms.
  static constexpr std::size_t kCapacity = 128;

  void Push(const HistoryPoint& p) noexcept;
  void Clear() noexcept { size_ = 0; }
  std::size_t size() const noexcept { return size_; }
  // i = 0 is the newest point. REQUIRES: i < size().
  const HistoryPoint& Back(std::size_t i) const noexcept;

  // Least-squares slope of headroom (bytes/s) over the points within window_ns of the newest
  // one, and always the two newest; 0 with fewer than two points or no time spread. Given
  // min_rebound_bytes, over the current fall only: from the top of the latest rebound of more
  // than that within the window (a victim's memory coming back: what came before belongs to
  // another fall) to the newest.
  double Slope(std::int64_t window_ns,
               double min_rebound_bytes = std::numeric_limits<double>::infinity()) const noexcept;
  // The fastest fall (bytes/s, 0 if none) between two consecutive points within window_ns of
  // the newest and at least min_span_ns apart.
  double FastestFall(std::int64_t window_ns, std::int64_t min_span_ns) const noexcept;

  struct Shares {
    double some_percent = 0;
    double full_percent = 0;
  };
  // PSI stall share over the window: the counters' growth divided by the elapsed time, from
  // the newest point back to the oldest point at least window_ns old (or the oldest held).
  Shares PsiShares(std::int64_t window_ns) const noexcept;

 private:
  std::array<HistoryPoint, kCapacity> points_{};
  std::size_t head_ = 0;  // index of the next write
  std::size_t size_ = 0;
};

}  // namespace reaperd::pressure
