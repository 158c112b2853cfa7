#include "kill/reaper.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "sys/prefault.h"

namespace reaperd::kill {

namespace {

constexpr sys::Nanos kNever = std::numeric_limits<sys::Nanos>::max();

void RaiseOwnPriority() noexcept {
  // Best effort: without CAP_SYS_NICE this fails and the thread keeps its nice value.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kBoostNice);
}

}  // namespace

const char* OutcomeName(Outcome o) noexcept {
  switch (o) {
    case Outcome::kReaped:
      return "reaped";
    case Outcome::kExited:
      return "exited";
    case Outcome::kMissedDeadline:
      return "missed_deadline";
    case Outcome::kStale:
      return "stale";
    case Outcome::kDryRun:
      return "dry_run";
    case Outcome::kFailed:
      return "failed";
  }
  return "?";
}

const char* FreedByName(FreedBy f) noexcept {
  switch (f) {
    case FreedBy::kNone:
      return "none";
    case FreedBy::kMrelease:
      return "process_mrelease";
    case FreedBy::kExit:
      return "exit";
  }
  return "?";
}

Reaper::Reaper(const config::KillConfig& config, ReaperOptions options, sys::SystemView& view,
               ProcessOps& ops, const sys::Clock& clock, SkipList& skip, LastResortLadder& ladder)
    : config_(config),
      options_(options),
      view_(view),
      ops_(ops),
      clock_(clock),
      skip_(skip),
      ladder_(ladder),
      submit_killer_(view, ops, clock, config, options.dry_run),
      slots_(std::max<std::size_t>(1, options.max_in_flight)),
      done_(std::max<std::size_t>(1, options.completion_capacity)),
      fires_(std::max<std::size_t>(1, options.max_in_flight) + 1),
      cgroup_end_(view, ops, clock) {}

Reaper::~Reaper() { Stop(); }

Result<void> Reaper::Start() {
  event_fd_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!event_fd_) return Fail(Error::Sys(errno, "eventfd"));
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setstacksize(&attr, std::max<std::size_t>(options_.stack_bytes, 16384));
  int n = std::max(1, options_.threads);
  threads_.reserve(static_cast<std::size_t>(n) + 1);
  for (int i = 0; i <= n; ++i) {
    pthread_t t;
    bool watcher = i == n;
    int rc =
        ::pthread_create(&t, &attr, watcher ? &Reaper::WatcherMain : &Reaper::WorkerMain, this);
    if (rc != 0) {
      ::pthread_attr_destroy(&attr);
      Stop();
      return Fail(Error::Sys(rc, "pthread_create reaper"));
    }
    ::pthread_setname_np(t, watcher ? "reaperd-watch" : "reaperd-reap");
    threads_.push_back(t);
    if (options_.realtime_priority > 0 && !realtime_error_) {
      // Set from here, so a refusal is known when Start returns; the thread's own nice
      // boost (RaiseOwnPriority) does not matter under SCHED_FIFO.
      sched_param param{};
      param.sched_priority = std::min(options_.realtime_priority, 99);
      if (int e = ::pthread_setschedparam(t, SCHED_FIFO, &param); e != 0) {
        realtime_error_ = Error::Sys(e, "pthread_setschedparam SCHED_FIFO");
      }
    }
  }
  ::pthread_attr_destroy(&attr);
  // Bounded: a thread that never runs must not stop the daemon from starting.
  std::unique_lock lock(mu_);
  ready_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return threads_ready_ > n; });
  return {};
}

void Reaper::Stop() noexcept {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  watch_cv_.notify_all();
  for (pthread_t t : threads_) ::pthread_join(t, nullptr);
  threads_.clear();
}

void* Reaper::WorkerMain(void* self) noexcept {
  RaiseOwnPriority();
  sys::PrefaultStack(sys::PrefaultDepth(static_cast<Reaper*>(self)->options_.stack_bytes));
  static_cast<Reaper*>(self)->WorkerLoop();
  return nullptr;
}

