// The sampler reads one PressureSample for a scope: MemAvailable, swap (swap on zram as the
// RAM it would free, not as free memory) and PSI for the system; for a cgroup, the least headroom
// of any level up to the root before its memory.high or memory.max (v1: memory.limit_in_bytes),
// with reclaimable page cache counted as available (scan::ReadCgroupLimits), and memory.pressure
// (v2). Reads go into member buffers: no allocation per sample after construction.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"
#include "policy/scope.h"
#include "pressure/sample.h"
#include "scan/cgroup_limits.h"
#include "sys/clock.h"
#include "sys/held_file.h"
#include "sys/system_view.h"

namespace reaperd::daemon {

// The budget of the cgroup scopes' held files: a quarter of the soft RLIMIT_NOFILE at the first
// use, at most 1024.
sys::HeldFile::Budget& CgroupFileBudget() noexcept;

class Sampler {
 public:
  Sampler(sys::SystemView& view, const sys::Clock& clock, policy::Scope scope);

  Result<pressure::PressureSample> Sample() noexcept;
  // A cgroup scope's memory.stat (its reclaimable cache) is read at most once a second while
  // free memory alone is at least three times warn_available_percent of the ceiling, and
  // at every sample nearer (docs/architecture.md, "What a sample costs"). Not set, or a warn
  // share of a third or more: at every sample.
  void SetCacheReuse(double warn_available_percent) noexcept;
  // A cgroup scope's own usage alone, one pread (the engine's poll of a v2 scope, which has
  // no usage threshold to wake it).
  Result<std::uint64_t> PollUsage() noexcept;
  // How many times the kernel's OOM killer has killed in this scope (vmstat oom_kill for the
  // system, memory.events oom_kill on v2, memory.oom_control oom_kill on v1).
  Result<std::uint64_t> KernelOomKills() noexcept;
  const policy::Scope& scope() const noexcept { return scope_; }
  // The memory PSI file of this scope (relative to its root), for a PSI trigger; empty when
  // the scope has none (v1 cgroups).
  std::string PsiPath() const;
  bool psi_in_cgroupfs() const noexcept { return scope_.kind == policy::ScopeKind::kCgroup; }
  // From the last sample of a cgroup scope: its own ceiling (proc::kUnlimited: none, or not
  // sampled yet) and its own usage, descendants included (what a v1 usage threshold sees).
  std::uint64_t own_ceiling() const noexcept { return own_ceiling_; }
  std::uint64_t own_usage() const noexcept { return own_usage_; }
  bool v1() const noexcept { return v1_; }

 private:
  Result<void> SampleSystem(pressure::PressureSample& s) noexcept;
  // Swap on zram counted as the memory it frees, not as free memory (proc/swaps.h).
  void CountZramAsItsWorth(pressure::PressureSample& s) noexcept;
  Result<void> SampleCgroup(pressure::PressureSample& s) noexcept;
  Result<std::size_t> ReadCg(sys::HeldFile& file) noexcept;

  sys::SystemView& view_;
  const sys::Clock& clock_;
  policy::Scope scope_;
  bool v1_ = false;
  std::uint64_t own_ceiling_ = ~std::uint64_t{0};
  std::uint64_t own_usage_ = 0;
  double cache_reuse_free_share_ = 0;  // LimitWalk::cache_reuse_free_share
  // A cgroup scope's MemTotal, as last read from meminfo, and when.
  static constexpr sys::Nanos kMemTotalMaxAgeNs = 10 * sys::kSecond;
  std::uint64_t mem_total_ = 0;
  sys::Nanos mem_total_at_ = 0;
  // /proc/swaps as last listed: at which SwapTotal, and whether it had a zram device. Without
  // one it is listed again only when SwapTotal changes (swapon, swapoff).
  std::uint64_t swaps_listed_at_total_ = ~std::uint64_t{0};
  bool swaps_had_zram_ = false;
  std::string rel_;       // the scope's cgroup path relative to the cgroup root, with a '/'
  std::string psi_path_;  // memory.pressure's path (v2), for PsiPath
  std::array<char, 16384> buf_{};
  // The files read on every sample, held open (sys::HeldFile). The system scope's three are
  // held always; a cgroup scope's (its memory.pressure and OOM count, and
  // each level's limit files, below) take their places in CgroupFileBudget(), so that one
  // scope per limited cgroup found cannot spend the daemon's descriptors.
  sys::HeldFile meminfo_{sys::Root::kProc, "meminfo"};
  sys::HeldFile psi_{sys::Root::kProc, "pressure/memory"};
  sys::HeldFile vmstat_{sys::Root::kProc, "vmstat"};
  sys::HeldFile cg_psi_{sys::Root::kCgroup, ""};
  sys::HeldFile cg_oom_{sys::Root::kCgroup, ""};
  std::optional<scan::HeldCgroupLimits> limits_;
};

}  // namespace reaperd::daemon
