#include "base/log.h"

#include <unistd.h>

#include "base/escape.h"

namespace reaperd {

const char* LogLevelName(LogLevel l) noexcept {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kNotice:
      return "notice";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

bool ParseLogLevel(std::string_view s, LogLevel* out) noexcept {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kNotice, LogLevel::kWarning,
                     LogLevel::kError}) {
    if (s == LogLevelName(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

void StderrSink::Write(LogLevel level, std::string_view, std::string_view line) noexcept {
  char buf[4096];
  auto r = fmt::format_to_n(buf, sizeof(buf) - 1, "reaperd[{}] {}", LogLevelName(level), line);
  std::size_t n = std::min(r.size, sizeof(buf) - 1);
  buf[n++] = '\n';
  ssize_t w = ::write(STDERR_FILENO, buf, n);
  (void)w;
}

void RecordingSink::Write(LogLevel, std::string_view, std::string_view line) noexcept {
  std::lock_guard lock(mu_);
  try {
    lines_.emplace_back(line);
  } catch (...) {
  }
}

std::vector<std::string> RecordingSink::Lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

bool RecordingSink::Contains(std::string_view needle) const {
  std::lock_guard lock(mu_);
  for (const auto& l : lines_) {
    if (l.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace reaperd

auto fmt::formatter<reaperd::Q>::format(const reaperd::Q& q, fmt::format_context& ctx) const
    -> decltype(ctx.out()) {
  // Escaped straight into the line's buffer: no string in between (see Logger).
  auto out = ctx.out();
  *out++ = '"';
  out = reaperd::EscapeTo(q.text, out);
  *out++ = '"';
  return out;
}