void* Reaper::WatcherMain(void* self) noexcept {
  RaiseOwnPriority();
  sys::PrefaultStack(sys::PrefaultDepth(static_cast<Reaper*>(self)->options_.stack_bytes));
  static_cast<Reaper*>(self)->WatcherLoop();
  return nullptr;
}

void Reaper::PostLocked(const KillResult& r) noexcept {
  if (done_count_ == done_.size()) {
    // Full: the daemon is not reading. Keep the newest; count the loss.
    done_head_ = (done_head_ + 1) % done_.size();
    --done_count_;
    ++dropped_;
  }
  done_[(done_head_ + done_count_) % done_.size()] = r;
  ++done_count_;
  std::uint64_t one = 1;
  (void)!::write(event_fd_.get(), &one, sizeof one);
}

bool Reaper::Pop(KillResult& out) noexcept {
  std::lock_guard lock(mu_);
  if (done_count_ == 0) return false;
  out = done_[done_head_];
  done_head_ = (done_head_ + 1) % done_.size();
  if (--done_count_ == 0) {
    std::uint64_t v;
    (void)!::read(event_fd_.get(), &v, sizeof v);  // drained: no longer readable
  }
  return true;
}

bool Reaper::WaitPop(KillResult& out, int timeout_ms) noexcept {
  sys::Nanos until = clock_.Now() + static_cast<sys::Nanos>(timeout_ms) * sys::kMilli;
  for (;;) {
    if (Pop(out)) return true;
    sys::Nanos left = until - clock_.Now();
    if (left <= 0) return false;
    pollfd p{event_fd_.get(), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::min<sys::Nanos>(left / sys::kMilli + 1, 1000)));
  }
}

std::size_t Reaper::in_flight() const noexcept {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(std::count_if(
      slots_.begin(), slots_.end(), [](const Slot& s) { return s.state != SlotState::kFree; }));
}

std::uint64_t Reaper::results_dropped() const noexcept {
  std::lock_guard lock(mu_);
  return dropped_;
}

void Reaper::HoldMmAndSignal(Victim& v, sys::UniqueFd& mm_fd, KillResult& r) noexcept {
  // Take the victim's mm before the signal: once it has run exit_mm, /proc/PID/mem no longer
  // reaches the mm, and only the mm can say whether a user outside the group keeps it. The
  // process still being alive behind its pidfd proves the PID was not reused.
  mm_fd.Reset();
  if (v.member_count > 0) {
    if (auto mm = ops_.OpenMm(v.members[0].pid)) {
      auto dead = ops_.WaitExit(v.members[0].pidfd.get(), 0);
      if (dead && !*dead) mm_fd = std::move(*mm);
    }
  }
  submit_killer_.Signal(v, r);
}

KillResult Reaper::DrillSignal(Victim& victim, bool* mm_held) noexcept {
  // Its members alone: a widening (kill.widen, memory.oom.group) would reach past the drill's
  // child, into the daemon's own process group or cgroup and whoever shares them.
  victim.widen_pgrp = 0;
  victim.widen_cgroup.Assign("");
  KillResult r;
  sys::UniqueFd mm;
  HoldMmAndSignal(victim, mm, r);
  if (mm_held != nullptr) *mm_held = mm.valid();
  r.errors = victim.errors;
  r.first_error = victim.first_error;
  return r;
}

