// Hostile processes for the live hardening tests: names and command lines a process writes
// about itself to confuse parsers, logs and terminals (')' and newlines, escape sequences,
// invalid UTF-8, more than 1 MiB of argv), zombies, and a bounded fork bomb. Every helper is
// put into its sandbox cgroup before it touches memory, and is SIGKILLed and reaped by its
// destructor (the sandbox's destructor empties the cgroup as well).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace reaperd::itest {

class CgroupSandbox;

struct HostileSpec {
  std::string comm;                // set with prctl(PR_SET_NAME): at most 15 bytes, any bytes
  std::vector<std::string> argv;   // the command line it is exec'd with (any bytes but NUL)
  std::uint64_t touch_mib = 0;     // touched before "ready"
  double grow_mib_per_s = 0;       // then grows at this rate...
  std::uint64_t grow_max_mib = 0;  // ...up to this much more, then sleeps
};

// A process started in some way (see the factories below); the destructor SIGKILLs and
// reaps it.
class Helper {
 public:
  Helper() = default;
  explicit Helper(pid_t pid) : pid_(pid) {}
  Helper(Helper&& o) noexcept : pid_(o.pid_) { o.pid_ = 0; }
  Helper& operator=(Helper&& o) noexcept;
  ~Helper() { Kill(); }
  pid_t pid() const { return pid_; }
  // True once it died (it is reaped then).
  bool Dead();
  bool WaitDead(int timeout_ms);
  void Kill();

 private:
  pid_t pid_ = 0;
};

// Re-executes this test binary (/proc/self/exe) inside `sandbox` with spec.argv as its
// command line; it sets its comm, touches memory, reports ready, grows, then sleeps. Returns
// a helper with pid() <= 0 on failure. The binary must call RunHostileHelperIfAsked() before
// main (hostile_live_test.cc does, from a static initializer).
Helper SpawnHostile(const HostileSpec& spec, const CgroupSandbox& sandbox);
void RunHostileHelperIfAsked();

// A parent in `sandbox` that forks a child touching `child_mib` MiB which exits at once; the
// parent never waits for it, so the child stays a zombie. *zombie gets the child's pid.
Helper SpawnZombieParent(const CgroupSandbox& sandbox, std::uint64_t child_mib, pid_t* zombie);

// A bounded fork bomb in `sandbox`: a parent in a process group of its own forks up to
// `children` children, one every `interval_ms`, each touching `child_mib` MiB then sleeping.
Helper SpawnForkBomb(const CgroupSandbox& sandbox, int children, std::uint64_t child_mib,
                     int interval_ms);

// A plain child in `sandbox` with comm `comm` touching `mib` MiB, then sleeping.
Helper SpawnNamed(const CgroupSandbox& sandbox, const std::string& comm, std::uint64_t mib);

// Every byte of `text` that a terminal or a line-based log reader would act on: < 0x20 other
// than '\n', and DEL. Empty when the text is clean.
std::string ControlBytes(const std::string& text);

// The output and exit status of `argv` run to completion (stdout only).
std::string RunCapture(const std::vector<std::string>& argv, int* status);

}  // namespace reaperd::itest
