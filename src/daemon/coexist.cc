#include "daemon/coexist.h"

#include <algorithm>
#include <array>
#include <string>

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
  std::vector<pid_t> pids;
  if (!view.ListPids(pids)) return 0;
  int running = 0;
  std::vector<std::pair<pid_t, std::uint64_t>> seen;
  for (pid_t pid : pids) {
    char buf[1024];
    const std::string p = std::to_string(pid) + "/stat";
    auto r = view.Read(sys::Root::kProc, p, buf);
    if (!r) continue;
    auto st = proc::ParsePidStat({buf, r->size});
    if (!st) continue;
    const std::string_view comm = st->comm.view();
    auto other = std::find_if(kOthers.begin(), kOthers.end(),
                              [&](const Other& o) { return o.comm == comm; });
    if (other == kOthers.end()) continue;
    ++running;
    seen.emplace_back(pid, st->starttime);
    if (std::find(reported_.begin(), reported_.end(), seen.back()) != reported_.end()) continue;
    log.Log(LogLevel::kWarning, "coexist", "other={} pid={} state=running note={}", Q{other->comm},
            pid, Q{other->advice});
  }
  reported_ = std::move(seen);
  return running;
}

}  // namespace reaperd::daemon
