// A one-shot request over a unix stream socket, for applications that take trim requests
// on a socket: connect, write one line, wait for one reply line (or the peer closing) until
// a timeout. Non-blocking throughout, so it is bounded by timeout_ms.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace reaperd::sys {

enum class UnixReply : unsigned char { kReplied, kClosed, kTimedOut };

// Errors: kSys with ENOENT/ECONNREFUSED when nobody listens, other errnos as they come;
// kInvalid for a path too long for sockaddr_un. reply receives the reply line (without the
// newline, at most 4 KiB).
Result<UnixReply> UnixRequest(std::string_view path, std::string_view line, int timeout_ms,
                              std::string* reply) noexcept;

}  // namespace reaperd::sys
