#include "kill/victim.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "kill/path_util.h"
#include "kill/trigger.h"
#include "proc/pid_misc.h"
#include "proc/pid_stat.h"
#include "proc/pid_status.h"

namespace reaperd::kill {

namespace {

constexpr std::size_t kPathReserved = 4096;

// The scanner's clock stamps only whole snapshots, which the builder never takes.
const sys::Clock& BuilderClock() noexcept {
  static const sys::MonotonicClock clock;
  return clock;
}

}  // namespace

Result<proc::PidStat> ReadStatNow(sys::SystemView& view, pid_t pid, int held_fd) noexcept {
  char buf[1024];
  auto parse = [&](const Result<sys::ReadResult>& r) -> Result<proc::PidStat> {
    if (!r) return Fail(r.error());
    auto st = proc::ParsePidStat(std::string_view(buf, r->size));
    if (!st) return Fail(st.error());
    if (st->pid != pid) return Fail(Error::Parse("stat: another pid"));
    return *st;
  };
  if (held_fd >= 0) {
    if (auto st = parse(view.ReadFd(held_fd, buf))) return st;
  }
  char path[32];
  return parse(view.Read(sys::Root::kProc, PidPath(pid, "stat", path), buf));
}

Result<std::uint64_t> ReadStarttime(sys::SystemView& view, pid_t pid) noexcept {
  auto st = ReadStatNow(view, pid, -1);
  if (!st) return Fail(st.error());
  return st->starttime;
}

Result<std::uint64_t> ReadRssBytes(sys::SystemView& view, pid_t pid,
                                   std::uint64_t page_size) noexcept {
  char path[32];
  char buf[256];
  auto r = view.Read(sys::Root::kProc, PidPath(pid, "statm", path), buf);
  if (!r) return Fail(r.error());
  auto st = proc::ParseStatm(std::string_view(buf, r->size));
  if (!st) return Fail(st.error());
  return st->resident * page_size;
}

std::size_t PidListReserve(sys::SystemView& view) noexcept {
  // Twice the processes there are now, and at least 1024: sized to the host rather than to
  // the busiest host there is (32768 pids were 128 KiB locked per buffer, four buffers).
  std::size_t n = 0;
  try {
    std::vector<pid_t> now;
    if (view.ListPids(now)) n = now.size();
  } catch (...) {
  }
  return std::max<std::size_t>(1024, 2 * n);
}

VictimBuilder::VictimBuilder(sys::SystemView& view, ProcessOps& ops,
                             const config::KillConfig& config,
                             std::shared_ptr<const policy::ProtectRules> protect)
    : view_(view),
      ops_(ops),
      config_(config),
      protect_(protect ? std::move(protect) : policy::DefaultProtectRules()),
      self_(::getpid()),
      scanner_(view, BuilderClock()),
      watch_(view, ops) {
  // Filled once (not just reserved) so the pages are touched now, not on the kill path.
  pids_.resize(PidListReserve(view_));
  pids_.clear();
  scratch_.exe.reserve(kPathReserved);
  scratch_.cgroup.reserve(kPathReserved);
}

void VictimBuilder::SetProtection(std::shared_ptr<const policy::ProtectRules> protect) noexcept {
  protect_ = protect ? std::move(protect) : policy::DefaultProtectRules();
}

Result<sys::UniqueFd> VictimBuilder::OpenChecked(pid_t pid, std::uint64_t starttime,
                                                 std::uint64_t* rss_pages,
                                                 sys::Nanos* open_ns) noexcept {
  const sys::Nanos t_open = open_ns != nullptr ? BuilderClock().Now() : 0;
  auto fd = ops_.Open(pid);
  if (open_ns != nullptr) *open_ns = BuilderClock().Now() - t_open;
  if (!fd) {
    if (fd.error().sys_errno == ESRCH) return Fail(Error::Of(Errc::kStale, "process gone"));
    return Fail(fd.error());
  }
  // The pidfd now pins this process's identity; if /proc/PID/stat still shows the
  // snapshot's start time, the pidfd names the scanned process and not a newcomer. A held
  // stat names the process it was opened on: read now, after the pidfd, it proves that
  // process alive, so the PID still named it when the pidfd was opened. If that process is
  // gone, the PID may name another one now (the snapshot's, read since): the path says.
  auto st =
      ReadStatNow(view_, pid, held_ ? held_->HeldFd(pid, scan::Scanner::HeldFile::kStat) : -1);
  if (!st) return Fail(Error::Of(Errc::kStale, "process gone after pidfd_open"));
  if (st->starttime != starttime) return Fail(Error::Of(Errc::kStale, "pid reused since the scan"));
  if (rss_pages != nullptr)
    *rss_pages = static_cast<std::uint64_t>(std::max<std::int64_t>(st->rss_pages, 0));
  return std::move(*fd);
}

bool VictimBuilder::MinAdjNow(pid_t pid) noexcept {
  char path[32];
  char buf[16];
  const int held = held_ ? held_->HeldFd(pid, scan::Scanner::HeldFile::kAdj) : -1;
  auto r = held >= 0 ? view_.ReadFd(held, buf)
                     : view_.Read(sys::Root::kProc, PidPath(pid, "oom_score_adj", path), buf);
  // A held file of a process gone since: the PID's process now (checked by stat above).
  if (!r && held >= 0) r = view_.Read(sys::Root::kProc, PidPath(pid, "oom_score_adj", path), buf);
  if (!r) return false;  // gone: the signal finds that out
  auto adj = proc::ParseOomScoreAdj(std::string_view(buf, r->size));
  return adj && *adj == -1000;
}

bool VictimBuilder::AddMember(Victim& v, const policy::Process& p, MemberRole role,
                              std::uint64_t* rss_pages) noexcept {
  for (const Member& m : v.active()) {
    if (m.pid == p.pid) return true;
  }
  if (v.member_count == Victim::kMaxMembers) {
    ++v.members_dropped;
    return false;
  }
  const sys::Nanos t_check = BuilderClock().Now();
  const bool held = held_ != nullptr && held_->HeldFd(p.pid, scan::Scanner::HeldFile::kStat) >= 0;
  sys::Nanos open_ns = 0;
  auto checked = [&] {
    const sys::Nanos took = BuilderClock().Now() - t_check;
    v.checks_ns += took;
    if (took > v.slowest_check.ns) v.slowest_check = {took, open_ns, p.pid, held};
  };
  auto fd = OpenChecked(p.pid, p.starttime, rss_pages, &open_ns);
  if (!fd) {
    checked();
    if (fd.error().code == Errc::kStale) {
      ++v.members_stale;
    } else {
      v.NoteError(fd.error());
    }
    return false;
  }
  // A process may have asked never to be killed (oom_score_adj -1000) since the scan; with
  // its pidfd open, this file is this process's. Mm sharers are not checked again: a write
  // is copied to every sharer, so the main process shows it too.
  const bool min_adj = role != MemberRole::kMmSharer && MinAdjNow(p.pid);
  checked();
  if (min_adj) {
    ++v.members_stale;
    return false;
  }
  Member& m = v.members[v.member_count++];
  m = Member{};
  m.pid = p.pid;
  m.starttime = p.starttime;
  m.role = role;
  m.pidfd = std::move(*fd);
  return true;
}

bool VictimBuilder::FindCgroupWidening(const policy::Snapshot& snapshot, const policy::Process& p,
                                       Victim& v) noexcept {
  bool oom_group = false;
  std::string_view cg = p.cgroup;
  const bool in_cgroup_scope = snapshot.scope.kind == policy::ScopeKind::kCgroup;
  std::string_view floor = in_cgroup_scope ? std::string_view(snapshot.scope.cgroup) : "/";
  // Never widen to the scope's root in the system scope, nor above a cgroup scope.
  auto allowed = [&](std::string_view c) {
    if (c.empty() || c == "/") return false;
    if (!in_cgroup_scope) return true;
    return c == floor ||
           (c.starts_with(floor) && c.size() > floor.size() && c[floor.size()] == '/');
  };
  if (config_.widen == config::Widen::kCgroup && allowed(cg)) v.widen_cgroup.Assign(cg);
  if (config_.honour_oom_group && view_.cgroup_version() == sys::CgroupVersion::kV2) {
    // memory.oom.group: the kernel kills the highest ancestor that has it set; so do we.
    for (std::string_view c = cg; allowed(c); c = CgroupParent(c)) {
      char path[512];
      char buf[16];
      auto file = CgroupPath(c, "memory.oom.group", path);
      if (file.empty()) break;
      auto r = view_.Read(sys::Root::kCgroup, file, buf);
      if (r && r->size > 0 && buf[0] == '1') {
        v.widen_cgroup.Assign(c);
        oom_group = true;
      }
      if (c == floor) break;
    }
  }
  if (!v.widen_cgroup.empty()) v.widen_version = view_.cgroup_version();
  return oom_group;
}

template <class F>
void VictimBuilder::AddWidened(const policy::Snapshot& snapshot, std::size_t index, Victim& v,
                               F&& belongs) noexcept {
  for (std::size_t i = 0; i < snapshot.processes.size(); ++i) {
    const policy::Process& q = snapshot.processes[i];
    if (i == index || !q.has_mm || !belongs(q)) continue;
    // The snapshot holds only the scope's processes: these are inside it.
    if (protect_->Check(q, self_) ||
        (v.spare_avoided && protect_->Avoid(q) != policy::AvoidReason::kNone)) {
      ++v.members_protected;
      continue;
    }
    AddMember(v, q, MemberRole::kProcessGroup);
  }
}

Result<void> VictimBuilder::Build(const policy::Snapshot& snapshot, std::size_t index,
                                  sys::Nanos t_decision, Victim& out, StepPlan plan) noexcept {
  if (index >= snapshot.processes.size()) return Fail(Error::Of(Errc::kInvalid, "victim index"));
  out = Victim{};
  const policy::Process& p = snapshot.processes[index];
  out.identity.id = {p.pid, p.starttime};
  out.identity.comm.Assign(p.comm.view());
  out.identity.cgroup.Assign(p.cgroup);
  out.identity.uid = p.uid;
  out.identity.rss_bytes = p.rss();
  out.identity.threads = p.threads;
  out.scope.kind = snapshot.scope.kind;
  out.scope.cgroup.Assign(snapshot.scope.cgroup);
  out.t_decision = t_decision;
  out.deadline = t_decision + static_cast<sys::Nanos>(config_.deadline_ms) * sys::kMilli;
  out.protection = protect_;
  // The rss right before the signal (from the stat read that checks the identity) is what
  // bytes_freed is measured against.
  std::uint64_t rss_pages = 0;
  if (!AddMember(out, p, MemberRole::kMain, &rss_pages)) {
    out.main_stale = true;
    return {};
  }
  if (rss_pages > 0) out.identity.rss_bytes = rss_pages * snapshot.page_size;
  // The kernel's __oom_kill_process: every other user of the mm dies with the victim, and
  // a victim whose mm a protected process shares is not reapable (MMF_OOM_SKIP).
  bool shared_with_protected = false;
  ForEachSharer(snapshot, index, t_decision, [&](const policy::Process& q) {
    if (protect_->Check(q, self_)) {
      out.mm_shared_with = q.pid;
      shared_with_protected = true;
      return false;
    }
    AddMember(out, q, MemberRole::kMmSharer);
    return true;
  });
  if (shared_with_protected) {
    // Close what was opened: the victim is not taken, and its pidfds must not linger.
    const pid_t with = out.mm_shared_with;
    out = Victim{};
    out.identity.id = {p.pid, p.starttime};
    out.mm_shared_with = with;
    return Fail(Error::Of(Errc::kInvalid, kMmSharedError));
  }
  out.step = plan.step;
  out.step_reason = plan.reason;
  out.spare_avoided = plan.step != Step::kProcess;
  const bool group_step = plan.step == Step::kProcessGroup;
  if ((config_.widen == config::Widen::kProcessGroup || group_step) && p.pgrp > 1) {
    // The group within the victim's cgroup (and below it): a group that spans cgroups (the
    // children of one launcher, a script's children moved into scopes of their own) spans
    // applications, and in the system scope nothing else would bound it.
    out.widen_pgrp = p.pgrp;
    const std::string_view cg = p.cgroup;
    AddWidened(snapshot, index, out, [&](const policy::Process& q) {
      return q.pgrp == p.pgrp && IsAtOrBelow(q.cgroup, cg);
    });
  }
  if (plan.step == Step::kCgroup) {
    // The plan checked the cgroup (WhyNotCgroupStep): strictly inside the scope, an
    // application's own. Its processes the scan saw are members (pidfds, reaped); the killer's
    // walk takes what forked since.
    const std::string_view cg = p.cgroup;
    out.widen_cgroup.Assign(cg);
    out.widen_version = view_.cgroup_version();
    AddWidened(snapshot, index, out, [&](const policy::Process& q) {
      const std::string_view c = q.cgroup;
      return c == cg || (c.size() > cg.size() && c.starts_with(cg) && c[cg.size()] == '/');
    });
  }
  const sys::Nanos t_oom_group = BuilderClock().Now();
  const bool oom_group = FindCgroupWidening(snapshot, p, out);
  out.oom_group_ns = BuilderClock().Now() - t_oom_group;
  // The size the kill has when memory.oom.group or kill.widen asks for more than the ladder.
  if (oom_group) {
    out.step = Step::kCgroup;
    out.step_reason = StepReason::kOomGroup;
  } else if (!out.widen_cgroup.empty() && out.step != Step::kCgroup) {
    out.step = Step::kCgroup;
    out.step_reason = StepReason::kWiden;
  } else if (out.widen_pgrp > 0 && out.step == Step::kProcess) {
    out.step = Step::kProcessGroup;
    out.step_reason = StepReason::kWiden;
  }
  return {};
}

template <class F>
void VictimBuilder::ForEachSharer(const policy::Snapshot& snapshot, std::size_t index,
                                  sys::Nanos now, F&& on_sharer) noexcept {
  const policy::Process& p = snapshot.processes[index];
  for (std::size_t i = 0; i < snapshot.processes.size(); ++i) {
    const policy::Process& q = snapshot.processes[i];
    if (i == index || !q.has_mm || q.kernel_thread) continue;
    // Processes sharing one mm show the same exe (exe_file is per mm) and the same rss
    // counters (also per mm); only those are worth a kcmp.
    bool plausible = (!p.exe.empty() && q.exe == p.exe) ||
                     (q.rss_anon == p.rss_anon && q.rss() == p.rss() && p.rss() > 0);
    if (!plausible) continue;
    auto same = ops_.SameMm(p.pid, q.pid);
    if (same && *same && !on_sharer(q)) return;
  }
  // A system scope's snapshot holds every process: the search above was system-wide. A
  // cgroup scope's does not, and a sharer outside the cgroup would keep the victim's memory
  // alive past its deadline: look at every other process with kcmp alone (one kcmp opens no
  // file and takes no mmap lock: cheaper than any /proc read that could prefilter it). The
  // snapshot's own processes, judged above, are skipped by a binary search (the scanner
  // sorts by pid).
  if (snapshot.scope.kind != policy::ScopeKind::kCgroup) return;
  const auto by_pid = [](const policy::Process& a, const policy::Process& b) {
    return a.pid < b.pid;
  };
  const bool sorted = std::is_sorted(snapshot.processes.begin(), snapshot.processes.end(), by_pid);
  auto in_snapshot = [&](pid_t pid) {
    if (!sorted) {
      return std::any_of(snapshot.processes.begin(), snapshot.processes.end(),
                         [pid](const policy::Process& q) { return q.pid == pid; });
    }
    return policy::FindByPid(snapshot.processes, pid) != snapshot.processes.end();
  };
  // False stops the search (on_sharer said so, or the victim is gone).
  auto visit = [&](pid_t pid, bool probed) {
    if (pid == p.pid || pid <= 1 || in_snapshot(pid)) return true;
    auto same = ops_.SameMm(p.pid, pid);
    if (!same) return !(same.error().sys_errno == ESRCH && !ops_.SameMm(p.pid, p.pid));
    if (!*same) return true;
    // A probed PID may be a thread: its process is the victim, a recorded sharer, or was
    // created after the walk too and is probed itself.
    if (probed && !IsProcess(pid)) return true;
    // A sharer unread (vanished, unreadable) cannot be judged: if it is gone its hold on the
    // mm is gone too; if unreadable, the kill proceeds as before this search existed.
    const scan::ScanOptions read{
        .cmdline_max = protect_->reads_cmdline() ? protect_->cmdline_max() : 0,
        .read_exe = true,
        .read_kernel_oom_score = false};
    if (!scanner_.ReadProcess(pid, read, scratch_, nullptr)) return true;
    if (scratch_.kernel_thread) return true;
    return on_sharer(scratch_);
  };
  if (now != 0 && watch_.ForEachCandidate({p.pid, p.starttime}, now, visit)) return;
  pids_.clear();
  if (!view_.ListPids(pids_)) return;
  for (pid_t pid : pids_) {
    if (!visit(pid, false)) return;
  }
}

bool VictimBuilder::IsProcess(pid_t pid) noexcept {
  char path[32];
  char buf[4096];
  auto r = view_.Read(sys::Root::kProc, PidPath(pid, "status", path), buf);
  if (!r) return false;
  auto st = proc::ParsePidStatus(std::string_view(buf, r->size));
  return st && st->tgid == pid;
}

std::size_t VictimBuilder::WatchSharers(const policy::Snapshot& snapshot,
                                        std::span<const policy::Score> candidates,
                                        sys::Nanos now) noexcept {
  std::array<policy::ProcessId, SharerWatch::kEntries> ids{};
  std::size_t n = 0;
  for (const auto& c : candidates) {
    if (n == ids.size()) break;
    if (c.index >= snapshot.processes.size()) continue;
    ids[n++] = {snapshot.processes[c.index].pid, snapshot.processes[c.index].starttime};
  }
  return watch_.Watch({ids.data(), n}, now, pids_);
}

pid_t VictimBuilder::ProtectedSharer(const policy::Snapshot& snapshot, std::size_t index) noexcept {
  if (index >= snapshot.processes.size()) return 0;
  pid_t found = 0;
  ForEachSharer(snapshot, index, 0, [&](const policy::Process& q) {
    if (!protect_->Check(q, self_)) return true;
    found = q.pid;
    return false;
  });
  return found;
}

}  // namespace reaperd::kill
