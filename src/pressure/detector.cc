#include "pressure/detector.h"

#include <algorithm>

namespace reaperd::pressure {
namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;
// The latest pace is measured against a point at least this old, so two readings taken back
// to back (a late tick) do not divide by almost nothing.
constexpr std::int64_t kMinPaceSpanNs = 10 * kNsPerMs;
// A rise of headroom by more than this share of the capacity starts a new fall for the trend
// (History::Slope): a victim's memory came back, and the fall before it is another one.
constexpr double kReboundPercent = 1.0;
// A fall this recent is chased even while headroom rises: a victim's memory came back, and
// the rest of the burst that forced the kill goes on (History::FastestFall).
constexpr std::int64_t kRecentFallNs = 2000 * kNsPerMs;

// Milliseconds until `left` bytes are gone at `rate` bytes/s; -1 when not falling.
std::int64_t MsUntil(double left, double rate) {
  if (rate < 1.0) return -1;  // under a byte a second is no trend
  if (left <= 0) return 0;
  const double ms = left / rate * 1000.0;
  return ms > 1e12 ? std::int64_t{1'000'000'000'000} : static_cast<std::int64_t>(ms);
}

}  // namespace

const char* LevelName(Level l) noexcept {
  switch (l) {
    case Level::kOk:
      return "ok";
    case Level::kWarn:
      return "warn";
    case Level::kReclaim:
      return "reclaim";
    case Level::kKill:
      return "kill";
  }
  return "?";
}

Detector::Detector(const config::DetectorConfig& cfg) {
  Reconfigure(cfg);
  last_.next_interval_ms = cfg_.interval_slow_ms;
}

void Detector::Reconfigure(const config::DetectorConfig& cfg) noexcept {
  cfg_ = cfg;
  cfg_.interval_fast_ms = std::max(cfg_.interval_fast_ms, 1);
  cfg_.interval_slow_ms = std::max(cfg_.interval_slow_ms, cfg_.interval_fast_ms);
  cfg_.tte_confirm_samples = std::max(cfg_.tte_confirm_samples, 1);
}

Level Detector::AvailableLevel(double pct) noexcept {
  Level raw = Level::kOk;
  if (pct < cfg_.kill_available_percent) {
    raw = Level::kKill;
  } else if (pct < cfg_.reclaim_available_percent) {
    raw = Level::kReclaim;
  } else if (pct < cfg_.warn_available_percent) {
    raw = Level::kWarn;
  }
  // A level held from before stays until headroom clears its threshold by the hysteresis.
  Level held = Level::kOk;
  const double h = cfg_.hysteresis_percent;
  if (avail_level_ >= Level::kReclaim && pct < cfg_.reclaim_available_percent + h) {
    held = Level::kReclaim;
  } else if (avail_level_ >= Level::kWarn && pct < cfg_.warn_available_percent + h) {
    held = Level::kWarn;
  }
  avail_level_ = std::max(raw, held);
  return avail_level_;
}

bool Detector::Sustained(bool above, std::int64_t t_ns, std::int64_t& since_ns) const noexcept {
  if (!above) {
    since_ns = -1;
    return false;
  }
  if (since_ns < 0) since_ns = t_ns;
  return t_ns - since_ns >= static_cast<std::int64_t>(cfg_.psi_sustain_ms) * kNsPerMs;
}

void Detector::EndPendingIfResolved(std::int64_t t_ns, double headroom) noexcept {
  if (!pending_.active) return;
  const double wanted =
      static_cast<double>(pending_.victim_bytes) * cfg_.victim_return_percent / 100.0;
  const bool back = headroom - pending_.headroom_at_kill >= wanted;
  const bool settled =
      pending_.done_ns >= 0 &&
      t_ns - pending_.done_ns >= static_cast<std::int64_t>(cfg_.victim_settle_ms) * kNsPerMs;
  if (back || settled || t_ns >= pending_.deadline_ns) {
    pending_.active = false;
    // Pressure from before the kill does not count towards the next one.
    some_since_ns_ = -1;
    full_since_ns_ = -1;
    tte_hits_ = 0;
  }
}

