// The system scope's standing snapshot (see docs/architecture.md): read whole at start-up and
// every kStandingWholeNs while the scope is at warn or reclaim (at ok with the kill floor less
// than kStandingFallHorizonMs away at the current fall, only as often as keeps it young
// enough for a kill's refresh), refreshed every
// kStandingRefreshNs (kStandingNearRefreshNs with the kill near) between (new processes and
// the top candidates read again, the rest carried over), so that a kill re-reads a few
// processes instead of all of /proc. A refresh vouches for its ranking through the used
// memory nobody read (Rivals), reading again the carried-over candidates that could have
// grown past the first, or /proc whole when they are too many.

#include <algorithm>
#include <cstdint>
#include <span>

#include "daemon/engine.h"
#include "daemon/engine_internal.h"

namespace reaperd::daemon {

void Engine::WarmKillPath() {
  // Every kill reads its scope's kernel OOM kill count before and after its scan: read once
  // now, so that its file is open and held (the system scope's /proc/vmstat was opened by
  // the first kill, before its signal) and the read's code and constants are touched, so
  // locked, before the first kill needs them. A scope added later is read when added.
  for (Sampler& s : samplers_) (void)s.KernelOomKills();
  policy::Snapshot& standing = snaps_[standing_];
  // The used memory this whole read goes with (a refresh at the kill counts from it), from a
  // sample before it: the loop has not sampled yet.
  standing_used_bytes_ = -1;
  for (std::size_t i = 0; i < status_.size(); ++i) {
    if (status_[i].scope.kind != policy::ScopeKind::kSystem) continue;
    if (auto s = samplers_[i].Sample())
      standing_used_bytes_ = static_cast<std::int64_t>(UsedBytes(*s));
  }
  const sys::Nanos started = clock_.Now();
  if (!scanner_.ScanInto(policy::Scope{}, scan::KillScanOptions(cfg_.rank), standing)) return;
  standing_scan_ns_ = clock_.Now() - started;
  skip_.CopyTo(skipped_);
  WarmGrowthTerms(standing);
  ranker_->RankInto(standing, options_.self, skipped_, kill_ranking_);
  NoteTop(kill_ranking_, standing);
  // The spare as large as the standing snapshot, strings included.
  snaps_[1 - standing_] = standing;
}

void Engine::WarmGrowthTerms(const policy::Snapshot& snap) {
  if (cfg_.rank.growth_weight <= 0) return;
  // As if every process had grown: a baseline whose episode began before any of them (an
  // empty first sighting) counts each one's whole rss as growth.
  policy::GrowthBaseline grown;
  grown.Observe(policy::Snapshot{}, true);
  grown.Observe(snap, true);
  ranker_->RankInto(snap, options_.self, skipped_, kill_ranking_, &grown);
}

void Engine::RefreshStanding(sys::Nanos now) {
  for (std::size_t i = 0; i < status_.size(); ++i) {
    const ScopeStatus& st = status_[i];
    if (st.scope.kind != policy::ScopeKind::kSystem) continue;
    // At ok too while memory falls fast enough to reach the kill floor soon: a fast hog may
    // cross warn and reclaim between two samples, and its kill would read /proc whole.
    const pressure::Decision& d = st.decision;
    const bool falling = FallingAtOk(d);
    if (d.level != pressure::Level::kWarn && d.level != pressure::Level::kReclaim && !falling) {
      return;
    }
    const scan::ScanOptions options = scan::KillScanOptions(cfg_.rank);
    policy::Snapshot* snap = &snaps_[standing_];
    // At ok, only as often as keeps it young enough for a kill to refresh it (the ages a
    // kill accepts, less kStandingFallMarginNs), not at warn's pace.
    const sys::Nanos whole_period =
        falling ? StandingWholeMaxAgeNs() - kStandingFallMarginNs : StandingWholePeriodNs();
    // With the kill near, often enough that the kill finds its top read and held.
    const bool near = KillNear(st, now, 2LL * cfg_.detector.kill_time_to_exhaustion_ms);
    const sys::Nanos period = near      ? std::max(kStandingNearRefreshNs, StandingPeriodNs() / 5)
                              : falling ? StandingMaxAgeNs() - kStandingFallMarginNs
                                        : StandingPeriodNs();
    bool whole = snap->full_at_ns == 0 || now - snap->full_at_ns >= whole_period;
    if (!whole && now - snap->taken_at_ns < period) return;
    if (!whole) {
      // A refresh into the spare, which becomes the standing snapshot; what it cannot vouch
      // for is read again (its rivals), or read whole below.
      policy::Snapshot& spare = snaps_[1 - standing_];
      auto r = scanner_.RefreshInto(st.scope, options, {top_.data(), top_count_}, *snap, spare);
      standing_ = 1 - standing_;
      snap = &spare;
      if (!r) {
        spare.full_at_ns = 0;
        return;
      }
      RankForKill(i, spare, st.decision, true);
      whole = !CheckRivals(i, spare, st.decision).vouched;
    }
    if (whole) {
      if (!scanner_.ScanInto(st.scope, options, *snap)) {
        snap->full_at_ns = 0;
        return;
      }
      standing_scan_ns_ = clock_.Now() - now;
      NoteStandingUsed(i);
      growth_[i].Observe(*snap, true);
      skip_.CopyTo(skipped_);
      ranker_->RankInto(*snap, options_.self, skipped_, kill_ranking_, &growth_[i]);
    }
    NoteTop(kill_ranking_, *snap);
    return;
  }
}

bool Engine::KillNear(const ScopeStatus& st, sys::Nanos now,
                      std::int64_t within_ms) const noexcept {
  if (st.decision.time_to_exhaustion_ms < 0) return false;
  // The decision may be older than this tick (a polled usage stood in for the sample).
  const std::int64_t left =
      st.decision.time_to_exhaustion_ms - (now - st.sample.t_ns) / sys::kMilli;
  return left <= within_ms;
}

void Engine::HoldTop() noexcept {
  // While the system scope is at warn or above, or falls fast at ok (a kill may come straight
  // from ok, as in a burst of growers), or its episode's ladder is active (a kill in it, and
  // less than kEpisodeEndNs at ok since: the burst's next kill comes at the next fall's first
  // tick, before a hold there could help), its kill re-reads the top candidates of the
  // standing snapshot: their files are held open for it (scan::Scanner::Hold), here, after
  // the tick's kills, never on the kill path itself. At a flat ok nothing is held.
  bool hold = false;
  for (const auto& st : status_) {
    if (st.scope.kind == policy::ScopeKind::kSystem) {
      hold = st.decision.level >= pressure::Level::kWarn || FallingAtOk(st.decision) ||
             st.ladder.active();
    }
  }
  scanner_.Hold(hold ? std::span<const pid_t>(top_.data(), top_count_) : std::span<const pid_t>());
}

void Engine::NoteTop(const policy::Ranking& ranking, const policy::Snapshot& snap) noexcept {
  top_count_ = 0;
  for (const auto& c : ranking.candidates) {
    if (top_count_ == top_.size()) break;
    top_[top_count_++] = snap.processes[c.index].pid;
  }
}

void Engine::NoteStandingUsed(std::size_t i) noexcept {
  const pressure::PressureSample& s = status_[i].sample;
  standing_used_bytes_ = s.t_ns == 0 ? -1 : static_cast<std::int64_t>(UsedBytes(s));
}

std::size_t Engine::Rivals(std::size_t i, const policy::Snapshot& snap, const pressure::Decision& d,
                           double* unseen_mib) {
  // Used memory is what processes hold (and the kernel): whatever of its growth since the
  // whole read the refreshes and re-reads do not account for grew in a carried-over process
  // (or outside any process).
  if (standing_used_bytes_ < 0) return rivals_.size() + 1;  // no baseline: read whole
  const pressure::PressureSample& s = status_[i].sample;
  const double unseen =
      UnseenGrowthBytes(static_cast<std::int64_t>(UsedBytes(s)), standing_used_bytes_,
                        snap.seen_growth_bytes, d.slope_bytes_per_s, snap.taken_at_ns - s.t_ns);
  if (unseen_mib != nullptr) *unseen_mib = unseen / kMiB;
  const auto pages = static_cast<std::int64_t>(unseen) /
                     static_cast<std::int64_t>(std::max<std::uint64_t>(snap.page_size, 1));
  return policy::CarriedRivals(kill_ranking_, snap, pages, cfg_.rank.growth_weight,
                               (d.reasons & pressure::kReasonSwapExhausted) != 0, rivals_);
}

Engine::RivalCheck Engine::CheckRivals(std::size_t i, policy::Snapshot& snap,
                                       const pressure::Decision& d) {
  RivalCheck c;
  const std::size_t rivals = Rivals(i, snap, d, &c.unseen_mib);
  if (rivals == 0) {
    c.vouched = true;
    return c;
  }
  if (rivals > rivals_.size()) return c;
  // A handful of carried-over candidates could have grown past the first: read them again
  // (a few reads, not all of /proc) and rank anew. Rivals still (what one freed leaves more
  // growth unseen) and the caller reads whole.
  scanner_.RereadInto(status_[i].scope, scan::KillScanOptions(cfg_.rank), {rivals_.data(), rivals},
                      snap);
  c.rivals_read = rivals;
  RankForKill(i, snap, d);
  c.vouched = Rivals(i, snap, d, nullptr) == 0;
  return c;
}

}  // namespace reaperd::daemon
