// The values that flow into and out of the pressure detector: one PressureSample per scope
// per tick (built by the daemon's sampler from meminfo, PSI and cgroup files), and the
// Decision the detector makes from it. Plain values, no I/O: any layer may include this.
#pragma once

#include <cstdint>

namespace reaperd::pressure {

// One reading of a scope. Counters are cumulative (as the kernel reports them); the detector
// takes their deltas, so a sampler never needs to remember anything.
struct PressureSample {
  std::int64_t t_ns = 0;              // monotonic time of the reading
  std::uint64_t total_bytes = 0;      // MemTotal, or the cgroup limit
  std::uint64_t available_bytes = 0;  // MemAvailable, or limit - usage + reclaimable file
  // Swap as memory: swap on zram counts as the RAM it would free (proc/swaps.h), not its size.
  std::uint64_t swap_total_bytes = 0;
  std::uint64_t swap_free_bytes = 0;
  std::uint64_t zram_swap_bytes = 0;       // the zram devices' size (0: none), for reports
  std::uint64_t zram_swap_free_bytes = 0;  // and their free space, as /proc/swaps says
  std::uint64_t swap_used_raw_bytes = 0;   // SwapTotal - SwapFree as meminfo says (system)
  std::uint64_t psi_some_total_us = 0;     // PSI "some" total= (not avg10, which lags)
  std::uint64_t psi_full_total_us = 0;     // PSI "full" total=
  bool has_psi = true;                     // false: the scope has no PSI of its own
  // Workingset refaults and pages scanned by reclaim: columns of the recorded traces
  // (tools/capture_trace.py). The live sampler leaves them 0: no decision uses them, and
  // reading them (vmstat, memory.stat) on every sample was CPU for nothing (issue 13).
  std::uint64_t refault_total = 0;
  std::uint64_t scan_total = 0;
};

enum class Level : std::uint8_t { kOk, kWarn, kReclaim, kKill };

// Why the level is what it is; a Decision carries a set of these.
enum Reason : std::uint8_t {
  kReasonNone = 0,
  kReasonAvailableLow = 1 << 0,        // headroom below the level's threshold
  kReasonTimeToExhaustion = 1 << 1,    // the trend reaches the kill floor within the horizon
  kReasonPsiSomeSustained = 1 << 2,    // PSI some above its threshold for the sustain time
  kReasonPsiFullSustained = 1 << 3,    // PSI full above its threshold (sustained for kKill)
  kReasonVictimPending = 1 << 4,       // a kill was held back: the last victim's memory is
                                       // not visibly back yet and its deadline has not passed
  kReasonManagedOomPressure = 1 << 5,  // a unit's ManagedOOMMemoryPressure=kill limit was
                                       // exceeded (daemon/engine_managed_oom.cc)
  kReasonSwapExhausted = 1 << 6,       // swap and memory both used past swap_used_kill_percent
                                       // (systemd-oomd's SwapUsedLimit): the largest swap user
  kReasonLast = kReasonSwapExhausted,
};
using Reasons = std::uint8_t;

struct Decision {
  Level level = Level::kOk;
  Reasons reasons = kReasonNone;
  std::int64_t time_to_exhaustion_ms = -1;  // to the kill floor; -1: not falling
  double psi_some_percent = 0;              // share of wall time over the PSI window
  double psi_full_percent = 0;
  double available_percent = 100;  // (available + swap free) / (total + swap total)
  double slope_bytes_per_s = 0;    // d(headroom)/dt from the trend; negative when falling
  int next_interval_ms = 0;        // when the sampler should look again
  // Something is going on (see Detector): next_interval_ms is interval_fast_ms for that
  // reason, not only because the headroom is small enough for a fast hog to use up.
  bool busy = false;
};

const char* LevelName(Level l) noexcept;

}  // namespace reaperd::pressure
