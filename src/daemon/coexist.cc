#include "daemon/coexist.h"

#include <algorithm>
#include <array>

#include "kill/path_util.h"
#include "proc/pid_stat.h"

namespace reaperd::daemon {

namespace {

struct Other {
  std::string_view comm;
  std::string_view advice;
};

constexpr std::array<Other, 4> kOthers = {{
    {"systemd-oomd",
     "socket-activated by units with ManagedOOM*=; both act on the same cgroups: "
     "systemctl mask --now systemd-oomd.service systemd-oomd.socket"},
    {"earlyoom", "two killers race for the same victims: systemctl disable --now earlyoom"},
    {"nohang", "two killers race for the same victims: systemctl disable --now nohang"},
    {"oomd", "two killers race for the same victims: systemctl disable --now oomd"},
}};

}  // namespace

int CoexistCheck::Check(sys::SystemView& view, Logger& log) {
  pids_.clear();
  systemd_oomd_ = false;
  if (!view.ListPids(pids_)) return 0;
  int running = 0;
  std::array<std::pair<pid_t, std::uint64_t>, kTracked> seen{};
  std::size_t seen_count = 0;
  for (pid_t pid : pids_) {
    char path[32];
    char buf[1024];
    auto r = view.Read(sys::Root::kProc, kill::PidPath(pid, "stat", path), buf);
    if (!r) continue;
    auto st = proc::ParsePidStat({buf, r->size});
    if (!st) continue;
    const std::string_view comm = st->comm.view();
    auto other = std::find_if(kOthers.begin(), kOthers.end(),
                              [&](const Other& o) { return o.comm == comm; });
    if (other == kOthers.end()) continue;
    ++running;
    if (other == kOthers.begin()) systemd_oomd_ = true;
    const std::pair<pid_t, std::uint64_t> id{pid, st->starttime};
    if (seen_count < seen.size()) seen[seen_count++] = id;
    const auto reported_end = reported_.begin() + static_cast<std::ptrdiff_t>(reported_count_);
    if (std::find(reported_.begin(), reported_end, id) != reported_end) continue;
    log.Log(LogLevel::kWarning, "coexist", "other={} pid={} state=running note={}", Q{other->comm},
            pid, Q{other->advice});
  }
  reported_ = seen;
  reported_count_ = seen_count;
  return running;
}

int CoexistCheck::CheckIfDue(sys::SystemView& view, Logger& log, sys::Nanos now) {
  if (checked_ns_ >= 0 && now >= checked_ns_ && now - checked_ns_ < kPeriodNs) return -1;
  checked_ns_ = now;
  return Check(view, log);
}

}  // namespace reaperd::daemon
