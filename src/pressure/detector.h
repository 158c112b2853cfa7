// The per-scope pressure detector: turns a stream of PressureSamples into Decisions (ok, warn,
// reclaim, kill) with their reasons. Pure: no I/O and no clock; time comes with each sample,
// so recorded traces replay exactly. One Detector per scope (the system, or one cgroup).
// Not thread-safe; the daemon loop owns it. Update() does not allocate.
//
// What it decides on, and why:
// - Headroom = available + swap free, as a percent of total + swap total. Below
//   warn/reclaim/kill_available_percent gives that level. warn and reclaim drop only once
//   headroom exceeds their threshold by hysteresis_percent; kill is never held by hysteresis:
//   every kill decision needs its own evidence.
// - Time to exhaustion of the kill floor, from the least-squares trend over trend_window_ms,
//   of the current fall only: from the top of the latest rebound (headroom rising by more
//   than 1% of the capacity: a victim's memory came back) on (History::Slope).
//   It is trusted only once headroom is below the warn threshold (above it, falling memory is
//   just use), and only while the pace of the latest interval agrees (a spike that stopped
//   has no pace). A kill needs tte_confirm_samples such samples in a row, or one sample whose
//   latest pace reaches the floor before the next fast sample (a fast hog).
// - PSI some/full as a share of wall time over psi_window_ms, from the cumulative totals.
//   some above psi_some_warn_percent for psi_sustain_ms gives warn; full above
//   psi_full_kill_percent for psi_sustain_ms gives kill, if less than
//   kPsiKillMaxAvailablePercent of the memory is available (else reclaim). A short burst
//   never does.
// - Swap and memory both used at least swap_used_kill_percent (systemd-oomd's SwapUsedLimit)
//   gives kill with kReasonSwapExhausted; the engine then takes the largest swap user.
// - After NoteKill(), no kill decision (capped to reclaim, with kReasonVictimPending) until the
//   victim's memory is visibly back (headroom rose by victim_return_percent of its bytes), or
//   the reaper reported it done victim_settle_ms ago, or its deadline passed. Then the PSI
//   sustain timers and the trend confirmations start afresh.
// - The next interval is interval_fast_ms while anything is going on (a level above ok,
//   headroom under twice the warn threshold, a trend reaching the floor within ten horizons,
//   PSI some above half its threshold, a victim pending), else the time a hog filling at
//   kMaxFillBytesPerSecond needs to reach the kill floor, within [interval_fast_ms,
//   interval_slow_ms]. A fast fall is chased: when the latest pace (or the trend, or the
//   fastest fall of the last 2 s, if faster) reaches the warn edge sooner than that, the next look
//   is then (inside the band, at half the time to the floor), at least kChaseMinMs: a fall that
//   crosses the whole band between two fast samples is still met inside it, where the kill decision
//   has room (issue 13's growers). Chasing only looks sooner; the levels are decided as above.
#pragma once

#include <cstdint>

#include "config/config.h"
#include "pressure/history.h"
#include "pressure/sample.h"

namespace reaperd::pressure {

// The fastest rate at which a process is expected to fill memory (page faults on
// anonymous memory run at a few GiB/s on current machines; 2 GiB/s keeps the cost low).
constexpr double kMaxFillBytesPerSecond = 2.0 * 1024 * 1024 * 1024;

// The shortest interval a fast fall is chased at (see above): the loop's own floor.
constexpr int kChaseMinMs = 10;

// PSI full sustained kills only below this share of the scope's memory available (the lab's
// oomd_test: a slice throttled at its own MemoryHigh kept the host's PSI full high at 72-78%
// available, and the system scope killed unrelated processes one after another).
constexpr double kPsiKillMaxAvailablePercent = 50.0;

class Detector {
 public:
  explicit Detector(const config::DetectorConfig& cfg);

  // New settings (a config reload) for the next Update(): the history, the held level, a
  // pending victim and the PSI and trend timers stay, so a reload during an episode neither
  // forgets the victim whose memory is on its way back nor restarts the evidence.
  void Reconfigure(const config::DetectorConfig& cfg) noexcept;

  // Feeds one sample (t_ns must not go backwards; a sample older than the last is ignored
  // and the last decision returned).
  Decision Update(const PressureSample& s) noexcept;

  // A victim was signalled at t_ns; it holds about victim_bytes; its memory must be back by
  // deadline_ns. Replaces any earlier pending victim.
  void NoteKill(std::int64_t t_ns, std::uint64_t victim_bytes, std::int64_t deadline_ns) noexcept;
  // The reaper saw the victim exit and its memory released (or gave up) at t_ns.
  void NoteVictimDone(std::int64_t t_ns) noexcept;

  bool victim_pending() const noexcept { return pending_.active; }
  // The settings in use (after the constructor's clamping).
  const config::DetectorConfig& config() const noexcept { return cfg_; }
  const Decision& last() const noexcept { return last_; }

 private:
  struct Pending {
    bool active = false;
    double headroom_at_kill = 0;
    std::uint64_t victim_bytes = 0;
    std::int64_t deadline_ns = 0;
    std::int64_t done_ns = -1;
  };

  Level AvailableLevel(double pct) noexcept;
  // How soon to look again to meet a fall at `pace` bytes/s at its next edge.
  int ChaseMs(double headroom, double capacity, double pace) const noexcept;
  bool Sustained(bool above, std::int64_t t_ns, std::int64_t& since_ns) const noexcept;
  void EndPendingIfResolved(std::int64_t t_ns, double headroom) noexcept;

  config::DetectorConfig cfg_;
  History history_;
  Decision last_;
  Level avail_level_ = Level::kOk;  // the headroom level, with hysteresis
  std::int64_t some_since_ns_ = -1;
  std::int64_t full_since_ns_ = -1;
  int tte_hits_ = 0;
  Pending pending_;
};

}  // namespace reaperd::pressure
