// Discovery of automatic cgroup scopes: every cgroup under a path whose own memory limit
// (v2 memory.max, v1 memory.limit_in_bytes) is finite and below MemTotal. Such a cgroup meets
// its memcg OOM killer long before the system runs short, so only a scope of its own lets
// reaperd act first. Called from the daemon loop every daemon.rescan_interval_ms: it reads
// small cgroupfs files only (no process files, nothing that takes another task's locks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/log.h"
#include "sys/clock.h"
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

// Walks the cgroup tree under options.under (depth first, bounded in depth and in count so a
// pathological tree cannot stall the loop). An error only when `under` itself cannot be
// listed; a cgroup that vanishes during the walk is skipped.
Result<Discovery> DiscoverLimitedCgroups(sys::SystemView& view, const DiscoveryOptions& options);

}  // namespace reaperd::daemon

namespace reaperd::daemon {

class Engine;

// Keeps the engine's automatic scopes in step with the cgroup tree: every rescan_ms, adds a
// scope for each newly limited cgroup and removes the automatic scopes no longer found
// (a cgroup removed between rescans is usually dropped by the engine first, on ENOENT).
// Loop thread only.
class AutoScopes {
 public:
  AutoScopes(sys::SystemView& view, const sys::Clock& clock, Logger& log, DiscoveryOptions options,
             int rescan_ms)
      : view_(view),
        clock_(clock),
        log_(log),
        options_(std::move(options)),
        rescan_ms_(rescan_ms) {}

  // Rescans when due. Returns the milliseconds until the next rescan is due.
  int MaybeRescan(Engine& engine);

 private:
  void Rescan(Engine& engine);

  sys::SystemView& view_;
  const sys::Clock& clock_;
  Logger& log_;
  DiscoveryOptions options_;
  int rescan_ms_;
  sys::Nanos next_ns_ = 0;
  std::size_t last_dropped_ = 0;
  std::string last_error_;
};

}  // namespace reaperd::daemon
