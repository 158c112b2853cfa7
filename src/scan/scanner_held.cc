// The scanner's held files (Scanner::Hold, Scanner::RereadHeld): the top candidates' stat,
// status, oom_score_adj and cgroup kept open, so the kill's re-read of each is four preads.
#include <algorithm>
#include <array>
#include <cerrno>

#include "scan/process_files.h"
#include "scan/scanner.h"

namespace reaperd::scan {

using files::AdjOf;
using files::CgroupOf;
using files::MemoryCgroup;
using files::PidName;
using files::StatOf;
using files::TakeStat;
using files::TakeStatus;
using files::Vanished;

Scanner::Held* Scanner::FindHeld(pid_t pid) noexcept {
  for (Held& h : held_) {
    if (h.pid == pid && pid != 0) return &h;
  }
  return nullptr;
}

std::size_t Scanner::held() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(held_.begin(), held_.end(), [](const Held& h) { return h.pid != 0; }));
}

int Scanner::HeldFd(pid_t pid, HeldFile which) const noexcept {
  for (const Held& h : held_) {
    if (h.pid != pid || pid == 0) continue;
    return (which == HeldFile::kStat ? h.stat : h.adj).get();
  }
  return -1;
}

void Scanner::Hold(std::span<const pid_t> pids) noexcept {
  if (pids.size() > kMaxHeld) pids = pids.first(kMaxHeld);
  for (Held& h : held_) {
    if (h.pid != 0 && std::find(pids.begin(), pids.end(), h.pid) == pids.end()) h = Held{};
  }
  for (pid_t pid : pids) {
    if (pid <= 0 || FindHeld(pid) != nullptr) continue;
    auto slot = std::find_if(held_.begin(), held_.end(), [](const Held& h) { return h.pid == 0; });
    if (slot == held_.end()) return;
    std::array<char, 16> name;
    auto dir = view_.OpenDir(sys::Root::kProc, PidName(pid, name));
    if (!dir) continue;
    auto stat = view_.OpenAt(dir->get(), "stat");
    if (!stat) {
      if (stat.error().sys_errno == ENOTSUP) return;  // this view holds nothing
      continue;
    }
    auto status = view_.OpenAt(dir->get(), "status");
    auto adj = view_.OpenAt(dir->get(), "oom_score_adj");
    auto cgroup = view_.OpenAt(dir->get(), "cgroup");
    if (!status || !adj || !cgroup) continue;
    slot->pid = pid;
    slot->stat = std::move(*stat);
    slot->status = std::move(*status);
    slot->adj = std::move(*adj);
    slot->cgroup = std::move(*cgroup);
  }
}

bool Scanner::RereadHeld(Held& h, const ScanOptions& options, policy::Process& p, int* unreadable,
                         bool* again) {
  *again = false;
  // What only a whole read gives (the kernel's own score) is not held.
  if (options.read_kernel_oom_score) {
    *again = true;
    return false;
  }
  std::array<char, 4096> buf;
  auto stat_raw = view_.ReadFd(h.stat.get(), buf);
  if (!stat_raw) {
    if (!Vanished(stat_raw.error())) {
      ++*unreadable;
    } else {
      h = Held{};  // its process is gone: the next Hold opens the PID's files afresh
    }
    return false;
  }
  auto stat = stat_raw->truncated ? Fail(Error::Parse("stat: cut short"))
                                  : StatOf({buf.data(), stat_raw->size});
  if (!stat || stat->pid != p.pid) {
    ++*unreadable;
    return false;
  }
  if (stat->starttime != p.starttime || stat->comm.view() != p.comm.view()) {
    *again = true;  // another process (the files were opened after a PID reuse), or an exec
    return false;
  }
  TakeStat(*stat, p);

  auto status_raw = view_.ReadFd(h.status.get(), buf);
  if (!status_raw) {
    if (Vanished(status_raw.error())) return false;
    *again = true;
    return false;
  }
  if (!TakeStatus({buf.data(), status_raw->size}, status_raw->truncated, p.pid, p)) {
    *again = true;  // ReadProcess judges it (statm, or left out)
    return false;
  }

  auto adj_raw = view_.ReadFd(h.adj.get(), buf);
  if (!adj_raw) {
    if (!Vanished(adj_raw.error())) ++*unreadable;
    return false;
  }
  auto adj = AdjOf({buf.data(), adj_raw->size});
  if (!adj) {
    ++*unreadable;
    return false;
  }
  p.oom_score_adj = *adj;

  auto cg_raw = view_.ReadFd(h.cgroup.get(), buf);
  if (!cg_raw) {
    if (!Vanished(cg_raw.error())) ++*unreadable;
    return false;
  }
  auto cg = CgroupOf({buf.data(), cg_raw->size}, cg_raw->truncated);
  if (!cg) {
    ++*unreadable;
    return false;
  }
  SmallString<512> host_cgroup;
  const std::string_view path = MemoryCgroup(*cg, view_, host_cgroup);
  if (path != p.cgroup) {  // moved since: its new cgroup's preference
    p.cgroup.assign(path);
    p.oomd = prefs_.Lookup(view_, p.cgroup, trusted_owner_);
  }
  return true;
}

}  // namespace reaperd::scan
