#include "pressure/trace.h"

#include <array>
#include <charconv>
#include <cstdint>

namespace reaperd::pressure {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

Result<std::optional<PressureSample>> ParseTraceLine(std::string_view line) noexcept {
  if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  constexpr std::size_t kFields = 9;
  std::array<std::uint64_t, kFields> v{};
  std::size_t n = 0;
  const char* p = line.data();
  const char* end = line.data() + line.size();
  for (;;) {
    while (p < end && IsSpace(*p)) ++p;
    if (p == end) break;
    if (n == kFields) return Fail(Error::Parse("trace line: more than 9 fields"));
    const auto [next, ec] = std::from_chars(p, end, v[n]);
    if (ec != std::errc{} || (next < end && !IsSpace(*next))) {
      return Fail(Error::Parse("trace line: not an unsigned integer"));
    }
    p = next;
    ++n;
  }
  if (n == 0) return std::optional<PressureSample>{};
  if (n != kFields) return Fail(Error::Parse("trace line: fewer than 9 fields"));
  if (v[0] > static_cast<std::uint64_t>(INT64_MAX))
    return Fail(Error::Of(Errc::kRange, "trace t_ns"));
  PressureSample s;
  s.t_ns = static_cast<std::int64_t>(v[0]);
  s.total_bytes = v[1];
  s.available_bytes = v[2];
  s.swap_total_bytes = v[3];
  s.swap_free_bytes = v[4];
  s.psi_some_total_us = v[5];
  s.psi_full_total_us = v[6];
  s.refault_total = v[7];
  s.scan_total = v[8];
  return std::optional<PressureSample>{s};
}

Result<std::vector<PressureSample>> ParseTrace(std::string_view text) {
  std::vector<PressureSample> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto r = ParseTraceLine(line);
    if (!r) return Fail(r.error());
    if (!*r) continue;
    if (!out.empty() && (*r)->t_ns < out.back().t_ns) {
      return Fail(Error::Parse("trace: time goes backwards"));
    }
    out.push_back(**r);
  }
  return out;
}

}  // namespace reaperd::pressure
