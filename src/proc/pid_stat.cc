#include "proc/pid_stat.h"

#include <limits>

#include "proc/parse_util.h"

namespace reaperd::proc {

namespace {

constexpr std::string_view kStates = "RSDZTtXxKWPI";

Result<pid_t> ParsePid(std::string_view s, const char* context, bool allow_zero) noexcept {
  auto v = ParseI64Checked(s, context);
  if (!v) return Fail(v.error());
  if (*v < (allow_zero ? 0 : 1) || *v > std::numeric_limits<pid_t>::max()) {
    return Fail(Error::Of(Errc::kRange, context));
  }
  return static_cast<pid_t>(*v);
}

}  // namespace

Result<PidStat> ParsePidStat(std::string_view text) noexcept {
  // comm may hold anything but NUL, ')' and newlines included, so it ends at the LAST ')'.
  std::size_t open = text.find('(');
  std::size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return Fail(Error::Parse("stat: no (comm)"));
  }
  PidStat st;
  auto pid = ParsePid(Trim(text.substr(0, open)), "stat: pid", false);
  if (!pid) return Fail(pid.error());
  st.pid = *pid;
  st.comm.Assign(text.substr(open + 1, close - open - 1));

  // Fields 3.. follow the comm; fields[i] is field i + 3.
  constexpr int kNeeded = 24 - 2;
  std::string_view fields[kNeeded];
  std::string_view rest = text.substr(close + 1);
  for (std::string_view& f : fields) {
    if (!NextField(rest, f)) return Fail(Error::Parse("stat: fewer than 24 fields"));
  }
  if (fields[0].size() != 1 || kStates.find(fields[0][0]) == std::string_view::npos) {
    return Fail(Error::Parse("stat: state"));
  }
  st.state = fields[0][0];
  // The fields reaperd does not keep are still checked to be numbers: a stray word there
  // means the split went wrong and the kept fields would be shifted.
  for (int i = 1; i < kNeeded; ++i) {
    if (!ParseI64(fields[i]) && !ParseU64(fields[i])) {
      return Fail(ParseU64Checked(fields[i], "stat: field").error());
    }
  }
  auto ppid = ParsePid(fields[4 - 3], "stat: ppid", true);
  if (!ppid) return Fail(ppid.error());
  auto pgrp = ParsePid(fields[5 - 3], "stat: pgrp", true);
  if (!pgrp) return Fail(pgrp.error());
  auto session = ParsePid(fields[6 - 3], "stat: session", true);
  if (!session) return Fail(session.error());
  auto flags = ParseU64Checked(fields[9 - 3], "stat: flags");
  if (!flags) return Fail(flags.error());
  if (*flags > std::numeric_limits<std::uint32_t>::max()) {
    return Fail(Error::Of(Errc::kRange, "stat: flags"));
  }
  auto threads = ParseI64Checked(fields[20 - 3], "stat: num_threads");
  if (!threads) return Fail(threads.error());
  auto start = ParseU64Checked(fields[22 - 3], "stat: starttime");
  if (!start) return Fail(start.error());
  auto vsize = ParseU64Checked(fields[23 - 3], "stat: vsize");
  if (!vsize) return Fail(vsize.error());
  auto rss = ParseI64Checked(fields[24 - 3], "stat: rss");
  if (!rss) return Fail(rss.error());

  st.ppid = *ppid;
  st.pgrp = *pgrp;
  st.session = *session;
  st.flags = static_cast<std::uint32_t>(*flags);
  st.num_threads = *threads;
  st.starttime = *start;
  st.vsize = *vsize;
  st.rss_pages = *rss;
  return st;
}

Result<char> ParsePidStatState(std::string_view text) noexcept {
  const std::size_t close = text.rfind(')');
  if (close == std::string_view::npos || close + 3 >= text.size() || text[close + 1] != ' ' ||
      text[close + 3] != ' ' || kStates.find(text[close + 2]) == std::string_view::npos) {
    return Fail(Error::Parse("stat: state"));
  }
  return text[close + 2];
}

}  // namespace reaperd::proc
