#include "scan/process_files.h"

#include <cerrno>
#include <charconv>

#include "proc/cgroup_path.h"
#include "proc/pid_status.h"

namespace reaperd::scan::files {

bool Vanished(const Error& e) noexcept {
  return e.code == Errc::kSys && (e.sys_errno == ENOENT || e.sys_errno == ESRCH);
}

bool Complete(std::string_view text) noexcept { return !text.empty() && text.back() == '\n'; }

std::string_view PidName(pid_t pid, std::array<char, 16>& buf) noexcept {
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), pid);
  (void)ec;
  return {buf.data(), static_cast<std::size_t>(end - buf.data())};
}

Result<proc::PidStat> StatOf(std::string_view text) noexcept {
  return Complete(text) ? proc::ParsePidStat(text) : Fail(Error::Parse("stat: cut short"));
}

Result<int> AdjOf(std::string_view text) noexcept {
  return Complete(text) ? proc::ParseOomScoreAdj(text)
                        : Fail(Error::Parse("oom_score_adj: cut short"));
}

Result<proc::PidCgroup> CgroupOf(std::string_view text, bool truncated) noexcept {
  return Complete(text) && !truncated ? proc::ParsePidCgroup(text)
                                      : Fail(Error::Parse("cgroup: cut short"));
}

// The fields of stat that may change while a process lives (its identity aside).
void TakeStat(const proc::PidStat& stat, policy::Process& p) noexcept {
  p.state = stat.state;
  p.ppid = stat.ppid;
  p.pgrp = stat.pgrp;
  p.session = stat.session;
  p.flags = stat.flags;
  p.kernel_thread = (stat.flags & proc::kPfKthread) != 0;
  p.threads = stat.num_threads;
}

// status's uid and memory breakdown, when read whole and naming pid's own process.
bool TakeStatus(std::string_view text, bool truncated, pid_t pid, policy::Process& p,
                bool* thread) noexcept {
  if (!Complete(text) || truncated) return false;
  auto st = proc::ParsePidStatus(text);
  if (!st) return false;
  if (st->tgid != pid) {
    if (thread != nullptr) *thread = true;
    return false;
  }
  p.uid = st->uid_real;
  p.has_mm = st->has_mm;
  p.rss_anon = st->rss_anon;
  p.rss_file = st->rss_file;
  p.rss_shmem = st->rss_shmem;
  p.swap = st->vm_swap;
  p.pagetables = st->vm_pte;
  return true;
}

std::string_view MemoryCgroup(const proc::PidCgroup& cg, const sys::SystemView& view,
                              SmallString<512>& out) noexcept {
  std::string_view path;
  if (view.cgroup_version() == sys::CgroupVersion::kV1 && cg.has_v1_memory) {
    path = cg.v1_memory_path.view();
  } else if (cg.has_v2) {
    path = cg.v2_path.view();
  } else {
    return {};
  }
  if (!proc::RebaseCgroupPath(path, view.cgroup_ns_base(), out)) return {};
  return out.view();
}

}  // namespace reaperd::scan::files