Result<std::uint64_t> Reaper::Submit(Victim&& victim) noexcept {
  Slot* slot = nullptr;
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(mu_);
    for (Slot& s : slots_) {
      if (s.state == SlotState::kFree) {
        slot = &s;
        break;
      }
    }
    if (slot == nullptr) return Fail(Error::Of(Errc::kRange, "reaper: too many victims in flight"));
    slot->state = SlotState::kReserved;
    seq = ++seq_;
  }
  ReapJob& job = slot->job;
  job.victim = std::move(victim);
  job.phase = ReapPhase::kRelease;
  job.retries = 0;
  job.mrelease_done = job.mm_reaped = job.released = job.exited = job.mm_pinned = false;
  job.mm_dropped = 0;
  Victim& v = job.victim;
  KillResult& r = job.result;
  r = KillResult{};
  r.seq = seq;
  r.victim = v.identity;
  r.scope = v.scope;
  r.t_decision = v.t_decision;
  r.members = static_cast<int>(v.member_count);
  r.members_stale = v.members_stale;
  bool finished = true;
  if (v.main_stale) {
    r.outcome = Outcome::kStale;
  } else if (options_.dry_run) {
    r.outcome = Outcome::kDryRun;
    r.signal = submit_killer_.first_signal();
  } else {
    HoldMmAndSignal(v, job.mm_fd, r);
    bool any_alive = std::any_of(v.active().begin(), v.active().end(),
                                 [](const Member& m) { return !m.exited; });
    if (r.members_signalled == 0 && v.widen_cgroup.empty()) {
      // Nothing was sent: every member was already gone (pidfd said ESRCH), or it failed.
      r.outcome = any_alive ? Outcome::kFailed : Outcome::kExited;
      r.errors = v.errors;
      r.first_error = v.first_error;
      if (any_alive) {
        // Nobody may signal it (EPERM: a capability, seccomp, an LSM): a miss, now. Skipped,
        // so it is not chosen (and scanned, reported, hooked) again every tick; counted on
        // the ladder, which may pull the scope's end through the watcher.
        for (const Member& m : v.active()) skip_.Add(m.id());
        r.last_resort = ladder_.NoteMiss(v.scope);
      }
    } else {
      finished = false;
      job.Start(clock_.Now(), config_);
    }
  }
  std::lock_guard lock(mu_);
  if (finished) {
    if (r.last_resort != LastResortAction::kNone) {
      QueueFireLocked(r, nullptr);
    } else {
      PostLocked(r);
    }
    job.victim = Victim{};  // closes the pidfds
    job.mm_fd.Reset();
    slot->state = SlotState::kFree;
    return seq;
  }
  slot->last = r;
  slot->deadline = v.deadline;
  slot->released = false;
  slot->miss_reported = false;
  slot->fire_pending = false;
  slot->id_count = 0;
  for (const Member& m : v.active()) slot->ids[slot->id_count++] = m.id();
  slot->next_at = clock_.Now();
  slot->state = SlotState::kReady;
  work_cv_.notify_one();
  watch_cv_.notify_one();
  return seq;
}

void Reaper::FinishLocked(Slot& s, sys::Nanos now) noexcept {
  KillResult r = s.job.result;
  if (s.miss_reported) {
    r.after_deadline = true;
    // It is gone now; the skip entries can never match again.
    if (s.job.exited) {
      for (std::size_t i = 0; i < s.id_count; ++i) skip_.Remove(s.ids[i]);
    }
  } else {
    ladder_.NoteSuccess(s.job.victim.scope);
  }
  (void)now;
  PostLocked(r);
  s.job.victim = Victim{};
  s.job.mm_fd.Reset();
  s.state = SlotState::kFree;
  watch_cv_.notify_one();
}

void Reaper::WorkerLoop() noexcept {
  // Each worker owns its killer (and its cgroup.procs buffer): allocated once, here.
  Killer killer(view_, ops_, clock_, config_, options_.dry_run);
  ReapContext ctx{view_, ops_, killer, config_, clock_, options_.page_size};
  std::unique_lock lock(mu_);
  ++threads_ready_;
  ready_cv_.notify_all();
  while (!stopping_) {
    sys::Nanos now = clock_.Now();
    Slot* pick = nullptr;
    sys::Nanos earliest = kNever;
    for (Slot& s : slots_) {
      if (s.state != SlotState::kReady) continue;
      earliest = std::min(earliest, s.next_at);
      if (s.next_at <= now && (pick == nullptr || s.next_at < pick->next_at)) pick = &s;
    }
    if (pick == nullptr) {
      if (earliest == kNever) {
        work_cv_.wait(lock);
      } else {
        work_cv_.wait_for(lock, std::chrono::nanoseconds(earliest - now));
      }
      continue;
    }
    pick->state = SlotState::kRunning;
    lock.unlock();
    sys::Nanos next = 0;
    bool done = pick->job.Step(ctx, now, &next);
    lock.lock();
    now = clock_.Now();
    if (pick->fire_pending) {
      // Its miss is not posted yet (the watcher is pulling the last resort): no late
      // report may overtake it. Look again shortly; stepping a finished job is harmless.
      pick->next_at = now + options_.linger_interval;
      pick->state = SlotState::kReady;
      continue;
    }
    if (done) {
      FinishLocked(*pick, now);
      continue;
    }
    pick->last = pick->job.result;
    pick->released = pick->job.released;
    if (pick->miss_reported) {
      if (now > pick->deadline + options_.linger_max) {
        // Given up: report it once more and free the slot; the skip entries stay.
        KillResult r = pick->job.result;
        r.outcome = Outcome::kMissedDeadline;
        r.after_deadline = true;
        PostLocked(r);
        pick->job.victim = Victim{};
        pick->job.mm_fd.Reset();
        pick->state = SlotState::kFree;
        continue;
      }
      next = std::max(next, now + options_.linger_interval);
    }
    pick->next_at = next;
    pick->state = SlotState::kReady;
    if (next <= now) work_cv_.notify_one();
  }
}

