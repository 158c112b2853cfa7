// The stall watchdog: a thread of its own (small stack) that looks every check_interval_ms
// for what the daemon cannot see from its loop: tasks in uninterruptible sleep (D) for longer
// than d_state_ms, a sustained system PSI memory "full" stall, victims past their deadline
// (told by the engine), and the daemon loop itself running late (a heartbeat the loop
// bumps). When it finds any, it writes a stall report: a summary line, then one line per
// stalled task (pid, comm, state, seconds in that state, wchan, rss) with its kernel stack
// where /proc/PID/stack is readable; to the log and as JSON lines to report_path.
// Beat() and the Note*() calls are cheap and safe from the loop thread.
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/log.h"
#include "config/config.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::watchdog {

struct StalledTask {
  pid_t pid = 0;
  std::string comm;
  char state = '?';
  double seconds = 0;  // in that state (for a victim: since its kill)
  std::string wchan;
  std::uint64_t rss_bytes = 0;
  std::string stack;  // /proc/PID/stack, "" when unreadable
  bool victim = false;
};

struct StallReport {
  std::int64_t wall_ns = 0;
  std::vector<std::string> reasons;  // d_state, psi_full, loop_late, victim_deadline
  int stalled = 0;                   // tasks in D past the threshold
  int dying = 0;                     // victims signalled and not yet done
  int victims = 0;                   // victims past their deadline
  std::uint64_t kills = 0;
  std::uint64_t mem_available_bytes = 0;
  double psi_full_percent = 0;
  double loop_late_seconds = 0;
  std::vector<StalledTask> tasks;
};

// "stall stalled=N dying=N victims=N kills=N mem_available_mib=... psi_full_pct=... reasons=..."
// without the event word (the logger adds it), and one line per task.
std::string SummaryFields(const StallReport& r);
std::string TaskFields(const StalledTask& t);
// The report as JSON lines: {"type":"summary",...} then {"type":"task",...} per task.
std::string ToJsonLines(const StallReport& r);

class Watchdog {
 public:
  Watchdog(const config::WatchdogConfig& cfg, sys::SystemView& view, const sys::Clock& clock,
           Logger& log);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Creates the report file's directory (mode 0750) if missing, or logs why it cannot (the
  // default /var/lib/reaperd does not exist before the first run), then starts the thread
  // (a 256 KiB stack). Without Start(), Check() may be driven by hand.
  Result<void> Start();
  void Stop();

  // The loop ticked and will tick again within next_ms: it is late only loop_late_ms past
  // that, so a loop that ticks every 10 s on an idle host is not taken for a stuck one.
  void Beat(int next_ms = 0) noexcept {
    due_ns_.store(clock_.Now() + std::int64_t{std::max(next_ms, 0)} * sys::kMilli,
                  std::memory_order_relaxed);
  }
  void NoteKill(pid_t pid) noexcept;
  void NoteVictimDone(pid_t pid) noexcept;
  void NoteMissedDeadline(pid_t pid, const std::string& comm, std::int64_t signalled_ns);

  // One look; returns the report it wrote, if any.
  std::optional<StallReport> Check();
  // How long the thread sleeps before its next look: check_interval_ms while something is
  // going on (memory pressure at the last look, a task in D, a victim dying or late), else
  // until the next walk for tasks in D is due or the loop would be late, whichever is first
  // (at least check_interval_ms), so an idle host is not woken every second and a stuck loop
  // is seen when it becomes late. A kill wakes the thread at once. Thread of Check() only.
  int NextWaitMs();
  std::uint64_t reports() const noexcept { return reports_.load(); }

 private:
  struct DState {
    std::uint64_t starttime = 0;
    sys::Nanos since = 0;
  };
  struct Missed {
    pid_t pid = 0;
    std::string comm;
    sys::Nanos signalled_ns = 0;
    bool reported = false;
  };
  // The share of wall time with memory "some" stall at which the host counts as under
  // pressure (and the watchdog looks at every check_interval_ms).
  static constexpr double kPressureSomePercent = 1.0;

  static void* ThreadMain(void* self);
  bool Busy();
  void Loop();
  void PrepareReportDir();
  bool ReadTask(pid_t pid, StalledTask& t);
  void Write(const StallReport& r);

  config::WatchdogConfig cfg_;
  sys::SystemView& view_;
  const sys::Clock& clock_;
  Logger& log_;
  static constexpr sys::Nanos kNoBeat = std::numeric_limits<sys::Nanos>::min();
  std::atomic<sys::Nanos> due_ns_{kNoBeat};  // the loop's next tick, as it announced it
  std::atomic<std::uint64_t> reports_{0};
  std::mutex mu_;  // guards the notes below and stop_
  std::condition_variable cv_;
  bool stop_ = false;
  bool kicked_ = false;  // a kill or a missed deadline: look now
  std::uint64_t kills_ = 0;
  std::vector<pid_t> dying_;  // kDyingReserve reserved at Start
  static constexpr std::size_t kDyingReserve = 64;
  std::vector<Missed> missed_;
  // Only the watchdog thread (or the Check() caller) touches these.
  std::unordered_map<pid_t, DState> dstate_;
  std::uint64_t last_psi_full_us_ = 0;
  std::uint64_t last_psi_some_us_ = 0;
  bool pressure_ = false;        // memory pressure at the last look
  sys::Nanos last_walk_ns_ = 0;  // the last walk of /proc for tasks in D
  sys::Nanos last_psi_ns_ = 0;
  sys::Nanos psi_high_since_ = -1;
  sys::Nanos last_report_ns_ = 0;
  bool reported_once_ = false;
  std::vector<pid_t> pids_;
  std::vector<char> buf_;
  pthread_t thread_{};
  bool started_ = false;
};

}  // namespace reaperd::watchdog
