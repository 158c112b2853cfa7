#include "proc/parse_util.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

namespace reaperd::proc {

namespace {

// ' ', or '\t' '\n' '\v' '\f' '\r' (9 to 13): two compares for the parsers' every character.
bool IsSpace(char c) noexcept {
  return c == ' ' || static_cast<unsigned char>(c - '\t') <= '\r' - '\t';
}

bool IsDigits(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// from_chars must consume the whole field: "12abc" is not a number.
template <class T>
std::optional<T> ParseWhole(std::string_view s) noexcept {
  T v{};
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::uint64_t> ParseU64(std::string_view s) noexcept {
  return ParseWhole<std::uint64_t>(s);
}

std::optional<std::int64_t> ParseI64(std::string_view s) noexcept {
  return ParseWhole<std::int64_t>(s);
}

Result<std::uint64_t> ParseU64Checked(std::string_view s, const char* context) noexcept {
  if (auto v = ParseU64(s)) return *v;
  // Plain digits that failed can only have overflowed; "-5" is a number of the wrong sign.
  std::string_view digits = (!s.empty() && s.front() == '-') ? s.substr(1) : s;
  if (IsDigits(digits)) return Fail(Error::Of(Errc::kRange, context));
  return Fail(Error::Parse(context));
}

Result<std::int64_t> ParseI64Checked(std::string_view s, const char* context) noexcept {
  if (auto v = ParseI64(s)) return *v;
  std::string_view digits = (!s.empty() && s.front() == '-') ? s.substr(1) : s;
  if (IsDigits(digits)) return Fail(Error::Of(Errc::kRange, context));
  return Fail(Error::Parse(context));
}

std::optional<double> ParseDecimal(std::string_view s) noexcept {
  // Only digits, one optional '.', and an optional leading '-': from_chars alone would also
  // take "inf", "nan" and exponents, none of which the kernel prints.
  std::string_view body = (!s.empty() && s.front() == '-') ? s.substr(1) : s;
  std::size_t dot = body.find('.');
  std::string_view whole = body.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : body.substr(dot + 1);
  if (!IsDigits(whole) || (dot != std::string_view::npos && !IsDigits(frac))) return std::nullopt;
  double v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v, std::chars_format::fixed);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string_view Trim(std::string_view s) noexcept {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool NextLine(std::string_view& text, std::string_view& line) noexcept {
  if (text.empty()) return false;
  std::size_t nl = text.find('\n');
  if (nl == std::string_view::npos) {
    line = text;
    text = {};
  } else {
    line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
  }
  return true;
}

bool NextField(std::string_view& text, std::string_view& field) noexcept {
  std::size_t i = 0;
  while (i < text.size() && IsSpace(text[i])) ++i;
  if (i == text.size()) {
    text = {};
    return false;
  }
  std::size_t j = i;
  while (j < text.size() && !IsSpace(text[j])) ++j;
  field = text.substr(i, j - i);
  text.remove_prefix(j);
  return true;
}

std::uint64_t KibToBytes(std::uint64_t kib) noexcept {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  return kib > kMax / 1024 ? kMax : kib * 1024;
}

Result<std::uint64_t> ParseKibValue(std::string_view s, const char* context) noexcept {
  std::string_view number, unit, extra;
  if (!NextField(s, number) || !NextField(s, unit) || unit != "kB" || NextField(s, extra)) {
    return Fail(Error::Parse(context));
  }
  auto kib = ParseU64Checked(number, context);
  if (!kib) return Fail(kib.error());
  return KibToBytes(*kib);
}

}  // namespace reaperd::proc
