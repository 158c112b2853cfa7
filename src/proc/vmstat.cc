#include "proc/vmstat.h"

#include "proc/parse_util.h"

namespace reaperd::proc {

Result<VmStat> ParseVmStat(std::string_view text) noexcept {
  VmStat v;
  std::uint64_t by_type = 0, by_source = 0;
  bool has_by_type = false;
  std::string_view line;
  while (NextLine(text, line)) {
    std::string_view rest = line, key, value;
    if (!NextField(rest, key) || !NextField(rest, value)) continue;
    auto n = ParseU64(value);
    if (!n) return Fail(Error::Parse("vmstat value"));
    if (key == "workingset_refault_anon" || key == "workingset_refault_file" ||
        key == "workingset_refault") {
      v.workingset_refault += *n;
    } else if (key == "pgscan_anon" || key == "pgscan_file") {
      by_type += *n;  // 5.8+: covers every reclaimer, memcg reclaim included
      has_by_type = true;
    } else if (key == "pgscan_kswapd" || key == "pgscan_direct" || key == "pgscan_khugepaged") {
      by_source += *n;
    } else if (key == "pgmajfault") {
      v.pgmajfault = *n;
    } else if (key == "oom_kill") {
      v.oom_kill = *n;
    }
  }
  v.pgscan = has_by_type ? by_type : by_source;
  return v;
}

}  // namespace reaperd::proc
