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

// The level above dir ("/a/b" -> "/a"), empty above the top level: the walk's step, shared by
// the walk and by HeldCgroupLimits, which holds the files of the levels it will take.
std::string_view Parent(std::string_view dir) noexcept {
  const std::size_t slash = dir.find_last_of('/');
  return slash == std::string_view::npos || slash == 0 ? std::string_view{} : dir.substr(0, slash);
}

// A level's files, as the walk names them.
enum class LimitFile : unsigned char { kMax, kHigh, kSwapMax, kUsage, kStat };

std::string_view FileName(LimitFile f, bool v1) noexcept {
  switch (f) {
    case LimitFile::kMax:
      return v1 ? "memory.limit_in_bytes" : "memory.max";
    case LimitFile::kHigh:
      return "memory.high";
    case LimitFile::kSwapMax:
      return "memory.swap.max";
    case LimitFile::kUsage:
      return v1 ? "memory.usage_in_bytes" : "memory.current";
    case LimitFile::kStat:
      return "memory.stat";
  }
  return {};
}

// The walk, over a reader of one level's file: read(level, dir, file, buf), level 0 being the
// cgroup itself and dir its path at that level. memo (one per level, or empty: nothing
// remembered) is what HeldCgroupLimits keeps between walks; now is the walk's time.
template <typename ReadFn>
Result<CgroupLimits> Walk(std::string_view cgroup, bool v1, const LimitWalk& walk,
                          std::span<char> scratch, ReadFn&& read, std::span<LevelMemo> memo,
                          sys::Nanos now) noexcept {
  auto value = [&](std::size_t level, std::string_view dir, LimitFile f) -> Result<std::uint64_t> {
    std::array<char, 64> buf;
    auto r = read(level, dir, f, std::span<char>(buf));
    if (!r) return Fail(r.error());
    return proc::ParseCgroupValue({buf.data(), r->size});
  };
  auto young = [&](sys::Nanos at, sys::Nanos max_age) {
    return at >= 0 && now >= at && now - at < max_age;
  };
  // Reclaimable page cache of one level (descendants included), from its memory.stat.
  auto reclaimable = [&](std::size_t level, std::string_view dir) -> Result<std::uint64_t> {
    auto r = read(level, dir, LimitFile::kStat, scratch);
    if (!r) return Fail(r.error());
    // Cut short, a counter may be cut mid-number: none is taken.
    if (r->truncated) return Fail(Error::Parse("memory.stat: cut short"));
    auto lru = proc::ParseMemoryStatFileLru({scratch.data(), r->size}, v1);
    if (!lru) return Fail(lru.error());
    return lru->inactive + lru->active / 2;
  };
  CgroupLimits out;
  std::size_t level = 0;
  // Views into `cgroup`: walking up the path builds no string.
  for (std::string_view dir = cgroup; !dir.empty() && dir != "/"; dir = Parent(dir), ++level) {
    LevelMemo* m = level < memo.size() ? &memo[level] : nullptr;
    if (level > 0 && m != nullptr &&
        young(m->unlimited_at, HeldCgroupLimits::kUnlimitedRecheckNs)) {
      continue;
    }
    auto max = value(level, dir, LimitFile::kMax);
    if (!max && level == 0) return Fail(max.error());  // the cgroup itself must exist
    if (!max && m != nullptr) m->unlimited_at = -1;
    if (max) {
      std::uint64_t ceiling = *max;
      if (!v1) {
        // memory.high appeared with memory.max; unreadable means not set.
        if (auto high = value(level, dir, LimitFile::kHigh)) ceiling = std::min(ceiling, *high);
      }
      if (level > 0 && m != nullptr) {
        m->unlimited_at = ceiling == proc::kUnlimited && *max == proc::kUnlimited ? now : -1;
      }
      if (level == 0) out.own_ceiling = ceiling;
      out.max = std::min(out.max, *max);
      out.ceiling = std::min(out.ceiling, ceiling);
      if (walk.swap) {
        std::uint64_t with_swap = *max;
        if (!v1 && *max != proc::kUnlimited) {
          auto swap = value(level, dir, LimitFile::kSwapMax);
          with_swap += std::min(swap ? *swap : 0, walk.swap_total);
        }
        out.max_with_swap = std::min(out.max_with_swap, with_swap);
      }
      if (walk.headroom && ceiling != proc::kUnlimited) {
        auto usage = value(level, dir, LimitFile::kUsage);
        if (!usage && level == 0) return Fail(usage.error());
        if (usage) {
          if (level == 0) out.own_usage = *usage;
          const std::uint64_t free = *usage >= ceiling ? 0 : ceiling - *usage;
          // Far enough from the ceiling that no level decision can hang on the cache, a
          // young enough read of it serves; nearer, it is read at every walk.
          const bool far = walk.cache_reuse_free_share > 0 &&
                           static_cast<double>(free) >=
                               walk.cache_reuse_free_share * static_cast<double>(ceiling);
          Result<std::uint64_t> cache = Fail(Error::Of(Errc::kMissing, "memory.stat"));
          if (far && m != nullptr && young(m->cache_at, HeldCgroupLimits::kCacheReuseNs)) {
            cache = m->cache;
          } else {
            // A cut or unreadable memory.stat counts no cache: the headroom errs low.
            cache = reclaimable(level, dir);
            if (m != nullptr) {
              m->cache_at = cache ? now : -1;
              m->cache = cache.value_or(0);
            }
          }
          const std::uint64_t reclaimable_bytes = cache ? std::min(*cache, *usage) : 0;
          out.available = std::min(out.available, std::min(ceiling, free + reclaimable_bytes));
        }
      }
    }
  }
  return out;
}

}  // namespace

