#include "proc/loadavg.h"

#include <cstdint>
#include <limits>

#include "proc/parse_util.h"

namespace reaperd::proc {

Result<pid_t> ParseLoadavgLastPid(std::string_view text) noexcept {
  text = Trim(text);
  const auto space = text.rfind(' ');
  // Five fields: the last one follows the fourth space.
  if (space == std::string_view::npos) return Fail(Error::Parse("loadavg: last pid"));
  std::size_t spaces = 0;
  for (char c : text) spaces += c == ' ' ? 1 : 0;
  if (spaces != 4) return Fail(Error::Parse("loadavg: five fields"));
  auto v = ParseU64Checked(text.substr(space + 1), "loadavg: last pid");
  if (!v) return Fail(v.error());
  if (*v > static_cast<std::uint64_t>(std::numeric_limits<pid_t>::max())) {
    return Fail(Error::Of(Errc::kRange, "loadavg: last pid"));
  }
  return static_cast<pid_t>(*v);
}

}  // namespace reaperd::proc
