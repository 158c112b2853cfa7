#include "reclaim/chain.h"

#include <algorithm>

namespace reaperd::reclaim {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

double Mib(std::int64_t b) { return static_cast<double>(b) / kMiB; }

}  // namespace

Chain::Chain(const config::ReclaimConfig& cfg, std::vector<std::unique_ptr<Notifier>> notifiers,
             const sys::Clock& clock, Logger& log)
    : cfg_(cfg), notifiers_(std::move(notifiers)), clock_(clock), log_(log) {
  for (const auto& n : notifiers_) {
    NotifierStatus s;
    s.name = n->name();
    s.kind = std::string(n->kind());
    status_.notifiers.push_back(std::move(s));
  }
}

ChainStatus Chain::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void Chain::Account(std::size_t i, const std::string& scope, NotifyOutcome outcome,
                    std::int64_t freed) {
  std::lock_guard lock(mu_);
  NotifierStatus& s = status_.notifiers[i];
  ++s.runs;
  s.last_outcome = outcome;
  s.last_freed_bytes = freed;
  if (freed >= static_cast<std::int64_t>(cfg_.min_freed_mib) * (1 << 20)) {
    s.freed_total_bytes += static_cast<std::uint64_t>(freed);
    if (s.backoff_ms > 0) {
      log_.Log(LogLevel::kNotice, "reclaim_backoff", "scope={} notifier={} backoff_ms=0 misses=0",
               Q{scope}, Q{s.name});
    }
    s.misses = 0;
    s.backoff_ms = 0;
    s.backoff_until_ns = 0;
    return;
  }
  ++s.misses;
  if (s.misses < cfg_.backoff_after) return;
  // Doubling per further miss, capped; the shift is bounded so it cannot overflow.
  const int extra = std::min(s.misses - cfg_.backoff_after, 20);
  const std::int64_t ms = std::min<std::int64_t>(
      static_cast<std::int64_t>(cfg_.backoff_initial_ms) << extra, cfg_.backoff_max_ms);
  s.backoff_ms = static_cast<int>(ms);
  s.backoff_until_ns = clock_.Now() + ms * sys::kMilli;
  log_.Log(LogLevel::kWarning, "reclaim_backoff",
           "scope={} notifier={} kind={} misses={} backoff_ms={} reason=\"freed nothing\"",
           Q{scope}, Q{s.name}, s.kind, s.misses, s.backoff_ms);
}

PassResult Chain::RunPass(const NotifyContext& ctx, std::uint64_t target_available,
                          const Probe& probe, Waiter& wait) {
  PassResult pass;
  const std::string scope = ctx.scope.Name();
  pass.last = ctx.sample;
  const std::uint64_t start_available = ctx.sample.available_bytes;
  {
    std::lock_guard lock(mu_);
    ++status_.passes;
  }
  for (std::size_t i = 0; i < notifiers_.size(); ++i) {
    if (ctx.cancel != nullptr && ctx.cancel->load()) {
      pass.cancelled = true;
      break;
    }
    Notifier& n = *notifiers_[i];
    const sys::Nanos now = clock_.Now();
    {
      std::lock_guard lock(mu_);
      NotifierStatus& s = status_.notifiers[i];
      if (s.backoff_until_ns > now) {
        ++s.skipped;
        ++pass.steps_skipped;
        log_.Log(LogLevel::kDebug, "reclaim_skip", "scope={} notifier={} backed_off_ms={}",
                 Q{scope}, Q{n.name()}, (s.backoff_until_ns - now) / sys::kMilli);
        continue;
      }
      status_.running = n.name();
    }
    // The headroom just before the step, so each step is judged on its own.
    auto before = probe();
    if (before) pass.last = *before;
    NotifyContext step = ctx;
    step.sample = pass.last;
    const int timeout = cfg_.notifiers[i].timeout_ms;
    const sys::Nanos t0 = clock_.Now();
    const NotifyOutcome outcome = n.Run(step, timeout);
    const sys::Nanos t1 = clock_.Now();
    const bool settled = wait.SleepMs(cfg_.settle_ms);
    auto after = probe();
    std::int64_t freed = 0;
    if (before && after) {
      freed = static_cast<std::int64_t>(after->available_bytes) -
              static_cast<std::int64_t>(before->available_bytes);
      pass.last = *after;
    }
    ++pass.steps_run;
    log_.Log(outcome == NotifyOutcome::kDone ? LogLevel::kNotice : LogLevel::kWarning, "reclaim",
             "scope={} notifier={} kind={} outcome={} freed_bytes={} freed_mib={:.1f} "
             "available_mib_before={:.1f} available_mib_after={:.1f} run_ms={:.1f} settle_ms={}",
             Q{scope}, Q{n.name()}, n.kind(), NotifyOutcomeName(outcome),
             std::max<std::int64_t>(freed, 0), Mib(freed),
             before ? Mib(static_cast<std::int64_t>(before->available_bytes)) : -1.0,
             after ? Mib(static_cast<std::int64_t>(after->available_bytes)) : -1.0,
             static_cast<double>(t1 - t0) / 1e6, cfg_.settle_ms);
    Account(i, scope, outcome, freed);
    pass.steps.push_back({n.name(), outcome, freed});
    {
      std::lock_guard lock(mu_);
      status_.running.clear();
    }
    if (!settled) {
      pass.cancelled = true;
      break;
    }
    if (after && after->available_bytes >= target_available) {
      pass.target_reached = true;
      break;
    }
  }
  if (pass.last.available_bytes > start_available) {
    pass.freed_bytes = pass.last.available_bytes - start_available;
  }
  log_.Log(LogLevel::kInfo, "reclaim_pass",
           "scope={} freed_mib={:.1f} steps={} skipped={} target_reached={} available_mib={:.1f} "
           "target_mib={:.1f}",
           Q{scope}, Mib(static_cast<std::int64_t>(pass.freed_bytes)), pass.steps_run,
           pass.steps_skipped, pass.target_reached ? 1 : 0,
           Mib(static_cast<std::int64_t>(pass.last.available_bytes)),
           Mib(static_cast<std::int64_t>(target_available)));
  return pass;
}

}  // namespace reaperd::reclaim
