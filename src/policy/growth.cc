#include "policy/growth.h"

#include <algorithm>
#include <bit>
#include <limits>

#include "policy/container.h"
#include "policy/rank.h"

namespace reaperd::policy {

namespace {

constexpr std::size_t kMinSlots = 64;
// Past this many processes a scope's baselines stop growing (65,536 slots of 16 bytes: 1 MiB);
// the rest of the processes grow nothing in the ranking (conservative).
constexpr std::size_t kMaxSlots = std::size_t{1} << 16;
// A process tree is followed up at most this far (a standing snapshot's entries are read at
// different instants, so a reused PID could make the parent links loop).
constexpr int kMaxTreeDepth = 32;

std::size_t Hash(pid_t pid, std::uint64_t starttime) noexcept {
  std::uint64_t h = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(pid)) << 32) ^ starttime;
  h *= 0x9e3779b97f4a7c15ULL;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

// FNV-1a of the cgroup path: the application key's first part.
std::uint64_t PathHash(std::string_view s) noexcept {
  std::uint64_t h = 14695981039346656037ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string_view Leaf(std::string_view cgroup) noexcept {
  const auto slash = cgroup.rfind('/');
  return slash == std::string_view::npos ? cgroup : cgroup.substr(slash + 1);
}

}  // namespace

bool CgroupIsOneApplication(std::string_view cgroup) noexcept {
  const std::string_view leaf = Leaf(cgroup);
  // A service (user@UID.service's own processes sit in its init.scope) or an app unit.
  if (leaf.ends_with(".service")) return true;
  if (leaf.starts_with("app-") && (leaf.ends_with(".scope") || leaf.ends_with(".slice"))) {
    return true;
  }
  const ContainerInfo c = IdentifyContainer(cgroup);
  return c.known() && !c.monitor;
}

const char* ApplicationKind(const Score& s) noexcept {
  return s.app_hash == 0 ? "none" : s.app_root == 0 ? "cgroup" : "tree";
}

void GrowthBaseline::Rehash(std::size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  size_ = 0;
  for (const Slot& s : old) {
    if (s.pid != 0) Insert(s.pid, s.starttime, std::uint64_t{s.rss_pages} * page_size_);
  }
}

const GrowthBaseline::Slot* GrowthBaseline::Find(pid_t pid,
                                                 std::uint64_t starttime) const noexcept {
  if (slots_.empty()) return nullptr;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = Hash(pid, starttime) & mask, n = 0; n < slots_.size();
       i = (i + 1) & mask, ++n) {
    const Slot& s = slots_[i];
    if (s.pid == 0) return nullptr;
    if (s.pid == pid && s.starttime == starttime) return &s;
  }
  return nullptr;
}

bool GrowthBaseline::Insert(pid_t pid, std::uint64_t starttime, std::uint64_t rss_bytes) noexcept {
  // At most three quarters full, so a probe ends soon.
  if (slots_.empty() || (size_ + 1) * 4 > slots_.size() * 3) return false;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = Hash(pid, starttime) & mask;; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.pid == pid && s.starttime == starttime) return true;
    if (s.pid != 0) continue;
    s.pid = pid;
    s.starttime = starttime;
    s.rss_pages = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(rss_bytes / page_size_, std::numeric_limits<std::uint32_t>::max()));
    ++size_;
    return true;
  }
}

void GrowthBaseline::Observe(const Snapshot& snap, bool may_grow) {
  page_size_ = std::max<std::uint64_t>(snap.page_size, 1);
  if (may_grow && (size_ + snap.processes.size()) * 4 > slots_.size() * 3 &&
      slots_.size() < kMaxSlots) {
    const std::size_t want =
        std::bit_ceil(std::max(kMinSlots, (size_ + snap.processes.size()) * 2));
    Rehash(std::min(want, kMaxSlots));
  }
  if (!started_) {
    // The episode's first sighting: whatever starts later is new in the episode.
    started_ = true;
    born_after_ = 0;
    for (const Process& p : snap.processes) born_after_ = std::max(born_after_, p.starttime);
  }
  for (const Process& p : snap.processes) {
    if (p.pid <= 0 || p.kernel_thread || Find(p.pid, p.starttime) != nullptr) continue;
    const std::uint64_t baseline = p.starttime > born_after_ ? 0 : p.rss();
    if (!Insert(p.pid, p.starttime, baseline)) ++dropped_;
  }
}

