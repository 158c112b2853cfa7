#include "kill/cgroup_last_resort.h"

#include <unistd.h>

#include <csignal>
#include <string>

#include "kill/killer.h"
#include "kill/path_util.h"
#include "proc/cgroup_path.h"
#include "proc/parse_util.h"
#include "proc/pid_misc.h"
#include "proc/pid_stat.h"

namespace reaperd::kill {

namespace {

constexpr int kMaxDepth = 8;

bool AtOrBelow(std::string_view path, std::string_view root) noexcept {
  while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
  if (path == root || root == "/" || root.empty()) return true;
  return path.size() > root.size() && path.starts_with(root) && path[root.size()] == '/';
}

}  // namespace

CgroupLastResort::CgroupLastResort(sys::SystemView& view, ProcessOps& ops, const sys::Clock& clock)
    : view_(view), ops_(ops), scanner_(view, clock), rules_(policy::DefaultProtectRules()) {
  procs_buf_.resize(ProcsListBytes(view_));
}

void CgroupLastResort::SetProtection(std::shared_ptr<const policy::ProtectRules> rules) {
  std::lock_guard lock(mu_);
  if (rules) rules_ = std::move(rules);
}

bool CgroupLastResort::Protected(pid_t pid) noexcept {
  std::shared_ptr<const policy::ProtectRules> rules;
  {
    std::lock_guard lock(mu_);
    rules = rules_;
  }
  const scan::ScanOptions read{.cmdline_max = rules->reads_cmdline() ? rules->cmdline_max() : 0,
                               .read_exe = true,
                               .read_kernel_oom_score = false};
  // What cannot be read whole cannot be judged, and is left alone.
  if (!scanner_.ReadProcess(pid, read, scratch_, nullptr)) return true;
  return rules->Check(scratch_, ::getpid()).has_value();
}

Result<int> CgroupLastResort::Kill(std::string_view cgroup) noexcept {
  if (cgroup.empty() || cgroup == "/") {
    // The hierarchy's root is the whole host: never a cgroup scope's to empty.
    return Fail(Error::Of(Errc::kInvalid, "last resort: refusing the root cgroup"));
  }
  Error err = Error::Of(Errc::kMissing, "last resort: no killable process left in the cgroup");
  int sent = KillLevel(cgroup, cgroup, 0, err);
  if (sent == 0) return Fail(err);
  return sent;
}

int CgroupLastResort::KillLevel(std::string_view root, std::string_view cgroup, int depth,
                                Error& err) noexcept {
  char path[512];
  auto rd = view_.Read(sys::Root::kCgroup, CgroupPath(cgroup, "cgroup.procs", path), procs_buf_);
  if (!rd) {
    if (depth == 0) err = rd.error();
    return 0;
  }
  const bool v2 = view_.cgroup_version() == sys::CgroupVersion::kV2;
  int sent = 0;
  std::string_view text(procs_buf_.data(), rd->size);
  std::string_view line;
  while (proc::NextLine(text, line)) {
    auto n = proc::ParseU64(proc::Trim(line));
    if (!n || *n == 0 || *n > 0x7fffffff) continue;
    const pid_t pid = static_cast<pid_t>(*n);
    auto fd = ops_.Open(pid);
    if (!fd) continue;
    // The pidfd pins one process; judge that process now, so a PID that left the cgroup
    // (or was reused) since cgroup.procs was read is left alone.
    char cpath[32];
    char cbuf[2048];
    auto c = view_.Read(sys::Root::kProc, PidPath(pid, "cgroup", cpath), cbuf);
    if (!c) continue;
    auto pc = proc::ParsePidCgroup(std::string_view(cbuf, c->size));
    if (!pc) continue;
    // Rebased from reaperd's cgroup namespace (proc/cgroup_path.h); a path the mount cannot
    // show is no member of root.
    SmallString<512> host;
    if (!proc::RebaseCgroupPath(v2 ? pc->v2_path.view() : pc->v1_memory_path.view(),
                                view_.cgroup_ns_base(), host) ||
        !AtOrBelow(host.view(), root)) {
      continue;
    }
    // One read of the process and the ranking's own predicate: init, kernel threads,
    // reaperd and its hooks, -1000, and the configured protections (the kernel's
    // oom_unkillable_task() and OOM_SCORE_ADJ_MIN, and the config on top).
    if (Protected(pid)) continue;
    auto s = ops_.Send(fd->get(), SIGKILL);
    if (s) {
      ++sent;
    } else if (s.error().sys_errno != ESRCH) {
      err = s.error();
    }
  }
  if (depth < kMaxDepth) {
    // Child cgroups: cgroup.procs lists only the cgroup's own processes. ListDirs allocates
    // names; the last resort, like the cgroup widening walk, accepts this.
    std::vector<std::string> children;
    char dir[512];
    if (view_.ListDirs(sys::Root::kCgroup, CgroupPath(cgroup, "", dir), children)) {
      for (const std::string& child : children) {
        std::string sub(cgroup);
        if (sub.back() != '/') sub.push_back('/');
        sub.append(child);
        sent += KillLevel(root, sub, depth + 1, err);
      }
    }
  }
  return sent;
}

}  // namespace reaperd::kill
