// The engine's sampling pace: how soon a scope is looked at again (the cover interval a fast
// hog needs), and the usage alarms that let an idle cgroup scope wait for longer: a v1
// scope's kernel threshold (armed by the loop's event sources), a v2 scope's polled
// memory.current (docs/architecture.md, "Usage alarms").

#include <algorithm>
#include <cstdint>

#include "daemon/engine.h"
#include "daemon/engine_internal.h"
#include "proc/cgroup_memory.h"

namespace reaperd::daemon {

int Engine::NextLook(const pressure::Decision& d, const pressure::PressureSample& s) const {
  return std::min(std::max(d.next_interval_ms, 10), CoverInterval(s));
}

int Engine::CoverInterval(const pressure::PressureSample& s) const {
  // However idle a scope looks, look again before the fastest plausible hog could eat the
  // headroom down to the kill floor: a small cgroup is sampled often, a big machine rarely.
  const double floor =
      static_cast<double>(s.total_bytes) * cfg_.detector.kill_available_percent / 100.0;
  const double headroom = std::max(0.0, static_cast<double>(s.available_bytes) - floor);
  const double ms = headroom / kMaxFillBytesPerSecond * 1000.0;
  return static_cast<int>(std::clamp(ms, static_cast<double>(cfg_.detector.interval_fast_ms),
                                     static_cast<double>(cfg_.detector.interval_slow_ms)));
}

std::uint64_t Engine::UsageAlarmAt(std::size_t i, bool busy, std::uint64_t current) const noexcept {
  const Sampler& sm = samplers_[i];
  const ScopeStatus& st = status_[i];
  if (st.scope.kind != policy::ScopeKind::kCgroup) return 0;
  const std::uint64_t own = sm.own_ceiling();
  if (own == proc::kUnlimited || own == 0 || st.sample.total_bytes != own) return 0;
  const std::uint64_t usage = sm.own_usage();
  if (usage >= own) return 0;
  if (busy) {
    // Sampled every interval_fast_ms, but a fast hog crosses a level's whole band between two
    // samples (400 MiB/s eats a 256 MiB cgroup's warn band in 64 ms): the alarm waits at the
    // next level's boundary above the usage, so the loop wakes as the scope enters it (a
    // BusLive test lost about half its runs to the memcg OOM killer without it). It moves
    // at most once per level, not per tick.
    const auto& det = cfg_.detector;
    for (const double pct :
         {det.warn_available_percent, det.reclaim_available_percent, det.kill_available_percent}) {
      const auto at = static_cast<std::uint64_t>(static_cast<double>(own) * (100.0 - pct) / 100.0) &
                      ~std::uint64_t{4095};
      if (at > usage && at < own) return at;
    }
    return 0;  // past the kill floor: the fast samples watch it
  }
  const std::uint64_t step = std::max<std::uint64_t>((own - usage) / 8, kUsageAlarmMinStep);
  // Kept while the usage is below it and has not fallen far: a steady cgroup is not re-armed.
  if (current > usage && current - usage <= 2 * step) return current;
  const std::uint64_t at = (usage + step) & ~std::uint64_t{4095};
  return at < own ? at : 0;  // so near the ceiling, the cover ticks watch it
}

bool Engine::RoomUnderAlarm(std::size_t i, std::uint64_t alarm,
                            const pressure::PressureSample& s) const noexcept {
  const std::uint64_t own = samplers_[i].own_ceiling();
  // A parent (or the host) with less room than the alarm leaves would fill unseen by it.
  return own >= alarm && s.available_bytes >= own - alarm;
}

bool Engine::AlarmCovers(std::size_t i, const pressure::PressureSample& s) const noexcept {
  const ScopeStatus& st = status_[i];
  if (st.usage_alarm_armed == 0 || st.usage_alarm_armed != st.usage_alarm_wanted) return false;
  return samplers_[i].own_usage() < st.usage_alarm_armed &&
         RoomUnderAlarm(i, st.usage_alarm_armed, s);
}

bool Engine::UsagePollCovers(std::size_t i, sys::Nanos now, std::uint64_t* usage) noexcept {
  const ScopeStatus& st = status_[i];
  if (st.usage_poll_at == 0 || sample_whole_ || st.decision.busy) return false;
  if (now - st.sample.t_ns >= cfg_.detector.interval_slow_ms * sys::kMilli) return false;
  if (!RoomUnderAlarm(i, st.usage_poll_at, st.sample)) return false;
  auto u = samplers_[i].PollUsage();
  if (!u || *u >= st.usage_poll_at) return false;
  *usage = *u;
  return true;
}

bool Engine::Due(std::size_t i, sys::Nanos now) const noexcept {
  const ScopeStatus& st = status_[i];
  // An event (a PSI trigger, a pressure level, a usage alarm) may be any scope's; a kill
  // waiting for its pre-kill hook is looked at on every tick.
  if (sample_whole_ || st.due_ns == 0 || pending_[i].active) return true;
  return now >= st.due_ns - st.due_interval_ns / 2;
}

void Engine::SetDue(std::size_t i, sys::Nanos now, int in_ms) noexcept {
  ScopeStatus& st = status_[i];
  st.due_interval_ns = static_cast<sys::Nanos>(in_ms) * sys::kMilli;
  st.due_ns = now + st.due_interval_ns;
}

void Engine::SetUsageAlarmArmed(std::size_t i, std::uint64_t bytes) noexcept {
  if (i < status_.size()) status_[i].usage_alarm_armed = bytes;
}

}  // namespace reaperd::daemon