Result<CgroupLimits> ReadCgroupLimits(sys::SystemView& view, std::string_view cgroup,
                                      const LimitWalk& walk, std::span<char> scratch) noexcept {
  const bool v1 = view.cgroup_version() == sys::CgroupVersion::kV1;
  return Walk(
      cgroup, v1, walk, scratch,
      [&](std::size_t, std::string_view dir, LimitFile f, std::span<char> buf) {
        return ReadFile(view, dir, FileName(f, v1), buf);
      },
      std::span<LevelMemo>(), 0);
}

HeldCgroupLimits::HeldCgroupLimits(std::string_view cgroup, sys::CgroupVersion version,
                                   sys::HeldFile::Budget* budget)
    : cgroup_(cgroup), v1_(version == sys::CgroupVersion::kV1) {
  std::array<char, 4200> path;
  for (std::string_view dir = cgroup; !dir.empty() && dir != "/"; dir = Parent(dir)) {
    for (int f = 0; f < kFiles; ++f) {
      const std::string_view rel = CgroupFile(dir, FileName(static_cast<LimitFile>(f), v1_), path);
      if (rel.empty()) {  // too long: read by path, whose error says so
        files_.clear();
        return;
      }
      files_.emplace_back(sys::Root::kCgroup, std::string(rel), budget);
    }
    memo_.emplace_back();
  }
}

Result<CgroupLimits> HeldCgroupLimits::Read(sys::SystemView& view, const LimitWalk& walk,
                                            std::span<char> scratch, sys::Nanos now) noexcept {
  if (files_.empty()) return ReadCgroupLimits(view, cgroup_, walk, scratch);
  return Walk(
      cgroup_, v1_, walk, scratch,
      [&](std::size_t level, std::string_view, LimitFile f, std::span<char> buf) {
        return files_[level * kFiles + static_cast<std::size_t>(f)].Read(view, buf);
      },
      std::span<LevelMemo>(memo_), now);
}

Result<std::uint64_t> HeldCgroupLimits::ReadOwnUsage(sys::SystemView& view) noexcept {
  std::array<char, 64> buf;
  auto r = files_.empty() ? ReadFile(view, cgroup_, FileName(LimitFile::kUsage, v1_), buf)
                          : files_[static_cast<std::size_t>(LimitFile::kUsage)].Read(view, buf);
  if (!r) return Fail(r.error());
  return proc::ParseCgroupValue({buf.data(), r->size});
}

}  // namespace reaperd::scan
