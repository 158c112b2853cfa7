#include "policy/managed_oom.h"

#include <limits>

#include "policy/snapshot.h"

namespace reaperd::policy {

std::uint32_t ManagedOomLimitPermyriad(std::uint32_t scaled,
                                       std::uint32_t default_permyriad) noexcept {
  if (scaled == 0) return default_permyriad;
  // systemd's UINT32_SCALE_TO_PERMYRIAD: rounded to the nearest permyriad.
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint32_t>::max();
  const std::uint64_t p = (static_cast<std::uint64_t>(scaled) * 10000 + kMax / 2) / kMax;
  return static_cast<std::uint32_t>(p > 10000 ? 10000 : p);
}

bool ManagedOomTrigger::Observe(std::int64_t now_ns, double full_avg10, std::uint64_t pgscan,
                                const ManagedOomCgroup& settings) noexcept {
  if (have_pgscan_ && pgscan > last_pgscan_) {
    last_reclaim_ = now_ns;
    have_reclaim_ = true;
  }
  last_pgscan_ = pgscan;
  have_pgscan_ = true;
  const bool above = full_avg10 * 100.0 > static_cast<double>(settings.limit_permyriad);
  if (!above || now_ns < quiet_until_) {
    above_ = false;
    above_since_ = 0;
    return false;
  }
  if (!above_) above_since_ = now_ns;
  above_ = true;
  if (now_ns - above_since_ < settings.duration_ns) return false;
  return have_reclaim_ && now_ns - last_reclaim_ <= kManagedOomReclaimWindowNs;
}

void ManagedOomTrigger::NoteKill(std::int64_t now_ns) noexcept {
  above_ = false;
  above_since_ = 0;
  quiet_until_ = now_ns + kManagedOomPostKillNs;
}

std::ptrdiff_t SelectManagedOomVictim(std::span<const ManagedOomCandidate> candidates) noexcept {
  std::ptrdiff_t best = -1;
  auto better = [](const ManagedOomCandidate& a, const ManagedOomCandidate& b) {
    const bool a_avoid = (a.oomd & kOomdAvoid) != 0;
    const bool b_avoid = (b.oomd & kOomdAvoid) != 0;
    if (a_avoid != b_avoid) return !a_avoid;
    if (a.pgscan_delta != b.pgscan_delta) return a.pgscan_delta > b.pgscan_delta;
    if (a.memory_current != b.memory_current) return a.memory_current > b.memory_current;
    return a.path < b.path;  // the same choice whatever the order they were read in
  };
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const ManagedOomCandidate& c = candidates[i];
    if ((c.oomd & kOomdOmit) != 0 || (c.pgscan_delta == 0 && !c.stalled)) continue;
    if (best < 0 || better(c, candidates[static_cast<std::size_t>(best)])) {
      best = static_cast<std::ptrdiff_t>(i);
    }
  }
  return best;
}

}  // namespace reaperd::policy
