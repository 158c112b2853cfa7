#include "report/journal_sink.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
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

}  // namespace

std::vector<std::string> JournalFields(LogLevel level, std::string_view event,
                                       std::string_view line) {
  std::vector<std::string> out;
  out.push_back("MESSAGE=" + std::string(line));
  out.push_back("PRIORITY=" + std::to_string(Priority(level)));
  out.push_back("SYSLOG_IDENTIFIER=reaperd");
  out.push_back("REAPERD_EVENT=" + std::string(event));
  if (auto id = MessageId(event, line); !id.empty()) out.push_back("MESSAGE_ID=" + std::string(id));
  ForEachPair(line, [&](std::string_view key, std::string_view value) {
    std::string field = "REAPERD_";
    for (char c : key) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      field.push_back(ok ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : '_');
    }
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    out.push_back(field + "=" + std::string(value));
  });
  return out;
}

void JournalSink::Write(LogLevel level, std::string_view event, std::string_view line) noexcept {
  try {
    if (socket_) {
      const std::string entry = sys::EncodeJournalEntry(JournalFields(level, event, line));
      if (socket_->Send(entry)) return;
    }
  } catch (...) {
  }
  // The journal refused (or we ran out of memory): stderr still reaches someone.
  StderrSink fallback;
  fallback.Write(level, event, line);
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
  return std::make_unique<StderrSink>();
}

}  // namespace reaperd::report
