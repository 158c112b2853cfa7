#include "daemon/discovery.h"

#include <sys/inotify.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

#include "daemon/engine.h"
#include "proc/cgroup_memory.h"
#include "proc/meminfo.h"

namespace reaperd::daemon {

namespace {

// Far deeper than systemd slices or container runtimes nest; and more cgroups than a busy
// host has. Beyond these the walk stops instead of stalling the loop.
constexpr std::size_t kMaxDepth = 32;
constexpr std::size_t kMaxVisited = 20000;

// "/a/b" -> "a/b/", "/" -> "": the prefix of file paths relative to the cgroup root.
std::string RelativeDir(std::string_view cgroup) {
  while (!cgroup.empty() && cgroup.front() == '/') cgroup.remove_prefix(1);
  return cgroup.empty() ? std::string() : std::string(cgroup) + "/";
}

}  // namespace

Result<Discovery> DiscoverLimitedCgroups(sys::SystemView& view, const DiscoveryOptions& options,
                                         WalkObserver* observer) {
  std::array<char, 4096> buf{};
  auto m = view.Read(sys::Root::kProc, "meminfo", buf);
  if (!m) return Fail(m.error());
  auto mem = proc::ParseMemInfo({buf.data(), m->size});
  if (!mem) return Fail(mem.error());
  const char* limit_file =
      view.cgroup_version() == sys::CgroupVersion::kV1 ? "memory.limit_in_bytes" : "memory.max";

  std::string root = options.under;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.empty() || root.front() != '/') root.insert(root.begin(), '/');

  Discovery out;
  // (cgroup path, depth); a stack, so the walk is depth first without recursion.
  std::vector<std::pair<std::string, std::size_t>> todo = {{root, 0}};
  std::vector<std::string> children;
  bool first = true;
  while (!todo.empty() && out.visited < kMaxVisited) {
    auto [path, depth] = std::move(todo.back());
    todo.pop_back();
    ++out.visited;
    if (observer) observer->Visiting(path);
    const std::string rel = RelativeDir(path);
    children.clear();
    auto listed = view.ListDirs(sys::Root::kCgroup, rel.empty() ? "." : rel, children);
    if (!listed) {
      if (first) return Fail(listed.error());
      continue;  // removed while we walked
    }
    first = false;
    if (auto r = view.Read(sys::Root::kCgroup, rel + limit_file, buf)) {
      auto limit = proc::ParseCgroupValue({buf.data(), r->size});
      if (limit && *limit != proc::kUnlimited && *limit < mem->mem_total) {
        out.cgroups.push_back({path, *limit});
      }
    }
    if (depth + 1 >= kMaxDepth) continue;
    for (auto& c : children) {
      todo.emplace_back(path == "/" ? "/" + c : path + "/" + c, depth + 1);
    }
  }
  std::sort(out.cgroups.begin(), out.cgroups.end(), [](const auto& a, const auto& b) {
    return a.limit_bytes != b.limit_bytes ? a.limit_bytes < b.limit_bytes : a.path < b.path;
  });
  if (out.cgroups.size() > options.max_scopes) {
    out.dropped = out.cgroups.size() - options.max_scopes;
    out.cgroups.resize(options.max_scopes);
  }
  return out;
}

}  // namespace reaperd::daemon

