#include "kill/killer.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <string>

#include "kill/path_util.h"
#include "proc/parse_util.h"
#include "proc/pid_misc.h"
#include "proc/pid_stat.h"

namespace reaperd::kill {

namespace {

constexpr int kMaxCgroupDepth = 8;
constexpr std::size_t kPathReserved = 4096;

}  // namespace

std::size_t ProcsListBytes(sys::SystemView& view) noexcept { return 8 * PidListReserve(view); }

Killer::Killer(sys::SystemView& view, ProcessOps& ops, const sys::Clock& clock,
               const config::KillConfig& config, bool dry_run)
    : view_(view),
      ops_(ops),
      clock_(clock),
      config_(config),
      dry_run_(dry_run),
      self_(::getpid()),
      scanner_(view, clock) {
  procs_buf_.resize(ProcsListBytes(view_));
  scratch_.exe.reserve(kPathReserved);
  scratch_.cgroup.reserve(kPathReserved);
  scratch_.cmdline.reserve(kPathReserved);
  (void)policy::DefaultProtectRules();  // built now, not on the kill path
  // Filled once (not just reserved) so its pages are touched now, and locked, rather than
  // first touched on the kill path.
  pids_buf_.resize(PidListReserve(view_));
  pids_buf_.clear();
}

int Killer::first_signal() const noexcept {
  return config_.signal_grace_ms > 0 ? SIGTERM : SIGKILL;
}

int Killer::SignalMembers(Victim& v, int sig, KillResult& r) noexcept {
  int sent = 0;
  for (Member& m : v.active()) {
    if (m.exited) continue;
    if (dry_run_) continue;
    auto s = ops_.Send(m.pidfd.get(), sig);
    if (s) {
      m.signalled = true;
      ++sent;
    } else if (s.error().sys_errno == ESRCH) {
      m.exited = true;  // already gone: nothing to do
    } else {
      v.NoteError(s.error());
    }
  }
  (void)r;
  return sent;
}

void Killer::Signal(Victim& v, KillResult& r) noexcept {
  r.signal = first_signal();
  r.members = static_cast<int>(v.member_count);
  // The main process first: it is the one the decision was about.
  int sent = SignalMembers(v, r.signal, r);
  r.t_signal = clock_.Now();
  if (!v.widen_cgroup.empty()) sent += KillCgroupPass(v, r.signal, r);
  if (v.widen_pgrp > 0) sent += KillProcessGroupPass(v, r.signal, r);
  r.members_signalled = sent;
}

bool Killer::MayWiden(Victim& v, pid_t pid, std::string_view under, bool* unreadable,
                      bool* is_protected) noexcept {
  const policy::ProtectRules& rules = v.protection ? *v.protection : *policy::DefaultProtectRules();
  const scan::ScanOptions read{.cmdline_max = rules.reads_cmdline() ? rules.cmdline_max() : 0,
                               .read_exe = true,
                               .read_kernel_oom_score = false};
  int unread = 0;
  if (!scanner_.ReadProcess(pid, read, scratch_, &unread)) {
    // Gone, or not readable whole: a process that cannot be judged is never signalled.
    if (unread > 0 && unreadable != nullptr) *unreadable = true;
    return false;
  }
  if (!under.empty() && !IsAtOrBelow(scratch_.cgroup, under)) return false;
  // A step of the kill-size ladder spares avoided processes as well (the ranking's
  // Score::avoid): they hold a session together and are not the application's.
  if (rules.Check(scratch_, self_) ||
      (v.spare_avoided && rules.Avoid(scratch_) != policy::AvoidReason::kNone)) {
    ++v.members_protected;
    if (is_protected != nullptr) *is_protected = true;
    return false;
  }
  return true;
}

int Killer::KillProcessGroupPass(Victim& v, int sig, KillResult& r) noexcept {
  (void)r;
  if (v.widen_pgrp <= 1 || dry_run_) return 0;
  pids_buf_.clear();
  if (!view_.ListPids(pids_buf_)) return 0;
  // The group within the victim's cgroup (and below it, which is inside any scope the victim
  // is in): a process of the group elsewhere is another application's (VictimBuilder::Build).
  // A victim in no known cgroup takes no one from the /proc pass.
  const std::string_view under = v.identity.cgroup.view();
  if (under.empty()) return 0;
  int sent = 0;
  char path[32];
  char buf[1024];
  for (pid_t pid : pids_buf_) {
    if (pid == 1 || pid == self_) continue;
    bool member = false;
    for (const Member& m : v.active()) member = member || m.pid == pid;
    if (member) continue;
    // A cheap look first: most of /proc is in other groups.
    auto st = view_.Read(sys::Root::kProc, PidPath(pid, "stat", path), buf);
    if (!st) continue;
    auto before = proc::ParsePidStat({buf, st->size});
    if (!before || before->pgrp != v.widen_pgrp) continue;
    auto fd = ops_.Open(pid);
    if (!fd) continue;
    // The pidfd pins one process: read again, so a PID reused between the first read and
    // the open is judged on what it is now. (Should the pinned process die and its PID be
    // reused before this read, the signal below reaches nobody: a pidfd names one process.)
    if (!MayWiden(v, pid, under, nullptr, nullptr) || scratch_.pgrp != v.widen_pgrp) continue;
    auto s = ops_.Send(fd->get(), sig);
    if (s) {
      ++sent;
    } else if (s.error().sys_errno != ESRCH) {
      v.NoteError(s.error());
    }
  }
  return sent;
}

int Killer::KillCgroupPass(Victim& v, int sig, KillResult& r) noexcept {
  (void)r;
  if (v.widen_cgroup.empty() || dry_run_) return 0;
  WalkNotes notes;
  int sent = SignalCgroupTree(v, v.widen_cgroup.view(), sig, 0, notes);
  // cgroup.kill spares nobody: only when the walk saw every process and none was protected.
  if (v.widen_version == sys::CgroupVersion::kV2 && sig == SIGKILL && notes.protected_seen == 0 &&
      !notes.incomplete) {
    char path[512];
    auto file = CgroupPath(v.widen_cgroup.view(), "cgroup.kill", path);
    auto w = view_.Write(sys::Root::kCgroup, file, "1");
    if (w) {
      sent = std::max(sent, 1);
    } else if (w.error().sys_errno != ENOENT) {
      v.NoteError(w.error());  // no cgroup.kill (before 5.14): the walk did the work
    }
  }
  return sent;
}

int Killer::SignalCgroupTree(Victim& v, std::string_view cgroup, int sig, int depth,
                             WalkNotes& notes) noexcept {
  char path[512];
  auto file = CgroupPath(cgroup, "cgroup.procs", path);
  auto rd = view_.Read(sys::Root::kCgroup, file, procs_buf_);
  if (!rd || rd->truncated) {
    notes.incomplete = true;
    if (!rd) return 0;
  }
  int sent = 0;
  std::string_view text(procs_buf_.data(), rd->size);
  std::string_view line;
  while (proc::NextLine(text, line)) {
    auto n = proc::ParseU64(proc::Trim(line));
    if (!n || *n == 0 || *n > 0x7fffffff) continue;
    pid_t pid = static_cast<pid_t>(*n);
    bool member = false;
    for (const Member& m : v.active()) member = member || m.pid == pid;
    if (member) continue;
    auto fd = ops_.Open(pid);
    if (!fd) continue;
    // The pidfd pins one process; read it now, so a PID reused since cgroup.procs was read
    // is judged on what it is, and left alone unless it is (still) in the cgroup.
    bool unreadable = false;
    bool is_protected = false;
    if (!MayWiden(v, pid, v.widen_cgroup.view(), &unreadable, &is_protected)) {
      if (is_protected) ++notes.protected_seen;
      if (unreadable) notes.incomplete = true;
      if (!is_protected && !unreadable) ++v.members_stale;
      continue;
    }
    auto s = ops_.Send(fd->get(), sig);
    if (s) {
      ++sent;
    } else if (s.error().sys_errno != ESRCH) {
      v.NoteError(s.error());
    }
  }
  if (depth < kMaxCgroupDepth) {
    // Child cgroups: cgroup.procs lists only the cgroup's own processes. ListDirs
    // allocates names; cgroup widening is the one path that accepts this.
    std::vector<std::string> children;
    char dir[512];
    auto d = CgroupPath(cgroup, "", dir);
    if (view_.ListDirs(sys::Root::kCgroup, d, children)) {
      for (const std::string& child : children) {
        std::string sub;
        sub.reserve(cgroup.size() + child.size() + 1);
        sub.append(cgroup);
        if (sub.empty() || sub.back() != '/') sub.push_back('/');
        sub.append(child);
        sent += SignalCgroupTree(v, sub, sig, depth + 1, notes);
      }
    }
  } else {
    notes.incomplete = true;
  }
  return sent;
}

}  // namespace reaperd::kill
