// Logging to the systemd journal: every line goes out with PRIORITY from its level, a
// MESSAGE_ID per kind of event (so `journalctl MESSAGE_ID=...` finds every kill, stall,
// escalation and level change), and each key=value of the line as a REAPERD_KEY= field.
// MakeLogSink picks the journal when reaperd runs as a systemd service, else stderr.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "sys/journal_socket.h"

namespace reaperd::report {

// The message ids (128-bit, made once for reaperd with a random generator).
inline constexpr std::string_view kMessageIdKill = "e0400fefd8c44c5a9f408bbd6a28c2a9";
inline constexpr std::string_view kMessageIdKillResult = "ac55b0059db04018b0adfe03e13b9098";
inline constexpr std::string_view kMessageIdStall = "f5d852d5f81a456f8b2f80adb928a30a";
inline constexpr std::string_view kMessageIdEscalation = "30df1c4536e546179cc886edb84053dd";
inline constexpr std::string_view kMessageIdLevel = "1ee48c86e5de4498bc436a303fd3ec92";

// The journal fields of one line ("FIELD=value" each): MESSAGE, PRIORITY, SYSLOG_IDENTIFIER,
// REAPERD_EVENT, MESSAGE_ID when the event has one, and REAPERD_<KEY> per key=value pair
// (quoted values keep their escapes: they stay one line and cannot forge fields).
std::vector<std::string> JournalFields(LogLevel level, std::string_view event,
                                       std::string_view line);

// Sends each line to journald over its native protocol (sys/journal_socket); a line the
// journal refuses, or every line when the socket cannot be made, goes to stderr instead.
class JournalSink final : public LogSink {
 public:
  explicit JournalSink(std::string_view socket_path = sys::JournalSocket::kDefaultPath)
      : socket_(sys::JournalSocket::Open(socket_path)) {}
  void Write(LogLevel level, std::string_view event, std::string_view line) noexcept override;

 private:
  Result<sys::JournalSocket> socket_;
};

// True when stderr is connected to the journal: systemd sets JOURNAL_STREAM=dev:inode of
// the stream it gives a service. A daemon run by hand or by a test (stderr to a terminal or
// a file) keeps writing plain lines to stderr.
bool StderrIsJournal();
// The journal when stderr goes to it (and its socket exists), else stderr.
std::unique_ptr<LogSink> MakeLogSink();

}  // namespace reaperd::report
