// ManagedOOMMemoryPressure=kill as systemd-oomd applies it (systemd.resource-control(5),
// oomd.conf(5); systemd 252's src/oom): a unit opts its cgroup in with a limit (a share of
// time, PSI "full" avg10, of that cgroup's own memory.pressure) and systemd-oomd acts when the
// cgroup stays above the limit for the duration while reclaim is going on in it; then it
// kills one candidate below it (a leaf cgroup, or one with memory.oom.group=1) whole, chosen
// by the reclaim scanning in it, "avoid" ones last and "omit" ones never. Pure: the engine
// (daemon/engine_managed_oom.cc) reads the cgroups and calls in with what it read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace reaperd::policy {

// systemd-oomd's defaults (oomd.conf: DefaultMemoryPressureLimit=60%,
// DefaultMemoryPressureDurationSec=30s), the reclaim window within which the cgroup must have
// scanned pages for a kill to help (RECLAIM_DURATION_USEC) and its delay after a kill
// (POST_ACTION_DELAY_USEC), as in systemd 252.
constexpr std::uint32_t kManagedOomDefaultLimitPermyriad = 6000;
constexpr std::int64_t kManagedOomDefaultDurationNs = 30LL * 1000 * 1000 * 1000;
constexpr std::int64_t kManagedOomReclaimWindowNs = 30LL * 1000 * 1000 * 1000;
constexpr std::int64_t kManagedOomPostKillNs = 15LL * 1000 * 1000 * 1000;
// At most this many opted-in cgroups are followed (a host has a handful: user@.service,
// a workload slice); more are refused whole, with an error.
constexpr std::size_t kManagedOomMax = 64;

// One cgroup whose unit says ManagedOOMMemoryPressure=kill.
struct ManagedOomCgroup {
  std::string path;                   // absolute in the cgroup v2 hierarchy: "/a.slice/b.slice"
  std::uint32_t limit_permyriad = 0;  // of memory.pressure full avg10, 1..10000
  std::int64_t duration_ns = 0;       // how long it must stay above
  bool operator==(const ManagedOomCgroup&) const = default;
};

// systemd's unit property ManagedOOMMemoryPressureLimit= is a share scaled to UINT32_MAX (0:
// not set, the default applies); this is it in permyriad, rounded as systemd rounds it.
std::uint32_t ManagedOomLimitPermyriad(std::uint32_t scaled,
                                       std::uint32_t default_permyriad) noexcept;

// When a kill is due for one opted-in cgroup, from its samples (one per tick).
class ManagedOomTrigger {
 public:
  // full_avg10: the cgroup's memory.pressure "full avg10" (percent); pgscan: its memory.stat
  // pgscan counter. True when the pressure has been above the limit for the duration, the
  // cgroup scanned pages for reclaim within kManagedOomReclaimWindowNs, and the last kill
  // is more than kManagedOomPostKillNs ago.
  bool Observe(std::int64_t now_ns, double full_avg10, std::uint64_t pgscan,
               const ManagedOomCgroup& settings) noexcept;
  // After a kill: nothing is due until kManagedOomPostKillNs has passed and then the pressure
  // has stayed above the limit for a whole duration again (the averages lag the kill: a
  // decision on them at once would kill a second time for the same stall).
  void NoteKill(std::int64_t now_ns) noexcept;
  // Since when the pressure is above the limit (0: it is not), for the log line.
  std::int64_t above_since_ns() const noexcept { return above_since_; }

 private:
  bool above_ = false;
  bool have_reclaim_ = false;
  std::int64_t above_since_ = 0;
  std::int64_t last_reclaim_ = 0;
  std::int64_t quiet_until_ = 0;
  std::uint64_t last_pgscan_ = 0;
  bool have_pgscan_ = false;
};

// A candidate below an opted-in cgroup, as read at the decision.
struct ManagedOomCandidate {
  std::string_view path;
  std::uint64_t pgscan_delta = 0;    // pages its reclaim scanned since the previous look
  std::uint64_t memory_current = 0;  // memory.current
  std::uint8_t oomd = 0;             // policy::OomdPreference bits (its own and its ancestors')
  // Its own memory.pressure full avg10 is above the opted-in cgroup's limit: it stalls. A
  // cgroup throttled at its memory.high with swap full stalls without scanning a page in a
  // given second (TEST-55's testmunch in the lab).
  bool stalled = false;
};

// The candidate to kill, or -1: never an "omit" one, an "avoid" one only when no other is
// eligible; the one whose reclaim scanned most, then the largest. A candidate that neither
// scanned nor stalls is not eligible (reaperd's departure from systemd-oomd, which passes over
// only a candidate that scanned nothing and holds no memory): killing it frees nothing the
// stall is waiting for (TEST-55's idle testchill, which systemd-oomd killed in the lab).
std::ptrdiff_t SelectManagedOomVictim(std::span<const ManagedOomCandidate> candidates) noexcept;

}  // namespace reaperd::policy
