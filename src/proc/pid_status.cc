#include "proc/pid_status.h"

#include <limits>

#include "proc/parse_util.h"

namespace reaperd::proc {

namespace {

template <class T>
Result<T> ParseBounded(std::string_view s, const char* context, std::int64_t min) noexcept {
  auto v = ParseI64Checked(Trim(s), context);
  if (!v) return Fail(v.error());
  if (*v < min || *v > static_cast<std::int64_t>(std::numeric_limits<T>::max())) {
    return Fail(Error::Of(Errc::kRange, context));
  }
  return static_cast<T>(*v);
}

struct MemKey {
  std::string_view name;
  std::uint64_t PidStatus::*field;
};

constexpr MemKey kMemKeys[] = {
    {"VmRSS", &PidStatus::vm_rss},     {"RssAnon", &PidStatus::rss_anon},
    {"RssFile", &PidStatus::rss_file}, {"RssShmem", &PidStatus::rss_shmem},
    {"VmSwap", &PidStatus::vm_swap},   {"VmPTE", &PidStatus::vm_pte},
};

}  // namespace

Result<PidStatus> ParsePidStatus(std::string_view text) noexcept {
  if (Trim(text).empty()) return Fail(Error::Parse("status: empty"));
  PidStatus st;
  bool has_name = false, has_tgid = false, has_pid = false, has_uid = false;
  pid_t pid = 0;
  std::string_view line;
  while (NextLine(text, line)) {
    if (Trim(line).empty()) continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Fail(Error::Parse("status: line without ':'"));
    std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (key == "Name") {
      // The kernel escapes the name but keeps its spaces, so only the tab separator goes.
      while (!value.empty() && value.front() == '\t') value.remove_prefix(1);
      st.name.Assign(value);
      has_name = true;
    } else if (key == "State") {
      value = Trim(value);
      if (value.empty()) return Fail(Error::Parse("status: State"));
      st.state = value.front();
    } else if (key == "Tgid") {
      auto v = ParseBounded<pid_t>(value, "status: Tgid", 1);
      if (!v) return Fail(v.error());
      st.tgid = *v;
      has_tgid = true;
    } else if (key == "Pid") {
      auto v = ParseBounded<pid_t>(value, "status: Pid", 1);
      if (!v) return Fail(v.error());
      pid = *v;
      has_pid = true;
    } else if (key == "PPid") {
      auto v = ParseBounded<pid_t>(value, "status: PPid", 0);
      if (!v) return Fail(v.error());
      st.ppid = *v;
    } else if (key == "Uid") {
      // real, effective, saved, fs: all four are printed, so fewer means a cut line.
      std::string_view ids[4];
      for (std::string_view& id : ids) {
        if (!NextField(value, id)) return Fail(Error::Parse("status: Uid"));
      }
      auto real = ParseBounded<uid_t>(ids[0], "status: Uid", 0);
      if (!real) return Fail(real.error());
      auto effective = ParseBounded<uid_t>(ids[1], "status: Uid", 0);
      if (!effective) return Fail(effective.error());
      st.uid_real = *real;
      st.uid_effective = *effective;
      has_uid = true;
    } else if (key == "Threads") {
      auto v = ParseI64Checked(Trim(value), "status: Threads");
      if (!v) return Fail(v.error());
      st.threads = *v;
    } else if (key.starts_with("Vm") || key.starts_with("Rss")) {
      st.has_mm = true;
      for (const MemKey& k : kMemKeys) {
        if (k.name != key) continue;
        auto v = ParseKibValue(value, "status: memory line");
        if (!v) return Fail(v.error());
        st.*k.field = *v;
        break;
      }
    }
  }
  if (!has_name) return Fail(Error::Missing("status: Name"));
  // Tgid is what the struct holds; Pid is the same for a thread-group leader and stands in
  // for it on a file that lacks Tgid.
  if (!has_tgid) {
    if (!has_pid) return Fail(Error::Missing("status: Tgid"));
    st.tgid = pid;
  }
  if (!has_uid) return Fail(Error::Missing("status: Uid"));
  return st;
}

}  // namespace reaperd::proc
