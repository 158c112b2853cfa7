// The systemd journal's native protocol without libsystemd: one datagram per entry to
// /run/systemd/journal/socket, each field "KEY=VALUE\n", or, for a value holding a newline,
// "KEY\n" + its length as 64-bit little-endian + the value + "\n". An entry too large for a
// datagram goes in a sealed memfd passed with SCM_RIGHTS, as journald expects. Written here
// so the daemon needs no libsystemd (and its six libraries) mapped and locked (issue 8).
// The socket is non-blocking: a journal that does not keep up (stalled by the very memory
// pressure being handled, say) refuses an entry with EAGAIN at once, for the caller to drop
// and count, instead of stopping the daemon's loop on its way to a signal (issue 12).
// Thread-safe: Send only reads the object; datagrams are atomic.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "base/error.h"
#include "sys/unique_fd.h"

namespace reaperd::sys {

// Appends one field, given as "KEY=VALUE", in the native encoding. A field without '=' is
// appended as a key with an empty value.
void AppendJournalField(std::string& out, std::string_view field);
// Every field in order: the payload of one journal entry.
std::string EncodeJournalEntry(std::span<const std::string> fields);

// One entry encoded into fixed storage (a local on the caller's stack): sending a log line
// allocates nothing. An entry that does not fit is marked overflowed (and left incomplete).
class JournalEntryBuffer {
 public:
  static constexpr std::size_t kCapacity = 12 * 1024;

  // Appends one field in the native encoding.
  void Add(std::string_view key, std::string_view value) noexcept;
  bool overflowed() const noexcept { return overflowed_; }
  std::string_view view() const noexcept { return {buf_.data(), size_}; }

  // The raw appends the encoding is made of.
  void append(std::string_view s) noexcept;
  void push_back(char c) noexcept;

 private:
  std::array<char, kCapacity> buf_;
  std::size_t size_ = 0;
  bool overflowed_ = false;
};

class JournalSocket {
 public:
  static constexpr std::string_view kDefaultPath = "/run/systemd/journal/socket";

  // An unconnected datagram socket aimed at path (a restarted journald re-creates the socket
  // file, so every Send names the address). Errors: kInvalid for a path too long; kSys.
  static Result<JournalSocket> Open(std::string_view path = kDefaultPath) noexcept;

  // Sends one encoded entry without waiting; when it is too large for a datagram (EMSGSIZE,
  // ENOBUFS), the entry goes in a sealed memfd instead. Errors: kSys with EAGAIN when the
  // journal's queue is full (nothing sent); kSys otherwise.
  Result<void> Send(std::string_view entry) const noexcept;

 private:
  JournalSocket(UniqueFd fd, const sockaddr_un& addr, socklen_t len) noexcept
      : fd_(std::move(fd)), addr_(addr), addr_len_(len) {}
  Result<void> SendMemfd(std::string_view entry) const noexcept;

  UniqueFd fd_;
  sockaddr_un addr_{};
  socklen_t addr_len_ = 0;
};

}  // namespace reaperd::sys
