// Small helpers the parsers share: number parsing with std::from_chars (no locale, no
// exceptions) and line/field iteration over a string_view.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/error.h"

namespace reaperd::proc {

std::optional<std::uint64_t> ParseU64(std::string_view s) noexcept;
std::optional<std::int64_t> ParseI64(std::string_view s) noexcept;
// The same, saying why a field failed: kRange when the digits do not fit in 64 bits (or
// the sign does not fit an unsigned field), kParse for anything else. context names the field.
Result<std::uint64_t> ParseU64Checked(std::string_view s, const char* context) noexcept;
Result<std::int64_t> ParseI64Checked(std::string_view s, const char* context) noexcept;
// Parses a decimal like "12.34" (PSI averages) without locale.
std::optional<double> ParseDecimal(std::string_view s) noexcept;
std::string_view Trim(std::string_view s) noexcept;
// Pops the next line (without '\n') off text; false when text is empty.
bool NextLine(std::string_view& text, std::string_view& line) noexcept;
// Pops the next whitespace-separated field off text; false when none is left.
bool NextField(std::string_view& text, std::string_view& field) noexcept;
// Multiplies by 1024 with saturation (kB figures of /proc to bytes).
std::uint64_t KibToBytes(std::uint64_t kib) noexcept;
// A "   1234 kB" value of meminfo or status, in bytes (saturated). The unit is required, so
// a line cut inside its number is kParse rather than a silently smaller figure.
Result<std::uint64_t> ParseKibValue(std::string_view s, const char* context) noexcept;

}  // namespace reaperd::proc