int Detector::ChaseMs(double headroom, double capacity, double pace) const noexcept {
  // The next edge the fall has not crossed yet: the warn band's, then the kill floor.
  const double warn_bytes = capacity * cfg_.warn_available_percent / 100.0;
  const double floor_bytes = capacity * cfg_.kill_available_percent / 100.0;
  const bool above_band = headroom >= warn_bytes;
  const std::int64_t ms = MsUntil(headroom - (above_band ? warn_bytes : floor_bytes), pace);
  if (ms < 0) return cfg_.interval_slow_ms;  // not falling
  // Above the band, look as it is entered; inside it, twice more before the floor. Only
  // ever sooner than the interval asked for otherwise (the caller takes the smaller).
  const std::int64_t chase = above_band ? ms : ms / 2;
  return static_cast<int>(std::clamp<std::int64_t>(chase, kChaseMinMs, cfg_.interval_slow_ms));
}

Decision Detector::Update(const PressureSample& s) noexcept {
  if (history_.size() > 0 && s.t_ns < history_.Back(0).t_ns) return last_;

  const double capacity =
      static_cast<double>(s.total_bytes) + static_cast<double>(s.swap_total_bytes);
  const double headroom = std::min(
      capacity, static_cast<double>(s.available_bytes) + static_cast<double>(s.swap_free_bytes));
  history_.Push({s.t_ns, headroom, s.psi_some_total_us, s.psi_full_total_us});
  EndPendingIfResolved(s.t_ns, headroom);

  Decision d;
  d.available_percent = capacity > 0 ? headroom / capacity * 100.0 : 100.0;
  const double floor_bytes = capacity * cfg_.kill_available_percent / 100.0;

  // Headroom thresholds.
  Level level = AvailableLevel(d.available_percent);
  if (level > Level::kOk) d.reasons |= kReasonAvailableLow;

  // The trend, and the pace of the latest interval.
  d.slope_bytes_per_s = history_.Slope(static_cast<std::int64_t>(cfg_.trend_window_ms) * kNsPerMs,
                                       capacity * kReboundPercent / 100);
  d.time_to_exhaustion_ms = MsUntil(headroom - floor_bytes, -d.slope_bytes_per_s);
  double pace = 0;  // bytes/s lost over the latest interval
  for (std::size_t i = 1; i < history_.size(); ++i) {
    const HistoryPoint& p = history_.Back(i);
    if (s.t_ns - p.t_ns >= kMinPaceSpanNs) {
      pace = (p.headroom_bytes - headroom) / (static_cast<double>(s.t_ns - p.t_ns) / 1e9);
      break;
    }
  }
  const std::int64_t horizon_ms = cfg_.kill_time_to_exhaustion_ms;
  const std::int64_t pace_ms = MsUntil(headroom - floor_bytes, pace);
  const bool in_warn_zone = d.available_percent < cfg_.warn_available_percent;
  const bool predicted = in_warn_zone && d.time_to_exhaustion_ms >= 0 &&
                         d.time_to_exhaustion_ms <= horizon_ms && pace_ms >= 0 &&
                         pace_ms <= horizon_ms;
  tte_hits_ = predicted ? tte_hits_ + 1 : 0;
  const bool imminent = predicted && pace_ms < cfg_.interval_fast_ms;
  if (imminent || tte_hits_ >= cfg_.tte_confirm_samples) {
    level = Level::kKill;
    d.reasons |= kReasonTimeToExhaustion;
  } else if (predicted) {
    level = std::max(level, Level::kReclaim);
    d.reasons |= kReasonTimeToExhaustion;
  }

  // PSI shares over the window, and how long they have stayed high.
  if (s.has_psi) {
    const auto shares =
        history_.PsiShares(static_cast<std::int64_t>(cfg_.psi_window_ms) * kNsPerMs);
    d.psi_some_percent = shares.some_percent;
    d.psi_full_percent = shares.full_percent;
  }
  if (Sustained(d.psi_some_percent >= cfg_.psi_some_warn_percent, s.t_ns, some_since_ns_)) {
    level = std::max(level, Level::kWarn);
    d.reasons |= kReasonPsiSomeSustained;
  }
  if (Sustained(d.psi_full_percent >= cfg_.psi_full_kill_percent, s.t_ns, full_since_ns_)) {
    // With most of the scope's memory available the stall is not a shortage a kill here can
    // end (a cgroup throttled at its own memory.high, I/O): reported, reclaimed, not killed.
    level = d.available_percent < kPsiKillMaxAvailablePercent ? Level::kKill
                                                              : std::max(level, Level::kReclaim);
    d.reasons |= kReasonPsiFullSustained;
  }

  // Swap nearly full and memory low (systemd-oomd's SwapUsedLimit): both used past the limit.
  if (cfg_.swap_used_kill_percent > 0 && s.swap_total_bytes > 0 && s.total_bytes > 0) {
    const double swap_used =
        100.0 - 100.0 * static_cast<double>(std::min(s.swap_free_bytes, s.swap_total_bytes)) /
                    static_cast<double>(s.swap_total_bytes);
    const double mem_used =
        100.0 - 100.0 * static_cast<double>(std::min(s.available_bytes, s.total_bytes)) /
                    static_cast<double>(s.total_bytes);
    if (swap_used >= cfg_.swap_used_kill_percent && mem_used >= cfg_.swap_used_kill_percent) {
      level = Level::kKill;
      d.reasons |= kReasonSwapExhausted;
    }
  }

  // No second victim while the first one's memory is on its way back.
  if (pending_.active && level == Level::kKill) {
    level = Level::kReclaim;
    d.reasons |= kReasonVictimPending;
  }
  d.level = level;

  const bool busy = level > Level::kOk || pending_.active ||
                    d.available_percent < 2 * cfg_.warn_available_percent ||
                    (d.time_to_exhaustion_ms >= 0 && d.time_to_exhaustion_ms <= 10 * horizon_ms) ||
                    d.psi_some_percent >= cfg_.psi_some_warn_percent / 2;
  // However idle the scope looks, look again before the fastest plausible hog could eat the
  // headroom down to the kill floor: PSI triggers and memory events wake the loop early, but
  // a hog on an otherwise idle host stalls nobody until the floor.
  const double cover_ms = std::max(0.0, headroom - floor_bytes) / kMaxFillBytesPerSecond * 1e3;
  d.busy = busy;
  d.next_interval_ms =
      busy ? cfg_.interval_fast_ms
           : static_cast<int>(std::clamp(cover_ms, static_cast<double>(cfg_.interval_fast_ms),
                                         static_cast<double>(cfg_.interval_slow_ms)));
  if (level < Level::kKill) {
    const double rate =
        std::max({pace, -d.slope_bytes_per_s, history_.FastestFall(kRecentFallNs, kMinPaceSpanNs)});
    d.next_interval_ms = std::min(d.next_interval_ms, ChaseMs(headroom, capacity, rate));
  }
  last_ = d;
  return d;
}

void Detector::NoteKill(std::int64_t t_ns, std::uint64_t victim_bytes,
                        std::int64_t deadline_ns) noexcept {
  pending_.active = true;
  pending_.headroom_at_kill = history_.size() > 0 ? history_.Back(0).headroom_bytes : 0;
  pending_.victim_bytes = victim_bytes;
  pending_.deadline_ns = std::max(deadline_ns, t_ns);
  pending_.done_ns = -1;
  tte_hits_ = 0;
}

void Detector::NoteVictimDone(std::int64_t t_ns) noexcept {
  if (pending_.active) pending_.done_ns = t_ns;
}

}  // namespace reaperd::pressure
