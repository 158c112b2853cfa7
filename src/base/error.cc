#include "base/error.h"

#include <fmt/format.h>

#include <cstring>

namespace reaperd {

const char* ErrcName(Errc c) noexcept {
  switch (c) {
    case Errc::kSys:
      return "system error";
    case Errc::kParse:
      return "parse error";
    case Errc::kMissing:
      return "missing";
    case Errc::kRange:
      return "out of range";
    case Errc::kUnsupported:
      return "unsupported";
    case Errc::kTimeout:
      return "timed out";
    case Errc::kStale:
      return "stale";
    case Errc::kInvalid:
      return "invalid";
  }
  return "unknown";
}

std::string Error::ToString() const {
  if (code == Errc::kSys) {
    return fmt::format("{}: {}", context, std::strerror(sys_errno));
  }
  return fmt::format("{}: {}", context, ErrcName(code));
}

}  // namespace reaperd
