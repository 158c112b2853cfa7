// Helper processes of known sizes for the real kill tests: touch N MiB and sleep, grow at
// R MiB/s, share the mm with a CLONE_VM child (not a thread), or stop itself with SIGSTOP.
// A Hog is forked, moved into a sandbox cgroup if one is given, and only then starts
// touching memory. The destructor SIGKILLs (through pidfds) and waits for what is left.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

// A raw CLONE_VM child runs instrumented code that TSan's runtime does not know as a thread
// of ours, and crashes at once (SEGV in the child); the tests that need one (they check kcmp
// grouping, not races) skip under TSan.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kCloneVmChildWorks = false;
#else
inline constexpr bool kCloneVmChildWorks = true;
#endif

namespace reaperd::itest {

class CgroupSandbox;

struct HogSpec {
  std::uint64_t touch_mib = 0;     // touched at once, before "ready"
  double grow_mib_per_s = 0;       // then keeps growing at this rate...
  std::uint64_t grow_max_mib = 0;  // ...up to this much more
  bool clone_vm_child = false;     // a CLONE_VM sharer (CLONE_PARENT: our child too)
  bool stop_when_ready = false;    // SIGSTOP itself once ready
  // The CLONE_VM sharer is made later, when the test calls CloneVmChildNow().
  bool clone_vm_child_later = false;
  // This many more CLONE_VM sharers, children of the hog (not ours: when the hog dies they
  // are reparented and reaped there; the sandbox's KillAll ends them).
  int clone_vm_extra = 0;
};

class Hog {
 public:
  // Returns a hog with pid() <= 0 on failure.
  static Hog Spawn(const HogSpec& spec, const CgroupSandbox* sandbox);
  // The same in the cgroup directory cgroup_dir (e.g. a child of a sandbox), entered before
  // the hog touches any memory, so all of it is charged there.
  static Hog SpawnIn(const HogSpec& spec, const std::string& cgroup_dir);
  Hog() = default;
  Hog(Hog&& o) noexcept;
  Hog& operator=(Hog&& o) noexcept;
  ~Hog();

  pid_t pid() const { return pid_; }
  pid_t sharer() const { return sharer_; }  // the CLONE_VM child, or 0
  // With clone_vm_child_later: has the hog make its CLONE_VM sharer now; returns its PID.
  pid_t CloneVmChildNow();
  // True once the process (pid() or sharer()) has died; the zombie is kept until Kill().
  bool Dead(pid_t which) const;
  // Waits up to timeout_ms for `which` to die.
  bool WaitDead(pid_t which, int timeout_ms) const;
  // SIGKILLs what is left, reaps both, and forgets the PIDs.
  void Kill();

 private:
  static Hog SpawnPlaced(const HogSpec& spec, const std::function<bool(pid_t)>& place);
  pid_t pid_ = 0;
  pid_t sharer_ = 0;
  int later_go_ = -1;     // clone_vm_child_later: the write end of "go", kept
  int later_ready_ = -1;  // and the read end of "ready"
};

// Reads /proc/PID/stat's start time; 0 if gone.
std::uint64_t StartTime(pid_t pid);

}  // namespace reaperd::itest
