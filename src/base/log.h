// Structured logging: one line per event, "event key=value key=value ...", values of
// untrusted origin escaped and quoted (no log injection). The sink is injected (stderr,
// journald, or a recording fake); there is no global logger.
// Thread safety: Logger is safe from several threads if its sink is (the sinks here are).
// A line is formatted into a buffer on the stack, so logging does not allocate (the kill
// path logs) unless a line outgrows kLogLineInline.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace reaperd {

enum class LogLevel : unsigned char { kDebug, kInfo, kNotice, kWarning, kError };
const char* LogLevelName(LogLevel l) noexcept;
bool ParseLogLevel(std::string_view s, LogLevel* out) noexcept;

class LogSink {
 public:
  virtual ~LogSink() = default;
  // event: a short stable word ("kill", "level", "stall"); line: the whole formatted line.
  virtual void Write(LogLevel level, std::string_view event, std::string_view line) noexcept = 0;
  // Lines dropped so far because the destination would have blocked (a stalled journald, a
  // stderr pipe nobody reads): the daemon's sinks never wait (report/journal_sink.h).
  virtual std::uint64_t lines_dropped() const noexcept { return 0; }
};

// Writes "reaperd[LEVEL] line" to stderr with one write(2) per line.
class StderrSink final : public LogSink {
 public:
  void Write(LogLevel level, std::string_view event, std::string_view line) noexcept override;
};

// Keeps every line, for tests.
class RecordingSink final : public LogSink {
 public:
  void Write(LogLevel level, std::string_view event, std::string_view line) noexcept override;
  std::vector<std::string> Lines() const;
  bool Contains(std::string_view needle) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

// A value to be escaped and quoted in a log line: Q(comm) gives "comm" with \n, \x1b ...
struct Q {
  std::string_view text;
};

// The longest line formatted without a heap allocation; longer lines still work, through a
// heap buffer. The kill line with a 255-byte cgroup and escaped names stays well below it.
inline constexpr std::size_t kLogLineInline = 4096;

class Logger {
 public:
  explicit Logger(LogSink& sink, LogLevel min = LogLevel::kInfo) : sink_(&sink), min_(min) {}
  void set_min(LogLevel l) noexcept { min_ = l; }
  bool enabled(LogLevel l) const noexcept { return l >= min_; }
  LogSink& sink() const noexcept { return *sink_; }

  template <typename... Args>
  void Log(LogLevel level, std::string_view event, fmt::format_string<Args...> f,
           Args&&... args) noexcept {
    if (!enabled(level)) return;
    try {
      fmt::basic_memory_buffer<char, kLogLineInline> line;
      line.append(event);
      line.push_back(' ');
      fmt::format_to(std::back_inserter(line), f, std::forward<Args>(args)...);
      sink_->Write(level, event, std::string_view(line.data(), line.size()));
    } catch (...) {
      sink_->Write(LogLevel::kError, "log", "log formatting failed");
    }
  }

 private:
  LogSink* sink_;
  LogLevel min_;
};

}  // namespace reaperd

template <>
struct fmt::formatter<reaperd::Q> : fmt::formatter<std::string_view> {
  auto format(const reaperd::Q& q, fmt::format_context& ctx) const -> decltype(ctx.out());
};
