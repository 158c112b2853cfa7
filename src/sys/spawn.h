// Starting helper programs (hooks): the only place in reaperd that creates processes.
// A vfork-like clone (posix_spawn's own mechanism) with an argv and an environment given by
// the caller: no shell, no PATH search (argv[0] is an absolute path), signals reset to their
// defaults and unblocked, stdin from /dev/null, stdout and stderr into one non-blocking pipe
// the caller reads, a process group of its own, so a hook that forked helpers is ended as a
// whole, and oom_score_adj 0: reaperd's -1000 is not inherited, so a leaking hook stays
// killable (posix_spawn has no step that could write it).
// A Child is owned by one thread at a time (move it to hand it over).
#pragma once

#include <sys/types.h>

#include <span>
#include <string>

#include "base/error.h"
#include "sys/unique_fd.h"

namespace reaperd::sys {

class Child {
 public:
  Child() = default;
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // Kills the process group and reaps the child if nobody did.
  ~Child();

  pid_t pid() const noexcept { return pid_; }
  int pidfd() const noexcept { return pidfd_.get(); }
  // The read end of the stdout+stderr pipe (non-blocking); -1 once closed.
  int output_fd() const noexcept { return out_.get(); }
  void CloseOutput() noexcept { out_.Reset(); }

  // Waits up to timeout_ms (0: just looks) for the child to exit; true if it has.
  Result<bool> WaitExit(int timeout_ms) noexcept;
  // SIGKILLs the child's whole process group. Safe until Reap(): the unreaped child keeps
  // its pid, and so its process group id, from being reused.
  void KillGroup() noexcept;
  // Collects the exit status of an exited child (blocks until it exits). Returns the
  // wait(2)-style status. Kills the rest of the process group first, so helpers a hook left
  // behind do not outlive it.
  Result<int> Reap() noexcept;
  bool reaped() const noexcept { return reaped_; }

 private:
  friend Result<Child> Spawn(std::span<const std::string> argv,
                             std::span<const std::string> env) noexcept;
  friend Result<Child> SpawnIdle() noexcept;
  pid_t pid_ = 0;
  UniqueFd pidfd_;
  UniqueFd out_;
  bool reaped_ = false;
};

// Starts argv[0] (an absolute path) with argv and env ("KEY=value" strings) as described
// above. Errors: kInvalid for an empty argv or a relative argv[0]; kSys for pipe, spawn
// (ENOENT, EACCES, ... of the program) or pidfd failures.
Result<Child> Spawn(std::span<const std::string> argv, std::span<const std::string> env) noexcept;

// A forked child that only waits to be killed (the kill drill's target, daemon/engine_drill):
// its own mm and process group, no inherited file descriptor, oom_score_adj 0, no output
// (output_fd() is -1). Errors: kSys for fork or pidfd failures.
Result<Child> SpawnIdle() noexcept;

}  // namespace reaperd::sys
