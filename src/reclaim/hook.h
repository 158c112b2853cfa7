// Hooks: programs reaperd runs on an event (the warn level, before and after a kill, or as a
// step of the reclaim chain). Each runs by execve with an argv from the config (never a
// shell), a clean environment holding the pressure figures (and the victim, for kill
// hooks), its stdout/stderr logged line by line (escaped), and a timeout after which its
// whole process group is SIGKILLed. HookRunner runs hooks on a thread of its own, so the
// daemon loop only ever queues them.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <expected>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "pressure/sample.h"
#include "sys/clock.h"
#include "sys/spawn.h"

namespace reaperd::reclaim {

// What a hook is told, as REAPERD_* variables.
struct HookEnv {
  std::string event;  // "warn", "reclaim", "pre_kill", "post_kill"
  std::string scope;
  pressure::Level level = pressure::Level::kOk;
  std::uint64_t available_bytes = 0;
  std::uint64_t total_bytes = 0;
  double available_percent = 0;
  double psi_some_percent = 0;
  double psi_full_percent = 0;
  // The victim, for pre_kill and post_kill (victim_pid 0: none).
  pid_t victim_pid = 0;
  std::string victim_comm;
  std::uint32_t victim_uid = 0;
  std::string victim_cgroup;
  std::uint64_t victim_rss_bytes = 0;
  std::string reason;   // why the victim dies (the detector's reasons)
  std::string outcome;  // post_kill: the reaper's outcome
  std::uint64_t bytes_freed = 0;
};

// The environment of a hook: PATH and the REAPERD_* variables, nothing inherited.
std::vector<std::string> BuildEnv(const HookEnv& e);

// kUntrusted: argv[0] (or a directory above it) is not owned by root or is writable by
// group or others, checked again before every run: such a program is never run.
enum class HookOutcome : std::uint8_t { kExited, kTimedOut, kSpawnFailed, kCancelled, kUntrusted };
const char* HookOutcomeName(HookOutcome o) noexcept;

struct HookResult {
  HookOutcome outcome = HookOutcome::kSpawnFailed;
  int exit_status = -1;  // exit code, or 128+signal; -1 when it did not exit by itself
  int output_lines = 0;
  sys::Nanos elapsed_ns = 0;
};

// Logs the child's output until it exits or deadline_ns passes (then kills its group),
// reaps it. Blocks the calling thread (never the daemon loop). cancel, when set, ends the
// wait early as if the deadline had passed.
HookResult Supervise(sys::Child& child, const std::string& name, sys::Nanos started_ns,
                     sys::Nanos deadline_ns, const sys::Clock& clock, Logger& log,
                     const std::atomic<bool>* cancel);

// The one way a hook starts: argv[0] passes the trust check (again, before every run: the
// file may have been replaced or made writable since start-up), then Spawn. On failure the
// error is logged (outcome=untrusted or spawn_failed, with event and program) and the
// outcome returned.
std::expected<sys::Child, HookOutcome> StartHook(const std::string& name,
                                                 const std::vector<std::string>& argv,
                                                 const HookEnv& env, Logger& log);

// StartHook + Supervise, bounded by timeout_ms.
HookResult RunHook(const std::string& name, const std::vector<std::string>& argv,
                   const HookEnv& env, int timeout_ms, const sys::Clock& clock, Logger& log,
                   const std::atomic<bool>* cancel);

// One thread that runs queued hooks one after another (or supervises already started
// ones). Queue() never blocks; a full queue drops the hook and logs it.
class HookRunner {
 public:
  HookRunner(const sys::Clock& clock, Logger& log);
  ~HookRunner();
  HookRunner(const HookRunner&) = delete;
  HookRunner& operator=(const HookRunner&) = delete;

  void Queue(std::string name, std::vector<std::string> argv, HookEnv env, int timeout_ms);
  // Takes over a child already started (a pre-kill hook the loop waited on briefly): logs the
  // rest of its output, kills it at deadline_ns, reaps it.
  void Adopt(std::string name, sys::Child child, sys::Nanos started_ns, sys::Nanos deadline_ns);
  // Waits until the queue is empty and nothing runs (tests).
  void Drain();

 private:
  struct Job {
    std::string name;
    std::vector<std::string> argv;
    HookEnv env;
    int timeout_ms = 0;
    sys::Child child;  // valid pid: adopted
    sys::Nanos started_ns = 0;
    sys::Nanos deadline_ns = 0;
  };
  void Loop();

  static constexpr std::size_t kMaxQueued = 16;
  const sys::Clock& clock_;
  Logger& log_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool busy_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace reaperd::reclaim
