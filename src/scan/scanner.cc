#include "scan/scanner.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proc/cgroup_memory.h"
#include "proc/meminfo.h"
#include "proc/pid_misc.h"
#include "proc/pid_stat.h"
#include "proc/pid_status.h"
#include "scan/cgroup_limits.h"
#include "scan/process_files.h"

namespace reaperd::scan {

using files::AdjOf;
using files::CgroupOf;
using files::Complete;
using files::MemoryCgroup;
using files::PidName;
using files::StatOf;
using files::TakeStat;
using files::TakeStatus;
using files::Vanished;

namespace {

// Empties p for a new process without giving back its strings' memory (assigning a fresh
// Process would): the kill path refills the same snapshot on every scan.
void Reset(policy::Process& p) noexcept {
  std::string cmdline = std::move(p.cmdline);
  std::string exe = std::move(p.exe);
  std::string cgroup = std::move(p.cgroup);
  p = policy::Process{};
  cmdline.clear();
  exe.clear();
  cgroup.clear();
  p.cmdline = std::move(cmdline);
  p.exe = std::move(exe);
  p.cgroup = std::move(cgroup);
}

// The memory of a process whose status could not be read: statm's resident and shared
// pages (file and shmem are both "shared" there), else stat field 24. A process with a mm
// always has a non-zero vsize (field 23); kernel threads and zombies have 0. False when
// the process vanished meanwhile.
bool MemoryFromStatmOrStat(sys::SystemView& view, int dfd, const proc::PidStat& stat,
                           std::uint64_t page, policy::Process& p) {
  p.has_mm = stat.vsize > 0 && stat.state != 'Z' && stat.state != 'X';
  p.threads = stat.num_threads;
  if (!p.has_mm) return true;
  std::array<char, 256> buf;
  auto raw = view.ReadAt(dfd, "statm", buf);
  if (!raw && Vanished(raw.error())) return false;
  if (raw && Complete({buf.data(), raw->size})) {
    if (auto m = proc::ParseStatm({buf.data(), raw->size}); m && m->resident > 0) {
      const std::uint64_t shared = std::min(m->shared, m->resident);
      p.rss_anon = (m->resident - shared) * page;
      p.rss_file = shared * page;
      return true;
    }
  }
  p.rss_anon = static_cast<std::uint64_t>(std::max<std::int64_t>(stat.rss_pages, 0)) * page;
  return true;
}

}  // namespace

ScanOptions KillScanOptions(const config::RankConfig& rank) noexcept {
  ScanOptions o;
  const bool rule_reads_cmdline =
      std::any_of(rank.rules.begin(), rank.rules.end(),
                  [](const config::Rule& r) { return r.cmdline.has_value(); });
  o.cmdline_max = rule_reads_cmdline ? rank.cmdline_max : 0;
  o.read_exe = true;
  o.read_kernel_oom_score = false;
  return o;
}

Scanner::Scanner(sys::SystemView& view, const sys::Clock& clock)
    : view_(view), clock_(clock), page_size_(static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE))) {
  probe_new_.reserve(kMaxProbe);
  probe_known_.reserve(kMaxProbe);
}

Result<std::uint64_t> Scanner::TotalPages(const policy::Scope& scope) {
  const std::uint64_t page = page_size_;
  std::array<char, 8192> buf;
  auto r = view_.Read(sys::Root::kProc, "meminfo", buf);
  if (!r) return Fail(r.error());
  auto mem = proc::ParseMemInfo({buf.data(), r->size});
  if (!mem) return Fail(mem.error());
  std::uint64_t system_bytes = mem->mem_total + mem->swap_total;
  if (scope.kind == policy::ScopeKind::kSystem) return system_bytes / page;

  // A cgroup's OOM domain is bounded by the tightest limit on its path to the root.
  std::array<char, 64> scratch;  // no memory.stat read without LimitWalk::headroom
  auto limits =
      ReadCgroupLimits(view_, scope.cgroup,
                       {.swap = true, .headroom = false, .swap_total = mem->swap_total}, scratch);
  if (!limits) return Fail(limits.error());
  if (limits->max_with_swap == proc::kUnlimited) return system_bytes / page;
  return std::min(limits->max_with_swap, system_bytes) / page;
}

