// The reaper: a pool of dedicated threads (small stacks, raised priority, named
// "reaperd-reap") stepping through a bounded table of victims, so several victims in
// several scopes are in flight at once and none waits for another. Submit() signals in
// the caller's thread (the decision-to-signal path never waits on a worker) and queues
// the reap. A watcher thread ("reaperd-watch") enforces deadlines without depending on
// a worker that may be stuck in process_mrelease: a victim whose memory is not back by
// its deadline is reported as missed, put on the skip list, counted by the last-resort
// ladder, and then kept in the table so a worker keeps trying in the background. A victim
// that nobody could signal (EPERM) is a miss too, at once: skipped, counted, reported once.
// The watcher also pulls the ladder's end, outside the lock: sysrq in the system scope, the
// cgroup's own kill (CgroupLastResort) in a cgroup scope; the miss is reported after, with
// what the last resort did or why it failed.
// Results arrive in a bounded completion queue; event_fd() becomes readable (an
// eventfd the daemon's epoll can watch). Nothing here allocates after Start(), except
// the v1 cgroup walk of kill.widen = "cgroup" (child cgroup names).
#pragma once

#include <pthread.h>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "base/error.h"
#include "config/config.h"
#include "kill/cgroup_last_resort.h"
#include "kill/kill_result.h"
#include "kill/killer.h"
#include "kill/last_resort.h"
#include "kill/process_ops.h"
#include "kill/reap_job.h"
#include "kill/victim.h"
#include "sys/clock.h"
#include "sys/system_view.h"
#include "sys/unique_fd.h"

namespace reaperd::kill {

struct ReaperOptions {
  int threads = 2;                       // kill.reaper_threads
  std::size_t max_in_flight = 16;        // victims tracked at once
  std::size_t completion_capacity = 64;  // results waiting for the daemon
  std::size_t stack_bytes = 64 * 1024;
  int realtime_priority = 0;  // kill.reaper_realtime_priority: 0 off, else SCHED_FIFO
  bool dry_run = false;
  // After a missed deadline: how often the background retries run, and for how long.
  sys::Nanos linger_interval = 100 * sys::kMilli;
  sys::Nanos linger_max = 60 * sys::kSecond;
  std::uint64_t page_size = 4096;
};

class Reaper {
 public:
  // All references must outlive the Reaper. The clock must be a real one (threads wait).
  Reaper(const config::KillConfig& config, ReaperOptions options, sys::SystemView& view,
         ProcessOps& ops, const sys::Clock& clock, SkipList& skip, LastResortLadder& ladder);
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // Creates the eventfd and the threads, and returns once every thread has set up (its
  // stack pre-faulted, a worker's killer built): a thread first scheduled after a kill would
  // otherwise allocate during it. A real-time priority that cannot be set is not an error
  // (the threads run at a raised nice value instead): see realtime_error().
  Result<void> Start();
  // Why the threads did not get options.realtime_priority (EPERM without CAP_SYS_NICE).
  const std::optional<Error>& realtime_error() const noexcept { return realtime_error_; }
  // Stops and joins the threads; victims still in flight are abandoned (already signalled).
  void Stop() noexcept;

  // Signals the victim now (unless stale or dry run) and queues its reap. Returns its
  // sequence number; every submitted victim yields at least one KillResult. Fails with
  // kRange, having signalled nothing, when max_in_flight victims are already tracked.
  // Call from one thread (the daemon loop).
  // The configured protections a cgroup scope's last resort honours (the ranker's); safe from
  // any thread.
  void SetProtection(std::shared_ptr<const policy::ProtectRules> rules) {
    cgroup_end_.SetProtection(std::move(rules));
  }
  Result<std::uint64_t> Submit(Victim&& victim) noexcept;
  // The kill drill's signal (Engine::DrillKillPath): what Submit does up to and at the signal
  // (the victim's mm held through /proc/PID/mem, its pidfd polled, the submit killer's
  // signal), for a child of the daemon's own that no slot, sequence number or result records.
  // Its members alone are signalled: the victim's widening is cleared first.
  // *mm_held: whether the mm was held (a sandbox that refuses /proc/PID/mem shows at start).
  // Call from Submit's thread.
  KillResult DrillSignal(Victim& victim, bool* mm_held) noexcept;

