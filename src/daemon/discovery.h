// Discovery of automatic cgroup scopes: every cgroup under a path whose own memory limit
// (v2 memory.max, v1 memory.limit_in_bytes) is finite and below MemTotal. Such a cgroup meets
// its memcg OOM killer long before the system runs short, so only a scope of its own lets
// reaperd act first. Called from the daemon loop every daemon.rescan_interval_ms: it reads
// small cgroupfs files only (no process files, nothing that takes another task's locks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/log.h"
#include "sys/clock.h"
#include "sys/dir_watch.h"
#include "sys/system_view.h"

namespace reaperd::daemon {

struct DiscoveryOptions {
  std::string under = "/";      // cgroup path to search, itself included
  std::size_t max_scopes = 64;  // the smallest limits are kept
};

struct LimitedCgroup {
  std::string path;  // "/a/b", as a Scope holds it
  std::uint64_t limit_bytes = 0;
  friend bool operator==(const LimitedCgroup&, const LimitedCgroup&) = default;
};

struct Discovery {
  std::vector<LimitedCgroup> cgroups;  // ordered by limit, then path
  std::size_t dropped = 0;             // limited cgroups beyond max_scopes
  std::size_t visited = 0;             // cgroups looked at
};

// Told of each cgroup the walk is about to look at, before its children are listed and its
// limit is read, so a watch set up there misses nothing that happens after the read.
class WalkObserver {
 public:
  virtual ~WalkObserver() = default;
  virtual void Visiting(const std::string& cgroup) = 0;  // "/a/b"
};

// Walks the cgroup tree under options.under (depth first, bounded in depth and in count so a
// pathological tree cannot stall the loop). An error only when `under` itself cannot be
// listed; a cgroup that vanishes during the walk is skipped.
Result<Discovery> DiscoverLimitedCgroups(sys::SystemView& view, const DiscoveryOptions& options,
                                         WalkObserver* observer = nullptr);

}  // namespace reaperd::daemon

namespace reaperd::daemon {

class Engine;

// Keeps the engine's automatic scopes in step with the cgroup tree: adds a scope for each newly
// limited cgroup and removes the automatic scopes no longer found (a cgroup removed between
// rescans is usually dropped by the engine first, on ENOENT). With EnableWatch(), every
// cgroup the walk visits is watched (sys/dir_watch.h): a cgroup made or removed, or a limit
// written, asks for a rescan at once; rescans are spaced by at least kMinRescanGapNs and by
// ten times the last walk's duration, so a burst of events costs a bounded share of the loop.
// The rescan every rescan_ms stays as the fallback (a lost event, too many cgroups to watch).
// Loop thread only.
class AutoScopes final : private WalkObserver {
 public:
  static constexpr sys::Nanos kMinRescanGapNs = 50 * sys::kMilli;
  // Watches beyond this are not added (the periodic rescan covers those cgroups).
  static constexpr std::size_t kMaxWatches = 4096;
  // Events handled per OnWatchReady(); the rest wait for the next wake-up.
  static constexpr std::size_t kMaxEventsPerWake = 1024;

  AutoScopes(sys::SystemView& view, const sys::Clock& clock, Logger& log, DiscoveryOptions options,
             int rescan_ms);

  // Sets up the inotify watcher; returns its fd for the loop (EPOLLIN: call OnWatchReady()).
  // Call before the first rescan. On error the periodic rescan alone is left.
  Result<int> EnableWatch();
  // Drains the watcher. True when a rescan is now wanted: MaybeRescan() then rescans when the
  // gap allows, or says how long to wait.
  bool OnWatchReady();

  // Rescans when due. Returns the milliseconds until the next rescan is due.
  int MaybeRescan(Engine& engine);

  // True when the inotify watch covers every cgroup the walk visited: the periodic rescan is
  // then only a fallback, due at the next tick rather than worth a wake-up of its own.
  bool watching() const noexcept { return watcher_.has_value() && !watch_full_logged_; }
  // True when an event asked for a rescan that has not run yet.
  bool rescan_wanted() const noexcept { return rescan_wanted_; }
  std::size_t watches() const noexcept { return watcher_ ? watcher_->size() : 0; }
  std::uint64_t rescans() const noexcept { return rescans_; }

 private:
  void Rescan(Engine& engine);
  void Visiting(const std::string& cgroup) override;
  std::string AbsolutePath(const std::string& cgroup) const;

  sys::SystemView& view_;
  const sys::Clock& clock_;
  Logger& log_;
  DiscoveryOptions options_;
  int rescan_ms_;
  std::string limit_file_;
  sys::Nanos next_ns_ = 0;
  bool rescan_wanted_ = false;
  sys::Nanos last_end_ns_ = 0;  // when the last rescan ended
  sys::Nanos gap_ns_ = kMinRescanGapNs;
  std::uint64_t rescans_ = 0;
  std::size_t last_dropped_ = 0;
  std::string last_error_;
  std::optional<sys::DirWatcher> watcher_;
  bool clear_watches_ = false;  // an overflow: watch everything anew at the next walk
  bool watch_full_logged_ = false;
};

}  // namespace reaperd::daemon