bool Scanner::ReadProcess(pid_t pid, const ScanOptions& options, policy::Process& p,
                          int* unreadable) {
  int unreadable_ignored = 0;
  if (unreadable == nullptr) unreadable = &unreadable_ignored;
  std::array<char, 16> name;
  auto dir = view_.OpenDir(sys::Root::kProc, PidName(pid, name));
  if (!dir) return false;
  const int dfd = dir->get();
  std::array<char, 4096> buf;

  // A process whose identity, memory, oom_score_adj or cgroup cannot be read whole is left
  // out (counted in *unreadable): a guess there could protect the wrong process, or pick
  // one outside the scope or one that asked never to be chosen.
  auto stat_raw = view_.ReadAt(dfd, "stat", buf);
  if (!stat_raw) {
    if (!Vanished(stat_raw.error())) ++*unreadable;
    return false;
  }
  auto stat = StatOf({buf.data(), stat_raw->size});
  if (!stat || stat->pid != pid) {
    ++*unreadable;
    return false;
  }
  Reset(p);
  p.pid = pid;
  p.starttime = stat->starttime;
  p.comm = stat->comm;
  TakeStat(*stat, p);

  // status gives the uid and the memory breakdown. When it cannot be read whole, the
  // process stays a candidate with its memory from statm (or stat's rss): leaving it out,
  // or reading it as "no mm", would spare exactly the process that may be the hog.
  auto status_raw = view_.ReadAt(dfd, "status", buf);
  if (!status_raw && Vanished(status_raw.error())) return false;
  bool thread = false;
  if (!status_raw ||
      !TakeStatus({buf.data(), status_raw->size}, status_raw->truncated, pid, p, &thread)) {
    if (thread) return false;  // a thread's TID (probed, never listed): not a process
    ++*unreadable;
    p.uid = kUnknownUid;
    if (!MemoryFromStatmOrStat(view_, dfd, *stat, page_size_, p)) return false;
  }

  auto adj_raw = view_.ReadAt(dfd, "oom_score_adj", buf);
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

  if (options.read_kernel_oom_score && !p.kernel_thread) {
    if (auto raw = view_.ReadAt(dfd, "oom_score", buf)) {
      if (auto s = proc::ParseOomScore({buf.data(), raw->size})) p.kernel_oom_score = *s;
    }
  }

  auto cg_raw = view_.ReadAt(dfd, "cgroup", buf);
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
  p.cgroup.assign(MemoryCgroup(*cg, view_, host_cgroup));
  // A refresh re-reading a process it knew keeps what its cgroup said if it is still in the
  // same cgroup: the kill path then reads no attribute (see RefreshInto).
  if (carry_ != nullptr && carry_->pid == pid && carry_->starttime == p.starttime &&
      carry_->cgroup == p.cgroup) {
    p.oomd = carry_->oomd;
  } else {
    p.oomd = prefs_.Lookup(view_, p.cgroup, trusted_owner_);
  }

  if (!p.kernel_thread && p.has_mm) {
    // cmdline takes the target's mmap lock (see KillScanOptions): read only when asked.
    if (options.cmdline_max > 0) {
      if (cmdline_raw_.size() < options.cmdline_max) cmdline_raw_.resize(options.cmdline_max);
      const std::span<char> raw(cmdline_raw_.data(), options.cmdline_max);
      if (auto r = view_.ReadAt(dfd, "cmdline", raw)) {
        p.cmdline.resize(r->size);
        std::size_t n = proc::FormatCmdline({raw.data(), r->size}, p.cmdline);
        p.cmdline.resize(n);
      }
    }
    if (options.read_exe) {
      std::array<char, 4096> link;
      if (auto r = view_.ReadLinkAt(dfd, "exe", link)) {
        p.exe.assign(link.data(), *r);
      } else if (!Vanished(r.error()) && r.error().sys_errno != ENOENT) {
        ++*unreadable;
      }
    }
  }
  return true;
}

