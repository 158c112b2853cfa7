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

// The seconds from one monotonic time in nanoseconds to another (metrics, status).
inline double Seconds(std::int64_t from_ns, std::int64_t to_ns) {
  return static_cast<double>(to_ns - from_ns) / 1e9;
}

}  // namespace reaperd::daemon
