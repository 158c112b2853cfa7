// /proc/vmstat: the reclaim counters the detector uses (cumulative, pages).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace reaperd::proc {

struct VmStat {
  std::uint64_t workingset_refault = 0;  // _anon + _file (or the old single counter)
  std::uint64_t pgscan = 0;              // pgscan_kswapd + pgscan_direct (+ khugepaged)
  std::uint64_t pgmajfault = 0;
  std::uint64_t oom_kill = 0;  // kernel OOM kills since boot
};

// Unknown keys are skipped; missing keys stay 0. Fails only on a malformed value.
Result<VmStat> ParseVmStat(std::string_view text) noexcept;

}  // namespace reaperd::proc
