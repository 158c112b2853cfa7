// Pressure stall information: /proc/pressure/memory and cgroup v2 memory.pressure.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace reaperd::proc {

struct PsiLine {
  double avg10 = 0;  // percent
  double avg60 = 0;
  double avg300 = 0;
  std::uint64_t total_us = 0;  // cumulative stall time, microseconds
};

struct Psi {
  PsiLine some;
  PsiLine full;
  bool has_full = false;  // the cpu file of old kernels has no "full" line
};

// Requires a "some" line with all four keys; "full" is optional.
Result<Psi> ParsePsi(std::string_view text) noexcept;

}  // namespace reaperd::proc