Result<void> Scanner::ListCandidatePids(const policy::Scope& scope, policy::Snapshot& out) {
  pids_.clear();
  // A cgroup scope lists its members from cgroup.procs: reading all of /proc would make the
  // kill's cost grow with every process elsewhere on the machine. Each member's own
  // /proc/PID/cgroup is still checked below (it may have moved out since the listing). If
  // the listing fails, /proc is read whole as before: slower, but no member is missed.
  if (scope.kind == policy::ScopeKind::kCgroup && scope.cgroup != "/" &&
      view_.cgroup_version() != sys::CgroupVersion::kNone) {
    if (view_.ListCgroupPids(scope.cgroup, pids_)) {
      std::sort(pids_.begin(), pids_.end());
      pids_.erase(std::unique(pids_.begin(), pids_.end()), pids_.end());
      return {};
    }
    pids_.clear();
  }
  // The census first: a process made after it is in the listing and after its last PID.
  if (auto c = Census()) {
    out.census_pid = c->last_pid;
    out.census_tasks = c->tasks;
  }
  if (auto r = view_.ListPids(pids_); !r) return Fail(r.error());
  std::sort(pids_.begin(), pids_.end());
  return {};
}

Result<proc::TaskCensus> Scanner::Census() noexcept {
  std::array<char, 128> buf;
  auto r = loadavg_.Read(view_, buf);
  if (!r) return Fail(r.error());
  return proc::ParseLoadavgCensus({buf.data(), r->size});
}

bool Scanner::InitialPidNamespace() noexcept {
  if (initial_pid_ns_ < 0) {
    initial_pid_ns_ = 0;
    std::array<char, 64> link;
    if (auto dir = view_.OpenDir(sys::Root::kProc, "self/ns")) {
      // The initial PID namespace's inode is fixed (PROC_PID_INIT_INO, include/linux/proc_ns.h).
      if (auto n = view_.ReadLinkAt(dir->get(), "pid", link)) {
        initial_pid_ns_ = std::string_view(link.data(), *n) == "pid:[4026531836]" ? 1 : 0;
      }
    }
  }
  return initial_pid_ns_ == 1;
}

bool Scanner::ProbeSinceCensus(const policy::Snapshot& prev, policy::Snapshot& out) noexcept {
  // A process prev could not read and left out is read again at the next listing, not at
  // each refresh (one whose exe link alone is unreadable, like an init that is not
  // dumpable, stays an entry). One that vanished meanwhile exited: the count shows it.
  if (prev.census_pid < 0) return false;
  if (!InitialPidNamespace()) return false;  // the count holds tasks /proc does not show
  auto before = Census();
  // A wrap of the PIDs, or too many made since: the listing is cheaper.
  if (!before || before->last_pid < prev.census_pid ||
      before->last_pid - prev.census_pid > kMaxProbe) {
    return false;
  }
  probe_new_.clear();
  probe_known_.clear();
  const auto& procs = prev.processes;
  auto known = [&procs](pid_t pid) { return policy::FindByPid(procs, pid) != procs.end(); };
  std::array<char, 16> name;
  for (pid_t pid = prev.census_pid + 1; pid <= before->last_pid; ++pid) {
    auto dir = view_.OpenDir(sys::Root::kProc, PidName(pid, name));
    if (!dir) {
      if (Vanished(dir.error())) continue;
      return false;
    }
    (known(pid) ? probe_known_ : probe_new_).push_back(pid);  // a process's, or a thread's
  }
  // Nothing made or gone while probing, and every task of the census still here: each task
  // made since (each new PID) counted once, none of the others gone. (An exited process not
  // yet reaped still counts, as /proc still lists it.)
  auto after = Census();
  if (!after || !(*after == *before) || prev.census_tasks + probe_new_.size() != before->tasks) {
    return false;
  }
  pids_.clear();
  auto next = probe_new_.begin();
  for (const auto& q : procs) {
    for (; next != probe_new_.end() && *next < q.pid; ++next) pids_.push_back(*next);
    pids_.push_back(q.pid);
  }
  pids_.insert(pids_.end(), next, probe_new_.end());
  out.census_pid = before->last_pid;
  out.census_tasks = before->tasks;
  out.probed = static_cast<int>(before->last_pid - prev.census_pid);
  return true;
}

Result<policy::Snapshot> Scanner::Scan(const policy::Scope& scope, const ScanOptions& options) {
  policy::Snapshot snap;
  if (auto r = ScanInto(scope, options, snap); !r) return Fail(r.error());
  return snap;
}

