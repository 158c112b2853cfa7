// Small helpers the parsers share: number parsing with std::from_chars (no locale, no
// exceptions) and line/field iteration over a string_view.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace reaperd::proc {

std::optional<std::uint64_t> ParseU64(std::string_view s) noexcept;
std::optional<std::int64_t> ParseI64(std::string_view s) noexcept;
// Parses a decimal like "12.34" (PSI averages) without locale.
std::optional<double> ParseDecimal(std::string_view s) noexcept;
std::string_view Trim(std::string_view s) noexcept;
// Pops the next line (without '\n') off text; false when text is empty.
bool NextLine(std::string_view& text, std::string_view& line) noexcept;
// Pops the next whitespace-separated field off text; false when none is left.
bool NextField(std::string_view& text, std::string_view& field) noexcept;
// Multiplies by 1024 with saturation (kB figures of /proc to bytes).
std::uint64_t KibToBytes(std::uint64_t kib) noexcept;

}  // namespace reaperd::proc
