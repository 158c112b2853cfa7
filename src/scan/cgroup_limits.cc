#include "scan/cgroup_limits.h"

#include <algorithm>
#include <array>
#include <cerrno>

namespace reaperd::scan {

namespace {

// "dir/file" relative to the cgroup root, in buf; empty when it does not fit (no cgroup
// path is that long: PATH_MAX is 4096).
std::string_view CgroupFile(std::string_view dir, std::string_view file, std::span<char> buf) {
  while (!dir.empty() && dir.front() == '/') dir.remove_prefix(1);
  const std::size_t n = dir.size() + (dir.empty() ? 0 : 1) + file.size();
  if (n > buf.size()) return {};
  char* out = std::copy(dir.begin(), dir.end(), buf.data());
  if (!dir.empty()) *out++ = '/';
  std::copy(file.begin(), file.end(), out);
  return {buf.data(), n};
}

Result<sys::ReadResult> ReadFile(sys::SystemView& view, std::string_view dir, std::string_view file,
                                 std::span<char> buf) noexcept {
  std::array<char, 4200> path;
  const std::string_view rel = CgroupFile(dir, file, path);
  if (rel.empty()) return Fail(Error::Sys(ENAMETOOLONG, "cgroup path"));
  return view.Read(sys::Root::kCgroup, rel, buf);
}

Result<std::uint64_t> ReadValue(sys::SystemView& view, std::string_view dir,
                                std::string_view file) noexcept {
  std::array<char, 64> buf;
  auto r = ReadFile(view, dir, file, buf);
  if (!r) return Fail(r.error());
  return proc::ParseCgroupValue({buf.data(), r->size});
}

// Reclaimable page cache of one level (descendants included), from its memory.stat.
Result<std::uint64_t> Reclaimable(sys::SystemView& view, std::string_view dir, bool v1,
                                  std::span<char> scratch) noexcept {
  auto r = ReadFile(view, dir, "memory.stat", scratch);
  if (!r) return Fail(r.error());
  const std::string_view text{scratch.data(), r->size};
  if (v1) {
    auto st = proc::ParseMemoryStatV1(text);
    if (!st) return Fail(st.error());
    return st->total_inactive_file + st->total_active_file / 2;
  }
  auto st = proc::ParseMemoryStatV2(text);
  if (!st) return Fail(st.error());
  return st->inactive_file + st->active_file / 2;
}

}  // namespace

Result<CgroupLimits> ReadCgroupLimits(sys::SystemView& view, std::string_view cgroup,
                                      const LimitWalk& walk, std::span<char> scratch) noexcept {
  const bool v1 = view.cgroup_version() == sys::CgroupVersion::kV1;
  CgroupLimits out;
  // Views into `cgroup`: walking up the path builds no string.
  for (std::string_view dir = cgroup; !dir.empty() && dir != "/";) {
    auto max = ReadValue(view, dir, v1 ? "memory.limit_in_bytes" : "memory.max");
    if (!max && dir == cgroup) return Fail(max.error());  // the cgroup itself must exist
    if (max) {
      std::uint64_t ceiling = *max;
      if (!v1) {
        // memory.high appeared with memory.max; unreadable means not set.
        if (auto high = ReadValue(view, dir, "memory.high")) ceiling = std::min(ceiling, *high);
      }
      if (dir == cgroup) out.own_ceiling = ceiling;
      out.max = std::min(out.max, *max);
      out.ceiling = std::min(out.ceiling, ceiling);
      if (walk.swap) {
        std::uint64_t with_swap = *max;
        if (!v1 && *max != proc::kUnlimited) {
          auto swap = ReadValue(view, dir, "memory.swap.max");
          with_swap += std::min(swap ? *swap : 0, walk.swap_total);
        }
        out.max_with_swap = std::min(out.max_with_swap, with_swap);
      }
      if (walk.headroom && ceiling != proc::kUnlimited) {
        auto usage = ReadValue(view, dir, v1 ? "memory.usage_in_bytes" : "memory.current");
        if (!usage && dir == cgroup) return Fail(usage.error());
        if (usage) {
          if (dir == cgroup) out.own_usage = *usage;
          // A cut or unreadable memory.stat counts no cache: the headroom errs low.
          auto cache = Reclaimable(view, dir, v1, scratch);
          const std::uint64_t free = *usage >= ceiling ? 0 : ceiling - *usage;
          const std::uint64_t reclaimable = cache ? std::min(*cache, *usage) : 0;
          out.available = std::min(out.available, std::min(ceiling, free + reclaimable));
        }
      }
    }
    const std::size_t slash = dir.find_last_of('/');
    dir = slash == std::string_view::npos || slash == 0 ? std::string_view{} : dir.substr(0, slash);
  }
  return out;
}

}  // namespace reaperd::scan