Result<void> Scanner::Begin(const policy::Scope& scope, policy::Snapshot& out,
                            const policy::Snapshot* prev, std::uint64_t known_total_pages) {
  out.scope.kind = scope.kind;
  out.scope.cgroup.assign(scope.cgroup);
  out.page_size = page_size_;
  out.unreadable = 0;
  out.vanished = 0;
  out.reused = 0;
  out.reread_held = 0;
  out.seen_growth_bytes = 0;
  out.census_pid = -1;
  out.census_tasks = 0;
  out.probed = -1;
  // user.oomd_* attributes are trusted on cgroups owned by root or by the scope's owner.
  std::string_view scope_cg = "/";
  if (scope.kind == policy::ScopeKind::kCgroup) scope_cg = scope.cgroup;
  while (scope_cg.size() > 1 && scope_cg.front() == '/') scope_cg.remove_prefix(1);
  auto owner = view_.Owner(sys::Root::kCgroup, scope_cg == "/" ? "" : scope_cg);
  trusted_owner_ = owner ? *owner : 0;
  // A refresh of the system scope keeps its whole read's total (MemTotal and SwapTotal: a
  // swapon or a memory hotplug since shows at the next whole read, at most
  // StandingWholeMaxAge later); /proc/meminfo is the heaviest file a refresh would read.
  if (prev != nullptr && scope.kind == policy::ScopeKind::kSystem && prev->total_pages > 0) {
    out.total_pages = prev->total_pages;
    return {};
  }
  if (scope.kind == policy::ScopeKind::kCgroup && known_total_pages > 0) {
    out.total_pages = known_total_pages;
    return {};
  }
  auto total = TotalPages(scope);
  if (!total) return Fail(total.error());
  out.total_pages = *total;
  return {};
}

Result<void> Scanner::ScanInto(const policy::Scope& scope, const ScanOptions& options,
                               policy::Snapshot& out) {
  // The cgroups' attributes are read afresh at most every kPrefsMaxAgeNs (the standing
  // snapshot's whole reads and the sharer watch's scans come far more often).
  if (const sys::Nanos now = clock_.Now(); now - prefs_cleared_ns_ >= kPrefsMaxAgeNs) {
    prefs_.Clear();
    prefs_cleared_ns_ = now;
  }
  if (auto r = Begin(scope, out, nullptr, options.known_total_pages); !r) return Fail(r.error());
  if (auto r = ListCandidatePids(scope, out); !r) return Fail(r.error());
  out.processes.reserve(pids_.size());
  // Slots are overwritten in order; one that was not kept (vanished, unreadable, outside
  // the scope) is reused for the next process. Slots past the end are dropped last.
  std::size_t kept = 0;
  for (pid_t pid : pids_) {
    if (kept == out.processes.size()) out.processes.emplace_back();
    policy::Process& p = out.processes[kept];
    const int unreadable_before = out.unreadable;
    if (!ReadProcess(pid, options, p, &out.unreadable)) {
      if (out.unreadable == unreadable_before) ++out.vanished;
      continue;
    }
    if (!scope.Contains(p.cgroup)) continue;
    ++kept;
  }
  out.processes.resize(kept);
  out.taken_at_ns = clock_.Now();
  out.full_at_ns = out.taken_at_ns;
  return {};
}

