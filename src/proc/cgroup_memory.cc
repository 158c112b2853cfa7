#include "proc/cgroup_memory.h"

#include "proc/parse_util.h"

namespace reaperd::proc {

namespace {

template <class S>
struct Key {
  std::string_view name;
  std::uint64_t S::*field;
};

// Walks a flat-keyed file ("key value" per line). Every line must have exactly two fields,
// so a cut line is kParse; only the keys in keys are parsed as numbers, the rest skipped.
// found[i] tells whether keys[i] was seen.
template <class S, std::size_t N>
Result<void> ParseFlatKeyed(std::string_view text, const Key<S> (&keys)[N], S& out,
                            bool (&found)[N], const char* context) noexcept {
  if (Trim(text).empty()) return Fail(Error::Parse(context));
  std::string_view line;
  while (NextLine(text, line)) {
    std::string_view key, value, extra;
    if (!NextField(line, key)) continue;
    if (!NextField(line, value) || NextField(line, extra)) return Fail(Error::Parse(context));
    for (std::size_t i = 0; i < N; ++i) {
      if (keys[i].name != key) continue;
      auto v = ParseU64Checked(value, context);
      if (!v) return Fail(v.error());
      out.*keys[i].field = *v;
      found[i] = true;
      break;
    }
  }
  return {};
}

constexpr Key<MemoryEvents> kEventKeys[] = {
    {"low", &MemoryEvents::low},           {"high", &MemoryEvents::high},
    {"max", &MemoryEvents::max},           {"oom", &MemoryEvents::oom},
    {"oom_kill", &MemoryEvents::oom_kill}, {"oom_group_kill", &MemoryEvents::oom_group_kill},
};

constexpr Key<MemoryStatV2> kStatV2Keys[] = {
    {"anon", &MemoryStatV2::anon},
    {"file", &MemoryStatV2::file},
    {"kernel", &MemoryStatV2::kernel},
    {"shmem", &MemoryStatV2::shmem},
    {"sock", &MemoryStatV2::sock},
    {"file_mapped", &MemoryStatV2::file_mapped},
    {"active_file", &MemoryStatV2::active_file},
    {"inactive_file", &MemoryStatV2::inactive_file},
    {"slab_reclaimable", &MemoryStatV2::slab_reclaimable},
    {"workingset_refault_anon", &MemoryStatV2::workingset_refault_anon},
    {"workingset_refault_file", &MemoryStatV2::workingset_refault_file},
    {"pgscan", &MemoryStatV2::pgscan},
    {"pgsteal", &MemoryStatV2::pgsteal},
    {"pgmajfault", &MemoryStatV2::pgmajfault},
};

constexpr Key<MemoryStatV1> kStatV1Keys[] = {
    {"cache", &MemoryStatV1::cache},
    {"rss", &MemoryStatV1::rss},
    {"total_cache", &MemoryStatV1::total_cache},
    {"total_rss", &MemoryStatV1::total_rss},
    {"shmem", &MemoryStatV1::shmem},
    {"mapped_file", &MemoryStatV1::mapped_file},
    {"swap", &MemoryStatV1::swap},
    {"total_shmem", &MemoryStatV1::total_shmem},
    {"total_swap", &MemoryStatV1::total_swap},
    {"total_inactive_file", &MemoryStatV1::total_inactive_file},
    {"total_active_file", &MemoryStatV1::total_active_file},
    {"total_pgmajfault", &MemoryStatV1::total_pgmajfault},
    {"hierarchical_memory_limit", &MemoryStatV1::hierarchical_memory_limit},
};

// How many of the leading keys above each stat file must carry.
constexpr std::size_t kStatV2Required = 2;  // anon, file: present since cgroup v2 began
constexpr std::size_t kStatV1Required = 4;  // cache, rss, total_cache, total_rss

}  // namespace

Result<std::uint64_t> ParseCgroupValue(std::string_view text) noexcept {
  std::string_view s = Trim(text);
  if (s.empty()) return Fail(Error::Parse("cgroup value: empty"));
  if (s == "max") return kUnlimited;
  auto v = ParseU64Checked(s, "cgroup value");
  if (!v) return Fail(v.error());
  // v1 prints "no limit" as a page-rounded huge number rather than "max".
  return *v >= kV1UnlimitedFloor ? kUnlimited : *v;
}

Result<MemoryEvents> ParseMemoryEvents(std::string_view text) noexcept {
  MemoryEvents e;
  bool found[std::size(kEventKeys)] = {};
  if (auto r = ParseFlatKeyed(text, kEventKeys, e, found, "memory.events"); !r) {
    return Fail(r.error());
  }
  // oom_kill is what reaperd watches; it has been there since memory.events began (4.13).
  if (!found[4]) return Fail(Error::Missing("memory.events: oom_kill"));
  return e;
}

Result<MemoryStatV2> ParseMemoryStatV2(std::string_view text) noexcept {
  MemoryStatV2 s;
  bool found[std::size(kStatV2Keys)] = {};
  if (auto r = ParseFlatKeyed(text, kStatV2Keys, s, found, "memory.stat"); !r) {
    return Fail(r.error());
  }
  for (std::size_t i = 0; i < kStatV2Required; ++i) {
    if (!found[i]) return Fail(Error::Missing("memory.stat: anon/file"));
  }
  return s;
}

Result<MemoryStatV1> ParseMemoryStatV1(std::string_view text) noexcept {
  MemoryStatV1 s;
  bool found[std::size(kStatV1Keys)] = {};
  if (auto r = ParseFlatKeyed(text, kStatV1Keys, s, found, "memory.stat (v1)"); !r) {
    return Fail(r.error());
  }
  for (std::size_t i = 0; i < kStatV1Required; ++i) {
    if (!found[i]) return Fail(Error::Missing("memory.stat (v1): cache/rss/total_*"));
  }
  if (s.hierarchical_memory_limit >= kV1UnlimitedFloor) s.hierarchical_memory_limit = kUnlimited;
  return s;
}

Result<FileLru> ParseMemoryStatFileLru(std::string_view text, bool v1) noexcept {
  const char* context = v1 ? "memory.stat (v1): total_inactive_file/total_active_file"
                           : "memory.stat: inactive_file/active_file";
  // One pass over the lines, a prefix compare each, until both are found.
  const std::string_view keys[2] = {v1 ? "total_inactive_file " : "inactive_file ",
                                    v1 ? "total_active_file " : "active_file "};
  std::uint64_t values[2] = {};
  bool found[2] = {};
  std::string_view line;
  while ((!found[0] || !found[1]) && NextLine(text, line)) {
    for (int k = 0; k < 2; ++k) {
      if (found[k] || !line.starts_with(keys[k])) continue;
      auto v = ParseU64Checked(Trim(line.substr(keys[k].size())), context);
      if (!v) return Fail(v.error());
      values[k] = *v;
      found[k] = true;
    }
  }
  if (!found[0] || !found[1]) return Fail(Error::Missing(context));
  return FileLru{values[0], values[1]};
}

Result<OomControl> ParseOomControl(std::string_view text) noexcept {
  struct Raw {
    std::uint64_t disable = 0, under = 0, kills = 0;
  } raw;
  constexpr Key<Raw> kKeys[] = {
      {"oom_kill_disable", &Raw::disable}, {"under_oom", &Raw::under}, {"oom_kill", &Raw::kills}};
  bool found[3] = {};
  if (auto r = ParseFlatKeyed(text, kKeys, raw, found, "memory.oom_control"); !r) {
    return Fail(r.error());
  }
  if (!found[0] || !found[1]) return Fail(Error::Missing("memory.oom_control"));
  if (raw.disable > 1 || raw.under > 1) return Fail(Error::Of(Errc::kRange, "memory.oom_control"));
  OomControl c;
  c.oom_kill_disable = raw.disable == 1;
  c.under_oom = raw.under == 1;
  c.oom_kill = raw.kills;
  return c;
}

}  // namespace reaperd::proc