void Reaper::QueueFireLocked(const KillResult& r, Slot* slot) noexcept {
  if (fires_count_ == fires_.size()) {
    KillResult failed = r;
    failed.last_resort_failed = true;
    failed.last_resort_error = Error::Of(Errc::kRange, "last resort: queue full");
    PostLocked(failed);
    return;
  }
  Fire& f = fires_[(fires_head_ + fires_count_) % fires_.size()];
  f.result = r;
  f.slot = slot;
  if (slot != nullptr) slot->fire_pending = true;
  ++fires_count_;
  watch_cv_.notify_one();
}

void Reaper::FireLastResort(KillResult& r) noexcept {
  if (options_.dry_run) return;  // never reached: a dry run signals nobody, so misses nobody
  Result<void> done;
  if (r.last_resort == LastResortAction::kKillCgroup) {
    // Only a cgroup scope gets here (LadderEnd); it acts inside its own cgroup only.
    auto n = cgroup_end_.Kill(r.scope.cgroup.view());
    if (n) {
      r.last_resort_signalled = *n;
    } else {
      done = Fail(n.error());
    }
  } else {
    done = ladder_.Fire(r.last_resort);
  }
  if (!done) {
    r.last_resort_failed = true;
    r.last_resort_error = done.error();
  }
}

void Reaper::WatcherLoop() noexcept {
  std::unique_lock lock(mu_);
  ++threads_ready_;
  ready_cv_.notify_all();
  while (!stopping_) {
    sys::Nanos now = clock_.Now();
    sys::Nanos earliest = kNever;
    for (Slot& s : slots_) {
      bool tracked = s.state == SlotState::kReady || s.state == SlotState::kRunning;
      if (!tracked || s.miss_reported || s.released) continue;
      if (now < s.deadline) {
        earliest = std::min(earliest, s.deadline);
        continue;
      }
      s.miss_reported = true;
      KillResult r = s.last;
      r.outcome = Outcome::kMissedDeadline;
      for (std::size_t i = 0; i < s.id_count; ++i) skip_.Add(s.ids[i]);
      r.last_resort = ladder_.NoteMiss(r.scope);
      if (r.last_resort != LastResortAction::kNone) {
        QueueFireLocked(r, &s);
      } else {
        PostLocked(r);
      }
    }
    if (fires_count_ > 0) {
      firing_ = fires_[fires_head_];
      fires_head_ = (fires_head_ + 1) % fires_.size();
      --fires_count_;
      // sysrq-f runs the kernel OOM killer in this thread, and the cgroup kill walks the
      // cgroup: never under mu_. The miss is reported once, after, with what was done.
      lock.unlock();
      FireLastResort(firing_.result);
      lock.lock();
      PostLocked(firing_.result);
      if (firing_.slot != nullptr) {
        firing_.slot->fire_pending = false;
        work_cv_.notify_one();
      }
      continue;
    }
    if (earliest == kNever) {
      watch_cv_.wait(lock);
    } else {
      watch_cv_.wait_for(lock, std::chrono::nanoseconds(earliest - now));
    }
  }
}

}  // namespace reaperd::kill
