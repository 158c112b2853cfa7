// Escaping of untrusted text (process names, command lines) before it reaches a log line,
// a terminal or a report: control characters, backslashes, quotes and invalid UTF-8 become
// visible escapes, so a process cannot forge log lines or terminal sequences.
#pragma once

#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>

namespace reaperd {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid.
std::size_t Utf8Length(std::string_view s, std::size_t i) noexcept;

// Writes the escaped form of in to out: \n \t \\ \" and \xHH for other control bytes,
// DEL and bytes that are not part of valid UTF-8. A template over the output iterator so a
// log line escapes straight into its stack buffer, without a string in between.
template <class OutIt>
OutIt EscapeTo(std::string_view in, OutIt out) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto put = [&out](std::string_view s) {
    for (char ch : s) *out++ = ch;
  };
  for (std::size_t i = 0; i < in.size();) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c >= 0x80) {
      std::size_t n = Utf8Length(in, i);
      if (n > 0) {
        put(in.substr(i, n));
        i += n;
        continue;
      }
    }
    switch (c) {
      case '\n':
        put("\\n");
        break;
      case '\t':
        put("\\t");
        break;
      case '\r':
        put("\\r");
        break;
      case '\\':
        put("\\\\");
        break;
      case '"':
        put("\\\"");
        break;
      default:
        if (c < 0x20 || c == 0x7F || c >= 0x80) {
          put("\\x");
          *out++ = kHex[c >> 4];
          *out++ = kHex[c & 0xF];
        } else {
          *out++ = static_cast<char>(c);
        }
    }
    ++i;
  }
  return out;
}

// Appends the escaped form of in to out (see EscapeTo).
inline void AppendEscaped(std::string_view in, std::string& out) {
  EscapeTo(in, std::back_inserter(out));
}
std::string Escaped(std::string_view in);

}  // namespace reaperd
