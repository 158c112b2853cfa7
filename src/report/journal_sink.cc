#include "report/journal_sink.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>

namespace reaperd::report {
namespace {

// syslog(3) priorities.
int Priority(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return 7;
    case LogLevel::kInfo:
      return 6;
    case LogLevel::kNotice:
      return 5;
    case LogLevel::kWarning:
      return 4;
    case LogLevel::kError:
      return 3;
  }
  return 6;
}

std::string_view MessageId(std::string_view event, std::string_view line) {
  if (event == "kill" || event == "kill_report") return kMessageIdKill;
  if (event == "stall") return kMessageIdStall;
  if (event == "last_resort" || event == "escalation") return kMessageIdEscalation;
  if (event == "level") return kMessageIdLevel;
  if (event == "reaped") {
    if (line.find(" last_resort=") != std::string_view::npos &&
        line.find(" last_resort=none") == std::string_view::npos) {
      return kMessageIdEscalation;
    }
    if (line.find(" outcome=missed_deadline") != std::string_view::npos) return kMessageIdStall;
    return kMessageIdKillResult;
  }
  return {};
}

// Splits "event k=v k=\"quoted v\" ..." into pairs; a quoted value ends at an unescaped quote.
template <class F>
void ForEachPair(std::string_view line, F&& f) {
  std::size_t i = line.find(' ');
  while (i != std::string_view::npos && i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const std::size_t eq = line.find('=', i);
    if (eq == std::string_view::npos) return;
    std::string_view key = line.substr(i, eq - i);
    std::size_t end = eq + 1;
    if (end < line.size() && line[end] == '"') {
      ++end;
      while (end < line.size() && line[end] != '"') end += line[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, line.size());
    } else {
      end = line.find(' ', end);
      if (end == std::string_view::npos) end = line.size();
    }
    if (key.find(' ') == std::string_view::npos) f(key, line.substr(eq + 1, end - eq - 1));
    i = end;
  }
}

// Calls f(name, value) for every journal field of the line, in order (see JournalFields),
// building names in a stack buffer: no allocation.
template <class F>
void ForEachField(LogLevel level, std::string_view event, std::string_view line, F&& f) {
  f("MESSAGE", line);
  const char priority = static_cast<char>('0' + Priority(level));
  f("PRIORITY", std::string_view(&priority, 1));
  f("SYSLOG_IDENTIFIER", "reaperd");
  f("REAPERD_EVENT", event);
  if (auto id = MessageId(event, line); !id.empty()) f("MESSAGE_ID", id);
  ForEachPair(line, [&](std::string_view key, std::string_view value) {
    constexpr std::string_view kPrefix = "REAPERD_";
    char name[256];
    if (key.size() > sizeof name - kPrefix.size()) return;  // no such key in reaperd's lines
    kPrefix.copy(name, kPrefix.size());
    std::size_t n = kPrefix.size();
    for (char c : key) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      name[n++] = ok ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : '_';
    }
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    f(std::string_view(name, n), value);
  });
}

// Room for a line of kLogLineInline and the note of dropped lines.
using NotedLine = std::array<char, kLogLineInline + 64>;

}  // namespace

std::string_view DroppedLines::Note(std::string_view line, std::span<char> buf,
                                    std::uint64_t* noted) noexcept {
  *noted = pending_.exchange(0);
  if (*noted == 0) return line;
  if (line.size() + 40 <= buf.size()) {
    auto r = fmt::format_to_n(buf.data(), buf.size(), "{} log_lines_dropped={}", line, *noted);
    if (r.size <= buf.size()) return {buf.data(), r.size};
  }
  pending_ += *noted;  // no room for the note: the next line carries it
  *noted = 0;
  return line;
}

void DroppedLines::Dropped(std::uint64_t noted) noexcept {
  total_.fetch_add(1);
  pending_.fetch_add(noted + 1);
}

std::vector<std::string> JournalFields(LogLevel level, std::string_view event,
                                       std::string_view line) {
  std::vector<std::string> out;
  ForEachField(level, event, line, [&](std::string_view name, std::string_view value) {
    std::string field(name);
    field.push_back('=');
    field.append(value);
    out.push_back(std::move(field));
  });
  return out;
}

void StderrLogSink::Write(LogLevel level, std::string_view, std::string_view line) noexcept {
  NotedLine noted_buf;
  std::uint64_t noted = 0;
  line = dropped_.Note(line, noted_buf, &noted);
  std::array<char, sizeof(NotedLine) + 32> buf;
  auto r =
      fmt::format_to_n(buf.data(), buf.size() - 1, "reaperd[{}] {}", LogLevelName(level), line);
  std::size_t n = std::min(r.size, buf.size() - 1);
  buf[n++] = '\n';
  auto w = out_.Write(std::string_view(buf.data(), n));
  // A reader that is not keeping up loses the line (counted and said later); any other
  // failure has nowhere left to be told.
  if (!w && w.error().sys_errno == EAGAIN) dropped_.Dropped(noted);
}

void JournalSink::Write(LogLevel level, std::string_view event, std::string_view line) noexcept {
  if (!socket_) {
    fallback_.Write(level, event, line);
    return;
  }
  NotedLine noted_buf;
  std::uint64_t noted = 0;
  const std::string_view text = dropped_.Note(line, noted_buf, &noted);
  // Encoded on the stack: sending a line allocates nothing. A line too large for it (none of
  // reaperd's own) goes through the allocating encoder.
  sys::JournalEntryBuffer entry;
  ForEachField(level, event, text,
               [&](std::string_view name, std::string_view value) { entry.Add(name, value); });
  Result<void> sent =
      entry.overflowed() ? SendLarge(level, event, text) : socket_->Send(entry.view());
  if (sent) return;
  if (sent.error().sys_errno == EAGAIN) {
    // journald is not keeping up: waiting for it could hold a kill, so the line is dropped.
    dropped_.Dropped(noted);
    return;
  }
  // The journal is gone (restarting, say): stderr still reaches someone, without waiting.
  fallback_.Write(level, event, text);
}

Result<void> JournalSink::SendLarge(LogLevel level, std::string_view event,
                                    std::string_view line) const noexcept {
  try {
    return socket_->Send(sys::EncodeJournalEntry(JournalFields(level, event, line)));
  } catch (...) {
    return Fail(Error::Of(Errc::kRange, "journal entry: out of memory"));
  }
}

bool StderrIsJournal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) return false;
  const std::string_view v(env);
  const auto colon = v.find(':');
  if (colon == std::string_view::npos) return false;
  std::uint64_t dev = 0, ino = 0;
  auto [p1, e1] = std::from_chars(v.data(), v.data() + colon, dev);
  auto [p2, e2] = std::from_chars(v.data() + colon + 1, v.data() + v.size(), ino);
  if (e1 != std::errc() || e2 != std::errc()) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

std::unique_ptr<LogSink> MakeLogSink() {
  if (StderrIsJournal() && ::access("/run/systemd/journal/socket", W_OK) == 0) {
    return std::make_unique<JournalSink>();
  }
  return std::make_unique<StderrLogSink>();
}

}  // namespace reaperd::report
