#include "proc/swaps.h"

#include <algorithm>

#include "proc/parse_util.h"

namespace reaperd::proc {

namespace {

int ZramNumber(std::string_view name) noexcept {
  constexpr std::string_view kPrefix = "/dev/zram";
  if (!name.starts_with(kPrefix) || name.size() == kPrefix.size()) return -1;
  auto n = ParseU64(name.substr(kPrefix.size()));
  return n && *n < 4096 ? static_cast<int>(*n) : -1;
}

}  // namespace

Result<SwapList> ParseSwaps(std::string_view text) noexcept {
  SwapList out;
  std::string_view line;
  bool header = true;
  while (NextLine(text, line)) {
    if (header) {  // "Filename Type Size Used Priority"
      header = false;
      if (!line.starts_with("Filename")) return Fail(Error::Parse("swaps: header"));
      continue;
    }
    if (Trim(line).empty()) continue;
    std::string_view rest = line, name, type, size, used;
    if (!NextField(rest, name) || !NextField(rest, type) || !NextField(rest, size) ||
        !NextField(rest, used)) {
      return Fail(Error::Parse("swaps: line"));
    }
    auto s = ParseU64(size);
    auto u = ParseU64(used);
    if (!s || !u) return Fail(Error::Parse("swaps: size"));
    if (out.n == out.dev.size()) {
      ++out.more;
      continue;
    }
    SwapDevice& d = out.dev[out.n++];
    d.name.Assign(name);
    d.size_bytes = KibToBytes(*s);
    d.used_bytes = KibToBytes(*u);
    d.zram = d.name.truncated() ? -1 : ZramNumber(name);
  }
  return out;
}

Result<ZramStat> ParseZramMmStat(std::string_view text) noexcept {
  std::uint64_t v[4];
  for (auto& x : v) {
    std::string_view f;
    if (!NextField(text, f)) return Fail(Error::Parse("mm_stat: short"));
    auto n = ParseU64(f);
    if (!n) return Fail(Error::Parse("mm_stat: field"));
    x = *n;
  }
  return ZramStat{v[0], v[1], v[2], v[3]};
}

SwapWorth ZramWorth(const SwapDevice& dev, const ZramStat* stat) noexcept {
  if (stat == nullptr) return {};
  constexpr std::uint64_t kMeasurable = 1 << 20;
  double ratio = kZramAssumedRatio;
  if (stat->orig_bytes >= kMeasurable && stat->mem_used_bytes > 0) {
    ratio = static_cast<double>(stat->orig_bytes) / static_cast<double>(stat->mem_used_bytes);
  }
  // Each byte stored frees 1 - 1/ratio of a byte of RAM (nothing at 1:1 or worse).
  const double gain = ratio > 1 ? 1 - 1 / ratio : 0;
  double room = static_cast<double>(dev.size_bytes - std::min(dev.used_bytes, dev.size_bytes));
  if (stat->mem_limit_bytes > 0) {  // the device stops taking pages at its RAM limit
    const double ram_left = static_cast<double>(
        stat->mem_limit_bytes - std::min(stat->mem_used_bytes, stat->mem_limit_bytes));
    room = std::min(room, ram_left * ratio);
  }
  SwapWorth w;
  w.total_bytes = static_cast<std::uint64_t>(static_cast<double>(dev.size_bytes) * gain);
  w.free_bytes = static_cast<std::uint64_t>(room * gain);
  return w;
}

}  // namespace reaperd::proc
