#include "pressure/history.h"

#include <algorithm>

namespace reaperd::pressure {

void History::Push(const HistoryPoint& p) noexcept {
  points_[head_] = p;
  head_ = (head_ + 1) % kCapacity;
  if (size_ < kCapacity) ++size_;
}

const HistoryPoint& History::Back(std::size_t i) const noexcept {
  return points_[(head_ + kCapacity - 1 - i) % kCapacity];
}

double History::Slope(std::int64_t window_ns, double min_rebound_bytes) const noexcept {
  if (size_ < 2) return 0;
  const std::int64_t t_end = Back(0).t_ns;
  // The previous point always counts: at the slow interval it is older than the window.
  std::size_t count = 2;
  while (count < size_ && t_end - Back(count).t_ns <= window_ns) ++count;
  // Back from the newest point the fall climbs to its top; a point more than
  // min_rebound_bytes below that top is the trough before a rebound: the fall began at the top.
  std::size_t top = 0;
  for (std::size_t i = 1; i < count; ++i) {
    if (Back(i).headroom_bytes > Back(top).headroom_bytes) {
      top = i;
    } else if (Back(i).headroom_bytes < Back(top).headroom_bytes - min_rebound_bytes) {
      count = std::max<std::size_t>(top, 1) + 1;
      break;
    }
  }
  // Times relative to the newest point keep the sums small and exact enough in doubles.
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const HistoryPoint& p = Back(i);
    const double x = static_cast<double>(p.t_ns - t_end) / 1e9;
    n += 1;
    sx += x;
    sy += p.headroom_bytes;
    sxx += x * x;
    sxy += x * p.headroom_bytes;
  }
  const double denom = n * sxx - sx * sx;
  if (n < 2 || denom <= 1e-12) return 0;
  return (n * sxy - sx * sy) / denom;
}

double History::FastestFall(std::int64_t window_ns, std::int64_t min_span_ns) const noexcept {
  double fastest = 0;
  if (size_ < 2) return fastest;
  const std::int64_t t_end = Back(0).t_ns;
  for (std::size_t i = 1; i < size_ && t_end - Back(i).t_ns <= window_ns; ++i) {
    const HistoryPoint& newer = Back(i - 1);
    const HistoryPoint& older = Back(i);
    const std::int64_t span = newer.t_ns - older.t_ns;
    if (span < min_span_ns) continue;
    fastest = std::max(
        fastest, (older.headroom_bytes - newer.headroom_bytes) / (static_cast<double>(span) / 1e9));
  }
  return fastest;
}

History::Shares History::PsiShares(std::int64_t window_ns) const noexcept {
  if (size_ < 2) return {};
  const HistoryPoint& newest = Back(0);
  std::size_t i = 1;
  while (i + 1 < size_ && newest.t_ns - Back(i).t_ns < window_ns) ++i;
  const HistoryPoint& old = Back(i);
  const std::int64_t dt_ns = newest.t_ns - old.t_ns;
  if (dt_ns <= 0) return {};
  const double dt_us = static_cast<double>(dt_ns) / 1e3;
  // Counters never go backwards; if one does (a new cgroup under the same name), the share
  // is 0 rather than huge.
  auto share = [&](std::uint64_t now, std::uint64_t then) {
    if (now <= then) return 0.0;
    const double pct = static_cast<double>(now - then) / dt_us * 100.0;
    return pct > 100.0 ? 100.0 : pct;
  };
  return {share(newest.psi_some_us, old.psi_some_us), share(newest.psi_full_us, old.psi_full_us)};
}

}  // namespace reaperd::pressure
