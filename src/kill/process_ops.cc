#include "kill/process_ops.h"

#include <sys/resource.h>

#include <cerrno>
#include <string_view>

#include "kill/path_util.h"
#include "sys/syscalls.h"

namespace reaperd::kill {

namespace {

// Finds the path of the hierarchy line in /proc/PID/cgroup whose controller list holds
// `controller` (v1), or the "0::" line when controller is empty (v2).
std::string_view FindCgroupLine(std::string_view text, std::string_view controller) noexcept {
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    auto c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view id = line.substr(0, c1);
    std::string_view list = line.substr(c1 + 1, c2 - c1 - 1);
    std::string_view path = line.substr(c2 + 1);
    if (controller.empty()) {
      if (id == "0" && list.empty()) return path;
      continue;
    }
    while (!list.empty()) {
      auto comma = list.find(',');
      if (list.substr(0, comma) == controller) return path;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return {};
}

}  // namespace

RealProcessOps::RealProcessOps(sys::SystemView& proc) : proc_(proc) {
  if (auto v = sys::RealSystemView::Open("/proc", "/sys/fs/cgroup/freezer")) {
    freezer_v1_.emplace(std::move(*v));
  }
  for (const char* root : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    auto v = sys::RealSystemView::Open("/proc", root);
    if (v && v->cgroup_version() != sys::CgroupVersion::kV1) {
      char buf[64];
      if (v->Read(sys::Root::kCgroup, "cgroup.controllers", buf)) {
        unified_.emplace(std::move(*v));
        break;
      }
    }
  }
}

Result<void> RealProcessOps::Send(int pidfd, int sig) noexcept {
  return sys::PidfdSendSignal(pidfd, sig);
}

Result<sys::UniqueFd> RealProcessOps::Open(pid_t pid) noexcept { return sys::PidfdOpen(pid); }

Result<void> RealProcessOps::Mrelease(int pidfd) noexcept { return sys::ProcessMrelease(pidfd); }

Result<bool> RealProcessOps::WaitExit(int pidfd, int timeout_ms) noexcept {
  return sys::PidfdWaitExit(pidfd, timeout_ms);
}

Result<bool> RealProcessOps::SameMm(pid_t a, pid_t b) noexcept { return sys::SameMm(a, b); }

Result<sys::UniqueFd> RealProcessOps::OpenMm(pid_t pid) noexcept { return sys::OpenProcMem(pid); }

Result<bool> RealProcessOps::MmGone(int fd) noexcept { return sys::ProcMemGone(fd); }

void RealProcessOps::Boost(pid_t pid) noexcept {
  // PRIO_PROCESS on Linux sets one thread's nice value; the main thread does most of the
  // exit work (exit_mmap), and SIGKILL already wakes every thread.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), kBoostNice);
}

bool RealProcessOps::Unfreeze(pid_t pid) noexcept {
  char path[64];
  char text[2048];
  auto r = proc_.Read(sys::Root::kProc, PidPath(pid, "cgroup", path), text);
  if (!r) return false;
  std::string_view cg(text, r->size);
  bool thawed = false;
  char file[1024];
  char state[32];
  if (freezer_v1_) {
    std::string_view p = FindCgroupLine(cg, "freezer");
    auto f = CgroupPath(p, "freezer.state", file);
    if (!p.empty() && !f.empty()) {
      auto s = freezer_v1_->Read(sys::Root::kCgroup, f, state);
      if (s && std::string_view(state, s->size).starts_with("FR")) {  // FROZEN or FREEZING
        thawed = freezer_v1_->Write(sys::Root::kCgroup, f, "THAWED").has_value();
      }
    }
  }
  if (unified_) {
    std::string_view p = FindCgroupLine(cg, "");
    auto f = CgroupPath(p, "cgroup.freeze", file);
    if (!p.empty() && !f.empty()) {
      auto s = unified_->Read(sys::Root::kCgroup, f, state);
      if (s && s->size > 0 && state[0] == '1') {
        thawed = unified_->Write(sys::Root::kCgroup, f, "0").has_value() || thawed;
      }
    }
  }
  return thawed;
}

}  // namespace reaperd::kill
