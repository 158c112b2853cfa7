// Small helpers shared by the engine's stages (engine*.cc); not part of the engine's API.
#pragma once

#include <algorithm>
#include <cstdint>

#include "pressure/sample.h"

namespace reaperd::daemon {

inline constexpr double kMiB = 1024.0 * 1024.0;

inline double Mib(std::uint64_t b) { return static_cast<double>(b) / kMiB; }

// Nanoseconds as milliseconds, for log fields.
inline double Ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

// The system's used memory in a sample: RAM not available, and swap in use (as meminfo says:
// a page swapped out moves from the one to the other).
inline std::uint64_t UsedBytes(const pressure::PressureSample& s) {
  return s.total_bytes - std::min(s.available_bytes, s.total_bytes) + s.swap_used_raw_bytes;
}

// A refresh's growth nobody read, in bytes (never negative): what used memory grew by since
// the whole read (used_now - used_then) less what the refresh saw change (seen), plus what
// may have been filled between the sample and the refresh's reads (late_ns): twice the fill
// rate the detector measured (its slope, negative while headroom falls), at least
// kMinFillBytesPerSecond.
inline constexpr double kMinFillBytesPerSecond = 64.0 * 1024 * 1024;
inline double UnseenGrowthBytes(std::int64_t used_now, std::int64_t used_then, std::int64_t seen,
                                double slope_bytes_per_s, std::int64_t late_ns) {
  const double fill = std::max(2 * -slope_bytes_per_s, kMinFillBytesPerSecond);
  const double late_s = static_cast<double>(std::max<std::int64_t>(late_ns, 0)) / 1e9;
  const double unseen = static_cast<double>(used_now - used_then - seen) + fill * late_s;
  return std::max(unseen, 0.0);
}

// The seconds from one monotonic time in nanoseconds to another (metrics, status).
inline double Seconds(std::int64_t from_ns, std::int64_t to_ns) {
  return static_cast<double>(to_ns - from_ns) / 1e9;
}

}  // namespace reaperd::daemon
