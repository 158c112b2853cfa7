#include "daemon/sampler.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "proc/cgroup_memory.h"
#include "proc/meminfo.h"
#include "proc/psi.h"
#include "proc/swaps.h"
#include "proc/vmstat.h"
#include "scan/cgroup_limits.h"

namespace reaperd::daemon {

sys::HeldFile::Budget& CgroupFileBudget() noexcept {
  static sys::HeldFile::Budget budget([] {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return std::size_t{256};
    return std::min<std::size_t>(r.rlim_cur / 4, 1024);
  }());
  return budget;
}

Sampler::Sampler(sys::SystemView& view, const sys::Clock& clock, policy::Scope scope)
    : view_(view), clock_(clock), scope_(std::move(scope)) {
  v1_ = view_.cgroup_version() == sys::CgroupVersion::kV1;
  if (scope_.kind == policy::ScopeKind::kCgroup) {
    std::string_view c = scope_.cgroup;
    while (!c.empty() && c.front() == '/') c.remove_prefix(1);
    rel_ = c.empty() ? "" : std::string(c) + "/";
    sys::HeldFile::Budget* budget = &CgroupFileBudget();
    meminfo_ = sys::HeldFile(sys::Root::kProc, "meminfo", budget);
    if (!v1_) {
      psi_path_ = rel_ + "memory.pressure";
      cg_psi_ = sys::HeldFile(sys::Root::kCgroup, psi_path_, budget);
    }
    cg_oom_ = sys::HeldFile(sys::Root::kCgroup,
                            rel_ + (v1_ ? "memory.oom_control" : "memory.events"), budget);
    limits_.emplace(scope_.cgroup, view_.cgroup_version(), budget);
  }
}

std::string Sampler::PsiPath() const {
  if (scope_.kind == policy::ScopeKind::kSystem) return "pressure/memory";
  return psi_path_;
}

Result<std::size_t> Sampler::ReadCg(sys::HeldFile& file) noexcept {
  auto r = file.Read(view_, buf_);
  if (!r) return Fail(r.error());
  return r->size;
}

Result<std::uint64_t> Sampler::KernelOomKills() noexcept {
  if (scope_.kind == policy::ScopeKind::kSystem) {
    auto r = vmstat_.Read(view_, buf_);
    if (!r) return Fail(r.error());
    auto vm = proc::ParseVmStat({buf_.data(), r->size});
    if (!vm) return Fail(vm.error());
    return vm->oom_kill;
  }
  auto n = ReadCg(cg_oom_);
  if (!n) return Fail(n.error());
  if (v1_) {
    auto oc = proc::ParseOomControl({buf_.data(), *n});
    if (!oc) return Fail(oc.error());
    return oc->oom_kill;
  }
  auto ev = proc::ParseMemoryEvents({buf_.data(), *n});
  if (!ev) return Fail(ev.error());
  return ev->oom_kill;
}

Result<pressure::PressureSample> Sampler::Sample() noexcept {
  pressure::PressureSample s;
  s.t_ns = clock_.Now();
  auto r = scope_.kind == policy::ScopeKind::kSystem ? SampleSystem(s) : SampleCgroup(s);
  if (!r) return Fail(r.error());
  return s;
}

Result<std::uint64_t> Sampler::PollUsage() noexcept {
  if (!limits_) return Fail(Error::Sys(EINVAL, "the system scope has no cgroup usage"));
  return limits_->ReadOwnUsage(view_);
}

Result<void> Sampler::SampleSystem(pressure::PressureSample& s) noexcept {
  auto r = meminfo_.Read(view_, buf_);
  if (!r) return Fail(r.error());
  auto mem = proc::ParseMemInfo({buf_.data(), r->size});
  if (!mem) return Fail(mem.error());
  s.total_bytes = mem->mem_total;
  s.available_bytes = mem->mem_available;
  s.swap_total_bytes = mem->swap_total;
  s.swap_free_bytes = mem->swap_free;
  s.swap_used_raw_bytes = mem->swap_total - std::min(mem->swap_free, mem->swap_total);
  if (s.swap_total_bytes > 0) CountZramAsItsWorth(s);

  if (auto p = psi_.Read(view_, buf_)) {
    if (auto psi = proc::ParsePsi({buf_.data(), p->size})) {
      s.psi_some_total_us = psi->some.total_us;
      s.psi_full_total_us = psi->full.total_us;
      s.has_psi = true;
    } else {
      s.has_psi = false;
    }
  } else {
    s.has_psi = false;
  }
  // No vmstat here: its refault and scan counters decide nothing (KernelOomKills reads it).
  return {};
}

void Sampler::CountZramAsItsWorth(pressure::PressureSample& s) noexcept {
  // Swap on disks only, and SwapTotal as it was: no zram device came or went.
  if (!swaps_had_zram_ && s.swap_total_bytes == swaps_listed_at_total_) return;
  auto r = view_.Read(sys::Root::kProc, "swaps", buf_);
  if (!r) return;
  auto swaps = proc::ParseSwaps({buf_.data(), r->size});
  if (!swaps) return;
  swaps_listed_at_total_ = s.swap_total_bytes;
  swaps_had_zram_ = std::any_of(swaps->dev.begin(), swaps->dev.begin() + swaps->n,
                                [](const proc::SwapDevice& d) { return d.zram >= 0; });
  std::uint64_t zram_total = 0, zram_free = 0;
  for (std::size_t i = 0; i < swaps->n; ++i) {
    const proc::SwapDevice& d = swaps->dev[i];
    if (d.zram < 0) continue;
    // Swap on zram: its size and free space out, what it is worth as memory in.
    const std::uint64_t free = d.size_bytes - std::min(d.used_bytes, d.size_bytes);
    s.swap_total_bytes -= std::min(d.size_bytes, s.swap_total_bytes);
    s.swap_free_bytes -= std::min(free, s.swap_free_bytes);
    char path[48];
    auto end = fmt::format_to_n(path, sizeof(path) - 1, "block/zram{}/mm_stat", d.zram).out;
    *end = '\0';
    std::optional<proc::ZramStat> stat;
    if (auto m = view_.Read(sys::Root::kSys, path, buf_)) {
      if (auto z = proc::ParseZramMmStat({buf_.data(), m->size})) stat = *z;
    }
    const proc::SwapWorth w = proc::ZramWorth(d, stat ? &*stat : nullptr);
    s.swap_total_bytes += w.total_bytes;
    s.swap_free_bytes += w.free_bytes;
    zram_total += d.size_bytes;
    zram_free += free;
  }
  s.zram_swap_bytes = zram_total;
  s.zram_swap_free_bytes = zram_free;
}

void Sampler::SetCacheReuse(double warn_available_percent) noexcept {
  const double share = 3 * warn_available_percent / 100;
  cache_reuse_free_share_ = share > 0 && share < 1 ? share : 0;
}

Result<void> Sampler::SampleCgroup(pressure::PressureSample& s) noexcept {
  // The headroom is the least any level up to the root has left before its ceiling
  // (memory.high or memory.max, whichever is lower): a cgroup without a limit of its own
  // under a limited parent lives within the parent's. Reclaimable page cache counts as
  // available: a scope full of cache is not in trouble.
  auto limits = limits_->Read(
      view_, {.headroom = true, .cache_reuse_free_share = cache_reuse_free_share_}, buf_, s.t_ns);
  if (!limits) return Fail(limits.error());
  own_ceiling_ = limits->own_ceiling;
  own_usage_ = limits->own_usage;

  // Without a limit on the way up the cgroup lives within the system's memory. Below
  // MemTotal it takes nothing from meminfo but MemTotal, which changes only when memory is
  // plugged or ballooned: read again after kMemTotalMaxAgeNs, not at every sample.
  auto within_system = [&] {  // true too before the first read, with mem_total_ 0
    return limits->ceiling == proc::kUnlimited || limits->ceiling >= mem_total_;
  };
  std::uint64_t mem_available = 0;
  if (within_system() || s.t_ns - mem_total_at_ >= kMemTotalMaxAgeNs) {
    auto m = meminfo_.Read(view_, buf_);
    if (!m) return Fail(m.error());
    auto mem = proc::ParseMemInfo({buf_.data(), m->size});
    if (!mem) return Fail(mem.error());
    mem_total_ = mem->mem_total;
    mem_total_at_ = s.t_ns;
    mem_available = mem->mem_available;
  }
  if (within_system()) {
    s.total_bytes = mem_total_;
    s.available_bytes = std::min(mem_available, limits->available);
  } else {
    s.total_bytes = limits->ceiling;
    s.available_bytes = std::min(limits->ceiling, limits->available);
  }
  // Swap is not modelled per cgroup here: a cgroup's swap limit rarely helps it survive.
  s.swap_total_bytes = 0;
  s.swap_free_bytes = 0;

  s.has_psi = false;
  if (!psi_path_.empty()) {
    if (auto p = ReadCg(cg_psi_)) {
      if (auto psi = proc::ParsePsi({buf_.data(), *p})) {
        s.psi_some_total_us = psi->some.total_us;
        s.psi_full_total_us = psi->full.total_us;
        s.has_psi = true;
      }
    }
  }
  return {};
}

}  // namespace reaperd::daemon