  // Readable while results wait in the queue.
  int event_fd() const noexcept { return event_fd_.get(); }
  // Takes the oldest result; false if none.
  bool Pop(KillResult& out) noexcept;
  // Waits up to timeout_ms for a result (for tests and simple loops).
  bool WaitPop(KillResult& out, int timeout_ms) noexcept;
  // Victims still tracked (including ones past their deadline).
  std::size_t in_flight() const noexcept;
  std::uint64_t results_dropped() const noexcept;

 private:
  enum class SlotState : std::uint8_t { kFree, kReserved, kReady, kRunning };
  // The job belongs to whoever set kReserved/kRunning; the other fields are guarded by
  // mu_, and `last` is the job's result as of its last step, for the watcher to report.
  struct Slot {
    SlotState state = SlotState::kFree;
    bool miss_reported = false;
    bool fire_pending = false;  // its miss waits for the last resort: not finished before
    bool released = false;
    sys::Nanos next_at = 0;
    sys::Nanos deadline = 0;
    KillResult last;
    std::array<policy::ProcessId, Victim::kMaxMembers> ids{};
    std::size_t id_count = 0;
    ReapJob job;
  };

  static void* WorkerMain(void* self) noexcept;
  static void* WatcherMain(void* self) noexcept;
  void WorkerLoop() noexcept;
  void WatcherLoop() noexcept;
  // REQUIRES: mu_ held.
  void PostLocked(const KillResult& r) noexcept;
  void FinishLocked(Slot& s, sys::Nanos now) noexcept;
  // A miss whose result waits for the last resort r.last_resort (fired by the watcher, which
  // posts r after); when the queue is full the result is posted at once as a failed last
  // resort. REQUIRES: mu_ held.
  void QueueFireLocked(const KillResult& r, Slot* slot) noexcept;
  // Pulls r.last_resort and records the outcome in r. Called without mu_.
  void FireLastResort(KillResult& r) noexcept;

  const config::KillConfig& config_;
  ReaperOptions options_;
  sys::SystemView& view_;
  ProcessOps& ops_;
  const sys::Clock& clock_;
  SkipList& skip_;
  LastResortLadder& ladder_;
  Killer submit_killer_;  // used by Submit, in the daemon's thread; workers own theirs
  // Submit's steps before and at the signal: mm_fd receives the victim's mm while its main
  // process is alive behind its pidfd.
  void HoldMmAndSignal(Victim& v, sys::UniqueFd& mm_fd, KillResult& r) noexcept;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable ready_cv_;
  int threads_ready_ = 0;  // threads past their setup (guarded by mu_)
  std::condition_variable watch_cv_;
  std::vector<Slot> slots_;
  std::vector<KillResult> done_;  // ring
  std::size_t done_head_ = 0, done_count_ = 0;
  std::uint64_t dropped_ = 0;
  // A miss waiting for its last resort; slot is null for a victim that is no longer tracked.
  struct Fire {
    KillResult result;
    Slot* slot = nullptr;
  };
  std::vector<Fire> fires_;  // ring
  std::size_t fires_head_ = 0, fires_count_ = 0;
  Fire firing_;                  // the watcher's, while it fires (outside mu_)
  CgroupLastResort cgroup_end_;  // the watcher's
  std::uint64_t seq_ = 0;
  bool stopping_ = false;
  sys::UniqueFd event_fd_;
  std::vector<pthread_t> threads_;
  std::optional<Error> realtime_error_;
};

}  // namespace reaperd::kill
