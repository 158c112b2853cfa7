#include "proc/meminfo.h"

#include <limits>

#include "proc/parse_util.h"

namespace reaperd::proc {

namespace {

std::uint64_t SaturatingAdd(std::uint64_t a, std::uint64_t b) noexcept {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

struct Key {
  std::string_view name;
  std::uint64_t MemInfo::*field;
};

constexpr Key kKeys[] = {
    {"MemTotal", &MemInfo::mem_total},
    {"MemFree", &MemInfo::mem_free},
    {"MemAvailable", &MemInfo::mem_available},
    {"Buffers", &MemInfo::buffers},
    {"Cached", &MemInfo::cached},
    {"SwapTotal", &MemInfo::swap_total},
    {"SwapFree", &MemInfo::swap_free},
    {"Shmem", &MemInfo::shmem},
    {"SReclaimable", &MemInfo::sreclaimable},
    {"Active(file)", &MemInfo::active_file},
    {"Inactive(file)", &MemInfo::inactive_file},
};

}  // namespace

Result<MemInfo> ParseMemInfo(std::string_view text) noexcept {
  if (Trim(text).empty()) return Fail(Error::Parse("meminfo: empty"));
  MemInfo m;
  bool has_total = false;
  bool has_free = false;
  std::string_view line;
  while (NextLine(text, line)) {
    if (Trim(line).empty()) continue;
    std::size_t colon = line.find(':');
    // Every meminfo line is "Key: value"; anything else is a cut or foreign file.
    if (colon == std::string_view::npos) return Fail(Error::Parse("meminfo: line without ':'"));
    std::string_view key = line.substr(0, colon);
    for (const Key& k : kKeys) {
      if (k.name != key) continue;
      auto v = ParseKibValue(line.substr(colon + 1), "meminfo: value");
      if (!v) return Fail(v.error());
      m.*k.field = *v;
      if (k.field == &MemInfo::mem_total) has_total = true;
      if (k.field == &MemInfo::mem_free) has_free = true;
      if (k.field == &MemInfo::mem_available) m.has_mem_available = true;
      break;
    }
  }
  if (!has_total) return Fail(Error::Missing("meminfo: MemTotal"));
  if (!has_free) return Fail(Error::Missing("meminfo: MemFree"));
  if (!m.has_mem_available) {
    // The pre-3.14 estimate: free memory plus what reclaim can take back easily.
    m.mem_available = SaturatingAdd(SaturatingAdd(m.mem_free, m.active_file),
                                    SaturatingAdd(m.inactive_file, m.sreclaimable));
  }
  return m;
}

}  // namespace reaperd::proc