void GrowthBaseline::Reset() noexcept {
  std::fill(slots_.begin(), slots_.end(), Slot{});
  size_ = 0;
  started_ = false;
  born_after_ = 0;
  dropped_ = 0;
}

std::uint64_t GrowthBaseline::Growth(const Process& p) const noexcept {
  if (!started_) return 0;
  const Slot* s = Find(p.pid, p.starttime);
  if (s == nullptr) return 0;
  const std::uint64_t base = std::uint64_t{s->rss_pages} * page_size_;
  const std::uint64_t now = p.rss();
  return now > base ? now - base : 0;
}

void Ranker::AddGrowth(const Snapshot& snap, const GrowthBaseline& baseline, Ranking& out) const {
  const std::int64_t page = static_cast<std::int64_t>(std::max<std::uint64_t>(snap.page_size, 1));
  bool any = false;
  for (Score& s : out.candidates) {
    s.growth = static_cast<std::int64_t>(baseline.Growth(snap.processes[s.index])) / page;
    any = any || s.growth > 0;
  }
  // Nothing grew: every term is 0, and the grouping (a few ms at 10,000 processes) is skipped.
  if (!any) return;
  // The snapshot's processes by pid, to follow parent links (reused: no allocation once warm).
  auto& by_pid = out.by_pid;
  by_pid.clear();
  by_pid.reserve(snap.processes.size());
  for (std::size_t i = 0; i < snap.processes.size(); ++i) {
    by_pid.push_back({snap.processes[i].pid, static_cast<std::uint32_t>(i)});
  }
  std::sort(by_pid.begin(), by_pid.end());
  auto find = [&](pid_t pid) -> const Process* {
    auto it =
        std::lower_bound(by_pid.begin(), by_pid.end(), std::pair<pid_t, std::uint32_t>{pid, 0});
    return it != by_pid.end() && it->first == pid ? &snap.processes[it->second] : nullptr;
  };
  for (Score& s : out.candidates) {
    s.app_hash = PathHash(snap.processes[s.index].cgroup);
    s.app_root = 0;
  }
  // By cgroup (its path's 64-bit hash: two cgroups that collide would count as one, a chance
  // of about n^2 / 2^65), so that each cgroup's layout is judged once, not per process.
  auto by_key = [](const Score& a, const Score& b) {
    if (a.app_hash != b.app_hash) return a.app_hash < b.app_hash;
    if (a.app_root != b.app_root) return a.app_root < b.app_root;
    return a.index < b.index;
  };
  std::sort(out.candidates.begin(), out.candidates.end(), by_key);
  auto& c = out.candidates;
  for (std::size_t first = 0; first < c.size();) {
    std::size_t last = first + 1;
    while (last < c.size() && c[last].app_hash == c[first].app_hash) ++last;
    if (!CgroupIsOneApplication(snap.processes[c[first].index].cgroup)) {
      for (std::size_t k = first; k < last; ++k) {
        // The process tree: up through parents in the same cgroup and session, stopping
        // below the session's leader (a shell: each of its jobs is an application).
        const Process* root = &snap.processes[c[k].index];
        for (int depth = 0; depth < kMaxTreeDepth && root->pid != root->session; ++depth) {
          const Process* parent = root->ppid > 1 ? find(root->ppid) : nullptr;
          if (parent == nullptr || parent->pid == parent->session || parent->kernel_thread ||
              parent->session != root->session || parent->cgroup != root->cgroup) {
            break;
          }
          root = parent;
        }
        c[k].app_root = root->pid;
      }
      std::sort(c.begin() + static_cast<std::ptrdiff_t>(first),
                c.begin() + static_cast<std::ptrdiff_t>(last), by_key);
    }
    first = last;
  }
  // Each application's members are now next to each other: sum their growth.
  const std::int64_t weight = config_.growth_weight;
  for (std::size_t first = 0; first < c.size();) {
    std::size_t last = first + 1;
    std::int64_t sum = c[first].growth;
    while (last < c.size() && c[last].app_hash == c[first].app_hash &&
           c[last].app_root == c[first].app_root) {
      sum += c[last++].growth;
    }
    for (std::size_t k = first; k < last; ++k) {
      c[k].app_growth = sum;
      c[k].app_members = static_cast<int>(last - first);
      c[k].growth_points = sum * weight / 100;
      c[k].total += c[k].growth_points;
    }
    first = last;
  }
}

}  // namespace reaperd::policy