Result<void> Scanner::RefreshInto(const policy::Scope& scope, const ScanOptions& options,
                                  std::span<const pid_t> reread, policy::Snapshot& prev,
                                  policy::Snapshot& out) {
  if (prev.scope.kind != scope.kind || prev.scope.cgroup != scope.cgroup || prev.full_at_ns == 0) {
    return ScanInto(scope, options, out);
  }
  if (auto r = Begin(scope, out, &prev); !r) return Fail(r.error());
  const bool probed = scope.kind == policy::ScopeKind::kSystem && ProbeSinceCensus(prev, out);
  if (!probed) {
    probe_known_.clear();
    probe_new_.clear();
    if (auto r = ListCandidatePids(scope, out); !r) return Fail(r.error());
  }
  out.processes.reserve(pids_.size());
  // What changed that this refresh and those before it since the whole read saw, in
  // charged() bytes (Snapshot::seen_growth_bytes).
  out.seen_growth_bytes = prev.seen_growth_bytes;
  auto charged = [](const policy::Process& q) { return static_cast<std::int64_t>(q.charged()); };
  std::size_t kept = 0;
  std::size_t j = 0;
  for (pid_t pid : pids_) {
    for (; j < prev.processes.size() && prev.processes[j].pid < pid; ++j) {
      out.seen_growth_bytes -= charged(prev.processes[j]);  // gone since
    }
    if (kept == out.processes.size()) out.processes.emplace_back();
    policy::Process& p = out.processes[kept];
    const bool known = j < prev.processes.size() && prev.processes[j].pid == pid;
    if (known && std::find(reread.begin(), reread.end(), pid) == reread.end() &&
        std::find(probe_known_.begin(), probe_known_.end(), pid) == probe_known_.end()) {
      // Carried over as prev read it. A PID reused since is caught where it matters: the
      // victim builder checks the start time through the pidfd before any signal.
      std::swap(p, prev.processes[j++]);
      p.carried = true;
      ++out.reused;
      ++kept;
      continue;
    }
    // A known process read again: its growth since counts, and if it is gone, all it held.
    const std::int64_t before = known ? charged(prev.processes[j]) : 0;
    const int unreadable_before = out.unreadable;
    if (Held* h = known ? FindHeld(pid) : nullptr; h != nullptr) {
      // A top candidate whose files are held: re-read in place over its carried entry.
      std::swap(p, prev.processes[j++]);
      bool again = false;
      if (RereadHeld(*h, options, p, &out.unreadable, &again)) {
        p.carried = false;
        ++out.reread_held;
        if (scope.Contains(p.cgroup)) {
          out.seen_growth_bytes += charged(p) - before;
          ++kept;
        } else {
          out.seen_growth_bytes -= before;
        }
        continue;
      }
      if (!again) {
        out.seen_growth_bytes -= before;
        if (out.unreadable == unreadable_before) ++out.vanished;
        continue;
      }
      carry_ = nullptr;  // read whole below (its carried entry is gone: the cgroup's
    } else {             // preference is looked up again)
      carry_ = known ? &prev.processes[j] : nullptr;
    }
    const bool read = ReadProcess(pid, options, p, &out.unreadable);
    carry_ = nullptr;
    if (known && j < prev.processes.size() && prev.processes[j].pid == pid) ++j;  // consumed
    if (!read || !scope.Contains(p.cgroup)) {
      out.seen_growth_bytes -= before;
      // A probed PID that names no process (a thread's) is not a vanishing.
      const bool probed_new = !known && probed;
      if (!read && out.unreadable == unreadable_before && !probed_new) ++out.vanished;
      continue;
    }
    out.seen_growth_bytes += charged(p) - before;
    ++kept;
  }
  for (; j < prev.processes.size(); ++j) out.seen_growth_bytes -= charged(prev.processes[j]);
  out.processes.resize(kept);
  out.taken_at_ns = clock_.Now();
  out.full_at_ns = prev.full_at_ns;
  return {};
}

void Scanner::RereadInto(const policy::Scope& scope, const ScanOptions& options,
                         std::span<const pid_t> pids, policy::Snapshot& snap) {
  auto& procs = snap.processes;
  for (pid_t pid : pids) {
    auto it = policy::FindByPid(procs, pid);
    if (it == procs.end() || !it->carried) continue;
    // The entry as it was, kept for its growth and its cgroup's preference (copied into a
    // warm buffer: no allocation once its strings are as long).
    reread_before_ = *it;
    const auto before = static_cast<std::int64_t>(reread_before_.charged());
    carry_ = &reread_before_;
    const int unreadable_before = snap.unreadable;
    const bool read = ReadProcess(pid, options, *it, &snap.unreadable);
    carry_ = nullptr;
    if (snap.reused > 0) --snap.reused;
    if (!read || !scope.Contains(it->cgroup)) {
      if (!read && snap.unreadable == unreadable_before) ++snap.vanished;
      snap.seen_growth_bytes -= before;
      // Dropped, the order by pid kept (swaps: rare, and no allocation).
      std::rotate(it, it + 1, procs.end());
      procs.pop_back();
      continue;
    }
    snap.seen_growth_bytes += static_cast<std::int64_t>(it->charged()) - before;
  }
  snap.taken_at_ns = clock_.Now();
}

}  // namespace reaperd::scan
