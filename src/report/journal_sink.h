// Logging to the systemd journal: every line goes out with PRIORITY from its level, a
// MESSAGE_ID per kind of event (so `journalctl MESSAGE_ID=...` finds every kill, stall,
// escalation and level change), and each key=value of the line as a REAPERD_KEY= field.
// MakeLogSink picks the journal when reaperd runs as a systemd service, else stderr.
// Neither sink ever waits for its reader (issue 12: the loop thread logs, and a stalled
// journald or a stuck stderr pipe must not hold a kill): a line that would block is dropped
// and counted (lines_dropped(), exported as reaperd_log_lines_dropped_total), and the next
// line that gets through ends with " log_lines_dropped=N", once. Sending a line of up to
// kLogLineInline allocates nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "sys/journal_socket.h"
#include "sys/nonblocking_output.h"

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

// The count of lines a sink dropped rather than wait, and the note of them the next line
// that gets through carries. Thread-safe.
class DroppedLines {
 public:
  // The line to send: line itself, or (when lines were dropped since the last one that got
  // through) line + " log_lines_dropped=N" formatted into buf. *noted is that N (0: none).
  std::string_view Note(std::string_view line, std::span<char> buf, std::uint64_t* noted) noexcept;
  // The line (carrying a note of `noted`) was dropped too: the next one says so instead.
  void Dropped(std::uint64_t noted) noexcept;
  std::uint64_t total() const noexcept { return total_.load(); }

 private:
  std::atomic<std::uint64_t> total_{0};
  std::atomic<std::uint64_t> pending_{0};
};

// Writes "reaperd[LEVEL] line" to stderr (or fd) with one write per line, never waiting
// (sys/nonblocking_output.h).
class StderrLogSink final : public LogSink {
 public:
  explicit StderrLogSink(int fd = STDERR_FILENO) noexcept : out_(fd) {}
  void Write(LogLevel level, std::string_view event, std::string_view line) noexcept override;
  std::uint64_t lines_dropped() const noexcept override { return dropped_.total(); }

 private:
  sys::NonBlockingOutput out_;
  DroppedLines dropped_;
};

// Sends each line to journald over its native protocol (sys/journal_socket); a line the
// journal refuses for another reason than a full queue, or every line when the socket
// cannot be made, goes to stderr instead.
class JournalSink final : public LogSink {
 public:
  explicit JournalSink(std::string_view socket_path = sys::JournalSocket::kDefaultPath)
      : socket_(sys::JournalSocket::Open(socket_path)) {}
  void Write(LogLevel level, std::string_view event, std::string_view line) noexcept override;
  std::uint64_t lines_dropped() const noexcept override {
    return dropped_.total() + fallback_.lines_dropped();
  }

 private:
  Result<void> SendLarge(LogLevel level, std::string_view event,
                         std::string_view line) const noexcept;

  Result<sys::JournalSocket> socket_;
  DroppedLines dropped_;
  StderrLogSink fallback_;
};

// True when stderr is connected to the journal: systemd sets JOURNAL_STREAM=dev:inode of
// the stream it gives a service. A daemon run by hand or by a test (stderr to a terminal or
// a file) keeps writing plain lines to stderr.
bool StderrIsJournal();
// The journal when stderr goes to it (and its socket exists), else stderr (StderrLogSink).
std::unique_ptr<LogSink> MakeLogSink();

}  // namespace reaperd::report
