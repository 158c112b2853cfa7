// Small helpers shared by the engine's stages (engine*.cc); not part of the engine's API.
#pragma once

#include <cstdint>

namespace reaperd::daemon {

inline constexpr double kMiB = 1024.0 * 1024.0;

inline double Mib(std::uint64_t b) { return static_cast<double>(b) / kMiB; }

}  // namespace reaperd::daemon