namespace reaperd::daemon {

AutoScopes::AutoScopes(sys::SystemView& view, const sys::Clock& clock, Logger& log,
                       DiscoveryOptions options, int rescan_ms)
    : view_(view),
      clock_(clock),
      log_(log),
      options_(std::move(options)),
      rescan_ms_(rescan_ms),
      limit_file_(view.cgroup_version() == sys::CgroupVersion::kV1 ? "memory.limit_in_bytes"
                                                                   : "memory.max") {}

Result<int> AutoScopes::EnableWatch() {
  // IN_MODIFY: a write to the limit file (cgroupfs reports it on the directory, measured on
  // 6.18); the moves: v1 cgroups can be renamed.
  auto w = sys::DirWatcher::Create(
      IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_DELETE_SELF,
      kMaxWatches);
  if (!w) return Fail(w.error());
  watcher_.emplace(std::move(*w));
  return watcher_->fd();
}

bool AutoScopes::OnWatchReady() {
  if (!watcher_) return false;
  bool wanted = false;
  auto drained = watcher_->Drain(kMaxEventsPerWake, [&](const sys::DirEvent& e) {
    if (e.mask & IN_ISDIR) {
      wanted = true;  // a cgroup made, removed or renamed
    } else if ((e.mask & IN_MODIFY) && e.name == limit_file_) {
      wanted = true;  // a limit set or changed; other files (cgroup.procs...) do not matter
    } else if (e.mask & (IN_DELETE_SELF | IN_IGNORED)) {
      wanted = true;
    }
  });
  if (!drained) {
    log_.Log(LogLevel::kWarning, "discovery", "watch=failed error={}",
             Q{drained.error().ToString()});
    return false;
  }
  if (drained->overflow) {
    clear_watches_ = true;
    wanted = true;
  }
  if (wanted) {
    next_ns_ = std::min(next_ns_, std::max(clock_.Now(), last_end_ns_ + gap_ns_));
    rescan_wanted_ = true;
  }
  return wanted;
}

int AutoScopes::MaybeRescan(Engine& engine) {
  sys::Nanos now = clock_.Now();
  if (now >= next_ns_) {
    rescan_wanted_ = false;
    Rescan(engine);
    const sys::Nanos end = clock_.Now();
    // Ten times the walk's own duration: a huge tree under a storm of events still leaves
    // the loop at least 90% of its time.
    gap_ns_ = std::max(kMinRescanGapNs, 10 * (end - now));
    last_end_ns_ = end;
    now = end;
    next_ns_ = now + rescan_ms_ * sys::kMilli;
  }
  return static_cast<int>(
      std::max<sys::Nanos>(1, (next_ns_ - now + sys::kMilli - 1) / sys::kMilli));
}

std::string AutoScopes::AbsolutePath(const std::string& cgroup) const {
  std::string p(view_.cgroup_root_path());
  if (cgroup != "/") {
    while (!p.empty() && p.back() == '/') p.pop_back();
    p += cgroup;
  }
  return p;
}

void AutoScopes::Visiting(const std::string& cgroup) {
  auto r = watcher_->Watch(AbsolutePath(cgroup));
  if (r && *r) return;
  if (!r && r.error().sys_errno == ENOENT) return;  // removed during the walk
  if (!watch_full_logged_) {
    log_.Log(LogLevel::kWarning, "discovery", "watches={} error={} note={}", watcher_->size(),
             Q{r ? std::string("limit reached") : r.error().ToString()},
             Q{"cgroups beyond are found at the periodic rescan only"});
    watch_full_logged_ = true;
  }
}

void AutoScopes::Rescan(Engine& engine) {
  ++rescans_;
  if (watcher_) {
    if (clear_watches_) watcher_->Clear();
    clear_watches_ = false;
    watcher_->BeginSweep();
  }
  auto found = DiscoverLimitedCgroups(view_, options_, watcher_ ? this : nullptr);
  // Watches of cgroups the walk no longer reached are dropped; after an error, all of them.
  if (watcher_) {
    if (found) {
      (void)watcher_->EndSweep();
    } else {
      watcher_->Clear();
    }
  }
  if (!found) {
    // Once per distinct error, not every rescan: `under` may simply not exist yet.
    std::string e = found.error().ToString();
    if (e != last_error_) {
      log_.Log(LogLevel::kWarning, "discovery", "under={} error={}", Q{options_.under}, Q{e});
      last_error_ = std::move(e);
    }
    return;
  }
  last_error_.clear();
  if (found->dropped != last_dropped_) {
    log_.Log(LogLevel::kWarning, "discovery",
             "under={} limited={} watched_max={} dropped={} note={}", Q{options_.under},
             found->cgroups.size() + found->dropped, options_.max_scopes, found->dropped,
             Q{"the largest limits are not watched; raise daemon.max_cgroup_scopes"});
    last_dropped_ = found->dropped;
  }
  // Automatic scopes no longer limited (or gone): removed. Names are compared, since a
  // Scope's name is what the engine keys on.
  std::vector<std::string> stale;
  for (const auto& st : engine.status()) {
    if (!st.automatic) continue;
    const bool still =
        std::any_of(found->cgroups.begin(), found->cgroups.end(),
                    [&](const LimitedCgroup& c) { return c.path == st.scope.cgroup; });
    if (!still) stale.push_back(st.scope.Name());
  }
  for (const auto& name : stale) (void)engine.RemoveScope(name, "gone_or_unlimited");
  for (const auto& c : found->cgroups) {
    policy::Scope s;
    s.kind = policy::ScopeKind::kCgroup;
    s.cgroup = c.path;
    (void)engine.AddScope(s, /*automatic=*/true);  // false when already watched
  }
}

}  // namespace reaperd::daemon
