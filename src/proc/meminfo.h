// /proc/meminfo. All figures in bytes.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace reaperd::proc {

struct MemInfo {
  std::uint64_t mem_total = 0;
  std::uint64_t mem_free = 0;
  std::uint64_t mem_available = 0;
  std::uint64_t buffers = 0;
  std::uint64_t cached = 0;
  std::uint64_t swap_total = 0;
  std::uint64_t swap_free = 0;
  std::uint64_t shmem = 0;
  std::uint64_t sreclaimable = 0;
  std::uint64_t active_file = 0;
  std::uint64_t inactive_file = 0;
  bool has_mem_available = false;  // absent before 3.14; then estimated, see below
};

// Requires MemTotal and MemFree; the rest default to 0. Without MemAvailable, it is
// estimated as MemFree + Active(file) + Inactive(file) + SReclaimable.
Result<MemInfo> ParseMemInfo(std::string_view text) noexcept;

}  // namespace reaperd::proc
