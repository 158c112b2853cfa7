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

Result<TaskCensus> ParseLoadavgCensus(std::string_view text) noexcept {
  auto last = ParseLoadavgLastPid(text);
  if (!last) return Fail(last.error());
  // Five fields, checked above: the fourth is "running/total".
  text = Trim(text);
  const auto fourth_end = text.rfind(' ');
  const auto fourth_start = text.rfind(' ', fourth_end - 1);
  const std::string_view field = text.substr(fourth_start + 1, fourth_end - fourth_start - 1);
  const auto slash = field.find('/');
  if (slash == std::string_view::npos) return Fail(Error::Parse("loadavg: tasks"));
  auto tasks = ParseU64Checked(field.substr(slash + 1), "loadavg: tasks");
  if (!tasks) return Fail(tasks.error());
  return TaskCensus{.tasks = *tasks, .last_pid = *last};
}

}  // namespace reaperd::proc
