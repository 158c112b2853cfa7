// Output to an inherited fd (stderr) that never waits for its reader: a line that would block
// is refused with EAGAIN for the caller to drop and count. The loop thread logs, and a pipe to
// a stuck reader, a terminal stopped with ^S or a full stream socket to journald would
// otherwise stop it, between a kill decision and the next one (issue 12).
// How, by the kind of fd: a socket gets send(MSG_DONTWAIT); a pipe, FIFO or terminal is
// opened again through /proc/self/fd with O_NONBLOCK, a description of our own, so the flag
// never reaches the processes that share the original one (where that open fails, a write
// goes only when poll says there is room); a regular file is written as is (it has no reader
// to wait for).
// Thread-safe: Write only reads the object.
#pragma once

#include <unistd.h>

#include <string_view>

#include "base/error.h"
#include "sys/unique_fd.h"

namespace reaperd::sys {

class NonBlockingOutput {
 public:
  enum class Kind : unsigned char { kPlain, kSocket, kReopened, kPolled };

  explicit NonBlockingOutput(int fd = STDERR_FILENO) noexcept;

  // Writes data with one call. Errors: kSys with EAGAIN when the reader is not keeping up
  // (nothing written), kSys for any other failure. A short write (a stream nearly full) is
  // not retried: the rest would have to wait.
  Result<void> Write(std::string_view data) const noexcept;

  Kind kind() const noexcept { return kind_; }

 private:
  int fd_;
  UniqueFd own_;  // the private O_NONBLOCK description (kReopened)
  Kind kind_ = Kind::kPlain;
};

}  // namespace reaperd::sys
